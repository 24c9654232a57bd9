"""Hunting the shipped indicators through evidence collected from the simulated chat-vendor theft, judged
against the seed's truth table: the attacker's queries and addresses are found, the normal integrations are
not, the exfiltration table matches what was taken, and all of it works after the org is gone."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.base.clock import FrozenClock
from app.composition.workspace import Workspace
from app.evidence.rows import id_key
from app.simorg import SimOrg
from tests.simorg_helpers import sim_args

ORG_NOW = datetime(2025, 8, 20, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimOrg]:
    org = SimOrg.start("chat-vendor-theft", clock=FrozenClock(ORG_NOW), cert_dir=tmp_path_factory.mktemp("sim-cert"))
    yield org
    org.stop()


@pytest.fixture
def collected(cli, sim: SimOrg) -> Any:
    cli.new()
    result = cli("collect", *sim_args(sim))
    assert result.code == 0, result.err
    return cli


class Truth:
    """The seed's [truth] with keys resolved to the names an org shows."""

    def __init__(self, sim: SimOrg) -> None:
        seed = sim.seed.seed
        truth = seed.truth
        assert truth is not None
        users = {u.key: u.username for u in seed.users}
        apps = {a.key: a.name for a in seed.connected_apps}
        self.ips = set(truth.attacker_ips)
        self.user_agents = set(truth.attacker_user_agents)
        self.users = {users[k] for k in truth.compromised_users}
        self.apps = {apps[k] for k in truth.compromised_apps}
        self.benign_apps = {apps[k] for k in truth.benign_apps}
        self.benign_users = {u.username for u in seed.users} - self.users
        taken: dict[tuple[str, str], int] = defaultdict(int)
        for row in truth.exfiltration:
            taken[(users[row.user], row.object)] += row.rows
        self.taken = dict(taken)
        self.first_seen = truth.first_seen
        self.last_seen = truth.last_seen


def hits_of(cli: Any, *args: str) -> list[dict[str, Any]]:
    result = cli("hunt", "chat-vendor-theft", "--json", *args)
    assert result.code == 0, result.err
    return result.json()["hits"]


def attacker_events(sim: SimOrg, truth: Truth, sobject: str) -> set[str]:
    return {r["EventIdentifier"] for r in sim.store.rows(sobject) if r["SourceIp"] in truth.ips}


# ---------------------------------------------------------------------------------------------------------


def test_shipped_indicators_find_the_attacker_and_nothing_else(collected: Any, sim: SimOrg) -> None:
    truth = Truth(sim)
    hits = hits_of(collected)
    assert hits
    # every address the attacker used (and that the org logged) is found
    assert {h["ip"] for h in hits} == truth.ips
    # every hit is the attacker: the compromised user, from an attacker address, inside the truth's time span
    for h in hits:
        assert h["ip"] in truth.ips, h
        assert h["username"] in truth.users, h
        assert truth.first_seen <= datetime.fromisoformat(h["at"].replace("Z", "+00:00")) <= truth.last_seen
        assert h["app"] is None or h["app"] in truth.apps, h
        assert h["indicators"], h
    # nothing from the normal integrations or the staff
    assert not {h["username"] for h in hits} & truth.benign_users
    assert not {h["app"] for h in hits} & truth.benign_apps
    # the attacker's queries: every real-time API event from an attacker address, the bulk result download
    for sobject in ("ApiEvent", "LoginEvent", "BulkApiResultEventStore"):
        found = {h["record_id"] for h in hits if h["source"] == sobject}
        assert found == attacker_events(sim, truth, sobject), sobject
    queries = {h["query"] for h in hits if h["source"] == "ApiEvent"}
    assert "SELECT COUNT() FROM Account" in queries
    assert any("FROM Case LIMIT 10000" in q for q in queries)
    # the Bulk API 2.0 job survives its deletion in the event log
    states = {h["action"] for h in hits if h["source"] == "EventLogFile/BulkApi2"}
    assert any("[Deleted]" in s for s in states) and any("[JobComplete]" in s for s in states)
    # the attacker's logins, with the live session's address of T0
    logins = {h["ip"] for h in hits if h["source"] == "LoginHistory"}
    assert {"44.215.108.109", "185.220.101.33"} <= logins


