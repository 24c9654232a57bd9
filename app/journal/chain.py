"""The evidence journal: append-only, hash-chained, durable SQLite; the single source of truth.

Each entry stores the exact RFC 8785 bytes that are hashed (`body`); `entry_hash = SHA-256(0x00 || body)` is
both the chain link (the next body carries it as `prev`) and the RFC 6962 Merkle leaf. Derived state (checklist
states, facts, containment status...) lives in `state`, written by projections in the same transaction as the
entry, so opening a journal costs the same at a million entries as at one; `verify` replays and compares.
The journal knows no area: it is opened with a projector registry (app/journal/registry.py) that the
composition layer assembles.

Triggers refuse UPDATE, DELETE, REPLACE and any insert that does not extend the chain; they only stop
accidents. Tampering is detected by the chain, the signed checkpoints and, above all, anchors held elsewhere.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rfc8785

from app import __version__
from app.base.clock import Clock, format_instant
from app.base.errors import WarroomError
from app.base.redaction import find_secrets
from app.journal.merkle import Frontier, leaf_hash, short_root
from app.journal.registry import Lookup, Projector, Registry

__all__ = [
    "APPLICATION_ID",
    "SCHEMA",
    "ZERO_HASH",
    "Entry",
    "Head",
    "Journal",
    "JournalError",
    "JournalUnreadable",
    "Lookup",
    "Projector",
    "Registry",
    "SecretRefused",
    "build_body",
    "canonical",
    "connect",
    "jcs",
    "schema_statements",
]

APPLICATION_ID = 1465010737  # 'WRJ1'
USER_VERSION = 1
FORMAT_VERSION = 1
HASH_ALG = "sha256"
ZERO_HASH = bytes(32)
MAX_SAFE_INT = 2**53 - 1

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


class JournalError(WarroomError):
    """The journal could not be written; nothing was recorded."""


class JournalUnreadable(WarroomError):
    exit_code = 3


class SecretRefused(WarroomError):
    """An entry carried something that looks like a credential: refused, nothing recorded."""


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    entry_id: str
    kind: str
    actor: str
    recorded_utc: str
    data: dict[str, Any]
    entry_hash: str
    prev_hash: str

    @classmethod
    def from_body(cls, body: bytes, entry_hash: bytes) -> Entry:
        return cls.from_doc(json.loads(body), entry_hash)

    @classmethod
    def from_doc(cls, doc: dict[str, Any], entry_hash: bytes) -> Entry:
        return cls(
            seq=doc["seq"],
            entry_id=doc["entry_id"],
            kind=doc["kind"],
            actor=doc["actor"],
            recorded_utc=doc["recorded_utc"],
            data=doc["data"],
            entry_hash=entry_hash.hex(),
            prev_hash=doc["prev"],
        )


@dataclass(frozen=True, slots=True)
class Head:
    size: int
    root: bytes
    head_hash: str

    @property
    def root_hex(self) -> str:
        return self.root.hex()

    @property
    def short(self) -> str:
        return short_root(self.root)

    @property
    def anchor(self) -> str:
        return f"{self.size}:{self.root.hex()}"


def canonical(obj: Any) -> bytes:
    """RFC 8785 bytes; floats and unsafe integers are refused so every verifier re-derives the same bytes."""
    _check_json(obj, "data")
    return jcs(obj)


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def jcs(obj: Any) -> bytes:
    """RFC 8785 serialisation of float-free JSON, on the C json encoder where it is provably identical.

    For strings, ints, bools, null, lists and objects, sorted-key compact `json.dumps` without ASCII escaping
    produces exactly the JCS bytes, except that JCS orders keys by UTF-16 code units, which differs from code
    point order only for characters outside the BMP: those (rare) documents go through `rfc8785`.
    """
    try:
        text = _ENCODER.encode(obj)
        if text.isascii() or not _ASTRAL.search(text):
            return text.encode("utf-8")
    except (UnicodeEncodeError, ValueError, TypeError):
        pass
    return rfc8785.dumps(obj)


def is_canonical(doc: Any, body: bytes, text: str) -> bool:
    """Whether `body`, whose UTF-8 text is `text`, is exactly `jcs(doc)` (for ASCII text the C encoder's output
    is already the RFC 8785 form, so the text is compared as it is)."""
    if text.isascii():
        return _ENCODER.encode(doc) == text
    return jcs(doc) == body


def _check_json(obj: Any, path: str) -> None:
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return
    if isinstance(obj, int):
        if abs(obj) > MAX_SAFE_INT:
            raise JournalError(f"{path}: integer {obj} is too large for canonical JSON; store it as a string")
        return
    if isinstance(obj, float):
        raise JournalError(f"{path}: floats are not journaled (not reproducible); store {obj!r} as a string")
    if isinstance(obj, dict):
        for key, value in obj.items():
            if not isinstance(key, str):
                raise JournalError(f"{path}: key {key!r} is not a string")
            _check_json(value, f"{path}.{key}")
        return
    if isinstance(obj, list | tuple):
        for i, value in enumerate(obj):
            _check_json(value, f"{path}[{i}]")
        return
    raise JournalError(f"{path}: {type(obj).__name__} is not JSON")


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown"


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


def _sqlite_failure(exc: sqlite3.Error, path: Path) -> JournalError:
    text = str(exc)
    if "full" in text:
        why = "the disk is full"
    elif "locked" in text or "busy" in text:
        why = "another process holds the journal lock"
    elif "readonly" in text or "read-only" in text:
        why = "the journal file is read-only"
    else:
        why = text
    return JournalError(f"journal {path}: write failed ({why}); nothing was recorded")


class Journal:
    """One incident's journal. Thread-safe: the console's workers share one instance."""

    def __init__(self, conn: sqlite3.Connection, path: Path, clock: Clock, registry: Registry) -> None:
        self._conn = conn
        self.path = path
        self.clock = clock
        self.registry = registry
        self._lock = threading.RLock()
        self._boot_id = _boot_id()
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
            body, entry_hash = _insert(
                conn, clock, journal_id, incident_id, 1, ZERO_HASH, "genesis", actor, data, _boot_id()
            )
            _apply(conn, registry, Entry.from_body(body, entry_hash))
            _persist_frontier(conn, Frontier(), entry_hash)
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
            _check_json(data, "data")
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
                    body, prev = _insert(
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
                    _apply(conn, self.registry, entry)
                    _persist_frontier(conn, frontier, prev)
                    written.append(entry)
                conn.execute("COMMIT")
                self._cached_tip = (version, seq, prev, frontier)  # own commits leave data_version as it is
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise _sqlite_failure(exc, self.path) from None
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
        return version, seq, prev, _load_frontier(conn, seq)

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
            frontier = _load_frontier(self._conn, row[0])
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


def build_body(
    *,
    journal_id: str,
    incident_id: str,
    seq: int,
    prev: bytes,
    entry_id: str,
    kind: str,
    actor: str,
    recorded_utc: str,
    mono_ns: int,
    boot_id: str,
    host: str,
    data: dict[str, Any],
    checked: bool = False,
) -> bytes:
    """The canonical bytes of one entry; `checked` when `data` already passed the float/integer check."""
    return (jcs if checked else canonical)(
        {
            "v": FORMAT_VERSION,
            "journal_id": journal_id,
            "incident_id": incident_id,
            "seq": seq,
            "prev": prev.hex(),
            "entry_id": entry_id,
            "kind": kind,
            "actor": actor,
            "recorded_utc": recorded_utc,
            "mono_ns": str(mono_ns),
            "boot_id": boot_id,
            "host": host,
            "data": data,
        }
    )


def _insert(
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


def _load_frontier(conn: sqlite3.Connection, size: int) -> Frontier:
    rows = conn.execute("SELECT level, hash FROM merkle").fetchall()
    return Frontier({level: h for level, h in rows}, size)


def _persist_frontier(conn: sqlite3.Connection, frontier: Frontier, leaf: bytes) -> None:
    """Store the frontier's change: an append folds levels 0..k-1 into level k (one statement each way)."""
    changes = frontier.append(leaf)
    top, top_hash = changes[-1]
    if top > 0:
        conn.execute("DELETE FROM merkle WHERE level < ?", (top,))
    conn.execute("INSERT OR REPLACE INTO merkle (level, hash) VALUES (?, ?)", (top, top_hash))


def _apply(conn: sqlite3.Connection, registry: Registry, entry: Entry) -> None:
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
