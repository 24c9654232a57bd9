"""Just-in-time grants from the console's palette: "grant: plan" reads the org in a worker and journals the plan
(what it refuses opens the dialog again with what was typed, nothing journaled), "grant: approve" takes only the
approver the plan names, "grant: apply" creates the assignment with its ExpirationDate through containment's run,
"grant: list" shows it with its expiry, "grant: check" queries it (active, then expired on the org's clock) and
"grant: revoke" removes it early: the same functions and journal entries as `warroom grant`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from app.base.clock import FrozenClock
from app.exercise import demo
from app.grants import apply_grant, approve_grant, plan_grant
from app.grants.applying import grant_plan
from app.simorg import SimOrg
from screens.modals.containment import ContainmentModal
from screens.modals.form import FormModal
from screens.modals.table import TableModal
from tests.console_helpers import Console, demo_console, fill, palette, settle, until
from tests.simorg_helpers import demo_login

USER = "hubspot-int@acme.example"
SET = "Sales_Operations"


@pytest.fixture
def console(home: Path, clock: FrozenClock, mem_keyring: Any) -> Iterator[Console]:
    with demo_console(home, clock, mem_keyring) as c:
        yield c


@pytest.fixture
def sim(console: Console, tmp_path: Path) -> Iterator[SimOrg]:
    with SimOrg.start("chat-vendor-theft", clock=console.clock, cert_dir=tmp_path / "cert") as org:
        yield org


def _assignments(sim: SimOrg) -> list[dict[str, Any]]:
    with sim.store.lock:
        uid = sim.store.user_by_username(USER)["Id"]
        ps = sim.store.find("PermissionSet", Name=SET)[0]["Id"]
        return [dict(r) for r in sim.store.find("PermissionSetAssignment", AssigneeId=uid, PermissionSetId=ps)]


def _kinds(console: Console, since: int) -> list[str]:
    return [e.kind for e in console.incident.journal.entries() if e.seq > since]


async def test_a_grant_is_planned_approved_applied_and_listed_from_the_palette(console: Console, sim: SimOrg) -> None:
    journal = console.incident.journal
    start = journal.head().size
    factory = demo.sim_factory(sim, "sim")
    app = console.app(org_factory=factory)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await palette(pilot, "grant: plan")
        typed = {"user": USER, "name": SET, "reason": "re-sync after the rebuild", "approver": "tester"}
        await fill(pilot, {**typed, "hours": "8", "until": "2026-12-01T00:00:00Z"})
        assert "not both" in pilot.app.screen.error  # refused in the dialog
        await fill(pilot, {"until": ""})
        # The org was read in the worker; the refusal opens the dialog again with everything typed.
        await until(pilot, lambda: isinstance(pilot.app.screen, FormModal) and bool(pilot.app.screen.error))
        modal = pilot.app.screen
        assert "approver must not be the person asking" in modal.error
        assert modal.query_one("#field-user", Input).value == USER
        assert "action.plan" not in _kinds(console, start)
        await fill(pilot, {"user": "nobody@acme.example", "approver": "bob"})
        await until(pilot, lambda: isinstance(pilot.app.screen, FormModal) and "nobody" in pilot.app.screen.error)
        assert "action.plan" not in _kinds(console, start)
        await fill(pilot, {"user": USER})
        assert not isinstance(pilot.app.screen, FormModal)
        plan = journal.last("action.plan")
        assert plan is not None and plan.actor == "tester" and plan.data["action"] == "grant_access"
        plan_id = plan.data["action_id"]
        terms = grant_plan(console.incident, plan_id).grant
        assert terms is not None and terms.approver == "bob" and terms.reason == "re-sync after the rebuild"
        assert terms.expires_utc.startswith((console.clock.now() + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:%S"))

        await palette(pilot, "grant: approve")  # tester is not the approver the grant names
        await fill(pilot, {"plan": plan_id, "alias": "sim"})
        assert "names bob as its approver" in pilot.app.screen.error
        refused = journal.last("action.refused")
        assert refused is not None and refused.data["reason"] == "not_the_named_approver"
        await pilot.press("escape")

    bob = Console(replace(console.ctx, actor="bob"), console.incident, console.clock)
    async with bob.app(org_factory=factory).run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await palette(pilot, "grant: approve")
        await fill(pilot, {"plan": plan_id, "alias": "sim"})
        approval = journal.last("action.approval")
        assert approval is not None and approval.actor == "bob" and approval.data["action_id"] == plan_id

    app = console.app(org_factory=factory)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        assert _assignments(sim) == []
        await palette(pilot, "grant: apply")
        await fill(pilot, {"plan": plan_id})
        await until(pilot, lambda: isinstance(pilot.app.screen, ContainmentModal))
        pilot.app.screen.query_one("#alias", Input).value = "sim"
        await pilot.press("enter")
        await settle(pilot)
        [row] = _assignments(sim)
        result = journal.last("action.result")
        assert result is not None and result.data["action_id"] == plan_id and result.data["status"] == "done"
        assert "action.intent" in _kinds(console, approval.seq)

        await palette(pilot, "grant: list")
        await until(pilot, lambda: isinstance(pilot.app.screen, TableModal))
        [listed] = pilot.app.screen.result.rows
        assert listed.key == plan_id
        assert listed.cells[1:3] == (SET, USER) and listed.cells[5] == "granted, not checked"
        assert listed.cells[4] == terms.expires_utc
        assert row["ExpirationDate"] == console.clock.now() + timedelta(hours=8)  # in the org, with its expiry
        await pilot.press("escape")

        await palette(pilot, "grant: check")  # queried: still there
        await until(pilot, lambda: isinstance(pilot.app.screen, TableModal))
        assert pilot.app.screen.result.rows[0].cells[5] == "active"
        checked = journal.last("grant.checked")
        assert checked is not None and checked.actor == "tester"
        await pilot.press("escape")

        console.clock.advance(timedelta(hours=9))  # the assignment lapses on the org's clock
        await palette(pilot, "grant: check")
        await until(
            pilot, lambda: isinstance(pilot.app.screen, TableModal) and journal.last("grant.checked") != checked
        )
        assert pilot.app.screen.result.rows[0].cells[5] == "expired"
        assert _assignments(sim) == []


async def test_a_grant_is_revoked_before_it_expires_from_the_palette(console: Console, sim: SimOrg) -> None:
    inc = console.incident
    with demo_login(sim) as org:
        plan = plan_grant(org, inc, user=USER, permission_set=SET, expires=console.clock.now() + timedelta(hours=8),
                          reason="re-sync", approver="bob", actor="tester", org_alias="sim")  # fmt: skip
        approve_grant(inc, plan.plan_id, "sim", "bob")
        assert apply_grant(inc, lambda: org, plan.plan_id, "sim", "tester").result.status == "done"
    assert len(_assignments(sim)) == 1
    app = console.app(org_factory=demo.sim_factory(sim, "sim"))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await palette(pilot, "grant: revoke")
        await fill(pilot, {"plan": plan.plan_id, "reason": "sync finished early"})
        await until(pilot, lambda: isinstance(pilot.app.screen, ContainmentModal))
        pilot.app.screen.query_one("#alias", Input).value = "sim"
        await pilot.press("enter")
        await settle(pilot)
    assert _assignments(sim) == []
    revoke = inc.journal.last("action.plan")
    assert revoke is not None and revoke.data["origin"] == "undo" and revoke.actor == "tester"
    result = inc.journal.last("action.result")
    assert result is not None and result.data["action_id"] == revoke.data["action_id"]
    assert result.data["status"] == "done"
