"""Hardening from the console: plan a connected app's hardening (its OAuth policies as a deploy step or a manual
task, Transaction Security, debug-log hygiene) and check it again by query, each check shown met, not met or
unknown. Both run in a worker and call `app.hardening`, the functions `warroom harden plan|check` call; the plan's
steps and tasks are applied and closed as any containment plan's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work

from app.base.errors import WarroomError
from app.containment.models import Plan
from app.hardening import CHECKS, check_detail, check_hardening, plan_hardening
from app.journal.entries import Entry
from screens.containment_actions import step_text
from screens.mixin import ScreenActions
from screens.modals.form import FormField, FormModal
from screens.modals.table import ResultRow, ResultTable, TableModal
from screens.widgets.activity_bar import ActivityBar, BarProgress

if TYPE_CHECKING:
    pass

READ_ORG = (("read the org (component, trace flags)", "yes"), ("offline: plan without reading the org", "no"))


def plan_table(plan: Plan) -> ResultTable:
    rows = [ResultRow((f"step {s.n}", step_text(s)), step_text(s), f"step:{s.n}") for s in plan.steps]
    rows += [
        ResultRow(
            (f"task {t.task_id}", t.title),
            f"{t.title}\n"
            + "\n".join(f"{i}. {step}" for i, step in enumerate(t.steps, 1))
            + f"\nEvidence: {t.evidence}",
            f"task:{t.task_id}",
        )
        for t in plan.manual_tasks
    ]
    notes = [
        f"Plan {plan.plan_id} on {plan.org_alias} (journaled as action.plan; nothing changed in the org).",
        f"Next: contain: apply (or `warroom contain apply {plan.plan_id} --confirm {plan.org_alias}`), close each "
        "task with `warroom contain confirm TASK_ID --evidence ID`, then harden: check.",
        *plan.notes,
    ]
    return ResultTable(f"Hardening {plan.plan_id}", ("", "What"), rows, notes, empty="nothing to change")


def check_table(entry: Entry) -> ResultTable:
    d = entry.data
    rows = []
    for name in CHECKS:
        r = d[name]
        detail = check_detail(r)
        rows.append(
            ResultRow(
                (name.replace("_", " "), r["state"], detail),
                f"{name}: {r['state']}" + (f": {detail}" if detail else "") + f"\n{r.get('query') or r.get('call')}",
                name,
            )
        )
    verdict = "every check met" if d["passed"] else "NOT hardened: a check is not met or could not be read"
    return ResultTable(
        f"Hardening of {d['app']} on {d['org_alias']}",
        ("Check", "State", "Found"),
        rows,
        [f"{verdict}; checked {d['checked_utc']}, journaled as entry {entry.seq} (harden.checked)."],
    )


class HardenActions(ScreenActions):
    """Mixed into MainScreen next to ContainmentActions; `self` is the screen."""

    def action_harden_plan(self) -> None:
        connected = self.app.org_factory is not None

        def check(values: dict[str, str]) -> str | None:
            if values["read"] == "yes" and not connected:
                return "no org connected to this console: plan offline, or from the CLI"
            if not values["refresh_days"].isdigit():
                return f"refresh days: {values['refresh_days']!r} is not a whole number"
            return None

        def chosen(values: dict[str, str] | None) -> None:
            if values is not None:
                self._harden_plan_worker(values)

        self.app.push_screen(
            FormModal(
                f"Plan the hardening of a connected app on {self.app.settings.org_alias} (journaled)",
                [
                    FormField("app", "Connected app", required=True),
                    FormField(
                        "full_name", "ConnectedApp API name", placeholder="default: its name with '_' for spaces"
                    ),
                    FormField("refresh_days", "Refresh tokens expire after (days)", value="1", required=True),
                    FormField("read", "Org", value="yes" if connected else "no", choices=READ_ORG, required=True),
                ],
                ok_label="Plan",
                check=check,
            ),
            chosen,
        )

    @work(thread=True, exclusive=True, group="harden", exit_on_error=False, description="planning hardening")
    def _harden_plan_worker(self, values: dict[str, str]) -> None:
        bar = BarProgress(self.app, self.query_one(ActivityBar))
        alias = self.app.settings.org_alias
        bar.start(f"harden: planning {values['app']} on {alias}")
        full_name, days = values.get("full_name") or None, int(values["refresh_days"])

        def plan(org: Any) -> Plan:
            return plan_hardening(
                org, self.incident, values["app"], self.actor, alias, full_name=full_name, refresh_days=days
            )

        try:
            if values["read"] == "yes":
                with self._org_session() as org:
                    made = plan(org)
            else:
                made = plan(None)
        except (WarroomError, OSError) as exc:
            self._fail_from_thread(exc)
            return
        finally:
            bar.stop()
        self.app.call_from_thread(self.app.push_screen, TableModal(plan_table(made)))

    def action_harden_check(self) -> None:
        if self.app.org_factory is None:
            self.fail("no org connected to this console: check from the CLI (`warroom harden check --app NAME`)")
            return

        def chosen(values: dict[str, str] | None) -> None:
            if values is not None:
                self._harden_check_worker(values["app"], values.get("full_name") or None)

        self.app.push_screen(
            FormModal(
                f"Check a connected app's hardening on {self.app.settings.org_alias} by query (journaled)",
                [
                    FormField("app", "Connected app", required=True),
                    FormField("full_name", "ConnectedApp API name", placeholder="as for the plan"),
                ],
                ok_label="Check",
            ),
            chosen,
        )

    @work(thread=True, exclusive=True, group="harden", exit_on_error=False, description="checking hardening")
    def _harden_check_worker(self, app_name: str, full_name: str | None) -> None:
        bar = BarProgress(self.app, self.query_one(ActivityBar))
        alias = self.app.settings.org_alias
        bar.start(f"harden: checking {app_name} on {alias}")
        try:
            with self._org_session() as org:
                entry = check_hardening(self.incident, org, app_name, self.actor, alias, full_name=full_name)
        except (WarroomError, OSError) as exc:
            self._fail_from_thread(exc)
            return
        finally:
            bar.stop()
        self.app.call_from_thread(self.app.push_screen, TableModal(check_table(entry)))