def test_each_hit_names_the_evidence_file_line_and_record(collected: Any) -> None:
    hits = hits_of(collected)
    with Workspace(collected.home, collected.clock, collected.keyring).open() as incident:
        files = {e.data["evidence_id"]: e.data for e in incident.journal.entries(kind="evidence.acquired")}
        for h in hits:
            data = files[h["evidence_id"]]
            assert data["name"] == h["file"]
            lines = incident.evidence.path_for(data["sha256"]).read_text().splitlines()
            assert h["record_id"] and h["record_id"] in lines[h["line"] - 1], h


def test_exfiltration_table_matches_the_seed_truth(collected: Any, sim: SimOrg) -> None:
    truth = Truth(sim)
    assert collected("hunt", "chat-vendor-theft", "--record").code == 0
    result = collected("exfil", "--json")
    assert result.code == 0, result.err
    rows = result.json()
    assert {(r["username"], r["object"]): r["rows"] for r in rows} == truth.taken
    for r in rows:
        assert truth.apps <= set((r["app"] or "").split(", "))
        assert set(r["source_ips"]) <= truth.ips
    text = collected("exfil").out
    case_rows = truth.taken[(next(iter(truth.users)), "Case")]
    assert "drift-int@acme.example (Drift)" in text and str(case_rows) in text


def test_exfil_with_named_indicators_and_all_activity(collected: Any, sim: SimOrg) -> None:
    truth = Truth(sim)
    assert collected("exfil").code == 2  # nothing recorded yet: it says how to proceed
    named = collected("exfil", "chat-vendor-theft", "--json").json()
    assert {(r["username"], r["object"]): r["rows"] for r in named} == truth.taken
    everything = collected("exfil", "--all", "--json").json()
    users = {r["username"] for r in everything}
    assert truth.users < users  # the normal integrations' reads are there too, unattributed
    assert any(r["username"] == "marketing-sync@acme.example" and r["object"] == "Contact" for r in everything)


def test_record_journals_each_hit_once_for_the_timeline(collected: Any) -> None:
    first = collected("hunt", "chat-vendor-theft", "--record", "--json").json()
    again = collected("hunt", "chat-vendor-theft", "--record", "--json").json()
    assert first["recorded"] == len(first["hits"]) > 0
    assert again["recorded"] == 0
    with Workspace(collected.home, collected.clock, collected.keyring).open() as incident:
        entries = [e.data for e in incident.journal.entries(kind="hunt.hit")]
        assert len(entries) == len(first["hits"])
        for e in entries:
            assert e["evidence_id"] and e["line"] > 0 and e["at"] and e["title"] and e["indicators"]
        runs = [e.data for e in incident.journal.entries(kind="hunt.run")]
        assert len(runs) == 2 and runs[0]["new_hits"] == len(first["hits"])
        # the indicator file and its address list are preserved, so the hunt can be re-run from the evidence
        names = {
            e.data["name"]
            for e in incident.journal.entries(kind="evidence.acquired")
            if e.data["evidence_id"] in runs[0]["indicator_evidence"]
        }
        assert names == {"chat-vendor-theft.toml", "tor-exits-2025.txt"}
        assert len(incident.journal.state("hunt")) == len(entries)
    assert collected("journal", "verify").code == 0


def test_hunt_works_offline_after_the_org_is_gone(cli, tmp_path: Path) -> None:
    sim = SimOrg.start("chat-vendor-theft", clock=FrozenClock(ORG_NOW), cert_dir=tmp_path / "cert")
    try:
        cli.new()
        assert cli("collect", *sim_args(sim)).code == 0
        online = hits_of(cli)
    finally:
        sim.stop()
    offline = hits_of(cli)
    assert offline == online and offline
    assert cli("exfil", "chat-vendor-theft", "--json").code == 0
    # asking the live org now fails clearly; the offline hunt still stands
    live = cli("hunt", "chat-vendor-theft", *sim_args(sim))
    assert live.code != 0 and "reach" in live.err


def test_hunt_with_org_collects_first(cli, sim: SimOrg) -> None:
    truth = Truth(sim)
    cli.new()
    result = cli("hunt", "chat-vendor-theft", "--json", *sim_args(sim))
    assert result.code == 0, result.err
    hits = result.json()["hits"]
    assert {h["ip"] for h in hits} == truth.ips
    # the same record preserved by two collections is one hit
    assert cli("collect", *sim_args(sim)).code == 0
    assert len(hits_of(cli)) == len(hits)


