"""The console during a live tabletop (`warroom exercise run SCENARIO` without --script): the runner journals
injects through its own connection and the console picks them up on its tick; alerts are shown and
acknowledged; the facilitator pauses, speeds up and ends the exercise. The exercise clock is accelerated over a
frozen base clock, so scenario time moves only when a test moves it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from app.base.clock import AcceleratedClock, FrozenClock, parse_instant
from app.composition.context import Context
from app.composition.workspace import Workspace
from app.exercise import demo, tabletop
from app.exercise.journaled import pending_alerts
from app.exercise.runner import ExerciseRunner
from app.exercise.scenario import load_scenario
from app.exercise.timing import exercise_start
from app.incident.core import Incident
from screens.factory import build_app
from screens.main import MainScreen
from screens.modals.alerts import AlertsModal
from screens.modals.form import FormModal
from screens.modals.help import HelpScreen
from screens.modals.score import ScoreModal
from screens.settings import ConsoleSettings
from screens.widgets.alert_bar import AlertBar
from screens.widgets.header_bar import HeaderBar
from tests.console_helpers import FIXED_ID, fill, fixed_root, press_for, settle, until

WIDE = (160, 48)
SCENARIO = "chat-vendor-theft"


@dataclass
class Drill:
    ctx: Context
    runner: ExerciseRunner
    base: FrozenClock  # stands in for the wall clock under the accelerated exercise clock
    clock: AcceleratedClock
    incident: Incident  # the console's own connection to the drill journal, as `warroom exercise run` opens it

    def app(self, settings: ConsoleSettings | None = None) -> Any:
        return build_app(
            self.ctx,
            self.incident,
            self.clock,
            self.runner.org_factory(),
            settings or ConsoleSettings(local_tz="UTC"),
            exercise=True,
            runner=self.runner,
            display_id=FIXED_ID,
            root_display=fixed_root,
        )

    def last(self, kind: str) -> Any:
        return self.incident.journal.last(kind)

    def count(self, kind: str) -> int:
        return sum(1 for _ in self.incident.journal.entries(kind=kind))

    async def fire(self, after: timedelta = timedelta(0)) -> list[str]:
        """Move the wall clock on, then fire what is due from another thread, as the runner's own thread does."""
        self.base.advance(after)
        return [e.data["inject"] for e in await asyncio.to_thread(self.runner.fire_due)]


def _drill(home: Path, keyring: Any, start_orgs: bool, scenario: str = SCENARIO) -> Drill:
    loaded = load_scenario(scenario)
    base = FrozenClock(parse_instant("2030-01-01T00:00:00Z"))
    clock = AcceleratedClock(exercise_start(loaded), speed=60, base=base)
    runner = ExerciseRunner(Workspace(home, clock, keyring), loaded, clock, start_orgs=start_orgs)
    runner.start()
    assert runner.incident is not None
    ctx = Context(home=home, actor="tester", clock=clock, keyring=keyring, exercise=runner)
    return Drill(ctx, runner, base, clock, ctx.open_incident(runner.incident.id))


@pytest.fixture
def drill(home: Path, mem_keyring: Any) -> Iterator[Drill]:
    d = _drill(home, mem_keyring, start_orgs=False)
    yield d
    d.incident.close()
    d.runner.close()


async def test_injects_from_the_runner_reach_the_console_on_the_tick(drill: Drill) -> None:
    app = drill.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        bar = app.screen.query_one(AlertBar)
        assert not bar.has_class("-alerts")
        fired = await drill.fire()
        assert fired  # the scenario's T0 injects
        app._tick()  # the runner's connection reaches no listener here: the tick reads the journal's new entries
        await settle(pilot)
        assert bar.has_class("-alerts") and [a.inject for a in bar.pending] == fired
        assert f"{len(fired)} ALERT" in bar.text().plain
        assert any(n.title.startswith("EXERCISE INJECT T+0m") for n in app._notifications)
        header = app.screen.query_one(HeaderBar)
        assert header.journal_size == drill.incident.journal.head().size

        later = await drill.fire(timedelta(seconds=30))  # 30 s at x60: T+30m
        assert later
        app._tick()
        await settle(pilot)
        assert [a.inject for a in bar.pending] == fired + later
        assert sum(n.title.startswith("EXERCISE INJECT") for n in app._notifications) == len(fired + later)


