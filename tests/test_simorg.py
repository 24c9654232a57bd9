"""The simulated org over real HTTPS, driven through simple-salesforce via the adapter: SOQL, paging caps,
describe, containment semantics, downloads, faults, injects, seed validation and the shipped scenarios."""

from __future__ import annotations

import csv
import io
import json
import signal
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import requests
from simple_salesforce.exceptions import SalesforceMalformedRequest

from app.base.clock import FrozenClock
from app.base.errors import WarroomError
from app.salesforce.client import (
    AuthFailed,
    InsufficientAccess,
    InvalidToken,
    ObjectUnavailable,
    Org,
    OrgError,
    QueryFailed,
    QueryTruncated,
    RateLimited,
    RecordNotFound,
    RequestRefused,
    SessionExpired,
)
from app.simorg import SeedError, SimOrg, load_seed
from app.simorg.ids import to18
from tests.conftest import subprocess_env
from tests.simorg_helpers import LIMITED, NOW, PASSWORD, RESPONDER, TOKEN, login, mini_seed, start_sim

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def sim(tmp_path: Path) -> Any:
    with start_sim(tmp_path) as s:
        yield s


@pytest.fixture
def org(sim: SimOrg) -> Any:
    with login(sim, options={"sleep": lambda s: None}) as o:
        yield o


# ---------------------------------------------------------------- seeds


def _write(tmp_path: Path, text: str, name: str = "seed.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_unknown_key_names_file_line_and_field(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        mini_seed()
        .replace('title = "x"', "")
        .replace('last_name = "Limited"', 'last_name = "Limited"\nfavourite_colour = "red"'),
    )
    with pytest.raises(SeedError) as err:
        load_seed(path)
    text = str(err.value)
    assert str(path) in text
    assert "users[1].favourite_colour: unknown key" in text
    line = path.read_text().splitlines().index('favourite_colour = "red"') + 1
    assert f"{path}:{line}:" in text


def test_bad_reference_and_bad_value_are_named(tmp_path: Path) -> None:
    path = _write(tmp_path, mini_seed().replace('profile = "std"', 'profile = "nosuch"'))
    with pytest.raises(SeedError, match=r"users\[1\]\.profile: unknown profile key 'nosuch'"):
        load_seed(path)
    path = _write(tmp_path, mini_seed().replace("use_count = 4000", 'use_count = "many"'))
    with pytest.raises(SeedError, match=r"oauth_tokens\[0\]\.use_count"):
        load_seed(path)
    path = _write(tmp_path, mini_seed().replace("created = 2025-03-01T00:00:00Z", "created = 2025-03-01T00:00:00"))
    with pytest.raises(SeedError, match=r"oauth_tokens\[0\]\.created: .*zone"):
        load_seed(path)
    path = _write(tmp_path, mini_seed().replace('JOB_STATUS = "Deleted"', 'NO_SUCH_COLUMN = "x"'))
    with pytest.raises(SeedError, match=r"event_log_files\[0\]\.rows\[0\]\.NO_SUCH_COLUMN: no column"):
        load_seed(path)


def test_syntax_error_and_json_seed(tmp_path: Path) -> None:
    path = _write(tmp_path, "[organization\nname = 'x'\n")
    with pytest.raises(SeedError, match=rf"{path}:1:\d+: TOML syntax"):
        load_seed(path)
    path = _write(
        tmp_path,
        json.dumps({"organization": {"name": "J", "now": "2025-01-01T00:00:00Z", "colour": "red"}}),
        "seed.json",
    )
    with pytest.raises(SeedError, match=r"seed\.json: organization\.colour: unknown key"):
        load_seed(path)
    with pytest.raises(SeedError, match="no seed named 'nope'"):
        load_seed("nope")


def test_licensed_objects_need_event_monitoring(tmp_path: Path) -> None:
    path = _write(tmp_path, mini_seed(event_monitoring=False))
    with pytest.raises(SeedError, match=r"event_log_files\[0\]\.event_type: event type 'BulkApi2' needs"):
        load_seed(path)


def test_generation_is_deterministic(tmp_path: Path) -> None:
    from app.simorg.build import build_store

    path = _write(tmp_path, mini_seed(generate={"users": 30, "tokens": 50, "assignments": 20}))
    a = build_store(load_seed(path), FrozenClock(NOW))
    b = build_store(load_seed(path), FrozenClock(NOW))
    tokens_a = [(r["UserId"], r["DeleteToken"]) for r in a.rows("OauthToken")]
    assert tokens_a == [(r["UserId"], r["DeleteToken"]) for r in b.rows("OauthToken")]
    assert len(tokens_a) == 54 and len({t for _, t in tokens_a}) == 54
    assert a.count("PermissionSetAssignment") == b.count("PermissionSetAssignment") == 3 + 30 + 1 + 20


# ---------------------------------------------------------------- SOQL


