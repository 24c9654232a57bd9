"""A war room as a team: three responders' journals kept in step through a real bare git repository."""

from __future__ import annotations

from pathlib import Path

from tests.team_helpers import Team


def merged(team: Team, name: str):
    with team.open(team.people[name]) as incident:
        journal = incident.journal
        size, root = journal.merged_head()
        state = {ns: journal.state(ns) for ns in ("incident", "checklist", "team.responder", "containment")}
        origins = [journal.origin_name(e.seq) for e in journal.entries()]
        return size, root.hex(), state, origins


def test_three_responders_converge(tmp_path: Path) -> None:
    team = Team(tmp_path)
    team.ok(team.alice, "note", "commander: bridge open")
    team.tick()
    team.ok(team.bob, "note", "admin: looking at connected apps")
    team.ok(team.carol, "note", "analyst: collecting logs")
    team.sync_all()
    views = [merged(team, n) for n in ("alice", "bob", "carol")]
    assert views[0][:3] == views[1][:3] == views[2][:3]
    _size, _root, state, origins = views[0]
    assert {"alice", "bob", "carol"} <= set(origins)
    assert {r["name"] for r in state["team.responder"].values()} == {"alice", "bob", "carol"}
    assert state["incident"]["title"] == "Chat vendor token theft"
