"""The passes over a journal's entries that `journal verify` (verify.py) starts its checks from.

`sequential` goes entry by entry and names every problem where it is: what a damaged or tampered journal
needs. `chunked` answers only for an intact journal, in chunks on worker processes (scan.py) with the replay
here, and gives up (None) at the first thing out of place, so that `sequential` names it. Both leave the same
`Walk`: the Merkle frontier, the roots at the anchors' sizes and before each checkpoint, the checkpoints, the
replayed state and where the chain ends.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

import rfc8785
from pydantic import BaseModel

from app.journal import scan
from app.journal.canonical import canonical, jcs
from app.journal.entries import ZERO_HASH, Entry
from app.journal.merkle import Frontier, leaf_hash
from app.journal.registry import Registry

_DECODER = scan.DECODER


class Problem(BaseModel):
    seq: int | None
    reason: str
    detail: str


class Warning_(BaseModel):
    seq: int | None
    reason: str
    detail: str


@dataclass
class Replay:
    registry: Registry
    state: dict[tuple[str, str], str] = field(default_factory=dict)

    def apply(self, entry: Entry) -> None:
        def get(ns: str, key: str) -> Any:
            value = self.state.get((ns, key))
            return json.loads(value) if value is not None else None

        self.registry.check_payload(entry)
        for ns, key, value in self.registry.project(entry, get):
            if value is None:
                self.state.pop((ns, key), None)
            else:
                self.state[(ns, key)] = canonical(value).decode()


@dataclass
class Walk:
    """What a pass over the entries found, for the checks that follow it."""

    problems: list[Problem]
    warnings: list[Warning_]
    frontier: Frontier
    replay: Replay
    roots_at: dict[int, bytes]
    checkpoints: list[tuple[int, dict[str, Any]]]
    genesis: dict[str, Any] | None
    prev_hash: bytes
    prev_utc: str | None
    size: int
    chain_broken: bool


def chunked(conn: sqlite3.Connection, anchor_sizes: list[int], registry: Registry, pool: scan.Workers) -> Walk | None:
    """The pass over an intact journal in chunks (app/journal/scan.py), the replay in this process while the
    workers check; None when anything is not as the journal writes it (the sequential pass then names it)."""
    file, size = scan.database_path(conn), scan.numbered(conn)
    if file is None or size is None:
        return None
    checked = scan.start(pool, conn, file, size, anchor_sizes)
    try:
        replay = replay_entries(conn, registry, size)
    except Exception:  # an entry a projector cannot take: the sequential pass names it
        return None
    found = checked()
    if found is None:
        return None
    chain, entries = found
    warnings = [
        Warning_(seq=seq, reason="clock_regression", detail=f"recorded {recorded} after {after}")
        for seq, recorded, after in entries.regressions
    ]
    return Walk(
        [],
        warnings,
        chain.frontier,
        replay,
        chain.roots_at,
        entries.checkpoints,
        entries.genesis,
        chain.head_hash,
        entries.head_utc,
        size,
        False,
    )


def replay_entries(conn: sqlite3.Connection, registry: Registry, size: int) -> Replay:
    """Replay entries 1..size of the kinds the registry projects or validates, in order (raises on an entry
    a projector or payload model refuses)."""
    replay = Replay(registry)
    kinds = sorted(registry.projected | registry.validated)
    rows = conn.execute(
        f"SELECT body, entry_hash FROM entries WHERE kind IN ({', '.join('?' * len(kinds))}) AND seq <= ? ORDER BY seq",
        (*kinds, size),
    )
    for body, entry_hash in rows:
        replay.apply(Entry.from_doc(_DECODER.decode(body.decode("utf-8")), entry_hash))
    return replay


def sequential(conn: sqlite3.Connection, anchor_sizes: list[int], registry: Registry) -> Walk:
    """Entry by entry, naming every problem: where the journal is not intact, and with `workers=0`."""
    problems: list[Problem] = []
    warnings: list[Warning_] = []
    frontier = Frontier()
    replay = Replay(registry)
    checked = registry.projected | registry.validated
    roots_at: dict[int, bytes] = {}
    want_sizes = set(anchor_sizes)
    checkpoints: list[tuple[int, dict[str, Any]]] = []
    genesis: dict[str, Any] | None = None
    prev_hash = ZERO_HASH
    prev_utc: str | None = None
    expected_seq = 1
    chain_broken = False

    cursor = conn.execute(
        "SELECT seq, entry_id, incident_id, kind, actor, recorded_utc, body, prev_hash, entry_hash "
        "FROM entries ORDER BY seq"
    )
    for seq, entry_id, incident_id, kind, actor, recorded_utc, body, prev_col, hash_col in cursor:
        if seq != expected_seq:
            problems.append(
                Problem(seq=expected_seq, reason="missing", detail=f"entries {expected_seq}..{seq - 1} are missing")
            )
            expected_seq = seq
            chain_broken = True
        try:
            doc = _DECODER.decode(body.decode("utf-8"))
            if not isinstance(doc, dict):
                raise ValueError("an entry is a JSON object")
            recanon = jcs(doc)
        except (ValueError, TypeError, UnicodeDecodeError, rfc8785.CanonicalizationError) as exc:
            problems.append(Problem(seq=seq, reason="edited", detail=f"body is not valid JSON ({exc})"))
            frontier.append(hash_col if isinstance(hash_col, bytes) else bytes(32))
            prev_hash, expected_seq = hash_col, seq + 1
            chain_broken = True
            continue
        computed = leaf_hash(body)
        body_seq = doc.get("seq")
        if body_seq != seq:
            problems.append(
                Problem(seq=seq, reason="reordered", detail=f"row {seq} holds the entry recorded as seq {body_seq}")
            )
            chain_broken = True
        elif recanon != body:
            problems.append(Problem(seq=seq, reason="edited", detail="body is not in canonical form"))
            chain_broken = True
        elif computed != hash_col:
            problems.append(Problem(seq=seq, reason="edited", detail="entry hash does not match its body"))
            chain_broken = True
        elif doc.get("prev") != prev_hash.hex() or prev_col != prev_hash:
            problems.append(
                Problem(
                    seq=seq, reason="forged", detail="entry is self-consistent but does not link to the previous one"
                )
            )
            chain_broken = True
        else:
            columns = {
                "entry_id": entry_id,
                "incident_id": incident_id,
                "kind": kind,
                "actor": actor,
                "recorded_utc": recorded_utc,
            }
            bad = [k for k, v in columns.items() if doc.get(k) != v]
            if bad:
                problems.append(
                    Problem(seq=seq, reason="edited", detail="columns differ from the hashed body: " + ", ".join(bad))
                )
        if seq == 1:
            if doc.get("kind") != "genesis" or doc.get("prev") != ZERO_HASH.hex():
                problems.append(Problem(seq=1, reason="forged", detail="first entry is not a genesis entry"))
            genesis = doc
        elif genesis is not None and doc.get("journal_id") != genesis.get("journal_id"):
            problems.append(Problem(seq=seq, reason="forged", detail="entry belongs to another journal"))

        if prev_utc is not None and doc.get("recorded_utc", "") < prev_utc:
            warnings.append(
                Warning_(
                    seq=seq, reason="clock_regression", detail=f"recorded {doc.get('recorded_utc')} after {prev_utc}"
                )
            )
        prev_utc = doc.get("recorded_utc", prev_utc)

        if doc.get("kind") == "checkpoint":
            checkpoints.append((seq, doc.get("data", {})))
            roots_at[seq - 1] = frontier.root()
        frontier.append(computed)
        if seq in want_sizes:
            roots_at[seq] = frontier.root()
        if not chain_broken and kind in checked:
            try:
                replay.apply(Entry.from_doc(doc, computed))
            except Exception as exc:  # a projector choking on an edited payload is itself evidence
                problems.append(Problem(seq=seq, reason="edited", detail=f"entry cannot be replayed ({exc})"))
                chain_broken = True
        prev_hash = hash_col if isinstance(hash_col, bytes) else computed
        expected_seq = seq + 1

    return Walk(
        problems,
        warnings,
        frontier,
        replay,
        roots_at,
        checkpoints,
        genesis,
        prev_hash,
        prev_utc,
        expected_seq - 1,
        chain_broken,
    )
