"""Done when: three responders on the demo incident end with the same merged state and report after syncing."""

from __future__ import annotations

from pathlib import Path

from app.composition.context import Context
from app.exercise import demo
from tests.team_helpers import Team


def test_three_responders_on_the_demo_incident_end_identical(tmp_path: Path) -> None:
    from app.report.contents import build_report

    team = Team(tmp_path, declare=False)
    alice = team.alice.cli
    ctx = Context(home=alice.home, actor="alice", clock=team.clock, keyring=alice.keyring)
    with demo.create_demo_incident(ctx) as incident:
        team.incident = incident.id
    team.enlist()
    team.sync_all()
    team.tick()
    team.ok(team.alice, "checklist", "set", "detect.commander", "done", "--note", "alice commands")
    team.ok(team.bob, "facts", "set", "residents.US-CA", "1200")
    team.ok(team.carol, "note", "analyst: event log files preserved")
    team.tick(30)
    team.ok(team.carol, "checklist", "set", "detect.indicators", "in_progress", "--note", "scoping")
    team.sync_all()

    states, reports, sizes = [], [], []
    for person in team.people.values():
        with team.open(person) as incident:
            journal = incident.journal
            namespaces = {row[0] for row in journal.connection.execute("SELECT DISTINCT ns FROM state")}
            view = journal._merged()
            namespaces |= set(view.state)
            # `journal` is this laptop's own chain (its checkpoints and anchors): the one part that differs
            states.append({ns: journal.state(ns) for ns in sorted(namespaces) if ns != "journal"})
            sizes.append(journal.merged_head())
            report = build_report(incident, "auditor").model_dump(mode="json")
            report.pop("journal")  # this laptop's own chain: its id, size and root
            report.pop("report_sha256")  # covers the journal section too
            reports.append(report)
    assert sizes[0] == sizes[1] == sizes[2]
    assert states[0] == states[1] == states[2]
    assert states[0]["facts"]["residents.US-CA"] and states[0]["checklist"]["detect.commander"]["state"] == "done"
    assert {t["origin"] for t in reports[0]["timeline"]} == {"alice", "bob", "carol"}
    shown = team.ok(team.carol, "report", "--format", "md")
    assert "analyst: event log files preserved" in shown and "carol (on carol's laptop)" in shown
    for key in reports[0]:
        assert reports[0][key] == reports[1][key] == reports[2][key], key
