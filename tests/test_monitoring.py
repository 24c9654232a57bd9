"""The monitoring window end to end through `warroom monitor` against the simulated org over TLS: a baseline
run, then on day 9 the attacker tries again and each alert type is raised once and journaled; a run that finds
nothing new raises nothing; a failed run and the end of the window are journaled or refused as they should be."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from app import report as report_mod
from app.composition.workspace import Workspace
from app.monitoring import ALERT_TYPES
from app.simorg import SimOrg
from tests.simorg_helpers import sim_args

ACTOR_IP = "208.68.36.90"  # in the shipped chat-vendor-theft indicator set


@pytest.fixture
def sim(cli: Any, tmp_path: Path) -> Iterator[SimOrg]:
    with SimOrg.start("chat-vendor-theft", clock=cli.clock, cert_dir=tmp_path / "cert") as org:
        yield org


def _open(cli: Any) -> Any:
    return Workspace(cli.home, cli.clock, cli.keyring).open(None)


def _conn(sim: SimOrg) -> tuple[str, ...]:
    return sim_args(sim)[2:]


def _contain(cli: Any, sim: SimOrg, *plan_args: str) -> None:
    planned = cli("contain", "plan", *plan_args, *sim_args(sim), "--json")
    assert planned.code == 0, planned.err
    applied = cli("contain", "apply", planned.json()["plan_id"], "--confirm", "sim", *_conn(sim))
    assert applied.code == 0, applied.err + applied.out


def _attacker_returns(sim: SimOrg) -> dict[str, str]:
    """Day 9: the attacker tries again. Rows written as the org would hold them after each change."""
    st = sim.store
    with st.lock:
        now = st.now()
        drift_user = st.user_by_username("drift-int@acme.example")["Id"]
        bob = st.user_by_username("bob.ortiz@acme.example")["Id"]
        marketing = st.user_by_username("marketing-sync@acme.example")["Id"]
        st.insert(
            "OauthToken",
            {"AppName": "Drift", "UserId": drift_user, "CreatedDate": now, "DeleteToken": "day9-drift-token"},
        )
        app = st.insert("ConnectedApplication", {"Name": "Salesforce Data Sync Pro", "CreatedDate": now})
        pkg = st.insert(
            "SubscriberPackage", {"Name": "Data Sync Pro", "NamespacePrefix": "dsp", "IsPackageValid": True}
        )
        st.insert("InstalledSubscriberPackage", {"SubscriberPackageId": pkg["Id"]})
        tools = st.find("PermissionSet", Name="Developer_Tools")[0]
        psa = st.insert("PermissionSetAssignment", {"AssigneeId": bob, "PermissionSetId": tools["Id"]})
        st.insert(
            "SetupAuditTrail",
            {
                "Action": "PermSetAssign",
                "Section": "Manage Users",
                "Display": "Permission set Developer_Tools: assigned to user bob.ortiz@acme.example",
                "CreatedDate": now,
                "CreatedById": bob,
            },
        )
        profile = st.find("Profile", Name="Standard User")[0]["Id"]
        new_user = st.insert(
            "User",
            {"Username": "sync.helper@acme.example", "Name": "Sync Helper", "IsActive": True, "ProfileId": profile,
             "UserType": "Standard"},
        )  # fmt: skip
        st.insert("UserLogin", {"UserId": new_user["Id"], "IsFrozen": False, "IsPasswordLocked": False})
        login = st.insert(
            "LoginHistory",
            {"UserId": drift_user, "LoginTime": now, "SourceIp": ACTOR_IP, "Status": "Success", "Application": "Drift"},
        )
        st.insert(
            "ApiEvent",
            {"EventDate": now, "EventIdentifier": "day9-query", "UserId": drift_user, "Username": "drift-int@acme.example",
             "SourceIp": ACTOR_IP, "Query": "SELECT Id, Name, Email FROM Contact", "QueriedEntities": "Contact",
             "RowsProcessed": 5000.0, "Operation": "Query"},
        )  # fmt: skip
        frozen = st.find("UserLogin", UserId=marketing)[0]
        st.table("UserLogin").update(st.table("UserLogin").key_of(frozen["Id"]), {"IsFrozen": False})
    return {"app": app["Id"], "psa": psa["Id"], "login": login["Id"]}


def test_each_alert_type_is_raised_once_on_day_9_and_journaled(cli: Any, sim: SimOrg, tmp_path: Path) -> None:
    cli.new()
    assert cli("monitor", "run", *_conn(sim)).code == 2  # no window yet
    _contain(cli, sim, "revoke_tokens", "--app", "Drift")
    _contain(cli, sim, "freeze_users", "--user", "marketing-sync@acme.example")
    froze = [r["Display"] for r in sim.store.rows("SetupAuditTrail") if r.get("Action") == "frozeuser"]
    assert froze == ["Froze user marketing-sync@acme.example"]  # the org's audit trail records the freeze
    started = cli("monitor", "start", "--days", "28", "--org", "sim")
    assert started.code == 0, started.err

    cli.clock.advance(timedelta(hours=1))
    first = cli("monitor", "run", *_conn(sim), "--json")
    assert first.code == 0, first.err + first.out
    assert first.json()["baseline"] is True and first.json()["alerts"] == []

    cli.clock.advance(timedelta(days=8))
    ids = _attacker_returns(sim)
    cli.clock.advance(timedelta(minutes=5))  # the next scheduled run comes a few minutes later
    second = cli("monitor", "run", *_conn(sim))
    assert second.code == 0, second.err
    assert "run 2 (day 9)" in second.out
    with _open(cli) as incident:
        alerts = [e.data for e in incident.journal.entries(kind="monitoring.alert")]
        runs = [e.data for e in incident.journal.entries(kind="monitoring.run")]
    assert sorted(a["type"] for a in alerts) == sorted(ALERT_TYPES)  # each type exactly once
    by_type = {a["type"]: a for a in alerts}
    assert all(a["run"] == 2 and a["day"] == 9 for a in alerts)
    assert "Drift" in by_type["token_regranted"]["title"]
    assert by_type["new_connected_app"]["records"] == [ids["app"]]
    assert "Data Sync Pro" in by_type["new_package"]["title"]
    escalation = by_type["permission_escalation"]
    assert escalation["records"][0] == ids["psa"] and "Developer_Tools" in escalation["title"]
    assert escalation["detail"].startswith("Setup Audit Trail ") and "bob.ortiz@acme.example" in escalation["detail"]
    assert len(escalation["records"]) == 2  # the assignment and the audit-trail row that recorded it
    assert "sync.helper@acme.example" in by_type["api_enabled_user"]["title"]
    assert (
        by_type["login_from_indicator"]["records"] == [ids["login"]]
        and ACTOR_IP in by_type["login_from_indicator"]["title"]
    )
    assert "marketing-sync@acme.example" in by_type["user_unfrozen"]["title"]
    assert [r["status"] for r in runs] == ["ok", "ok"] and runs[1]["alerts"] == 8
    assert runs[1]["still_true"] == 0  # the login both the hunt and the LoginHistory check found is new, once
    assert "chat-vendor-theft" in runs[1]["indicator_sets"] and runs[1]["collect_status"] == "complete"
    assert "ApiEvent" in by_type["indicator_hit"]["title"] and ACTOR_IP in by_type["indicator_hit"]["title"]
    with _open(cli) as incident:
        hunt_run = incident.journal.last("hunt.run")
    assert hunt_run is not None and hunt_run.data["new_hits"] >= 2  # the collected login and API event
    for line in ("ALERT token_regranted", "ALERT login_from_indicator", "ALERT user_unfrozen"):
        assert line in second.out

    # Nothing new since: nothing raised again. The token and the unfrozen user are still there (counted); the
    # diff and the logins only look at what changed since run 2.
    cli.clock.advance(timedelta(hours=6))
    third = cli("monitor", "run", *_conn(sim), "--json")
    assert third.code == 0 and third.json()["alerts"] == [] and third.json()["still_true"] == 2
    status = cli("monitor", "status", "--json").json()
    assert status["runs"] == 3 and status["alerts"] == 8 and status["day"] == 9 and status["days_left"] == 20
    assert status["alerts_by_type"] == {t: 1 for t in sorted(ALERT_TYPES)}
    assert status["runs_by_day"] == {"1": 1, "9": 2}
    text = cli("monitor", "status").out
    assert "day 9 of 28" in text and "days with a run: 2 of 9" in text
    assert "not acknowledged (8;" in text and f"login:{ids['login']}" in text
    acked = cli("monitor", "ack", f"login:{ids['login']}", "--note", "kim checks with the user")
    assert acked.code == 0, acked.err
    assert cli("monitor", "ack", f"login:{ids['login']}").code == 2  # once
    assert cli("monitor", "ack", "login:nope").code != 0
    with _open(cli) as incident:
        ack = incident.journal.last("monitoring.ack")
    assert ack is not None and ack.data == {
        "key": f"login:{ids['login']}",
        "type": "login_from_indicator",
        "note": "kim checks with the user",
    }
    assert "not acknowledged (7;" in cli("monitor", "status").out
    verified = cli("journal", "verify", "--json")
    assert verified.code == 0 and verified.json()["ok"] is True
    assert cli("report", "--format", "json", "--out", str(tmp_path / "r.json")).code == 0
    report = report_mod.Report.model_validate_json((tmp_path / "r.json").read_text())
    mon = report.recovery.monitoring
    with _open(cli) as incident:
        window_seq = incident.journal.last("monitoring.window").seq
    served = [c for c in report.controls if any(i.id == "recover.enhanced-monitoring" for i in c.items)]
    assert served and all(window_seq in c.entries for c in served)  # the checklist's evidence names the kind
    assert mon is not None and (mon.runs, mon.day, mon.days_with_a_run) == (3, 9, 2)
    assert mon.days_without_a_run == list(range(2, 9)) and len(mon.alerts) == 8
    acked = [a for a in mon.alerts if a.acknowledged]
    assert [a.type for a in acked] == ["login_from_indicator"] and acked[0].acknowledged.startswith("by tester at ")
    markdown = cli("report").out
    assert "## Remediation and recovery: enhanced monitoring" in markdown
    assert markdown.count("Acknowledged by tester at ") == 1 and markdown.count("Not acknowledged.") == 7


def test_a_failed_run_is_journaled_and_the_end_of_the_window_is_respected(cli: Any, sim: SimOrg) -> None:
    cli.new()
    assert cli("monitor", "start", "--days", "14", "--org", "sim").code == 0
    broken = cli("monitor", "run", "--instance-url", "https://127.0.0.1:9", "--ca", str(sim.ca_path))
    assert broken.code != 0 and "monitoring run 1 failed" in broken.err
    with _open(cli) as incident:
        run = incident.journal.last("monitoring.run")
    assert run.data["status"] == "failed" and run.data["until_utc"] == run.data["since_utc"]
    cli.clock.advance(timedelta(days=14, seconds=1))
    with _open(cli) as incident:
        size = incident.journal.head().size
    ended = cli("monitor", "run", *_conn(sim))
    assert ended.code == 0 and "ended" in ended.out
    with _open(cli) as incident:
        assert incident.journal.head().size == size  # nothing journaled after the end
    assert cli("monitor", "start", "--days", "0").code == 2


def test_closing_the_window_records_the_decision_and_stops_the_runs(cli: Any, sim: SimOrg) -> None:
    cli.new()
    assert cli("monitor", "close", "--decision", "x").code == 2  # nothing to close yet
    assert cli("monitor", "start", "--days", "28", "--org", "sim").code == 0
    cli.clock.advance(timedelta(days=20))
    closed = cli("monitor", "close", "--decision", "keep the IP policy, retire the export alert")
    assert closed.code == 0, closed.err
    with _open(cli) as incident:
        entries = [e.data for e in incident.journal.entries(kind="monitoring.window")]
        size = incident.journal.head().size
    assert entries[-1]["phase"] == "close" and entries[-1]["decision"].startswith("keep the IP policy")
    assert cli("monitor", "close", "--decision", "again").code == 2
    status = cli("monitor", "status", "--json").json()
    assert status["ended"] is True and status["day"] == 21 and status["closed_by"] == "tester"
    ended = cli("monitor", "run", *_conn(sim))
    assert ended.code == 0 and "ended" in ended.out
    with _open(cli) as incident:
        assert incident.journal.head().size == size  # neither the refused close nor the run wrote anything
    assert "closed " in cli("monitor", "status").out
