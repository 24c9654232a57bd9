"""The executive summary says "unknown" or "not recorded" where the journal cannot say, never zero, and keeps to
one page by listing a bounded number of notices and open items with the count of the rest."""

from __future__ import annotations

from typing import Any

from app.composition.workspace import Workspace
from app.report import build_report
from app.report.summary import executive_summary


def test_a_fresh_incident_reports_unknowns_not_zeros(cli: Any) -> None:
    iid = cli.new("fresh")
    with Workspace(cli.home, cli.clock, cli.keyring).open(iid) as incident:
        report = build_report(incident, "tester")
    assert report.series is not None
    summary = executive_summary(report, report.series)
    figures = {f.label: f for f in summary.figures}
    assert figures["Rows taken"].value == "unknown"
    assert figures["First containment"].value == "none recorded"
    assert figures["Notices sent"].note == "none applies to the facts recorded"
    assert any("not established" in s for s in summary.happened)
    assert summary.taken[0].startswith("Unknown")


def test_lists_are_bounded_and_the_rest_counted(cli: Any) -> None:
    iid = cli.new("with clocks")
    assert cli("facts", "set", "aware", "2026-11-27T09:00:00Z").code == 0
    for code in ("DE", "FR", "GB", "BR", "US-CA", "US-TX", "US-NY", "US-MA"):
        assert cli("facts", "set", f"residents.{code}", "5000").code == 0
    with Workspace(cli.home, cli.clock, cli.keyring).open(iid) as incident:
        report = build_report(incident, "tester")
    assert report.series is not None
    summary = executive_summary(report, report.series, notices_shown=3, open_shown=2)
    assert len(summary.notices) == 3 and summary.notices_more == len(report.series.clocks.bars) - 3
    assert len(summary.still_open) == 2 and summary.open_more == len(report.open_items) - 2