def test_relationship_fields_and_nested_nulls(org: Org) -> None:
    rows = org.query("SELECT Username, Profile.Name, Profile.UserLicense.Name FROM User ORDER BY Username")
    drift = next(r for r in rows if r["Username"] == "drift-int@mini.example")
    assert drift["Profile"] == {
        "Name": "Minimum Access - API Only Integrations",
        "UserLicense": {"Name": "Salesforce Integration"},
    }
    tokens = org.query("SELECT AppName, AppMenuItem.Label, User.Username, UseCount FROM OauthToken")
    assert {t["User"]["Username"] for t in tokens} == {"drift-int@mini.example"}
    assert tokens[0]["AppMenuItem"]["Label"] == "Drift"
    psa = org.query(
        "SELECT Assignee.Username, PermissionSet.Name, PermissionSet.IsOwnedByProfile, "
        "PermissionSet.Profile.Name FROM PermissionSetAssignment WHERE PermissionSet.IsOwnedByProfile = "
        "false"
    )
    assert psa == [
        {
            "Assignee": {"Username": "drift-int@mini.example"},
            "PermissionSet": {"Name": "Drift_View_All", "IsOwnedByProfile": False, "Profile": None},
        }
    ]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Username = 'RESPONDER@mini.example'", {RESPONDER}),
        (f"Username != '{RESPONDER}' AND IsActive = true", {LIMITED, "drift-int@mini.example"}),
        ("Username IN ('limited@mini.example', 'x@y')", {LIMITED}),
        ("Username NOT IN ('limited@mini.example') AND Profile.Name LIKE 'Minimum%'", {"drift-int@mini.example"}),
        (
            "(Username LIKE 'resp%' OR Username LIKE '%int@%') AND NOT Username LIKE 'x%'",
            {RESPONDER, "drift-int@mini.example"},
        ),
        ("LastLoginDate = null AND Email != null", {LIMITED, "drift-int@mini.example"}),
        ("CreatedDate < 2025-08-01T00:00:00Z", {RESPONDER, LIMITED, "drift-int@mini.example"}),
        ("CreatedDate >= 2025-08-01T00:00:00Z", set()),
        ("Profile.PermissionsApiUserOnly = true", {"drift-int@mini.example"}),
    ],
)
def test_where_operators(org: Org, where: str, expected: set[str]) -> None:
    rows = org.query(f"SELECT Username FROM User WHERE {where}")
    assert {r["Username"] for r in rows} == expected


def test_date_literals_order_limit_and_counts(org: Org) -> None:
    # The org's clock is frozen at 2025-08-20 09:00Z.
    recent = org.query("SELECT SourceIp FROM LoginHistory WHERE LoginTime = LAST_N_DAYS:30 ORDER BY LoginTime")
    assert [r["SourceIp"] for r in recent] == ["208.68.36.90", "127.0.0.1"]  # the seed's, then our own login
    assert org.count("SELECT COUNT() FROM LoginHistory WHERE LoginTime < LAST_N_DAYS:30") == 1
    assert org.count("LoginHistory") == 3
    assert org.count("SELECT COUNT() FROM ApexLog WHERE StartTime = YESTERDAY") == 1
    assert org.count("SELECT COUNT(Id) FROM User") == 3
    rows = org.query("SELECT Username FROM User ORDER BY LastName DESC NULLS LAST LIMIT 2")
    assert [r["Username"] for r in rows] == [RESPONDER, LIMITED]
    rows = org.query("SELECT Username FROM User ORDER BY Username LIMIT 1 OFFSET 1")
    assert [r["Username"] for r in rows] == [LIMITED]
    ids = org.query("SELECT Id FROM User WHERE Username = 'limited@mini.example'")
    short = ids[0]["Id"][:15]
    assert to18(short) == ids[0]["Id"]
    assert org.query(f"SELECT Username FROM User WHERE Id = '{short}'") == [{"Username": LIMITED}]


@pytest.mark.parametrize(
    ("soql", "code", "error"),
    [
        ("SELECT Id FROM User GROUP BY Id", "MALFORMED_QUERY", QueryFailed),
        ("SELECT Id, (SELECT Id FROM Contacts) FROM Account", "MALFORMED_QUERY", QueryFailed),
        ("SELECT Id FROM User WHERE", "MALFORMED_QUERY", QueryFailed),
        ("SELEC Id FROM User", "MALFORMED_QUERY", QueryFailed),
        ('SELECT Id FROM User WHERE Username = "x"', "MALFORMED_QUERY", QueryFailed),
        ("SELECT Nope FROM User", "INVALID_FIELD", QueryFailed),
        ("SELECT Profile.Nope FROM User", "INVALID_FIELD", QueryFailed),
        ("SELECT Nope.Name FROM User", "INVALID_FIELD", QueryFailed),
        ("SELECT Id FROM User WHERE IsActive = 'yes'", "INVALID_FIELD", QueryFailed),
        ("SELECT Id FROM User WHERE CreatedDate > 2025-01-01", "INVALID_FIELD", QueryFailed),
        ("SELECT Id FROM LoginHistory WHERE Application = 'Drift'", "INVALID_FIELD", QueryFailed),
        ("SELECT Id FROM NoSuchThing", "INVALID_TYPE", ObjectUnavailable),
        ("SELECT Id FROM RemoteProxy", "INVALID_TYPE", ObjectUnavailable),
    ],
)
def test_bad_soql_gets_salesforce_error_bodies(org: Org, soql: str, code: str, error: type) -> None:
    with pytest.raises(error) as err:
        org.query(soql)
    assert err.value.code == code
    assert "Traceback" not in str(err.value)
    # The raw body is Salesforce's list of errors, with the row/column layout.
    with pytest.raises(SalesforceMalformedRequest) as raw:
        org.sf.query(soql)
    body = raw.value.content
    assert isinstance(body, list) and body[0]["errorCode"] == code
    assert "ERROR at Row:1:Column:" in body[0]["message"]


