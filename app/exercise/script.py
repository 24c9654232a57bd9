"""Scripted responders: a TOML list of actions at T+offsets, played through the same functions the CLI uses.

A script drives a headless exercise (CI, replays, demonstrating a competent response). The file and its actions
are read in `app/exercise/scriptfile.py`; each action runs through the same use case as the CLI command and the
console action of that name (checklist.set_item_state, containment.run_plan, findings.pull_and_record,
deadlines.actions, notify.notice_sent, forensics.collect, hunt.record_hunt ...), never by shelling out, against
the simulated org(s) the exercise started.

Clock: without a speed the run uses a virtual clock that jumps straight to the next event (an inject or an
action), so a 72-hour scenario plays in seconds and every timestamp is deterministic. With a speed, an
accelerated clock runs and the player waits for each event in (sped-up) real time.

A failing action does not stop the exercise: it is journaled as `exercise.action_failed` with the error, the run
goes on, and the result lists it (the CLI then exits 1 after printing the score).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from app.base.clock import AcceleratedClock, FrozenClock
from app.base.errors import UsageError, WarroomError
from app.exercise.runner import (
    ExerciseRunner,
    LoadedScenario,
    ScenarioError,
    next_inject_at,
    resolve_time,
)
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
    from app.composition.workspace import Workspace
    from app.incident.core import Incident
    from app.salesforce.protocol import OrgClient


FAILED_KIND = "exercise.action_failed"


# -- playing ----------------------------------------------------------------------------------------------------


class ActionFailure(BaseModel):
    index: int
    at: str
    do: str
    error: str


class ScriptRun(BaseModel):
    incident_id: str
    scenario: str
    script: str
    clock: str
    actions_run: int
    failures: list[ActionFailure]
    injects_fired: list[str]
    score: Any = None
    after_action: str = ""


@dataclass
class _Player:
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
        from app.exercise.runner import acknowledge, pending_alerts

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


def _wait_until(runner: ExerciseRunner, at: datetime) -> None:
    """Move the exercise clock to `at`: jump (virtual) or wait in sped-up real time (accelerated)."""
    clock = runner.clock
    if isinstance(clock, FrozenClock):
        assert runner.start_utc is not None
        while True:  # stop at each inject on the way, so it fires at its own time
            nxt = next_inject_at(runner.scenario, runner.fired)
            if nxt is None or runner.start_utc + nxt > at:
                break
            if runner.start_utc + nxt > clock.now():
                clock.advance(runner.start_utc + nxt - clock.now())
            if not runner.fire_due():
                break
        if at > clock.now():
            clock.advance(at - clock.now())
        runner.fire_due()
        return
    while clock.now() < at:
        runner.fire_due()
        left = (at - clock.now()).total_seconds()
        speed = clock.speed if isinstance(clock, AcceleratedClock) else 1
        time.sleep(max(0.01, min(0.25, left / max(speed, 1))))
    runner.fire_due()


def play(
    runner: ExerciseRunner, script: LoadedScript, ctx: Any, *, say: Callable[[str], None] | None = None
) -> ScriptRun:
    """Run the script's actions in time order (injects fire as the clock passes them), then score and end."""
    from app.exercise.aar import after_action_report

    assert runner.incident is not None and runner.start_utc is not None
    player = _Player(runner, script, ctx, say)
    failures: list[ActionFailure] = []
    order = sorted(enumerate(script.script.actions), key=lambda ia: (ia[1].offset, ia[0]))
    ran = 0
    try:
        for index, action in order:
            _wait_until(runner, runner.start_utc + action.offset)
            try:
                line = player.run(action)
                ran += 1
                if say:
                    say(f"T+{action.at:<8} {player.actor(action)}: {line}")
            except WarroomError as exc:
                failures.append(ActionFailure(index=index, at=action.at, do=action.do, error=str(exc)))
                runner.incident.journal.append(
                    FAILED_KIND,
                    {"index": index, "at": f"T+{action.at}", "do": action.do, "error": str(exc)},
                    player.actor(action),
                )
                if say:
                    say(f"T+{action.at:<8} {player.actor(action)}: FAILED {action.do}: {exc}")
        _wait_until(runner, runner.start_utc + runner.scenario.length)
        result = runner.finish()
        aar = after_action_report(runner.incident, runner.loaded, result)
        store_after_action(runner.incident, aar, runner.actor)
    finally:
        player.close()
    clock = "virtual" if isinstance(runner.clock, FrozenClock) else "accelerated"
    return ScriptRun(
        incident_id=runner.incident.id,
        scenario=runner.scenario.name,
        script=str(script.path),
        clock=clock,
        actions_run=ran,
        failures=failures,
        injects_fired=list(runner.fired),
        score=result,
        after_action=aar,
    )


def store_after_action(incident: Incident, text: str, actor: str) -> str:
    """Keep the after-action report with the incident's evidence (hashed and journaled); returns its id."""
    rec = incident.add_evidence_bytes(
        text.encode("utf-8"),
        "after-action-report.md",
        actor,
        note="exercise after-action report",
        source={"kind": "exercise.after_action"},
    )
    return rec.evidence_id


def run_scripted(
    workspace: Workspace,
    ctx: Any,
    loaded: LoadedScenario,
    script: LoadedScript,
    *,
    speed: int | None = None,
    say: Callable[[str], None] | None = None,
) -> ScriptRun:
    """The whole headless exercise: start (virtual clock unless `speed`), play, score; the orgs are stopped."""
    from dataclasses import replace

    from app.exercise.runner import make_clock
    from app.exercise.tabletop import aborting

    if script.script.scenario != loaded.name:
        raise ScenarioError(f"script {script.path} plays scenario {script.script.scenario!r}, not {loaded.name!r}")
    clock = make_clock(loaded, speed, virtual=speed is None)
    ws = workspace.with_clock(clock)
    exercise_ctx = replace(ctx, clock=clock) if ctx is not None else None
    runner = ExerciseRunner(ws, loaded, clock)
    try:
        runner.start(mode="scripted", script=script.record())
        if isinstance(clock, AcceleratedClock):
            runner.run_in_background()
        with aborting(runner, runner.actor):
            return play(runner, script, exercise_ctx, say=say)
    finally:
        runner.close()
