"""A just-in-time grant of a permission set group (PermissionSetAssignment.PermissionSetGroupId) against the
simulated org over TLS: planned by the group's DeveloperName, approved by the named approver, applied through
containment's path, recorded by the org as PermSetGroupAssign, lapsing on the org's clock, and revoked early."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from app.composition.workspace import Workspace
from app.simorg import SimOrg
from tests.simorg_helpers import sim_args

USER = "hubspot-int@acme.example"
GROUP = "Sync_Bundle"


@pytest.fixture
def sim(cli: Any, tmp_path: Path) -> Iterator[SimOrg]:
    with SimOrg.start("chat-vendor-theft", clock=cli.clock, cert_dir=tmp_path / "cert") as org:
        org.inject(
            {
                "permission_set_groups": [
                    {"key": "sync", "name": GROUP, "label": "Sync Bundle", "permission_sets": ["dev_tools"]}
                ]
            }
        )
        yield org


def _group_rows(sim: SimOrg) -> list[dict[str, Any]]:
    with sim.store.lock:
        uid = sim.store.user_by_username(USER)["Id"]
        gid = sim.store.find("PermissionSetGroup", DeveloperName=GROUP)[0]["Id"]
        return [dict(r) for r in sim.store.find("PermissionSetAssignment", AssigneeId=uid, PermissionSetGroupId=gid)]


def _plan(cli: Any, sim: SimOrg) -> dict[str, Any]:
    r = cli(
        "grant", "plan", *sim_args(sim), "--user", USER, "--permission-set-group", GROUP, "--hours", "2",
        "--reason", "rebuild the sync with a bundle", "--approver", "bob", "--json",
    )  # fmt: skip
    assert r.code == 0, r.err
    return dict(r.json())


def test_a_permission_set_group_is_granted_for_a_time_and_lapses(cli: Any, sim: SimOrg) -> None:
    cli.new()
    plan = _plan(cli, sim)
    (step,) = plan["steps"]
    with sim.store.lock:
        gid = sim.store.find("PermissionSetGroup", DeveloperName=GROUP)[0]["Id"]
    assert step["change"]["PermissionSetGroupId"] == gid and "PermissionSetId" not in step["change"]
    assert plan["grant"]["permission_set"] == GROUP
    assert _group_rows(sim) == []

    assert cli("grant", "approve", plan["plan_id"], "--confirm", "sim", actor="bob").code == 0
    applied = cli("grant", "apply", plan["plan_id"], "--confirm", "sim", *sim_args(sim)[2:], "--json")
    assert applied.code == 0, applied.err + applied.out
    assert applied.json()["status"] == "done"
    (row,) = _group_rows(sim)
    assert "AuthorApex" in sim.store.permissions_of(row["AssigneeId"]), "the group's permissions now apply"
    with Workspace(cli.home, cli.clock, cli.keyring).open(None) as incident:
        result = incident.journal.last("action.result")
    assert result.data["records"][0]["after"]["PermissionSetGroupId"] == gid
    assert result.data["verification"]["create_assignment"] == {"checked": 1, "not_in_target_state": 0}
    audit = [r for r in sim.store.rows("SetupAuditTrail") if r.get("Action") == "PermSetGroupAssign"]
    assert [(a["Section"], a["Display"]) for a in audit] == [
        ("Manage Users", f"Permission set group {GROUP}: assigned to user {USER}")
    ]

    listed = cli("grant", "list", *sim_args(sim))
    assert listed.code == 0 and f"group {GROUP} to {USER}" in listed.out and ": active (checked" in listed.out

    again = cli("grant", "plan", *sim_args(sim), "--user", USER, "--permission-set-group", GROUP, "--hours", "1",
                "--reason", "again", "--approver", "bob")  # fmt: skip
    assert again.code != 0 and "already holds permission set group" in again.err

    cli.clock.advance(timedelta(hours=2, seconds=1))
    assert sim.store.lapse_assignments() == [row["Id"]]
    assert "AuthorApex" not in sim.store.permissions_of(row["AssigneeId"])
    listed = cli("grant", "list", *sim_args(sim))
    assert listed.code == 0 and ": expired (checked" in listed.out


def test_a_group_grant_is_revoked_before_its_expiry(cli: Any, sim: SimOrg) -> None:
    cli.new()
    plan = _plan(cli, sim)
    assert cli("grant", "approve", plan["plan_id"], "--confirm", "sim", actor="bob").code == 0
    assert cli("grant", "apply", plan["plan_id"], "--confirm", "sim", *sim_args(sim)[2:]).code == 0
    revoked = cli("grant", "revoke", plan["plan_id"], "--confirm", "sim", *sim_args(sim)[2:])
    assert revoked.code == 0, revoked.err + revoked.out
    assert _group_rows(sim) == []
    audit = [r["Action"] for r in sim.store.rows("SetupAuditTrail") if "Group" in str(r.get("Action"))]
    assert audit == ["PermSetGroupAssign", "PermSetGroupUnassign"]
    listed = cli("grant", "list", *sim_args(sim))
    assert ": removed (checked" in listed.out


def test_a_grant_names_a_set_or_a_group_not_both(cli: Any, sim: SimOrg) -> None:
    cli.new()
    both = cli(
        "grant", "plan", *sim_args(sim), "--user", USER, "--permission-set", "HubSpot_Sync",
        "--permission-set-group", GROUP, "--hours", "1", "--reason", "x", "--approver", "bob",
    )  # fmt: skip
    assert both.code != 0
    missing = cli(
        "grant", "plan", *sim_args(sim), "--user", USER, "--permission-set-group", "No_Such_Group", "--hours", "1",
        "--reason", "x", "--approver", "bob",
    )  # fmt: skip
    assert missing.code != 0 and "no permission set group named 'No_Such_Group'" in missing.err
