"""The cost ledger from the console: book a cost (the dialog stays open with what it refuses) and read the
totals per category and currency against the budget, with the fine ranges of the regimes that apply and their
citations. Both call `app.costs`, the functions `warroom costs add|list` use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape

from app.costs import CATEGORIES, Budget, FineRange, Ledger, add_cost, fine_ranges, format_amount, read_ledger
from screens.modals.form import FormField, FormModal
from screens.modals.table import ResultRow, ResultTable, TableModal

if TYPE_CHECKING:
    from screens.app import WarroomApp

CATEGORY_CHOICES = tuple((f"{name}: {text}", name) for name, text in CATEGORIES.items())


class CostActions:
    """Mixed into MainScreen next to ConsoleActions; `self` is the screen."""

    app: WarroomApp

    def action_costs_add(self) -> None:
        app = self.app
        ledger = read_ledger(app.incident.journal)
        currency = ledger.budgets[0].currency if ledger.budgets else ""

        def check(values: dict[str, str]) -> str | None:
            entry = add_cost(
                app.incident,
                values["category"],
                values["amount"],
                values["currency"],
                app.ctx.actor,
                vendor=values.get("vendor") or None,
                evidence=values.get("evidence") or None,
                note=values.get("note") or None,
            )
            d = entry.data
            after = read_ledger(app.incident.journal)
            over = [
                b
                for b in after.budgets
                if b.over and b.currency == d["currency"] and b.category in ("*", d["category"])
            ]
            text = f"cost {entry.seq}: {d['category']} {format_amount(after.items[-1].amount, d['currency'])}"
            app.notify(text, timeout=6, markup=False)
            for b in over:
                scope = "the response budget" if b.category == "*" else f"the {b.category} budget"
                app.notify(
                    f"over budget: {scope} {format_amount(b.amount, b.currency)}, "
                    f"spent {format_amount(b.spent, b.currency)}",
                    severity="warning",
                    timeout=12,
                    markup=False,
                )
            return None

        app.push_screen(
            FormModal(
                "Book a cost (journaled as cost.added)",
                [
                    FormField("category", "Category", choices=CATEGORY_CHOICES, required=True),
                    FormField("amount", "Amount (no sign, no currency symbol)", placeholder="12500.00", required=True),
                    FormField("currency", "Currency (ISO 4217)", value=currency, placeholder="EUR", required=True),
                    FormField("vendor", "Vendor (who is paid)", placeholder="optional"),
                    FormField("evidence", "Evidence id (the invoice, already in the store)", placeholder="optional"),
                    FormField("note", "Note", placeholder="optional"),
                ],
                help_text=escape("Currencies are never converted: totals are kept per currency."),
                ok_label="Book",
                check=check,
            )
        )

    def action_costs_view(self) -> None:
        app = self.app
        ledger = read_ledger(app.incident.journal)
        fines = fine_ranges(app.incident.journal, app.clock.now(), app.rules)
        app.push_screen(TableModal(cost_table(ledger, fines)))


def cost_table(ledger: Ledger, fines: list[FineRange]) -> ResultTable:
    """One row per category and currency (with its budget), one per response budget, one per fine range."""
    budgets = {(b.category, b.currency): b for b in ledger.budgets}
    rows: list[ResultRow] = []
    for t in ledger.totals:
        b = budgets.get((t.category, t.currency))
        rows.append(
            ResultRow(
                (
                    t.category,
                    format_amount(t.amount, t.currency),
                    str(t.count),
                    format_amount(b.amount, b.currency) if b else "",
                    _left(b) if b else "",
                ),
                detail=f"{t.category}: {CATEGORIES.get(t.category, '')}; {t.count} booking(s)",
                key=f"total:{t.category}:{t.currency}",
            )
        )
    for currency, amount in ledger.by_currency.items():
        b = budgets.get(("*", currency))
        rows.append(
            ResultRow(
                (
                    "all categories",
                    format_amount(amount, currency),
                    "",
                    format_amount(b.amount, b.currency) if b else "no budget",
                    _left(b) if b else "",
                ),
                detail=f"the whole response in {currency}"
                + (f"; budget set by {b.set_by} (entry {b.seq})" if b else ""),
                key=f"all:{currency}",
            )
        )
    for f in fines:
        cite = f"{f.citation}; {f.source}" if f.citation else "no citation: no figure in the rule table"
        rows.append(
            ResultRow(
                (f"fine range: {f.regime}", f.figure, "", "", f.citation or ""),
                detail=f"{f.regime} ({', '.join(f.jurisdictions)}; rules {', '.join(f.rules)}): {f.figure}. [{cite}]",
                key=f"fine:{f.regime}",
            )
        )
    spent = "; ".join(format_amount(a, c) for c, a in ledger.by_currency.items()) or "nothing booked"
    notes = [
        f"{len(ledger.items)} cost(s) booked; spent {spent}. Currencies are never converted.",
        "Fine ranges of the regimes that apply, with their citations: context for management review, not legal advice.",
    ]
    if not ledger.budgets:
        notes.append("No budget recorded (`warroom costs budget AMOUNT CURRENCY`).")
    if not fines:
        notes.append("Fine ranges: no notification rule applies to the incident's facts yet.")
    return ResultTable(
        "Costs against the budget",
        ("category", "spent / fine range", "bookings", "budget", "left / citation"),
        rows,
        notes=notes,
        empty="nothing booked and no fine range applies",
    )


def _left(b: Budget) -> str:
    return "OVER BUDGET" if b.over else format_amount(b.remaining, b.currency)
