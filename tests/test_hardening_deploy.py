"""Hardening deployed through the Metadata API against the simulated org over HTTPS: `harden plan` reads the
connected app's ConnectedApp component and plans one `update_metadata` step; `contain apply` journals the intent,
sends updateMetadata through simple-salesforce's `mdapi`, reads the component back and journals the result;
`harden check` verifies by readMetadata; `contain undo` deploys the settings read before."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.composition.workspace import Workspace
from app.simorg import SimOrg
from tests.simorg_helpers import setup_policies, sim_args


@pytest.fixture
def sim(cli: Any, tmp_path: Path) -> Iterator[SimOrg]:
    with SimOrg.start("chat-vendor-theft", clock=cli.clock, cert_dir=tmp_path / "cert") as org:
        yield org


def _entries(cli: Any, kind: str) -> list[Any]:
    with Workspace(cli.home, cli.clock, cli.keyring).open(None) as incident:
        return list(incident.journal.entries(kind=kind))


def _gong(sim: SimOrg) -> dict[str, Any]:
    with sim.store.lock:
        return sim.metadata.components[("ConnectedApp", "Gong")]


def test_connected_app_policies_are_deployed_verified_and_undone(cli: Any, sim: SimOrg) -> None:
    cli.new()
    planned = cli("harden", "plan", "--app", "Gong", "--refresh-days", "2", *sim_args(sim), "--json")
    assert planned.code == 0, planned.err
    plan = planned.json()
    step, trace, level = plan["steps"]
    assert (step["op"], step["sobject"], step["record"]) == ("update_metadata", "ConnectedApp", "Gong")
    assert step["change"] == {
        "oauthConfig.isAdminApproved": True,
        "oauthPolicy.ipRelaxation": "ENFORCE",
        "oauthPolicy.refreshTokenPolicy": "specific_lifetime:2:DAYS",
    }
    assert step["before"]["oauthConfig.isAdminApproved"] is False
    assert step["before"]["oauthPolicy.refreshTokenPolicy"] == "infinite"
    assert (trace["op"], trace["sobject"]) == ("delete_trace_flag", "TraceFlag"), "the integration user's flag"
    assert (level["op"], level["sobject"]) == ("update_debug_level", "DebugLevel"), "and the levels it logs at"
    assert {t["kind"] for t in plan["manual_tasks"]} == {
        "connected_app_access",
        "transaction_security",
        "debug_log_hygiene",
    }
    assert _gong(sim)["oauthConfig"]["isAdminApproved"] is False, "planning changes nothing"

    before = cli("harden", "check", "--app", "Gong", *sim_args(sim), "--json").json()
    assert before["connected_app_component"]["state"] == "not met"
    assert before["connected_app_component"]["refresh_token_policy"] == "infinite"

    sent_before = sum(1 for m, p in sim.received if p.startswith("/services/Soap/m/"))
    applied = cli("contain", "apply", plan["plan_id"], "--confirm", "sim", *sim_args(sim)[2:], "--json")
    assert applied.code == 0, applied.out + applied.err
    assert sum(1 for m, p in sim.received if p.startswith("/services/Soap/m/")) > sent_before

    # The org holds the deployed settings, and the read-only object the inventory reads agrees.
    gong = _gong(sim)
    assert gong["oauthConfig"]["isAdminApproved"] is True
    assert gong["oauthPolicy"] == {"ipRelaxation": "ENFORCE", "refreshTokenPolicy": "specific_lifetime:2:DAYS"}
    assert gong["label"] == "Gong" and gong["contactEmail"], "the whole component was sent back"
    with sim.store.lock:
        row = sim.store.find("ConnectedApplication", Name="Gong")[0]
    assert row["OptionsAllowAdminApprovedUsersOnly"] is True and row["RefreshTokenValidityPeriod"] == 2

    # The journal: intent before result, the record's state before and after, the verification count.
    intent = [e for e in _entries(cli, "action.intent") if e.data["action_id"] == plan["plan_id"]]
    result = [e for e in _entries(cli, "action.result") if e.data["action_id"] == plan["plan_id"]]
    assert len(intent) == 1 and len(result) == 1 and intent[0].seq < result[0].seq
    assert intent[0].data["pending_by_op"] == {"update_metadata": 1, "delete_trace_flag": 1, "update_debug_level": 1}
    assert result[0].data["status"] == "done"
    assert result[0].data["verification"]["update_metadata"] == {"checked": 1, "not_in_target_state": 0}
    record, removed, _lowered = result[0].data["records"]
    assert record["status"] == "ok" and removed["status"] == "ok" and removed.get("after") is None
    assert record["before"]["oauthConfig.isAdminApproved"] is False
    assert record["after"]["oauthConfig.isAdminApproved"] is True
    assert record["after"]["oauthPolicy.refreshTokenPolicy"] == "specific_lifetime:2:DAYS"

    after = cli("harden", "check", "--app", "Gong", *sim_args(sim), "--json").json()
    assert after["connected_app_component"]["state"] == "met"
    assert after["connected_app_policies"]["state"] == "met"
    assert after["connected_app_component"]["session_policy_state"] == "not set"
    checks = _entries(cli, "harden.checked")
    assert [c.data["connected_app_component"]["state"] for c in checks] == ["not met", "met"]

    again = cli("contain", "apply", plan["plan_id"], "--confirm", "sim", *sim_args(sim)[2:], "--json")
    assert again.code == 0 and again.json()["status"] == "nothing_to_do"

    undone = cli("contain", "undo", plan["plan_id"], "--confirm", "sim", *sim_args(sim)[2:], "--json")
    assert undone.code == 0, undone.out + undone.err
    gong = _gong(sim)
    assert gong["oauthConfig"]["isAdminApproved"] is False
    assert gong["oauthPolicy"]["refreshTokenPolicy"] == "infinite"
    undo_results = [e for e in _entries(cli, "action.result") if e.data["action_id"] != plan["plan_id"]]
    restored, relevelled = undo_results[-1].data["records"]
    assert restored["op"] == "update_metadata" and restored["after"]["oauthConfig.isAdminApproved"] is False
    assert relevelled["op"] == "update_debug_level" and relevelled["after"]["Callout"] == "FINEST"


def test_a_login_without_modify_metadata_is_refused_before_anything_is_sent(cli: Any, sim: SimOrg) -> None:
    cli.new()
    plan = cli("harden", "plan", "--app", "Gong", *sim_args(sim), "--json").json()
    with sim.store.lock:  # the responder's login loses both permissions that allow Metadata API calls
        for sobject in ("Profile", "PermissionSet"):
            table = sim.store.table(sobject)
            for row in sim.store.rows(sobject):
                if row.get("PermissionsModifyAllData") or row.get("PermissionsModifyMetadata"):
                    off = {"PermissionsModifyAllData": False, "PermissionsModifyMetadata": False}
                    table.update(table.key_of(row["Id"]), off)
        sim.store._perm_cache.clear()
    updates = sum(1 for m, p in sim.received if p.startswith("/services/Soap/m/"))
    refused = cli("contain", "apply", plan["plan_id"], "--confirm", "sim", *sim_args(sim)[2:])
    assert refused.code != 0, refused.out
    assert "Modify Metadata Through Metadata API Functions" in refused.out + refused.err
    assert sum(1 for m, p in sim.received if p.startswith("/services/Soap/m/")) == updates
    assert _gong(sim)["oauthConfig"]["isAdminApproved"] is False
    (entry,) = [e for e in _entries(cli, "action.refused") if e.data["action_id"] == plan["plan_id"]]
    assert entry.data["reason"] == "missing_permissions"


def test_an_app_installed_from_a_package_keeps_its_policies_a_manual_task(cli: Any, sim: SimOrg) -> None:
    cli.new()
    plan = cli("harden", "plan", "--app", "Drift", *sim_args(sim), "--json").json()
    assert [s["op"] for s in plan["steps"]] == ["delete_trace_flag", "update_debug_level"]
    assert any("readMetadata found no ConnectedApp named 'Drift'" in n for n in plan["notes"])
    assert "connected_app_policies" in {t["kind"] for t in plan["manual_tasks"]}


def test_policies_made_in_setup_but_switched_off_are_enabled_through_the_metadata_api(cli: Any, sim: SimOrg) -> None:
    cli.new()
    setup_policies(sim, on=False)  # the admin made both policies in Setup, and left them off and only notifying
    before = cli("harden", "check", "--app", "Drift", *sim_args(sim), "--json").json()
    assert before["transaction_security"]["policies"] == {
        "Block_Large_Report_Exports": "inactive",
        "Block_Api_From_Unknown_Addresses": "inactive",
    }
    plan = cli("harden", "plan", "--app", "Drift", *sim_args(sim), "--json").json()
    enable = [s for s in plan["steps"] if s["sobject"] == "TransactionSecurityPolicy"]
    assert [(s["record"], s["change"]) for s in enable] == [
        ("Block_Large_Report_Exports", {"active": True, "action.block": True}),
        ("Block_Api_From_Unknown_Addresses", {"active": True, "action.block": True}),
    ]
    assert "transaction_security" not in {t["kind"] for t in plan["manual_tasks"]}, "nothing left to create"
    applied = cli("contain", "apply", plan["plan_id"], "--confirm", "sim", *sim_args(sim)[2:], "--json")
    assert applied.code == 0, applied.out + applied.err
    assert applied.json()["verification"]["update_metadata"] == {"checked": 2, "not_in_target_state": 0}
    after = cli("harden", "check", "--app", "Drift", *sim_args(sim), "--json").json()
    assert after["transaction_security"]["state"] == "met"
    checks = _entries(cli, "harden.checked")
    assert [c.data["transaction_security"]["state"] for c in checks] == ["not met", "met"]


def test_the_policies_task_names_the_anomalies_the_hunts_recorded(cli: Any, sim: SimOrg) -> None:
    cli.new()
    plain = cli("harden", "plan", "--app", "Drift", *sim_args(sim), "--json").json()
    (task,) = [t for t in plain["manual_tasks"] if t["kind"] == "transaction_security"]
    assert "No hunt is recorded in this incident yet" in task["steps"][1]
    assert cli("collect", *sim_args(sim)).code == 0
    hunted = cli("hunt", "chat-vendor-theft", "--record", "--json")
    assert hunted.code == 0, hunted.err
    hits = _entries(cli, "hunt.hit")
    ips = sorted(
        {h.data["ip"] for h in hits if h.data.get("ip") and h.data["source"] in ("ApiEvent", "EventLogFile/API")}
    )
    assert ips, "the scenario's API use from the attacker's addresses was hunted"
    plan = cli("harden", "plan", "--app", "Drift", *sim_args(sim), "--json").json()
    (task,) = [t for t in plan["manual_tasks"] if t["kind"] == "transaction_security"]
    assert "Seen in this incident:" in task["steps"][2] and ips[0] in task["steps"][2]
    assert "recorded no report export from an indicator" in task["steps"][1]
