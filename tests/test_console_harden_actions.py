"""Hardening from the console's palette: "harden: plan" plans in a worker and journals the same `action.plan` as
`warroom harden plan` (its steps and manual tasks shown), and "harden: check" reads the app back by query and
journals `harden.checked`, each check shown met, not met or unknown."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from app.base.clock import FrozenClock
from app.containment.store import load_plan
from app.exercise import demo
from app.simorg import SimOrg
from screens.modals.containment import ContainmentModal
from screens.modals.form import FormModal
from screens.modals.table import TableModal
from tests.console_helpers import Console, demo_console, fill, palette, settle, until


@pytest.fixture
def console(home: Path, clock: FrozenClock, mem_keyring: Any) -> Iterator[Console]:
    with demo_console(home, clock, mem_keyring) as c:
        yield c


@pytest.fixture
def sim(console: Console, tmp_path: Path) -> Iterator[SimOrg]:
    with SimOrg.start("chat-vendor-theft", clock=console.clock, cert_dir=tmp_path / "cert") as org:
        yield org


async def test_hardening_is_planned_and_checked_from_the_palette(console: Console, sim: SimOrg) -> None:
    journal = console.incident.journal
    with sim.store.lock:
        trace = next(sim.store.rows("TraceFlag"))
    app = console.app(org_factory=demo.sim_factory(sim, "sim"))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await palette(pilot, "harden: plan")
        await fill(pilot, {"app": "Drift", "refresh_days": "two"})
        assert "not a whole number" in pilot.app.screen.error and journal.last("action.plan") is None
        await fill(pilot, {"refresh_days": "2"})
        await until(pilot, lambda: isinstance(pilot.app.screen, TableModal))
        entry = journal.last("action.plan")
        assert entry is not None and entry.actor == "tester" and entry.data["action"] == "harden"
        plan = load_plan(console.incident, entry.data["action_id"])
        assert plan.selectors.app == "Drift" and plan.org_alias == "sim"
        assert (plan.steps[0].op, plan.steps[0].record) == ("delete_trace_flag", trace["Id"])
        shown = {r.key for r in pilot.app.screen.result.rows}
        assert shown == {f"step:{s.n}" for s in plan.steps} | {f"task:{t.task_id}" for t in plan.manual_tasks}
        assert {t.kind for t in plan.manual_tasks} >= {"connected_app_policies", "transaction_security"}
        await pilot.press("escape")

        await palette(pilot, "harden: check")
        await fill(pilot, {"app": "Drift"})
        await until(pilot, lambda: isinstance(pilot.app.screen, TableModal))
        checked = journal.last("harden.checked")
        assert checked is not None and checked.actor == "tester" and checked.data["passed"] is False
        rows = {r.key: r.cells for r in pilot.app.screen.result.rows}
        assert set(rows) == {"connected_app_policies", "connected_app_component", "transaction_security",
                             "debug_log_hygiene"}  # fmt: skip
        for name, cells in rows.items():
            assert cells[1] == checked.data[name]["state"] and cells[1] in ("met", "not met", "unknown")
        assert rows["connected_app_policies"][1] == "not met"
        assert rows["debug_log_hygiene"][1:] == ("not met", trace["Id"])
        assert any("NOT hardened" in n for n in pilot.app.screen.result.notes)


async def test_an_offline_hardening_plan_needs_no_org(console: Console) -> None:
    app = console.app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await palette(pilot, "harden: plan")
        await fill(pilot, {"app": "Drift", "read": "yes"})
        assert isinstance(pilot.app.screen, FormModal) and "no org connected" in pilot.app.screen.error
        await fill(pilot, {"read": "no"})
        await until(pilot, lambda: isinstance(pilot.app.screen, TableModal))
        entry = console.incident.journal.last("action.plan")
        assert entry is not None and entry.data["action"] == "harden"
        plan = load_plan(console.incident, entry.data["action_id"])
        assert plan.steps == [] and "connected_app_policies" in {t.kind for t in plan.manual_tasks}


async def test_a_hardening_plan_made_earlier_is_applied_from_the_palette(console: Console, sim: SimOrg) -> None:
    """ "contain: apply" takes the plan "harden: plan" journaled, previews it and applies it once the alias is
    typed: the trace flag is gone from the org and the journal holds the result for that plan."""
    journal = console.incident.journal
    app = console.app(org_factory=demo.sim_factory(sim, "sim"))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await palette(pilot, "harden: plan")
        await fill(pilot, {"app": "Drift", "refresh_days": "2"})
        await until(pilot, lambda: isinstance(pilot.app.screen, TableModal))
        await pilot.press("escape")
        planned = journal.last("action.plan")
        assert planned is not None and planned.data["action"] == "harden"
        plan_id = planned.data["action_id"]
        trace = load_plan(console.incident, plan_id).steps[0].record
        assert journal.last("action.result") is None

        await palette(pilot, "contain: apply")
        await fill(pilot, {"plan": plan_id})
        await until(pilot, lambda: isinstance(pilot.app.screen, ContainmentModal))
        preview = pilot.app.screen
        assert any(trace in s for s in preview.steps), preview.steps
        preview.query_one("#alias", Input).value = "sim"
        await pilot.press("enter")
        await until(pilot, lambda: journal.last("action.result") is not None)
        result = journal.last("action.result")
        assert result is not None and result.data["action_id"] == plan_id and result.actor == "tester"
        with sim.store.lock:
            assert all(row["Id"] != trace for row in sim.store.rows("TraceFlag"))


async def test_contain_apply_says_when_no_plan_waits(console: Console, sim: SimOrg) -> None:
    app = console.app(org_factory=demo.sim_factory(sim, "sim"))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await palette(pilot, "contain: apply")
        await settle(pilot)
        assert not isinstance(pilot.app.screen, FormModal)
        assert any("no containment plan waits to be applied" in n.message for n in app._notifications)
        assert console.incident.journal.last("action.intent") is None