def test_context_indicators_alone_are_leads_not_findings(collected: Any) -> None:
    result = collected("hunt", "chat-vendor-theft", "--json", "--leads")
    doc = result.json()
    assert doc["leads"]  # the Drift app's own traffic matches the app name only
    for lead in doc["leads"]:
        assert not lead["indicators"] and lead["context"]
    dataloader = collected("hunt", "fake-data-loader", "--json", "--leads").json()
    # no "My Ticket Portal" in this org; only its Tor-exit indicator fires, on the chat-vendor attacker
    assert dataloader["hits"] and all(h["username"] == "drift-int@acme.example" for h in dataloader["hits"])
    assert all("ip_list" in i for h in dataloader["hits"] for i in h["indicators"])
    # the marketing platform's nightly bulk export matches the "bulk export" pattern: a lead, never a hit
    assert any(lead["username"] == "marketing-sync@acme.example" for lead in dataloader["leads"])


def test_text_output_lists_hits_with_where_they_are(collected: Any) -> None:
    out = collected("hunt", "chat-vendor-theft").out
    assert "hits" in out.splitlines()[0]
    assert "evidence " in out and " line " in out and "208.68.36.90" in out


def test_window_override_narrows_the_hunt(collected: Any, sim: SimOrg) -> None:
    hits = hits_of(collected, "--since", "2025-08-17T00:00:00Z", "--until", "2025-08-18T00:00:00Z")
    assert hits and all(h["at"].startswith("2025-08-17") for h in hits)


def test_hunt_reads_files_added_by_hand(cli, tmp_path: Path) -> None:
    """Logs exported earlier by other means (`evidence add`) are searched too, by content."""
    cli.new()
    elf = tmp_path / "api-export.csv"
    elf.write_text(
        '"EVENT_TYPE","TIMESTAMP_DERIVED","USER_ID","CLIENT_IP","URI","REQUEST_ID"\n'
        '"RestApi","2025-08-14T10:03:00.000Z","005000000000001","185.220.101.143",'
        '"/services/data/v58.0/query","req-1"\n',
        encoding="utf-8",
    )
    export = tmp_path / "login-history.json"
    export.write_text(
        json.dumps(
            {
                "totalSize": 1,
                "records": [
                    {
                        "attributes": {
                            "type": "LoginHistory",
                            "url": "/services/data/v59.0/sobjects/LoginHistory/0Ya000000000001",
                        },
                        "Id": "0Ya000000000001",
                        "SourceIp": "44.215.108.109",
                        "LoginTime": "2025-08-08T03:12:00.000+0000",
                    }
                ],
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    assert cli("evidence", "add", str(elf)).code == 0
    assert cli("evidence", "add", str(export)).code == 0
    hits = hits_of(cli)
    assert {(h["file"], h["line"], h["record_id"]) for h in hits} == {
        ("api-export.csv", 2, "req-1"),
        ("login-history.json", 4, "0Ya000000000001"),
    }


def test_user_ids_resolve_across_id_lengths() -> None:
    assert id_key("0055e000001AbCdEFG") == id_key("0055e000001AbCd")


def test_fake_data_loader_without_event_monitoring(cli, tmp_path: Path) -> None:
    """The UNC6040 tabletop: no Event Monitoring, so the rogue app and its Tor logins are found, but row counts
    are not in the evidence, and the console says so instead of showing an empty table as "nothing taken"."""
    sim = SimOrg.start(
        "fake-data-loader", clock=FrozenClock(datetime(2025, 6, 3, 15, 0, tzinfo=UTC)), cert_dir=tmp_path / "cert"
    )
    try:
        seed = sim.seed.seed
        truth = seed.truth
        assert truth is not None
        users = {u.key: u.username for u in seed.users}
        cli.new()
        collected = cli("collect", *sim_args(sim), "--json")
        assert collected.code == 0, collected.err
        assert any("Event Monitoring" in limit for limit in collected.json()["limits"])
    finally:
        sim.stop()
    hits = hits_of_set(cli, "fake-data-loader")
    assert {h["ip"] for h in hits} == set(truth.attacker_ips)
    assert {h["username"] for h in hits} == {users[k] for k in truth.compromised_users}
    assert any(h["app"] in truth.compromised_app_names for h in hits)
    benign = {a.name for a in seed.connected_apps if a.key in truth.benign_apps}
    assert not {h["app"] for h in hits} & benign
    assert cli("hunt", "fake-data-loader", "--record").code == 0
    result = cli("exfil")
    assert result.code == 0 and "need Event Monitoring" in result.out
    assert cli("exfil", "--json").json() == []


def hits_of_set(cli: Any, name: str) -> list[dict[str, Any]]:
    result = cli("hunt", name, "--json")
    assert result.code == 0, result.err
    return result.json()["hits"]
