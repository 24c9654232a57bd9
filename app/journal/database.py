"""The journal's SQLite file: its schema, its identity (application_id, user_version) and how to connect.

Triggers refuse UPDATE, DELETE, REPLACE and any insert that does not extend the chain; they only stop
accidents. `verify` fingerprints the schema statements, and every connection (the journal's, the team store's,
the benchmarks') gets the same durability settings from `connect`.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

__all__ = ["APPLICATION_ID", "SCHEMA", "USER_VERSION", "connect", "schema_statements"]

APPLICATION_ID = 1465010737  # 'WRJ1'
USER_VERSION = 1

SCHEMA = """
CREATE TABLE entries (
  seq INTEGER PRIMARY KEY,
  entry_id TEXT NOT NULL UNIQUE,
  incident_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  actor TEXT NOT NULL,
  recorded_utc TEXT NOT NULL,
  mono_ns INTEGER NOT NULL,
  boot_id TEXT NOT NULL,
  body BLOB NOT NULL,
  prev_hash BLOB NOT NULL UNIQUE CHECK (length(prev_hash) = 32),
  entry_hash BLOB NOT NULL UNIQUE CHECK (length(entry_hash) = 32)
) STRICT;
CREATE INDEX entries_kind ON entries(kind, seq);
CREATE TRIGGER entries_extend BEFORE INSERT ON entries
WHEN NEW.seq IS NOT (SELECT coalesce(max(seq), 0) + 1 FROM entries)
  OR NEW.prev_hash IS NOT coalesce((SELECT entry_hash FROM entries WHERE seq = NEW.seq - 1), zeroblob(32))
BEGIN SELECT RAISE(ABORT, 'entries: must extend chain'); END;
CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'entries: append-only'); END;
CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'entries: append-only'); END;
CREATE TABLE state (
  ns TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (ns, key)
) STRICT;
CREATE TABLE merkle (
  level INTEGER PRIMARY KEY,
  hash BLOB NOT NULL CHECK (length(hash) = 32)
) STRICT;
"""


def schema_statements() -> list[str]:
    """The journal's schema as separate statements (trigger bodies whole); `verify` fingerprints it."""
    statements, buf = [], []
    for line in SCHEMA.strip().splitlines():
        buf.append(line)
        joined = "\n".join(buf).strip()
        if sqlite3.complete_statement(joined):
            statements.append(joined)
            buf = []
    return statements


def connect(path: Path, *, timeout: float = 10.0) -> sqlite3.Connection:
    """A connection with the durability settings every journal connection must have."""
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA recursive_triggers = ON")
    conn.execute("PRAGMA trusted_schema = OFF")
    conn.execute("PRAGMA cell_size_check = ON")
    if hasattr(os, "F_FULLFSYNC"):  # macOS: plain fsync does not flush the drive cache
        conn.execute("PRAGMA fullfsync = ON")
        conn.execute("PRAGMA checkpoint_fullfsync = ON")
    return conn
