"""What the facilitator and the responders do with a live tabletop exercise from the main screen: read and
acknowledge the injects, hold or speed up the exercise clock, end it. Everything goes through `app/`
(app.exercise, app.tabletop), which journals first; the runner's own thread fires the injects."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.markup import escape
from textual import work

from app.base.errors import WarroomError
from app.exercise import runner as ex
from app.exercise import tabletop
from screens.modals.alerts import AlertsModal, alert_text
from screens.modals.form import FormField, FormModal
from screens.modals.score import ScoreModal
from screens.widgets.activity_bar import ActivityBar, BarProgress

if TYPE_CHECKING:
    from textual.screen import Screen

    from app.exercise.runner import ExerciseRunner
    from screens.app import WarroomApp


if TYPE_CHECKING:
    _Screen = Screen[None]
else:
    _Screen = object


class ExerciseActions(_Screen):
    """Mixed into MainScreen next to ConsoleActions; `self` is the screen (a Screen for the type checker, which
    also needs the failure reporting ConsoleActions provides)."""

    app: WarroomApp

    if TYPE_CHECKING:

        def fail(self, exc: BaseException | str) -> None: ...

        def _fail_from_thread(self, exc: BaseException | str) -> None: ...

    def _runner(self) -> ExerciseRunner | None:
        runner = self.app.runner
        if runner is None:
            self.fail("no exercise is running in this console: start one with `warroom exercise run SCENARIO`")
        return runner

    # -- alerts -------------------------------------------------------------------------------------------------

    def action_exercise_alerts(self) -> None:
        if self._runner() is None:
            return
        incident = self.app.incident
        self.app.push_screen(AlertsModal(lambda: ex.alerts(incident), self._ask_ack))

    def action_exercise_ack(self) -> None:
        if self._runner() is None:
            return
        pending = ex.pending_alerts(self.app.incident)
        if not pending:
            self.app.notify("no unacknowledged alerts", timeout=4)
            return
        self._ask_ack(pending[0])

    def _ask_ack(self, alert: Any) -> None:
        def done(values: dict[str, str] | None) -> None:
            if values is None:
                return
            try:
                ex.acknowledge(self.app.incident, alert.inject, self.app.ctx.actor, values.get("note") or None)
            except WarroomError as exc:
                self.fail(exc)
                return
            self.app.notify(f"{alert.inject}: acknowledged", timeout=4)

        self.app.push_screen(
            FormModal(
                f"Acknowledge {alert.inject}",
                [
                    FormField("note", "Note (optional): who took it, what happens next", placeholder="legal has it"),
                ],
                help_text=escape(alert_text(alert)),
                ok_label="Acknowledge",
            ),
            done,
        )

    def refresh_alerts(self) -> None:
        from app.monitoring import pending_monitor_alerts
        from screens.widgets.alert_bar import AlertBar

        bar = self.query_one(AlertBar)
        pending = ex.pending_alerts(self.app.incident) if self.app.runner is not None else []
        bar.set_alerts(
            pending,
            self.app.key_for("exercise.alerts", "l"),
            self.app.key_for("exercise.ack", "y"),
            pending_monitor_alerts(self.app.incident),
        )

    # -- the clock ----------------------------------------------------------------------------------------------

    def action_exercise_pause(self) -> None:
        runner = self._runner()
        if runner is not None:
            self._set_clock(runner, paused=not runner.paused)

    def action_exercise_speed(self, step: int) -> None:
        runner = self._runner()
        if runner is None:
            return
        current = tabletop.speed_of(runner) or 1
        new = tabletop.next_speed(current, faster=step > 0)
        if new == current:
            self.app.notify(f"already x{current}: the {'fastest' if step > 0 else 'slowest'} speed", timeout=4)
            return
        self._set_clock(runner, speed=new)

    def _set_clock(self, runner: ExerciseRunner, **change: Any) -> None:
        try:
            entry = tabletop.set_clock(runner, self.app.incident, self.app.ctx.actor, **change)
        except WarroomError as exc:
            self.fail(exc)
            return
        self.app.refresh_exercise()
        if entry is not None:
            d = entry.data
            said = {"pause": "paused", "resume": "running again"}.get(d["change"], "now")
            self.app.notify(f"exercise clock {said} at x{d['speed']} (T0 + {d['elapsed']})", timeout=4)

    # -- orgs -------------------------------------------------------------------------------------------------

    def action_exercise_org(self) -> None:
        """Pull and containment go to one org at a time; an inject can start another (`add_org`)."""
        runner = self._runner()
        if runner is None:
            return
        aliases = sorted(runner.orgs)
        current = self.app.settings.org_alias
        if len(aliases) < 2:
            self.app.notify(f"only one simulated org runs in this exercise: {current}", timeout=4)
            return
        new = aliases[(aliases.index(current) + 1) % len(aliases)] if current in aliases else aliases[0]
        self.app.use_org(new, runner.org_factory(new))

    # -- the end ------------------------------------------------------------------------------------------------

    def action_exercise_end(self) -> None:
        runner = self._runner()
        if runner is None:
            return
        if tabletop.ended(self.app.incident):
            self.fail("the exercise has already ended")
            return

        def done(values: dict[str, str] | None) -> None:
            if values is not None:
                self._end_worker(runner, values.get("note") or None)

        self.app.push_screen(
            FormModal(
                "End the exercise now?",
                [
                    FormField("note", "Debrief note (optional, journaled)", placeholder="why we stopped here"),
                ],
                help_text="The score is computed and journaled (exercise.end) and the after-action report is stored "
                "as evidence. The console stays open to look back; the CLI prints the same score on quit.",
                ok_label="End and score",
            ),
            done,
        )

    @work(thread=True, exclusive=True, group="exercise-end", exit_on_error=False, description="scoring the exercise")
    def _end_worker(self, runner: ExerciseRunner, note: str | None) -> None:
        bar = BarProgress(self.app, self.query_one(ActivityBar))
        bar.start("exercise: scoring and writing the after-action report")
        try:
            if note:
                self.app.incident.note(note, self.app.ctx.actor)
            ending = tabletop.end_exercise(runner, self.app.ctx.actor)
        except (WarroomError, OSError) as exc:
            self._fail_from_thread(exc)
            return
        finally:
            bar.stop()
        self.app.call_from_thread(self._show_score, ending)

    def _show_score(self, ending: tabletop.Ending) -> None:
        self.app.refresh_exercise()
        score = ending.score
        self.app.push_screen(
            ScoreModal(
                score.total, tabletop.summary_lines(score.incident_id, score), ending.evidence_id, ending.after_action
            )
        )
