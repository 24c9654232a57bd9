"""The console runs `monitor run` on a schedule while it is open: on the app's one-second tick, read against the
injected clock, a run is due `[console] monitor_every_minutes` after the last run of the incident (by anyone: cron,
the CLI, another console), and only while a monitoring window is open. The run itself is
`app.monitoring.run_monitor`, the function `warroom monitor run` calls, in a thread worker so the UI never waits
for the org; its alerts reach the alert bar through the journal like any other entry."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from app.base.errors import WarroomError
from app.monitoring import MonitorRun, monitor_status, next_run_due, run_monitor

if TYPE_CHECKING:
    from screens.app import WarroomApp

SCHEDULED = "console schedule"
BY_HAND = "console"


class MonitorSchedule:
    """When the next run is due, recomputed only after a monitoring entry (or a run) rather than on every tick."""

    def __init__(self, app: WarroomApp, every: timedelta) -> None:
        self.app = app
        self.every = every
        self.busy = False
        self.due: datetime | None = None
        self.alias: str | None = None
        self._stale = True
        self._hold_until: datetime | None = None  # after a run that failed before it was journaled
        self._said: set[str] = set()

    def invalidate(self) -> None:
        """A monitoring entry was journaled (a window opened or closed, a run by anyone): read the window again."""
        self._stale = True

    def tick(self, now: datetime) -> None:
        if self.busy:
            return
        if self._stale:
            status = monitor_status(self.app.incident, now)
            self.due = next_run_due(status, self.every)
            self.alias = status.org_alias if status else None
            self._stale = False
        if self.due is None or now < self.due or (self._hold_until is not None and now < self._hold_until):
            return
        problem = self.cannot_run()
        if problem:
            self._say_once(problem)
            return
        self.start(SCHEDULED)

    def cannot_run(self) -> str | None:
        if self.app.org_factory is None:
            return "a monitoring window is open but no org is connected to this console: run `warroom monitor run`"
        if self.alias and self.alias != self.app.settings.org_alias:
            return (
                f"the monitoring window watches {self.alias}, this console is connected to "
                f"{self.app.settings.org_alias}: run `warroom monitor run` for it"
            )
        return None

    def _say_once(self, message: str) -> None:
        if message not in self._said:
            self._said.add(message)
            self.app.notify(message, title="monitoring", severity="warning", timeout=20, markup=False)

    def start(self, trigger: str) -> bool:
        """Start one run in a worker (False when one is already under way in this console)."""
        if self.busy:
            return False
        self.busy = True
        self.app.run_worker(
            partial(self._work, trigger),
            thread=True,
            group="monitor",
            exit_on_error=False,
            description="monitoring run",
        )
        return True

    def _work(self, trigger: str) -> None:
        app = self.app
        factory = app.org_factory
        run: MonitorRun | None = None
        error: str | None = None
        try:
            if factory is None:
                raise WarroomError("no org connected to this console")
            run = run_monitor(app.incident, factory, app.ctx.actor, trigger=trigger)
        except WarroomError as exc:
            error = str(exc)
        finally:
            app.call_from_thread(self._done, run, error)

    def _done(self, run: MonitorRun | None, error: str | None) -> None:
        self.busy = False
        self._stale = True
        self._hold_until = None if error is None else self.app.clock.now() + self.every
        if error is not None:
            self.app.notify(error, title="monitoring run failed", severity="error", timeout=20, markup=False)
        elif run is not None:
            self.app.notify(run_summary(run), title="monitoring", timeout=8, markup=False)


def run_summary(run: MonitorRun) -> str:
    if run.status != "ok":
        return run.message
    text = f"run {run.run} (day {run.day}): {len(run.alerts)} new alert(s), {run.still_true} still true"
    return text + ("; baseline taken" if run.baseline else "")
