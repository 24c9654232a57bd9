"""Just-in-time integration access from the console: plan a grant (the org is read in a worker; what it refuses
opens the dialog again with everything typed), approve it as the approver it names, apply it once approved
(confirmed by typing the org alias, run in a worker), and list the grants with their expiry. Each calls
`app.grants`, the functions `warroom grant plan|approve|apply|list` call; "grant: check" is `grant list --org`,
each assignment queried in a worker and the result journaled; "grant: revoke" removes one before it expires."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from textual import work

from app.base.clock import parse_instant
from app.base.errors import WarroomError
from app.containment.models import Plan
from app.grants import Grant, apply_grant, approve_grant, check_grants, list_grants, plan_grant, revoke_grant
from app.grants.applying import grant_plan
from app.journal.entries import Entry
from screens.containment_actions import step_text
from screens.mixin import ScreenActions
from screens.modals.containment import ContainmentModal
from screens.modals.form import FormField, FormModal
from screens.modals.table import ResultRow, ResultTable, TableModal
from screens.widgets.activity_bar import ActivityBar, BarProgress

if TYPE_CHECKING:
    pass

KINDS = (("permission set", "permission_set"), ("permission set group", "permission_set_group"))


def expiry(values: dict[str, str], now: datetime) -> datetime:
    """The grant's end from the dialog: `hours` from now, or an `until` instant (exactly one of them)."""
    hours, until = values.get("hours", ""), values.get("until", "")
    if bool(hours) == bool(until):
        raise ValueError("give either hours or until (an ISO 8601 instant with a zone), not both")
    if until:
        return parse_instant(until)
    try:
        n = float(hours)
    except ValueError:
        raise ValueError(f"hours: {hours!r} is not a number") from None
    if not n > 0:
        raise ValueError(f"hours: {hours} is not more than 0")
    return now + timedelta(hours=n)


def grant_table(grants: list[Grant], check: Entry | None = None) -> ResultTable:
    rows = []
    for g in grants:
        checked = f" (checked {g.check.checked_utc}, entry {g.check.seq})" if g.check else ""
        what = ("group " if g.is_group else "") + g.permission_set
        rows.append(
            ResultRow(
                (g.action_id, what, g.assignee, g.org_alias, g.expires_utc, g.state),
                f"{g.action_id}: {what} to {g.assignee} on {g.org_alias} until {g.expires_utc}: {g.state}{checked}. "
                f"Reason: {g.reason}; asked by {g.requested_by}, approver {g.approver}; action {g.status}.",
                g.action_id,
            )
        )
    notes = []
    if check is not None:
        notes.append(f"Checked by query (entry {check.seq}): {check.data['queries'][0]}")
    elif any(g.assignment_id and g.check is None for g in grants):
        notes.append("Not checked against the org: grant: check queries the assignments.")
    return ResultTable(
        "Just-in-time grants",
        ("Action", "Permission set", "User", "Org", "Until", "State"),
        rows,
        notes,
        empty="No grants yet (grant: plan).",
    )


