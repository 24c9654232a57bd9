"""A help-desk vishing case end to end against the simulated org (seed `helpdesk-vishing`): a support agent (a
human user) authorises a Data Loader lookalike, which bulk-exports Contacts and Cases through a permission set
granting API Enabled and View All Records on both.

The checks follow a responder: the inventory must read the agent's object access, the findings must keep the
app compromised after its tokens are revoked and until it is blocked, and strip_permissions must remove the
assignment that granted the export (and only that one), leaving the profile's grants as a manual task.
Every check of the org is a query through the adapter or a look at the simulator's store.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app import findings as fd
from app import inventory as inv
from app.base.clock import FrozenClock, format_instant
from app.composition.workspace import Workspace
from app.containment import execute as cm
from app.findings.incident import record_findings
from app.salesforce.client import Org
from app.salesforce.simlogin import sim_credentials
from app.simorg import SimOrg

NOW = datetime(2025, 7, 16, 10, 0, tzinfo=UTC)
SEED = Path(__file__).resolve().parents[1] / "app" / "data" / "simorg" / "helpdesk-vishing.toml"
AGENT = "m.reyes@initech.example"
APP = "Data Loader Bulk Sync"
ATTACKER = fd.Indicators(addresses=[fd.BadAddress(ipaddress.ip_network("203.0.113.0/24"), True, "case: attacker")])


@pytest.fixture
def sim_clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def sim(tmp_path: Path, sim_clock: FrozenClock) -> Iterator[SimOrg]:
    with SimOrg.start(str(SEED), clock=sim_clock, cert_dir=tmp_path / "cert") as org:
        yield org


@pytest.fixture
def org(sim: SimOrg) -> Iterator[Org]:
    with Org.login(sim_credentials(sim.url, sim.ca_path), sleep=lambda s: None) as o:
        yield o


@pytest.fixture
def incident(tmp_path: Path, sim_clock: FrozenClock, mem_keyring: Any) -> Iterator[Any]:
    ws = Workspace(tmp_path / "home", sim_clock, mem_keyring)
    with ws.create("Help-desk vishing", "alice") as inc:
        yield inc


def _store(sim: SimOrg, sobject: str, **equals: Any) -> list[dict[str, Any]]:
    with sim.store.lock:
        return [dict(r) for r in sim.store.find(sobject, **equals)]


def _user_id(sim: SimOrg, username: str) -> str:
    with sim.store.lock:
        return str(sim.store.user_by_username(username)["Id"])


def _set_id(sim: SimOrg, name: str) -> str:
    return str(_store(sim, "PermissionSet", Name=name)[0]["Id"])


def _pull(org: Org, incident: Any, clock: FrozenClock) -> list[fd.Finding]:
    """Pull, save and judge, the way `inventory pull` then `findings` do."""
    snap = inv.pull(org, alias="sim", taken_utc=format_instant(clock.now()), touch=fd.followed_users(incident))
    saved = inv.save_snapshot(incident, snap, "alice")
    return record_findings(incident, snap, "alice", evidence_id=saved.evidence_id, indicators=ATTACKER)


def _one(found: list[fd.Finding], pattern: str, target: str) -> fd.Finding:
    hits = [f for f in found if f.pattern == pattern and f.target == target]
    assert len(hits) == 1, [(f.pattern, f.target, f.title) for f in found]
    return hits[0]


def _apply(org: Org, incident: Any, plan: cm.Plan) -> None:
    assert cm.apply_plan(incident, org, plan, "sim", "alice").status == "done"


def test_the_inventory_reads_the_compromised_humans_object_access(sim: SimOrg, org: Org) -> None:
    snap = inv.pull(org, alias="sim", taken_utc="2025-07-16T10:00:00Z")
    agent = _user_id(sim, AGENT)
    tools = _set_id(sim, "Support_Data_Tools")
    held = {ps.name for ps, _ in inv.held_permission_sets(snap)[agent]}
    assert {"Support_Data_Tools", "Opportunity_Reader"} <= held
    assert tools in (snap.access_read_for or [])
    rows = {(op.object, op.read, op.view_all, op.modify_all) for op in snap.object_permissions if op.parent_id == tools}
    assert rows == {("Contact", True, True, False), ("Case", True, True, False)}
    assert {fp.field for fp in snap.field_permissions if fp.parent_id == tools} == {
        "Email",
        "Phone",
        "MobilePhone",
        "Birthdate",
    }
    # The same rows as the simulated org holds, read directly from its store (not through the pull).
    stored = {
        (r["SobjectType"], r["PermissionsViewAllRecords"]) for r in _store(sim, "ObjectPermissions", ParentId=tools)
    }
    assert stored == {("Contact", True), ("Case", True)}


def test_a_user_the_incident_names_is_in_scope_without_holding_a_token(sim: SimOrg, org: Org) -> None:
    other = _user_id(sim, "t.nguyen@initech.example")
    snap = inv.pull(org, alias="sim", taken_utc="2025-07-16T10:00:00Z", touch=["t.nguyen@initech.example"])
    assert other not in inv.touched_users(snap)  # no token, not an integration user
    assert inv.touched_users(snap, also=["t.nguyen@initech.example"])[other] == "named by the incident"
    assert inv.touched_users(snap, also=[other[:15]])[other] == "named by the incident"
    read = set(snap.access_read_for or [])
    assert {ps.id for ps, _ in inv.held_permission_sets(snap)[other]} <= read


def test_findings_follow_the_case_until_containment_is_verified(
    sim: SimOrg, org: Org, incident: Any, sim_clock: FrozenClock
) -> None:
    agent = _user_id(sim, AGENT)
    tools_assignment = _store(
        sim, "PermissionSetAssignment", AssigneeId=agent, PermissionSetId=_set_id(sim, "Support_Data_Tools")
    )[0]["Id"]

    # Before containment: the app, the agent's sessions and logins, and what the agent can still export.
    found = _pull(org, incident, sim_clock)
    app = _one(found, fd.COMPROMISED_TOKENS, f"app:{APP}")
    assert app.status == "open" and app.containment == "revoke_tokens"
    assert any("not blocked" in s for s in app.still_open)
    access = _one(found, fd.COMPROMISED_ACCESS, f"access:{agent}")
    assert access.containment == "strip_permissions"
    assert tools_assignment in {r.id for r in access.records if r.type == "PermissionSetAssignment"}
    assert any("API Enabled" in d and "View All Records on Contact" in d for d in access.details)
    assert not any("Opportunity_Reader" in d for d in access.details)

    # Revoke the app's tokens: the plan carries the block as a manual task (no API blocks a connected app).
    revoke = cm.plan_for_finding(org, incident, app, actor="alice", org_alias="sim")
    assert revoke.counts == {"revoke_token": 1}
    assert [t.kind for t in revoke.manual_tasks] == ["block_app"]
    assert any("OAuth Usage" in s for s in revoke.manual_tasks[0].steps)
    _apply(org, incident, revoke)
    assert org.count(f"SELECT COUNT() FROM OauthToken WHERE AppName = '{APP}'") == 0

    sim_clock.advance(timedelta(minutes=10))
    found = _pull(org, incident, sim_clock)
    app = _one(found, fd.COMPROMISED_TOKENS, f"app:{APP}")
    assert app.status == "open" and app.containment == "block_app"
    assert not any("still issued" in s for s in app.still_open)
    assert any("not blocked" in s for s in app.still_open)
    assert any(f"tokens revoked: {revoke.plan_id}" in h for h in app.history)
    assert cm.selectors_for_finding(app) == {"app": APP}

    # Freeze the agent, end the sessions, strip the grant that let the data out.
    freeze = _one(found, fd.COMPROMISED_USER, f"freeze:{agent}")
    _apply(org, incident, cm.plan_for_finding(org, incident, freeze, actor="alice", org_alias="sim"))
    sessions = _one(found, fd.COMPROMISED_USER, f"sessions:{agent}")
    _apply(org, incident, cm.plan_for_finding(org, incident, sessions, actor="alice", org_alias="sim"))
    access = _one(found, fd.COMPROMISED_ACCESS, f"access:{agent}")
    strip = cm.plan_for_finding(org, incident, access, actor="alice", org_alias="sim")
    assert [s.record for s in strip.steps] == [tools_assignment]
    assert "API Enabled" in strip.steps[0].label and "View All Records on Case" in strip.steps[0].label
    assert strip.steps[0].before["Grants"] == ["API Enabled", "View All Records on Case", "View All Records on Contact"]
    assert [r.label.split(" (")[0] for r in strip.refused] == ["Custom: Support Agent"]
    assert [t.kind for t in strip.manual_tasks] == ["change_profile"]
    assert any("Setup > Users > Users" in s for s in strip.manual_tasks[0].steps)
    _apply(org, incident, strip)
    assert not _store(sim, "PermissionSetAssignment", Id=tools_assignment)
    assert _store(sim, "PermissionSetAssignment", AssigneeId=agent, PermissionSetId=_set_id(sim, "Opportunity_Reader"))

    sim_clock.advance(timedelta(minutes=10))
    found = _pull(org, incident, sim_clock)
    assert _one(found, fd.COMPROMISED_USER, f"freeze:{agent}").status == "closed"
    assert _one(found, fd.COMPROMISED_USER, f"sessions:{agent}").status == "closed"
    access = _one(found, fd.COMPROMISED_ACCESS, f"access:{agent}")
    assert access.status == "open" and access.containment is None  # only the profile's API Enabled is left
    assert [s.split(" grants")[0] for s in access.still_open] == ["profile Custom: Support Agent"]
    assert any(f"assignment {tools_assignment} no longer" in h for h in access.history)
    app = _one(found, fd.COMPROMISED_TOKENS, f"app:{APP}")
    assert app.status == "open" and any("not blocked" in s for s in app.still_open)

    # The block, confirmed with evidence: open until a snapshot pulled after it shows the app unused.
    task = cm.status(incident)[0].tasks[0]
    shot = incident.add_evidence_bytes(b"OAuth Usage: Data Loader Bulk Sync Blocked", "blocked.png", "alice")
    sim_clock.advance(timedelta(minutes=5))
    cm.confirm_task(incident, task.task_id, shot.evidence_id, "alice")
    found = record_findings(
        incident, inv.load_current(incident), "alice", evidence_id=None, indicators=ATTACKER
    )  # the same (older) snapshot
    app = _one(found, fd.COMPROMISED_TOKENS, f"app:{APP}")
    assert app.status == "open" and any("not yet verified" in s for s in app.still_open)

    sim_clock.advance(timedelta(minutes=10))
    found = _pull(org, incident, sim_clock)
    app = _one(found, fd.COMPROMISED_TOKENS, f"app:{APP}")
    assert app.status == "closed" and app.still_open == []
    assert any(f"{task.task_id} confirmed by alice" in h for h in app.history)
    assert [f.status for f in found].index("closed") > max(i for i, f in enumerate(found) if f.status == "open")


def test_an_authorisation_after_the_block_reopens_the_app(
    sim: SimOrg, org: Org, incident: Any, sim_clock: FrozenClock
) -> None:
    found = _pull(org, incident, sim_clock)
    app = _one(found, fd.COMPROMISED_TOKENS, f"app:{APP}")
    revoke = cm.plan_for_finding(org, incident, app, actor="alice", org_alias="sim")
    _apply(org, incident, revoke)
    shot = incident.add_evidence_bytes(b"blocked", "blocked.png", "alice")
    cm.confirm_task(incident, revoke.manual_tasks[0].task_id, shot.evidence_id, "alice")
    sim_clock.advance(timedelta(hours=1))
    # The block did not hold (or was undone): another agent authorises the lookalike again.
    sim.inject(
        {
            "oauth_tokens": [
                {"app_name": APP, "user": "agent2", "created": format_instant(sim_clock.now()), "use_count": 3}
            ]
        }
    )
    found = _pull(org, incident, sim_clock)
    app = _one(found, fd.COMPROMISED_TOKENS, f"app:{APP}")
    assert app.status == "open"
    assert any("used after the block" in s for s in app.still_open)
    assert any("still issued" in s for s in app.still_open)


def test_the_snapshot_plans_the_same_strip_as_the_live_org(sim: SimOrg, org: Org, incident: Any) -> None:
    inv.save_snapshot(incident, inv.pull(org, alias="sim", taken_utc="2025-07-16T10:00:00Z"), "alice")
    kw: dict[str, Any] = {"actor": "alice", "org_alias": "sim", "users": [AGENT], "objects": ["Contact", "Case"]}
    live = cm.make_plan(org, incident, "strip_permissions", **kw)
    offline = cm.make_plan(None, incident, "strip_permissions", from_snapshot=True, **kw)
    assert [s.record for s in live.steps] == [s.record for s in offline.steps]
    assert [s.before["Grants"] for s in live.steps] == [s.before["Grants"] for s in offline.steps]
    assert [r.record for r in live.refused] == [r.record for r in offline.refused]
    assert any("Read on Contact" in r.label for r in live.refused)  # the profile reads the exported objects
    assert any("Contact, Case" in n or "Case, Contact" in n for n in live.notes)


INDICATORS = """
format = 1
name = "helpdesk-case"
title = "Addresses the lookalike app was used from"

