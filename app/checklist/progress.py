"""An incident's checklist: the runbook it follows (recorded with the SHA-256 of every layer), `checklist.state`
entries and their projection, and the status of each item against its due time."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from app.base.clock import format_instant, parse_instant
from app.base.errors import NotFoundError, UsageError
from app.checklist.loading import load_checklist
from app.checklist.model import (
    BUILTIN,
    NAMESPACE,
    OPEN_STATES,
    SOURCE_KIND,
    SOURCE_NAMESPACE,
    STATE_KIND,
    Checklist,
    Controls,
    ItemState,
    parse_state,
)
from app.incident.record import declared_utc

if TYPE_CHECKING:
    from app.incident.core import Incident
    from app.journal.entries import Entry


# -- per-incident source --------------------------------------------------------------------------------


def source_record(checklist: Checklist) -> dict[str, Any]:
    """What `checklist.source` journals: enough to find and prove the exact runbook followed."""
    return {
        "path": checklist.path,
        "sha256": checklist.sha256,
        "title": checklist.title,
        "version": checklist.version,
        "items": len(checklist.items),
        "layers": [{"path": s.path, "sha256": s.sha256} for s in checklist.sources],
    }


def _copy_dir(incident: Incident) -> Path:
    return incident.dir / "checklists"


def incident_checklist(incident: Incident, path: Path | None = None) -> Checklist:
    """The checklist `incident` follows: `path` if given, else the one it recorded, else the built-in one.

    Read-only; the console and reports use it. A recorded file that has since disappeared is read from the
    copy kept in the incident directory.
    """
    if path is not None:
        return load_checklist(path)
    recorded = incident.journal.get_state(SOURCE_NAMESPACE, "current")
    if not recorded or recorded.get("path") == BUILTIN:
        return load_checklist(None)
    original = Path(recorded["path"])
    if original.is_file():
        return load_checklist(original)
    copy = _copy_dir(incident) / f"{recorded['sha256']}.toml"
    if copy.is_file():
        return load_checklist(copy, display=f"{original} (copy kept in the incident)")
    raise NotFoundError(
        f"the checklist incident {incident.id} follows ({original}, sha256 {recorded['sha256'][:12]}) is gone; "
        "pass --checklist FILE"
    )


def use_checklist(incident: Incident, actor: str, path: Path | None = None) -> Checklist:
    """`incident_checklist`, journaling `checklist.source` when the incident first uses it or it changed."""
    checklist = incident_checklist(incident, path)
    record_source(incident, checklist, actor)
    return checklist


def record_source(incident: Incident, checklist: Checklist, actor: str) -> None:
    """Journal `checklist.source` (and keep a copy of each file) unless the incident already follows `checklist`."""
    record = source_record(checklist)
    recorded = incident.journal.get_state(SOURCE_NAMESPACE, "current")
    if recorded is None or recorded.get("layers") != record["layers"]:
        copies = _copy_dir(incident)
        for source in checklist.sources:
            if source.path == BUILTIN:
                continue
            target = copies / f"{source.sha256}.toml"
            if not target.exists():
                copies.mkdir(parents=True, exist_ok=True)
                target.write_text(source.text, encoding="utf-8")
        incident.journal.append(SOURCE_KIND, record, actor)


# -- state changes --------------------------------------------------------------------------------------


def set_state(
    incident: Incident,
    checklist: Checklist,
    item_id: str,
    state: ItemState | str,
    actor: str,
    *,
    note: str | None = None,
    evidence: Iterable[str] = (),
) -> Entry:
    """Journal one state change. Refused: unknown item, unknown evidence, `not_applicable` without a reason."""
    return incident.journal.append(
        STATE_KIND, _state_change(incident, checklist, item_id, state, note, evidence), actor
    )


def _state_change(
    incident: Incident,
    checklist: Checklist,
    item_id: str,
    state: ItemState | str,
    note: str | None,
    evidence: Iterable[str],
) -> dict[str, Any]:
    """The `checklist.state` entry for a change, or the refusal (nothing is journaled here)."""
    item = checklist.item(item_id)
    new = parse_state(state)
    note = note.strip() if note and note.strip() else None
    if new is ItemState.NOT_APPLICABLE and not note:
        raise UsageError(f"{item.id}: not_applicable needs a reason (--note TEXT)")
    evidence_ids: list[str] = []
    for ref in evidence:
        found = incident.resolve_evidence(ref)["evidence_id"]
        if found not in evidence_ids:
            evidence_ids.append(found)
    current = incident.journal.get_state(NAMESPACE, item.id)
    previous = current["state"] if current else ItemState.TODO.value
    if previous == new.value and not note and not evidence_ids:
        raise UsageError(f"{item.id} is already {new.value}; add --note or --evidence to record more")
    return {
        "item": item.id,
        "state": new.value,
        "previous": previous,
        "note": note,
        "evidence": evidence_ids,
        "reason": note if new in (ItemState.NOT_APPLICABLE, ItemState.BLOCKED) else None,
    }


class StateChange(BaseModel):
    """One checklist item moved: from which state to which, and the journal entry that records it."""

    item: str
    previous: str
    state: str
    seq: int
    evidence: list[str] = Field(default_factory=list)


def set_item_state(
    incident: Incident,
    item_id: str,
    state: ItemState | str,
    actor: str,
    *,
    note: str | None = None,
    evidence: Iterable[str] = (),
    checklist_path: Path | None = None,
    checklist: Checklist | None = None,
) -> StateChange:
    """The user action `checklist set ITEM STATE`, from any front end: the change is checked (its refusals are
    `set_state`'s) before anything is journaled, then the runbook the incident follows is recorded if it is new
    to the incident (`record_source`), then the state change. `checklist`: the incident's checklist as already
    loaded by a front end that keeps it (the console), instead of reading and checking the file again."""
    if checklist is None:
        checklist = incident_checklist(incident, checklist_path)
    data = _state_change(incident, checklist, item_id, state, note, evidence)
    record_source(incident, checklist, actor)
    entry = incident.journal.append(STATE_KIND, data, actor)
    d = entry.data
    return StateChange(item=d["item"], previous=d["previous"], state=d["state"], seq=entry.seq, evidence=d["evidence"])


def project_state(entry: Entry, get: Callable[[str, str], Any]) -> Iterable[tuple[str, str, Any]]:
    """`checklist.state` -> the item's current state; evidence accumulates across changes."""
    d = entry.data
    current = get(NAMESPACE, d["item"]) or {}
    evidence = list(current.get("evidence", []))
    evidence += [e for e in d.get("evidence", []) if e not in evidence]
    state = d["state"]
    started = current.get("started_utc")
    if state == ItemState.IN_PROGRESS and not started:
        started = entry.recorded_utc
    done = None
    if state == ItemState.DONE:
        done = current.get("done_utc") if current.get("state") == ItemState.DONE else entry.recorded_utc
    yield (
        NAMESPACE,
        d["item"],
        {
            "state": state,
            "note": d.get("note"),
            "reason": d.get("reason"),
            "evidence": evidence,
            "by": entry.actor,
            "at": entry.recorded_utc,
            "seq": entry.seq,
            "changes": current.get("changes", 0) + 1,
            "started_utc": started,
            "done_utc": done,
        },
    )


def project_source(entry: Entry, get: Callable[[str, str], Any]) -> Iterable[tuple[str, str, Any]]:
    yield SOURCE_NAMESPACE, "current", {**entry.data, "seq": entry.seq, "at": entry.recorded_utc}


# -- status ---------------------------------------------------------------------------------------------


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


def build_status(
    checklist: Checklist,
    states: Mapping[str, Mapping[str, Any]],
    declared: datetime,
    now: datetime,
    incident_id: str | None = None,
) -> ChecklistStatus:
    """Pure: items with state, due time and overdue flag; progress per phase and overall."""
    state_of = {i.id: ItemState(states[i.id]["state"]) if i.id in states else ItemState.TODO for i in checklist.items}
    rows: list[ItemStatus] = []
    for item in checklist.items:
        st = states.get(item.id, {})
        state = state_of[item.id]
        due_at = declared + item.due_offset
        rows.append(
            ItemStatus(
                id=item.id,
                phase=item.phase,
                title=item.title,
                owner=item.owner,
                owner_title=checklist.roles.get(item.owner, item.owner),
                state=state,
                due=item.due,
                due_utc=format_instant(due_at),
                overdue=state in OPEN_STATES and now > due_at,
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
        )
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
    upcoming = [r for r in rows if r.state in OPEN_STATES and not r.overdue]
    next_due = min(upcoming, key=lambda r: r.due_utc).id if upcoming else None
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
        overdue=[r.id for r in rows if r.overdue],
        next_due=next_due,
        phases=phases,
        items=rows,
        orphans=sorted(k for k in states if k not in known),
    )


def declared_at(incident: Incident) -> datetime:
    """Declaration time: the incident's recorded `declared`, else its genesis entry's time."""
    declared = declared_utc(incident.journal)
    if not declared:
        genesis = incident.journal.entry(1)
        declared = genesis.recorded_utc if genesis else format_instant(incident.journal.clock.now())
    return parse_instant(declared)


def checklist_status(incident: Incident, checklist: Checklist, now: datetime | None = None) -> ChecklistStatus:
    """The incident's checklist as the console and the report show it."""
    return build_status(
        checklist,
        incident.journal.state(NAMESPACE),
        declared_at(incident),
        now or incident.journal.clock.now(),
        incident_id=incident.id,
    )
