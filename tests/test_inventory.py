"""Inventory against the real simulated org over HTTPS (seeded like the 2025 chat-vendor token theft): pull,
journal, offline import (snapshot file and Data Loader CSV), diff, rejected inputs and injected faults."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app import inventory as inv
from app.findings import evaluate
from app.salesforce.client import Org, OrgCredentials, RateLimited, ServerFailure, SessionExpired
from app.salesforce.simlogin import sim_credentials
from app.simorg.server import SimOrg

SEED = "chat-vendor-theft"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimOrg]:
    with SimOrg.start(SEED) as s:
        yield s


@pytest.fixture(autouse=True)
def _clear_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "sim" in request.fixturenames:
        request.getfixturevalue("sim").faults.reset()


@pytest.fixture(scope="module")
def pulled(sim: SimOrg) -> inv.Snapshot:
    with Org.login(sim_credentials(sim.url, sim.ca_path)) as org:
        return inv.pull(org, alias="sim")


def sim_args(sim: SimOrg) -> list[str]:
    return ["--org", "sim", "--instance-url", sim.url, "--ca", str(sim.ca_path)]


def seed_integration_usernames(sim: SimOrg) -> set[str]:
    seed = sim.seed.seed
    licensed = {p.key for p in seed.profiles if p.license == "Salesforce Integration"}
    return {u.username for u in seed.users if u.profile in licensed}


# --------------------------------------------------------------------------------------------------
# Pull
# --------------------------------------------------------------------------------------------------


def test_pull_lists_every_connected_app_token_and_integration_user(sim: SimOrg, pulled: inv.Snapshot) -> None:
    store = sim.store
    assert {a.name for a in pulled.connected_apps} == {r["Name"] for r in store.rows("ConnectedApplication")}
    # Every token, even past the 2,500-row OauthToken cap per query, known by the fingerprint of its DeleteToken.
    expected = {inv.token_ref(r["DeleteToken"], None, None, None) for r in store.rows("OauthToken")}
    assert {t.ref for t in pulled.oauth_tokens} == expected
    assert len(pulled.oauth_tokens) == store.count("OauthToken")
    # No token value is kept in the snapshot.
    text = inv.snapshot_bytes(pulled).decode()
    assert all(r["DeleteToken"] not in text for r in store.rows("OauthToken"))
    names = {pulled_user.username for pulled_user in pulled.users}
    assert names == {r["Username"] for r in store.rows("User")}
    integ = {u.username for u in pulled.users if u.id in inv.integration_users(pulled)}
    assert integ == seed_integration_usernames(sim)
    assert {p.name for p in pulled.packages} == {p.name for p in sim.seed.seed.packages}
    assert {e.name for e in pulled.external_data_sources} == {
        d.developer_name for d in sim.seed.seed.external_data_sources
    }
    assert pulled.organization is not None and pulled.organization.sharing_defaults["Account"] == "Edit"
    assert pulled.permission_fields and "ViewAllData" in pulled.permission_fields
    assert all(log.body_scanned for log in pulled.debug_logs)
    assert pulled.source.kind == "org" and pulled.source.org_id == sim.store.org.id


def test_tokens_beyond_the_query_cap_are_partitioned_by_user() -> None:
    with SimOrg.start(SEED) as own:
        own.inject(
            {
                "oauth_tokens": [
                    {"app": "outlook", "user": "alice_sales", "created": "2025-08-01T00:00:00Z", "count": 1200},
                    {"app": "gong", "user": "bob_sales", "created": "2025-08-01T00:00:00Z", "count": 1200},
                    {"app": "gong", "user": "carol_support", "created": "2025-08-01T00:00:00Z", "count": 2600},
                ]
            }
        )
        with Org.login(sim_credentials(own.url, own.ca_path)) as org:
            snap = inv.pull(org)
        rows = list(own.store.rows("OauthToken"))
    carol = next(u.id for u in snap.users if u.username == "carol.diaz@acme.example")
    others = {inv.token_ref(r["DeleteToken"], None, None, None) for r in rows if r["UserId"] != carol}
    got = {t.ref for t in snap.oauth_tokens}
    assert others <= got  # everyone else's tokens in full
    assert sum(1 for t in snap.oauth_tokens if t.user_id == carol) == 2500  # one user over the cap: what it gives
    note = next(n for n in snap.notes if n.object == "OauthToken")
    assert note.status == "partial" and carol in note.message


def test_pull_via_cli_journals_the_snapshot(cli: Any, sim: SimOrg, tmp_path: Path) -> None:
    cli.new()
    out = tmp_path / "snap.json"
    r = cli("inventory", "pull", *sim_args(sim), "--out", str(out), "--json")
    assert r.code == 0, r.err
    assert "OAuth tokens" in r.err or "oauth tokens" in r.err  # progress goes to stderr
    report = r.json()
    saved = report["saved"]
    assert report["counts"]["oauth_tokens"] == sim.store.count("OauthToken")
    data = out.read_bytes()
    import hashlib

    assert hashlib.sha256(data).hexdigest() == saved["sha256"]
    from app.composition.workspace import Workspace

    ws = Workspace(cli.home, cli.clock, cli.keyring)
    with ws.open(None) as incident:
        entry = incident.journal.last("inventory.snapshot")
        assert entry is not None
        assert entry.data["sha256"] == saved["sha256"]
        assert entry.data["counts"]["connected_apps"] == sim.store.count("ConnectedApplication")
        assert entry.data["source"]["org_alias"] == "sim"
        assert incident.journal.get_state("inventory", "current")["evidence_id"] == saved["evidence_id"]
        assert incident.evidence.path_for(saved["sha256"]).read_bytes() == data
        assert inv.load_current(incident) is not None
    show = cli("inventory", "show", "--json")
    assert show.code == 0, show.err
    summary = show.json()
    assert {a["name"] for a in summary["apps"]} >= {r["Name"] for r in sim.store.rows("ConnectedApplication")}
    assert {u["username"] for u in summary["integration_users"]} == seed_integration_usernames(sim)
    text = cli("inventory", "show")
    assert text.code == 0 and "drift-int@acme.example" in text.out
    verify = cli("journal", "verify")
    assert verify.code == 0, verify.out + verify.err


def test_objects_the_org_lacks_become_notes(sim: SimOrg) -> None:
    class NoTooling:
        """An org whose edition has no Tooling objects: every tooling describe says INVALID_TYPE."""

        def __init__(self, org: Org) -> None:
            self.org = org

        def __getattr__(self, name: str) -> Any:
            return getattr(self.org, name)

        def describe_fields(self, sobject: str, *, tooling: bool = False) -> set[str]:
            if tooling:
                from app.salesforce.client import ObjectUnavailable

                raise ObjectUnavailable(f"sObject type '{sobject}' is not supported", code="INVALID_TYPE")
            return self.org.describe_fields(sobject)

    with Org.login(sim_credentials(sim.url, sim.ca_path)) as org:
        snap = inv.pull(NoTooling(org))
    noted = {n.object for n in snap.notes if n.status == "not_available"}
    assert {"InstalledSubscriberPackage", "RemoteProxy", "TraceFlag", "DebugLevel"} <= noted
    assert snap.packages == [] and snap.oauth_tokens


# --------------------------------------------------------------------------------------------------
# Offline: snapshot file and Data Loader CSV
# --------------------------------------------------------------------------------------------------


def _ids(found: list[Any]) -> list[tuple[str, str]]:
    return [(f.id, f.severity) for f in found]


def test_pull_out_then_import_offline_gives_the_same_findings(cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "snap.json"
    cli.new("live")
    with SimOrg.start(SEED) as own:
        ca = tmp_path / "ca.pem"
        ca.write_bytes(own.ca_path.read_bytes())
        args = ["--org", "sim", "--instance-url", own.url, "--ca", str(ca)]
        r = cli("inventory", "pull", *args, "--out", str(out))
        assert r.code == 0, r.err
        live = cli("findings", "--json")
        assert live.code == 0, live.err
    # The org is gone: a pull fails cleanly and says how to go on offline.
    down = cli("inventory", "pull", *args)
    assert down.code != 0
    assert "inventory import" in down.err and "Traceback" not in down.err
    cli.new("offline")
    r = cli("inventory", "import", str(out))
    assert r.code == 0, r.err
    offline = cli("findings", "--json")
    assert offline.code == 0, offline.err
    live_ids = [(f["id"], f["severity"]) for f in live.json()["findings"]]
    assert live_ids == [(f["id"], f["severity"]) for f in offline.json()["findings"]]
    assert live_ids


def _resolve(store: Any, sobject: str, row: dict[str, Any], path: str) -> Any:
    obj = store.schema.objects[sobject]
    parts = path.split(".")
    for part in parts[:-1]:
        fd = obj.field(f"{part}Id")
        if fd is None or row.get(fd.name) is None:
            return None
        target = store.schema.objects[fd.reference_to]
        row = store.lookup(target.name, row[fd.name]) or {}
        obj = target
    fd = obj.field(parts[-1])
    return row.get(fd.name) if fd else None


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return str(value)


def write_data_loader_export(store: Any, directory: Path, responder_id: str) -> None:
    """What a responder's Data Loader exports look like: one CSV per object, upper-case headers, all quoted."""
    directory.mkdir(parents=True, exist_ok=True)
    specs: dict[str, list[str]] = {name: [p for _, p, _ in obj.fields] for name, obj in inv.OBJECTS.items()}
    specs["OauthToken"] = [*specs["OauthToken"], "DeleteToken"]
    specs["InstalledSubscriberPackage"] += [
        f"SubscriberPackageVersion.{p}" for p in ("MinorVersion", "PatchVersion", "BuildNumber")
    ]
    specs["PermissionSet"] += sorted(
        f for f in store.schema.objects["PermissionSet"].fields if f.startswith("Permissions")
    )
    specs["FieldDefinition"] = [p for p in specs["FieldDefinition"]]
    specs["Organization"] = ["Id", "Name", "OrganizationType", "IsSandbox", *inv.SHARING_FIELDS]
    specs["UserLogin"] = ["Id", "UserId", "IsFrozen"]
    for sobject, paths in specs.items():
        paths = list(dict.fromkeys(paths))
        with (directory / f"{sobject}.csv").open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, quoting=csv.QUOTE_ALL)
            writer.writerow([p.upper() for p in paths])
            for row in store.rows(sobject):
                writer.writerow([_cell(_resolve(store, sobject, row, p)) for p in paths])
    logs = directory / "ApexLog"
    logs.mkdir()
    for row in store.rows("ApexLog"):
        body = store.blob("ApexLog", row["Id"], "Body", user_id=responder_id)
        (logs / f"{row['Id']}.log").write_bytes(body)