async def test_alerts_dialog_acknowledges_the_selected_alert(drill: Drill) -> None:
    fired = await drill.fire(timedelta(seconds=30))
    app = drill.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await press_for(pilot, "l", AlertsModal)
        modal = app.screen
        assert [a.inject for a in modal.alerts] == fired
        assert modal.selected().inject == fired[0]  # the oldest unacknowledged first
        assert modal.alerts[0].title in str(modal.query_one("#alert-body").render())
        await press_for(pilot, "y", FormModal)
        await fill(pilot, {"note": "legal has it"})
        entry = drill.last("exercise.ack")
        assert entry.data == {"inject": fired[0], "note": "legal has it"} and entry.actor == "tester"
        await until(pilot, lambda: isinstance(app.screen, AlertsModal) and app.screen.alerts[0].acknowledged)
        assert "1 not acknowledged" in str(modal.query_one("#alerts-title").render())
        await pilot.press("escape")
        await settle(pilot)
        assert [a.inject for a in app.screen.query_one(AlertBar).pending] == fired[1:]


async def test_ack_key_takes_the_oldest_alert_and_the_bar_goes(drill: Drill) -> None:
    fired = await drill.fire()
    app = drill.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        bar = app.screen.query_one(AlertBar)
        assert bar.has_class("-alerts")
        for inject in fired:
            await press_for(pilot, "y", FormModal)
            assert inject in str(app.screen.query_one(".form-title").render())
            await fill(pilot, {})
            assert drill.last("exercise.ack").data == {"inject": inject}
        assert pending_alerts(drill.incident) == []
        assert not bar.has_class("-alerts")
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert any("no unacknowledged alerts" in n.message for n in app._notifications)


async def test_pause_and_speed_are_journaled_and_shown(drill: Drill) -> None:
    app = drill.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        header = app.screen.query_one(HeaderBar)
        assert "EXERCISE x60" in header.render().plain and "PAUSED" not in header.render().plain

        await pilot.press("z")
        await settle(pilot)
        assert drill.runner.paused
        assert drill.last("exercise.clock").data == {
            "change": "pause",
            "paused": True,
            "speed": "60",
            "previous_speed": "60",
            "elapsed": "0m",
        }
        assert "PAUSED" in header.render().plain
        drill.base.advance(timedelta(hours=5))  # nothing moves while paused
        app._tick()
        assert drill.runner.elapsed() == timedelta(0)

        await pilot.press("z")
        await settle(pilot)
        assert not drill.runner.paused and drill.last("exercise.clock").data["change"] == "resume"
        assert "PAUSED" not in header.render().plain

        for _ in range(4):  # 60 -> 120 -> 300 -> 600, then already the fastest
            await pilot.press("plus")
            await settle(pilot)
        assert drill.clock.speed == 600 and "EXERCISE x600" in header.render().plain
        speeds = [
            e.data["speed"]
            for e in drill.incident.journal.entries(kind="exercise.clock")
            if e.data["change"] == "speed"
        ]
        assert speeds == ["120", "300", "600"]
        assert any("already x600" in n.message for n in app._notifications)
        await pilot.press("minus")
        await settle(pilot)
        assert drill.clock.speed == 300 and drill.last("exercise.clock").data["previous_speed"] == "600"
        drill.base.advance(timedelta(seconds=12))  # 12 s at x300: one hour
        assert drill.runner.elapsed() == timedelta(hours=1)
        assert "TIME UP" not in header.render().plain
        drill.base.advance(drill.runner.scenario.length / 300)  # the scenario's whole length, and then some
        app._tick()
        await settle(pilot)
        assert "TIME UP" in header.render().plain and "PAUSED" in header.render().plain
        assert drill.runner.paused  # the score is taken at the scenario's end, not whenever someone gets to it
        assert drill.last("exercise.clock").data["reason"] == "the scenario's time is up"
        assert any("ctrl+e ends the exercise" in n.message for n in app._notifications)