def test_no_traceback_for_odd_input(org: Org) -> None:
    for soql in (
        "",
        "   ",
        "SELECT",
        "SELECT Id FROM User WHERE Username = 'unterminated",
        "SELECT Id FROM User ;",
        "SELECT Id FROM User LIMIT -1",
        "SELECT Id FROM User WHERE Id IN ()",
        "\x00\x01",
    ):
        with pytest.raises(QueryFailed) as err:
            org.query(soql)
        assert err.value.code == "MALFORMED_QUERY", soql


def test_tooling_queries_and_shapes(org: Org) -> None:
    sites = org.tooling_query("SELECT SiteName FROM RemoteProxy")
    assert sites == []
    page = org.sf.restful("tooling/query/", params={"q": "SELECT Id, DeveloperName FROM DebugLevel"})
    assert {"size", "totalSize", "done", "queryLocator", "entityTypeName", "records"} <= set(page)
    assert page["entityTypeName"] == "DebugLevel"
    with pytest.raises(ObjectUnavailable) as err:
        org.query("SELECT Id FROM TraceFlag")
    assert "Tooling API" in str(err.value)


# ---------------------------------------------------------------- paging


def test_paging_across_several_pages(tmp_path: Path) -> None:
    with start_sim(tmp_path, generate={"accounts": 1100}) as sim, login(sim) as org:
        pages: list[int] = []
        first = org.sf.query("SELECT Id, Name FROM Account", headers={"Sforce-Query-Options": "batchSize=200"})
        pages.append(len(first["records"]))
        assert first["totalSize"] == 1100 and first["done"] is False
        assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/")
        page = first
        while not page["done"]:
            page = org.sf.query_more(page["nextRecordsUrl"], identifier_is_url=True)
            pages.append(len(page["records"]))
        assert pages == [200] * 5 + [100]
        assert "nextRecordsUrl" not in page
        rows = org.query("SELECT Id, Name FROM Account", batch_size=200)
        assert len(rows) == 1100 and len({r["Id"] for r in rows}) == 1100
        assert org.last_truncation is None
        # The default batch is 2,000.
        assert len(org.sf.query("SELECT Id FROM Account")["records"]) == 1100


def test_oauthtoken_paging_cap(tmp_path: Path) -> None:
    with start_sim(tmp_path, generate={"users": 40, "tokens": 3000}) as sim, login(sim) as org:
        first = org.sf.query("SELECT AppName, UserId FROM OauthToken")
        assert len(first["records"]) == 500 and first["totalSize"] == 3004
        rows = org.query("SELECT AppName, UserId, DeleteToken FROM OauthToken")
        assert len(rows) == 2500
        assert org.last_truncation is not None and org.last_truncation.total == 3004
        with pytest.raises(QueryTruncated) as err:
            org.query("SELECT AppName FROM OauthToken", strict=True)
        assert len(err.value.records) == 2500 and err.value.total == 3004
        assert org.count("OauthToken") == 3004
        # Partitioning by UserId gets them all.
        users = [u["Id"] for u in org.query("SELECT Id FROM User")]
        seen = []
        for i in range(0, len(users), 10):
            ids = ", ".join(f"'{u}'" for u in users[i : i + 10])
            seen += org.query(f"SELECT DeleteToken FROM OauthToken WHERE UserId IN ({ids})", strict=True)
        assert len({t["DeleteToken"] for t in seen}) == 3004


def test_oauthtoken_rows_have_null_id_and_need_customize_application(sim: SimOrg) -> None:
    with login(sim) as admin:
        rows = admin.query("SELECT Id, AppName, UserId FROM OauthToken")
        assert len(rows) == 4 and all(r["Id"] is None for r in rows)
    with login(sim, username=LIMITED) as limited:
        assert limited.query("SELECT Id, AppName FROM OauthToken") == []


@pytest.mark.slow  # about 4 s on an idle machine, but well over 10 s when the suite runs in parallel
def test_100k_tokens_page_by_user(tmp_path: Path) -> None:
    """The brief's scale: 20k users, 100k tokens, 50k assignments; the capped object is read in full."""
    gen = {"users": 20000, "tokens": 100000, "assignments": 50000}
    with start_sim(tmp_path, generate=gen) as sim, login(sim) as org:
        assert org.count("OauthToken") == 100004
        assert org.count("PermissionSetAssignment") >= 50000
        users = [u["Id"] for u in org.query("SELECT Id FROM User")]
        assert len(users) == 20003
        total = 0
        for i in range(0, len(users), 300):
            ids = ",".join(f"'{u}'" for u in users[i : i + 300])
            total += len(org.query(f"SELECT UserId, DeleteToken FROM OauthToken WHERE UserId IN ({ids})", strict=True))
        assert total == 100004


