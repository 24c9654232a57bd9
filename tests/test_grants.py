"""Just-in-time grants end to end through `warroom grant` against the simulated org over TLS: planned with a reason
and a named approver, approved only by that person, applied through containment's intent/result path, then
checked by query while active, after it lapses on the org's own clock, and after someone removes it early."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from app import report as report_mod
from app.composition.workspace import Workspace
from app.containment.models import Plan
from app.grants import expiring_grants, list_grants
from app.simorg import SimOrg
from tests.simorg_helpers import sim_args

USER = "hubspot-int@acme.example"
SET = "Sales_Operations"


@pytest.fixture
def sim(cli: Any, tmp_path: Path) -> Iterator[SimOrg]:
    # One clock for the incident and the org: the assignment lapses on the org's clock as time moves on.
    with SimOrg.start("chat-vendor-theft", clock=cli.clock, cert_dir=tmp_path / "cert") as org:
        yield org


def _open(cli: Any) -> Any:
    return Workspace(cli.home, cli.clock, cli.keyring).open(None)


def _kinds(cli: Any) -> list[str]:
    with _open(cli) as incident:
        return [e.kind for e in incident.journal.entries()]


def _assignments(sim: SimOrg, username: str, ps_name: str) -> list[dict[str, Any]]:
    with sim.store.lock:
        uid = sim.store.user_by_username(username)["Id"]
        ps = sim.store.find("PermissionSet", Name=ps_name)[0]["Id"]
        return [dict(r) for r in sim.store.find("PermissionSetAssignment", AssigneeId=uid, PermissionSetId=ps)]


def _plan(cli: Any, sim: SimOrg, *extra: str, user: str = USER, ps: str = SET) -> str:
    r = cli(
        "grant", "plan", *sim_args(sim), "--user", user, "--permission-set", ps,
        "--reason", "re-sync after the rebuild", "--approver", "bob", *extra, "--json",
    )  # fmt: skip
    assert r.code == 0, r.err
    return r.json()["plan_id"]


def test_a_grant_is_approved_by_its_named_approver_applied_and_lapses_on_the_org_clock(
    cli: Any, sim: SimOrg, tmp_path: Path
) -> None:
    cli.new()
    action_id = _plan(cli, sim, "--hours", "4", "--ticket", "CHG-7")
    expires = (cli.clock.now() + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    with _open(cli) as incident:
        plan_entry = incident.journal.last("action.plan")
    assert plan_entry.data["action"] == "grant_access" and plan_entry.data["ticket"] == "CHG-7"
    assert plan_entry.data["grant"] == {
        "reason": "re-sync after the rebuild",
        "approver": "bob",
        "expires_utc": expires,
        "permission_set": SET,
        "assignee": USER,
    }
    assert _assignments(sim, USER, SET) == []  # planning changes nothing

    # Not approved yet: refused, journaled, nothing sent.
    refused = cli("grant", "apply", action_id, "--confirm", "sim", *sim_args(sim)[2:])
    assert refused.code != 0 and "needs the approval of bob" in refused.err
    assert "action.intent" not in _kinds(cli) and _assignments(sim, USER, SET) == []
    # Someone other than the named approver cannot approve it.
    wrong = cli("grant", "approve", action_id, "--confirm", "sim", actor="carol")
    assert wrong.code != 0 and "names bob" in wrong.err
    # ... nor through the containment command, which records approvals of every plan.
    wrong = cli("contain", "approve", action_id, "--confirm", "sim", actor="carol")
    assert wrong.code != 0 and "names bob" in wrong.err
    assert "action.approval" not in _kinds(cli)
    approved = cli("grant", "approve", action_id, "--confirm", "sim", actor="bob")
    assert approved.code == 0, approved.err

    applied = cli("grant", "apply", action_id, "--confirm", "sim", *sim_args(sim)[2:], "--json")
    assert applied.code == 0, applied.err + applied.out
    result = applied.json()
    assert result["status"] == "done" and result["approver"] == "bob" and result["executor"] == "tester"
    rows = _assignments(sim, USER, SET)
    assert len(rows) == 1 and rows[0]["ExpirationDate"].strftime("%Y-%m-%dT%H:%M:%S.000Z") == expires
    with _open(cli) as incident:
        kinds = [e.kind for e in incident.journal.entries()]
        refusals = [e.data["reason"] for e in incident.journal.entries(kind="action.refused")]
        result_entry = incident.journal.last("action.result")
    assert kinds.index("action.intent") < kinds.index("action.result")
    assert refusals == ["not_approved", "not_the_named_approver", "not_the_named_approver"]
    after = result_entry.data["records"][0]["after"]
    assert after["Id"] == rows[0]["Id"] and after["ExpirationDate"].startswith(expires[:19])
    assert "ExportReport" in sim.store.permissions_of(rows[0]["AssigneeId"])
    audit = [r for r in sim.store.rows("SetupAuditTrail") if r.get("Action") == "PermSetAssign"]
    assert audit[-1]["Display"] == f"Permission set {SET}: assigned to user {USER}"  # the org records the grant

    listed = cli("grant", "list", *sim_args(sim), "--json")
    assert listed.code == 0, listed.err
    assert [(g["action_id"], g["state"]) for g in listed.json()] == [(action_id, "active")]
    with _open(cli) as incident:
        check = incident.journal.last("grant.checked")
        soon = expiring_grants(incident, cli.clock.now())
    assert check.data["grants"][0]["state"] == "active" and "WHERE Id IN" in check.data["queries"][0]
    assert [g.action_id for g in soon] == [action_id]

    cli.clock.advance(timedelta(hours=4, seconds=1))
    assert sim.store.lapse_assignments() == [rows[0]["Id"]]  # the org's own clock decides
    assert "ExportReport" not in sim.store.permissions_of(rows[0]["AssigneeId"])
    listed = cli("grant", "list", *sim_args(sim))
    assert listed.code == 0 and f"{action_id}" in listed.out and ": expired (checked" in listed.out
    with _open(cli) as incident:
        check = incident.journal.last("grant.checked")
        grants = list_grants(incident)
        soon = expiring_grants(incident, cli.clock.now())
    assert check.data["grants"][0]["state"] == "expired" and check.data["grants"][0]["expiration_now"] is None
    assert grants[0].state == "expired" and soon == []
    verified = cli("journal", "verify", "--json")
    assert verified.code == 0 and verified.json()["ok"] is True
    report = cli("report", "--format", "json", "--out", str(tmp_path / "r.json"))
    assert report.code == 0, report.err
    rows = report_mod.Report.model_validate_json((tmp_path / "r.json").read_text()).recovery.grants
    assert [(g.action_id, g.permission_set, g.approver, g.state) for g in rows] == [(action_id, SET, "bob", "expired")]
    md = cli("report").out
    assert "## Remediation and recovery: just-in-time grants" in md and "expired (checked " in md


def test_a_grant_removed_before_its_expiry_is_reported_removed(cli: Any, sim: SimOrg) -> None:
    cli.new()
    action_id = _plan(cli, sim, "--hours", "48")
    assert cli("grant", "approve", action_id, "--confirm", "sim", actor="bob").code == 0
    assert cli("grant", "apply", action_id, "--confirm", "sim", *sim_args(sim)[2:]).code == 0
    with sim.store.lock:  # an admin removes it in Setup
        key = sim.store.table("PermissionSetAssignment").key_of(_assignments(sim, USER, SET)[0]["Id"])
        sim.store.table("PermissionSetAssignment").delete(key)
    listed = cli("grant", "list", *sim_args(sim), "--json")
    assert [g["state"] for g in listed.json()] == ["removed"]
    not_checked = cli("grant", "list")
    assert ": removed (checked" in not_checked.out  # the last check, with its time; no claim beyond it
    with _open(cli) as incident:
        assert expiring_grants(incident, cli.clock.now(), timedelta(days=3)) == []


def test_the_approver_cannot_also_apply_the_grant(cli: Any, sim: SimOrg) -> None:
    cli.new()
    action_id = _plan(cli, sim, "--hours", "2")
    assert cli("grant", "approve", action_id, "--confirm", "sim", actor="bob").code == 0
    own = cli("grant", "apply", action_id, "--confirm", "sim", *sim_args(sim)[2:], actor="bob")
    assert own.code != 0 and "approver other than the executor" in own.err
    assert "action.intent" not in _kinds(cli) and _assignments(sim, USER, SET) == []
    with _open(cli) as incident:
        assert incident.journal.last("action.refused").data["reason"] == "approver_is_executor"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--user", USER, "--permission-set", SET, "--hours", "2", "--approver", "tester"), "must not be the person"),
        (("--user", USER, "--permission-set", SET, "--until", "2020-01-01T00:00:00Z", "--approver", "bob"), "not after now"),
        (("--user", USER, "--permission-set", "No_Such_Set", "--hours", "2", "--approver", "bob"), "no permission set"),
        (("--user", "drift-int@acme.example", "--permission-set", "Drift_Integration_Access", "--hours", "2",
          "--approver", "bob"), "standing grant"),
        (("--user", USER, "--permission-set", SET, "--hours", "0", "--approver", "bob"), "--hours 0"),
    ],
)  # fmt: skip
def test_a_grant_that_cannot_be_planned_is_refused_with_nothing_journaled(
    cli: Any, sim: SimOrg, args: tuple[str, ...], message: str
) -> None:
    cli.new()
    before = _kinds(cli)
    r = cli("grant", "plan", *sim_args(sim), *args, "--reason", "why")
    assert r.code != 0 and message in r.err, r.err
    assert _kinds(cli) == before


def test_a_plan_without_a_grant_hashes_as_before_grants_existed() -> None:
    plan = Plan(plan_id="CA-000001", action="freeze_users", org_alias="sim", created_by="a", created_utc="x")
    assert b'"grant"' not in plan.body()
    assert plan.sealed().sha256 == plan.compute_sha256()


def test_a_grant_revoked_early_goes_through_the_containment_path_and_is_verified_removed(cli: Any, sim: SimOrg) -> None:
    cli.new()
    action_id = _plan(cli, sim, "--hours", "24")
    assert cli("grant", "approve", action_id, "--confirm", "sim", actor="bob").code == 0
    assert cli("grant", "apply", action_id, "--confirm", "sim", *sim_args(sim)[2:]).code == 0
    assignment = _assignments(sim, USER, SET)[0]["Id"]
    revoked = cli(
        "grant", "revoke", action_id, "--confirm", "sim", "--reason", "sync finished", *sim_args(sim)[2:], "--json"
    )
    assert revoked.code == 0, revoked.err + revoked.out
    assert revoked.json()["status"] == "done" and revoked.json()["executor"] == "tester"
    assert _assignments(sim, USER, SET) == []
    with _open(cli) as incident:
        undo = incident.journal.last("action.plan")
        grants = list_grants(incident)
    assert undo.data["undoes"] == action_id and undo.data["counts"] == {"delete_assignment": 1}
    assert grants[0].status == "undone"
    checked = cli("grant", "list", *sim_args(sim), "--json").json()
    assert [(g["assignment_id"], g["state"]) for g in checked] == [(assignment, "removed")]
    undo = cli("contain", "undo", action_id, "--confirm", "sim", *sim_args(sim)[2:])
    assert undo.code != 0 and "grant revoke" in undo.err
    unassigned = [r["Display"] for r in sim.store.rows("SetupAuditTrail") if r.get("Action") == "PermSetUnassign"]
    assert unassigned == [f"Permission set {SET}: unassigned from user {USER}"]
