"""The enhanced monitoring window in the console: opened from the palette, run on the console's schedule (driven by
the injected clock through the app's tick, never by sleeping) only while a window is open, run now by hand, its
alerts in the alert bar until acknowledged; every step asserted on the journal."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from app.base.clock import FrozenClock
from app.composition.verification import verify as verify_journal
from app.exercise import demo
from app.simorg import SimOrg
from screens.modals.table import TableModal
from screens.settings import ConsoleSettings
from screens.widgets.alert_bar import AlertBar
from tests.console_helpers import Console, demo_console, fill, palette, settle, until

ACTOR_IP = "208.68.36.90"  # in the shipped chat-vendor-theft indicator set


@pytest.fixture
def console(home: Path, clock: FrozenClock, mem_keyring: Any) -> Iterator[Console]:
    with demo_console(home, clock, mem_keyring) as c:
        yield c


@pytest.fixture
def sim(console: Console, tmp_path: Path) -> Iterator[SimOrg]:
    """The chat-vendor-theft org the console monitors (its shipped indicator set names ACTOR_IP)."""
    with SimOrg.start("chat-vendor-theft", clock=console.clock, cert_dir=tmp_path / "cert") as org:
        yield org


def _runs(console: Console) -> list[dict[str, Any]]:
    return [e.data for e in console.incident.journal.entries(kind="monitoring.run")]


async def _tick(pilot: Any) -> None:
    """One tick of the console's clock (what its one-second interval calls), then wait for the work it started."""
    pilot.app._tick()
    await settle(pilot)


async def test_the_console_runs_the_monitoring_on_its_schedule_and_shows_the_alerts(
    console: Console, sim: SimOrg
) -> None:
    settings = ConsoleSettings(local_tz="Europe/Paris", monitor_every_minutes=60)
    app = console.app(settings, org_factory=demo.sim_factory(sim, "sim"))
    clock = console.clock
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        clock.advance(timedelta(hours=3))
        await _tick(pilot)
        assert _runs(console) == []  # no window open: nothing runs

        await palette(pilot, "monitor: start")
        await fill(pilot, {"days": "x"})  # refused in the dialog, which stays open
        assert "not a whole number" in pilot.app.screen.error
        await fill(pilot, {"days": "28", "org": "sim"})
        window = console.incident.journal.last("monitoring.window")
        assert window is not None and window.data["days"] == 28 and window.data["org_alias"] == "sim"
        assert window.actor == "tester"

        await _tick(pilot)  # the first run is due at once: the baseline
        runs = _runs(console)
        assert len(runs) == 1 and runs[0]["trigger"] == "console schedule" and runs[0]["baseline"] is True
        clock.advance(timedelta(minutes=59))
        await _tick(pilot)
        assert len(_runs(console)) == 1  # not due yet

        now = clock.now()
        sim.inject(
            {
                "login_history": [
                    {"user": "drift_int", "at": now.isoformat(), "ip": ACTOR_IP, "application": "Drift"},
                ],
                "connected_apps": [{"key": "sync_pro", "name": "Salesforce Data Sync Pro", "created": now.isoformat()}],
            },
            origin="test",
        )
        clock.advance(timedelta(minutes=2))
        await _tick(pilot)
        runs = _runs(console)
        assert len(runs) == 2 and runs[1]["status"] == "ok" and runs[1]["trigger"] == "console schedule"
        alerts = [e.data for e in console.incident.journal.entries(kind="monitoring.alert")]
        types = {a["type"] for a in alerts}
        assert {"login_from_indicator", "new_connected_app"} <= types
        assert all(a["run"] == 2 for a in alerts)
        bar = app.screen.query_one(AlertBar)
        assert len(bar.monitoring) == len(alerts)
        assert f"{len(alerts)} ALERT" in bar.text().plain and "MONITORING" in bar.text().plain

        await palette(pilot, "monitor: acknowledge alert")
        await fill(pilot, {"note": "kim looks into it"})
        ack = console.incident.journal.last("monitoring.ack")
        assert ack is not None and ack.data["key"] == alerts[0]["key"] and ack.data["note"] == "kim looks into it"
        assert len(bar.monitoring) == len(alerts) - 1

        await palette(pilot, "monitor: run now")
        await settle(pilot)
        runs = _runs(console)
        assert len(runs) == 3 and runs[2]["trigger"] == "console" and runs[2]["alerts"] == 0

        await palette(pilot, "monitor: status")
        await until(pilot, lambda: isinstance(pilot.app.screen, TableModal))
        modal = pilot.app.screen
        assert len(modal.result.rows) == len(alerts)
        assert any("Runs: 3" in n for n in modal.result.notes)
        await pilot.press("escape")

    verdict = verify_journal(console.incident.journal.path)
    assert verdict.ok, verdict.message


async def test_no_scheduled_run_after_the_window_has_ended(console: Console, sim: SimOrg) -> None:
    from app.monitoring import start_window

    start_window(console.incident, 1, "sim", "tester")
    app = console.app(org_factory=demo.sim_factory(sim, "sim"))
    async with app.run_test(size=(160, 48)) as pilot:
        await _tick(pilot)
        assert len(_runs(console)) == 1  # the window is open: the baseline runs at once
        size = console.incident.journal.head().size
        console.clock.advance(timedelta(days=1, minutes=1))
        await _tick(pilot)
        await _tick(pilot)
        assert console.incident.journal.head().size == size  # ended: nothing run, nothing journaled