# ---------------------------------------------------------------- describe


def test_describe_lists_only_this_orgs_permission_fields(tmp_path: Path) -> None:
    with start_sim(tmp_path) as sim, login(sim) as org:
        fields = org.describe_fields("PermissionSet")
        assert {"PermissionsModifyAllData", "PermissionsViewAllData", "PermissionsApiEnabled"} <= fields
        assert "PermissionsUseAnyApiClient" not in fields
        with pytest.raises(QueryFailed) as err:
            org.query("SELECT PermissionsUseAnyApiClient FROM PermissionSet")
        assert err.value.code == "INVALID_FIELD"
        desc = org.describe("PermissionSetAssignment")
        assert desc["deletable"] is True and desc["keyPrefix"] == "0Pa"
        assert "RemoteProxy" not in {o["name"] for o in org.sf.describe()["sobjects"]}
        assert "ProtocolMismatch" in org.describe_fields("RemoteProxy", tooling=True)
        with pytest.raises(ObjectUnavailable):
            org.describe("NoSuchObject")
    with start_sim(tmp_path / "b", extra_permissions=["UseAnyApiClient"]) as sim, login(sim) as org:
        assert "PermissionsUseAnyApiClient" in org.describe_fields("PermissionSet")
        org.query("SELECT Name, PermissionsUseAnyApiClient FROM PermissionSet")


def test_event_objects_only_with_the_licence(tmp_path: Path) -> None:
    seed = mini_seed(event_monitoring=False)
    start = seed.index("[[event_log_files]]")
    end = seed.index("[[login_history]]")
    path = tmp_path / "nolicence.toml"
    path.write_text(seed[:start] + seed[end:], encoding="utf-8")
    with SimOrg.start(path, clock=FrozenClock(NOW)) as sim, login(sim) as org:
        with pytest.raises(ObjectUnavailable) as err:
            org.query("SELECT EventDate FROM ApiEvent")
        assert err.value.hint and "Event Monitoring" in err.value.hint
        assert org.query("SELECT Id FROM EventLogFile") == []


# ---------------------------------------------------------------- containment


def test_revoke_removes_the_token_and_its_sessions(sim: SimOrg, org: Org) -> None:
    tokens = org.query("SELECT DeleteToken, AppName FROM OauthToken WHERE AppName = 'Drift'")
    assert len(tokens) == 4
    sessions = org.query("SELECT Id FROM AuthSession WHERE SourceIp = '185.220.101.33'")
    assert len(sessions) == 1
    org.revoke_token(tokens[0]["DeleteToken"])
    assert org.count("SELECT COUNT() FROM OauthToken WHERE AppName = 'Drift'") == 3
    assert org.query("SELECT Id FROM AuthSession WHERE SourceIp = '185.220.101.33'") == []
    for t in tokens[1:]:
        org.revoke_token(t["DeleteToken"])
    assert org.count("SELECT COUNT() FROM OauthToken WHERE AppName = 'Drift'") == 0
    with pytest.raises(InvalidToken) as err:
        org.revoke_token(tokens[0]["DeleteToken"])
    assert tokens[0]["DeleteToken"] not in str(err.value)


def test_stolen_session_dies_with_its_token(sim: SimOrg, org: Org) -> None:
    auth = org.query("SELECT Id FROM AuthSession WHERE SourceIp = '185.220.101.33'")[0]
    stolen = sim.store.token_for_session(auth["Id"])
    headers = {"Authorization": f"Bearer {stolen}"}
    url = f"{sim.url}/services/data/v59.0/query"
    ok = requests.get(url, params={"q": "SELECT COUNT() FROM Account"}, headers=headers, verify=str(sim.ca_path))
    assert ok.status_code == 200
    org.delete("AuthSession", auth["Id"])
    dead = requests.get(url, params={"q": "SELECT COUNT() FROM Account"}, headers=headers, verify=str(sim.ca_path))
    assert dead.status_code == 401
    assert dead.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_freeze_and_unfreeze(sim: SimOrg, org: Org) -> None:
    user = org.query(f"SELECT Id FROM User WHERE Username = '{LIMITED}'")[0]
    login_row = org.query(f"SELECT Id, IsFrozen FROM UserLogin WHERE UserId = '{user['Id']}'")[0]
    assert login_row["IsFrozen"] is False
    org.update("UserLogin", login_row["Id"], {"IsFrozen": True})
    assert org.get("UserLogin", login_row["Id"])["IsFrozen"] is True
    with pytest.raises(AuthFailed) as err:
        login(sim, username=LIMITED)
    assert err.value.code == "INVALID_LOGIN"
    org.update("UserLogin", login_row["Id"], {"IsFrozen": False})
    with login(sim, username=LIMITED) as again:
        assert again.identity().username == LIMITED
    with pytest.raises(RequestRefused) as err:
        org.update("UserLogin", login_row["Id"], {"IsPasswordLocked": True})
    assert err.value.code == "FIELD_INTEGRITY_EXCEPTION"


