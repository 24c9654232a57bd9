"""Roles across laptops: an approval journaled on the commander's laptop lets the admin apply on theirs, once
synced; before that, apply names the approval it is missing and sends nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.base.clock import FrozenClock
from app.incident import settings
from app.simorg import SimOrg
from tests.team_helpers import Team

NOW = datetime(2025, 8, 20, 9, 0, tzinfo=UTC)
DRIFT_INT = "drift-int@acme.example"


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimOrg]:
    with SimOrg.start("chat-vendor-theft", clock=FrozenClock(NOW), cert_dir=tmp_path / "cert") as org:
        yield org


def _frozen(sim: SimOrg, username: str) -> bool:
    with sim.store.lock:
        user = sim.store.user_by_username(username)["Id"]
        return bool(next(dict(r) for r in sim.store.find("UserLogin", UserId=user)).get("IsFrozen"))


def test_commanders_approval_lets_the_admin_apply_after_sync(tmp_path: Path, sim: SimOrg) -> None:
    team = Team(tmp_path / "team")
    org = ["--instance-url", sim.url, "--ca", str(sim.ca_path)]
    team.ok(team.alice, "settings", "set", settings.REQUIRE_DISTINCT_APPROVER, "on")
    team.sync_all()
    with team.open(team.bob) as incident:  # the commander's setting holds on the admin's laptop
        assert settings.get_setting(incident.journal, settings.REQUIRE_DISTINCT_APPROVER) is True

    team.tick()
    plan_id = team.bob.cli("contain", "plan", "freeze_users", "--user", DRIFT_INT, "--org", "sim", *org, "--json")
    plan_id = plan_id.json()["plan_id"]
    refused = team.bob.cli("contain", "apply", plan_id, "--confirm", "sim", *org)
    assert refused.code != 0 and "needs an approver other than the executor (bob)" in refused.err
    assert "counts once `warroom sync` has brought it here" in refused.err
    assert not _frozen(sim, DRIFT_INT)

    team.sync(team.bob)
    team.sync(team.alice)  # the plan, and its stored copy, reach the commander
    team.tick()
    approved = team.alice.cli("contain", "approve", plan_id, "--confirm", "sim")
    assert approved.code == 0, approved.err
    still = team.bob.cli("contain", "apply", plan_id, "--confirm", "sim", *org)  # not synced yet
    assert still.code != 0 and "approver other than the executor" in still.err and not _frozen(sim, DRIFT_INT)

    team.sync(team.alice)
    team.sync(team.bob)
    team.tick()
    done = team.bob.cli("contain", "apply", plan_id, "--confirm", "sim", *org)
    assert done.code == 0, done.err
    assert _frozen(sim, DRIFT_INT)
    with team.open(team.bob) as incident:
        journal = incident.journal
        (intent,) = [e for e in journal.entries(kind="action.intent") if e.data["action_id"] == plan_id]
        assert (intent.data["approver"], intent.actor, journal.origin_name(intent.seq)) == ("alice", "bob", "bob")
        approval = journal.entry(intent.data["approval_seq"])
        assert approval is not None and approval.kind == "action.approval"
        assert journal.origin_name(approval.seq) == "alice"
    team.sync_all()
    with team.open(team.carol) as incident:
        assert incident.journal.get_state("containment", plan_id)["status"] == "done"
