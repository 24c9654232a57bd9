"""Containment from the console: plan for the selected record, confirm by typing the org alias, apply; approve a
plan as someone other than its executor; apply a plan prepared earlier (a hardening plan, an approved one);
every action's status with its manual tasks; undo an action. The same
`app.containment` functions `warroom contain plan|approve|apply|status|undo` call; the org is reached only in
workers, and nothing changes in it before the alias is typed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work

from app.base.errors import WarroomError
from app.base.progress import records
from app.containment import execute as ct
from app.containment import store as cstore
from app.containment.apply import approve
from app.containment.models import OP_LABELS, ActionStatus, Step
from app.containment.run import run_plan
from app.containment.withdraw import WITHDRAWABLE
from screens import fmt
from screens.mixin import ScreenActions
from screens.modals.containment import ContainmentModal
from screens.modals.form import FormField, FormModal
from screens.modals.table import ResultRow, ResultTable, TableModal
from screens.widgets.activity_bar import ActivityBar, BarProgress
from screens.widgets.inventory_pane import InventoryPane

if TYPE_CHECKING:
    pass

UNDOABLE = ("done", "partial", "unverified")


def step_text(step: Step) -> str:
    """One planned change as a sentence's start: `unfreeze user: drift-int@acme.example (named user ...)`."""
    return f"{OP_LABELS.get(step.op, step.op.replace('_', ' '))}: {step.label}"


def status_table(items: list[ActionStatus]) -> ResultTable:
    rows = []
    for s in items:
        link = f"; undoes {s.undoes}" if s.undoes else ""
        link += f"; undone by {s.undone_by}" if s.undone_by else ""
        tasks = "".join(
            f"\nManual task {t.task_id} is {t.status}: {t.title}"
            + (f" (confirmed by {t.confirmed_by}, evidence {t.evidence_id})" if t.status == "confirmed" else "")
            for t in s.tasks
        )
        failed = "".join(f"\nFailed #{f['n']} {f['record']}: {f.get('code')}" for f in s.failed_records[:5])
        rows.append(
            ResultRow(
                (s.action_id, s.action.replace("_", " "), s.org_alias, s.status, f"{s.done}/{s.total}", str(s.failed)),
                f"{s.action_id} {s.action.replace('_', ' ')} on {s.org_alias}: {s.status}. {s.done} of {s.total} "
                f"records done, {s.failed} failed, {s.not_run} not run, in {s.runs} run(s). Planned by "
                f"{s.created_by} at {fmt.stamp(s.created_utc)}"
                + (f", approved by {', '.join(s.approvers)}" if s.approvers else "")
                + f"{link}."
                + (f" Stopped: {s.stopped}." if s.stopped and s.status != "done" else "")
                + failed
                + tasks,
                s.action_id,
            )
        )
    open_tasks = sum(1 for s in items for t in s.tasks if t.status == "open")
    notes = [f"{len(items)} containment action(s); {open_tasks} manual task(s) still open."] if items else []
    return ResultTable(
        "containment status",
        ("Action", "What", "Org", "Status", "Done", "Failed"),
        rows,
        notes,
        empty="No containment actions yet: select an app, token or user in the inventory and plan one (c).",
    )