def test_data_loader_csv_import_gives_the_same_inventory_and_findings(
    sim: SimOrg, pulled: inv.Snapshot, tmp_path: Path
) -> None:
    responder = sim.store.user_by_username(sim.demo_login.username)
    write_data_loader_export(sim.store, tmp_path / "export", responder["Id"])
    snap = inv.import_path(tmp_path / "export")
    assert snap.source.kind == "csv_export"
    assert {t.ref for t in snap.oauth_tokens} == {t.ref for t in pulled.oauth_tokens}
    assert {u.id for u in snap.users} == {u.id for u in pulled.users}
    assert inv.integration_users(snap) == inv.integration_users(pulled)
    assert {p.id: sorted(p.permissions) for p in snap.permission_sets} == {
        p.id: sorted(p.permissions) for p in pulled.permission_sets
    }
    assert all(log.body_scanned for log in snap.debug_logs)
    assert _ids(evaluate(snap)) == _ids(evaluate(pulled))


def test_import_via_cli_records_the_imported_path(cli: Any, sim: SimOrg, tmp_path: Path) -> None:
    responder = sim.store.user_by_username(sim.demo_login.username)
    write_data_loader_export(sim.store, tmp_path / "dl", responder["Id"])
    cli.new()
    r = cli("inventory", "import", str(tmp_path / "dl"), "--json")
    assert r.code == 0, r.err
    assert r.json()["saved"]["source"]["kind"] == "csv_export"
    assert r.json()["saved"]["source"]["imported_from"].endswith("dl")


