"""The war-room console application: injected parts in, one tick, one journal listener, workers for slow work."""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App
from textual.message import Message
from textual.worker import Worker, WorkerFailed, WorkerState

from app import deadlines as dl
from app.base.clock import Clock
from app.base.crash import EXIT_SOFTWARE
from app.base.errors import WarroomError
from app.composition.context import Context
from app.exercise.runner import current_exercise
from app.incident.core import Incident
from app.journal.chain import Entry, Head
from app.journal.verify import VerifyReport
from app.salesforce.protocol import OrgFactory
from app.team.merged import TeamJournal, view_size
from screens.bindings import APP_BINDINGS, EXERCISE_BINDINGS, MAIN_BINDINGS
from screens.commands import WarroomCommands, palette_commands
from screens.modals.help import key_label
from screens.monitor_schedule import MonitorSchedule
from screens.settings import CONFIG_FILE, ConsoleSettings
from screens.sources import ChecklistSource, InventoryView, load_inventory
from screens.terminal import require_terminal
from screens.verification import VerificationStatus
from screens.widgets.header_bar import ExerciseMark, HeaderBar

VIEW_FILE = "console-view.json"


class JournalAppended(Message):
    """An entry was committed (possibly by a worker thread); panes re-read what it may have changed."""

    def __init__(self, entry: Entry) -> None:
        super().__init__()
        self.entry = entry


