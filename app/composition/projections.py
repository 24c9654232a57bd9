"""Which entry kinds change derived state, and how. `verify` replays these to rebuild the state tables.

Each area writes its projector next to its own logic and adds one line here. A projector yields
(namespace, key, value) triples; a value of None deletes the key.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from app import checklist, deadlines, findings, hunt, inventory, notify
from app.containment import execute as containment
from app.exercise import runner as exercise
from app.forensics import collect as forensics
from app.incident import settings
from app.journal.chain import Entry, Lookup, Projector


def _genesis(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    yield "incident", "id", entry.data.get("incident_id")
    yield "incident", "title", entry.data.get("title")
    yield "incident", "declared", entry.recorded_utc


def _incident_update(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    for key in ("title", "declared", "detected", "aware", "severity", "commander", "status"):
        if key in entry.data:
            yield "incident", key, entry.data[key]


def _evidence(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    d = entry.data
    yield (
        "evidence",
        d["evidence_id"],
        {
            "sha256": d["sha256"],
            "size": d["size"],
            "name": d.get("name"),
            "note": d.get("note"),
            "acquired_by": entry.actor,
            "acquired_utc": entry.recorded_utc,
            "seq": entry.seq,
            "custody": [],
        },
    )


def _custody(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    d = entry.data
    current = get("evidence", d["evidence_id"])
    if current is None:
        return
    current["custody"] = [*current.get("custody", []), {"seq": entry.seq, "action": d["action"]}]
    yield "evidence", d["evidence_id"], current


def _anchor(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    yield "journal", "last_anchor", {"seq": entry.seq, **entry.data}


def _checkpoint(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    yield (
        "journal",
        "last_checkpoint",
        {"seq": entry.seq, "tree_size": entry.data["tree_size"], "root": entry.data["root"]},
    )


PROJECTORS: dict[str, Projector] = {
    "genesis": _genesis,
    "incident.update": _incident_update,
    "evidence.acquired": _evidence,
    "custody.event": _custody,
    "anchor.made": _anchor,
    "checkpoint": _checkpoint,
    "checklist.state": checklist.project_state,
    "checklist.source": checklist.project_source,
    "facts.set": deadlines.project_fact,
    "deadline.override": deadlines.project_override,
    "deadline.clock": deadlines.project_clock,
    "notification.sent": deadlines.project_notification,
    "deadline.pause": deadlines.project_pause,
    "deadline.resume": deadlines.project_resume,
    "collect.progress": forensics.project_progress,
    "collect.run": forensics.project_run,
    "hunt.hit": hunt.project_hit,
    "inventory.snapshot": inventory.project_snapshot,
    "inventory.findings": findings.project_findings,
    **{kind: containment.project for kind in containment.PROJECTORS},
    "settings.set": settings.project,
    "notice.detail": notify.project_detail,
    "notify.drafted": notify.project_draft,
    "exercise.start": exercise.project_start,
    "exercise.inject": exercise.project_inject,
    "exercise.ack": exercise.project_ack,
    "exercise.end": exercise.project_end,
}


def project(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    projector = PROJECTORS.get(entry.kind)
    if projector is None:
        return ()
    return projector(entry, get)
