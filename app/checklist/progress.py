"""An incident's checklist: the runbook it follows (recorded with the SHA-256 of every layer), `checklist.state`
entries and their projection; the status of each item against its due time is in `status`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
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
    SOURCE_KIND,
    SOURCE_NAMESPACE,
    STATE_KIND,
    Checklist,
    ItemState,
    parse_state,
)
from app.checklist.status import ChecklistStatus, build_status
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
