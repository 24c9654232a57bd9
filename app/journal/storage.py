"""The rows one append writes inside its transaction: the entry, the Merkle frontier and the derived state.

Apart from the `Journal` class because creating a journal (the genesis entry) and appending share them, and
tests insert a correctly chained entry with raw SQL through `insert_entry` to prove the replay catches it.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import uuid
from pathlib import Path
from typing import Any

from app.base.clock import Clock, format_instant
from app.journal.canonical import canonical
from app.journal.entries import Entry, build_body
from app.journal.merkle import Frontier, leaf_hash
from app.journal.registry import Registry

__all__ = ["apply_projections", "boot_id", "insert_entry", "load_frontier", "persist_frontier"]


def boot_id() -> str:
    """This boot's identity (Linux), so monotonic times are compared only within one boot."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown"


def insert_entry(
    conn: sqlite3.Connection,
    clock: Clock,
    journal_id: str,
    incident_id: str,
    seq: int,
    prev: bytes,
    kind: str,
    actor: str,
    data: dict[str, Any],
    boot_id: str,
    host: str | None = None,
    checked: bool = False,
) -> tuple[bytes, bytes]:
    """Insert one chained entry row; returns its body and hash (the next entry's `prev`)."""
    entry_id = str(uuid.uuid4())
    recorded = format_instant(clock.now())
    mono = clock.monotonic_ns()
    body = build_body(
        journal_id=journal_id,
        incident_id=incident_id,
        seq=seq,
        prev=prev,
        entry_id=entry_id,
        kind=kind,
        actor=actor,
        recorded_utc=recorded,
        mono_ns=mono,
        boot_id=boot_id,
        host=host or socket.gethostname(),
        data=data,
        checked=checked,
    )
    entry_hash = leaf_hash(body)
    conn.execute(
        "INSERT INTO entries (seq, entry_id, incident_id, kind, actor, recorded_utc, mono_ns, boot_id, body, "
        "prev_hash, entry_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (seq, entry_id, incident_id, kind, actor, recorded, mono, boot_id, body, prev, entry_hash),
    )
    return body, entry_hash


def load_frontier(conn: sqlite3.Connection, size: int) -> Frontier:
    rows = conn.execute("SELECT level, hash FROM merkle").fetchall()
    return Frontier({level: h for level, h in rows}, size)


def persist_frontier(conn: sqlite3.Connection, frontier: Frontier, leaf: bytes) -> None:
    """Store the frontier's change: an append folds levels 0..k-1 into level k (one statement each way)."""
    changes = frontier.append(leaf)
    top, top_hash = changes[-1]
    if top > 0:
        conn.execute("DELETE FROM merkle WHERE level < ?", (top,))
    conn.execute("INSERT OR REPLACE INTO merkle (level, hash) VALUES (?, ?)", (top, top_hash))


def apply_projections(conn: sqlite3.Connection, registry: Registry, entry: Entry) -> None:
    """Write the entry's derived-state changes (inside the caller's transaction)."""

    def get(ns: str, key: str) -> Any:
        row = conn.execute("SELECT value FROM state WHERE ns = ? AND key = ?", (ns, key)).fetchone()
        return json.loads(row[0]) if row else None

    for ns, key, value in registry.project(entry, get):
        if value is None:
            conn.execute("DELETE FROM state WHERE ns = ? AND key = ?", (ns, key))
        else:
            conn.execute(
                "INSERT INTO state (ns, key, value, seq) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, seq = excluded.seq",
                (ns, key, canonical(value).decode(), entry.seq),
            )
