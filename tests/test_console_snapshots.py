"""SVG snapshots of the main screen (80x24, 160x48) and the containment dialog, with a frozen clock.

Deterministic across machines: the clock is frozen, the local zone is fixed, the incident id and the journal
root (random entry ids) are replaced by fixed text, and the cursor does not blink.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input

from app.base.clock import FrozenClock
from app.exercise import demo
from screens.modals.containment import ContainmentModal
from tests.console_helpers import Console, make_context


@pytest.fixture
def console(home: Path, clock: FrozenClock, mem_keyring):
    ctx = make_context(home, clock, mem_keyring)
    c = Console(ctx, demo.create_demo_incident(ctx), clock)
    yield c
    c.incident.close()


async def _settle(pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_main_screen_80x24(snap_compare, console: Console) -> None:
    assert snap_compare(console.app(), terminal_size=(80, 24), run_before=_settle)


def test_main_screen_160x48(snap_compare, console: Console) -> None:
    assert snap_compare(console.app(), terminal_size=(160, 48), run_before=_settle)


def test_containment_modal(snap_compare, console: Console) -> None:
    steps = [
        f"revoke OAuth token: Drift token of drift-int@acme.example (created 2025-03-02T15:2{i}:00Z)"
        for i in range(5, 9)
    ]

    async def run_before(pilot) -> None:
        await _settle(pilot)
        pilot.app.push_screen(
            ContainmentModal(
                "CA-TEST01 revoke_tokens on sim (4 revoke token)",
                steps,
                "sim",
                ["manual task afterwards: block the Drift connected app (Setup > Connected Apps OAuth Usage)"],
            )
        )
        await pilot.pause()
        alias = pilot.app.screen.query_one("#alias", Input)
        alias.cursor_blink = False
        await pilot.press(*"pro")
        await pilot.pause()

    assert snap_compare(console.app(), terminal_size=(120, 36), run_before=run_before)


def test_facts_table_160x48(snap_compare, console: Console) -> None:
    async def run_before(pilot) -> None:
        await _settle(pilot)
        pilot.app.screen.action_show_facts()
        await _settle(pilot)

    assert snap_compare(console.app(), terminal_size=(160, 48), run_before=run_before)


def test_notice_draft_with_gaps_80x24(snap_compare, console: Console) -> None:
    from screens.modals.text import TextModal

    text = (
        "Notification of a personal data breach (GDPR Art. 33)\n\n"
        "(a) Nature of the breach: OAuth tokens of a chat integration were used to export contacts.\n"
        "(b) Contact point: [[GAP: name and contact details of the DPO]]\n"
        "(c) Likely consequences: [[GAP: likely consequences for the people affected]]\n"
    )

    async def run_before(pilot) -> None:
        await _settle(pilot)
        pilot.app.push_screen(TextModal("Notice to the lead supervisory authority (eu-gdpr-33)", text, "2 gap(s)"))
        await pilot.pause()

    assert snap_compare(console.app(), terminal_size=(80, 24), run_before=run_before)
