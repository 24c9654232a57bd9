"""The evidence journal: append-only, hash-chained, durable SQLite; the single source of truth.

Each entry stores the exact RFC 8785 bytes that are hashed (`body`); `entry_hash = SHA-256(0x00 || body)` is
both the chain link (the next body carries it as `prev`) and the RFC 6962 Merkle leaf. Derived state (checklist
states, facts, containment status...) lives in `state`, written by projections in the same transaction as the
entry, so opening a journal costs the same at a million entries as at one; `verify` replays and compares.
The journal knows no area: it is opened with a projector registry (app/journal/registry.py) that the
composition layer assembles.

This module is the `Journal` itself: opening, appending and reading one incident's journal. The entry format is
in entries.py, the canonical encoding in canonical.py, the SQLite file (schema, connection) in database.py, the
rows an append writes in storage.py and the error family in failures.py.

Triggers refuse UPDATE, DELETE, REPLACE and any insert that does not extend the chain; they only stop
accidents. Tampering is detected by the chain, the signed checkpoints and, above all, anchors held elsewhere.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from app import __version__
from app.base.clock import Clock
from app.base.redaction import find_secrets
from app.journal.canonical import check_json
from app.journal.database import APPLICATION_ID, USER_VERSION, connect, schema_statements
from app.journal.entries import FORMAT_VERSION, HASH_ALG, ZERO_HASH, Entry, Head
from app.journal.failures import JournalError, JournalUnreadable, SecretRefused, sqlite_failure
from app.journal.merkle import Frontier
from app.journal.registry import Registry
from app.journal.storage import apply_projections, boot_id, insert_entry, load_frontier, persist_frontier

__all__ = ["Journal"]


class Journal:
    """One incident's journal. Thread-safe: the console's workers share one instance."""

    def __init__(self, conn: sqlite3.Connection, path: Path, clock: Clock, registry: Registry) -> None:
        self._conn = conn
        self.path = path
        self.clock = clock
        self.registry = registry
        self._lock = threading.RLock()
        self._boot_id = boot_id()
        self._host = socket.gethostname()
        self._listeners: list[Callable[[Entry], None]] = []
        # (data_version, seq, entry_hash, frontier) as this connection's last append left them.
        self._cached_tip: tuple[int, int, bytes, Frontier] | None = None
        row = conn.execute("SELECT body FROM entries WHERE seq = 1").fetchone()
        if row is None:
            raise JournalUnreadable(f"{path}: journal has no genesis entry")
        genesis = json.loads(row[0])
        self.journal_id: str = genesis["journal_id"]
        self.incident_id: str = genesis["incident_id"]
        self.genesis: dict[str, Any] = genesis["data"]

    # -- opening -------------------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: Path,
        clock: Clock,
        *,
        incident_id: str,
        actor: str,
        genesis: dict[str, Any],
        registry: Registry,
        journal_id: str | None = None,
    ) -> Journal:
        """Make a new journal file with its schema and genesis entry (seq 1)."""
        if path.exists():
            raise JournalError(f"{path} already exists")
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = connect(path)
        try:
            conn.execute("BEGIN IMMEDIATE")
            for stmt in schema_statements():
                conn.execute(stmt)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {USER_VERSION}")
            journal_id = journal_id or str(uuid.uuid4())
            data = {
                "format": FORMAT_VERSION,
                "hash_alg": HASH_ALG,
                "software": f"warroom {__version__}",
                **genesis,
            }
            body, entry_hash = insert_entry(
                conn, clock, journal_id, incident_id, 1, ZERO_HASH, "genesis", actor, data, boot_id()
            )
            apply_projections(conn, registry, Entry.from_body(body, entry_hash))
            persist_frontier(conn, Frontier(), entry_hash)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.close()
            path.unlink(missing_ok=True)
            raise
        return cls(conn, path, clock, registry)

    @classmethod
    def open(cls, path: Path, clock: Clock, *, registry: Registry) -> Journal:
        if not path.is_file():
            raise JournalUnreadable(f"{path}: no such journal")
        try:
            conn = connect(path)
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise JournalUnreadable(f"{path}: unreadable ({exc})") from None
        if app_id != APPLICATION_ID:
            conn.close()
            raise JournalUnreadable(f"{path}: not a warroom journal")
        return cls(conn, path, clock, registry)

    def close(self) -> None:
        with self._lock:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._conn.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------------------------

    def subscribe(self, listener: Callable[[Entry], None]) -> None:
        """Called after each committed append (the console refreshes from it)."""
        self._listeners.append(listener)

    def append(self, kind: str, data: dict[str, Any], actor: str) -> Entry:
        """Durably append one entry and its derived-state changes in one transaction.

        Returns only after COMMIT with synchronous=FULL: a returned entry survives a crash.
        """
        return self.append_many([(kind, data, actor)])[0]

    def append_many(self, items: Iterable[tuple[str, dict[str, Any], str]]) -> list[Entry]:
        """Append several entries in one transaction: all of them are recorded, or none."""
        items = list(items)
        for kind, data, actor in items:
            if not kind or not actor:
                raise JournalError("an entry needs a kind and an actor")
            secrets = find_secrets(data)
            if secrets:
                raise SecretRefused(
                    f"refused to journal {kind}: it carries a credential at "
                    + ", ".join(secrets)
                    + "; credentials live only in the keyring"
                )
            check_json(data, "data")
            self._check_payload(kind, data)
        written: list[Entry] = []
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                version, seq, prev, frontier = self._tip(conn)
                self._cached_tip = None  # set again after COMMIT; a failure below leaves it unset
                for kind, data, actor in items:
                    seq += 1
                    body, prev = insert_entry(
                        conn,
                        self.clock,
                        self.journal_id,
                        self.incident_id,
                        seq,
                        prev,
                        kind,
                        actor,
                        data,
                        self._boot_id,
                        host=self._host,
                        checked=True,
                    )
                    entry = Entry.from_body(body, prev)
                    apply_projections(conn, self.registry, entry)
                    persist_frontier(conn, frontier, prev)
                    written.append(entry)
                conn.execute("COMMIT")
                self._cached_tip = (version, seq, prev, frontier)  # own commits leave data_version as it is
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise sqlite_failure(exc, self.path) from None
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        for entry in written:
            for listener in list(self._listeners):
                listener(entry)
        return written

    def _tip(self, conn: sqlite3.Connection) -> tuple[int, int, bytes, Frontier]:
        """SQLite's data_version, the last entry's seq and hash and the Merkle frontier, inside the write
        transaction.

        This connection's own last commit left them in memory; data_version changes only when another
        connection (another process appending to the same journal) commits, and only then are they read back
        from the file.
        """
        version = int(conn.execute("PRAGMA data_version").fetchone()[0])
        cached = self._cached_tip
        if cached is not None and cached[0] == version:
            return cached
        row = conn.execute("SELECT seq, entry_hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (row[0], row[1]) if row else (0, ZERO_HASH)
        return version, seq, prev, load_frontier(conn, seq)

    def _check_payload(self, kind: str, data: dict[str, Any]) -> None:
        model = self.registry.payload_model(kind)
        if model is None:
            return
        try:
            model.model_validate(data)
        except ValueError as exc:
            raise JournalError(f"refused to journal {kind}: its payload does not match its model ({exc})") from None

    # -- reading -------------------------------------------------------------------------------------

    def head(self) -> Head:
        with self._lock:
            row = self._conn.execute("SELECT seq, entry_hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
            frontier = load_frontier(self._conn, row[0])
        return Head(size=row[0], root=frontier.root(), head_hash=row[1].hex())

    def entries(self, kind: str | None = None, prefix: str | None = None, since: int = 0) -> Iterator[Entry]:
        sql = "SELECT body, entry_hash FROM entries WHERE seq > ?"
        params: list[Any] = [since]
        if kind:
            sql += " AND kind = ?"
            params.append(kind)
        elif prefix:
            sql += " AND kind >= ? AND kind < ?"
            params += [prefix, prefix + "\uffff"]
        sql += " ORDER BY seq"
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        for body, entry_hash in rows:
            yield Entry.from_body(body, entry_hash)

    def entry(self, seq: int) -> Entry | None:
        with self._lock:
            row = self._conn.execute("SELECT body, entry_hash FROM entries WHERE seq = ?", (seq,)).fetchone()
        return Entry.from_body(*row) if row else None

    def last(self, kind: str) -> Entry | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT body, entry_hash FROM entries WHERE kind = ? ORDER BY seq DESC LIMIT 1", (kind,)
            ).fetchone()
        return Entry.from_body(*row) if row else None

    def state(self, ns: str) -> dict[str, Any]:
        with self._lock:
            rows = self._conn.execute("SELECT key, value FROM state WHERE ns = ? ORDER BY key", (ns,)).fetchall()
        return {key: json.loads(value) for key, value in rows}

    def get_state(self, ns: str, key: str) -> Any:
        with self._lock:
            row = self._conn.execute("SELECT value FROM state WHERE ns = ? AND key = ?", (ns, key)).fetchone()
        return json.loads(row[0]) if row else None

    def size_bytes(self) -> int:
        total = 0
        for suffix in ("", "-wal"):
            p = Path(str(self.path) + suffix)
            if p.exists():
                total += p.stat().st_size
        return total

    def backup_to(self, target: Path) -> None:
        """A consistent copy through SQLite's backup API (never a raw copy of a WAL database)."""
        with self._lock:
            dest = sqlite3.connect(target)
            try:
                self._conn.backup(dest)
                dest.execute("PRAGMA journal_mode = DELETE")
            finally:
                dest.close()

    @property
    def connection(self) -> sqlite3.Connection:
        """Read access for reports and exports (sqlite-utils wraps it); never write through it."""
        return self._conn
