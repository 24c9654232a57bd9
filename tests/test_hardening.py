"""Hardening through `warroom harden` against the simulated org: the plan's manual tasks (with the trace flags on
integration users named), opened and closed through containment's path, and the result checked by query and
journaled: not met before the admin changes Setup, met after."""

from __future__ import annotations

import re
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


def _open(cli: Any) -> Any:
    return Workspace(cli.home, cli.clock, cli.keyring).open(None)


def test_hardening_tasks_are_planned_closed_with_evidence_and_checked_by_query(
    cli: Any, sim: SimOrg, tmp_path: Path
) -> None:
    cli.new()
    planned = cli("harden", "plan", "--app", "Drift", *sim_args(sim), "--json")
    assert planned.code == 0, planned.err
    plan = planned.json()
    assert plan["action"] == "harden"
    tasks = {t["kind"]: t for t in plan["manual_tasks"]}
    assert set(tasks) == {"connected_app_policies", "transaction_security", "debug_log_hygiene"}
    with sim.store.lock:
        trace = sim.store.rows("TraceFlag").__next__()
        marketing = sim.store.user_by_username("marketing-sync@acme.example")["Id"]
    assert trace["TracedEntityId"] == marketing
    assert f"{trace['Id']} on marketing-sync@acme.example" in tasks["debug_log_hygiene"]["steps"][0]
    # The trace flag is removed by the plan itself (Tooling API); Drift's policies stay manual (installed app).
    with sim.store.lock:
        level = sim.store.lookup("DebugLevel", trace["DebugLevelId"])
    assert [(s["op"], s["record"]) for s in plan["steps"]] == [
        ("delete_trace_flag", trace["Id"]),
        ("update_debug_level", level["Id"]),
    ]
    assert plan["steps"][1]["change"] == {"Callout": "NONE", "ApexCode": "ERROR"}
    assert "Edit Policies" in tasks["connected_app_policies"]["steps"][0]

    before = cli("harden", "check", "--app", "Drift", *sim_args(sim), "--json")
    assert before.code == 0
    assert before.json()["connected_app_policies"]["state"] == "not met"
    assert before.json()["debug_log_hygiene"] == {
        "state": "not met",
        "query": "SELECT Id, TracedEntityId, LogType, DebugLevelId, ExpirationDate FROM TraceFlag",
        "trace_flags": [trace["Id"]],
    }
    assert cli("harden", "check", "--app", "Drift", *sim_args(sim)).code == 1

    # The admin works through the tasks in Setup.
    with sim.store.lock:
        apps = sim.store.table("ConnectedApplication")
        drift = sim.store.find("ConnectedApplication", Name="Drift")[0]
        apps.update(
            apps.key_of(drift["Id"]), {"OptionsAllowAdminApprovedUsersOnly": True, "RefreshTokenValidityPeriod": 1}
        )
    applied = cli("contain", "apply", plan["plan_id"], "--confirm", "sim", *sim_args(sim)[2:], "--json")
    assert applied.code == 0, applied.out + applied.err
    records = applied.json()["records"]
    assert [(r["op"], r["status"]) for r in records] == [("delete_trace_flag", "ok"), ("update_debug_level", "ok")]
    assert applied.json()["verification"]["delete_trace_flag"] == {"checked": 1, "not_in_target_state": 0}
    assert applied.json()["verification"]["update_debug_level"] == {"checked": 1, "not_in_target_state": 0}
    assert (records[1]["before"]["Callout"], records[1]["after"]["Callout"]) == ("FINEST", "NONE")
    with sim.store.lock:
        level = sim.store.lookup("DebugLevel", trace["DebugLevelId"])
    assert (level["Callout"], level["ApexCode"]) == ("NONE", "ERROR")
    with sim.store.lock:
        assert sim.store.lookup("TraceFlag", trace["Id"]) is None
    half = cli("harden", "check", "--app", "Drift", *sim_args(sim), "--json")
    assert half.code == 0 and half.json()["passed"] is False, "the Transaction Security policies are not there yet"
    assert half.json()["transaction_security"]["policies"] == {
        "Block_Large_Report_Exports": "missing",
        "Block_Api_From_Unknown_Addresses": "missing",
    }
    # Drift is installed from a package: no component of its own, so the object query decides.
    assert half.json()["connected_app_component"]["state"] == "unknown"
    setup_policies(sim, on=True)  # the admin creates both policies in Setup
    after = cli("harden", "check", "--app", "Drift", *sim_args(sim))
    assert after.code == 0, after.out
    with _open(cli) as incident:
        checks = [e.data for e in incident.journal.entries(kind="harden.checked")]
    assert [c["connected_app_policies"]["state"] for c in checks] == ["not met", "not met", "met", "met"]
    assert [c["passed"] for c in checks] == [False, False, False, True]
    assert checks[-1]["debug_log_hygiene"]["trace_flags"] == []

    proof = tmp_path / "policies.png"
    proof.write_bytes(b"\x89PNG screenshot of the policies page")
    evidence_id = re.search(r"\b[0-9a-f]{12}\b", cli("evidence", "add", str(proof)).out).group(0)
    for task in plan["manual_tasks"]:
        assert cli("contain", "confirm", task["task_id"], "--evidence", evidence_id).code == 0
    status = cli("contain", "status", "--json")
    assert status.code == 0
    with _open(cli) as incident:
        confirmed = [e.data["kind"] for e in incident.journal.entries(kind="action.task_confirmed")]
    assert sorted(confirmed) == sorted(tasks)