def test_deactivate_user_ends_its_sessions(sim: SimOrg, org: Org) -> None:
    with login(sim, username=LIMITED) as victim:
        victim.count("Account")
        user_id = victim.identity().user_id
        org.update("User", user_id, {"IsActive": False})
        with pytest.raises(AuthFailed) as err:
            victim.count("Account")
        assert err.value.code == "INVALID_LOGIN"  # the re-login is refused too


def test_delete_own_session_then_transparent_relogin(sim: SimOrg, org: Org) -> None:
    mine = org.query("SELECT Id FROM AuthSession WHERE SourceIp = '127.0.0.1' ORDER BY CreatedDate DESC")
    org.delete("AuthSession", mine[0]["Id"])
    assert org.count("Account") == 0  # 401, one re-login, success


def test_permission_set_assignments(sim: SimOrg, org: Org) -> None:
    rows = org.query(
        "SELECT Id, PermissionSet.Name, PermissionSet.IsOwnedByProfile FROM PermissionSetAssignment "
        "WHERE Assignee.Username = 'drift-int@mini.example'"
    )
    owned = next(r for r in rows if r["PermissionSet"]["IsOwnedByProfile"])
    extra = next(r for r in rows if not r["PermissionSet"]["IsOwnedByProfile"])
    with pytest.raises(RequestRefused) as err:
        org.delete("PermissionSetAssignment", owned["Id"])
    assert err.value.code == "INVALID_CROSS_REFERENCE_KEY" and "profile" in str(err.value)
    org.delete("PermissionSetAssignment", extra["Id"])
    with pytest.raises(RecordNotFound):
        org.delete("PermissionSetAssignment", extra["Id"])
    left = org.query("SELECT Id FROM PermissionSetAssignment WHERE Assignee.Username = 'drift-int@mini.example'")
    assert [r["Id"] for r in left] == [owned["Id"]]
    ps = org.query("SELECT Id FROM PermissionSet WHERE Name = 'Drift_View_All'")[0]
    user = org.query("SELECT Id FROM User WHERE Username = 'drift-int@mini.example'")[0]
    new_id = org.create("PermissionSetAssignment", {"AssigneeId": user["Id"], "PermissionSetId": ps["Id"]})
    assert new_id.startswith("0Pa")
    with pytest.raises(RequestRefused) as err:
        org.create("PermissionSetAssignment", {"AssigneeId": user["Id"], "PermissionSetId": ps["Id"]})
    assert err.value.code == "DUPLICATE_VALUE"


def test_missing_permission_is_named(sim: SimOrg) -> None:
    with login(sim) as admin:
        psa = admin.query("SELECT Id FROM PermissionSetAssignment WHERE PermissionSet.Name = 'Drift_View_All'")[0]
    with login(sim, username=LIMITED) as limited:
        with pytest.raises(InsufficientAccess) as err:
            limited.delete("PermissionSetAssignment", psa["Id"])
        assert err.value.permission == "Assign Permission Sets"
        assert err.value.status == 403
        with pytest.raises(ObjectUnavailable) as unavailable:
            limited.query("SELECT Id FROM AuthSession")
        assert "Manage Users" in (unavailable.value.hint or "")


def test_read_only_fields_and_unsupported_calls(org: Org) -> None:
    user = org.query(f"SELECT Id FROM User WHERE Username = '{LIMITED}'")[0]
    with pytest.raises(RequestRefused) as err:
        org.update("User", user["Id"], {"Username": "other@x"})
    assert err.value.code == "INVALID_FIELD_FOR_INSERT_UPDATE"
    with pytest.raises(RequestRefused) as err:
        org.update("User", user["Id"], {"IsActive": "no"})
    assert err.value.code == "JSON_PARSER_ERROR"
    with pytest.raises(RequestRefused) as err:
        org.delete("ConnectedApplication", org.query("SELECT Id FROM ConnectedApplication")[0]["Id"])
    assert err.value.code == "METHOD_NOT_ALLOWED"


# ---------------------------------------------------------------- downloads


def test_event_log_file_and_apex_log_downloads(org: Org, tmp_path: Path) -> None:
    elf = org.query("SELECT Id, EventType, LogFile, LogFileFieldNames, LogFileLength FROM EventLogFile")[0]
    assert elf["LogFile"].endswith(f"/sobjects/EventLogFile/{elf['Id']}/LogFile")
    data = org.download(elf["LogFile"])
    assert len(data) == elf["LogFileLength"]
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    assert list(rows[0]) == elf["LogFileFieldNames"].split(",")
    assert rows[0]["JOB_STATUS"] == "Deleted" and rows[0]["CLIENT_IP"] == "208.68.36.90"
    assert rows[0]["TIMESTAMP_DERIVED"] == "2025-08-17T11:15:04.000Z"
    raw = org.sf.session.get(org.instance_url + elf["LogFile"], headers=org.sf.headers)
    assert raw.headers["Content-Type"] == "application/octetstream"
    seen: list[int] = []
    target = tmp_path / "out" / "bulkapi2.csv"
    assert org.download(f"sobjects/EventLogFile/{elf['Id']}/LogFile", target, progress=seen.append) == len(data)
    assert target.read_bytes() == data and seen[-1] == len(data)
    log = org.query("SELECT Id, LogLength FROM ApexLog")[0]
    body = org.download(f"sobjects/ApexLog/{log['Id']}/Body")
    assert b"4111 1111 1111 1111" in body and len(body) == log["LogLength"]
    with pytest.raises(RecordNotFound):
        org.download("sobjects/ApexLog/07L5e0000000999AAA/Body")