class GrantActions(ScreenActions):
    """Mixed into MainScreen next to ContainmentActions; `self` is the screen."""

    def action_grant_plan(self) -> None:
        if self.app.org_factory is None:
            self.fail("no org connected to this console: plan from the CLI (`warroom grant plan`)")
            return
        self._grant_form({}, "")

    def _grant_form(self, values: dict[str, str], error: str) -> None:
        now = self.app.clock.now

        def check(v: dict[str, str]) -> str | None:
            try:
                expiry(v, now())
            except ValueError as exc:
                return str(exc)
            return None

        def chosen(v: dict[str, str] | None) -> None:
            if v is not None:
                self._grant_plan_worker(v)

        def field(name: str, label: str, **kw: Any) -> FormField:
            return FormField(name, label, value=values.get(name, kw.pop("value", "")), **kw)

        self.app.push_screen(
            FormModal(
                f"Plan a just-in-time grant on {self.app.settings.org_alias} (journaled; nothing changes in the org)",
                [
                    field("user", "Integration user (username)", required=True),
                    field("kind", "Grant a", value="permission_set", choices=KINDS, required=True),
                    field("name", "Permission set (or group) API name", required=True),
                    field("hours", "Hours it lasts", placeholder="8"),
                    field("until", "Or until (ISO 8601 with a zone)", placeholder="2026-12-04T18:00:00Z"),
                    field("reason", "Reason: why the integration needs it now", required=True),
                    field("approver", "Approver (not you)", required=True),
                    field("ticket", "Change ticket", placeholder="optional"),
                ],
                help_text="The approver approves with grant: approve; then grant: apply creates the assignment "
                "with its ExpirationDate.",
                ok_label="Plan",
                check=check,
                error=error,
            ),
            chosen,
        )

    @work(thread=True, exclusive=True, group="grant", exit_on_error=False, description="planning a grant")
    def _grant_plan_worker(self, values: dict[str, str]) -> None:
        bar = BarProgress(self.app, self.query_one(ActivityBar))
        alias = self.app.settings.org_alias
        bar.start(f"grant: planning on {alias}")
        group = values["kind"] == "permission_set_group"
        try:
            with self._org_session() as org:
                plan = plan_grant(
                    org,
                    self.incident,
                    user=values["user"],
                    permission_set=None if group else values["name"],
                    permission_set_group=values["name"] if group else None,
                    expires=expiry(values, self.incident.clock.now()),
                    reason=values["reason"],
                    approver=values["approver"],
                    actor=self.actor,
                    org_alias=alias,
                    ticket=values.get("ticket") or None,
                )
        except (WarroomError, OSError, ValueError) as exc:
            self.app.call_from_thread(self._grant_form, values, str(exc))  # open again with what was typed
            return
        finally:
            bar.stop()
        assert plan.grant is not None
        self.app.call_from_thread(
            self.app.notify,
            f"{plan.plan_id} planned: {'; '.join(step_text(s) for s in plan.steps) or 'nothing to change'}; "
            f"{plan.grant.approver} approves it (grant: approve), then grant: apply",
            timeout=10,
            markup=False,
        )

    def action_grant_approve(self) -> None:
        waiting = [g for g in list_grants(self.incident) if g.status == "planned"]
        if not waiting:
            self.fail("no grant waits for approval (grant: list shows them)")
            return

        def record(values: dict[str, str]) -> None:
            """Only the approver the grant names; a wrong alias or approver is refused and journaled (as the CLI)."""
            entry = approve_grant(self.incident, values["plan"], values["alias"], self.actor)
            self.app.notify(f"{values['plan']} approved by {self.actor} (entry {entry.seq})", timeout=6)

        self.app.push_screen(
            FormModal(
                f"Approve a grant (as its named approver; you are {self.actor})",
                [
                    FormField("plan", "Grant", value=waiting[-1].action_id, choices=_choices(waiting), required=True),
                    FormField("alias", "Type the grant's org alias to approve", required=True),
                ],
                ok_label="Approve",
                check=record,
            )
        )

    def action_grant_apply(self) -> None:
        if self.app.org_factory is None:
            self.fail("no org connected to this console: apply from the CLI (`warroom grant apply ACTION_ID`)")
            return
        ready = [g for g in list_grants(self.incident) if g.status == "approved"]
        if not ready:
            self.fail("no approved grant to apply (grant: approve first; grant: list shows them)")
            return

        def chosen(values: dict[str, str] | None) -> None:
            if values is not None:
                self._confirm_grant(grant_plan(self.incident, values["plan"]))

        self.app.push_screen(
            FormModal(
                "Apply an approved grant",
                [FormField("plan", "Grant", value=ready[-1].action_id, choices=_choices(ready), required=True)],
                ok_label="Preview",
            ),
            chosen,
        )

    def _confirm_grant(self, plan: Plan) -> None:
        assert plan.grant is not None
        steps = [step_text(s) for s in plan.steps] or ["no record needs changing (already assigned)"]
        notes = [f"reason: {plan.grant.reason}; approver {plan.grant.approver}"]

        def done(typed: str | None) -> None:
            if typed:
                self._grant_apply_worker(plan, typed)

        self.app.push_screen(
            ContainmentModal(f"{plan.plan_id} grant on {plan.org_alias}", steps, plan.org_alias, notes), done
        )

    @work(thread=True, exclusive=True, group="grant", exit_on_error=False, description="applying a grant")
    def _grant_apply_worker(self, plan: Plan, typed_alias: str) -> None:
        bar = BarProgress(self.app, self.query_one(ActivityBar))
        bar.start(f"grant: applying {plan.plan_id}")
        try:
            run = apply_grant(self.incident, self.app.org_factory, plan.plan_id, typed_alias, self.actor)
        except (WarroomError, OSError) as exc:
            self._fail_from_thread(exc)
            return
        finally:
            bar.stop()
        counts = ", ".join(f"{n} {k}" for k, n in run.result.counts.items() if n)
        self.app.call_from_thread(
            self.app.notify,
            f"{plan.plan_id} grant: {run.result.status}" + (f"; {counts}" if counts else ""),
            severity="information" if run.settled else "warning",
        )

    def action_grant_revoke(self) -> None:
        if self.app.org_factory is None:
            self.fail("no org connected to this console: revoke from the CLI (`warroom grant revoke ACTION_ID`)")
            return
        held = [g for g in list_grants(self.incident) if g.assignment_id and g.state not in ("expired", "removed")]
        if not held:
            self.fail("no grant holds an assignment to revoke (grant: list shows them)")
            return

        def chosen(values: dict[str, str] | None) -> None:
            if values is None:
                return
            grant = next(g for g in held if g.action_id == values["plan"])
            step = f"remove {grant.permission_set} from {grant.assignee} (until {grant.expires_utc})"

            def done(typed: str | None) -> None:
                if typed:
                    self._grant_revoke_worker(grant.action_id, typed, values.get("reason") or None)

            title = f"revoke {grant.action_id} on {grant.org_alias}"
            self.app.push_screen(ContainmentModal(title, [step], grant.org_alias), done)

        self.app.push_screen(
            FormModal(
                "Revoke a grant before it expires (an undo plan of the grant, journaled)",
                [
                    FormField("plan", "Grant", value=held[-1].action_id, choices=_choices(held), required=True),
                    FormField("reason", "Why the access ends early", placeholder="optional"),
                ],
                ok_label="Preview",
            ),
            chosen,
        )

    @work(thread=True, exclusive=True, group="grant", exit_on_error=False, description="revoking a grant")
    def _grant_revoke_worker(self, action_id: str, typed_alias: str, reason: str | None) -> None:
        bar = BarProgress(self.app, self.query_one(ActivityBar))
        bar.start(f"grant: revoking {action_id}")
        try:
            result = revoke_grant(self.incident, self.app.org_factory, action_id, typed_alias, self.actor, reason)
        except (WarroomError, OSError) as exc:
            self._fail_from_thread(exc)
            return
        finally:
            bar.stop()
        self.app.call_from_thread(
            self.app.notify,
            f"{result.action_id} (revoke of {action_id}): {result.status}",
            severity="information" if result.status == "done" else "warning",
        )

    def action_grant_list(self) -> None:
        self.app.push_screen(TableModal(grant_table(list_grants(self.incident))))

    def action_grant_check(self) -> None:
        if self.app.org_factory is None:
            self.fail("no org connected to this console: check from the CLI (`warroom grant list --org ALIAS`)")
            return
        self._grant_check_worker()

    @work(thread=True, exclusive=True, group="grant", exit_on_error=False, description="checking grants")
    def _grant_check_worker(self) -> None:
        bar = BarProgress(self.app, self.query_one(ActivityBar))
        alias = self.app.settings.org_alias
        bar.start(f"grant: checking the assignments on {alias}")
        try:
            with self._org_session() as org:
                grants, entry = check_grants(self.incident, org, self.actor, alias)
        except (WarroomError, OSError) as exc:
            self._fail_from_thread(exc)
            return
        finally:
            bar.stop()
        self.app.call_from_thread(self.app.push_screen, TableModal(grant_table(grants, entry)))


def _choices(grants: list[Grant]) -> tuple[tuple[str, str], ...]:
    return tuple(
        (f"{g.action_id} {g.permission_set} to {g.assignee} until {g.expires_utc}", g.action_id) for g in grants
    )
