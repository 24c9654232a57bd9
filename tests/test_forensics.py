"""Forensic collection against the simulated org over real TLS: every source preserved with its hash and
provenance, re-runs skip what is preserved, a rate limit halfway is resumed, edition limits are reported."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.base.clock import FrozenClock
from app.composition.workspace import Workspace
from app.forensics import collect as forensics
from app.forensics.catalog import QUERY_FIELDS, THREAT_OBJECTS
from app.salesforce.client import Org
from app.salesforce.simlogin import sim_credentials
from app.simorg import SimOrg
from tests.simorg_helpers import LIMITED, mini_seed
from tests.simorg_helpers import login as mini_login

ORG_NOW = datetime(2025, 8, 20, 9, 0, tzinfo=UTC)
SIM_ARGS = ("--org", "sim")

UNLICENSED_SEED = """
[organization]
name = "Small Org"
edition = "Developer Edition"
my_domain = "small"
event_monitoring = false
now = 2025-08-20T09:00:00Z

[[profiles]]
key = "admin"
name = "System Administrator"
permissions = ["ModifyAllData", "ViewAllData", "ApiEnabled", "ManageUsers", "ViewSetup", "ViewEventLogFiles"]

[[users]]
key = "me"
username = "responder@small.example"
last_name = "Responder"
profile = "admin"
password = "Small-Org-Only-1"
security_token = "SMALLTOKEN1"

[[event_log_files]]
event_type = "Login"
log_date = 2025-08-19T00:00:00Z

[[event_log_files.rows]]
at = 2025-08-19T10:00:00Z
user = "me"
SOURCE_IP = "198.51.100.7"
CLIENT_IP = "198.51.100.7"
LOGIN_STATUS = "LOGIN_NO_ERROR"

