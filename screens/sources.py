"""What the panes show, read from `app/`: the core computes, this module only picks fields for the widgets.

Each function takes the core's own result (checklist status, deadline timers, inventory, containment status)
and returns the small row types the widgets draw, so a widget never reaches into the journal itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app import checklist as cl
from app import deadlines as dl
from app.base.clock import parse_instant
from app.findings.exposure import exposure
from app.incident.core import Incident
from screens.widgets.checklist_pane import ItemRow, PhaseRow
from screens.widgets.countdown_pane import CountdownRow
from screens.widgets.inventory_pane import InventoryRow


def _instant(text: str | None) -> datetime | None:
    return parse_instant(text) if text else None


class ChecklistSource:
    """The incident's checklist, loaded once; its status brought up to date from the previous one, recomputing
    only the items whose state changed since (and those waiting on them, and those time has made overdue)."""

    def __init__(self, incident: Incident) -> None:
        self.incident = incident
        self.error: str | None = None
        try:
            self.checklist: cl.Checklist | None = cl.incident_checklist(incident)
        except Exception as exc:  # a broken checklist must not take the console down: show why instead
            self.checklist, self.error = None, str(exc)
        self.states: dict[str, Any] = {}
        self.declared: datetime | None = None
        self._status: cl.ChecklistStatus | None = None
        self._changed: set[str] = set()
        self.reload()

    def reload(self) -> None:
        """Re-read item states and the declaration time from the journal (after an append)."""
        states = self.incident.journal.state(cl.NAMESPACE)
        declared = cl.declared_at(self.incident)
        if declared != self.declared:
            self._status = None  # every due time moved: nothing of the last status holds
        self._changed.update(k for k in states.keys() | self.states.keys() if states.get(k) != self.states.get(k))
        self.states, self.declared = states, declared

    def status(self, now: datetime) -> cl.ChecklistStatus | None:
        if self.checklist is None or self.declared is None:
            return None
        self._status = cl.update_status(
            self._status, self.checklist, self.states, self.declared, now, self._changed, incident_id=self.incident.id
        )
        self._changed = set()
        return self._status

    def marks(self, now: datetime) -> tuple[Any, ...]:
        """What time alone changes (overdue items, the next due): asked every second, redrawn when it differs."""
        if self.checklist is None or self.declared is None:
            return ()
        return cl.due_marks(self.checklist, self.states, self.declared, now)


def checklist_rows(status: cl.ChecklistStatus | None) -> list[PhaseRow]:
    if status is None:
        return []
    phases: list[PhaseRow] = []
    for phase in status.phases:
        items = [
            ItemRow(
                id=i.id,
                title=i.title,
                state=i.state.value,
                owner=i.owner,
                due=_instant(i.due_utc),
                overdue=i.overdue,
                is_next=i.id == status.next_due,
                evidence=len(i.evidence),
                waiting_on=tuple(i.waiting_on),
            )
            for i in status.items
            if i.phase == phase.id
        ]
        phases.append(PhaseRow(id=phase.id, title=phase.title, items=items))
    return phases


def countdown_rows(timers: list[dl.Timer]) -> list[CountdownRow]:
    rows: list[CountdownRow] = []
    for t in timers:
        if t.state == "not_applicable":
            continue
        running = t.state in ("overdue", "due_4h", "due_24h", "on_track", "notified")
        note = {"paused": "paused", "pending": "not started", "elapsed": "no deadline"}.get(t.state, "")
        rows.append(
            CountdownRow(
                key=t.rule,
                jurisdiction=t.code,
                obligation=f"{t.recipient.replace('_', ' ')} {t.period}",
                due=_instant(t.due_utc) if running else None,
                notified=t.state == "notified",
                notified_when=t.notified_utc,
                rule=t.rule,
                note=note,
            )
        )
    return rows


def grant_rows(grants: list[Any]) -> list[CountdownRow]:
    """Just-in-time grants about to lapse (app.grants.expiring_grants) as countdown rows; no notice to mark sent."""
    return [
        CountdownRow(
            key=f"grant:{g.action_id}",
            jurisdiction="grant",
            obligation=f"{g.permission_set} → {g.assignee} lapses",
            due=_instant(g.expires_utc),
        )
        for g in grants
    ]


# -- inventory, findings and containment (joined in the core) -------------------------------------------------------


@dataclass
class InventoryView:
    """Everything the inventory pane and the containment dialog need, built off the UI thread."""

    rows: list[InventoryRow]
    summary: str
    findings: list[Any]  # app.findings.Finding, most severe first
    evidence_id: str | None = None
    org_alias: str | None = None


def load_inventory(incident: Incident) -> InventoryView:
    """The core's exposure reader (`app.findings.exposure`) as the pane's rows (slow: run in a worker)."""
    found = exposure(incident)
    rows = [
        InventoryRow(
            key=r.key,
            kind=r.kind,
            name=r.name,
            detail=r.detail,
            findings=r.findings,
            containment=r.containment,
            record=r.record,
        )
        for r in found.rows
    ]
    return InventoryView(rows, found.summary, found.findings, found.evidence_id, found.org_alias)
