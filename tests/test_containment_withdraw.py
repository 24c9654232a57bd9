"""Plans that will not be applied are withdrawn with a reason (journaled, listed as withdrawn, refused by apply), and
the apply command `contain plan` prints for a simulated-org plan works as printed."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.base.clock import FrozenClock
from app.simorg import SimOrg
from tests.simorg_helpers import NOW, sim_args

DRIFT_INT = "drift-int@acme.example"


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimOrg]:
    with SimOrg.start("chat-vendor-theft", clock=FrozenClock(NOW), cert_dir=tmp_path / "cert") as org:
        yield org


def _frozen(sim: SimOrg) -> bool:
    with sim.store.lock:
        user = sim.store.user_by_username(DRIFT_INT)
        return bool(sim.store.find("UserLogin", UserId=user["Id"])[0].get("IsFrozen"))


def test_the_printed_apply_command_works_for_a_simulated_org_plan(cli: Any, sim: SimOrg) -> None:
    cli.new()
    r = cli("contain", "plan", "freeze_users", "--user", DRIFT_INT, *sim_args(sim))
    assert r.code == 0, r.err
    printed = r.out.rsplit("to run it: ", 1)[1].strip()
    argv = shlex.split(printed)
    assert argv[:3] == ["warroom", "contain", "apply"] and "--instance-url" not in argv
    r = cli(*argv[1:])
    assert r.code == 0, r.err
    assert _frozen(sim)


def test_a_withdrawn_plan_is_journaled_listed_and_never_applied(cli: Any, sim: SimOrg) -> None:
    cli.new()
    r = cli("contain", "plan", "freeze_users", "--user", DRIFT_INT, *sim_args(sim), "--json")
    assert r.code == 0, r.err
    plan_id = r.json()["plan_id"]
    r = cli("contain", "withdraw", plan_id, "--reason", "dry run for the drill")
    assert r.code == 0, r.err
    assert f"{plan_id} withdrawn" in r.out
    entry = cli("journal", "show", "--kind", "action.withdrawn", "--json").json()[0]
    assert entry["data"] == {"action_id": plan_id, "reason": "dry run for the drill", "previous_status": "planned"}

    status = cli("contain", "status", "--json").json()
    assert status[0]["status"] == "withdrawn" and status[0]["withdrawn_reason"] == "dry run for the drill"
    report = cli("report", "--format", "json").json()
    rows = [c for c in report["containment"] if c["action_id"] == plan_id]
    assert [c["status"] for c in rows] == ["withdrawn"]
    assert "planned, not applied" not in cli("report", "--format", "md").out

    r = cli("contain", "apply", plan_id, "--confirm", "sim")
    assert r.code != 0 and "withdrawn" in r.err and "nothing was sent" in r.err
    assert not _frozen(sim)
    r = cli("contain", "withdraw", plan_id, "--reason", "again")
    assert r.code != 0 and "already withdrawn" in r.err
    r = cli("contain", "withdraw", plan_id, "--reason", "  ")
    assert r.code != 0 and "reason" in r.err


def test_a_plan_that_ran_cannot_be_withdrawn(cli: Any, sim: SimOrg) -> None:
    cli.new()
    plan_id = cli("contain", "plan", "freeze_users", "--user", DRIFT_INT, *sim_args(sim), "--json").json()["plan_id"]
    assert cli("contain", "apply", plan_id, "--confirm", "sim").code == 0
    r = cli("contain", "withdraw", plan_id, "--reason", "changed my mind")
    assert r.code != 0 and "contain undo" in r.err