# ---------------------------------------------------------------- faults and injects


def test_admin_endpoint_sets_faults_and_injects(sim: SimOrg, org: Org) -> None:
    def post(path: str, body: dict[str, Any]) -> requests.Response:
        return requests.post(f"{sim.url}{path}", json=body, verify=str(sim.ca_path))

    assert post("/__sim/faults", {"error_500": 1}).json()["error_500"] == 1
    assert requests.get(f"{sim.url}/__sim/faults", verify=str(sim.ca_path)).json()["error_500"] == 1
    assert org.count("Account") == 0  # one 500, retried
    assert post("/__sim/faults", {"nonsense": 1}).status_code == 400
    assert post("/__sim/faults", {"expire_sessions": True}).json()["sessions_expired"] >= 1
    assert org.count("Account") == 0  # re-login
    inject = {
        "oauth_tokens": [
            {"app_name": "My Ticket Portal", "user": "limited", "created": "2025-08-20T09:00:00Z", "use_count": 3}
        ],
        "login_history": [
            {
                "user": "limited",
                "at": "2025-08-20T08:59:00Z",
                "ip": "185.220.101.164",
                "application": "My Ticket Portal",
                "login_sub_type": "OAuth 2.0 Device Flow",
            }
        ],
    }
    assert post("/__sim/inject", inject).status_code == 200
    portal = org.query(
        "SELECT AppName, AppMenuItemId, User.Username FROM OauthToken WHERE AppName = 'My Ticket Portal'"
    )
    assert portal == [{"AppName": "My Ticket Portal", "AppMenuItemId": None, "User": {"Username": LIMITED}}]
    bad = post(
        "/__sim/inject", {"oauth_tokens": [{"app_name": "X", "user": "nobody", "created": "2025-08-20T09:00:00Z"}]}
    )
    assert bad.status_code == 400 and "oauth_tokens[0].user: unknown user key 'nobody'" in bad.json()["error"]
    info = requests.get(f"{sim.url}/__sim/info", verify=str(sim.ca_path)).json()
    assert info["counts"]["OauthToken"] == 5


def test_natural_api_limit_and_limit_header(tmp_path: Path) -> None:
    path = _write(tmp_path, mini_seed().replace('my_domain = "mini"', 'my_domain = "mini"\napi_limit = 3'))
    with SimOrg.start(path, clock=FrozenClock(NOW)) as sim:
        org = login(sim, options={"max_retries": 1, "sleep": lambda s: None})
        org.count("Account")
        org.count("Account")
        assert org.api_usage is not None and (org.api_usage.used, org.api_usage.limit) == (2, 3)
        org.count("Account")
        with pytest.raises(RateLimited) as err:
            org.count("Account")
        assert err.value.code == "REQUEST_LIMIT_EXCEEDED"
        org.close()


def test_password_reset_resource(sim: SimOrg, org: Org) -> None:
    user = org.query(f"SELECT Id FROM User WHERE Username = '{LIMITED}'")[0]
    org.sf.set_password(user["Id"], "New-Password-2")
    with login(sim, username=LIMITED, password="New-Password-2") as again:
        assert again.identity().username == LIMITED
    with pytest.raises(AuthFailed):
        login(sim, username=LIMITED, password=PASSWORD)


# ---------------------------------------------------------------- shipped scenarios


@pytest.fixture(scope="module")
def chat_vendor() -> Any:
    with SimOrg.start("chat-vendor-theft") as sim:
        yield sim


def _attacker_rows(org: Org, ips: list[str]) -> dict[str, int]:
    """Rows read per object: ApiEvent RowsProcessed, and each Bulk API 2.0 job once with its RECORDS_PROCESSED
    (BulkApiResultEventStore documents no row count)."""
    totals: dict[str, int] = defaultdict(int)
    for row in org.query(
        "SELECT SourceIp, QueriedEntities, RowsProcessed FROM ApiEvent WHERE EventDate >= 2025-08-01T00:00:00Z"
    ):
        if row["SourceIp"] in ips:
            totals[row["QueriedEntities"]] += int(row["RowsProcessed"] or 0)
    jobs: dict[str, tuple[str, int]] = {}
    for elf in org.query("SELECT LogFile FROM EventLogFile WHERE EventType = 'BulkApi2'"):
        for rec in csv.DictReader(io.StringIO(org.download(elf["LogFile"]).decode())):
            if rec["CLIENT_IP"] in ips:
                seen = jobs.get(rec["JOB_ID"], (rec["ENTITY_TYPE"], 0))[1]
                jobs[rec["JOB_ID"]] = (rec["ENTITY_TYPE"], max(seen, int(rec["RECORDS_PROCESSED"] or 0)))
    for entity, rows in jobs.values():
        totals[entity] += rows
    return dict(totals)


