"""Journal and evidence: a snapshot is stored whole in the evidence store and journaled by its hash."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from app.inventory.access import integration_users
from app.inventory.importing import parse_snapshot, snapshot_bytes
from app.inventory.models import InventoryError, Snapshot, _source_summary
from app.journal.chain import Entry, Lookup

SNAPSHOT_KIND = "inventory.snapshot"


class SavedSnapshot(BaseModel):
    evidence_id: str
    sha256: str
    size: int
    seq: int
    taken_utc: str
    source: dict[str, Any]
    counts: dict[str, int]


def save_snapshot(incident: Any, snap: Snapshot, actor: str, *, imported_from: str | None = None) -> SavedSnapshot:
    """Store the snapshot bytes as evidence, then journal `inventory.snapshot` with its SHA-256 and counts.

    `source` says what the snapshot describes (org alias and instance, or the export it was built from);
    `imported_from` names the file or directory it was read from when it did not come from a live pull.
    """
    data = snapshot_bytes(snap)
    taken = snap.taken_utc.replace(":", "").replace("-", "")
    source = _source_summary(snap.source)
    if imported_from:
        source["imported_from"] = imported_from
    rec = incident.add_evidence_bytes(
        data, f"inventory-{taken}.json", actor, note="inventory snapshot", source={"inventory": source}
    )
    counts = snap.counts()
    entry = incident.journal.append(
        SNAPSHOT_KIND,
        {
            "evidence_id": rec.evidence_id,
            "sha256": rec.sha256,
            "size": rec.size,
            "taken_utc": snap.taken_utc,
            "format_version": snap.format_version,
            "source": source,
            "counts": counts,
            "integration_users": len(integration_users(snap)),
            "notes": [f"{n.object}: {n.status}" for n in snap.notes],
        },
        actor,
    )
    return SavedSnapshot(
        evidence_id=rec.evidence_id,
        sha256=rec.sha256,
        size=rec.size,
        seq=entry.seq,
        taken_utc=snap.taken_utc,
        source=source,
        counts=counts,
    )


def project_snapshot(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    """`inventory/current` is the latest snapshot; `inventory/history` lists every snapshot in journal order."""
    d = entry.data
    summary = {
        "seq": entry.seq,
        "evidence_id": d["evidence_id"],
        "sha256": d["sha256"],
        "taken_utc": d["taken_utc"],
        "recorded_utc": entry.recorded_utc,
        "actor": entry.actor,
        "source": d.get("source", {}),
        "counts": d.get("counts", {}),
    }
    history = get("inventory", "history") or []
    yield "inventory", "current", summary
    yield "inventory", "history", [*history, summary]


def current_summary(incident: Any) -> dict[str, Any] | None:
    """The current snapshot's summary (evidence id, source, counts...), or None before the first snapshot."""
    current = incident.journal.get_state("inventory", "current")
    return dict(current) if current else None


def history(incident: Any) -> list[dict[str, Any]]:
    return incident.journal.get_state("inventory", "history") or []


def load_saved(incident: Any, ref: str) -> Snapshot:
    """A stored snapshot by evidence id (or SHA-256 prefix); its bytes are re-hashed before they are trusted."""
    item = incident.resolve_evidence(ref)
    path = incident.evidence.path_for(item["sha256"])
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InventoryError(
            f"snapshot {item['evidence_id']} is missing from the evidence store ({path}: {exc.strerror or exc})"
        ) from None
    if hashlib.sha256(data).hexdigest() != item["sha256"]:
        raise InventoryError(
            f"snapshot {item['evidence_id']} does not match its journaled SHA-256: the evidence "
            f"file {path} was changed; run `warroom evidence verify`"
        )
    return parse_snapshot(data, f"evidence {item['evidence_id']}")


def load_current(incident: Any) -> Snapshot | None:
    current = current_summary(incident)
    if current is None:
        return None
    return load_saved(incident, current["evidence_id"])


# Stored evidence never changes: what `token_holders` needs of each snapshot, read once per process by SHA-256.
_HOLDERS: dict[str, tuple[frozenset[tuple[str, str]], tuple[tuple[str, str], ...]]] = {}


def token_holders(incident: Any) -> tuple[set[tuple[str, str]], dict[str, str], int]:
    """Across every snapshot the incident recorded: the (user id, app name) of each OAuth token, connected app id
    -> name, and how many snapshots were read. Tokens revoked since a pull stay in it (the history is what
    matters to an investigation). Each snapshot is read and checked against its SHA-256 once per process."""
    pairs: set[tuple[str, str]] = set()
    apps: dict[str, str] = {}
    items = history(incident)
    for item in items:
        sha = item["sha256"]
        if sha not in _HOLDERS:
            snap = load_saved(incident, item["evidence_id"])
            _HOLDERS[sha] = (
                frozenset((t.user_id, t.app_name) for t in snap.oauth_tokens if t.user_id),
                tuple((a.id, a.name) for a in snap.connected_apps),
            )
        held, named = _HOLDERS[sha]
        pairs |= held
        apps.update(named)
    return pairs, apps, len(items)
