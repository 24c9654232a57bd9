"""A tabletop exercise run live (`warroom exercise run SCENARIO` without --script): what the facilitator does
with the running exercise from the console, and its end.

The runner's own thread fires the injects (`ExerciseRunner.run_in_background`); the console only reads the
journal. Clock changes are journaled (`exercise.clock`) so the debrief sees when time was held or sped up.
The exercise ends once: the console's "end exercise" and the CLI after the console closes both call
`end_exercise`, and the second call gets the first one's score instead of journaling a second end.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.base.errors import UsageError, WarroomError
from app.checklist import format_duration
from app.exercise.journaled import current_exercise

if TYPE_CHECKING:
    from app.exercise.runner import ExerciseRunner
    from app.exercise.score import Score
    from app.incident.core import Incident
    from app.journal.entries import Entry

SPEEDS: tuple[int, ...] = (1, 2, 5, 10, 30, 60, 120, 300, 600)


def speed_of(runner: ExerciseRunner) -> int | None:
    """The clock's acceleration (None on a virtual clock)."""
    speed = getattr(runner.clock, "speed", None)
    return None if speed is None else int(speed)


def next_speed(current: int, faster: bool) -> int:
    """The next step of SPEEDS above (or below) `current`; `current` itself at either end."""
    if faster:
        return next((s for s in SPEEDS if s > current), current)
    return next((s for s in reversed(SPEEDS) if s < current), current)


def ended(incident: Incident) -> bool:
    return bool((current_exercise(incident.journal) or {}).get("ended"))


def set_clock(
    runner: ExerciseRunner,
    incident: Incident,
    actor: str,
    *,
    paused: bool | None = None,
    speed: int | None = None,
    reason: str | None = None,
) -> Entry | None:
    """Pause, resume or change the speed: journaled first, then applied. None when nothing would change."""
    current = speed_of(runner)
    if current is None:
        raise UsageError("this exercise runs on a virtual clock: it cannot be paused or sped up")
    if ended(incident):
        raise UsageError("the exercise has ended: its clock no longer matters")
    if speed is not None and not SPEEDS[0] <= speed <= SPEEDS[-1]:
        raise UsageError(f"speed x{speed}: choose between x{SPEEDS[0]} and x{SPEEDS[-1]}")
    new_paused = runner.paused if paused is None else paused
    new_speed = current if speed is None else speed
    if new_paused == runner.paused and new_speed == current:
        return None
    change = "speed" if new_paused == runner.paused else ("pause" if new_paused else "resume")
    data: dict[str, Any] = {
        "change": change,
        "paused": new_paused,
        "speed": str(new_speed),
        "previous_speed": str(current),
        "elapsed": format_duration(runner.elapsed()),
    }
    if reason:
        data["reason"] = reason
    entry = incident.journal.append("exercise.clock", data, actor)
    if new_speed != current:
        runner.set_speed(new_speed)
    if new_paused and not runner.paused:
        runner.pause()
    elif not new_paused and runner.paused:
        runner.resume()
    return entry


@dataclass(frozen=True)
class Ending:
    score: Score
    after_action: str
    evidence_id: str  # the after-action report, stored with the incident's evidence


_end_lock = threading.Lock()
_endings: dict[int, tuple[ExerciseRunner, Ending]] = {}  # keyed by id(runner); the runner is kept so ids stay unique


def end_exercise(runner: ExerciseRunner, actor: str) -> Ending:
    """Score the exercise, journal `exercise.end` and store the after-action report, once per runner."""
    from app.exercise.aar import after_action_report
    from app.exercise.script import store_after_action

    with _end_lock:
        done = _endings.get(id(runner))
        if done is not None:
            return done[1]
        if runner.incident is None:
            raise UsageError("this exercise is not running")
        if ended(runner.incident):
            raise UsageError(f"exercise {runner.incident.id} has already ended")
        score = runner.finish(actor)
        text = after_action_report(runner.incident, runner.loaded, score)
        evidence_id = store_after_action(runner.incident, text, actor)
        ending = Ending(score, text, evidence_id)
        _endings[id(runner)] = (runner, ending)
        return ending


def summary_lines(incident_id: str, score: Score | Any, failures: int = 0) -> list[str]:
    """The score in two lines, as the CLI prints it and the console shows it."""
    parts = ", ".join(f"{k} {v}" for k, v in score.parts.items())
    status = getattr(score, "status", "completed")
    if status == "aborted":
        head = f"exercise {score.scenario} in {incident_id}: ABORTED ({score.aborted}), not scored"
    elif status == "unfinished":
        head = (
            f"exercise {score.scenario} in {incident_id}: UNFINISHED (no end recorded), provisional score "
            f"{score.total}/100 ({parts})"
        )
    else:
        head = f"exercise {score.scenario} in {incident_id}: score {score.total}/100 ({parts})"
    return [
        head,
        f"  deadlines: {score.deadlines_met} met, {score.deadlines_late} late, {score.deadlines_missed} missed; "
        f"checklist: {score.items_on_time} on time, {score.items_late} late, {score.items_missed} missed; "
        f"contained {score.apps_contained}/{score.apps_compromised} apps; "
        f"{score.evidence_gaps_count} evidence gap(s)"
        + (f"; {failures} scripted action(s) failed" if failures else ""),
    ]


def abort_exercise(runner: ExerciseRunner, reason: str, actor: str) -> Score | None:
    """End an exercise that cannot go on: journal `exercise.end` with the reason, scored as aborted.

    Returns the Score (status "aborted"), or None when even scoring failed (the end is journaled anyway).
    """
    from app.exercise.score import score as compute_score

    runner.stop_background()
    incident = runner.incident
    assert incident is not None
    with runner._lock:
        result = None
        try:
            result = compute_score(incident, runner.loaded, orgs=runner.orgs, now=runner.clock.now(), aborted=reason)
        except Exception as exc:  # the end must be recorded even when the score cannot be taken
            runner.errors.append(f"scoring the aborted exercise: {exc}")
        data: dict[str, Any] = {
            "scenario": runner.scenario.name,
            "elapsed": format_duration(runner.elapsed()),
            "fired": list(runner.fired),
            "aborted": reason,
        }
        if result is not None:
            data["score"] = result.journal_summary()
        incident.journal.append("exercise.end", data, actor)
    return result


@contextlib.contextmanager
def aborting(runner: ExerciseRunner, actor: str) -> Iterator[None]:
    """Whatever stops a started exercise early is journaled as its end (`exercise.end` with `aborted`), then
    raised again: an error as ExerciseAborted naming the incident and the reason, an interrupt as itself."""
    try:
        yield
    except BaseException as exc:
        incident = runner.incident
        if incident is None or ended(incident):
            raise
        reason = str(exc) if isinstance(exc, WarroomError) else f"{type(exc).__name__}: {exc}".rstrip(": ")
        at = format_duration(runner.elapsed())
        abort_exercise(runner, f"T+{at}: {reason}", actor)
        if isinstance(exc, Exception):
            raise ExerciseAborted(
                f"exercise {incident.id} aborted at T+{at}: {reason} (its end is journaled; `warroom exercise "
                f"score --incident {incident.id}` reports it as aborted)"
            ) from exc
        raise


class ExerciseAborted(WarroomError):
    """A started exercise that could not go on; its end is journaled with the reason."""

    exit_code = 1