async def test_end_exercise_shows_the_score_and_stores_the_report_once(drill: Drill) -> None:
    await drill.fire(timedelta(seconds=30))
    app = drill.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await press_for(pilot, "ctrl+e", FormModal)
        await pilot.press("escape")  # changed our mind: nothing recorded
        await settle(pilot)
        assert drill.last("exercise.end") is None and isinstance(app.screen, MainScreen)

        await press_for(pilot, "ctrl+e", FormModal)
        await fill(pilot, {"note": "time is up for today"})
        await until(pilot, lambda: isinstance(app.screen, ScoreModal))
        end = drill.last("exercise.end")
        assert end is not None and end.actor == "tester"
        assert drill.last("note").data["text"] == "time is up for today" and drill.last("note").seq < end.seq
        report = drill.last("evidence.acquired")
        assert report.data["name"] == "after-action-report.md" and report.seq > end.seq
        modal = app.screen
        assert modal.total == end.data["score"]["total"] and modal.evidence_id == report.data["evidence_id"]
        assert "# After-action report" in str(modal.query_one("#after-action").render())
        app._tick()
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        header = app.screen.query_one(HeaderBar).render().plain
        assert f"ENDED {end.data['score']['total']}/100" in header and "x60" not in header

        await pilot.press("z")  # the clock no longer matters
        await settle(pilot)
        assert drill.last("exercise.clock") is None
        assert any("has ended" in n.message for n in app._notifications)
    again = tabletop.end_exercise(drill.runner, "tester")  # what the CLI does when the console closes
    assert again.evidence_id == report.data["evidence_id"]
    assert drill.count("exercise.end") == 1


async def test_exercise_keys_are_remappable_and_in_help_and_palette(drill: Drill) -> None:
    await drill.fire()
    app = drill.app(ConsoleSettings(local_tz="UTC", keymap={"exercise.alerts": "w", "exercise.pause": "ctrl+t"}))
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        assert "(w read, y acknowledge)" in app.screen.query_one(AlertBar).text().plain
        await press_for(pilot, "w", AlertsModal)
        await pilot.press("escape")
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert drill.last("exercise.clock").data["change"] == "pause"
        await press_for(pilot, "question_mark", HelpScreen)
        assert "exercise.end" in {b.id for b in app.screen.bindings_list}
        assert "exercise: end" in {name for name, _ in app.screen.commands}
        await pilot.press("escape")

        from textual.command import CommandPalette

        await press_for(pilot, "ctrl+p", CommandPalette)
        await pilot.press(*"exercise: pause")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: drill.last("exercise.clock").data["change"] == "resume")


async def test_a_console_without_an_exercise_has_no_exercise_keys(
    home: Path, clock: FrozenClock, mem_keyring: Any
) -> None:
    from tests.console_helpers import Console, make_context

    ctx = make_context(home, clock, mem_keyring)
    console = Console(ctx, demo.create_demo_incident(ctx), clock)
    app = console.app()
    try:
        async with app.run_test(size=WIDE) as pilot:
            await settle(pilot)
            before = console.incident.journal.head().size
            for key in ("z", "plus", "l", "y", "o", "ctrl+e"):
                await pilot.press(key)
                await settle(pilot)
            assert isinstance(app.screen, MainScreen) and console.incident.journal.head().size == before
            assert not app.screen.query_one(AlertBar).has_class("-alerts")
            assert not any(
                b.binding.action.startswith("exercise_") for b in app.screen.active_bindings.values() if b.enabled
            )
            await press_for(pilot, "question_mark", HelpScreen)
            assert not any(name.startswith("exercise:") for name, _ in app.screen.commands)
    finally:
        console.incident.close()


