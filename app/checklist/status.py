"""The status of each checklist item against its due time, and of each phase and the whole checklist.

A status is built whole (`build_status`: the report, `checklist status`) or brought up to date from the previous
one (`update_status`: the console, after each journal entry and each tick), recomputing only the items whose state
changed, those waiting on them and those whose overdue mark time has flipped; the sums are always redone.
`due_marks` is the part that time alone changes, cheap enough to ask every second.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from app.base.clock import format_instant
from app.checklist.model import OPEN_STATES, Checklist, Controls, Item, ItemState


class ItemStatus(BaseModel):
    id: str
    phase: str
    title: str
    owner: str
    owner_title: str
    state: ItemState
    due: str  # the ISO 8601 offset from declaration
    due_utc: str
    overdue: bool
    depends_on: list[str]
    waiting_on: list[str]  # dependencies neither done nor not applicable
    triggers: list[str]
    evidence_required: list[str]
    controls: Controls
    note: str | None = None
    reason: str | None = None
    evidence: list[str] = Field(default_factory=list)
    updated_utc: str | None = None
    updated_by: str | None = None
    done_utc: str | None = None


class PhaseStatus(BaseModel):
    id: str
    title: str
    total: int
    done: int
    not_applicable: int
    open: int
    overdue: int


class ChecklistStatus(BaseModel):
    incident_id: str | None
    checklist_path: str
    checklist_sha256: str
    checklist_title: str
    checklist_version: str
    declared_utc: str
    now_utc: str
    total: int
    done: int
    not_applicable: int
    percent: int  # done of applicable items, rounded down
    overdue: list[str]
    next_due: str | None  # the open item due soonest that is not yet overdue
    phases: list[PhaseStatus]
    items: list[ItemStatus]
    orphans: list[str]  # items with recorded state that this checklist no longer has


def _states(checklist: Checklist, states: Mapping[str, Mapping[str, Any]]) -> dict[str, ItemState]:
    return {i.id: ItemState(states[i.id]["state"]) if i.id in states else ItemState.TODO for i in checklist.items}


def due_marks(
    checklist: Checklist, states: Mapping[str, Mapping[str, Any]], declared: datetime, now: datetime
) -> tuple[tuple[str, ...], str | None]:
    """(overdue items, the next item due): what time alone changes. An item is overdue when it is still open
    after its due time; the next due is the open item due soonest that is not yet overdue (the first in
    checklist order among equals)."""
    state_of = _states(checklist, states)
    overdue: list[str] = []
    next_due: tuple[datetime, str] | None = None
    for item in checklist.items:
        if state_of[item.id] not in OPEN_STATES:
            continue
        due_at = declared + item.due_offset
        if now > due_at:
            overdue.append(item.id)
        elif next_due is None or due_at < next_due[0]:
            next_due = (due_at, item.id)
    return tuple(overdue), next_due[1] if next_due else None


def _item_status(
    checklist: Checklist,
    item: Item,
    states: Mapping[str, Mapping[str, Any]],
    state_of: Mapping[str, ItemState],
    declared: datetime,
    overdue: Collection[str],
) -> ItemStatus:
    st = states.get(item.id, {})
    return ItemStatus(
        id=item.id,
        phase=item.phase,
        title=item.title,
        owner=item.owner,
        owner_title=checklist.roles.get(item.owner, item.owner),
        state=state_of[item.id],
        due=item.due,
        due_utc=format_instant(declared + item.due_offset),
        overdue=item.id in overdue,
        depends_on=list(item.depends_on),
        waiting_on=[d for d in item.depends_on if state_of.get(d) in OPEN_STATES],
        triggers=list(item.triggers),
        evidence_required=list(item.evidence),
        controls=item.controls,
        note=st.get("note"),
        reason=st.get("reason"),
        evidence=list(st.get("evidence", [])),
        updated_utc=st.get("at"),
        updated_by=st.get("by"),
        done_utc=st.get("done_utc"),
    )


def build_status(
    checklist: Checklist,
    states: Mapping[str, Mapping[str, Any]],
    declared: datetime,
    now: datetime,
    incident_id: str | None = None,
) -> ChecklistStatus:
    """Pure: items with state, due time and overdue flag; progress per phase and overall."""
    return update_status(None, checklist, states, declared, now, incident_id=incident_id)


def update_status(
    previous: ChecklistStatus | None,
    checklist: Checklist,
    states: Mapping[str, Mapping[str, Any]],
    declared: datetime,
    now: datetime,
    changed: Collection[str] = (),
    incident_id: str | None = None,
) -> ChecklistStatus:
    """Pure: `previous` (built from the same checklist and declaration time) brought up to `states` at `now`,
    where `changed` names every item whose recorded state differs from what `previous` was built from.
    Without `previous`, every item is computed."""
    state_of = _states(checklist, states)
    overdue, next_due = due_marks(checklist, states, declared, now)
    overdue_set = set(overdue)
    before = {r.id: r for r in previous.items} if previous is not None else {}
    touched = set(changed)
    rows: list[ItemStatus] = []
    for item in checklist.items:
        old = before.get(item.id)
        if (
            old is None
            or item.id in touched
            or touched.intersection(item.depends_on)
            or old.overdue != (item.id in overdue_set)
        ):
            rows.append(_item_status(checklist, item, states, state_of, declared, overdue_set))
        else:
            rows.append(old)
    phases = []
    for phase in checklist.phases:
        mine = [r for r in rows if r.phase == phase.id]
        phases.append(
            PhaseStatus(
                id=phase.id,
                title=phase.title,
                total=len(mine),
                done=sum(r.state is ItemState.DONE for r in mine),
                not_applicable=sum(r.state is ItemState.NOT_APPLICABLE for r in mine),
                open=sum(r.state in OPEN_STATES for r in mine),
                overdue=sum(r.overdue for r in mine),
            )
        )
    done = sum(r.state is ItemState.DONE for r in rows)
    na = sum(r.state is ItemState.NOT_APPLICABLE for r in rows)
    applicable = len(rows) - na
    known = {i.id for i in checklist.items}
    return ChecklistStatus(
        incident_id=incident_id,
        checklist_path=checklist.path,
        checklist_sha256=checklist.sha256,
        checklist_title=checklist.title,
        checklist_version=checklist.version,
        declared_utc=format_instant(declared),
        now_utc=format_instant(now),
        total=len(rows),
        done=done,
        not_applicable=na,
        percent=(done * 100 // applicable) if applicable else 100,
        overdue=list(overdue),
        next_due=next_due,
        phases=phases,
        items=rows,
        orphans=sorted(k for k in states if k not in known),
    )
