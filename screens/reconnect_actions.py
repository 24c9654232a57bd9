"""Reconnection from the console: plan bringing a contained integration back (its preconditions checked and shown,
with what is still missing), approve it as someone other than the planner, and every reconnect plan's status.
Each calls `app.reconnection`, the functions `warroom reconnect plan|approve|status` call; the checks read the
journal and the latest inventory snapshot in a worker, and what they refuse opens the dialog again."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work

from app.base.errors import WarroomError
from app.reconnection import Precondition, Reconnect, approve_reconnect, plan_reconnect, reconnects
from screens.mixin import ScreenActions
from screens.modals.form import FormField, FormModal
from screens.modals.table import ResultRow, ResultTable, TableModal

if TYPE_CHECKING:
    pass


def missing(preconditions: list[Precondition]) -> str:
    unmet = [f"{p.name} {p.state}" for p in preconditions if p.state != "met"]
    return "missing: " + "; ".join(unmet) if unmet else "every precondition met"


def reconnect_table(items: list[Reconnect], title: str = "Reconnect plans") -> ResultTable:
    rows = []
    for r in items:
        who = f"approved by {r.approved_by} (entry {r.approved_seq})" if r.approved_by else "not approved"
        rows.append(
            ResultRow(
                (r.reconnect_id, r.app, r.user, r.status, r.approved_by or "", missing(r.preconditions)),
                f"{r.reconnect_id}: {r.app} with {r.user}, planned by {r.planned_by} (entry {r.plan_seq}); {who}.\n"
                + "\n".join(f"{p.state}: {p.name}: {p.basis}" for p in r.preconditions),
                r.reconnect_id,
            )
        )
    return ResultTable(
        title,
        ("Plan", "App", "User", "Status", "Approved by", "Preconditions"),
        rows,
        empty="No reconnect plans (reconnect: plan).",
    )


def preconditions_table(r: Reconnect, actor: str) -> ResultTable:
    rows = [ResultRow((p.state, p.name, p.basis), f"{p.name}: {p.state}\n{p.basis}", p.name) for p in r.preconditions]
    ready = all(p.state == "met" for p in r.preconditions)
    notes = [
        f"{r.reconnect_id}: reconnect {r.app} with {r.user} (journaled as entry {r.plan_seq}).",
        f"ready: someone other than {actor} approves it (reconnect: approve)"
        if ready
        else f"not ready, {missing(r.preconditions)}: every precondition must be met before it can be approved",
    ]
    return ResultTable(f"Reconnect {r.app}: preconditions", ("State", "Precondition", "Judged from"), rows, notes)


class ReconnectActions(ScreenActions):
    """Mixed into MainScreen next to ContainmentActions; `self` is the screen."""

    def action_reconnect_plan(self) -> None:
        self._reconnect_form({}, "")

    def _reconnect_form(self, values: dict[str, str], error: str) -> None:
        def chosen(v: dict[str, str] | None) -> None:
            if v is not None:
                self._reconnect_plan_worker(v)

        self.app.push_screen(
            FormModal(
                "Plan reconnecting an integration (preconditions checked and journaled)",
                [
                    FormField("app", "Connected app", value=values.get("app", ""), required=True),
                    FormField("user", "Its new integration user", value=values.get("user", ""), required=True),
                ],
                help_text="Secret rotated, least-privilege user, policies hardened, monitoring running.",
                ok_label="Plan",
                error=error,
            ),
            chosen,
        )

    @work(thread=True, exclusive=True, group="reconnect", exit_on_error=False, description="checking a reconnect")
    def _reconnect_plan_worker(self, values: dict[str, str]) -> None:
        try:
            entry = plan_reconnect(self.incident, values["app"], values["user"], self.actor)
        except (WarroomError, OSError) as exc:
            self.app.call_from_thread(self._reconnect_form, values, str(exc))
            return
        rid = entry.data["reconnect_id"]
        planned = next(r for r in reconnects(self.incident) if r.reconnect_id == rid)
        self.app.call_from_thread(self.app.push_screen, TableModal(preconditions_table(planned, self.actor)))

    def action_reconnect_approve(self, values: dict[str, str] | None = None, error: str = "") -> None:
        waiting = [r for r in reconnects(self.incident) if r.status == "planned"]
        if not waiting:
            self.fail("no reconnect plan waits for approval (reconnect: status lists them)")
            return
        values = values or {}
        choices = tuple((f"{r.reconnect_id} {r.app} with {r.user}", r.reconnect_id) for r in waiting)

        def chosen(v: dict[str, str] | None) -> None:
            if v is not None:
                self._reconnect_approve_worker(v)

        self.app.push_screen(
            FormModal(
                f"Approve bringing an integration back (as {self.actor}, not its planner)",
                [
                    FormField(
                        "plan",
                        "Reconnect plan",
                        value=values.get("plan", waiting[-1].reconnect_id),
                        choices=choices,
                        required=True,
                    ),
                    FormField("note", "Note (the change ticket, the board's decision)", value=values.get("note", "")),
                ],
                help_text="The preconditions are checked again; an unmet one refuses the approval (journaled).",
                ok_label="Approve",
                error=error,
            ),
            chosen,
        )

    @work(thread=True, exclusive=True, group="reconnect", exit_on_error=False, description="approving a reconnect")
    def _reconnect_approve_worker(self, values: dict[str, str]) -> None:
        try:
            entry = approve_reconnect(self.incident, values["plan"], self.actor, values.get("note") or None)
        except (WarroomError, OSError) as exc:
            self.app.call_from_thread(self.action_reconnect_approve, values, str(exc))
            return
        d = entry.data
        self.app.call_from_thread(
            self.app.notify,
            f"{d['reconnect_id']}: bringing {d['app']} back approved by {self.actor} (entry {entry.seq})",
            timeout=8,
            markup=False,
        )

    def action_reconnect_status(self) -> None:
        self.app.push_screen(TableModal(reconnect_table(reconnects(self.incident))))