def test_chat_vendor_truth_matches_the_org(chat_vendor: SimOrg) -> None:
    truth = chat_vendor.truth
    assert truth is not None
    demo = chat_vendor.demo_login
    assert demo is not None and demo.username == "responder@acme.example"
    with login(chat_vendor, username=demo.username, password=demo.password, security_token=demo.security_token) as org:
        expected: dict[str, int] = defaultdict(int)
        for ex in truth.exfiltration:
            expected[ex.object] += ex.rows
        assert _attacker_rows(org, truth.attacker_ips) == dict(expected)
        drift_user = org.query("SELECT Id FROM User WHERE Username = 'drift-int@acme.example'")[0]["Id"]
        logins = {r["SourceIp"] for r in org.query(f"SELECT SourceIp FROM LoginHistory WHERE UserId = '{drift_user}'")}
        assert set(truth.attacker_ips) <= logins
        tokens = org.query("SELECT AppName, AppMenuItemId, UserId FROM OauthToken WHERE AppName LIKE '%Drift%'")
        assert len(tokens) == 4 and all(t["UserId"] == drift_user and t["AppMenuItemId"] for t in tokens)
        app = org.query("SELECT OptionsAllowAdminApprovedUsersOnly FROM ConnectedApplication WHERE Name = 'Drift'")
        assert app == [{"OptionsAllowAdminApprovedUsersOnly": False}]
        assert org.count("Case") == 12003 and org.count("Account") == 2000 and org.count("Contact") == 6000
        recon = org.query(
            "SELECT Query FROM ApiEvent WHERE EventDate >= 2025-08-12T00:00:00Z AND EventDate < 2025-08-13T00:00:00Z"
        )
        assert sum(1 for r in recon if r["Query"].startswith("SELECT COUNT() FROM")) == 4
        elf = org.query("SELECT Id, LogFile FROM EventLogFile WHERE EventType = 'BulkApi2'")
        states = [r["JOB_STATUS"] for r in csv.DictReader(io.StringIO(org.download(elf[0]["LogFile"]).decode()))]
        assert states == ["UploadComplete", "JobComplete", "Deleted"]
        secrets = org.query("SELECT Subject FROM Case WHERE Subject LIKE '%AWS%' OR Subject LIKE '%Snowflake%'")
        assert len(secrets) == 2


def test_chat_vendor_failure_patterns_are_present(chat_vendor: SimOrg) -> None:
    truth = chat_vendor.truth
    assert truth is not None
    assert {p.id for p in truth.patterns} == {
        "over_permissioned_integration_user",
        "pii_in_debug_logs",
        "unclassified_batch_sync",
        "unreviewed_appexchange_package",
        "unauthenticated_external_data_source",
    }
    demo = chat_vendor.demo_login
    assert demo is not None
    with login(chat_vendor, username=demo.username, password=demo.password, security_token=demo.security_token) as org:
        vad = org.query(
            "SELECT Assignee.Username, PermissionSet.Name FROM PermissionSetAssignment WHERE "
            "PermissionSet.PermissionsViewAllData = true AND PermissionSet.IsOwnedByProfile = false"
        )
        assert {r["Assignee"]["Username"] for r in vad} == {"drift-int@acme.example", "chatbotpro-int@acme.example"}
        flags = org.tooling_query("SELECT TracedEntityId, ExpirationDate FROM TraceFlag")
        assert len(flags) == 2
        bodies = b"".join(
            org.download(f"sobjects/ApexLog/{log['Id']}/Body") for log in org.query("SELECT Id FROM ApexLog")
        )
        assert b"4111 1111 1111 1111" in bodies and b"@customer.example" in bodies and b"!AQ4AQ" in bodies
        packages = org.tooling_query(
            "SELECT SubscriberPackage.NamespacePrefix, "
            "SubscriberPackageVersion.IsSecurityReviewed FROM InstalledSubscriberPackage"
        )
        assert {
            p["SubscriberPackage"]["NamespacePrefix"]
            for p in packages
            if not p["SubscriberPackageVersion"]["IsSecurityReviewed"]
        } == {"cbpro"}
        sources = org.query(
            "SELECT DeveloperName FROM ExternalDataSource WHERE PrincipalType = 'Anonymous' AND "
            "Protocol = 'NoAuthentication'"
        )
        assert sources == [{"DeveloperName": "Partner_Warehouse"}]
        unclassified = org.query(
            "SELECT QualifiedApiName FROM FieldDefinition WHERE EntityDefinitionId = 'Contact' "
            "AND SecurityClassification = null"
        )
        names = {r["QualifiedApiName"] for r in unclassified}
        synced = {
            r["Field"].split(".")[1]
            for r in org.query("SELECT Field FROM FieldPermissions WHERE Parent.Name = 'Marketing_Batch_Sync'")
        }
        assert {"SSN__c", "Birthdate", "Email"} <= synced & names
        remote = org.tooling_query("SELECT SiteName FROM RemoteProxy WHERE DisableProtocolSecurity = true")
        assert remote == [{"SiteName": "Legacy_ERP"}]


