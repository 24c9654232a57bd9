"""Reconnection from the console's palette: "reconnect: plan" journals `reconnect.plan` with each
precondition and shows what is missing, "reconnect: approve" is refused (journaled, the dialog open again) while a
precondition is unmet or when the planner approves, and approved by someone else once all are met; "reconnect:
status" lists the plans. The same functions as `warroom reconnect plan|approve|status`."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from app.base.clock import FrozenClock
from app.simorg import SimOrg
from screens.modals.form import FormModal
from screens.modals.table import TableModal
from tests.console_helpers import Console, fill, make_context, palette, settle, until
from tests.simorg_helpers import sim_args
from tests.test_reconnection import _rebuild_in_setup, _rotate_secret

USER = "drift-int2@acme.example"


def _refusals(console: Console) -> list[str]:
    return [e.data["reason"] for e in console.incident.journal.entries(kind="reconnect.refused")]


async def _plan(console: Console) -> Any:
    async with console.app().run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await palette(pilot, "reconnect: plan")
        await fill(pilot, {"app": "Drift", "user": USER})
        await until(pilot, lambda: isinstance(pilot.app.screen, TableModal))
        entry = console.incident.journal.last("reconnect.plan")
        assert entry is not None and entry.actor == "tester" and entry.data["app"] == "Drift"
        table = pilot.app.screen.result
        assert {r.key: r.cells[0] for r in table.rows} == {p["name"]: p["state"] for p in entry.data["preconditions"]}
        return entry, table


async def _approve(console: Console, rid: str) -> Any:
    async with console.app().run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await palette(pilot, "reconnect: approve")
        await fill(pilot, {"plan": rid, "note": "CAB-12"})
        await until(pilot, lambda: not isinstance(pilot.app.screen, FormModal) or bool(pilot.app.screen.error))
        return pilot.app.screen.error if isinstance(pilot.app.screen, FormModal) else None


async def test_reconnect_is_planned_refused_and_approved_from_the_palette(
    cli: Any, tmp_path: Path, home: Path, clock: FrozenClock, mem_keyring: Any
) -> None:
    cli.new()
    ctx = make_context(home, clock, mem_keyring)
    bob_ctx = replace(ctx, actor="bob")
    with SimOrg.start("chat-vendor-theft", clock=clock, cert_dir=tmp_path / "cert") as sim:
        console = Console(ctx, ctx.open_incident(None), clock)
        early, table = await _plan(console)
        assert early.data["ready"] is False
        assert any(n.startswith("not ready, missing: secret_rotated not met") for n in table.notes)
        bob = Console(bob_ctx, console.incident, clock)
        error = await _approve(bob, early.data["reconnect_id"])
        assert error is not None and "secret_rotated not met" in error
        assert _refusals(console) == ["preconditions_not_met"]
        console.incident.close()

        _rotate_secret(cli, sim, tmp_path)
        _rebuild_in_setup(sim)
        assert cli("monitor", "start", "--days", "28", "--org", "sim").code == 0
        clock.advance(timedelta(hours=2))
        assert cli("monitor", "run", *sim_args(sim)[2:]).code == 0

        console = Console(ctx, ctx.open_incident(None), clock)
        try:
            ready, table = await _plan(console)
            assert ready.data["ready"] is True and any("ready: someone other than tester" in n for n in table.notes)
            rid = ready.data["reconnect_id"]
            error = await _approve(console, rid)  # the planner
            assert error is not None and "someone else approves" in error
            assert _refusals(console) == ["preconditions_not_met", "approver_is_planner"]
            assert await _approve(Console(bob_ctx, console.incident, clock), rid) is None
            approved = console.incident.journal.last("reconnect.approved")
            assert approved is not None and approved.actor == "bob" and approved.data["note"] == "CAB-12"
            assert {p["state"] for p in approved.data["preconditions"]} == {"met"}

            async with console.app().run_test(size=(160, 48)) as pilot:
                await settle(pilot)
                await palette(pilot, "reconnect: status")
                await until(pilot, lambda: isinstance(pilot.app.screen, TableModal))
                rows = {r.key: r.cells for r in pilot.app.screen.result.rows}
                assert rows[rid][3:5] == ("approved", "bob")
                assert rows[early.data["reconnect_id"]][3] == "planned"
        finally:
            console.incident.close()
