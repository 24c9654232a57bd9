"""An unhandled exception in the console: Textual would print a traceback with every frame's local variables;
warroom writes its redacted crash report instead, exits 70 and prints one redacted line."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from app.base import redaction
from app.base.clock import FrozenClock
from app.base.crash import CRASH_DIR, EXIT_SOFTWARE
from app.exercise import demo
from screens.main import MainScreen
from tests.console_helpers import Console, make_context, settle

SECRET = "s3cr3t-Hunter2-passw0rd-9f8e7d6c"
WIDE = (160, 48)


@pytest.fixture
def console(home: Path, clock: FrozenClock, mem_keyring: Any) -> Any:
    ctx = make_context(home, clock, mem_keyring)
    ctx.stdout, ctx.stderr = io.StringIO(), io.StringIO()
    c = Console(ctx, demo.create_demo_incident(ctx), clock)
    yield c
    c.incident.close()


@pytest.fixture
def crashing_note(monkeypatch: pytest.MonkeyPatch) -> None:
    """The note key's handler fails while holding a password in a local variable (as a login helper would)."""
    redaction.register_secret(SECRET)

    def action_add_note(self: MainScreen) -> None:
        password = SECRET
        raise RuntimeError(f"login refused for {password}")

    monkeypatch.setattr(MainScreen, "action_add_note", action_add_note)
    yield
    redaction.forget_secrets()


def _reports(home: Path) -> list[Path]:
    return sorted((home / CRASH_DIR).glob("crash-*.txt"))


async def test_crash_in_a_handler_exits_70_with_a_redacted_report(
    console: Console, crashing_note: None, capfd: pytest.CaptureFixture[str]
) -> None:
    app = console.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await pilot.pause()
    assert app.return_code == EXIT_SOFTWARE
    [report] = _reports(console.ctx.home)
    text = report.read_text(encoding="utf-8")
    assert SECRET not in text
    assert "RuntimeError: login refused for [REDACTED]" in text and "action_add_note" in text
    assert oct(report.stat().st_mode & 0o777) == "0o600"
    assert (
        app.crash_message == f"internal error (RuntimeError: login refused for [REDACTED]); redacted report: {report}"
    )
    out, err = capfd.readouterr()
    printed = out + err + console.ctx.stdout.getvalue() + console.ctx.stderr.getvalue()
    assert SECRET not in printed and "password" not in printed  # no traceback with locals


def test_run_console_prints_one_redacted_line_after_a_crash(
    console: Console, crashing_note: None, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    import screens.app
    from screens.factory import run_console

    async def auto(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("n")

    def headless_run(self: Any) -> None:
        screens.app.App.run(self, headless=True, size=WIDE, auto_pilot=auto)

    monkeypatch.setattr(screens.app.WarroomApp, "run", headless_run)
    ctx = console.ctx
    assert run_console(ctx, console.incident.id) == EXIT_SOFTWARE
    [report] = _reports(ctx.home)
    assert SECRET not in report.read_text(encoding="utf-8")
    assert ctx.stderr.getvalue() == (
        f"warroom: internal error (RuntimeError: login refused for [REDACTED]); redacted report: {report}\n"
    )
    out, err = capfd.readouterr()
    assert SECRET not in out + err + ctx.stdout.getvalue() and "Traceback" not in out + err


async def test_a_failing_background_job_is_reported_and_the_console_stays(
    console: Console, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from screens.actions import ConsoleActions
    from screens.modals.form import FormModal
    from tests.console_helpers import fill, press_for

    redaction.register_secret(SECRET)

    def _ingest(self: Any, path: Path, note: str | None, label: str) -> Any:
        token = SECRET
        raise KeyError(f"no such export for {token}")

    monkeypatch.setattr(ConsoleActions, "_ingest", _ingest)
    export = tmp_path / "LoginHistory.csv"
    export.write_text("UserId,LoginTime\n")
    app = console.app()
    try:
        async with app.run_test(size=WIDE) as pilot:
            await settle(pilot)
            await press_for(pilot, "e", FormModal)
            await fill(pilot, {"path": str(export)})
            [report] = _reports(console.ctx.home)
            failed = [n for n in app._notifications if n.title == "hashing evidence failed"]
            assert [n.message for n in failed] == [
                f"internal error (KeyError: 'no such export for [REDACTED]'); redacted report: {report}"
            ]
            assert SECRET not in report.read_text(encoding="utf-8")
            assert isinstance(app.screen, MainScreen) and app.return_code is None
    finally:
        redaction.forget_secrets()