[[login_history]]
user = "me"
at = 2025-08-19T10:00:00Z
ip = "198.51.100.7"
"""


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimOrg]:
    org = SimOrg.start("chat-vendor-theft", clock=FrozenClock(ORG_NOW), cert_dir=tmp_path_factory.mktemp("sim-cert"))
    yield org
    org.stop()


@pytest.fixture(autouse=True)
def _no_faults(sim: SimOrg) -> Iterator[None]:
    sim.faults.reset()
    yield
    sim.faults.reset()


def sim_args(sim: SimOrg) -> tuple[str, ...]:
    return (*SIM_ARGS, "--instance-url", sim.url, "--ca", str(sim.ca_path))


def login(sim: SimOrg, **options: Any) -> Org:
    return Org.login(sim_credentials(sim.url, sim.ca_path), **options)


@pytest.fixture
def incident(tmp_path: Path, mem_keyring: Any) -> Iterator[Any]:
    ws = Workspace(tmp_path / "home", FrozenClock(datetime(2025, 8, 20, 10, 0, tzinfo=UTC)), mem_keyring)
    inc = ws.create("collection", "tester")
    yield inc
    inc.close()


def acquired(incident: Any) -> list[dict[str, Any]]:
    return [e.data for e in incident.journal.entries(kind="evidence.acquired")]


def store_rows(sim: SimOrg, sobject: str) -> list[dict[str, Any]]:
    return list(sim.store.rows(sobject))


def expected_items(sim: SimOrg) -> set[str]:
    items = {
        "directory:User",
        "directory:ConnectedApplication",
        "audit:SetupAuditTrail",
        "logins:LoginHistory",
        "eventlogs:index",
        "apexlogs:index",
    }
    items |= {f"eventlogs:{r['Id']}" for r in store_rows(sim, "EventLogFile")}
    items |= {f"apexlogs:{r['Id']}" for r in store_rows(sim, "ApexLog")}
    items |= {f"events:{name}" for name in (*forensics.EVENT_OBJECTS, *forensics.THREAT_OBJECTS)}
    items |= {"healthcheck:SecurityHealthCheck", "healthcheck:SecurityHealthCheckRisks"}
    return items


# ---------------------------------------------------------------------------------------------------------


def test_collect_preserves_every_source_with_hashes_and_provenance(cli, sim: SimOrg) -> None:
    incident_id = cli.new()
    result = cli("collect", *sim_args(sim))
    assert result.code == 0, result.err
    assert "LEAVES THE ORG" in result.out and "30 days with Event Monitoring" in result.out

    from app.composition.workspace import Workspace

    with Workspace(cli.home, cli.clock, cli.keyring).open(incident_id) as incident:
        entries = acquired(incident)
        by_item = {e["source"]["item"]: e for e in entries if e["source"].get("collector") == "collect"}
        assert set(by_item) == expected_items(sim)
        for item, e in by_item.items():
            src = e["source"]
            assert len(e["sha256"]) == 64 and e["size"] > 0, item
            # custody starts at the download: who/what/how is in the acquisition entry
            assert src["tool"].startswith("warroom ") and src["api_version"] == "59.0", item
            assert src["org_id"] == sim.store.org.id and src["range"]["to"], item
            assert src["command"].startswith("warroom collect --org sim"), item
            assert "SELECT " in src["soql"] and " FROM " in src["soql"], item
            # the stored file is what was hashed
            assert incident.evidence.rehash(e["sha256"]) == e["sha256"], item
            assert hashlib.sha256(incident.evidence.path_for(e["sha256"]).read_bytes()).hexdigest() == e["sha256"]
        # every event log file byte for byte, with the field names the org listed
        for row in store_rows(sim, "EventLogFile"):
            e = by_item[f"eventlogs:{row['Id']}"]
            data = incident.evidence.path_for(e["sha256"]).read_bytes()
            assert data == sim.store.blobs[("EventLogFile", row["Id"], "LogFile")]
            header = next(csv.reader(io.StringIO(data.decode())))
            assert e["source"]["field_names"] == header == row["LogFileFieldNames"].split(",")
            assert e["source"]["event_type"] == row["EventType"]
        for row in store_rows(sim, "ApexLog"):
            e = by_item[f"apexlogs:{row['Id']}"]
            assert (
                incident.evidence.path_for(e["sha256"]).read_bytes() == sim.store.blobs[("ApexLog", row["Id"], "Body")]
            )
        # query results keep every record, one per line, and stay valid JSON
        for sobject in ("ApiEvent", "LoginEvent", "ReportEvent", "BulkApiResultEventStore", "SetupAuditTrail"):
            e = by_item[f"events:{sobject}" if sobject != "SetupAuditTrail" else "audit:SetupAuditTrail"]
            doc = json.loads(incident.evidence.path_for(e["sha256"]).read_text())
            assert doc["object"] == sobject and len(doc["records"]) == len(store_rows(sim, sobject))
        # derived state knows every item, and replays from the entries
        assert set(forensics.preserved(incident, sim.store.org.id)) == expected_items(sim)
    assert cli("journal", "verify").code == 0


def test_second_collect_skips_what_is_preserved(sim: SimOrg, incident: Any) -> None:
    with login(sim) as org:
        first = forensics.collect(incident, org, "tester")
        before = len(acquired(incident))
        second = forensics.collect(incident, org, "tester")
    assert first.status == second.status == "complete"
    assert first.count("preserved") == len(expected_items(sim))
    assert second.count("preserved") == 0
    assert len(acquired(incident)) == before
    logs = {i.item for i in second.items if i.status == "skipped"}
    assert logs == {i for i in expected_items(sim) if i.startswith(("eventlogs:0", "apexlogs:0"))}
    assert {i.status for i in second.items if i.item not in logs} == {"unchanged"}


def test_new_content_is_preserved_as_a_new_version(cli, sim: SimOrg) -> None:
    """Each CLI run logs in, which adds a LoginHistory row: that source is preserved again, the logs are not."""
    cli.new()
    assert cli("collect", *sim_args(sim), "--what", "logins,eventlogs").code == 0
    result = cli("collect", *sim_args(sim), "--what", "logins,eventlogs", "--json")
    assert result.code == 0, result.err
    items = {i["item"]: i["status"] for i in result.json()["items"]}
    assert items["logins:LoginHistory"] == "preserved"
    assert {s for k, s in items.items() if k.startswith("eventlogs:0")} == {"skipped"}


def test_rate_limit_halfway_then_rerun_completes(sim: SimOrg, incident: Any, tmp_path: Path, mem_keyring: Any) -> None:
    with login(sim, max_retries=0) as org:
        sim.faults.set(rate_limit_after=12)
        halted = forensics.collect(incident, org, "tester")
        assert halted.status == "interrupted"
        assert "REQUEST_LIMIT_EXCEEDED" in halted.message or "limit" in halted.message.lower()
        done_first = set(forensics.preserved(incident, sim.store.org.id))
        assert 0 < len(done_first) < len(expected_items(sim))
        finished = [e.data for e in incident.journal.entries(kind="collect.run") if e.data["phase"] == "finished"]
        assert finished[-1]["status"] == "interrupted"

        sim.faults.set(clear_rate_limit=True)
        resumed = forensics.collect(incident, org, "tester")
    assert resumed.status == "complete"
    assert set(forensics.preserved(incident, sim.store.org.id)) == expected_items(sim)
    # nothing preserved before the fault is fetched again
    assert not done_first & {i.item for i in resumed.items if i.status == "preserved"}
    # the same files as an uninterrupted collection (LoginHistory aside: each login adds a row to it)
    clean_ws = Workspace(tmp_path / "clean", FrozenClock(ORG_NOW), mem_keyring)
    with clean_ws.create("clean", "tester") as clean, login(sim) as org:
        forensics.collect(clean, org, "tester")
        final = {k: v["sha256"] for k, v in forensics.preserved(incident, sim.store.org.id).items()}
        uninterrupted = {k: v["sha256"] for k, v in forensics.preserved(clean, sim.store.org.id).items()}
    final.pop("logins:LoginHistory")
    uninterrupted.pop("logins:LoginHistory")
    assert final == uninterrupted


def test_rate_limit_through_the_cli_exits_nonzero_and_says_to_rerun(cli, sim: SimOrg) -> None:
    cli.new()
    sim.faults.set(rate_limit_after=10)
    result = cli("collect", *sim_args(sim))
    assert result.code == 1
    assert "interrupted" in result.out and "again" in result.out
    sim.faults.set(clear_rate_limit=True)
    assert cli("collect", *sim_args(sim)).code == 0


def test_since_narrows_every_query(sim: SimOrg, incident: Any) -> None:
    since = datetime(2025, 8, 15, tzinfo=UTC)
    with login(sim) as org:
        result = forensics.collect(incident, org, "tester", since=since, what=["audit", "eventlogs", "events"])
    assert result.status == "complete"
    queries = [
        e["source"]
        for e in acquired(incident)
        if e["source"].get("format") == "json-records" and e["source"]["object"] not in ("User", "ConnectedApplication")
    ]
    assert queries and all(">= 2025-08-15T00:00:00Z" in q["soql"] for q in queries)
    logs = [e["source"] for e in acquired(incident) if e["source"].get("format") == "elf-csv"]
    assert logs and all(e["log_date"] >= "2025-08-15" for e in logs)
    assert len(logs) == sum(1 for r in store_rows(sim, "EventLogFile") if r["LogDate"] >= since)


def test_progress_is_reported_and_cancel_stops_cleanly(sim: SimOrg, incident: Any) -> None:
    events: list[forensics.ProgressEvent] = []
    cancel = threading.Event()

    def progress(event: forensics.ProgressEvent) -> None:
        events.append(event)
        if event.status == "preserved" and event.source == "eventlogs":
            cancel.set()

    with login(sim) as org:
        result = forensics.collect(incident, org, "tester", progress=progress, cancel=cancel)
    assert result.status == "cancelled"
    assert any(e.status == "started" for e in events) and any(e.status == "preserved" for e in events)
    finished = [e.data for e in incident.journal.entries(kind="collect.run") if e.data["phase"] == "finished"]
    assert finished[-1]["status"] == "cancelled"


def test_unknown_source_is_refused(cli, sim: SimOrg) -> None:
    cli.new()
    result = cli("collect", *sim_args(sim), "--what", "audit,mailboxes")
    assert result.code == 2


def test_edition_without_event_monitoring_says_what_it_cannot_give(tmp_path: Path, incident: Any) -> None:
    seed = tmp_path / "small.toml"
    seed.write_text(UNLICENSED_SEED, encoding="utf-8")
    with (
        SimOrg.start(seed, clock=FrozenClock(ORG_NOW), cert_dir=tmp_path / "cert") as small,
        Org.login(sim_credentials(small.url, small.ca_path)) as org,
    ):
        result = forensics.collect(incident, org, "tester")
    assert result.status == "complete"
    events = {i.item: i for i in result.items if i.source == "events"}
    assert {i.status for i in events.values()} == {"unavailable"} and result.count("failed") == 0
    assert all("Event Monitoring" in i.detail for i in events.values())
    threats = [i for name, i in events.items() if name.split(":", 1)[1] in forensics.THREAT_OBJECTS]
    assert len(threats) == 4, "the Threat Detection stores are noted as missing, not errors"
    assert all("Threat Detection stores need Shield or the Event Monitoring add-on" in i.detail for i in threats)
    assert {s.source: s for s in result.sources}["healthcheck"].available == "yes", "Health Check needs no add-on"
    table = {s.source: s for s in result.sources}
    assert table["events"].available == "no"
    assert table["eventlogs"].available == "partial" and table["eventlogs"].retention.startswith("1 day")
    assert table["eventlogs"].oldest_expires == "2025-08-21T00:00:00Z"  # LogDate 19 Aug + the day it covers + 1
    text = " ".join(result.limits)
    assert "Shield or the Event Monitoring add-on" in text and "Historical Event Logs" in text
    assert "API" in text  # the API/RestApi/BulkApi types it does not have
    lines = forensics.render_collect(result, ORG_NOW)
    assert any(line.startswith("events") and " no " in line for line in lines)


def test_crash_between_acquisition_and_progress_is_not_acquired_twice(
    sim: SimOrg, incident: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = incident.journal
    real_append = journal.append
    crashed: list[str] = []

    def append(kind: str, data: dict[str, Any], actor: str) -> Any:
        if kind == "collect.progress" and data["item"].startswith("eventlogs:0") and not crashed:
            crashed.append(data["item"])
            raise KeyboardInterrupt  # the process dies after the file was acquired
        return real_append(kind, data, actor)

    monkeypatch.setattr(journal, "append", append)
    with login(sim) as org:
        with pytest.raises(KeyboardInterrupt):
            forensics.collect(incident, org, "tester", what=["eventlogs"])
        monkeypatch.setattr(journal, "append", real_append)
        resumed = forensics.collect(incident, org, "tester", what=["eventlogs"])
    assert resumed.status == "complete"
    item = crashed[0]
    assert next(i for i in resumed.items if i.item == item).status == "preserved"
    acquisitions = [e for e in acquired(incident) if e["source"].get("item") == item]
    assert len(acquisitions) == 1
    assert forensics.preserved(incident, sim.store.org.id)[item]["evidence_id"] == acquisitions[0]["evidence_id"]


def test_credential_shaped_org_values_are_masked_in_the_journal_not_refused(cli, tmp_path: Path) -> None:
    """An ApexLog operation carrying a session id, a login whose browser field carries a bearer token: the
    journal refuses credentials, so provenance and hits are masked; the preserved files keep the originals."""
    seed = tmp_path / "leaky.toml"
    seed.write_text(
        UNLICENSED_SEED
        + """