# --------------------------------------------------------------------------------------------------
# Rejected input
# --------------------------------------------------------------------------------------------------


def test_bad_snapshot_is_rejected_naming_file_field_and_record(pulled: inv.Snapshot, tmp_path: Path) -> None:
    doc = json.loads(inv.snapshot_bytes(pulled))
    doc["oauth_tokens"][3]["scope"] = "full"  # a field the format does not have
    bad = tmp_path / "extra.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(inv.InventoryError) as err:
        inv.import_path(bad)
    msg = str(err.value)
    assert str(bad) in msg and "oauth_tokens[3].scope" in msg and doc["oauth_tokens"][3]["ref"] in msg

    doc = json.loads(inv.snapshot_bytes(pulled))
    doc["users"][1]["active"] = "perhaps"
    bad = tmp_path / "type.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(inv.InventoryError) as err:
        inv.import_path(bad)
    assert "users[1].active" in str(err.value) and doc["users"][1]["id"] in str(err.value)

    doc = json.loads(inv.snapshot_bytes(pulled))
    doc["format_version"] = 99
    bad = tmp_path / "future.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(inv.InventoryError, match="newer"):
        inv.import_path(bad)

    bad = tmp_path / "notjson.json"
    bad.write_text("{ nope")
    with pytest.raises(inv.InventoryError, match=r"notjson\.json: not JSON"):
        inv.import_path(bad)


