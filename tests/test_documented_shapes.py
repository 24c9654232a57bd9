"""Issue items checked with files built from Salesforce's documented shapes (tests/fixtures/documented), not
with the simulated org's output: REST reads count in the exfiltration table, OAuth logins show the caller's
address, Bulk API 2.0 jobs count by RECORDS_PROCESSED, report rows by ROW_COUNT, and exports Salesforce cannot
count show as "rows unknown" with their event; `warroom findings` works after a recorded hunt."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from app.base.sfschema import salesforce_schema

DOCUMENTED = Path(__file__).resolve().parent / "fixtures" / "documented"
LOGS = {
    "restapi-query.csv": "RestApi",
    "login-oauth.csv": "Login",
    "bulkapi2-job.csv": "BulkApi2",
    "report.csv": "Report",
    "reportexport.csv": "ReportExport",
}


@pytest.mark.parametrize(("name", "event_type"), sorted(LOGS.items()))
def test_fixtures_carry_the_documented_header(name: str, event_type: str) -> None:
    with (DOCUMENTED / name).open(encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh))
    spec = salesforce_schema().log_type(event_type)
    assert spec is not None and header == spec.columns


@pytest.fixture
def hunted(cli: Any) -> Any:
    cli.new()
    for name in [*LOGS, "bulkapiresult.json"]:
        result = cli("evidence", "add", str(DOCUMENTED / name))
        assert result.code == 0, result.err
    result = cli("hunt", "chat-vendor-theft", "--record", "--json")
    assert result.code == 0, result.err
    return cli


def _exfil(cli: Any) -> dict[str, dict[str, Any]]:
    result = cli("exfil", "--json")
    assert result.code == 0, result.err
    return {r["object"]: r for r in result.json()}


def test_rest_get_query_rows_count_as_read(hunted: Any) -> None:
    """Item 1: a RestApi row for a query is METHOD=GET on /query; its rows are data leaving."""
    case = _exfil(hunted)["Case"]
    assert "EventLogFile/RestApi" in case["sources"]
    assert case["rows"] == 12000 + 12003  # REST query + the Bulk API 2.0 job; the describe GET reads no rows


def test_bulk_api_2_jobs_count_once_by_records_processed(hunted: Any) -> None:
    """Item 7: BulkApi2 documents RECORDS_PROCESSED; three state rows of one job count once."""
    case = _exfil(hunted)["Case"]
    assert "EventLogFile/BulkApi2" in case["sources"]
    assert case["queries"] == 3  # the REST query, the bulk job, the bulk result download


def test_report_rows_count_by_row_count_and_exports_show_rows_unknown(hunted: Any) -> None:
    """Item 8: Report rows carry ROW_COUNT; ReportExport and BulkApiResultEventStore say nothing of rows."""
    rows = _exfil(hunted)
    assert rows["Opportunity"]["rows"] == 5400
    export = next(r for r in rows.values() if "EventLogFile/ReportExport" in r["sources"])
    assert export["rows"] is None
    assert any("ReportExport" in e and "2025-08-18T09:17:00Z" in e for e in export["rows_unknown"])
    assert any("BulkApiResultEventStore" in e for e in rows["Case"]["rows_unknown"])
    text = hunted("exfil").out
    assert "rows unknown" in text and "ReportExport" in text


def test_oauth_logins_show_the_source_ip_not_salesforce_com_ip(hunted: Any) -> None:
    """Item 5: for OAuth token-endpoint logins CLIENT_IP is "Salesforce.com IP"; the caller is SOURCE_IP."""
    hits = hunted("hunt", "chat-vendor-theft", "--json").json()["hits"]
    login = [h for h in hits if h["source"] == "EventLogFile/Login"]
    assert [h["ip"] for h in login] == ["208.68.36.90"]
    assert all(h["ip"] != "Salesforce.com IP" for h in hits)


def test_findings_work_after_a_recorded_hunt(hunted: Any, tmp_path: Path) -> None:
    """Item 10: the indicator sets a recorded hunt used (with their address list file) are read back from the
    evidence store; nothing is re-read later from the temporary copy they were loaded from."""
    (tmp_path / "repo").mkdir()
    result = hunted("findings", "--scan-repo", str(tmp_path / "repo"))
    assert result.code == 0, result.err
    assert hunted("exfil").code == 0


def test_a_field_not_on_every_org_is_selected_only_when_describe_shows_it(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 3: an org whose describe lacks Profile.PermissionsApiUserOnly (as the 2022 describe output read does)
    still yields its users; the absence is a note naming the field, and no query names it."""
    from app.base.clock import FrozenClock
    from app.simorg import SimOrg
    from app.simorg.store import Store
    from tests.simorg_helpers import NOW, mini_seed

    seed = mini_seed().replace(', "ApiUserOnly"', "")
    seed = seed.replace(
        "extra_permissions = []",
        'extra_permissions = []\nabsent_fields = ["Profile.PermissionsApiUserOnly", "PermissionSet.PermissionsApiUserOnly"]',
    )
    path = tmp_path / "lacking.toml"
    path.write_text(seed, encoding="utf-8")
    sent: list[str] = []
    original = Store.query

    def recording(self: Store, text: str, **kw: Any) -> dict[str, Any]:
        sent.append(text)
        return original(self, text, **kw)

    monkeypatch.setattr(Store, "query", recording)
    with SimOrg.start(path, clock=FrozenClock(NOW), cert_dir=tmp_path / "cert") as sim:
        args = ("--org", "sim", "--instance-url", sim.url, "--ca", str(sim.ca_path))
        cli.new()
        pulled = cli("inventory", "pull", *args)
        assert pulled.code == 0, pulled.err
        planned = cli("contain", "plan", "freeze_users", "--user", "drift-int@mini.example", *args)
    assert not [q for q in sent if "PermissionsApiUserOnly" in q]
    assert any(q.startswith("SELECT") and " FROM User" in q for q in sent)
    assert "Profile.PermissionsApiUserOnly is not in this org's describe" in pulled.out + pulled.err
    assert planned.code == 0, planned.err


def _token_export(directory: Path, n: int) -> Path:
    """A Data Loader OauthToken.csv with the documented columns (OauthToken has no usable Id)."""
    directory.mkdir()
    lines = ['"APPNAME","APPMENUITEMID","USERID","CREATEDDATE","LASTUSEDDATE","USECOUNT","DELETETOKEN"']
    for i in range(n):
        lines.append(
            f'"Drift","0DS5e0000000001AAA","0055e{i:010d}AAA","2025-08-01T00:00:00.000Z",'
            f'"2025-08-17T11:04:00.000Z","{i + 1}","dt{i:06d}"'
        )
    (directory / "OauthToken.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return directory


def test_an_oauthtoken_export_of_exactly_the_query_cap_warns_it_may_be_capped(tmp_path: Path) -> None:
    """Item 9: one OauthToken query returns at most 2,500 rows, so an export of exactly 2,500 may be cut."""
    from app.inventory.importing import import_path

    capped = import_path(_token_export(tmp_path / "capped", 2500))
    notes = [n for n in capped.notes if n.object == "OauthToken"]
    assert len(capped.oauth_tokens) == 2500
    assert [n.status for n in notes] == ["partial"] and "2,500" in notes[0].message
    whole = import_path(_token_export(tmp_path / "whole", 2499))
    assert not [n for n in whole.notes if n.object == "OauthToken"]