class ContainmentActions(ScreenActions):
    """Mixed into MainScreen; `self` is the screen."""

    active_pane: str

    # -- containment -----------------------------------------------------------------------------------------

    def _contain_target(self, action: str | None) -> tuple[str, dict[str, Any]] | None:
        """(action, make_plan selectors) for the selected inventory row, else the most severe finding's."""
        row = self.query_one(InventoryPane).selected() if self.active_pane == "inventory" else None
        if row is not None and row.kind in ("app", "token"):
            app_name = row.record.get("name") if row.kind == "app" else row.record.get("app")
            sel: dict[str, Any] = {"app": app_name}
            if row.kind == "token" and action != "revoke_tokens" and row.record.get("username"):
                sel = {"user": row.record["username"]}
            return action or "revoke_tokens", sel
        if row is not None and row.kind == "user":
            return action or "freeze_users", {"user": row.name}
        if row is not None and row.kind == "permset":  # the grants that let the app's token holders take data out
            return action or "strip_permissions", {"app": row.record.get("app")}
        for f in self.app.inventory_view.findings:
            if f.containment and (action is None or f.containment == action):
                return f.containment, ct.selectors_for_finding(f)
        return None

    def action_contain(self, action: str | None = None) -> None:
        if self.app.org_factory is None:
            self.fail("no org connected to this console: plan from the CLI (`warroom contain plan --from-snapshot`)")
            return
        target = self._contain_target(action)
        if target is None:
            self.fail("nothing to contain yet: pull the inventory (p), then select an app, token or user (3)")
            return
        self._plan_worker(*target)

    @work(thread=True, exclusive=True, group="contain", exit_on_error=False, description="planning containment")
    def _plan_worker(self, action: str, selectors: dict[str, Any]) -> None:
        bar = BarProgress(self.app, self.query_one(ActivityBar))
        alias = self.app.settings.org_alias
        bar.start(f"containment: planning {action} on {alias}")
        try:
            with self._org_session() as org:
                plan = ct.make_plan(org, self.incident, action, actor=self.actor, org_alias=alias, **selectors)
        except (WarroomError, OSError) as exc:
            self._fail_from_thread(exc)
            return
        finally:
            bar.stop()
        self.app.call_from_thread(self._confirm_plan, plan)

    def _confirm_plan(self, plan: Any) -> None:
        steps = [step_text(s) for s in plan.steps] or ["no record needs changing (already in the target state)"]
        warnings = [f"refused: {r.label}: {r.reason}" for r in plan.refused[:5]]
        warnings += [f"manual task afterwards: {t.title}" for t in plan.manual_tasks]
        counts = ", ".join(f"{n} {op.replace('_', ' ')}" for op, n in plan.counts.items() if n)
        title = f"{plan.plan_id} {plan.action} on {plan.org_alias}" + (f" ({counts})" if counts else "")

        def done(typed: str | None) -> None:
            if typed:
                self._apply_worker(plan, typed)

        self.app.push_screen(ContainmentModal(title, steps, plan.org_alias, warnings), done)

    @work(thread=True, exclusive=True, group="contain", exit_on_error=False, description="applying containment")
    def _apply_worker(self, plan: Any, typed_alias: str) -> None:
        bar = BarProgress(self.app, self.query_one(ActivityBar))
        bar.start(f"containment: applying {plan.plan_id}", max(len(plan.steps), 1), "records")
        try:
            run = run_plan(self.incident, self.app.org_factory, plan, typed_alias, self.actor, records(bar))
        except (WarroomError, OSError) as exc:
            self._fail_from_thread(exc)
            return
        finally:
            bar.stop()
        result = run.result
        moved = "".join(f"; {m.item} {m.state.replace('_', ' ')}" for m in run.checklist)
        self.app.call_from_thread(
            self.app.notify,
            f"{plan.plan_id} {plan.action}: {result.status} "
            + ", ".join(f"{n} {k}" for k, n in result.counts.items() if n)
            + moved,
            severity="information" if run.settled else "warning",
        )
        if run.checklist_error:
            self._fail_from_thread(f"checklist not moved: {run.checklist_error}")

    # -- approve, status, undo ---------------------------------------------------------------------------------

    def action_contain_approve(self) -> None:
        waiting = [s for s in ct.status(self.incident) if s.status == "planned"]
        if not waiting:
            self.fail("no containment plan waits for approval (contain: status lists them)")
            return
        choices = tuple((f"{s.action_id} {s.action.replace('_', ' ')} on {s.org_alias}", s.action_id) for s in waiting)

        def record(values: dict[str, str]) -> None:
            """A wrong alias is refused and journaled as such (`action.refused`), as from the CLI."""
            plan = cstore.load_plan(self.incident, values["plan"])
            entry = approve(self.incident, plan, values["alias"], self.actor)
            self.app.notify(f"{plan.plan_id} approved by {self.actor} (entry {entry.seq})", timeout=6)

        self.app.push_screen(
            FormModal(
                "Approve a containment plan (as someone other than its executor)",
                [
                    FormField("plan", "Plan", value=waiting[-1].action_id, choices=choices, required=True),
                    FormField("alias", "Type the plan's org alias to approve", required=True),
                ],
                ok_label="Approve",
                check=record,
            )
        )

    def action_contain_apply(self) -> None:
        """A plan journaled earlier and not yet applied (planned or approved) goes through the same preview,
        typed alias and worker as a plan made here; `run_plan` is what `warroom contain apply` calls."""
        if self.app.org_factory is None:
            self.fail("no org connected to this console: apply from the CLI (`warroom contain apply PLAN`)")
            return
        ready = [s for s in ct.status(self.incident) if s.status in WITHDRAWABLE]
        if not ready:
            self.fail("no containment plan waits to be applied (contain: status lists them)")
            return
        choices = tuple(
            (f"{s.action_id} {s.action.replace('_', ' ')} on {s.org_alias} ({s.status})", s.action_id) for s in ready
        )

        def check(values: dict[str, str]) -> str | None:
            cstore.load_plan(self.incident, values["plan"])  # says why a plan cannot be read back
            return None

        def chosen(values: dict[str, str] | None) -> None:
            if values is not None:
                self._confirm_plan(cstore.load_plan(self.incident, values["plan"]))

        self.app.push_screen(
            FormModal(
                "Apply a prepared containment plan",
                [FormField("plan", "Plan", value=ready[-1].action_id, choices=choices, required=True)],
                help_text="The next screen lists every step; nothing changes in the org before you type its alias.",
                ok_label="Preview",
                check=check,
            ),
            chosen,
        )

    def action_contain_status(self) -> None:
        self.app.push_screen(TableModal(status_table(ct.status(self.incident))))

    def action_contain_undo(self) -> None:
        if self.app.org_factory is None:
            self.fail("no org connected to this console: undo from the CLI (`warroom contain undo ACTION_ID`)")
            return
        done_actions = [s for s in ct.status(self.incident) if s.status in UNDOABLE and not s.undoes]
        if not done_actions:
            self.fail("no containment action to undo yet (contain: status lists them)")
            return
        choices = tuple(
            (f"{s.action_id} {s.action.replace('_', ' ')} on {s.org_alias} ({s.done} changed)", s.action_id)
            for s in done_actions
        )

        def check(values: dict[str, str]) -> str | None:
            ct.plan_undo(self.incident, values["action"], self.actor)  # says why it cannot be undone
            return None

        def chosen(values: dict[str, str] | None) -> None:
            if values is not None:
                self._confirm_undo(values["action"])

        self.app.push_screen(
            FormModal(
                "Undo a containment action (unfreeze, reactivate, re-assign what it changed)",
                [FormField("action", "Action", value=done_actions[-1].action_id, choices=choices, required=True)],
                help_text="Revoked tokens and ended sessions cannot be given back; the preview says what will be.",
                ok_label="Preview",
                check=check,
            ),
            chosen,
        )

    def _confirm_undo(self, action_id: str) -> None:
        try:
            preview = ct.plan_undo(self.incident, action_id, self.actor)  # nothing journaled: a preview
        except WarroomError as exc:
            self.fail(exc)
            return
        steps = [step_text(s) for s in preview.steps]

        def done(typed: str | None) -> None:
            if typed:
                self._undo_worker(action_id, typed, len(steps))

        title = f"undo {action_id} on {preview.org_alias}"
        self.app.push_screen(ContainmentModal(title, steps, preview.org_alias, list(preview.notes)), done)

    @work(thread=True, exclusive=True, group="contain", exit_on_error=False, description="undoing containment")
    def _undo_worker(self, action_id: str, typed_alias: str, total: int) -> None:
        bar = BarProgress(self.app, self.query_one(ActivityBar))
        bar.start(f"containment: undoing {action_id}", max(total, 1), "records")
        try:
            result = ct.undo(self.incident, self.app.org_factory, action_id, typed_alias, self.actor, records(bar))
        except WarroomError as exc:
            self._fail_from_thread(exc)
            return
        finally:
            bar.stop()
        counts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in result.counts.items() if n)
        self.app.call_from_thread(
            self.app.notify,
            f"{result.action_id} (undo of {action_id}): {result.status}" + (f"; {counts}" if counts else ""),
            severity="information" if result.status in ("done", "nothing_to_do") else "warning",
        )
