"""Collection says what it did not do: failed and refused items make the run `partial` (exit 1) with each item
and why; a refusal or a fault is never recorded as an edition limit; an interrupted run (API limit, the org
gone, Ctrl-C) journals what it finished, that it stopped, and which sources it did not reach."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.composition.workspace import Workspace
from app.forensics import collect as forensics
from app.forensics.orgio import classify
from app.salesforce import client as sf
from app.simorg import SimOrg
from tests import test_forensics
from tests.simorg_helpers import demo_login, sim_args, start_sim

ORG_NOW = datetime(2025, 8, 20, 9, 0, tzinfo=UTC)
# The forensics tests' org (chat-vendor-theft, which has Event Monitoring), fault reset and incident.
sim = test_forensics.sim
_no_faults = test_forensics._no_faults
incident = test_forensics.incident
EDITION_WORDS = ("edition", "not available in this org", "not in this org")
EVENT_OBJECTS = (*forensics.EVENT_OBJECTS, *forensics.THREAT_OBJECTS)


def finished(incident: Any) -> dict[str, Any]:
    ends = [e.data for e in incident.journal.entries(kind="collect.run") if e.data["phase"] == "finished"]
    assert ends, "the run's end is journaled"
    return ends[-1]


def edition_claims(end: dict[str, Any], sources: tuple[str, ...]) -> list[str]:
    """Journaled words that blame the org's edition or licence for the given sources."""
    notes = [s["note"] for s in end["sources"] if s["source"] in sources]
    return [n for n in notes if any(w in n.lower() for w in EDITION_WORDS)]


def test_refused_items_make_the_cli_run_partial_exit_1_naming_each_item(cli, sim: SimOrg) -> None:
    incident_id = cli.new()
    refused = ("SetupAuditTrail", "LoginHistory", "EventLogFile", "ApexLog")
    sim.faults.set(deny_access=list(refused))
    result = cli("collect", *sim_args(sim))
    assert result.code == 1, (result.out, result.err)
    assert ": partial" in result.out.splitlines()[0]
    head = next(line for line in result.out.splitlines() if line.startswith("partial: "))
    assert head.startswith("partial: 4 of ") and "items failed" in head
    for item in ("audit:SetupAuditTrail", "logins:LoginHistory", "eventlogs:index", "apexlogs:index"):
        line = next(line for line in result.out.splitlines() if f" {item}: " in line)
        assert "denied" in line and "permission" in line and "insufficient access" in line
    with Workspace(cli.home, cli.clock, cli.keyring).open(incident_id) as incident:
        end = finished(incident)
    assert end["status"] == "partial" and end["counts"]["denied"] == 4
    assert {f["item"] for f in end["failures"]} == {
        "audit:SetupAuditTrail",
        "logins:LoginHistory",
        "eventlogs:index",
        "apexlogs:index",
    }
    assert not edition_claims(end, ("audit", "logins", "eventlogs", "apexlogs"))
    table = {s["source"]: s for s in end["sources"]}
    assert table["audit"]["available"] == "no" and "refused to this login" in table["audit"]["note"]
    sim.faults.reset()
    assert cli("collect", *sim_args(sim)).code == 0, "a clean rerun is complete again"


def test_a_permission_refusal_is_never_journaled_as_an_edition_limit(sim: SimOrg, incident: Any) -> None:
    sim.faults.set(deny_access=["ApiEvent", "EventLogFile"])
    with demo_login(sim) as org:
        result = forensics.collect(incident, org, "tester", what=["eventlogs", "events"])
    items = {i.item: i for i in result.items}
    assert items["events:ApiEvent"].status == "denied"
    assert items["eventlogs:index"].status == "denied"
    assert items["events:LoginEvent"].status == "preserved"
    assert result.status == "partial"
    end = finished(incident)
    assert not edition_claims(end, ("eventlogs", "events"))
    assert not any("No real-time event objects" in x for x in end["limits"])
    table = {s.source: s for s in result.sources}
    assert table["events"].available == "partial" and "refused" in table["events"].note


def test_a_server_fault_is_a_failure_not_an_edition_limit(sim: SimOrg, incident: Any) -> None:
    """Every event object answering 500: before, the run said `complete` and that the org lacks Shield."""
    sim.faults.set(error_500_on=list(EVENT_OBJECTS))
    with demo_login(sim, max_retries=0) as org:
        result = forensics.collect(incident, org, "tester", what=["events"])
    assert result.status == "partial"
    assert {i.status for i in result.items if i.source == "events"} == {"failed"}
    assert all("500" in i.detail and "again" in i.detail for i in result.items if i.source == "events")
    end = finished(incident)
    assert end["status"] == "partial" and len(end["failures"]) == len(EVENT_OBJECTS)
    assert not edition_claims(end, ("events",))
    assert not any("Shield" in x for x in end["limits"])
    table = {s.source: s for s in result.sources}
    assert table["events"].available == "unknown" and "a fault, not a limit of the org" in table["events"].note
    lines = forensics.render_collect(result, ORG_NOW)
    assert any(line.startswith(f"partial: {len(EVENT_OBJECTS)} of ") for line in lines)
    assert sum(1 for line in lines if line.startswith("  failed events:")) == len(EVENT_OBJECTS)


