"""The cost ledger in the console: "costs: add" books a cost through the same function as `warroom costs add`
(what it refuses is shown in the dialog, which stays open, and nothing is journaled), and "costs: view" shows the
totals per category and currency against the budget and the fine ranges of the regimes that apply, cited."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.base.clock import FrozenClock
from app.costs import fine_ranges, set_budget
from screens.modals.form import FormModal
from screens.modals.table import TableModal
from tests.console_helpers import Console, demo_console, fill, palette, settle, until


@pytest.fixture
def console(home: Path, clock: FrozenClock, mem_keyring: Any) -> Iterator[Console]:
    with demo_console(home, clock, mem_keyring) as c:
        yield c


def _costs(console: Console) -> list[dict[str, Any]]:
    return [e.data for e in console.incident.journal.entries(kind="cost.added")]


async def test_costs_are_booked_from_the_palette_and_shown_against_the_budget(console: Console) -> None:
    incident = console.incident
    set_budget(incident, "150000", "USD", "cfo")
    invoice = incident.add_evidence_bytes(b"DFIR retainer invoice 2025-114", "invoice-114.txt", "tester")
    app = console.app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await palette(pilot, "costs: add")
        await fill(pilot, {"category": "forensic-services", "amount": "12k", "currency": "USD"})
        modal = pilot.app.screen
        assert isinstance(modal, FormModal) and "amount '12k'" in modal.error
        await fill(pilot, {"amount": "120,000.00", "evidence": "EV-NOPE"})
        assert isinstance(pilot.app.screen, FormModal) and "no evidence 'ev-nope'" in pilot.app.screen.error
        assert _costs(console) == []  # refused twice, nothing journaled, the dialog still open
        await fill(pilot, {"currency": "usd", "vendor": "DFIR Partners LLC", "evidence": invoice.evidence_id})
        assert not isinstance(pilot.app.screen, FormModal)
        [booked] = _costs(console)
        assert booked == {
            "category": "forensic-services",
            "amount": "120000.00",
            "currency": "USD",
            "vendor": "DFIR Partners LLC",
            "evidence_id": invoice.evidence_id,
        }
        assert console.incident.journal.last("cost.added").actor == "tester"

        await palette(pilot, "costs: add")
        await fill(pilot, {"category": "legal", "amount": "40000", "currency": "USD"})
        assert [c["category"] for c in _costs(console)] == ["forensic-services", "legal"]
        assert any(n.message.startswith("over budget: the response budget") for n in app._notifications)

        await palette(pilot, "costs: view")
        await until(pilot, lambda: isinstance(pilot.app.screen, TableModal))
        table = pilot.app.screen.result
        by_key = {r.key: r.cells for r in table.rows}
        assert by_key["total:forensic-services:USD"][1] == "120,000.00 USD"
        assert by_key["total:legal:USD"][1:3] == ("40,000.00 USD", "1")
        assert by_key["all:USD"][1] == "160,000.00 USD" and by_key["all:USD"][3] == "150,000.00 USD"
        assert by_key["all:USD"][4] == "OVER BUDGET"
        fines = fine_ranges(incident.journal, console.clock.now())
        assert fines and any(f.citation for f in fines)  # the demo's residents make cited regimes apply
        for f in fines:
            row = next(r for r in table.rows if r.key == f"fine:{f.regime}")
            assert row.cells[1] == f.figure and row.cells[4] == (f.citation or "")
            if f.citation:
                assert f.citation in row.detail and str(f.source) in row.detail
        await pilot.press("escape")