def test_fake_data_loader_scenario() -> None:
    with SimOrg.start("fake-data-loader") as sim:
        truth = sim.truth
        assert truth is not None and truth.compromised_app_names == ["My Ticket Portal"]
        demo = sim.demo_login
        assert demo is not None
        with login(sim, username=demo.username, password=demo.password, security_token=demo.security_token) as org:
            portal = org.query(
                "SELECT AppName, AppMenuItemId, User.Username FROM OauthToken WHERE AppName = 'My Ticket Portal'"
            )
            assert portal == [
                {
                    "AppName": "My Ticket Portal",
                    "AppMenuItemId": None,
                    "User": {"Username": "john.smith@globex.example"},
                }
            ]
            ips = {
                r["SourceIp"]
                for r in org.query("SELECT SourceIp FROM LoginHistory WHERE LoginTime >= 2025-05-27T00:00:00Z")
            }
            assert set(truth.attacker_ips) <= ips
            with pytest.raises(ObjectUnavailable):
                org.query("SELECT Id FROM ApiEvent")
            types = {r["EventType"] for r in org.query("SELECT EventType FROM EventLogFile")}
            assert types == {"Login", "ApiTotalUsage"}


# ---------------------------------------------------------------- the command


def test_simorg_check_command(cli: Any, tmp_path: Path) -> None:
    result = cli("simorg", "check", "fake-data-loader")
    assert result.code == 0 and "Globex Corporation" in result.out
    bad = _write(tmp_path, mini_seed().replace('profile = "std"', 'profile = "zzz"'))
    result = cli("simorg", "check", str(bad))
    assert result.code == 2 and "users[1].profile: unknown profile key 'zzz'" in result.err


def test_simorg_serve_runs_in_the_foreground_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    seed = _write(tmp_path, mini_seed())
    env = subprocess_env(tmp_path / "home")
    env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "simorg", "serve", "--seed", str(seed), "--cert-dir", str(tmp_path / "cert")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines: dict[str, str] = {}
        while "demo user" not in lines:
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else ""
            key, _, value = line.partition(":")
            lines[key.strip()] = value.strip()
        url = lines["url"]
        ca = lines["certificate"]
        assert url.startswith("https://127.0.0.1:") and Path(ca).is_absolute() and Path(ca).exists()
        assert lines["demo user"].startswith(RESPONDER)
        from app.salesforce.client import OrgCredentials

        with Org.login(
            OrgCredentials(
                kind="password", username=RESPONDER, password=PASSWORD, security_token=TOKEN, instance_url=url, ca=ca
            )
        ) as org:
            assert org.identity().username == RESPONDER
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert "stopped" in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_refuses_a_busy_port(tmp_path: Path) -> None:
    with start_sim(tmp_path) as sim, pytest.raises(WarroomError, match="cannot listen"):
        SimOrg.create(tmp_path / "mini.toml", port=sim.port)


def test_stop_is_idempotent_and_closes_connections(tmp_path: Path) -> None:
    sim = start_sim(tmp_path)
    org = login(sim)
    org.count("Account")
    sim.stop()
    sim.stop()
    with pytest.raises(OrgError) as err:
        org.count("Account")
    assert err.value.code in ("OFFLINE", "TIMEOUT")
    assert (tmp_path / "cert" / "simorg-cert.pem").exists()  # the caller's directory is left alone


def test_session_kind_cannot_relogin(sim: SimOrg) -> None:
    with login(sim) as admin:  # closing the admin login would log its session out
        sid = admin.sf.session_id
        with login(sim, "session", session_id=sid) as org:
            assert org.count("Account") == 0
            sim.expire_sessions()
            with pytest.raises(SessionExpired):
                org.count("Account")


def test_json_shaped_injects_carry_event_log_files_and_query_all_sees_deletions(sim: SimOrg, org: Org) -> None:
    sim.inject(
        {
            "event_log_files": [
                {
                    "event_type": "RestApi",
                    "log_date": "2025-08-19T00:00:00Z",
                    "rows": [
                        {"at": "2025-08-19T10:00:00Z", "user": "int", "CLIENT_IP": "1.2.3.4", "ROWS_PROCESSED": 7}
                    ],
                }
            ]
        }
    )
    elf = org.query("SELECT LogFile FROM EventLogFile WHERE EventType = 'RestApi'")
    row = next(csv.DictReader(io.StringIO(org.download(elf[0]["LogFile"]).decode())))
    assert (row["TIMESTAMP"], row["CLIENT_IP"], row["ROWS_PROCESSED"]) == ("20250819100000.000", "1.2.3.4", "7")
    with pytest.raises(SeedError, match=r"rows\[0\]\.at: 'at' must be a date-time"):
        sim.inject(
            {
                "event_log_files": [
                    {"event_type": "RestApi", "log_date": "2025-08-19T00:00:00Z", "rows": [{"at": "yesterday"}]}
                ]
            }
        )
    psa = org.query("SELECT Id FROM PermissionSetAssignment WHERE PermissionSet.Name = 'Drift_View_All'")[0]
    org.delete("PermissionSetAssignment", psa["Id"])
    assert org.query(f"SELECT Id FROM PermissionSetAssignment WHERE Id = '{psa['Id']}'") == []
    gone = org.query(f"SELECT Id FROM PermissionSetAssignment WHERE Id = '{psa['Id']}'", include_deleted=True)
    assert gone == [{"Id": psa["Id"]}]
