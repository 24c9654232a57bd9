"""The console against the simulated org: pull the inventory in a worker (a tree with a permission-set branch per
app), then contain with the typed alias; forensics and containment from the palette: collect with per-source
progress (and a cancel that stops it), hunt the preserved evidence, what was taken, and approve, status and undo of
containment; each judged by the journal."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from app import hunt
from app import inventory as inv
from app.base.clock import FrozenClock
from app.exercise import demo
from app.simorg import SimOrg
from screens.modals.collect import CollectModal
from screens.modals.containment import ContainmentModal
from screens.modals.form import FormModal
from screens.modals.table import TableModal
from screens.widgets.checklist_pane import ChecklistPane
from screens.widgets.detail_strip import DetailStrip
from screens.widgets.inventory_pane import InventoryPane
from tests.console_helpers import Console, fill, make_context, palette, settle, until

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


async def collect(pilot: Any, what: str = "") -> CollectModal:
    await palette(pilot, "collect: logs")
    await fill(pilot, {"what": what})
    await until(pilot, lambda: isinstance(pilot.app.screen, CollectModal) and pilot.app.screen.finished, 1500)
    return pilot.app.screen


async def test_collect_shows_each_source_then_hunt_and_exfil(console: Console, sim: SimOrg) -> None:
    app = console.app(org_factory=demo.sim_factory(sim))
    journal = console.incident.journal
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        modal = await collect(pilot)
        run = journal.last("collect.run")
        assert run is not None and run.data["phase"] == "finished" and run.data["status"] == "complete"
        preserved = [e for e in journal.entries(kind="collect.progress") if e.data.get("status") == "preserved"]
        assert preserved
        for source in {e.data["source"] for e in preserved}:
            assert modal.lines[source].preserved == sum(1 for e in preserved if e.data["source"] == source)
        assert any("collect from" in line for line in modal.summary)
        await pilot.press("escape")
        await settle(pilot)

        await palette(pilot, "hunt: indicators")
        await fill(pilot, {"set": "chat-vendor-theft", "record": "yes"})
        await until(pilot, lambda: isinstance(app.screen, TableModal))
        table = app.screen
        assert isinstance(table, TableModal)
        hits = list(journal.entries(kind="hunt.hit"))
        assert journal.last("hunt.run").data["hits"] == len(hits) == len(table.result.rows) > 0
        first = table.result.rows[0]
        assert "Evidence " in first.detail and " line " in first.detail
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", first.cells[0]), first.cells[0]
        await pilot.press("escape")
        await settle(pilot)

        mark = journal.head().size
        await palette(pilot, "exfil: what was taken")
        await fill(pilot, {})
        await until(pilot, lambda: isinstance(app.screen, TableModal))
        shown = app.screen.result.rows
        expected = hunt.what_was_taken(console.incident).rows
        assert [r.key for r in shown] == [f"{r.actor}/{r.object}" for r in expected] and shown
        assert journal.head().size == mark  # reading, not recording


async def test_collect_cancel_stops_at_the_next_item(console: Console, sim: SimOrg) -> None:
    gate = threading.Event()
    real = demo.sim_factory(sim)

    def slow_login() -> Any:
        gate.wait(30)
        return real()

    app = console.app(org_factory=slow_login)
    journal = console.incident.journal
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await palette(pilot, "collect: logs")
        await until(pilot, lambda: isinstance(app.screen, FormModal))
        form = app.screen
        assert isinstance(form, FormModal)
        form.query_one("#ok").press()
        await until(pilot, lambda: isinstance(app.screen, CollectModal))
        modal = app.screen
        await until(pilot, lambda: bool(modal.query("#collect-cancel")))  # pushed, then composed
        modal.query_one("#collect-cancel").press()
        await until(pilot, modal.cancel.is_set, 1000)
        assert modal.cancel.is_set() and not modal.finished
        gate.set()
        await until(pilot, lambda: modal.finished, 1500)
        run = journal.last("collect.run")
        assert run is not None and run.data["status"] == "cancelled"
        assert not [e for e in journal.entries(kind="collect.progress") if e.data.get("status") == "preserved"]
        assert modal.query_one("#collect-cancel").label.plain == "Close"


async def test_contain_approve_status_and_undo(console: Console, sim: SimOrg) -> None:
    app = console.app(org_factory=demo.sim_factory(sim))
    journal = console.incident.journal
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
        pane = app.screen.query_one(InventoryPane)
        user = next(r for r in pane.rows if r.kind == "user" and r.name.startswith("drift"))
        await pilot.press("3")
        pane.select(user.key)
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ContainmentModal), 500)
        await pilot.press("escape")  # planned, not applied: waits for approval
        await settle(pilot)
        plan = journal.last("action.plan")
        assert plan is not None and plan.data["action"] == "freeze_users"
        action_id = plan.data["action_id"]

        await palette(pilot, "contain: approve")
        await fill(pilot, {"plan": action_id, "alias": "prod"})
        assert isinstance(app.screen, FormModal) and "prod" in app.screen.error
        assert journal.last("action.approval") is None
        assert journal.last("action.refused").data["stage"] == "approval"
        await fill(pilot, {"plan": action_id, "alias": "sim"})
        approval = journal.last("action.approval")
        assert approval is not None and approval.data["action_id"] == action_id

        await pilot.press("c")  # plan again and apply, typing the alias
        await until(pilot, lambda: isinstance(app.screen, ContainmentModal), 500)
        app.screen.query_one("#alias", Input).value = "sim"
        await pilot.press("enter")
        await settle(pilot)
        applied = journal.last("action.result")
        assert applied is not None and applied.data["status"] == "done"
        frozen_id = applied.data["action_id"]
        assert sim.store.find("UserLogin", IsFrozen=True)

        await palette(pilot, "contain: status")
        await until(pilot, lambda: isinstance(app.screen, TableModal))
        status = app.screen
        assert isinstance(status, TableModal)
        assert {r.key for r in status.result.rows} >= {action_id, frozen_id}
        row = next(r for r in status.result.rows if r.key == frozen_id)
        assert row.cells[3] == "done" and "freeze users" in row.detail
        await pilot.press("escape")
        await settle(pilot)

        await palette(pilot, "contain: undo")
        await fill(pilot, {"action": frozen_id})
        await until(pilot, lambda: isinstance(app.screen, ContainmentModal))
        undo = app.screen
        assert any("unfreeze" in s.lower() for s in undo.steps), undo.steps
        undo.query_one("#alias", Input).value = "sim"
        await pilot.press("enter")
        await settle(pilot)
        result = journal.last("action.result")
        assert result.data["action_id"] != frozen_id and result.data["status"] == "done"
        assert journal.get_state("containment", frozen_id)["status"] == "undone"
        assert not sim.store.find("UserLogin", IsFrozen=True)


async def test_inventory_is_a_tree_of_apps_with_counts_and_risk_in_words(console: Console, sim: SimOrg) -> None:
    app = console.app(org_factory=demo.sim_factory(sim))
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("3", "p")
        await settle(pilot)
        pane = app.screen.query_one(InventoryPane)
        tree = pane.records
        apps = {n.data.name: n for n in tree.root.children if n.data is not None}
        drift = apps["Drift"]
        assert "critical risk" in str(drift.label) and "Drift" in str(drift.label)
        assert "4 tokens, 1 user " in str(drift.label) + " "  # counts agree with their nouns
        assert not drift.is_expanded and all(not b.children for b in drift.children)  # drawn when opened
        branches = [str(b.label) for b in drift.children]
        assert branches[0].startswith("tokens (") and any(b.startswith("users (") for b in branches)
        token = next(r for r in pane.rows if r.kind == "token" and r.record.get("app") == "Drift")
        pane.select(token.key)
        await pilot.pause()
        assert pane.selected() == token and drift.is_expanded
        assert "Drift" in app.screen.query_one(DetailStrip).text
        pane.set_filter(query="drift")
        await pilot.pause()
        shown = {r.key for r in pane.visible_rows()}
        assert token.key in shown and all("drift" in str(pane._by_key[k].label).lower() for k in shown)


async def test_pictures_draw_the_reports_series_after_a_hunt(console: Console, sim: SimOrg) -> None:
    from app.report.series import compute_series
    from screens.pictures import PicturesScreen

    app = console.app(org_factory=demo.sim_factory(sim))
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await collect(pilot)
        await pilot.press("escape")
        await palette(pilot, "hunt: indicators")
        await fill(pilot, {"set": "chat-vendor-theft", "record": "yes"})
        await until(pilot, lambda: isinstance(app.screen, TableModal))
        await pilot.press("escape")
        await settle(pilot)
        await palette(pilot, "view: pictures")

        def drawn() -> bool:
            charts = app.screen.query("#chart-attack") if isinstance(app.screen, PicturesScreen) else []
            return bool(charts) and bool(str(charts[0].content))

        await until(pilot, drawn)
        screen = app.screen
        expected = compute_series(console.incident, console.clock.now())
        assert screen.series == expected  # the report's data, not a second computation of it
        attack = screen.query_one("#chart-attack").content.plain
        assert expected.attack.sets and all(s.indicator_set in attack for s in expected.attack.sets)
        objects = screen.query_one("#chart-objects").content.plain
        assert expected.rows.by_object and expected.rows.by_object[0].label in objects
        assert f"{expected.rows.by_object[0].rows:,}" in objects
        clocks = screen.query_one("#chart-clocks").content.plain
        dated = [b for b in expected.clocks.bars if b.due_utc]
        assert clocks.count("▲") + clocks.count("✓") == len(dated) and "| now" in clocks


async def test_inventory_tree_has_a_permission_set_branch_per_app(console: Console, sim: SimOrg) -> None:
    app = console.app(org_factory=demo.sim_factory(sim))
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("3", "p")
        await settle(pilot)
        journal = console.incident.journal
        assert journal.last("inventory.snapshot") is not None
        snap = inv.load_current(console.incident)  # what the journal points at, read back from the evidence store
        assert snap is not None and snap.assignments
        expected = inv.app_permission_sets(snap)["Drift"]
        pane = app.screen.query_one(InventoryPane)
        drift = next(n for n in pane.records.root.children if n.data is not None and n.data.name == "Drift")
        [branch] = [b for b in drift.children if str(b.label).startswith("permission sets held by its users")]
        assert str(branch.label) == f"permission sets held by its users ({len(expected)})"
        assert not branch.children  # collapsed: drawn when opened
        widest = next(s for s in expected if "View All Data" in s.grants)
        key = f"perm:Drift|{widest.permission_set.id}"
        pane.select(key)
        await pilot.pause()
        assert drift.is_expanded and branch.is_expanded and len(branch.children) == len(expected)
        row = pane.selected()
        assert row is not None and row.key == key
        assert f"held by {len(widest.holders)} of {widest.app_users} Drift user" in str(pane._by_key[key].label)
        text = app.screen.query_one(DetailStrip).text
        assert "Lets data out: grants API Enabled, View All Data; does not grant Modify All Data" in text
        assert all(h.username in text for h in widest.holders)
        branch.collapse()
        await pilot.pause()
        assert not branch.is_expanded


async def test_pictures_show_token_use_by_address_after_a_pull_and_a_collect(console: Console, sim: SimOrg) -> None:
    from app.hunt import CALL_LOG_TYPES
    from app.report.series import compute_series
    from screens.pictures import PicturesScreen

    app = console.app(org_factory=demo.sim_factory(sim))
    journal = console.incident.journal
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("3", "p")  # the inventory names each app's token holders
        await settle(pilot)
        await collect(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert journal.last("inventory.snapshot") is not None
        logs = [
            e
            for e in journal.entries(kind="evidence.acquired")
            if (e.data.get("source") or {}).get("event_type") in CALL_LOG_TYPES
        ]
        assert logs, "the collection preserved API event log files"
        await palette(pilot, "view: pictures")
        await until(
            pilot, lambda: isinstance(app.screen, PicturesScreen) and bool(app.screen.query("#chart-token-use"))
        )
        use = compute_series(console.incident, console.clock.now()).token_use
        assert app.screen.series.token_use == use  # the report's series, drawn
        chart = app.screen.query_one("#chart-token-use").content.plain
        drift = next(a for a in use.apps if a.app == "Drift")
        assert drift.addresses[0].ip == "208.68.36.90"  # the seed's attacker address makes most of Drift's calls
        for a in use.apps:
            assert f"{a.app}  {a.calls:,} call(s) by {a.users} token holder(s)" in chart
            assert all(s.ip in chart for s in a.top()[0])
