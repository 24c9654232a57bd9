"""The console against the simulated org: pull the inventory in a worker, then contain with the typed alias."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Input

from app.base.clock import FrozenClock
from app.exercise import demo
from app.simorg import SimOrg
from screens.modals.containment import ContainmentModal
from screens.widgets.checklist_pane import ChecklistPane
from screens.widgets.inventory_pane import InventoryPane
from tests.console_helpers import Console, make_context

WIDE = (160, 48)


@pytest.fixture
def sim() -> Iterator[SimOrg]:
    org = SimOrg.start(demo.DEMO_SEED)
    yield org
    org.stop()


@pytest.fixture
def console(home: Path, clock: FrozenClock, mem_keyring) -> Iterator[Console]:
    ctx = make_context(home, clock, mem_keyring)
    c = Console(ctx, demo.create_demo_incident(ctx), clock)
    yield c
    c.incident.close()


async def settle(pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_pull_inventory_in_a_worker(console: Console, sim: SimOrg) -> None:
    app = console.app(org_factory=demo.sim_factory(sim))
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        pane = app.screen.query_one(InventoryPane)
        assert pane.rows == []
        await pilot.press("p")
        await settle(pilot)
        journal = console.incident.journal
        snap = journal.last("inventory.snapshot")
        assert snap is not None and snap.data["source"]["org_alias"] == "sim"
        assert journal.last("inventory.findings") is not None
        assert any(r.key == "app:Drift" and r.findings for r in pane.rows)
        assert app.screen.active_pane == "inventory"


async def test_pull_without_an_org_says_so(console: Console) -> None:
    app = console.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        before = console.incident.journal.head().size
        await pilot.press("p")
        await settle(pilot)
        assert console.incident.journal.head().size == before
        assert any("no org connected" in n.message for n in app._notifications)


async def test_containment_needs_the_typed_alias_then_revokes_and_ticks(console: Console, sim: SimOrg) -> None:
    assert sim.store.find("OauthToken", AppName="Drift")
    app = console.app(org_factory=demo.sim_factory(sim))
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
        pane = app.screen.query_one(InventoryPane)
        pane.select("app:Drift")
        await pilot.press("c")
        for _ in range(300):
            if isinstance(app.screen, ContainmentModal):
                break
            await pilot.pause(0.02)
        modal = app.screen
        assert isinstance(modal, ContainmentModal)
        assert modal.alias == "sim" and any("Drift token" in s for s in modal.steps)
        journal = console.incident.journal
        plan = journal.last("action.plan")
        assert plan is not None and plan.data["selectors"]["app"] == "Drift"

        await pilot.press(*"prod", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ContainmentModal)  # refused: still asking
        assert journal.last("action.intent") is None
        assert sim.store.find("OauthToken", AppName="Drift")

        modal.query_one("#alias", Input).value = ""
        await pilot.press(*"sim", "enter")
        await settle(pilot)
        result = journal.last("action.result")
        assert result is not None and result.data["status"] == "done"
        assert journal.last("action.intent").seq < result.seq
        assert sim.store.find("OauthToken", AppName="Drift") == []
        state = journal.get_state("checklist", "contain.revoke-tokens")
        assert state["state"] == "done" and plan.data["action_id"] in state["note"]
        assert app.screen.query_one(ChecklistPane).items["contain.revoke-tokens"].state == "done"
        row = next(r for r in pane.rows if r.key == "app:Drift")
        assert row.containment.startswith("✓ revoke_tokens done")