def test_exercise_console_logs_in_to_the_runners_org(
    home: Path, mem_keyring: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through run_console, as `warroom exercise run` calls it: the pull reaches the exercise's simulated org,
    and the console starts no demo org of its own."""
    import screens.app
    from screens.factory import run_console
    from screens.widgets.inventory_pane import InventoryPane

    def no_demo_org(*_: Any, **__: Any) -> Any:
        raise AssertionError("an exercise console must not start the demo's org")

    monkeypatch.setattr(demo, "start_org", no_demo_org)
    d = _drill(home, mem_keyring, start_orgs=True)
    seen: dict[str, Any] = {}

    async def auto(pilot: Any) -> None:
        app = pilot.app
        seen["alias"] = app.settings.org_alias
        await settle(pilot)
        await pilot.press("p")
        await until(pilot, lambda: d.last("inventory.snapshot") is not None, tries=1000)
        await settle(pilot)
        seen["rows"] = len(app.screen.query_one(InventoryPane).rows)
        app.exit(0)

    def headless_run(self: Any) -> None:
        screens.app.App.run(self, headless=True, size=WIDE, auto_pilot=auto)

    monkeypatch.setattr(screens.app.WarroomApp, "run", headless_run)
    try:
        assert run_console(d.ctx, d.runner.incident.id) == 0
        snap = d.last("inventory.snapshot")
        assert seen["alias"] == "sim" and seen["rows"] > 0
        assert snap.data["source"]["org_alias"] == "sim"
        assert snap.data["source"]["org_id"] == d.runner.orgs["sim"].store.org.id
    finally:
        d.incident.close()
        d.runner.close()


async def test_a_second_org_brought_in_by_an_inject_can_be_pulled(home: Path, mem_keyring: Any) -> None:
    d = _drill(home, mem_keyring, start_orgs=True, scenario="fake-data-loader")
    second = next(i for i in d.runner.scenario.injects if i.add_org is not None)
    alias = second.add_org.alias
    app = d.app()
    try:
        async with app.run_test(size=WIDE) as pilot:
            await settle(pilot)
            await pilot.press("o")
            await settle(pilot)
            assert app.settings.org_alias == "sim" and any(
                "only one simulated org" in n.message for n in app._notifications
            )
            assert second.id in await d.fire(second.offset / 60)  # wall time at x60
            app._tick()
            await settle(pilot)
            assert any(f"simulated org {alias} is running now" in n.message for n in app._notifications)
            await pilot.press("o")
            await settle(pilot)
            assert app.settings.org_alias == alias
            assert f"org {alias}" in app.screen.query_one(HeaderBar).render().plain
            await pilot.press("p")
            await until(pilot, lambda: d.last("inventory.snapshot") is not None, tries=1000)
            await settle(pilot)
            source = d.last("inventory.snapshot").data["source"]
            assert source["org_alias"] == alias and source["org_id"] == d.runner.orgs[alias].store.org.id
            await pilot.press("o")  # and back
            await settle(pilot)
            assert app.settings.org_alias == "sim"
    finally:
        d.incident.close()
        d.runner.close()


async def test_the_day_9_inject_of_a_live_tabletop_reaches_the_alert_bar_through_the_scheduled_run(
    home: Path, mem_keyring: Any
) -> None:
    """The monitoring period played live: the responders open the window from the palette, the console's schedule
    runs the monitoring on the exercise clock, and after the attacker's day-9 inject the next scheduled run puts
    the monitoring alerts in the alert bar beside the inject itself."""
    from app.monitoring import pending_monitor_alerts
    from tests.console_helpers import palette

    d = _drill(home, mem_keyring, start_orgs=True)
    returns = next(i for i in d.runner.scenario.injects if i.id == "attacker-returns")

    async def until_elapsed(offset: timedelta) -> list[str]:
        return await d.fire((offset - d.runner.elapsed()) / d.clock.speed)

    app = d.app(ConsoleSettings(local_tz="UTC", monitor_every_minutes=60))
    try:
        async with app.run_test(size=WIDE) as pilot:
            await settle(pilot)
            await until_elapsed(timedelta(hours=72, minutes=40))
            await palette(pilot, "monitor: start")
            await fill(pilot, {"days": "28", "org": "sim"})
            app._tick()  # the first run is due at once: the baseline
            await until(pilot, lambda: d.count("monitoring.run") == 1)
            await settle(pilot)
            fired = await until_elapsed(returns.offset)
            assert fired == ["attacker-returns"]
            await until_elapsed(returns.offset + timedelta(minutes=5))
            app._tick()  # the runner's inject reaches the console; the next run is due (the last was days ago)
            await until(pilot, lambda: d.count("monitoring.run") == 2)
            await settle(pilot)
            app._tick()
            await settle(pilot)
            run = d.last("monitoring.run").data
            assert run["trigger"] == "console schedule" and run["day"] == 9 and run["status"] == "ok"
            raised = {e.data["type"] for e in d.incident.journal.entries(kind="monitoring.alert")}
            # token_regranted needs a contained app, and nobody contained anything in this drill
            assert raised >= {"login_from_indicator", "new_connected_app", "new_package", "api_enabled_user"}
            bar = app.screen.query_one(AlertBar)
            assert "attacker-returns" in [a.inject for a in bar.pending]
            assert [a.key for a in bar.monitoring] == [a.key for a in pending_monitor_alerts(d.incident)]
            assert len(bar.monitoring) == run["alerts"] > 0
    finally:
        d.incident.close()
        d.runner.close()
