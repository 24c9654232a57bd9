"""Token use by address over time, from Event Log Files in Salesforce's documented shapes (tests/fixtures/documented),
not from the simulated org's output: API calls per source address per hour, counted for an app when the calling
user holds its tokens (the API, RestApi and Bulk headers name no app) or when an ApiTotalUsage row names the app by
CONNECTED_APP_ID; an ApiTotalUsage row repeating a logged request (same REQUEST_ID) counts once; a Login row is no
API call; what has no time is counted, never placed."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from app.base.sfschema import salesforce_schema
from app.hunt.calls import api_calls
from app.report import svg
from app.report.token_use import TOP_ADDRESSES, AddressSeries, AppTokenUse, TokenUse, token_use
from screens import charts

DOCUMENTED = Path(__file__).resolve().parent / "fixtures" / "documented"
LOGS = ("restapi-query.csv", "bulkapi2-job.csv", "api-soap.csv", "apitotalusage.csv", "login-oauth.csv")
DRIFT_ID = "0H45e0000000001AAA"
# Users: ...001 holds Drift tokens; ...002 holds Drift and HubSpot tokens; ...009 holds none.
TOKENS = [
    ("Drift", "0055e0000000001AAA", "d1"),
    ("Drift", "0055e0000000002AAA", "d2"),
    ("HubSpot", "0055e0000000002AAA", "h1"),
]


def test_the_api_fixture_carries_the_documented_header() -> None:
    with (DOCUMENTED / "api-soap.csv").open(encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh))
    spec = salesforce_schema().log_type("API")
    assert spec is not None and header == spec.columns
    with (DOCUMENTED / "apitotalusage.csv").open(encoding="utf-8", newline="") as fh:
        usage = next(csv.reader(fh))
    documented = salesforce_schema().log_type("ApiTotalUsage")
    assert documented is not None and set(usage) <= set(documented.columns)


def _export(directory: Path) -> Path:
    """Data Loader exports with the documented columns: the apps' OAuth tokens and the Drift connected app."""
    directory.mkdir()
    with (directory / "OauthToken.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["AppName", "AppMenuItemId", "UserId", "CreatedDate", "LastUsedDate", "UseCount", "DeleteToken"])
        for app, user, token in TOKENS:
            w.writerow([app, "0DS5e0000000001AAA", user, "2025-08-01T00:00:00.000Z", "", "1", token])
    with (directory / "ConnectedApplication.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Id", "Name", "OptionsAllowAdminApprovedUsersOnly"])
        w.writerow([DRIFT_ID, "Drift", "false"])
    return directory


@pytest.fixture
def preserved(cli: Any, tmp_path: Path) -> Any:
    cli.new()
    for name in LOGS:
        result = cli("evidence", "add", str(DOCUMENTED / name))
        assert result.code == 0, result.err
    result = cli("inventory", "import", str(_export(tmp_path / "export")))
    assert result.code == 0, result.err
    return cli


def _use(cli: Any) -> tuple[TokenUse, bool]:
    """The series, and whether the analysis database and a plain read of the files give the same calls."""
    from app.composition.workspace import Workspace

    with Workspace(cli.home, cli.clock, cli.keyring).open() as incident:
        indexed, scanned = api_calls(incident), api_calls(incident, use_index=False)
        return token_use(incident), sorted(map(repr, indexed)) == sorted(map(repr, scanned))


def _hours(a: AddressSeries) -> dict[str, int]:
    return {h.hour_utc: h.count for h in a.hours}


