"""`warroom costs add|budget|list`: the cost ledger, journaled, with totals per category and currency and the fine
ranges of the regimes that apply."""

from __future__ import annotations

import argparse
from decimal import Decimal

from app.composition.context import Context
from app.costs import CATEGORIES, fine_ranges, format_amount, read_ledger
from app.costs import add_cost as book
from app.costs import set_budget as budget


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "costs", help="the cost ledger: costs against a budget, totals per category and currency, fine ranges"
    )
    csub = p.add_subparsers(dest="costs_command", metavar="SUBCOMMAND", required=True)

    q = csub.add_parser("add", help="book a cost (journaled as cost.added)")
    q.add_argument("category", metavar="CATEGORY", help=", ".join(CATEGORIES))
    q.add_argument("amount", metavar="AMOUNT", help="e.g. 12500 or 12500.00 (no sign, no currency symbol)")
    q.add_argument("currency", metavar="CURRENCY", help="ISO 4217 code, e.g. EUR, USD, GBP")
    q.add_argument("--vendor", help="who is paid")
    q.add_argument("--evidence", metavar="ID", help="the invoice or engagement letter, already in the evidence store")
    q.add_argument("--note")
    q.add_argument("--incident")
    q.set_defaults(handler=_run_add)

    q = csub.add_parser("budget", help="record the approved budget (whole response or one category)")
    q.add_argument("amount", metavar="AMOUNT", help="the approved amount, e.g. 150000 (no sign, no currency symbol)")
    q.add_argument("currency", metavar="CURRENCY", help="ISO 4217 code")
    q.add_argument("--category", help="one category (default: the whole response)")
    q.add_argument("--evidence", metavar="ID", help="the approval, already in the evidence store")
    q.add_argument("--note")
    q.add_argument("--incident")
    q.set_defaults(handler=_run_budget)

    q = csub.add_parser("list", help="every cost, the totals per category and currency, budgets and fine ranges")
    q.add_argument("--incident")
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=_run_list)


def _run_add(ctx: Context, args: argparse.Namespace) -> int:
    with ctx.open_incident(args.incident) as incident:
        entry = book(
            incident,
            args.category,
            args.amount,
            args.currency,
            ctx.actor,
            vendor=args.vendor,
            evidence=args.evidence,
            note=args.note,
        )
        ledger = read_ledger(incident.journal)
    d = entry.data
    total = next(t for t in ledger.totals if t.category == d["category"] and t.currency == d["currency"])
    ctx.print(
        f"cost {entry.seq}: {d['category']} {format_amount(Decimal(d['amount']), d['currency'])}"
        + (f" to {d['vendor']}" if d.get("vendor") else "")
        + (f" (evidence {d['evidence_id']})" if d.get("evidence_id") else "")
        + f"; {d['category']} total {format_amount(total.amount, total.currency)}"
    )
    for b in ledger.budgets:
        if b.currency == d["currency"] and b.category in ("*", d["category"]) and b.over:
            ctx.error(
                f"over budget: {_budget_name(b.category)} {format_amount(b.amount, b.currency)}, "
                f"spent {format_amount(b.spent, b.currency)}"
            )
    return 0


def _budget_name(category: str) -> str:
    return "the response budget" if category == "*" else f"the {category} budget"


def _run_budget(ctx: Context, args: argparse.Namespace) -> int:
    with ctx.open_incident(args.incident) as incident:
        entry = budget(
            incident,
            args.amount,
            args.currency,
            ctx.actor,
            category=args.category,
            evidence=args.evidence,
            note=args.note,
        )
    d = entry.data
    was = f" (was {d['previous']} {d['currency']})" if d.get("previous") else ""
    ctx.print(f"{_budget_name(d['category'])}: {d['amount']} {d['currency']}{was}; entry {entry.seq}")
    return 0


def _run_list(ctx: Context, args: argparse.Namespace) -> int:
    with ctx.open_incident(args.incident) as incident:
        ledger = read_ledger(incident.journal)
        fines = fine_ranges(incident.journal, ctx.clock.now())
    if args.json:
        doc = ledger.model_dump(mode="json")
        doc["fines"] = [f.model_dump(mode="json") for f in fines]
        ctx.print_json(doc)
        return 0
    if not ledger.items:
        ctx.print("No costs booked (`warroom costs add CATEGORY AMOUNT CURRENCY`).")
    for item in ledger.items:
        extra = "".join(
            [
                f" to {item.vendor}" if item.vendor else "",
                f" evidence {item.evidence_id}" if item.evidence_id else "",
                f" ({item.note})" if item.note else "",
            ]
        )
        ctx.print(
            f"{item.seq:>5}  {item.recorded_utc}  {item.category:<21} "
            f"{format_amount(item.amount, item.currency):>20}  {item.actor}{extra}"
        )
    if ledger.totals:
        ctx.print("")
        ctx.print("Totals (currencies are never converted):")
        for t in ledger.totals:
            ctx.print(f"  {t.category:<21} {format_amount(t.amount, t.currency):>20}  ({t.count} booking(s))")
        for currency, amount in ledger.by_currency.items():
            ctx.print(f"  {'all categories':<21} {format_amount(amount, currency):>20}")
    ctx.print("")
    if not ledger.budgets:
        ctx.print("No budget recorded (`warroom costs budget AMOUNT CURRENCY`).")
    for b in ledger.budgets:
        state = "OVER BUDGET" if b.over else "remaining " + format_amount(b.remaining, b.currency)
        scope = "whole response" if b.category == "*" else b.category
        ctx.print(
            f"Budget ({scope}): {format_amount(b.amount, b.currency)}; spent "
            f"{format_amount(b.spent, b.currency)}; {state} (set by {b.set_by}, entry {b.seq})"
        )
    ctx.print("")
    if not fines:
        ctx.print("Fine ranges: no notification rule applies to the incident's facts yet.")
    else:
        ctx.print("Fine ranges per applicable regime (context for management review, not legal advice):")
    for f in fines:
        cite = f" [{f.citation}; {f.source}]" if f.citation else ""
        ctx.print(f"  {f.regime}: {f.figure}{cite}")
    return 0
