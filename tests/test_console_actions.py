"""Every responder action in the console's command palette ("area: verb"), run through the palette with the
Pilot and judged by what the journal holds afterwards: records, reports, notices, clocks and facts (offline)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.base.clock import FrozenClock
from app.exercise import demo
from screens.commands import COMMANDS
from screens.main import MainScreen
from screens.modals.form import FormModal
from screens.modals.table import TableModal
from screens.modals.text import TextModal, highlighted
from screens.widgets.countdown_pane import CountdownPane
from tests.console_helpers import Console, fill, make_context, palette, settle, until

WIDE = (160, 48)


@pytest.fixture
def console(home: Path, clock: FrozenClock, mem_keyring) -> Iterator[Console]:
    ctx = make_context(home, clock, mem_keyring)
    c = Console(ctx, demo.create_demo_incident(ctx), clock)
    yield c
    c.incident.close()


def kinds_since(console: Console, mark: int) -> list[str]:
    return [e.kind for e in console.incident.journal.entries(since=mark)]


def test_every_palette_command_names_an_area_and_a_screen_action() -> None:
    for name, _text, action in COMMANDS:
        area, _, verb = name.partition(": ")
        assert area and verb and area == area.lower(), name
        method = action.split("(")[0]
        if not method.startswith("app."):
            assert callable(getattr(MainScreen, f"action_{method}", None)), name


async def test_report_is_written_to_the_chosen_path_and_journaled(console: Console, tmp_path: Path) -> None:
    import hashlib

    out = tmp_path / "audit.html"
    app = console.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await palette(pilot, "report: write")
        assert isinstance(app.screen, FormModal)
        await fill(pilot, {"format": "html", "path": str(out)})
        await settle(pilot)
        entry = console.incident.journal.last("report.generated")
        assert entry is not None and entry.data["format"] == "html"
        assert entry.data["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
        assert out.read_text().lstrip().lower().startswith("<!doctype html")


async def test_report_to_a_missing_directory_keeps_the_form_open(console: Console, tmp_path: Path) -> None:
    app = console.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        before = console.incident.journal.head().size
        await palette(pilot, "report: write")
        await fill(pilot, {"format": "md", "path": str(tmp_path / "nowhere" / "r.md")})
        modal = app.screen
        assert isinstance(modal, FormModal)  # still open, with what was typed
        assert "no such directory" in modal.error
        assert modal.values()["path"].endswith("nowhere/r.md")
        assert console.incident.journal.head().size == before


async def test_notice_draft_previews_with_its_gaps_and_is_journaled(console: Console) -> None:
    app = console.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        pane = app.screen.query_one(CountdownPane)
        rule = next(r.rule for r in pane.rows if r.jurisdiction == "EU")
        pane.select(rule)
        await palette(pilot, "notify: draft notice")
        await fill(pilot, {})
        await until(pilot, lambda: isinstance(app.screen, TextModal))
        entry = console.incident.journal.last("notify.drafted")
        assert entry is not None and entry.data["rule"] == rule
        modal = app.screen
        assert isinstance(modal, TextModal)
        assert entry.data["gaps"] and f"{len(entry.data['gaps'])} gap(s)" in modal.summary
        marked = highlighted(modal.text)
        assert modal.text.count("[[GAP:") == len(marked.spans) > 0
        assert all("reverse" in str(span.style) for span in marked.spans)


async def test_custody_event_re_hashes_the_evidence(console: Console, tmp_path: Path) -> None:
    export = tmp_path / "SetupAuditTrail.csv"
    export.write_text("Date,Action\n2026-11-27,changedPassword\n")
    record = console.incident.add_evidence(export, "tester")
    app = console.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await palette(pilot, "evidence: custody")
        await fill(pilot, {"evidence": record.evidence_id, "action": "transferred", "to_party": "outside counsel"})
        entry = console.incident.journal.last("custody.event")
        assert entry is not None
        assert entry.data["evidence_id"] == record.evidence_id and entry.data["action"] == "transferred"
        assert entry.data["match"] is True and entry.data["to_party"] == "outside counsel"


async def test_deadlines_exclude_include_pause_and_resume(console: Console) -> None:
    app = console.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        rule = app.screen.query_one(CountdownPane).rows[0].rule
        journal = console.incident.journal
        await palette(pilot, "deadlines: exclude")
        await fill(pilot, {"rule": rule, "justification": "counsel: no residents there"})
        entry = journal.last("deadline.override")
        assert entry is not None and entry.data["rule"] == rule and entry.data["action"] == "exclude"
        await palette(pilot, "deadlines: include")
        await fill(pilot, {"rule": rule, "justification": "counsel changed their mind"})
        assert journal.last("deadline.override").data["action"] == "include"

        await palette(pilot, "deadlines: pause")
        await fill(pilot, {"requested_by": "FBI SA Example", "justification": "would impede the investigation"})
        pause = journal.last("deadline.pause")
        assert pause is not None and pause.data["requested_by"] == "FBI SA Example"
        await palette(pilot, "deadlines: resume")
        await fill(pilot, {"justification": "the agency lifted the hold"})
        resume = journal.last("deadline.resume")
        assert resume is not None and resume.data["hold_id"] == pause.data["hold_id"]


async def test_a_refused_override_stays_in_the_form(console: Console) -> None:
    app = console.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        before = console.incident.journal.head().size
        await palette(pilot, "deadlines: exclude")
        await fill(pilot, {"rule": "no-such-rule", "justification": "typo"})
        modal = app.screen
        assert isinstance(modal, FormModal) and "no-such-rule" in modal.error
        assert console.incident.journal.head().size == before


async def test_facts_show_current_values_and_a_bad_value_keeps_the_form(console: Console) -> None:
    app = console.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await palette(pilot, "facts: show")
        modal = app.screen
        assert isinstance(modal, TableModal)
        values = {r.key: r.cells[1] for r in modal.result.rows}
        assert values["aware"] == "2026-11-27 07:00:00 UTC"
        assert "US-CA 48,200" in values["residents"]
        await pilot.press("escape")
        await settle(pilot)

        before = console.incident.journal.head().size
        await palette(pilot, "facts: set")
        form = app.screen
        assert isinstance(form, FormModal) and "aware 2026-11-27T07:00:00Z" in form.help_text
        await fill(pilot, {"key": "aware", "value": "yesterday-ish"})
        assert isinstance(app.screen, FormModal) and app.screen.error
        assert console.incident.journal.head().size == before
        form.query_one("#field-value").value = "2026-11-27T06:00:00Z"  # type: ignore[attr-defined]
        form.query_one("#ok").press()
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert console.incident.journal.last("facts.set").data["value"] == "2026-11-27T06:00:00Z"


async def test_exfil_without_a_recorded_hunt_says_what_to_do(console: Console) -> None:
    app = console.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        before = console.incident.journal.head().size
        await palette(pilot, "exfil: what was taken")
        await fill(pilot, {})
        await settle(pilot)
        assert any("no hunt is recorded" in n.message for n in app._notifications)
        assert console.incident.journal.head().size == before
