"""Journal: the findings of record, so the checklist and containment panels can follow them, and the incident
findings (compromised apps, users, grants) in full, so a later snapshot that no longer shows them does not
close them (`lifecycle.follow`)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from app.findings.lifecycle import record_refs
from app.findings.models import Finding
from app.incident.core import Incident
from app.journal.entries import Entry
from app.journal.registry import Lookup

FINDINGS_KIND = "inventory.findings"


def _digest(found: list[Finding]) -> str:
    text = "\n".join(f"{f.id} {f.severity} {f.status} {'; '.join(f.still_open)}" for f in found)
    return hashlib.sha256(text.encode()).hexdigest()


def record(incident: Incident, found: list[Finding], snapshot_evidence_id: str | None, actor: str) -> bool:
    """Journal the finding set when it differs from the one last recorded; True when an entry was written."""
    digest = _digest(found)
    current = incident.journal.get_state("inventory", "findings")
    if current and current.get("digest") == digest and current.get("snapshot") == snapshot_evidence_id:
        return False
    items = [
        {
            "id": f.id,
            "pattern": f.pattern,
            "severity": f.severity,
            "title": f.title,
            "checklist_item": f.checklist_item,
            "containment": f.containment,
            "records": len(f.records),
            "status": f.status,
        }
        for f in found
    ]
    followed = [f.model_dump(mode="json") for f in record_refs(found)]
    data = {"snapshot": snapshot_evidence_id, "digest": digest, "items": items, "followed": followed}
    incident.journal.append(FINDINGS_KIND, data, actor)
    return True


def followed(incident: Incident) -> list[Finding]:
    """The incident findings last recorded (open and closed), to be followed into the next snapshot."""
    current = incident.journal.get_state("inventory", "findings") or {}
    return [Finding.model_validate(f) for f in current.get("followed", [])]


def project_findings(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    """`inventory/findings`: the latest recorded finding set (ids, severities, checklist items, containment)."""
    d = entry.data
    yield (
        "inventory",
        "findings",
        {
            "seq": entry.seq,
            "snapshot": d.get("snapshot"),
            "digest": d["digest"],
            "items": d["items"],
            "followed": d.get("followed", []),
        },
    )


def followed_users(incident: Incident) -> list[str]:
    """User ids the incident's findings name as compromised (the inventory reads their object access)."""
    out = set()
    for f in followed(incident):
        kind, _, subject = (f.target or "").partition(":")
        if kind in ("sessions", "freeze", "access") and subject:
            out.add(subject)
    return sorted(out)
