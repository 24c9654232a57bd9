"""Scripted responders: a TOML list of actions at T+offsets, played through the same functions the CLI uses.

A script drives a headless exercise (CI, replays, demonstrating a competent response). The file and its actions
are read in `app/exercise/scriptfile.py`; each action is played by `app/exercise/player.py` through the same use
case as the CLI command and the console action of that name, never by shelling out, against the simulated
org(s) the exercise started. This module times the actions against the exercise clock, records failures and
ends the run with its score and after-action report.

Clock: without a speed the run uses a virtual clock that jumps straight to the next event (an inject or an
action), so a 72-hour scenario plays in seconds and every timestamp is deterministic. With a speed, an
accelerated clock runs and the player waits for each event in (sped-up) real time.

A failing action does not stop the exercise: it is journaled as `exercise.action_failed` with the error, the run
goes on, and the result lists it (the CLI then exits 1 after printing the score).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from app.base.clock import AcceleratedClock, FrozenClock
from app.base.errors import WarroomError
from app.exercise.player import ScriptPlayer
from app.exercise.runner import ExerciseRunner
from app.exercise.scenario import LoadedScenario, ScenarioError, next_inject_at
from app.exercise.scriptfile import LoadedScript

if TYPE_CHECKING:
    from app.composition.workspace import Workspace
    from app.incident.core import Incident


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
    player = ScriptPlayer(runner, script, ctx, say)
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

    from app.exercise.tabletop import aborting
    from app.exercise.timing import make_clock

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
