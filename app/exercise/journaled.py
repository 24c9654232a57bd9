"""The exercise as the journal records it: the projections of `exercise.*` entries and their readers.

Fired injects stay "alerts" until acknowledged (`pending_alerts`, `acknowledge`); `current_exercise` tells every
front end and the report whether an incident is a drill. Apart from the runner because these are read for any
incident (the console, the report, scoring) while the runner exists only while a scenario plays.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from app.base.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from app.incident.core import Incident
    from app.journal.chain import Journal
    from app.journal.entries import Entry
    from app.journal.registry import Lookup

__all__ = [
    "ALERTS",
    "NAMESPACE",
    "Alert",
    "acknowledge",
    "alerts",
    "current_exercise",
    "pending_alerts",
    "project_ack",
    "project_end",
    "project_inject",
    "project_start",
]

NAMESPACE = "exercise"
ALERTS = "exercise.alerts"


class Alert(BaseModel):
    inject: str
    seq: int
    at: str
    offset: str
    kind: str
    title: str
    message: str
    sender: str | None = None
    prompts: list[str] = []
    acknowledged: bool = False
    acknowledged_by: str | None = None
    acknowledged_utc: str | None = None


def alerts(incident: Incident) -> list[Alert]:
    """Every inject fired in this incident, oldest first."""
    rows = incident.journal.state(ALERTS).values()
    return sorted((Alert.model_validate(v) for v in rows), key=lambda a: a.seq)


def pending_alerts(incident: Incident) -> list[Alert]:
    """Injects not yet acknowledged: what the console shows as alerts (empty for a real incident)."""
    return [a for a in alerts(incident) if not a.acknowledged]


def acknowledge(incident: Incident, inject_id: str, actor: str, note: str | None = None) -> Entry:
    """Journal `exercise.ack` for a fired inject; refused when unknown or already acknowledged."""
    current = incident.journal.get_state(ALERTS, inject_id)
    if current is None:
        raise NotFoundError(f"no exercise alert {inject_id!r} in {incident.id}")
    if current.get("acknowledged"):
        raise UsageError(f"alert {inject_id} was already acknowledged by {current.get('acknowledged_by')}")
    data: dict[str, Any] = {"inject": inject_id}
    if note:
        data["note"] = note
    return incident.journal.append("exercise.ack", data, actor)


def current_exercise(journal: Journal) -> dict[str, Any] | None:
    """The exercise this incident runs (scenario, title, start, duration, whether and when it ended), or None."""
    value = journal.get_state(NAMESPACE, "current")
    return dict(value) if value else None


def project_start(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    d = entry.data
    yield (
        NAMESPACE,
        "current",
        {
            "scenario": d["scenario"],
            "title": d.get("title"),
            "start_utc": d["start_utc"],
            "duration": d["duration"],
            "seq": entry.seq,
            "ended": False,
        },
    )


def project_inject(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    d = entry.data
    yield (
        ALERTS,
        d["inject"],
        {
            "inject": d["inject"],
            "seq": entry.seq,
            "at": entry.recorded_utc,
            "offset": d["offset"],
            "kind": d["kind"],
            "title": d["title"],
            "message": d["message"],
            "sender": d.get("sender"),
            "prompts": d.get("prompts", []),
            "acknowledged": False,
            "acknowledged_by": None,
            "acknowledged_utc": None,
        },
    )


def project_ack(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    current = get(ALERTS, entry.data["inject"])
    if current is None:
        return
    yield (
        ALERTS,
        entry.data["inject"],
        {**current, "acknowledged": True, "acknowledged_by": entry.actor, "acknowledged_utc": entry.recorded_utc},
    )


def project_end(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    current = get(NAMESPACE, "current") or {}
    score = entry.data.get("score") or {}
    yield (
        NAMESPACE,
        "current",
        {
            **current,
            "ended": True,
            "end_utc": entry.recorded_utc,
            "total": score.get("total"),
            "aborted": entry.data.get("aborted"),
        },
    )
