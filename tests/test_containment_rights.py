"""Containment claims only what the login can see and verify: permissions read before planning and applying,
documented revoke refusals, and `creds test` listing what containment needs.

The orgs are small seeds (tests/simorg_helpers.py) served over real TLS. "Nothing was sent" is checked on the
simulator's own record of the requests it received and on its store, never on the client's word.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.base.clock import FrozenClock
from app.composition.workspace import Workspace
from app.containment import execute as cm
from app.containment.sources import token_refs
from app.salesforce import access
from app.salesforce.client import InvalidToken, Org, RevokeRefused
from app.simorg import SimOrg
from tests.simorg_helpers import NOW, PASSWORD, RESPONDER, TOKEN, login, mini_seed

JUNIOR = "junior@mini.example"
# A delegated administrator: Modify All Data and Manage Users, but not Customize Application.
JUNIOR_SEED = f'''
[[profiles]]
key = "delegated"
name = "Delegated Admin"
permissions = ["ModifyAllData", "ViewAllData", "ApiEnabled", "ManageUsers", "ViewSetup", "AssignPermissionSets"]

[[users]]
key = "junior"
username = "{JUNIOR}"
last_name = "Junior"
profile = "delegated"
password = "{PASSWORD}"
security_token = "{TOKEN}"
'''
DRIFT_COUNT = "SELECT COUNT() FROM OauthToken WHERE AppName = 'Drift'"
CHANGES = ("POST /services/oauth2/revoke", "DELETE", "PATCH")


def _start(tmp_path: Path, text: str) -> SimOrg:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "seed.toml"
    path.write_text(text, encoding="utf-8")
    return SimOrg.start(path, clock=FrozenClock(NOW), cert_dir=tmp_path / "cert")


def _changes(sim: SimOrg) -> list[tuple[str, str]]:
    """Every request the simulator received that could change the org."""
    return [(m, p) for m, p in sim.received if m in ("DELETE", "PATCH") or p.endswith("/oauth2/revoke")]


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimOrg]:
    with _start(tmp_path, mini_seed(extra=JUNIOR_SEED)) as org:
        yield org


@pytest.fixture
def incident(tmp_path: Path, clock: FrozenClock, mem_keyring: Any) -> Iterator[Any]:
    ws = Workspace(tmp_path / "home", clock, mem_keyring)
    with ws.create("Drift token theft", "alice") as inc:
        yield inc


def _drift_tokens(sim: SimOrg) -> int:
    with sim.store.lock:
        return len([t for t in sim.store.rows("OauthToken") if t.get("AppName") == "Drift"])


# --------------------------------------------------------------------------------------------------
# The simulated org hides other users' tokens without Customize Application (documented), not an error
# --------------------------------------------------------------------------------------------------


def test_manage_users_and_modify_all_data_do_not_show_other_users_tokens(sim: SimOrg) -> None:
    with login(sim) as admin:
        assert admin.count(DRIFT_COUNT) == 4
    with login(sim, username=JUNIOR) as junior:
        assert junior.query("SELECT AppName, UserId FROM OauthToken") == []
        assert junior.count(DRIFT_COUNT) == 0, "the rows are absent: 0 here proves nothing"
        who = junior.identity()
        effective = access.read_effective(junior, who.user_id, (*access.WANTED_FLAGS, "ModifyAllData"))
    assert effective.complete and "ModifyAllData" in effective.granted and "ManageUsers" in effective.granted
    assert effective.state("CustomizeApplication") == "missing"
    unmet = access.gaps(effective, access.CONTAINMENT_NEEDS).unmet
    assert [c.key for c in unmet] == ["see_all_tokens"]


def test_a_profile_only_read_leaves_permission_set_grants_unknown(sim: SimOrg) -> None:
    """A login that cannot read PermissionSetAssignment knows its profile only: what the profile lacks is
    unknown (a permission set may grant it), never reported as present."""

    class NoAssignments:
        def __init__(self, org: Org) -> None:
            self.org = org

        def describe_fields(self, sobject: str) -> set[str]:
            return self.org.describe_fields(sobject)

        def query(self, soql: str) -> list[dict[str, Any]]:
            if "FROM PermissionSetAssignment" in soql:
                from app.salesforce.client import ObjectUnavailable

                raise ObjectUnavailable("sObject type 'PermissionSetAssignment' is not supported")
            return self.org.query(soql)

    with login(sim, username=JUNIOR) as junior:
        effective = access.read_effective(NoAssignments(junior), junior.identity().user_id)  # type: ignore[arg-type]
    assert not effective.complete and effective.read_from == "User.Profile"
    assert effective.state("CustomizeApplication") == "unknown"
    assert effective.state("ManageUsers") == "present"
    checks = {c.key: c.state for c in effective.check(access.CONTAINMENT_NEEDS)}
    assert checks["see_all_tokens"] == "unknown" and checks["freeze_users"] == "present"


# --------------------------------------------------------------------------------------------------
# Plans say what the login lacks; apply refuses, journaled, with nothing sent
# --------------------------------------------------------------------------------------------------


def test_plan_by_a_login_without_customize_application_says_so(sim: SimOrg, incident: Any) -> None:
    with login(sim, username=JUNIOR) as junior:
        plan = cm.make_plan(junior, incident, "revoke_tokens", app="Drift", actor="alice", org_alias="sim")
    assert plan.steps == [], "the junior login sees none of the integration user's tokens"
    text = " ".join(plan.notes)
    assert "MISSING PERMISSION" in text and "Customize Application" in text
    assert "No OAuth token of Drift exists now" not in text, "absence through blindness is not absence"
    unmet = plan.basis["permissions"]["unmet"]
    assert [u["key"] for u in unmet] == ["see_all_tokens"] and unmet[0]["state"] == "missing"
    assert "OauthToken" in unmet[0]["source"]
    assert _drift_tokens(sim) == 4


def test_apply_of_a_blind_plan_is_refused_before_anything_reaches_the_org(sim: SimOrg, incident: Any) -> None:
    with login(sim, username=JUNIOR) as junior:
        plan = cm.make_plan(junior, incident, "revoke_tokens", app="Drift", actor="alice", org_alias="sim")
        received = len(sim.received)
        with pytest.raises(cm.PermissionsMissing, match="Customize Application") as err:
            cm.apply_plan(incident, junior, plan, "sim", "alice")
        assert len(sim.received) == received, "not even a read"  # (closing the login then logs it out)
    assert "Nothing was sent" in str(err.value)
    refused = [e for e in incident.journal.entries(kind="action.refused") if e.data["action_id"] == plan.plan_id]
    assert len(refused) == 1 and refused[0].data["reason"] == "missing_permissions"
    assert refused[0].data["missing"][0]["label"] == "Customize Application"
    assert not [e for e in incident.journal.entries(kind="action.intent") if e.data["action_id"] == plan.plan_id]
    assert _drift_tokens(sim) == 4


def test_apply_with_a_login_lacking_the_permission_sends_no_change(sim: SimOrg, incident: Any) -> None:
    """A plan made by a full administrator, applied with a login that lacks Customize Application: the
    permissions are read after the intent, the refusal is journaled, every record is not run."""
    with login(sim) as admin:
        plan = cm.make_plan(admin, incident, "revoke_tokens", app="Drift", actor="alice", org_alias="sim")
    assert plan.counts == {"revoke_token": 4} and "permissions" in plan.basis
    assert plan.basis["permissions"]["unmet"] == []
    with login(sim, username=JUNIOR) as junior:
        before = len(sim.received)
        with pytest.raises(cm.PermissionsMissing) as err:
            cm.apply_plan(incident, junior, plan, "sim", "alice")
    assert "lacks Customize Application" in str(err.value) and "Nothing was sent" in str(err.value)
    assert [c.key for c in err.value.gaps.unmet] == ["see_all_tokens"]
    assert not [r for r in list(sim.received)[before:] if r in _changes(sim)]
    assert not _changes(sim) and _drift_tokens(sim) == 4
    refused = [e for e in incident.journal.entries(kind="action.refused") if e.data["action_id"] == plan.plan_id]
    assert refused and refused[-1].data["missing"][0]["permissions"] == ["CustomizeApplication"]
    result = [e for e in incident.journal.entries(kind="action.result") if e.data["action_id"] == plan.plan_id]
    assert result[-1].data["counts"] == {"ok": 0, "already": 0, "failed": 0, "not_run": 4}
    assert result[-1].data["stopped"]["reason"] == "missing_permissions"
    assert cm.action_status(incident, plan.plan_id).status == "failed"


def test_freeze_by_a_login_with_manage_users_goes_ahead(sim: SimOrg, incident: Any) -> None:
    """The gate is per need: freezing needs Manage Users only, which the junior login has."""
    with login(sim, username=JUNIOR) as junior:
        plan = cm.make_plan(
            junior, incident, "freeze_users", user="drift-int@mini.example", actor="alice", org_alias="sim"
        )
        assert plan.basis["permissions"]["unmet"] == [] and plan.counts == {"freeze_user": 1}
        result = cm.apply_plan(incident, junior, plan, "sim", "alice")
    assert result.status == "done" and result.records[0].after and result.records[0].after["IsFrozen"] is True


# --------------------------------------------------------------------------------------------------
# The command line: `contain plan` and `contain apply` name the permission
# --------------------------------------------------------------------------------------------------


def test_cli_plan_and_apply_name_customize_application(cli: Any, tmp_path: Path) -> None:
    # The login `--org sim` uses is the seed's first user with a password: here an admin without the permission.
    text = mini_seed().replace('"CustomizeApplication", ', "")
    with _start(tmp_path / "blind", text) as sim:
        cli.new()
        args = ["--org", "sim", "--instance-url", sim.url, "--ca", str(sim.ca_path)]
        r = cli("contain", "plan", "revoke_tokens", "--app", "Drift", *args)
        assert r.code == 0, r.err
        assert "MISSING PERMISSION" in r.out and "lacks Customize Application" in r.out
        plan_id = r.out.split()[1].rstrip(":")
        r = cli("contain", "apply", plan_id, "--confirm", "sim", *args[2:])
        assert r.code != 0 and "Customize Application" in r.err and "Nothing was sent" in r.err
        assert not _changes(sim) and _drift_tokens(sim) == 4
        shown = cli("journal", "show", "--kind", "action.refused", "--json").json()
        assert shown[-1]["data"]["reason"] == "missing_permissions"


def test_creds_test_lists_containment_permissions(cli: Any, tmp_path: Path) -> None:
    with _start(tmp_path / "org", mini_seed(extra=JUNIOR_SEED)) as sim:
        for alias, user in (("full", RESPONDER), ("junior", JUNIOR)):
            r = cli(
                "creds", "set", alias, "--kind", "password", "--username", user, "--instance-url", sim.url,
                "--ca", str(sim.ca_path), stdin=f"{PASSWORD}\n{TOKEN}\n",
            )  # fmt: skip
            assert r.code == 0, r.err
        full = cli("creds", "test", "full")
        assert full.code == 0, full.err
        assert "present  Customize Application: see every user's OAuth tokens" in full.out
        assert "MISSING" not in full.out
        junior = cli("creds", "test", "junior")
        assert junior.code == 0, junior.err
        assert "MISSING  Customize Application" in junior.out and "present  Manage Users" in junior.out
        data = cli("creds", "test", "junior", "--json").json()
        states = {c["key"]: c["state"] for c in data["permissions"]}
        assert states["see_all_tokens"] == "missing" and states["freeze_users"] == "present"
        assert data["permissions_complete"] is True


# --------------------------------------------------------------------------------------------------
# Revoke answers as documented: invalid_token is gone, unsupported_token_type is not revoked
# --------------------------------------------------------------------------------------------------


def test_revoke_refusal_codes_reach_the_client_as_documented(sim: SimOrg) -> None:
    with login(sim) as admin:
        token = admin.query("SELECT DeleteToken FROM OauthToken WHERE AppName = 'Drift' LIMIT 1")[0]["DeleteToken"]
        with pytest.raises(InvalidToken) as gone:
            admin.revoke_token("not-a-token-of-this-org")
        assert gone.value.code == "INVALID_TOKEN" and gone.value.status == 400
        sim.faults.set(revoke_unsupported=1)
        with pytest.raises(RevokeRefused) as refused:
            admin.revoke_token(token)
        assert refused.value.code == "UNSUPPORTED_TOKEN_TYPE" and "NOT revoked" in str(refused.value)
        assert admin.count(DRIFT_COUNT) == 4, "an unsupported_token_type answer revoked nothing"
        admin.revoke_token(token)
        assert admin.count(DRIFT_COUNT) == 3


def test_unsupported_token_type_is_a_failure_and_invalid_token_already_revoked(sim: SimOrg, incident: Any) -> None:
    with login(sim) as admin:
        plan = cm.make_plan(admin, incident, "revoke_tokens", app="Drift", actor="alice", org_alias="sim")
        tokens = {
            s.n: r["DeleteToken"]
            for s in plan.steps
            for r in admin.query("SELECT DeleteToken, CreatedDate, UserId, AppName FROM OauthToken")
            if s.record in token_refs(r)
        }
        sim.faults.set(revoke_unsupported=1)  # the first revoke call is refused as unsupported_token_type

        def revoke_behind_our_back(i: int, n: int, rec: cm.RecordResult) -> None:
            if i == 1:  # token 2 disappears after it was read, before it is sent: the org answers invalid_token
                with sim.store.lock:
                    assert sim.store.revoke(tokens[2])

        result = cm.apply_plan(incident, admin, plan, "sim", "alice", revoke_behind_our_back)
    statuses = [(r.n, r.status, r.code) for r in result.records]
    assert statuses[0] == (1, "failed", "UNSUPPORTED_TOKEN_TYPE")
    assert statuses[1] == (2, "already", "INVALID_TOKEN")
    assert [s[1] for s in statuses[2:]] == ["ok", "ok"]
    assert result.status == "partial" and _drift_tokens(sim) == 1, "the refused token is still there"
    assert result.verification["revoke_token"]["matching_now"] == 1


# --------------------------------------------------------------------------------------------------
# An inventory pulled by a login that cannot see every token says it is partial
# --------------------------------------------------------------------------------------------------


def test_inventory_pulled_without_customize_application_is_marked_partial(sim: SimOrg) -> None:
    from app import inventory as inv

    with login(sim, username=JUNIOR) as junior:
        snap = inv.pull(junior, alias="sim")
    assert snap.oauth_tokens == [], "Salesforce showed this login none of the integration user's tokens"
    notes = [n for n in snap.notes if n.object == "OauthToken"]
    assert len(notes) == 1 and notes[0].status == "partial" and "Customize Application" in notes[0].message
    assert snap.partial("OauthToken")
    assert snap.count_text("oauth_tokens", "OAuth tokens", "OauthToken") == "0 OAuth tokens (PARTIAL: see notes)"
    with login(sim) as admin:
        full = inv.pull(admin, alias="sim")
    assert len(full.oauth_tokens) == 4 and not full.partial("OauthToken")
    assert full.count_text("oauth_tokens", "OAuth tokens", "OauthToken") == "4 OAuth tokens"


def test_cli_inventory_pull_by_a_blind_login_says_partial(cli: Any, tmp_path: Path) -> None:
    text = mini_seed().replace('"CustomizeApplication", ', "")
    with _start(tmp_path / "blind", text) as sim:
        cli.new()
        r = cli("inventory", "pull", "--org", "sim", "--instance-url", sim.url, "--ca", str(sim.ca_path))
        assert r.code == 0, r.err
        assert "0 OAuth tokens (PARTIAL: see notes)" in r.out
        assert "note: OauthToken: this login lacks Customize Application" in r.out
        shown = cli("inventory", "show")
        assert "OAuth tokens: PARTIAL" in shown.out
