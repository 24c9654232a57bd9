"""The series behind the report's pictures, checked against the journal they come from: every hunt hit placed in
its hour of event time, every applicable clock with its sent time, the exfiltration table's rows summed without
turning unknown counts into numbers, containment measured from detection, and checklist progress replayed."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from app.base.clock import parse_instant
from app.exercise.runner import exercise_start, load_scenario
from app.hunt import exfiltration_rows
from app.report import series as S
from tests.report_helpers import PlayedDemo, play_demo

_LOADED = load_scenario("chat-vendor-theft")
AS_OF = exercise_start(_LOADED) + _LOADED.scenario.length  # the scenario's end


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> PlayedDemo:
    return play_demo(tmp_path_factory.mktemp("series"))


def test_attack_timeline_counts_every_hit_in_its_event_hour(demo: PlayedDemo) -> None:
    with demo.incident() as incident:
        hits = list(incident.journal.entries(kind="hunt.hit"))
        tl = S.attack_timeline(incident)
    assert hits, "the scenario's hunt records hits"
    expected: dict[str, Counter[str]] = {}  # a hit counts once in each indicator set that matched it
    for h in hits:
        hour = parse_instant(h.data["at"]).strftime("%Y-%m-%dT%H:00:00Z")
        for name in {i.split("/", 1)[0] for i in h.data["indicators"]}:
            expected.setdefault(name, Counter())[hour] += 1
    assert "chat-vendor-theft" in expected
    assert {s.indicator_set: {p.hour_utc: p.count for p in s.hours} for s in tl.sets} == {
        name: dict(c) for name, c in expected.items()
    }
    assert {s.indicator_set: s.total for s in tl.sets} == {name: sum(c.values()) for name, c in expected.items()}
    assert tl.hits == len(hits) and tl.undated == 0
    assert tl.first_utc == min(h.data["at"] for h in hits)


def test_clocks_carry_due_and_sent_times(demo: PlayedDemo) -> None:
    with demo.incident() as incident:
        sent = {e.data["rule"]: e.data["at"] for e in incident.journal.entries(kind="notification.sent")}
        clocks = S.notice_clocks(incident, AS_OF)
    by_rule = {b.rule: b for b in clocks.bars}
    assert sent and set(sent) <= set(by_rule)
    for rule, at in sent.items():
        assert by_rule[rule].sent_utc == at and by_rule[rule].late is False
    dues = [b.due_utc for b in clocks.bars if b.due_utc]
    assert dues == sorted(dues)


def test_rows_taken_sum_the_exfiltration_table(demo: PlayedDemo) -> None:
    with demo.incident() as incident:
        table = exfiltration_rows(incident)
        rows = S.rows_taken(incident)
    per_object: Counter[str] = Counter()
    unknown: Counter[str] = Counter()
    for r in table:
        per_object[r.object] += r.rows or 0
        unknown[r.object] += len(r.rows_unknown) + (r.rows is None)
    assert {b.label: b.rows for b in rows.by_object} == dict(per_object)
    assert {b.label: b.unknown_reads for b in rows.by_object} == dict(unknown)
    assert any(b.unknown_reads for b in rows.by_object), "the Bulk API download has no row count"
    assert sum(b.rows for b in rows.by_user) == sum(per_object.values())


def test_containment_is_measured_from_detection(demo: PlayedDemo) -> None:
    with demo.incident() as incident:
        results = list(incident.journal.entries(kind="action.result"))
        cs = S.containment_over_time(incident)
    assert cs.origin_basis == "detected" and cs.origin_utc
    origin = parse_instant(cs.origin_utc)
    assert len([p for p in cs.points if not p.action.startswith("manual")]) == len(results)
    for p in cs.points:
        assert origin + timedelta(minutes=p.minutes_from_origin or 0) <= parse_instant(p.at_utc)
    assert [p.at_utc for p in cs.points] == sorted(p.at_utc for p in cs.points)


def test_checklist_progress_replays_state_changes(demo: PlayedDemo) -> None:
    from app import checklist as cl

    with demo.incident() as incident:
        progress = S.checklist_progress(incident, AS_OF)
        status = cl.checklist_status(incident, cl.incident_checklist(incident), AS_OF)
    assert progress.available
    final = {p.phase: (p.points[-1].done if p.points else 0) for p in progress.phases}
    assert final == {ph.id: ph.done for ph in status.phases}
    assert {p.phase: p.total for p in progress.phases} == {ph.id: ph.total for ph in status.phases}
    with demo.incident() as incident:
        before = S.checklist_progress(incident, parse_instant("2025-08-20T09:00:00Z"))
    assert all(not p.points for p in before.phases)


def test_no_hits_no_exfil_no_containment_on_a_fresh_incident(cli: Any, home: Path) -> None:
    from app.composition.workspace import Workspace

    iid = cli.new("fresh")
    with Workspace(cli.home, cli.clock, cli.keyring).open(iid) as incident:
        s = S.compute_series(incident, cli.clock.now())
    assert s.attack.sets == () and s.attack.first_utc is None
    assert s.rows.by_object == () and s.containment.points == ()
    assert s.containment.origin_basis in ("detected", "aware", "declared", None)


def test_unusable_journaled_times_are_passed_over_not_trusted(cli: Any) -> None:
    from app.composition.workspace import Workspace

    iid = cli.new("old values")
    with Workspace(cli.home, cli.clock, cli.keyring).open(iid) as incident:
        incident.journal.append("incident.update", {"detected": "205-08-12T10:00:00Z"}, "tester")
        incident.journal.append(
            "hunt.hit",
            {"key": "x:1", "evidence_id": "x", "line": 1, "at": "yesterday", "indicators": ["s/ip#1: 192.0.2.1"]},
            "tester",
        )
        cs = S.containment_over_time(incident)
        tl = S.attack_timeline(incident)
    assert cs.origin_basis in ("aware", "declared", None) and cs.origin_basis != "detected"
    assert tl.undated == 1 and tl.sets == ()
    assert cli("report", "--format", "html").code == 0
