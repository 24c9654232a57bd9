"""Pilot tests of the war-room console: every action journals first, then the panes show it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input

from app.base.clock import FrozenClock
from app.checklist import NAMESPACE as CHECKLIST_NS
from app.exercise import demo
from screens.main import MainScreen
from screens.modals.anchor import AnchorModal
from screens.modals.containment import ContainmentModal
from screens.modals.form import FormModal
from screens.modals.help import HelpScreen
from screens.settings import ConsoleSettings
from screens.timeline import TimelineScreen
from screens.widgets.activity_bar import ActivityBar
from screens.widgets.checklist_pane import ChecklistPane
from screens.widgets.countdown_pane import CountdownPane, CountdownRow, urgency
from screens.widgets.header_bar import HeaderBar
from tests.console_helpers import Console, fill, make_context, press_for, settle, until

WIDE = (160, 48)
NARROW = (80, 24)


@pytest.fixture
def console(home: Path, clock: FrozenClock, mem_keyring) -> Iterator[Console]:
    ctx = make_context(home, clock, mem_keyring)
    incident = demo.create_demo_incident(ctx)
    c = Console(ctx, incident, clock)
    yield c
    c.incident.close()


def last(console: Console, kind: str):
    return console.incident.journal.last(kind)


async def test_main_screen_shows_three_panes_side_by_side(console: Console) -> None:
    app = console.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        assert not screen.has_class("-narrow")
        for pane in ("#checklist", "#countdowns", "#inventory"):
            assert screen.query_one(pane).display
        checklist = screen.query_one(ChecklistPane)
        assert checklist.phases and checklist.selected() is not None and checklist.selected().is_next
        countdowns = screen.query_one(CountdownPane)
        assert any(r.jurisdiction == "EU" and r.due is not None for r in countdowns.rows)
        header = screen.query_one(HeaderBar)
        assert header.verify.status == "ok"
        assert "T+01:30:00" in header.render().plain


async def test_narrow_terminal_shows_one_pane_with_tabs(console: Console) -> None:
    app = console.app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        screen = app.screen
        assert screen.has_class("-narrow")
        assert screen.query_one("#pane-tabs").display
        await pilot.press("2")
        await pilot.pause()
        shown = [p.id for p in screen.query("#panes > *") if p.styles.display != "none"]
        assert shown == ["countdowns"]


async def test_tick_item_journals_then_shows_done(console: Console) -> None:
    app = console.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        item = app.screen.query_one(ChecklistPane).selected()
        await pilot.press("x")
        await settle(pilot)
        entry = last(console, "checklist.state")
        assert entry.data["item"] == item.id and entry.data["state"] == "done" and entry.actor == "tester"
        assert app.screen.query_one(ChecklistPane).items[item.id].state == "done"
        await pilot.press("x")  # again: reopened, also journaled
        await settle(pilot)
        assert last(console, "checklist.state").data["state"] == "todo"


async def test_set_state_with_note_and_evidence_file(console: Console, tmp_path: Path) -> None:
    proof = tmp_path / "commander.txt"
    proof.write_text("IC: A. Responder, appointed 09:05Z\n")
    app = console.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        item = app.screen.query_one(ChecklistPane).selected()
        await press_for(pilot, "s", FormModal)
        await fill(pilot, {"state": "blocked", "note": "waiting for the vendor", "evidence": str(proof)})
        acquired = last(console, "evidence.acquired")
        state = last(console, "checklist.state")
        assert acquired.seq < state.seq  # the file is in the store before the state cites it
        assert state.data == {
            "item": item.id,
            "state": "blocked",
            "previous": "todo",
            "note": "waiting for the vendor",
            "evidence": [acquired.data["evidence_id"]],
            "reason": "waiting for the vendor",
        }
        shown = app.screen.query_one(ChecklistPane).items[item.id]
        assert shown.state == "blocked" and shown.evidence == 1


async def test_not_applicable_without_reason_is_refused(console: Console) -> None:
    app = console.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        before = console.incident.journal.head().size
        await press_for(pilot, "s", FormModal)
        await fill(pilot, {"state": "not_applicable"})
        assert console.incident.journal.head().size == before
        assert any("reason" in n.message for n in app._notifications)


async def test_add_note(console: Console) -> None:
    app = console.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await press_for(pilot, "n", FormModal)
        await pilot.press(*"vendor confirmed the token theft")
        await pilot.press("enter")
        await settle(pilot)
        assert last(console, "note").data == {"text": "vendor confirmed the token theft"}
        assert isinstance(app.screen, MainScreen)


async def test_add_evidence_hashes_in_a_worker(console: Console, tmp_path: Path) -> None:
    export = tmp_path / "LoginHistory.csv"
    export.write_bytes(b"UserId,LoginTime,SourceIp\n" * 50_000)
    app = console.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await press_for(pilot, "e", FormModal)
        await fill(pilot, {"path": str(export), "note": "from Setup"})
        entry = last(console, "evidence.acquired")
        assert entry.data["name"] == "LoginHistory.csv" and entry.data["size"] == export.stat().st_size
        assert entry.data["note"] == "from Setup"
        assert not app.screen.query_one(ActivityBar).has_class("-busy")
        assert console.incident.evidence.path_for(entry.data["sha256"]).is_file()


async def test_set_fact_changes_countdowns(console: Console) -> None:
    app = console.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        pane = app.screen.query_one(CountdownPane)
        assert not any(r.jurisdiction == "JP" for r in pane.rows)
        eu_due = next(r.due for r in pane.rows if r.jurisdiction == "EU" and r.due)
        await press_for(pilot, "f", FormModal)
        await fill(pilot, {"key": "aware", "value": "2026-11-27T05:00:00Z"})
        entry = last(console, "facts.set")
        assert entry.data == {"key": "aware", "value": "2026-11-27T05:00:00Z", "previous": "2026-11-27T07:00:00Z"}
        new_due = next(r.due for r in pane.rows if r.jurisdiction == "EU" and r.due)
        assert (eu_due - new_due).total_seconds() == 2 * 3600


async def test_mark_notice_sent_shows_check(console: Console, tmp_path: Path) -> None:
    letter = tmp_path / "eu-notice.pdf"
    letter.write_bytes(b"%PDF-1.7 notice to the lead supervisory authority")
    app = console.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        pane = app.screen.query_one(CountdownPane)
        rule = pane.rows[0].rule
        await pilot.press("2")
        await press_for(pilot, "m", FormModal)
        await fill(pilot, {"evidence": str(letter)})
        entry = last(console, "notification.sent")
        assert entry.data["rule"] == rule and entry.data["at"] == "2026-11-27T09:00:00Z"
        row = next(r for r in pane.rows if r.rule == rule)
        assert row.notified
        assert urgency(row, console.clock.now())[0] == "✓"
        assert "✓" in str(pane.table.cell(rule, "mark"))


async def test_clocks_tick_from_the_injected_clock(console: Console) -> None:
    app = console.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        pane = app.screen.query_one(CountdownPane)
        row = next(r for r in pane.rows if r.due)
        before = str(pane.table.cell(row.key, "left"))
        console.clock.advance(__import__("datetime").timedelta(hours=1))
        app._tick()
        await pilot.pause()
        after = str(pane.table.cell(row.key, "left"))
        assert before != after
        assert "T+02:30:00" in app.screen.query_one(HeaderBar).render().plain


def test_urgency_has_text_marks_for_monochrome() -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 11, 27, tzinfo=UTC)

    def mark(**kw) -> str:
        return urgency(CountdownRow("r", "EU", "regulator", **kw), now)[0]

    assert mark(due=now - timedelta(minutes=1)) == "!!!"
    assert mark(due=now + timedelta(hours=3)) == "!!"
    assert mark(due=now + timedelta(hours=20)) == "!"
    assert mark(due=now + timedelta(days=3)) == ""
    assert mark(due=now, notified=True) == "✓"


async def test_timeline_and_verify(console: Console) -> None:
    app = console.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await press_for(pilot, "t", TimelineScreen)
        table = app.screen.query_one(DataTable)
        assert table.row_count == console.incident.journal.head().size
        app.last_verify = None
        await pilot.press("v")
        await until(pilot, lambda: app.last_verify is not None)
        await settle(pilot)
        assert app.last_verify.ok
        assert "verified" in str(app.screen.query_one("#timeline-status").render())
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_anchor_is_journaled_and_shown(console: Console) -> None:
    app = console.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        head = console.incident.journal.head()
        await press_for(pilot, "a", AnchorModal)
        entry = last(console, "anchor.made")
        assert entry.data["tree_size"] == head.size and entry.data["root"] == head.root_hex
        assert isinstance(app.screen, AnchorModal)
        await pilot.press("escape")


async def test_restart_restores_the_same_view(console: Console) -> None:
    app = console.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("x")
        await pilot.press("down", "down")
        await settle(pilot)
        states = console.incident.journal.state(CHECKLIST_NS)
        cursor = app.screen.query_one(ChecklistPane).selected_key()
        await pilot.press("2")
        await pilot.pause()
    again = console.reopen()
    app2 = again.app()
    async with app2.run_test(size=WIDE) as pilot:
        await settle(pilot)
        screen = app2.screen
        assert screen.active_pane == "countdowns"
        assert screen.query_one(ChecklistPane).selected_key() == cursor
        assert again.incident.journal.state(CHECKLIST_NS) == states
        shown = {i.id: i.state for i in screen.query_one(ChecklistPane).items.values()}
        assert all(shown[k] == v["state"] for k, v in states.items())
    console.incident = again.incident


async def test_keys_are_remappable_by_binding_id(console: Console) -> None:
    app = console.app(ConsoleSettings(keymap={"checklist.tick": "z"}, local_tz="UTC"))
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        assert last(console, "checklist.state") is None
        await pilot.press("z")
        await settle(pilot)
        assert last(console, "checklist.state").data["state"] == "done"
        await press_for(pilot, "question_mark", HelpScreen)
        assert app.screen.keymap["checklist.tick"] == "z"


async def test_command_palette_runs_area_verb_commands(console: Console) -> None:
    app = console.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        from textual.command import CommandPalette

        await press_for(pilot, "ctrl+p", CommandPalette)
        await pilot.press(*"journal: anchor")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: last(console, "anchor.made") is not None)


async def test_append_from_a_worker_thread_refreshes_the_panes(console: Console) -> None:
    app = console.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        import asyncio

        await asyncio.to_thread(console.incident.note, "from another thread", "tester")
        await settle(pilot)
        header = app.screen.query_one(HeaderBar)
        assert header.journal_size == console.incident.journal.head().size


async def test_containment_modal_requires_the_typed_alias() -> None:
    from textual.app import App

    results: list[str | None] = []

    class Host(App[None]):
        def on_mount(self) -> None:
            self.push_screen(
                ContainmentModal("revoke tokens of ChatVendor", ["revoke 3 tokens"], "sim"), results.append
            )

    app = Host()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        await pilot.press(*"prod", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ContainmentModal) and not results
        assert "nothing applied" in str(app.screen.query_one("#refused").render())
        app.screen.query_one("#alias", Input).value = ""
        await pilot.press(*"sim", "enter")
        await pilot.pause()
        assert results == ["sim"]


def test_cli_demo_open_and_default_reach_the_console(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str | None, bool]] = []

    def fake_run_console(ctx, incident_id=None, demo=False) -> int:
        calls.append((incident_id, demo))
        return 0

    import screens.factory

    monkeypatch.setattr(screens.factory, "run_console", fake_run_console)
    cli.terminal = True
    assert cli("demo").code == 0
    assert cli("open", "INC-20261127-ABCD").code == 0
    assert cli().code == 0
    assert calls == [(None, True), ("INC-20261127-ABCD", False), (None, False)]


def test_run_console_opens_the_demo_when_there_is_no_incident(
    home: Path, clock: FrozenClock, mem_keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    import screens.app
    from screens.factory import run_console

    seen: dict[str, object] = {}

    def fake_run(self) -> None:
        seen["title"] = self.incident.title
        seen["exercise"] = self.exercise
        seen["org"] = self.org_factory is not None

    monkeypatch.setattr(screens.app.WarroomApp, "run", fake_run)
    ctx = make_context(home, clock, mem_keyring)
    assert run_console(ctx) == 0
    assert seen == {"title": demo.DEMO_TITLE, "exercise": True, "org": True}
    assert len(ctx.workspace.list()) == 1
    assert run_console(ctx) == 0  # the most recent incident now, not a second demo
    assert len(ctx.workspace.list()) == 1