def test_bad_csv_is_rejected_naming_file_line_and_column(sim: SimOrg, tmp_path: Path) -> None:
    responder = sim.store.user_by_username(sim.demo_login.username)
    export = tmp_path / "export"
    write_data_loader_export(sim.store, export, responder["Id"])
    users = export / "User.csv"
    lines = users.read_text().splitlines()
    header = next(csv.reader([lines[0]]))
    col = header.index("ISACTIVE")
    row = next(csv.reader([lines[4]]))
    row[col] = "maybe"
    lines[4] = ",".join(f'"{c}"' for c in row)
    users.write_text("\n".join(lines) + "\n")
    with pytest.raises(inv.InventoryError) as err:
        inv.import_path(export)
    msg = str(err.value)
    assert "User.csv" in msg and "line 5" in msg and "IsActive" in msg and "maybe" in msg

    write_data_loader_export(sim.store, tmp_path / "e2", responder["Id"])
    tokens = tmp_path / "e2" / "OauthToken.csv"
    rows = list(csv.reader(tokens.read_text().splitlines()))
    drop = rows[0].index("APPNAME")
    tokens.write_text("\n".join(",".join(r[:drop] + r[drop + 1 :]) for r in rows) + "\n")
    with pytest.raises(inv.InventoryError, match=r"OauthToken.csv: line 1: missing column AppName"):
        inv.import_path(tmp_path / "e2")

    empty = tmp_path / "nothing"
    empty.mkdir()
    with pytest.raises(inv.InventoryError, match="no Data Loader exports"):
        inv.import_path(empty)


def test_cli_import_of_a_bad_file_exits_non_zero_with_the_message(cli: Any, tmp_path: Path) -> None:
    cli.new()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "something-else"}))
    r = cli("inventory", "import", str(bad))
    assert r.code != 0
    assert str(bad) in r.err and "not a warroom inventory snapshot" in r.err


def test_tampered_evidence_is_refused(cli: Any, sim: SimOrg) -> None:
    cli.new()
    r = cli("inventory", "pull", *sim_args(sim), "--json")
    assert r.code == 0, r.err
    from app.composition.workspace import Workspace

    with Workspace(cli.home, cli.clock, cli.keyring).open(None) as incident:
        path = incident.evidence.path_for(r.json()["saved"]["sha256"])
        path.chmod(0o644)
        path.write_bytes(path.read_bytes().replace(b"Drift", b"Drifu"))
        with pytest.raises(inv.InventoryError, match="does not match its journaled SHA-256"):
            inv.load_current(incident)


# --------------------------------------------------------------------------------------------------
# Diff
# --------------------------------------------------------------------------------------------------


def test_diff_detects_a_new_token_a_new_permission_and_a_removed_app(pulled: inv.Snapshot) -> None:
    b = pulled.model_copy(deep=True)
    drift = next(a for a in b.connected_apps if a.name == "Drift")
    b.connected_apps = [a for a in b.connected_apps if a.name != "Drift"]
    user = b.users[0]
    b.oauth_tokens.append(
        inv.OAuthToken(
            ref="f" * 20,
            app_name="My Ticket Portal",
            user_id=user.id,
            created="2025-08-20T09:30:00.000+0000",
            use_count=3,
        )
    )
    ps = next(p for p in b.permission_sets if p.name == "HubSpot_Sync")
    ps.permissions = [*ps.permissions, "ModifyAllData"]
    result = inv.diff(pulled, b)
    assert [c.id for c in result.of("connected_apps", "removed")] == [drift.id]
    added = result.of("oauth_tokens", "added")
    assert [c.id for c in added] == ["f" * 20] and user.username in added[0].name
    changed = result.of("permission_sets", "changed")
    assert changed and changed[0].fields["permissions"] == [[], ["ModifyAllData"]]
    assert result.summary["oauth_tokens"]["added"] == 1