[[indicator]]
kind = "ip"
values = ["203.0.113.0/24"]
confidence = "high"
"""


def test_cli_findings_say_what_is_still_open_after_revocation(cli: Any, sim: SimOrg, tmp_path: Path) -> None:
    ioc = tmp_path / "case.toml"
    ioc.write_text(INDICATORS, encoding="utf-8")
    sim_args = ["--instance-url", sim.url, "--ca", str(sim.ca_path)]
    cli.new()
    assert cli("inventory", "pull", "--org", "sim", *sim_args).code == 0
    before = cli("findings", "--indicators", str(ioc), "--json").json()
    app = next(f for f in before["findings"] if f["target"] == f"app:{APP}")
    assert app["status"] == "open" and app["containment"] == "revoke_tokens"
    plan = cli("contain", "plan", "revoke_tokens", "--app", APP, "--org", "sim", *sim_args, "--json").json()
    assert [t["kind"] for t in plan["manual_tasks"]] == ["block_app"]
    assert cli("contain", "apply", plan["plan_id"], "--confirm", "sim", *sim_args).code == 0
    assert cli("inventory", "pull", "--org", "sim", *sim_args).code == 0
    text = cli("findings", "--indicators", str(ioc))
    assert text.code == 0
    assert f"[CRITICAL] {APP}: app logins from addresses on an indicator list; no token left now" in text.out
    assert f"still open: {APP} is not blocked" in text.out
    after = cli("findings", "--indicators", str(ioc), "--json").json()
    app = next(f for f in after["findings"] if f["target"] == f"app:{APP}")
    assert app["status"] == "open" and app["containment"] == "block_app"
    assert after["closed"] == 0 and after["counts"]["critical"] >= 1


def test_the_tabletop_script_closes_the_app_only_with_the_block_confirmed(tmp_path: Path) -> None:
    """The shipped tabletop for this case, played headless with its shipped script: the app finding is closed
    by the confirmed block and a later snapshot; the agent's export access is left only on her profile."""
    import json

    from tests.conftest import MemoryKeyring, isolated
    from tests.test_exercise import run_cli

    home = tmp_path / "ex"
    home.mkdir()
    backend = MemoryKeyring()
    with isolated(home, backend):
        code, out, err = run_cli(
            home, backend, "exercise", "run", "helpdesk-vishing", "--script", "helpdesk-vishing", "--json"
        )
    assert code == 0, err + out[-2000:]
    result = json.loads(out)
    assert result["failures"] == []
    ws = Workspace(home, FrozenClock(datetime(2030, 1, 1, tzinfo=UTC)), backend)
    with ws.open(result["incident_id"]) as incident:
        snap = inv.load_current(incident)
        agent = next(u.id for u in snap.users if u.username == AGENT)
        found = record_findings(incident, snap, "facilitator", evidence_id=None, indicators=ATTACKER)
        app = _one(found, fd.COMPROMISED_TOKENS, f"app:{APP}")
        assert app.status == "closed" and any("block_app confirmed" in h for h in app.history)
        access = _one(found, fd.COMPROMISED_ACCESS, f"access:{agent}")
        assert access.status == "open" and access.containment is None
        assert [s.split(" grants")[0] for s in access.still_open] == ["profile Custom: Support Agent"]
        strips = [s for s in cm.status(incident) if s.action == "strip_permissions"]
        assert [s.status for s in strips] == ["done"]
        plan = cm.load_plan(incident, strips[0].action_id)
        assert [s.before["PermissionSet.Name"] for s in plan.steps] == ["Support_Data_Tools"]
        assert plan.steps[0].before["Grants"] == [
            "API Enabled",
            "View All Records on Case",
            "View All Records on Contact",
        ]
        assert any("Read on Case" in r.label and "Read on Contact" in r.label for r in plan.refused)