def test_a_rate_limit_halfway_says_what_was_not_reached_not_that_the_org_lacks_it(sim: SimOrg, incident: Any) -> None:
    sim.faults.set(rate_limit_after=12)
    with demo_login(sim, max_retries=0) as org:
        result = forensics.collect(incident, org, "tester")
    assert result.status == "interrupted"
    end = finished(incident)
    assert end["status"] == "interrupted" and end["not_reached"] == result.not_reached
    assert {"events", "healthcheck"} <= set(result.not_reached)
    table = {s["source"]: s for s in end["sources"]}
    for source in result.not_reached:
        assert table[source]["available"] == "unknown" and table[source]["note"].startswith("not reached")
    assert not edition_claims(end, forensics.SOURCES)
    assert not any("Shield" in x or "free types" in x for x in end["limits"])
    lines = forensics.render_collect(result, ORG_NOW)
    assert any(line.startswith("not reached: ") and "events" in line for line in lines)


def test_ctrl_c_journals_what_was_finished_and_that_the_run_was_interrupted(sim: SimOrg, incident: Any) -> None:
    def progress(event: forensics.ProgressEvent) -> None:
        if event.status == "preserved" and event.source == "eventlogs":
            raise KeyboardInterrupt

    with demo_login(sim) as org, pytest.raises(KeyboardInterrupt):
        forensics.collect(incident, org, "tester", progress=progress)
    end = finished(incident)
    assert end["status"] == "interrupted" and "Ctrl-C" in end["message"]
    preserved = forensics.preserved(incident, sim.store.org.id)
    assert end["counts"]["preserved"] == len(preserved) > 0
    assert {"apexlogs", "events", "healthcheck"} <= set(end["not_reached"])
    table = {s["source"]: s for s in end["sources"]}
    assert (
        table["eventlogs"]["available"] == "partial" and "interrupted during this source" in table["eventlogs"]["note"]
    )
    assert table["events"]["available"] == "unknown"
    assert not edition_claims(end, forensics.SOURCES)
    assert not any("Shield" in x for x in end["limits"])


def test_an_org_gone_midway_is_interrupted_and_says_so(tmp_path: Path, incident: Any) -> None:
    own = start_sim(tmp_path / "org")
    stopped: list[bool] = []

    def progress(event: forensics.ProgressEvent) -> None:
        if event.status == "preserved" and event.source == "logins" and not stopped:
            stopped.append(True)
            own.stop()

    try:
        with demo_login(own, max_retries=0) as org:
            result = forensics.collect(incident, org, "tester", progress=progress)
    finally:
        if not stopped:
            own.stop()
    assert result.status == "interrupted" and "reachable" in result.message
    assert {"apexlogs", "events", "healthcheck"} <= set(result.not_reached)
    end = finished(incident)
    table = {s["source"]: s for s in end["sources"]}
    assert table["logins"]["available"] == "yes"
    assert (
        table["eventlogs"]["available"] == "unknown" and "interrupted during this source" in table["eventlogs"]["note"]
    )
    assert not edition_claims(end, forensics.SOURCES)
    assert not any("Shield" in x for x in end["limits"])


@pytest.mark.parametrize(
    ("exc", "outcome"),
    [
        (sf.ObjectUnavailable("x", code="INVALID_TYPE"), "hidden"),
        (sf.ObjectUnavailable("x", code="NOT_FOUND"), "hidden"),
        (sf.ObjectUnavailable("x", code="FUNCTIONALITY_NOT_ENABLED"), "disabled"),
        (sf.ObjectUnavailable("x", code="API_DISABLED_FOR_ORG"), "disabled"),
        (sf.ObjectUnavailable("x", code="API_CURRENTLY_DISABLED"), "denied"),
        (sf.InsufficientAccess("x"), "denied"),
        (sf.ServerFailure("x", status=500), "failed"),
        (sf.RecordNotFound("x"), "failed"),
        (sf.Offline("x"), "fatal"),
        (sf.RateLimited("x", usage=None), "limit"),
    ],
)
def test_only_the_orgs_own_not_enabled_answer_is_an_edition_signal(exc: Exception, outcome: str) -> None:
    assert classify(exc) == outcome
