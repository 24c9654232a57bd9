"""The cost ledger: what the response costs (forensic services, legal, notification mailing, credit monitoring,
fines, staff time) against an approved budget, journaled with its evidence, and the regulatory fine ranges of
the regimes that apply, quoted with their citation where a source gives a figure, as context for management.

Layout: `money` (amounts as Decimal, ISO 4217 currency codes), `ledger` (the entries, their projector and the
typed reader with totals per category and currency) and `fines` (fine ranges per applicable regime).
"""

from __future__ import annotations

from app.costs.fines import FineRange, fine_ranges
from app.costs.ledger import (
    BUDGET_KIND,
    CATEGORIES,
    COST_KIND,
    Budget,
    BudgetPayload,
    CostItem,
    CostPayload,
    Ledger,
    Total,
    add_cost,
    read_ledger,
    set_budget,
)
from app.costs.money import check_currency, format_amount, parse_amount

__all__ = [
    "BUDGET_KIND",
    "CATEGORIES",
    "COST_KIND",
    "Budget",
    "BudgetPayload",
    "CostItem",
    "CostPayload",
    "FineRange",
    "Ledger",
    "Total",
    "add_cost",
    "check_currency",
    "fine_ranges",
    "format_amount",
    "parse_amount",
    "read_ledger",
    "set_budget",
]