def test_cli_diff_of_the_last_two_pulls_shows_an_injected_token(cli: Any, tmp_path: Path) -> None:
    cli.new()
    with SimOrg.start(SEED) as own:
        assert cli("inventory", "pull", *sim_args(own)).code == 0
        own.inject(
            {
                "oauth_tokens": [
                    {
                        "app_name": "My Ticket Portal",
                        "user": "alice_sales",
                        "created": "2025-08-20T09:10:00Z",
                        "use_count": 2,
                    }
                ]
            }
        )
        assert cli("inventory", "pull", *sim_args(own)).code == 0
    r = cli("inventory", "diff", "--json")
    assert r.code == 0, r.err
    added = [c for c in r.json()["changes"] if c["collection"] == "oauth_tokens" and c["change"] == "added"]
    assert len(added) == 1 and "My Ticket Portal" in added[0]["name"] and "alice.ng@acme.example" in added[0]["name"]
    text = cli("inventory", "diff")
    assert "+ oauth_tokens: My Ticket Portal token of alice.ng@acme.example" in text.out
    assert cli("inventory", "diff", "onlyone").code == 2


# --------------------------------------------------------------------------------------------------
# Faults: reported, never a crash
# --------------------------------------------------------------------------------------------------


def test_rate_limit_is_reported(cli: Any, sim: SimOrg) -> None:
    cli.new()
    sim.faults.set(rate_limit_after=6)
    r = cli("inventory", "pull", *sim_args(sim))
    assert r.code != 0
    assert "limit" in r.err.lower() and "Traceback" not in r.err
    with Org.login(sim_credentials(sim.url, sim.ca_path), sleep=lambda _s: None) as org, pytest.raises(RateLimited):
        inv.pull(org)


def test_server_errors_are_reported(cli: Any, sim: SimOrg) -> None:
    cli.new()
    sim.faults.set(error_500=50)
    r = cli("inventory", "pull", *sim_args(sim))
    assert r.code != 0
    assert "500" in r.err and "Traceback" not in r.err
    sim.faults.reset()
    sim.faults.set(error_500=2)  # a transient error is retried and the pull completes
    with Org.login(sim_credentials(sim.url, sim.ca_path), sleep=lambda _s: None) as org:
        snap = inv.pull(org)
    assert len(snap.oauth_tokens) == sim.store.count("OauthToken")
    with Org.login(sim_credentials(sim.url, sim.ca_path), sleep=lambda _s: None, max_retries=0) as org:
        sim.faults.set(error_500=1)
        with pytest.raises(ServerFailure):
            inv.pull(org)


def test_session_expiring_mid_pull_logs_in_again(sim: SimOrg) -> None:
    expired: list[int] = []

    def progress(message: str) -> None:
        if message == "OAuth tokens" and not expired:
            expired.append(sim.expire_sessions())

    with Org.login(sim_credentials(sim.url, sim.ca_path)) as org:
        snap = inv.pull(org, progress)
    assert expired and expired[0] >= 1
    assert len(snap.oauth_tokens) == sim.store.count("OauthToken")


def test_an_expired_stored_session_is_reported(cli: Any, sim: SimOrg) -> None:
    creds = OrgCredentials(
        kind="session",
        session_id="00D5e0000000001!AQ4AQExpiredSessionForTest.abcdef",
        instance_url=sim.url,
        ca=str(sim.ca_path),
    )
    with pytest.raises(SessionExpired), Org.login(creds) as org:
        inv.pull(org)
    cli.new()
    set_ = cli(
        "creds",
        "set",
        "stale",
        "--kind",
        "session",
        "--instance-url",
        sim.url,
        "--ca",
        str(sim.ca_path),
        stdin="00D5e0000000001!AQ4AQExpiredSessionForTest.abcdef\n",
    )
    assert set_.code == 0, set_.err
    r = cli("inventory", "pull", "--org", "stale")
    assert r.code != 0
    assert "session" in r.err.lower() and "Traceback" not in r.err
    assert "AQ4AQExpiredSessionForTest" not in r.err


def test_wrong_certificate_is_a_tls_failure(cli: Any, sim: SimOrg, tmp_path: Path) -> None:
    from app.simorg.cert import generate_cert

    other = generate_cert(tmp_path / "other")
    cli.new()
    r = cli("inventory", "pull", "--org", "sim", "--instance-url", sim.url, "--ca", str(other.cert_path))
    assert r.code != 0
    assert "trusted" in r.err.lower() or "tls" in r.err.lower()


def test_pull_needs_an_incident_or_out(cli: Any, sim: SimOrg) -> None:
    r = cli("inventory", "pull", *sim_args(sim))
    assert r.code == 2 and "warroom new" in r.err
    r = cli("inventory", "pull", "--org", "sim")
    assert r.code != 0