[[apex_logs]]
user = "me"
start = 2025-08-19T11:00:00Z
operation = "/services/apexrest/sync?sid={org}!AQ4AQFakeSimulatedSessionIdForTestOnly.x8Hn2"
body = "USER_DEBUG|hello"

[[login_history]]
user = "me"
at = 2025-08-19T12:00:00Z
ip = "208.68.36.90"
browser = "Bearer abcdefghijklmnopqrstuvwxyz0123456789"
""",
        encoding="utf-8",
    )
    iocs = tmp_path / "iocs.toml"
    iocs.write_text('name = "t"\n[[indicator]]\nkind = "ip"\nvalues = ["208.68.36.90"]\n', encoding="utf-8")
    cli.new()
    with SimOrg.start(seed, clock=FrozenClock(ORG_NOW), cert_dir=tmp_path / "cert") as small:
        args = ("--org", "sim", "--instance-url", small.url, "--ca", str(small.ca_path))
        result = cli("collect", *args)
        assert result.code == 0, result.err
    recorded = cli("hunt", str(iocs), "--record", "--json")
    assert recorded.code == 0, recorded.err
    assert recorded.json()["recorded"] == 1
    shown = cli("journal", "show", "--json")
    assert "AQ4AQFakeSimulated" not in shown.out and "abcdefghijklmnopqrstuvwxyz0123456789" not in shown.out
    with Workspace(cli.home, cli.clock, cli.keyring).open() as incident:
        apex = [e for e in acquired(incident) if e["source"].get("format") == "apexlog"]
        assert apex and "[REDACTED]" in apex[0]["source"]["record"]["Operation"]
        logins = next(e for e in acquired(incident) if e["source"].get("object") == "LoginHistory")
        assert b"abcdefghijklmnopqrstuvwxyz0123456789" in incident.evidence.path_for(logins["sha256"]).read_bytes()


# ---------------------------------------------------------------------------------------------------------
# What an attacker leaves beyond the API logs: Threat Detection stores, the event-log types of data theft and
# a Health Check snapshot; rows use documented fields only (app/simorg/schema_security.py)
# ---------------------------------------------------------------------------------------------------------

CONTENT_TRANSFER = """
[[event_log_files]]
event_type = "ContentTransfer"
log_date = 2025-08-18T00:00:00Z
fields = ["EVENT_TYPE", "TIMESTAMP", "REQUEST_ID", "ORGANIZATION_ID", "USER_ID", "TRANSACTION_TYPE", "SIZE_BYTES",
          "DOCUMENT_ID", "VERSION_ID", "FILE_TYPE", "FILE_PREVIEW_TYPE", "TIMESTAMP_DERIVED", "USER_ID_DERIVED",
          "DOCUMENT_ID_DERIVED", "VERSION_ID_DERIVED"]