class WarroomApp(VerificationStatus, App[int]):
    CSS_PATH = "warroom.tcss"
    TITLE = "warroom"
    BINDINGS = [*APP_BINDINGS]
    COMMANDS = App.COMMANDS | {WarroomCommands}

    def __init__(
        self,
        ctx: Context,
        incident: Incident,
        clock: Clock,
        org_factory: OrgFactory | None,
        settings: ConsoleSettings,
        *,
        display_id: str | None = None,
        exercise: bool = False,
        runner: Any = None,
        root_display: Callable[[Head], str] | None = None,
    ) -> None:
        """`exercise`: mark the console as a drill; `runner`: the ExerciseRunner of a live tabletop (its clock is
        `clock`), which the console pauses, speeds up and ends."""
        super().__init__()
        self.ctx = ctx
        self.incident = incident
        self.clock = clock
        self.org_factory = org_factory
        self.settings = settings
        self.zone = settings.zone()
        self.exercise = exercise or runner is not None
        self.runner = runner
        self.crash_message: str | None = None
        self.display_id = display_id or incident.id
        self._root_display = root_display
        self.rules = dl.load_rules()
        self.checklist_source = ChecklistSource(incident)
        self.last_verify: VerifyReport | None = None
        self.inventory_view = InventoryView([], "", [])
        self.view: dict[str, Any] = self._load_view()
        self._pending_kinds: set[str] = set()
        self._busy: dict[str, bool] = {}
        self._again: set[str] = set()
        self._seen_seqs: set[int] = set()
        self._polled = view_size(incident.journal)
        self._exercise_state: dict[str, Any] = current_exercise(incident.journal) or {}
        self._runner_errors = 0
        self._time_up = False
        self._orgs_seen: set[str] = set(runner.orgs) if runner is not None else set()
        self.monitor_schedule = MonitorSchedule(self, timedelta(minutes=settings.monitor_every_minutes))
        incident.journal.subscribe(self._on_journal_entry)

    # -- lifecycle ------------------------------------------------------------------------------------------

    def run(self, *args: Any, **kwargs: Any) -> int | None:
        """Refuse, instead of waiting silently, when there is no terminal to draw on (a pipe, cron, CI)."""
        if not kwargs.get("headless"):
            require_terminal()
        return super().run(*args, **kwargs)

    def on_mount(self) -> None:
        from screens.main import MainScreen

        if self.settings.keymap:
            self.set_keymap(self.settings.keymap)
        if self.settings.theme and self.settings.theme in self.available_themes:
            self.theme = self.settings.theme
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self.push_screen(MainScreen())
        self.set_interval(1, self._tick, name="tick")
        self.action_verify()

    def _theme_changed(self, theme: Any) -> None:
        """Keep the responder's theme for the next start (config.toml, `[console] theme`)."""
        from screens.settings import save_theme

        name = getattr(theme, "name", str(theme))
        if name == self.settings.theme:
            return
        self.settings = self.settings.model_copy(update={"theme": name})
        try:
            save_theme(self.ctx.home, name)
        except (OSError, WarroomError) as exc:
            self.notify(f"theme not saved: {exc}", severity="warning", markup=False)

    def _tick(self) -> None:
        self._poll_journal()
        if self.exercise:
            self._exercise_tick()
        now = self.clock.now()
        self.monitor_schedule.tick(now)
        from screens.main import MainScreen

        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                screen.tick(now)

    @property
    def main_screen(self) -> Any:
        from screens.main import MainScreen

        return next(s for s in self.screen_stack if isinstance(s, MainScreen))

    # -- journal -> screen ----------------------------------------------------------------------------------

    def _on_journal_entry(self, entry: Entry) -> None:
        """Journal listener: runs in whichever thread appended, after the commit.

        `post_message` is thread-safe and, unlike `call_from_thread`, never makes a worker wait for the UI
        (a worker appending while the app shuts down must not hang); the entry is durable before either.
        """
        if self.is_running:
            self.post_message(JournalAppended(entry))

    def on_journal_appended(self, message: JournalAppended) -> None:
        self._entry_seen(message.entry)

    def _poll_journal(self) -> None:
        """Entries appended through another connection (the exercise runner's thread, a command in another
        terminal) reach no listener here: on each tick, read what the journal gained since the last look."""
        journal = self.incident.journal
        try:
            size = view_size(journal)  # a team incident: a `warroom sync` elsewhere grows the merged view
            if size <= self._polled:
                return
            new = list(journal.entries(since=self._polled))
        except WarroomError:
            return  # closing; the next tick (if any) tries again
        self._polled = size
        for entry in new:
            if isinstance(journal, TeamJournal):  # merged positions are not this chain's seqs: never deduplicated
                self._seen_seqs.discard(entry.seq)
            self._entry_seen(entry)

    def _entry_seen(self, entry: Entry) -> None:
        if entry.seq in self._seen_seqs:  # the listener and the poll can both report an entry
            return
        self._seen_seqs.add(entry.seq)
        if entry.kind == "exercise.inject":
            self._announce(entry)
        first = not self._pending_kinds
        self._pending_kinds.add(entry.kind)
        if first:
            self.call_later(self._flush_refresh)  # one refresh for a burst of appends

    def _flush_refresh(self) -> None:
        kinds, self._pending_kinds = self._pending_kinds, set()
        if not kinds:
            return
        if any(k.startswith("exercise.") for k in kinds):
            self._exercise_state = current_exercise(self.incident.journal) or {}
            self._exercise_tick()
        if any(k.startswith("monitoring.") for k in kinds):
            self.monitor_schedule.invalidate()
        self.main_screen.refresh_for(kinds)
        self.verify_appended()  # keep the header's integrity mark current: the new entries only, in a thread
        from screens.modals.alerts import AlertsModal
        from screens.timeline import TimelineScreen

        if isinstance(self.screen, TimelineScreen):
            self.screen.reload()
        if any(k.startswith("exercise.") for k in kinds):
            for screen in self.screen_stack:
                if isinstance(screen, AlertsModal):
                    screen.reload()

    def short_root(self, head: Head) -> str:
        return self._root_display(head) if self._root_display else head.short

    # -- exercise ---------------------------------------------------------------------------------------------

    def _announce(self, entry: Entry) -> None:
        """A new inject: a toast and the bell, on top of the alert bar (which stays until acknowledged)."""
        d = entry.data
        sender = f"{d['sender']}: " if d.get("sender") else ""
        from screens.modals.alerts import offset_text

        self.notify(
            f"{sender}{d.get('title', '')}",
            severity="warning",
            timeout=20,
            markup=False,
            title=f"EXERCISE INJECT {offset_text(str(d.get('offset', '')))} [{d.get('kind')}]",
        )
        self.bell()

    def exercise_mark(self) -> ExerciseMark:
        state = self._exercise_state
        runner = self.runner
        if state.get("ended") or runner is None:  # its clock no longer matters
            return ExerciseMark(state=f"ended {state.get('total')}/100" if state.get("ended") else "")
        from app.exercise.tabletop import speed_of

        return ExerciseMark(
            speed=speed_of(runner),
            paused=runner.paused,
            state="time up" if runner.over() else "",
            org=self.settings.org_alias if len(runner.orgs) > 1 else "",
        )

    def _exercise_tick(self) -> None:
        header = self._header()
        if header is not None:
            header.set_exercise(self.exercise_mark())
        runner = self.runner
        if runner is not None and not self._time_up and runner.over():
            self._time_up = True
            self._pause_at_time_up(runner)
        if runner is not None and len(runner.orgs) > len(self._orgs_seen):
            new = sorted(set(runner.orgs) - self._orgs_seen)
            self._orgs_seen.update(new)
            key = self.key_for("exercise.org", "o")
            self.notify(
                f"simulated org {', '.join(new)} is running now: {key} switches pull and containment to it",
                title="exercise",
                timeout=20,
                markup=False,
            )
        if runner is not None and len(runner.errors) > self._runner_errors:
            from app.base.redaction import redact

            for error in runner.errors[self._runner_errors :]:
                self.notify(redact(error), title="exercise inject failed", severity="error", timeout=30, markup=False)
            self._runner_errors = len(runner.errors)

    def _pause_at_time_up(self, runner: Any) -> None:
        """Hold the clock when the scenario's time is up, so the score is taken at its end, not whenever someone
        gets to it (the facilitator can resume to play on)."""
        from app.exercise.tabletop import set_clock

        try:
            entry = set_clock(runner, self.incident, self.ctx.actor, paused=True, reason="the scenario's time is up")
        except WarroomError:
            return  # ended already
        if entry is not None:
            key = self.key_for("exercise.end", "ctrl+e")
            self.notify(
                f"the scenario's time is up: the clock is paused; {key} ends the exercise and scores it",
                title="exercise",
                timeout=30,
                markup=False,
            )

    def use_org(self, alias: str, org_factory: OrgFactory) -> None:
        """Pull and contain in another org from now on (an exercise's second simulated org)."""
        self.org_factory = org_factory
        self.settings = self.settings.model_copy(update={"org_alias": alias})
        self._exercise_tick()
        pull, contain = self.key_for("inventory.pull", "p"), self.key_for("contain.plan", "c")
        self.notify(f"org {alias}: pull ({pull}) and containment ({contain}) now go there", timeout=6)

    def refresh_exercise(self) -> None:
        """After a clock change: the header now, not at the next tick."""
        self._exercise_tick()

    def key_for(self, binding_id: str, default: str) -> str:
        """The first key a binding answers to, as remapped in the keymap, for hints on screen."""
        return key_label(self._keymap.get(binding_id, default).split(",")[0])

    # -- crashes ----------------------------------------------------------------------------------------------

    def _handle_exception(self, error: Exception) -> None:
        """Textual's own handler prints a traceback with every frame's local variables, and a local can hold a
        token or a password. Instead: the redacted crash report (app.crash), exit code 70, and one redacted line
        that run_console prints once the terminal is restored."""
        if isinstance(error, WorkerFailed):
            error = error.error if isinstance(error.error, Exception) else error
        if self.crash_message is None:  # the first exception is the one that matters
            from app.base.crash import write_crash
            from app.base.redaction import redact

            try:
                self.crash_message = write_crash(self.ctx, error, "console")
            except Exception as exc:  # never let the report hide the crash
                self.crash_message = redact(f"internal error ({type(error).__name__}); no report written ({exc})")
        self.exit(return_code=EXIT_SOFTWARE)
        self._exception_event.set()  # wakes a waiting test pilot; nothing is re-raised
        self._close_messages_no_wait()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        self.worker_failed(event)

    def worker_failed(self, event: Worker.StateChanged) -> None:
        """A worker that must not take the console down (exit_on_error=False) failed with an error nobody
        expected: say so and keep the redacted report, instead of letting the work vanish silently."""
        worker = event.worker
        if event.state is not WorkerState.ERROR or worker.exit_on_error or not isinstance(worker.error, Exception):
            return
        from app.base.crash import write_crash

        message = write_crash(self.ctx, worker.error, f"console: {worker.description or worker.name}")
        self.notify(
            message,
            title=f"{worker.description or 'background work'} failed",
            severity="error",
            timeout=30,
            markup=False,
        )

    # -- data the panes show -------------------------------------------------------------------------------

    def timers(self, now: datetime) -> list[dl.Timer]:
        return dl.incident_timers(self.incident.journal, now, self.rules)

    def reload_inventory(self) -> None:
        """Rebuild the inventory view (snapshot, findings, containment) in a worker; the pane updates after.

        One reader at a time: a request while one runs makes it run once more when done (nothing cancelled).
        """
        if self._busy.get("inventory"):
            self._again.add("inventory")
            return
        self._busy["inventory"] = True
        self._inventory_worker()

    @work(thread=True, group="inventory-view", exit_on_error=False, description="reading inventory")
    def _inventory_worker(self) -> None:
        try:
            view: InventoryView | None = load_inventory(self.incident)
        except WarroomError as exc:
            view = None
            self.call_from_thread(self.notify, f"inventory: {exc}", severity="error")
        self.call_from_thread(self._inventory_loaded, view)

    def _inventory_loaded(self, view: InventoryView | None) -> None:
        self._busy["inventory"] = False
        if "inventory" in self._again:
            self._again.discard("inventory")
            self.reload_inventory()
        if view is None:
            return
        self.inventory_view = view
        # A 100k-token inventory is millions of long-lived objects: left to the cyclic collector, each full
        # collection walks them all in the UI thread (a pause of tens of ms at a random key press). Frozen,
        # they are never scanned; a later reload freezes the new view the same way.
        gc.freeze()
        from screens.widgets.inventory_pane import InventoryPane

        try:
            pane = self.main_screen.query_one(InventoryPane)
        except Exception:
            return
        pane.set_rows(view.rows, view.summary)
        keep = self.view.get("inventory_row")
        if keep and pane.selected() is None:
            pane.select(keep)
        if self.main_screen.active_pane == "inventory":
            self.main_screen.update_detail()

    # -- view state (not evidence: kept beside the journal so a restart shows the same view) -------------------

    @property
    def view_path(self) -> Path:
        return self.incident.dir / VIEW_FILE

    def _load_view(self) -> dict[str, Any]:
        if not self.settings.save_view:
            return {}
        try:
            data = json.loads(self.view_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def save_view(self, **changes: Any) -> None:
        if all(self.view.get(k) == v for k, v in changes.items()):
            return
        self.view.update(changes)
        if not self.settings.save_view:
            return
        tmp = self.view_path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(self.view, sort_keys=True), encoding="utf-8")
            os.replace(tmp, self.view_path)
        except OSError:
            pass  # the view is a convenience; the journal is the record

    # -- app-wide actions ---------------------------------------------------------------------------------------

    def action_help(self) -> None:
        from screens.modals.help import HelpScreen

        running = self.runner is not None
        self.push_screen(
            HelpScreen(
                [*APP_BINDINGS, *MAIN_BINDINGS, *(EXERCISE_BINDINGS if running else [])],
                dict(self._keymap),
                palette_commands(running),
                str(self.ctx.home / CONFIG_FILE),
            )
        )

    def _header(self) -> HeaderBar | None:
        try:
            return self.main_screen.query_one(HeaderBar)
        except Exception:
            return None
