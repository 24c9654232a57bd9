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


def _series():
    from app.report import series as sr

    attack = sr.AttackTimeline(
        sets=(
            sr.HitSeries(
                "chat-vendor-theft",
                tuple(sr.HourCount(f"2025-08-08T{h:02d}:00:00Z", n) for h, n in ((3, 4), (4, 9), (5, 2), (9, 6))),
                21,
            ),
            sr.HitSeries("fake-data-loader", (sr.HourCount("2025-08-08T04:00:00Z", 3),), 3),
        ),
        hits=24,
        first_utc="2025-08-08T03:12:00Z",
        last_utc="2025-08-08T09:40:00Z",
        undated=1,
    )
    bars = (
        ("EU", "regulator", "2026-11-30T07:00:00Z", None),
        ("US-CA", "individuals", "2026-12-27T07:00:00Z", None),
        ("BR", "regulator", "2026-11-28T07:00:00Z", "2026-11-27T12:00:00Z"),
    )
    clocks = sr.NoticeClocks(
        "2026-11-27T09:00:00Z",
        tuple(
            sr.ClockBar(f"r{i}", j, r, "on_track", "2026-11-27T07:00:00Z", due, sent, False if sent else None)
            for i, (j, r, due, sent) in enumerate(bars)
        ),
    )
    rows = sr.RowsTaken(
        by_object=(sr.RowsBar("Contact", 48200, 0), sr.RowsBar("Account", 9100, 0), sr.RowsBar("Case", 0, 2)),
        by_user=(sr.RowsBar("drift-int@acme.example", 57300, 2),),
    )
    containment = sr.ContainmentSeries(
        "2026-11-27T03:00:00Z",
        "detected",
        (sr.ContainmentPoint("revoke_tokens", "app Drift", "done", "2026-11-27T08:10:00Z", 310),),
    )
    checklist = sr.ChecklistProgress(
        "2026-11-27T09:00:00Z",
        (
            sr.PhaseProgress(
                "detect",
                "Detect and declare",
                5,
                tuple(sr.ProgressPoint(f"2026-11-27T0{h}:00:00Z", n) for h, n in ((4, 1), (6, 3), (8, 5))),
            ),
            sr.PhaseProgress("contain", "Immediate containment", 7, (sr.ProgressPoint("2026-11-27T08:10:00Z", 2),)),
        ),
        True,
    )
    from app.report import token_use as tu

    def address(ip: str, hours: tuple[tuple[int, int], ...]) -> tu.AddressSeries:
        points = tuple(sr.HourCount(f"2025-08-08T{h:02d}:00:00Z", n) for h, n in hours)
        return tu.AddressSeries(ip, points, sum(n for _, n in hours))

    drift = (
        address("208.68.36.90", ((3, 40), (4, 120), (5, 35))),
        address("44.215.108.109", ((4, 12), (9, 60))),
        address("185.220.101.143", ((5, 3),)),
    )
    use = tu.TokenUse(
        apps=(
            tu.AppTokenUse("Drift", 1, drift, 270, 0, 0, "2025-08-08T03:02:00Z", "2025-08-08T09:55:00Z"),
            tu.AppTokenUse(
                "HubSpot",
                1,
                (address("203.0.113.30", ((3, 2), (6, 2), (9, 2))),),
                6,
                0,
                0,
                "2025-08-08T03:00:00Z",
                "2025-08-08T09:00:00Z",
            ),
        ),
        log_types=("API", "RestApi"),
        snapshots=1,
        unattributed=4,
    )
    return sr.Series(attack, clocks, rows, containment, checklist, use)


def _pictures(console: Console):
    from screens.pictures import PicturesScreen

    async def run_before(pilot) -> None:
        await _settle(pilot)
        pilot.app.push_screen(PicturesScreen(_series(), console.clock.now()))
        await pilot.pause()

    return run_before


def _token_use_in_view(console: Console):
    from screens.pictures import PicturesScreen

    async def run_before(pilot) -> None:
        await _pictures(console)(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, PicturesScreen)
        screen.query_one("#chart-token-use").scroll_visible(animate=False, top=True)
        await pilot.pause()

    return run_before


def test_pictures_token_use_80x24(snap_compare, console: Console) -> None:
    """At 80x24 the token-use picture is below the fold: scrolled into view (at 160x48 the whole screen shows)."""
    assert snap_compare(console.app(), terminal_size=(80, 24), run_before=_token_use_in_view(console))


def test_pictures_80x24(snap_compare, console: Console) -> None:
    assert snap_compare(console.app(), terminal_size=(80, 24), run_before=_pictures(console))


def test_pictures_160x48(snap_compare, console: Console) -> None:
    assert snap_compare(console.app(), terminal_size=(160, 48), run_before=_pictures(console))