[[event_log_files.rows]]
at = 2025-08-18T11:00:00Z
user = "int"
TRANSACTION_TYPE = "VersionDownloadApi"
SIZE_BYTES = "48213"
"""


def _start_mini(tmp_path: Path, **kw: Any) -> SimOrg:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "seed.toml"
    path.write_text(mini_seed(**kw), encoding="utf-8")
    return SimOrg.start(path, clock=FrozenClock(ORG_NOW), cert_dir=tmp_path / "cert")


def _user_id(sim: SimOrg, key: str) -> str:
    return sim.store.key_id("users", key)


def _seed_security_rows(sim: SimOrg) -> None:
    uid = _user_id(sim, "int")
    with sim.store.lock:
        common = {"EventDate": "2025-08-17T11:10:00.000Z", "UserId": uid, "Username": "drift-int@mini.example"}
        sim.store.insert(
            "ApiAnomalyEventStore",
            {
                **common,
                "EventIdentifier": "0a4779b0-0da1-4619-a373-0a36991dff90",
                "Operation": "Query",
                "QueriedEntities": "Case",
                "RowsProcessed": 12000,
                "Score": 92.5,
                "SourceIp": "208.68.36.90",
                "Summary": "API calls far above this user's usual volume",
            },
        )
        sim.store.insert(
            "SessionHijackingEventStore",
            {**common, "EventIdentifier": "b1", "CurrentIp": "208.68.36.90", "PreviousIp": "203.0.113.10"},
        )
        score = sim.store.insert("SecurityHealthCheck", {"DurableId": "HC", "Score": "61"})
        for setting, risk in (("Minimum password length", "MEETS_STANDARD"), ("Session timeout", "HIGH_RISK")):
            sim.store.insert(
                "SecurityHealthCheckRisks",
                {
                    "DurableId": setting,
                    "SecurityHealthCheckId": score["Id"],
                    "Setting": setting,
                    "SettingGroup": "Password Policies" if "password" in setting else "Session Settings",
                    "RiskType": risk,
                    "SettingRiskCategory": "HIGH_RISK",
                    "OrgValue": "8 characters" if "password" in setting else "24 hours",
                    "StandardValue": "8 characters" if "password" in setting else "2 hours",
                },
            )


def _preserved_json(incident: Any, result: Any, item: str) -> dict[str, Any]:
    rec = next(i for i in result.items if i.item == item)
    assert rec.status == "preserved", (item, rec.status, rec.detail)
    return json.loads(incident.evidence.path_for(rec.sha256).read_text(encoding="utf-8"))


def test_threat_stores_health_check_and_file_downloads_are_preserved(tmp_path: Path, incident: Any) -> None:
    with _start_mini(tmp_path / "org", extra=CONTENT_TRANSFER) as sim:
        _seed_security_rows(sim)
        with mini_login(sim) as org:
            result = forensics.collect(incident, org, "tester")
    assert result.status == "complete", result.message
    items = {i.item: i for i in result.items}
    for name in THREAT_OBJECTS:
        assert items[f"events:{name}"].status == "preserved", items[f"events:{name}"].detail
    anomaly = _preserved_json(incident, result, "events:ApiAnomalyEventStore")
    assert anomaly["records"][0]["SourceIp"] == "208.68.36.90" and anomaly["records"][0]["RowsProcessed"] == 12000
    assert "ORDER BY" not in anomaly["soql"], "a big object is not sorted freely"
    assert items["events:CredentialStuffingEventStore"].rows == 0, "an empty store is preserved as empty"

    score = _preserved_json(incident, result, "healthcheck:SecurityHealthCheck")
    assert score["api"] == "tooling" and score["records"][0]["Score"] == "61"
    risks = _preserved_json(incident, result, "healthcheck:SecurityHealthCheckRisks")
    assert {r["RiskType"] for r in risks["records"]} == {"MEETS_STANDARD", "HIGH_RISK"}
    documented = set(QUERY_FIELDS["SecurityHealthCheckRisks"])
    assert all(set(r) <= documented for r in risks["records"]), "only documented fields are asked for"

    transfer = [i for i in result.items if i.source == "eventlogs" and "ContentTransfer" in i.detail]
    assert len(transfer) == 1 and transfer[0].status == "preserved"
    missing = next(x for x in result.limits if x.startswith("Event log types not present"))
    assert "ContentTransfer" not in missing and "AsyncReportRun" in missing and "DocumentAttachmentDownloads" in missing
    table = {s.source: s for s in result.sources}
    assert table["healthcheck"].available == "yes" and table["healthcheck"].preserved == 2
    assert table["events"].available == "yes"
    lines = forensics.render_collect(result, ORG_NOW)
    assert any(line.startswith("healthcheck") for line in lines)


def test_a_login_without_view_setup_gets_a_health_check_note(tmp_path: Path, incident: Any) -> None:
    with _start_mini(tmp_path / "org") as sim, mini_login(sim, username=LIMITED) as org:
        result = forensics.collect(incident, org, "tester", what=["healthcheck"])
    items = {i.item: i for i in result.items}
    for name in ("SecurityHealthCheck", "SecurityHealthCheckRisks"):
        assert items[f"healthcheck:{name}"].status == "unavailable"
        assert "View Setup and Configuration" in items[f"healthcheck:{name}"].detail
    assert any("No Health Check snapshot" in x for x in result.limits)
    assert {s.source: s for s in result.sources}["healthcheck"].available == "no"


def test_customer_success_token_theft_indicators_each_carry_a_source() -> None:
    from app.hunt.indicators import find_indicator_file, load_indicators

    iset = load_indicators(find_indicator_file("customer-success-token-theft"))
    assert iset.window is not None and iset.window.start == datetime(2025, 10, 23, tzinfo=UTC)
    defined = {s.id for s in iset.source}
    assert all(ind.sources and set(ind.sources) <= defined for ind in iset.indicator)
    values = {v for ind in iset.indicator for v in ind.values}
    assert {"3.239.45.43", "Salesforce-Multi-Org-Fetcher/1.0", "Python/3.11 aiohttp/3.13.1"} <= values
    app = next(ind for ind in iset.indicator if ind.kind == "connected_app")
    assert app.role == "context", "the vendor's own app traffic is context, not a hit by itself"
