"""Reconnecting a contained integration through `warroom reconnect` against the simulated org: refused while its
preconditions do not hold (journaled), planned ready once the secret is rotated (confirmed task), the new
integration user is least-privilege, the app's policies are hardened and monitoring runs; approved only by
someone other than the planner."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from app.composition.workspace import Workspace
from app.simorg import SimOrg
from tests.simorg_helpers import sim_args


@pytest.fixture
def sim(cli: Any, tmp_path: Path) -> Iterator[SimOrg]:
    with SimOrg.start("chat-vendor-theft", clock=cli.clock, cert_dir=tmp_path / "cert") as org:
        yield org


def _open(cli: Any) -> Any:
    return Workspace(cli.home, cli.clock, cli.keyring).open(None)


def _states(result: Any) -> dict[str, str]:
    return {p["name"]: p["state"] for p in result.json()["preconditions"]}


def _rotate_secret(cli: Any, sim: SimOrg, tmp_path: Path) -> None:
    planned = cli("contain", "plan", "rotate_consumer_secret", "--app", "Drift", "--org", "sim", "--json")
    assert planned.code == 0, planned.err
    plan = planned.json()
    assert cli("contain", "apply", plan["plan_id"], "--confirm", "sim", *sim_args(sim)[2:]).code == 0
    proof = tmp_path / "vendor-letter.txt"
    proof.write_text("Drift rotated the consumer secret on request.\n", encoding="utf-8")
    added = cli("evidence", "add", str(proof))
    evidence_id = re.search(r"\b[0-9a-f]{12}\b", added.out).group(0)
    task = plan["manual_tasks"][0]["task_id"]
    assert cli("contain", "confirm", task, "--evidence", evidence_id).code == 0


def _rebuild_in_setup(sim: SimOrg) -> None:
    """What the admin does in Setup: a new integration user, and Drift's OAuth policies tightened."""
    st = sim.store
    with st.lock:
        profile = st.find("Profile", Name="Minimum Access - API Only Integrations")[0]["Id"]
        user = st.insert(
            "User",
            {"Username": "drift-int2@acme.example", "Name": "Drift Integration 2", "IsActive": True,
             "ProfileId": profile, "UserType": "Standard"},
        )  # fmt: skip
        st.insert("UserLogin", {"UserId": user["Id"], "IsFrozen": False, "IsPasswordLocked": False})
        app = st.find("ConnectedApplication", Name="Drift")[0]
        table = st.table("ConnectedApplication")
        table.update(
            table.key_of(app["Id"]), {"OptionsAllowAdminApprovedUsersOnly": True, "RefreshTokenValidityPeriod": 24}
        )


def test_reconnect_is_refused_until_every_precondition_holds_then_approved_by_another(
    cli: Any, sim: SimOrg, tmp_path: Path
) -> None:
    cli.new()
    early = cli("reconnect", "plan", "--app", "Drift", "--user", "drift-int2@acme.example", "--json")
    assert early.code == 0, early.err
    assert _states(early) == {
        "secret_rotated": "not met",
        "least_privilege_user": "unknown",
        "policies_hardened": "unknown",
        "monitoring_running": "not met",
    }
    assert early.json()["ready"] is False
    refused = cli("reconnect", "approve", early.json()["reconnect_id"], actor="bob")
    assert refused.code != 0 and "secret_rotated not met" in refused.err

    _rotate_secret(cli, sim, tmp_path)
    _rebuild_in_setup(sim)
    assert cli("monitor", "start", "--days", "28", "--org", "sim").code == 0
    cli.clock.advance(timedelta(hours=2))
    assert cli("monitor", "run", *sim_args(sim)[2:]).code == 0  # also pulls the inventory the checks read

    ready = cli("reconnect", "plan", "--app", "Drift", "--user", "drift-int2@acme.example", "--json")
    assert set(_states(ready).values()) == {"met"}, ready.json()["preconditions"]
    rid = ready.json()["reconnect_id"]
    own = cli("reconnect", "approve", rid)
    assert own.code != 0 and "someone else approves" in own.err
    approved = cli("reconnect", "approve", rid, "--note", "CAB-12", actor="bob")
    assert approved.code == 0, approved.err
    with _open(cli) as incident:
        refusals = [e.data["reason"] for e in incident.journal.entries(kind="reconnect.refused")]
        entry = incident.journal.last("reconnect.approved")
    assert refusals == ["preconditions_not_met", "approver_is_planner"]
    assert entry.actor == "bob" and entry.data["note"] == "CAB-12"
    assert {p["state"] for p in entry.data["preconditions"]} == {"met"}
    status = cli("reconnect", "status", "--json").json()
    assert [(r["reconnect_id"], r["status"], r["approved_by"]) for r in status][-1] == (rid, "approved", "bob")

    report = cli("report").out
    assert "## Remediation and recovery: reconnection" in report
    assert f"| {rid} | Drift | drift-int2@acme.example | tester | approved | bob |" in report

    # A day later without a monitoring run, the same integration could not be approved again.
    cli.clock.advance(timedelta(days=2))
    stale = cli("reconnect", "plan", "--app", "Drift", "--user", "drift-int2@acme.example", "--json")
    assert _states(stale)["monitoring_running"] == "not met"


def test_a_user_holding_a_dangerous_permission_is_not_least_privilege(cli: Any, sim: SimOrg) -> None:
    cli.new()
    assert cli("inventory", "pull", *sim_args(sim)).code == 0
    plan = cli("reconnect", "plan", "--app", "Drift", "--user", "drift-int@acme.example", "--json")
    least = next(p for p in plan.json()["preconditions"] if p["name"] == "least_privilege_user")
    assert least["state"] == "not met" and "ViewAllData" in least["basis"]


def test_a_harden_check_newer_than_the_snapshot_decides_the_policies(cli: Any, sim: SimOrg) -> None:
    cli.new()
    assert cli("inventory", "pull", *sim_args(sim)).code == 0
    before = cli("reconnect", "plan", "--app", "Drift", "--user", "drift-int@acme.example", "--json")
    assert _states(before)["policies_hardened"] == "unknown"  # the snapshot holds no refresh-token policy for Drift
    cli.clock.advance(timedelta(minutes=30))
    _rebuild_in_setup(sim)
    assert cli("harden", "check", "--app", "Drift", *sim_args(sim)).code == 1  # the trace flag is still there
    after = cli("reconnect", "plan", "--app", "Drift", "--user", "drift-int@acme.example", "--json")
    policy = next(p for p in after.json()["preconditions"] if p["name"] == "policies_hardened")
    assert policy["state"] == "met" and policy["basis"].startswith("harden check of Drift at ")
