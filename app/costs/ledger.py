"""The ledger itself: each cost is one journal entry (`cost.added`) with its category, amount, currency, vendor
and evidence; each budget one `cost.budget` entry. Their projector keeps the totals per category and currency and
the budgets in derived state, and `read_ledger` is the typed reader the console, the report and the commands use.

A cost is identified by the sequence number of its entry, so an auditor can go from the ledger to the journal
and back. A booking is never edited or deleted: a correction is a new entry (a later cost or a new budget),
and the journal keeps both.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, field_validator

from app.base.errors import UsageError
from app.costs.money import check_currency, decimal_of, parse_amount

if TYPE_CHECKING:
    from app.incident.core import Incident
    from app.journal.entries import Entry
    from app.journal.registry import Lookup

COST_KIND = "cost.added"
BUDGET_KIND = "cost.budget"
TOTALS = "cost_totals"  # derived state: "category|currency" -> {"amount": str, "count": int}
BUDGETS = "cost_budget"  # derived state: "category|currency" ("*" for the whole response) -> the budget
ALL = "*"

# The categories the response pays for (the checklist's recovery items and the seed's budget lines).
CATEGORIES: dict[str, str] = {
    "forensic-services": "third-party forensic services",
    "legal": "outside counsel and legal advice",
    "notification-mailing": "notice printing, mailing and call centre",
    "credit-monitoring": "credit monitoring and identity protection offered to individuals",
    "fines": "regulatory fines and penalties paid",
    "staff-time": "internal staff time on the response",
    "other": "anything else, described in the note",
}


def check_category(raw: str) -> str:
    cat = (raw or "").strip().lower().replace("_", "-").replace(" ", "-")
    if cat not in CATEGORIES:
        raise UsageError(f"category {raw!r}: one of {', '.join(CATEGORIES)}")
    return cat


class _Payload(BaseModel):
    model_config = ConfigDict(extra="allow")

    amount: str
    currency: str

    @field_validator("amount")
    @classmethod
    def _amount(cls, v: str) -> str:
        try:
            parse_amount(v)
        except UsageError as exc:
            raise ValueError(str(exc)) from None
        return v

    @field_validator("currency")
    @classmethod
    def _currency(cls, v: str) -> str:
        try:
            code = check_currency(v)
        except UsageError as exc:
            raise ValueError(str(exc)) from None
        if code != v:
            raise ValueError(f"currency {v!r} is not an upper-case ISO 4217 code")
        return v


class CostPayload(_Payload):
    """The data of a `cost.added` entry (checked before it is written and again on verify)."""

    category: str
    vendor: str | None = None
    evidence_id: str | None = None
    note: str | None = None

    @field_validator("category")
    @classmethod
    def _category(cls, v: str) -> str:
        if v not in CATEGORIES:
            raise ValueError(f"unknown category {v!r}")
        return v


class BudgetPayload(_Payload):
    """The data of a `cost.budget` entry: the approved amount for one category, or for the whole response."""

    category: str = ALL
    previous: str | None = None
    evidence_id: str | None = None
    note: str | None = None


class CostItem(BaseModel):
    seq: int
    recorded_utc: str
    actor: str
    category: str
    amount: Decimal
    currency: str
    vendor: str | None = None
    evidence_id: str | None = None
    note: str | None = None


class Total(BaseModel):
    category: str
    currency: str
    amount: Decimal
    count: int


class Budget(BaseModel):
    category: str  # "*" for the whole response
    currency: str
    amount: Decimal
    spent: Decimal
    remaining: Decimal
    over: bool
    set_by: str
    seq: int


class Ledger(BaseModel):
    items: list[CostItem]
    totals: list[Total]  # per category and currency
    by_currency: dict[str, Decimal]  # everything spent, per currency (currencies are never converted)
    budgets: list[Budget]


def _key(category: str, currency: str) -> str:
    return f"{category}|{currency}"


def _optional(text: str | None) -> str | None:
    text = (text or "").strip()
    return text or None


def _evidence(incident: Incident, ref: str | None) -> str | None:
    if not _optional(ref):
        return None
    return str(incident.resolve_evidence(str(ref))["evidence_id"])


def add_cost(
    incident: Incident,
    category: str,
    amount: str,
    currency: str,
    actor: str,
    *,
    vendor: str | None = None,
    evidence: str | None = None,
    note: str | None = None,
) -> Entry:
    """Book one cost (journaled as `cost.added`); the evidence, when named, must already be in the store."""
    data: dict[str, Any] = {
        "category": check_category(category),
        "amount": str(parse_amount(amount)),
        "currency": check_currency(currency),
    }
    if v := _optional(vendor):
        data["vendor"] = v
    if ev := _evidence(incident, evidence):
        data["evidence_id"] = ev
    if n := _optional(note):
        data["note"] = n
    return incident.journal.append(COST_KIND, data, actor)


def set_budget(
    incident: Incident,
    amount: str,
    currency: str,
    actor: str,
    *,
    category: str | None = None,
    evidence: str | None = None,
    note: str | None = None,
) -> Entry:
    """Record the approved budget for the whole response (or one category) in one currency (`cost.budget`)."""
    cat = check_category(category) if category else ALL
    cur = check_currency(currency)
    previous = incident.journal.get_state(BUDGETS, _key(cat, cur))
    data: dict[str, Any] = {
        "category": cat,
        "amount": str(parse_amount(amount, "budget")),
        "currency": cur,
        "previous": previous["amount"] if previous else None,
    }
    if ev := _evidence(incident, evidence):
        data["evidence_id"] = ev
    if n := _optional(note):
        data["note"] = n
    return incident.journal.append(BUDGET_KIND, data, actor)


def project_cost(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    d = entry.data
    key = _key(d["category"], d["currency"])
    current = get(TOTALS, key) or {"amount": "0", "count": 0}
    total = decimal_of(current["amount"]) + decimal_of(d["amount"])
    yield TOTALS, key, {"amount": str(total), "count": int(current["count"]) + 1}


def project_budget(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    d = entry.data
    yield (
        BUDGETS,
        _key(d.get("category", ALL), d["currency"]),
        {"amount": d["amount"], "by": entry.actor, "seq": entry.seq, "utc": entry.recorded_utc},
    )


def read_ledger(journal: Any) -> Ledger:
    """Every booking, the totals per category and currency, and each budget with what is left of it."""
    items = [
        CostItem(
            seq=e.seq,
            recorded_utc=e.recorded_utc,
            actor=e.actor,
            category=e.data["category"],
            amount=decimal_of(e.data["amount"]),
            currency=e.data["currency"],
            vendor=e.data.get("vendor"),
            evidence_id=e.data.get("evidence_id"),
            note=e.data.get("note"),
        )
        for e in journal.entries(kind=COST_KIND)
    ]
    totals: list[Total] = []
    for key, value in sorted(journal.state(TOTALS).items()):
        category, _, currency = key.partition("|")
        totals.append(
            Total(category=category, currency=currency, amount=decimal_of(value["amount"]), count=value["count"])
        )
    by_currency: dict[str, Decimal] = {}
    for t in totals:
        by_currency[t.currency] = by_currency.get(t.currency, Decimal(0)) + t.amount
    spent = {_key(t.category, t.currency): t.amount for t in totals}
    budgets: list[Budget] = []
    for key, value in sorted(journal.state(BUDGETS).items()):
        category, _, currency = key.partition("|")
        amount = decimal_of(value["amount"])
        used = by_currency.get(currency, Decimal(0)) if category == ALL else spent.get(key, Decimal(0))
        budgets.append(
            Budget(
                category=category,
                currency=currency,
                amount=amount,
                spent=used,
                remaining=amount - used,
                over=used > amount,
                set_by=value["by"],
                seq=value["seq"],
            )
        )
    return Ledger(items=items, totals=totals, by_currency=dict(sorted(by_currency.items())), budgets=budgets)
