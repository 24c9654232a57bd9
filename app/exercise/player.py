"""The script player: each scripted action run through the same use case as the CLI command and the console
action of that name (checklist.set_item_state, containment.run_plan, findings.pull_and_record,
deadlines.actions, notify.notice_sent, forensics.collect, hunt.record_hunt ...), never by shelling out.

Apart from the script's timing and scoring (app/exercise/script.py) because it is the one place that maps an
action to its use case; the front-end tests play single actions through it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.base.errors import UsageError, WarroomError
from app.exercise.runner import ExerciseRunner
from app.exercise.scenario import resolve_time
from app.exercise.scriptfile import (
    Ack,
    Anchor,
    ChecklistSet,
    Checkpoint,
    Collect,
    Contain,
    ContainTask,
    Custody,
    DeadlinesDecision,
    DeadlinesOverride,
    DeadlinesPause,
    DeadlinesResume,
    EvidenceAdd,
    FactsSet,
    Hunt,
    IncidentUpdate,
    InventoryPull,
    LoadedScript,
    MonitorRun,
    MonitorStart,
    Note,
    NotifyDetail,
    NotifyDraft,
    NotifySent,
)

if TYPE_CHECKING:
    from app.incident.core import Incident
    from app.salesforce.protocol import OrgClient

__all__ = ["ScriptPlayer"]


@dataclass
class ScriptPlayer:
    """Plays one script action at a time through the use case of the same name; labels carry ids forward."""

    runner: ExerciseRunner
    script: LoadedScript
    ctx: Any  # app.context.Context carrying the exercise clock (for the org openers)
    say: Callable[[str], None] | None = None
    labels: dict[str, str] = field(default_factory=dict)
    clients: dict[str, Any] = field(default_factory=dict)

    @property
    def incident(self) -> Incident:
        assert self.runner.incident is not None
        return self.runner.incident

    def actor(self, action: Any) -> str:
        return action.actor or self.script.script.actor

    def ref(self, value: str) -> str:
        if value.startswith("@"):
            label = value[1:]
            if label not in self.labels:
                raise UsageError(f"no earlier action is labelled {label!r}")
            return self.labels[label]
        return value

    def org(self, alias: str) -> OrgClient:
        """A logged-in client for a running simulated org (kept for the rest of the run)."""
        if alias in self.clients:
            return self.clients[alias]
        if alias not in self.runner.orgs:
            raise UsageError(
                f"no simulated org {alias!r} is running (running: {', '.join(self.runner.orgs) or 'none'})"
            )
        client = self.runner.org_factory(alias)()
        self.clients[alias] = client
        return client

    def close(self) -> None:
        for client in self.clients.values():
            with contextlib.suppress(Exception):
                client.close()
        self.clients.clear()

    # -- one action ------------------------------------------------------------------------------------------

    def run(self, action: Any) -> str:
        """Execute `action`; returns a one-line account for the progress log."""
        handler = getattr(self, "_" + action.do.replace(".", "_"))
        return handler(action)

    def _note(self, a: Note) -> str:
        entry = self.incident.note(a.text, self.actor(a))
        return f"note (entry {entry.seq})"

    def _incident_update(self, a: IncidentUpdate) -> str:
        entry = self.incident.journal.append("incident.update", dict(a.fields.items()), self.actor(a))
        return f"incident {', '.join(f'{k}={v}' for k, v in a.fields.items())} (entry {entry.seq})"

    def _checklist_set(self, a: ChecklistSet) -> str:
        from app import checklist as cl

        change = cl.set_item_state(
            self.incident, a.item, a.state, self.actor(a), note=a.note, evidence=[self.ref(e) for e in a.evidence]
        )
        return f"checklist {change.item} -> {change.state} (entry {change.seq})"

    def _facts_set(self, a: FactsSet) -> str:
        from app.deadlines import actions as dla

        value = self.runner.fact_value(a.key, a.value)
        fact = dla.record_fact(self.incident, a.key, value, self.actor(a), now=self.runner.clock.now())
        notes = "".join(f"; note: {w}" for w in fact.warnings)
        return f"facts {a.key} = {value}" + (f" (entry {fact.seq})" if fact.seq else " (unchanged)") + notes

    def _when(self, value: str | None) -> datetime | None:
        start = self.runner.start_utc
        return resolve_time(value, start) if value and start else None

    def _deadlines_override(self, a: DeadlinesOverride | DeadlinesDecision) -> str:
        from app.deadlines import actions as dla

        done = dla.override_rule(
            self.incident, a.rule, a.decision, a.justification, self.actor(a), now=self.runner.clock.now()
        )
        return f"deadline {done.rule}: {done.action} (entry {done.seq})"

    _deadlines_include = _deadlines_exclude = _deadlines_reset = _deadlines_override

    def _deadlines_pause(self, a: DeadlinesPause) -> str:
        from app.deadlines import actions as dla

        hold = dla.pause_clocks(
            self.incident,
            a.requested_by,
            a.justification,
            self.actor(a),
            now=self.runner.clock.now(),
            at=self._when(a.began),
            rule_ids=a.rules or None,
        )
        if a.label:
            self.labels[a.label] = hold.hold_id
        return f"{hold.hold_id}: clocks paused from {hold.at} (entry {hold.seq})"

    def _deadlines_resume(self, a: DeadlinesResume) -> str:
        from app.deadlines import actions as dla

        hold = dla.resume_clocks(
            self.incident,
            self.ref(a.hold),
            a.justification,
            self.actor(a),
            now=self.runner.clock.now(),
            at=self._when(a.ended),
        )
        return f"{hold.hold_id}: ended {hold.at} (entry {hold.seq})"

    def _evidence_add(self, a: EvidenceAdd) -> str:
        rec = self.incident.add_evidence_bytes(
            a.text.encode("utf-8"),
            a.name,
            self.actor(a),
            note=a.note,
            source={"exercise_script": self.script.script.title},
        )
        if a.label:
            self.labels[a.label] = rec.evidence_id
        return f"evidence {rec.evidence_id} {a.name}"

    def _evidence_custody(self, a: Custody) -> str:
        entry = self.incident.custody(
            self.ref(a.evidence), a.action, self.actor(a), to_party=a.to_party, purpose=a.purpose
        )
        return f"custody {a.action} (entry {entry.seq})"

    def _inventory_pull(self, a: InventoryPull) -> str:
        from app.findings.intake import pull_and_record

        intake = pull_and_record(
            self.incident, self.org(a.org), self.actor(a), alias=a.org, now=self.runner.clock.now()
        )
        assert intake.saved is not None
        if a.label:
            self.labels[a.label] = intake.saved.evidence_id
        return (
            f"inventory snapshot {intake.saved.evidence_id} (entry {intake.saved.seq}); {len(intake.findings)} findings"
        )

    def _collect(self, a: Collect) -> str:
        from app.forensics import collect as forensics

        since = resolve_time(a.since, self.runner.start_utc) if a.since and self.runner.start_utc else None
        what = a.sources or list(forensics.SOURCES)
        result = forensics.collect(
            self.incident, self.org(a.org), self.actor(a), since=since, what=what, command="exercise script"
        )
        return f"collect {a.org}: {result.status}, {result.count('preserved')} preserved"

    def _hunt(self, a: Hunt) -> str:
        from app import hunt

        sets = [hunt.load_indicators(self.script.indicator_file(name)) for name in a.indicators]
        result = hunt.hunt(self.incident, sets)
        new = hunt.record_hunt(self.incident, result, sets, self.actor(a))
        return f"hunt {', '.join(a.indicators)}: {len(result.hits)} hits, {new} recorded"

    def _contain(self, a: Contain) -> str:
        from app.containment import execute as containment
        from app.containment.run import run_plan

        org = self.org(a.org)
        actor = self.actor(a)
        plan = containment.make_plan(
            org,
            self.incident,
            a.action,
            a.app,
            a.user,
            integration_users=a.integration_users,
            actor=actor,
            org_alias=a.org,
            objects=a.objects,
        )
        if a.label:
            self.labels[a.label] = plan.plan_id
        if a.approver:
            containment.approve(self.incident, plan, a.confirm, a.approver)
        run = run_plan(self.incident, org, plan, a.confirm, actor)
        result = run.result
        counts = ", ".join(f"{n} {k}" for k, n in result.counts.items() if n)
        if not run.settled:
            raise WarroomError(
                f"containment {plan.plan_id} ({a.action}) ended {result.status}: {counts}"
                + (f"; stopped: {result.stopped.message}" if result.stopped else "")
            )
        moved = "".join(f"; checklist {m.item} {m.state}" for m in run.checklist)
        if run.checklist_error:
            moved += f"; checklist not moved: {run.checklist_error}"
        return f"contain {a.action} {plan.plan_id}: {result.status} ({counts or 'nothing to change'}){moved}"

    def _contain_task(self, a: ContainTask) -> str:
        from app.containment import execute as containment

        evidence = self.ref(a.evidence)
        everything = a.task == "all-open"
        tasks = [t.task_id for t in containment.open_tasks(self.incident)] if everything else [a.task]
        for task_id in tasks:
            containment.confirm_task(self.incident, task_id, evidence, self.actor(a), note=a.note)
        return f"confirmed {len(tasks)} manual task(s)"

    def _notify_detail(self, a: NotifyDetail) -> str:
        from app import notify

        entry = notify.set_detail(self.incident, a.key, a.value, self.actor(a))
        return f"notice detail {a.key}" + (f" (entry {entry.seq})" if entry else " (unchanged)")

    def _notify_draft(self, a: NotifyDraft) -> str:
        from app import notify

        draft = notify.record_draft(self.incident, notify.draft_notice(self.incident, a.rule), self.actor(a))
        if a.label and draft.evidence_id:
            self.labels[a.label] = draft.evidence_id
        return f"notice draft {a.rule}: {len(draft.gaps)} gap(s), evidence {draft.evidence_id}"

    def _notify_sent(self, a: NotifySent) -> str:
        from app import notify

        start = self.runner.start_utc
        now = self.runner.clock.now()
        at = resolve_time(a.sent_at, start) if a.sent_at and start else now
        sent = notify.notice_sent(self.incident, a.rule, at, self.ref(a.evidence), self.actor(a), now=now)
        return f"notice {a.rule} sent {sent.at} (entry {sent.seq})"

    def _monitor_start(self, a: MonitorStart) -> str:
        from app.monitoring import start_window

        entry = start_window(self.incident, a.days, a.org, self.actor(a))
        return f"monitoring window of {a.days} day(s) on {a.org} from {entry.data['start_utc']} (entry {entry.seq})"

    def _monitor_run(self, a: MonitorRun) -> str:
        from app.monitoring import monitor_status, run_monitor

        status = monitor_status(self.incident)
        if status is None:
            raise UsageError("no monitoring window: a monitor.start action comes first")
        run = run_monitor(self.incident, self.org(status.org_alias), self.actor(a), trigger="exercise script")
        if run.status != "ok":
            raise WarroomError(run.message)
        raised = sorted({x["type"] for x in run.alerts})
        line = f"monitoring run {run.run} (day {run.day}): {len(run.alerts)} new alert(s)" + (
            f" ({', '.join(raised)})" if raised else ""
        )
        missing = [t for t in a.expect_alerts if t not in raised]
        if missing:
            raise WarroomError(f"{line}; expected but not raised: {', '.join(missing)}")
        return line

    def _exercise_ack(self, a: Ack) -> str:
        from app.exercise.journaled import acknowledge, pending_alerts

        ids = [al.inject for al in pending_alerts(self.incident)] if a.inject == "all" else [a.inject]
        for inject_id in ids:
            acknowledge(self.incident, inject_id, self.actor(a), a.note)
        return f"acknowledged {len(ids)} alert(s)"

    def _journal_checkpoint(self, a: Checkpoint) -> str:
        entry = self.incident.checkpoint(self.actor(a), reason=a.reason)
        return f"checkpoint (entry {entry.seq})"

    def _journal_anchor(self, a: Anchor) -> str:
        head, entry = self.incident.anchor(self.actor(a), method=a.method)
        return f"anchor {head.anchor[:24]}… (entry {entry.seq})"
