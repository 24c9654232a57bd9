"""What the incident itself journals (genesis, incident facts, evidence, custody, checkpoints, anchors): the
projectors that derive their state, and the typed readers other areas use instead of reading the `incident`,
`evidence` and `journal` namespaces by name. The payload models are in app/incident/payloads.py (pydantic is
loaded only when an entry of such a kind is written or verified).

Registered in app/composition/projections.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.journal.chain import Journal
    from app.journal.entries import Entry
    from app.journal.registry import Lookup

INCIDENT = "incident"
EVIDENCE = "evidence"
JOURNAL = "journal"


# -- projectors --------------------------------------------------------------------------------------------------


def project_genesis(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    yield INCIDENT, "id", entry.data.get("incident_id")
    yield INCIDENT, "title", entry.data.get("title")
    yield INCIDENT, "declared", entry.recorded_utc


def project_update(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    for key in ("title", "declared", "detected", "aware", "severity", "commander", "status"):
        if key in entry.data:
            yield INCIDENT, key, entry.data[key]


def project_evidence(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    d = entry.data
    yield (
        EVIDENCE,
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


def project_custody(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    d = entry.data
    current = get(EVIDENCE, d["evidence_id"])
    if current is None:
        return
    current["custody"] = [*current.get("custody", []), {"seq": entry.seq, "action": d["action"]}]
    yield EVIDENCE, d["evidence_id"], current


def project_anchor(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    yield JOURNAL, "last_anchor", {"seq": entry.seq, **entry.data}


def project_checkpoint(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    yield (
        JOURNAL,
        "last_checkpoint",
        {"seq": entry.seq, "tree_size": entry.data["tree_size"], "root": entry.data["root"]},
    )


# -- typed readers -----------------------------------------------------------------------------------------------


def declared_utc(journal: Journal) -> str | None:
    """When the incident was declared (RFC 3339 UTC), as last set."""
    value = journal.get_state(INCIDENT, "declared")
    return str(value) if value is not None else None


def incident_fields(journal: Journal) -> dict[str, Any]:
    """The incident's own facts (id, title, declared, detected, aware, severity, commander, status)."""
    return journal.state(INCIDENT)


def evidence_raw(journal: Journal) -> dict[str, dict[str, Any]]:
    """Every evidence item by id as derived state (for readers that pass it on unchanged)."""
    return journal.state(EVIDENCE)


def last_checkpoint(journal: Journal) -> dict[str, Any] | None:
    """The last signed checkpoint: its seq, tree size and root."""
    value = journal.get_state(JOURNAL, "last_checkpoint")
    return dict(value) if value else None


def last_anchor(journal: Journal) -> dict[str, Any] | None:
    """The last anchor taken elsewhere: its seq, tree size, root and method."""
    value = journal.get_state(JOURNAL, "last_anchor")
    return dict(value) if value else None
