"""Checking a team incident: every origin chain with its key, the segments it came in, and the merged root.

`journal verify` runs the single-journal verification on this laptop's chain and then `verify_team`: each
imported origin's entries re-hashed and re-linked from seq 1, its genesis key listed by the commander, each
segment it arrived in still on the accepted branch byte for byte and its signature valid; a problem names the
origin and the seq. The merged root (RFC 6962 over the merged order) is what laptops compare after syncing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.journal import signing
from app.journal.chain import ZERO_HASH
from app.journal.merkle import leaf_hash
from app.team import roster
from app.team.gitrepo import BRANCHES, TeamRepo
from app.team.segments import SegmentRejected, check_segment, digest, parse
from app.team.store import OriginStore, open_store

if TYPE_CHECKING:
    from app.incident.core import Incident
    from app.journal.chain import Journal
    from app.team.merged import TeamJournal


@dataclass
class TeamCheck:
    origins: int = 0
    entries: int = 0
    segments: int = 0
    merged_size: int = 0
    merged_root: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_team(incident: Incident) -> TeamCheck:
    journal = incident.journal
    check = TeamCheck()
    listed = {r.public_key for r in roster.responders(journal)} | {roster.commander_key(journal)}
    repo = TeamRepo(incident.dir / roster.TEAM_DIR / "git")
    branches = repo.refs(BRANCHES) if (repo.path / "HEAD").is_file() else {}
    with open_store(incident.dir / roster.TEAM_DIR) as store:
        for origin in store.origins():
            check.origins += 1
            hashes = _check_chain(store, origin, incident.id, listed, check)
            segs = store.segments(origin)
            files = repo.files(branches[origin]) if origin in branches else {}
            for name, (first, last, sha) in sorted(segs.items(), key=lambda kv: kv[1][0]):
                check.segments += 1
                oid = files.get(name)
                raw = repo.blob(oid) if oid else None
                if raw is None or digest(raw) != sha:
                    check.problems.append(f"origin {origin} seq {first}: segment {name} is missing or changed here")
                    continue
                try:
                    doc = parse(raw, origin, name)
                    checked = check_segment(
                        doc,
                        origin=origin,
                        name=name,
                        incident_id=incident.id,
                        known=hashes[: first - 1],
                        genesis_key=str(doc["public_key"]),
                        listed=listed.__contains__,
                    )
                except SegmentRejected as exc:
                    check.problems.append(f"origin {origin} seq {exc.seq}: {exc.reason}: {exc.detail}")
                    continue
                if [e.entry_hash for e in checked.entries] != hashes[first - 1 : last]:
                    check.problems.append(f"origin {origin} seq {first}: segment {name} is not what was imported")
    head = getattr(journal, "merged_head", None)
    if head is not None:
        size, root = head()
        check.merged_size, check.merged_root = size, root.hex()
        check.problems += [f"merged view: {p}" for p in journal.problems()]  # type: ignore[attr-defined]
    return check


def _check_chain(store: OriginStore, origin: str, incident_id: str, listed: set[str], check: TeamCheck) -> list[bytes]:
    hashes: list[bytes] = []
    prev = ZERO_HASH
    for stored in store.entries(origin):
        check.entries += 1
        doc = json.loads(stored.body)
        h = leaf_hash(stored.body)
        if h != stored.entry_hash or doc.get("prev") != prev.hex() or doc.get("seq") != stored.seq:
            check.problems.append(f"origin {origin} seq {stored.seq}: the stored chain is broken here")
            break
        if doc.get("journal_id") != origin or doc.get("incident_id") != incident_id:
            check.problems.append(f"origin {origin} seq {stored.seq}: entry of another journal or incident")
            break
        if stored.seq == 1 and doc["data"].get("public_key") not in listed:
            check.problems.append(f"origin {origin} seq 1: its key is not in the commander's responder list")
        hashes.append(h)
        prev = h
    return hashes


def origins_summary(incident: Incident) -> list[dict[str, Any]]:
    """Each responder listed, and each origin received (listed or not), with its entry count."""
    journal = incident.journal
    by_key = roster.responder_by_key(journal)
    rows: dict[str, dict[str, Any]] = {}
    for r in by_key.values():
        rows[r.public_key] = {
            "name": r.name,
            "role": r.role,
            "public_key": r.public_key,
            "fingerprint": r.fingerprint,
            "origin": None,
            "entries": 0,
            "this_laptop": False,
        }

    def row(key: str) -> dict[str, Any]:
        return rows.setdefault(
            key,
            {
                "name": None,
                "role": None,
                "public_key": key,
                "fingerprint": signing.fingerprint(key),
                "origin": None,
                "entries": 0,
                "this_laptop": False,
            },
        )

    mine = row(roster.own_key(journal))
    mine.update(origin=journal.journal_id, entries=journal.head().size, this_laptop=True)
    if (incident.dir / roster.TEAM_DIR).is_dir():
        with open_store(incident.dir / roster.TEAM_DIR) as store:
            for origin in store.origins():
                stored = store.entries(origin)
                key = str(json.loads(stored[0].body)["data"].get("public_key", ""))
                row(key).update(origin=origin, entries=len(stored))
    return list(rows.values())


def conflict_rows(journal: Journal) -> list[dict[str, Any]]:
    found = getattr(journal, "conflicts", None)
    if found is None:
        return []
    team: TeamJournal = journal  # type: ignore[assignment]
    out = []
    for c in team.conflicts():
        out.append({"ns": c.ns, "key": c.key, "winner": c.winner.__dict__, "loser": c.loser.__dict__})
    return out
