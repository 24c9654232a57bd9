"""The console on a team incident: the timeline is the merged view, each row naming the responder it came from."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable

from screens.timeline import TimelineScreen
from tests.console_helpers import Console, make_context, press_for, settle
from tests.team_helpers import Team

WIDE = (160, 48)


async def test_timeline_shows_every_responders_entries_with_their_origin(tmp_path: Path) -> None:
    team = Team(tmp_path)
    team.ok(team.bob, "note", "admin: connected app found")
    team.tick()
    team.ok(team.alice, "checklist", "set", "detect.commander", "blocked", "--note", "legal first")
    team.tick()
    team.ok(team.carol, "checklist", "set", "detect.commander", "done", "--note", "named")
    team.sync_all()
    carol = team.carol.cli
    ctx = make_context(carol.home, team.clock, carol.keyring)
    ctx.actor = "carol"
    console = Console(ctx, ctx.open_incident(team.incident), team.clock)
    journal = console.incident.journal
    try:
        app = console.app()
        async with app.run_test(size=WIDE) as pilot:
            await settle(pilot)
            await press_for(pilot, "t", TimelineScreen)
            table = app.screen.query_one(DataTable)
            size, _root = journal.merged_head()
            assert table.row_count == size > journal.head().size
            bob_note = next(e for e in journal.entries(kind="note") if e.data["text"] == "admin: connected app found")
            row = table.get_row(str(bob_note.seq))
            assert row[2] == "bob" == journal.origin_name(bob_note.seq)
            origins = {str(table.get_row_at(i)[2]) for i in range(table.row_count)}
            assert origins == {"alice", "bob", "carol"}
            status = str(app.screen.query_one("#timeline-status").render())
            assert "merged view of 3 responder(s)" in status and "1 conflicting change(s)" in status
            # carol's own later change is the one the merged state keeps
            assert journal.get_state("checklist", "detect.commander")["state"] == "done"

            # bob writes and syncs; carol syncs from another terminal: the open timeline follows
            team.tick()
            team.ok(team.bob, "note", "admin: sessions ended")
            team.sync(team.bob)
            team.sync(team.carol)
            app._poll_journal()
            await settle(pilot)
            table = app.screen.query_one(DataTable)
            newest = next(e for e in journal.entries(kind="note") if e.data["text"] == "admin: sessions ended")
            assert table.row_count == journal.merged_head()[0] == size + 1
            assert table.get_row(str(newest.seq))[2] == "bob"
            await pilot.press("escape")
    finally:
        console.incident.close()
