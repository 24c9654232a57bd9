"""Reading the console: the selected row's detail in sentences, the next due clock kept in view on a narrow
screen, vim-style movement that never rests on a phase heading, `/` filtering in every pane, the theme kept in
config.toml, and a clear refusal without a terminal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app import checklist as cl
from app.base.config import load_config
from app.base.errors import UsageError
from app.exercise import demo
from screens.main import MainScreen
from screens.settings import ConsoleSettings
from screens.widgets.checklist_pane import ChecklistPane
from screens.widgets.countdown_pane import CountdownPane
from screens.widgets.detail_strip import DetailStrip, NextClock
from tests.console_helpers import Console, make_context, settle

WIDE = (160, 48)
NARROW = (80, 24)


@pytest.fixture
def console(home: Path, clock, mem_keyring) -> Iterator[Console]:
    ctx = make_context(home, clock, mem_keyring)
    c = Console(ctx, demo.create_demo_incident(ctx), clock)
    yield c
    c.incident.close()


def detail(app) -> str:
    return app.screen.query_one(DetailStrip).text


async def test_detail_strip_reads_the_selected_item_and_clock_whole(console: Console) -> None:
    app = console.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        item = app.screen.query_one(ChecklistPane).selected()
        spec = next(i for i in cl.incident_checklist(console.incident).items if i.id == item.id)
        text = detail(app)
        assert spec.title in text and f"Why: {spec.why}" in text
        assert "Steps: (1) " + spec.steps[0] in text and "Evidence needed: " in text
        assert "SOC 2 " + spec.controls.soc2[0] in text and "History: no change recorded yet" in text
        assert "{" not in text and "2026-11-27 " in text and " UTC" in text

        await pilot.press("2")
        await settle(pilot)
        row = app.screen.query_one(CountdownPane).selected()
        timer = app.screen.timers[row.rule]
        text = detail(app)
        assert timer.citation in text and f"Rule: {timer.rule}" in text and "Version: " in text
        assert "Why it applies: " + timer.reason in text


async def test_narrow_screen_keeps_the_next_due_clock_in_view(console: Console) -> None:
    app = console.app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        line = app.screen.query_one(NextClock)
        assert line.display
        soonest = min(
            (r for r in app.screen.query_one(CountdownPane).rows if r.due and not r.notified), key=lambda r: r.due
        )
        assert soonest.jurisdiction in str(line.content) and "next due" in str(line.content)
        await pilot.press("2")
        await settle(pilot)
        assert not line.display  # the countdowns are on screen: no need to repeat the first one


async def test_j_k_move_and_never_rest_on_a_phase_heading(console: Console) -> None:
    app = console.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        pane = app.screen.query_one(ChecklistPane)
        keys = pane.shown_keys
        first_item = next(k for k in keys if not k.startswith("phase:"))
        pane.select(first_item)
        await pilot.pause()
        for _ in range(len(keys)):
            await pilot.press("j")
            await pilot.pause()
            assert pane.selected() is not None, pane.selected_key()
        await pilot.press("k")
        await pilot.pause()
        assert pane.selected() is not None
        before = pane.selected()
        await pilot.press("x")
        await settle(pilot)
        state = console.incident.journal.get_state("checklist", before.id)
        assert state is not None and state["state"] == "done"


async def test_slash_filters_the_pane_in_view(console: Console) -> None:
    app = console.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await pilot.press(*"freeze")
        await pilot.pause()
        pane = app.screen.query_one(ChecklistPane)
        items = [k for k in pane.shown_keys if not k.startswith("phase:")]
        assert items and all("freeze" in pane.items[k].title.lower() for k in items)
        await pilot.press("enter", "escape")
        await pilot.pause()
        assert len(pane.shown_keys) > len(items) + 1

        await pilot.press("2", "slash", *"US-", "enter")
        await pilot.pause()
        clocks = app.screen.query_one(CountdownPane)
        shown = [r.jurisdiction for r in clocks._visible]
        assert shown and all(j.startswith("US-") for j in shown)
        assert clocks.table.row_count == len(shown)
        app._tick()  # the tick redraws only the rows shown
        await pilot.pause()


async def test_theme_is_saved_in_config_toml_and_used_again(console: Console) -> None:
    app = console.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        app.theme = "nord"
        await settle(pilot)
    assert (load_config(console.ctx.home).model_extra or {})["console"]["theme"] == "nord"
    again = console.app(settings=ConsoleSettings.load(console.ctx.home))
    async with again.run_test(size=WIDE) as pilot:
        await settle(pilot)
        assert again.theme == "nord"
        assert isinstance(again.screen, MainScreen)


def test_without_a_terminal_the_console_says_so(console: Console) -> None:
    app = console.app()
    with pytest.raises(UsageError, match="needs a terminal"):
        app.run()


async def test_a_missing_file_keeps_the_evidence_form_open(console: Console, tmp_path: Path) -> None:
    from screens.modals.form import FormModal
    from tests.console_helpers import fill, press_for

    app = console.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        before = console.incident.journal.head().size
        await press_for(pilot, "e", FormModal)
        await fill(pilot, {"path": str(tmp_path / "LoginHistory.csv"), "note": "from Setup"})
        form = app.screen
        assert isinstance(form, FormModal) and "no such file" in form.error and "Errno" not in form.error
        assert form.values()["note"] == "from Setup"  # nothing typed is lost
        assert console.incident.journal.head().size == before


async def test_timeline_reads_in_words_with_fact_values(console: Console) -> None:
    from screens.timeline import TimelineScreen, summary

    console.incident.checkpoint("tester")
    app = console.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("f")
        from tests.console_helpers import fill

        await fill(pilot, {"key": "aware", "value": "2026-11-27T06:00:00Z"})
        await pilot.press("t")
        await settle(pilot)
        assert isinstance(app.screen, TimelineScreen)
        lines = [summary(e) for e in console.incident.journal.entries()]
        assert not [line for line in lines if "{" in line or '":' in line], lines
        fact = summary(console.incident.journal.last("facts.set"))
        assert "2026-11-27T06:00:00Z" in fact and "(was 2026-11-27T07:00:00Z)" in fact


async def test_appends_are_verified_against_the_last_verified_head(console: Console) -> None:
    from screens.widgets.header_bar import HeaderBar

    app = console.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        assert app.last_verify is not None and app.last_verify.scope == "full"  # at open: every entry
        await pilot.press("x")
        await settle(pilot)
        head = console.incident.journal.head()
        assert app.last_verify.scope == "tail" and app.last_verify.ok
        assert app.last_verify.size == head.size and app.last_verify.root == head.root_hex
        assert app.screen.query_one(HeaderBar).verify.status == "ok"
        await pilot.press("v")  # on demand: the full re-verification
        await settle(pilot)
        assert app.last_verify.scope == "full" and app.last_verify.size == head.size
