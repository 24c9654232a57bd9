"""The console's countdown pane shows the just-in-time grants that lapse within a day, next to the notice clocks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from app.base.clock import FrozenClock
from app.exercise import demo
from app.grants import apply_grant, approve_grant, plan_grant
from app.simorg import SimOrg
from screens.widgets.countdown_pane import CountdownPane
from tests.console_helpers import Console, make_context, settle
from tests.simorg_helpers import demo_login


@pytest.fixture
def console(home: Path, clock: FrozenClock, mem_keyring: Any) -> Iterator[Console]:
    ctx = make_context(home, clock, mem_keyring)
    incident = demo.create_demo_incident(ctx)
    c = Console(ctx, incident, clock)
    yield c
    c.incident.close()


def _grant(console: Console, org: Any, ps: str, hours: float) -> str:
    inc = console.incident
    plan = plan_grant(
        org,
        inc,
        user="hubspot-int@acme.example",
        permission_set=ps,
        expires=console.clock.now() + timedelta(hours=hours),
        reason="re-sync",
        approver="bob",
        actor="tester",
        org_alias="sim",
    )
    approve_grant(inc, plan.plan_id, "sim", "bob")
    run = apply_grant(inc, lambda: org, plan.plan_id, "sim", "tester")
    assert run.result.status == "done"
    return plan.plan_id


async def test_grants_lapsing_within_a_day_show_in_the_countdowns(console: Console, tmp_path: Path) -> None:
    sim = SimOrg.start("chat-vendor-theft", clock=console.clock, cert_dir=tmp_path / "cert")
    with sim, demo_login(sim) as org:
        soon = _grant(console, org, "Sales_Operations", 6)
        later = _grant(console, org, "Marketing_Batch_Sync", 72)
    app = console.app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        pane = app.screen.query_one(CountdownPane)
        grants = [r for r in pane.rows if r.key.startswith("grant:")]
        assert [r.key for r in grants] == [f"grant:{soon}"]
        assert grants[0].due == console.clock.now() + timedelta(hours=6)
        assert "Sales_Operations" in grants[0].obligation and f"grant:{later}" not in [r.key for r in pane.rows]
        assert any(r.rule for r in pane.rows)  # the notice clocks are still there


async def test_a_grant_shows_when_it_comes_within_a_day_and_goes_when_it_expires(
    console: Console, tmp_path: Path
) -> None:
    """Time alone moves a grant in and out of the countdowns: the console's tick (its injected clock), no entry."""
    sim = SimOrg.start("chat-vendor-theft", clock=console.clock, cert_dir=tmp_path / "cert")
    with sim, demo_login(sim) as org:
        later = _grant(console, org, "Marketing_Batch_Sync", 30)
    app = console.app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        pane = app.screen.query_one(CountdownPane)

        def shown() -> bool:
            return any(r.key == f"grant:{later}" for r in pane.rows)

        assert not shown()
        size = console.incident.journal.head().size
        console.clock.advance(timedelta(hours=5, minutes=59))
        app._tick()
        await settle(pilot)
        assert not shown()
        console.clock.advance(timedelta(minutes=2))  # 23h59m left
        app._tick()
        await settle(pilot)
        assert shown()
        console.clock.advance(timedelta(days=1))  # past its expiry
        app._tick()
        await settle(pilot)
        assert not shown()
        assert console.incident.journal.head().size == size  # the view moved; nothing was journaled
