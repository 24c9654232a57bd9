"""The other origins' entries as they arrived, kept append-only beside this laptop's journal (team/origins.db).

Nothing here is ever updated or deleted: an origin's entries only extend its chain (triggers refuse anything else,
as in the journal itself), each imported segment is remembered with the SHA-256 of its file so a segment changed
or removed on the remote later is seen, and what each origin said it had received when (its `seen` list) is kept
for telling concurrent changes from informed ones.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.journal.chain import connect

STORE_FILE = "origins.db"

SCHEMA = """
CREATE TABLE IF NOT EXISTS origin_entries (
  origin TEXT NOT NULL,
  seq INTEGER NOT NULL,
  body BLOB NOT NULL,
  entry_hash BLOB NOT NULL CHECK (length(entry_hash) = 32),
  PRIMARY KEY (origin, seq)
) STRICT;
CREATE TRIGGER IF NOT EXISTS origin_entries_extend BEFORE INSERT ON origin_entries
WHEN NEW.seq IS NOT (SELECT coalesce(max(seq), 0) + 1 FROM origin_entries WHERE origin = NEW.origin)
BEGIN SELECT RAISE(ABORT, 'origin_entries: must extend the origin chain'); END;
CREATE TRIGGER IF NOT EXISTS origin_entries_no_update BEFORE UPDATE ON origin_entries
BEGIN SELECT RAISE(ABORT, 'origin_entries: append-only'); END;
CREATE TRIGGER IF NOT EXISTS origin_entries_no_delete BEFORE DELETE ON origin_entries
BEGIN SELECT RAISE(ABORT, 'origin_entries: append-only'); END;
CREATE TABLE IF NOT EXISTS segments (
  origin TEXT NOT NULL,
  name TEXT NOT NULL,
  first INTEGER NOT NULL,
  last INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  PRIMARY KEY (origin, name)
) STRICT;
CREATE TRIGGER IF NOT EXISTS segments_no_update BEFORE UPDATE ON segments
BEGIN SELECT RAISE(ABORT, 'segments: append-only'); END;
CREATE TRIGGER IF NOT EXISTS segments_no_delete BEFORE DELETE ON segments
BEGIN SELECT RAISE(ABORT, 'segments: append-only'); END;
CREATE TABLE IF NOT EXISTS seen (
  origin TEXT NOT NULL,
  at INTEGER NOT NULL,
  heads TEXT NOT NULL,
  PRIMARY KEY (origin, at)
) STRICT;
"""


@dataclass(frozen=True, slots=True)
class Stored:
    """One origin entry as kept: its origin-local seq, exact body bytes and entry hash."""

    origin: str
    seq: int
    body: bytes
    entry_hash: bytes


class OriginStore:
    """team/origins.db: append-only copies of the other origins' chains, and what each had seen."""

    def __init__(self, team_dir: Path) -> None:
        team_dir.mkdir(parents=True, exist_ok=True)
        self.path = team_dir / STORE_FILE
        self._conn = connect(self.path)
        self._conn.executescript(SCHEMA)
        self._lock = threading.RLock()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> OriginStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------------------------------

    def origins(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._conn.execute("SELECT DISTINCT origin FROM origin_entries ORDER BY origin")]

    def last(self, origin: str) -> tuple[int, bytes | None]:
        """(last seq, its entry hash) of an origin; (0, None) when nothing arrived yet."""
        with self._lock:
            row = self._conn.execute(
                "SELECT seq, entry_hash FROM origin_entries WHERE origin = ? ORDER BY seq DESC LIMIT 1", (origin,)
            ).fetchone()
        return (row[0], row[1]) if row else (0, None)

    def entries(self, origin: str, since: int = 0) -> list[Stored]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT seq, body, entry_hash FROM origin_entries WHERE origin = ? AND seq > ? ORDER BY seq",
                (origin, since),
            ).fetchall()
        return [Stored(origin, seq, body, h) for seq, body, h in rows]

    def hashes(self, origin: str) -> list[bytes]:
        with self._lock:
            return [
                r[0]
                for r in self._conn.execute(
                    "SELECT entry_hash FROM origin_entries WHERE origin = ? ORDER BY seq", (origin,)
                )
            ]

    def segments(self, origin: str) -> dict[str, tuple[int, int, str]]:
        """Segment file name -> (first, last, sha256) of every segment imported from `origin`."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT name, first, last, sha256 FROM segments WHERE origin = ?", (origin,)
            ).fetchall()
        return {name: (first, last, sha) for name, first, last, sha in rows}

    def seen(self, origin: str) -> list[tuple[int, dict[str, int]]]:
        """(at, heads): after `at` of its own entries, `origin` had received each other origin up to its seq."""
        with self._lock:
            rows = self._conn.execute("SELECT at, heads FROM seen WHERE origin = ? ORDER BY at", (origin,)).fetchall()
        return [(at, json.loads(heads)) for at, heads in rows]

    # -- writing (one transaction per imported segment) -----------------------------------------------------

    def add_segment(
        self,
        origin: str,
        name: str,
        first: int,
        last: int,
        sha256: str,
        entries: list[Stored],
        seen: list[tuple[int, dict[str, Any]]],
    ) -> None:
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(
                    "INSERT INTO origin_entries (origin, seq, body, entry_hash) VALUES (?, ?, ?, ?)",
                    [(e.origin, e.seq, e.body, e.entry_hash) for e in entries],
                )
                conn.execute(
                    "INSERT INTO segments (origin, name, first, last, sha256) VALUES (?, ?, ?, ?, ?)",
                    (origin, name, first, last, sha256),
                )
                conn.executemany(
                    "INSERT OR IGNORE INTO seen (origin, at, heads) VALUES (?, ?, ?)",
                    [(origin, at, json.dumps(heads, sort_keys=True)) for at, heads in seen],
                )
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def note_seen(self, origin: str, at: int, heads: dict[str, int]) -> None:
        """This laptop (`origin`) received others up to `heads` after `at` of its own entries (the heads it had
        already noted at `at` are kept: a second import before any new entry only adds)."""
        earlier = dict(self.seen(origin))
        heads = {k: max(v, int(earlier.get(at, {}).get(k, 0))) for k, v in {**earlier.get(at, {}), **heads}.items()}
        with self._lock:
            self._conn.execute(
                "INSERT INTO seen (origin, at, heads) VALUES (?, ?, ?) "
                "ON CONFLICT (origin, at) DO UPDATE SET heads = excluded.heads",
                (origin, at, json.dumps(heads, sort_keys=True)),
            )

    def seen_between(self, origin: str, low: int, high: int) -> list[tuple[int, dict[str, int]]]:
        return [(at, heads) for at, heads in self.seen(origin) if low <= at < high]


def open_store(team_dir: Path) -> OriginStore:
    try:
        return OriginStore(team_dir)
    except sqlite3.Error as exc:
        from app.base.errors import WarroomError

        raise WarroomError(f"{team_dir / STORE_FILE}: the team store cannot be opened ({exc})", exit_code=3) from None