def test_calls_per_address_per_hour_for_each_apps_token_holders(preserved: Any) -> None:
    use, same = _use(preserved)
    assert same  # the analysis database gives the calls a plain read of the files gives
    assert use.log_types == ("API", "ApiTotalUsage", "BulkApi2", "RestApi")  # the Login row is no API call
    assert use.snapshots == 1 and use.unattributed == 1  # user ...009 holds no token
    drift, hubspot = use.apps
    assert (drift.app, drift.calls, drift.users, drift.undated, drift.shared_calls) == ("Drift", 8, 2, 1, 2)
    by_ip = {a.ip: a for a in drift.addresses}
    assert [a.ip for a in drift.addresses] == ["208.68.36.90", "185.220.101.143", "44.215.108.109", "3.239.45.43"]
    assert _hours(by_ip["208.68.36.90"]) == {"2025-08-17T11:00:00Z": 3}  # three Bulk API 2.0 job state rows
    # two REST calls; the ApiTotalUsage row with the same REQUEST_ID is the same request, counted once
    assert _hours(by_ip["185.220.101.143"]) == {"2025-08-16T14:00:00Z": 2} and by_ip["185.220.101.143"].total == 2
    assert _hours(by_ip["44.215.108.109"]) == {"2025-08-16T14:00:00Z": 1, "2025-08-16T15:00:00Z": 1}
    # an ApiTotalUsage row names the app by CONNECTED_APP_ID but carries no time: counted, not placed
    assert by_ip["3.239.45.43"].hours == () and by_ip["3.239.45.43"].total == 1
    assert (drift.first_utc, drift.last_utc) == ("2025-08-16T14:13:00Z", "2025-08-17T11:15:04Z")
    assert (hubspot.app, hubspot.calls, hubspot.shared_calls) == ("HubSpot", 2, 2)
    assert [(a.ip, _hours(a)) for a in hubspot.addresses] == [
        ("44.215.108.109", {"2025-08-16T14:00:00Z": 1, "2025-08-16T15:00:00Z": 1})
    ]


def test_the_terminal_and_the_svg_draw_the_same_series(preserved: Any) -> None:
    use, _ = _use(preserved)
    text = charts.token_use_rows(use, 100).plain
    assert "Drift  8 call(s) by 2 token holder(s); busiest hour 3" in text and "HubSpot  2 call(s)" in text
    for a in use.apps[0].addresses:
        assert a.ip in text
    assert "1 call(s) without a usable time are counted but not placed" in text
    assert "1 call(s) by users holding no app's token are not shown" in text
    assert "from 2025-08-16 14:00:00 UTC" in text and "to   2025-08-17 12:00:00 UTC" in text
    picture = svg.token_use_svg(use)
    assert picture.startswith("<svg") and "<title>Token use" in picture
    assert picture.count("<rect") == sum(len(a.hours) for app in use.apps for a in app.addresses)
    assert "208.68.36.90, hour from 2025-08-17T11:00:00Z: 3 call(s)" in picture


def test_busy_apps_fold_the_quiet_addresses_and_empty_series_say_why() -> None:
    from app.report.hourly import HourCount

    many = tuple(AddressSeries(f"10.0.0.{i}", (HourCount("2025-08-16T14:00:00Z", 20 - i),), 20 - i) for i in range(12))
    app = AppTokenUse(
        "Gong", 40, many, sum(a.total for a in many), 0, 0, "2025-08-16T14:00:00Z", "2025-08-16T14:00:00Z"
    )
    shown, more, calls = app.top()
    assert len(shown) == TOP_ADDRESSES and more == 12 - TOP_ADDRESSES and calls == sum(a.total for a in many[8:])
    text = charts.token_use_rows(TokenUse((app,), ("RestApi",), 1, 0), 80).plain
    assert f"{more} more address(es): {calls:,} call(s)" in text and "10.0.0.8" not in text
    nothing = TokenUse((), (), 0, 0)
    assert "no API event log file preserved" in charts.token_use_rows(nothing, 80).plain
    assert "No API event log file preserved" in svg.token_use_svg(nothing)
    unnamed = TokenUse((), ("RestApi",), 0, 5)
    assert "no inventory snapshot names the apps' token holders" in charts.token_use_rows(unnamed, 80).plain
