"""The report's remediation and recovery section: the just-in-time grants with their last check by query, the
monitoring window and its alerts, the reconnect plans, the cost ledger (totals per category and currency, budgets
and what is left of them) and the fine ranges of the regimes that apply, each with its citation or "no figure in
the rule table". Built from the journal (`recovery_section`) and laid out as tables (`recovery_tables`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.base.clock import parse_instant
from app.base.errors import WarroomError
from app.costs import fine_ranges, format_amount, read_ledger
from app.grants import list_grants
from app.monitoring import ACK_KIND, ALERT_KIND, monitor_status
from app.reconnection import reconnects
from app.report.model import (
    BudgetRow,
    CostTotalRow,
    FineRow,
    GrantRow,
    MonitoringAlertRow,
    MonitoringSummary,
    ReconnectRow,
    Recovery,
    Report,
)

if TYPE_CHECKING:
    from app.incident.core import Incident

ALL_CATEGORIES = "all categories"


def _monitoring(incident: Incident, as_of: datetime) -> MonitoringSummary | None:
    status = monitor_status(incident, as_of)
    if status is None:
        return None
    watched = [d for d in range(1, status.day + 1) if status.runs_by_day.get(d)]
    acks = {
        e.data["key"]: f"by {e.actor} at {e.recorded_utc}"
        for e in incident.journal.entries(kind=ACK_KIND)
        if parse_instant(e.recorded_utc) <= as_of
    }
    return MonitoringSummary(
        start_utc=status.start_utc,
        end_utc=status.end_utc,
        days=status.days,
        org_alias=status.org_alias,
        day=status.day,
        ended=status.ended,
        closed=f"{status.closed_utc} by {status.closed_by}: {status.decision}" if status.closed_utc else None,
        runs=status.runs,
        days_with_a_run=len(watched),
        days_without_a_run=[d for d in range(1, status.day + 1) if d not in watched],
        alerts_by_type=status.alerts_by_type,
        alerts=[
            MonitoringAlertRow(
                seq=e.seq,
                recorded_utc=e.recorded_utc,
                type=e.data["type"],
                title=e.data["title"],
                detail=e.data.get("detail", ""),
                run=e.data.get("run"),
                day=e.data.get("day"),
                acknowledged=acks.get(e.data["key"]),
            )
            for e in incident.journal.entries(kind=ALERT_KIND)
            if e.seq > status.seq
        ],
    )


def recovery_section(incident: Incident, as_of: datetime) -> Recovery:
    ledger = read_ledger(incident.journal)
    totals = [
        CostTotalRow(category=t.category, currency=t.currency, amount=str(t.amount), count=t.count)
        for t in ledger.totals
    ]
    for currency, amount in ledger.by_currency.items():
        count = sum(t.count for t in ledger.totals if t.currency == currency)
        totals.append(CostTotalRow(category=ALL_CATEGORIES, currency=currency, amount=str(amount), count=count))
    section = Recovery(
        grants=[
            GrantRow(
                action_id=g.action_id,
                org_alias=g.org_alias,
                assignee=g.assignee,
                permission_set=g.permission_set,
                reason=g.reason,
                requested_by=g.requested_by,
                approver=g.approver,
                expires_utc=g.expires_utc,
                state=g.state,
                checked_utc=g.check.checked_utc if g.check else None,
            )
            for g in list_grants(incident)
        ],
        monitoring=_monitoring(incident, as_of),
        reconnects=[
            ReconnectRow(
                reconnect_id=r.reconnect_id,
                app=r.app,
                user=r.user,
                planned_by=r.planned_by,
                status=r.status,
                approved_by=r.approved_by,
                preconditions={p.name: p.state for p in r.preconditions},
            )
            for r in reconnects(incident)
        ],
        cost_totals=totals,
        costs_booked=len(ledger.items),
        budgets=[
            BudgetRow(
                category=b.category,
                currency=b.currency,
                amount=str(b.amount),
                spent=str(b.spent),
                remaining=str(b.remaining),
                over=b.over,
                seq=b.seq,
            )
            for b in ledger.budgets
        ],
    )
    try:
        section.fines = [
            FineRow(
                regime=f.regime,
                jurisdictions=f.jurisdictions,
                figure=f.figure,
                citation=f.citation,
                source=f.source,
                basis=f.basis,
            )
            for f in fine_ranges(incident.journal, as_of)
        ]
    except WarroomError as exc:  # an unreadable rule or fine table: said, never a silent empty list
        section.fines_error = str(exc)
    return section


def _money(amount: str, currency: str) -> str:
    from decimal import Decimal

    return format_amount(Decimal(amount), currency)


def recovery_tables(r: Report) -> Iterator[tuple[str, list[str], list[list[Any]], str]]:
    """(title, headers, rows, note) for the report's remediation and recovery tables."""
    rec = r.recovery
    yield (
        "Remediation and recovery: just-in-time grants",
        ["Action id", "Org", "Permission set", "User", "Reason", "Asked by", "Approver", "Expires (UTC)", "State"],
        [
            [
                g.action_id,
                g.org_alias,
                g.permission_set,
                g.assignee,
                g.reason,
                g.requested_by,
                g.approver,
                g.expires_utc,
                g.state + (f" (checked {g.checked_utc})" if g.checked_utc else ""),
            ]
            for g in rec.grants
        ],
        "Each grant: a PermissionSetAssignment with an ExpirationDate, approved by the approver it names and applied "
        "through the containment path; its state is the last query of the assignment (grant.checked), never assumed.",
    )
    mon = rec.monitoring
    rows: list[list[Any]] = []
    if mon is not None:
        rows = [
            ["Org", mon.org_alias],
            ["Window", f"{mon.start_utc} to {mon.end_utc} ({mon.days} days)"],
            ["As of", "ended" if mon.ended else f"day {mon.day} of {mon.days}"],
            ["Closed", mon.closed or "not closed"],
            ["Runs", mon.runs],
            ["Days with a run", f"{mon.days_with_a_run} of {mon.day}"],
            ["Days without a run", ", ".join(str(d) for d in mon.days_without_a_run) or "none"],
            ["Alerts by type", ", ".join(f"{k}: {n}" for k, n in mon.alerts_by_type.items()) or "none"],
        ]
        rows += [
            [
                f"Alert (entry {a.seq}, day {a.day})",
                f"{a.type}: {a.title}. {a.detail}".strip()
                + (f" Acknowledged {a.acknowledged}." if a.acknowledged else " Not acknowledged."),
            ]
            for a in mon.alerts
        ]
    yield (
        "Remediation and recovery: enhanced monitoring",
        ["Field", "Value"],
        rows,
        "No monitoring window was opened (`warroom monitor start --days 28`)."
        if mon is None
        else "The window (monitoring.window), each run (monitoring.run) and each alert (monitoring.alert), journaled.",
    )
    yield (
        "Remediation and recovery: reconnection",
        ["Reconnect id", "App", "Integration user", "Planned by", "Status", "Approved by", "Preconditions"],
        [
            [
                r.reconnect_id,
                r.app,
                r.user,
                r.planned_by,
                r.status,
                r.approved_by or "",
                "; ".join(f"{k} {v}" for k, v in r.preconditions.items()),
            ]
            for r in rec.reconnects
        ],
        "Each plan with its preconditions as last checked (at approval when approved); approval by someone other "
        "than the planner, only when every precondition is met.",
    )
    yield (
        "Remediation and recovery: costs",
        ["Category", "Total", "Bookings"],
        [[t.category, _money(t.amount, t.currency), t.count] for t in rec.cost_totals],
        f"{rec.costs_booked} cost(s) booked (journal kind cost.added, with the evidence named); totals per category "
        "and currency, never converted between currencies.",
    )
    yield (
        "Remediation and recovery: budget",
        ["Budget", "Approved", "Spent", "Remaining", "Entry"],
        [
            [
                "whole response" if b.category == "*" else b.category,
                _money(b.amount, b.currency),
                _money(b.spent, b.currency),
                "OVER BUDGET" if b.over else _money(b.remaining, b.currency),
                b.seq,
            ]
            for b in rec.budgets
        ],
        "The latest approved budget per scope and currency (journal kind cost.budget).",
    )
    yield (
        "Remediation and recovery: fine ranges per applicable regime",
        ["Regime", "Jurisdictions", "Range", "Citation", "Source", "Basis"],
        [
            [f.regime, "; ".join(f.jurisdictions), f.figure, f.citation or "", f.source or "", f.basis]
            for f in rec.fines
        ],
        (f"Fine ranges unavailable: {rec.fines_error}. " if rec.fines_error else "")
        + "Context for management review, not legal advice: figures only where a cited source gives them.",
    )
