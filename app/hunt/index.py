"""The analysis database of an incident: every searchable preserved row, indexed once, so a new indicator file
is answered by index look-ups instead of re-reading every preserved log.

It is derived data, never evidence: the evidence store and the journal stay the record, and the database can be
deleted and rebuilt from them at any time (`warroom hunt-index --rebuild`). It is filled file by file, in journal
order, as evidence is recorded (the composition layer subscribes `IndexOnRecord` to the incident), and caught up
before each hunt. Rows are stored exactly as `app.evidence.rows` reads them (the `fields` JSON), so a hunt over
the index applies the same matching code to the same rows as a plain scan; the indexed columns only pick the
candidate rows. A record preserved twice (same source and Id) is stored once, from the first file, as the plain
scan yields it once.

Tables (open with sqlite-utils or Datasette, docs/forensics.md): `rows` (one per preserved row, readable
columns plus `fields`), `row_values` (normalised user, app, user-agent, id and entity values), `row_ips`, `files`
(what was indexed, in journal order) and `rows_fts` (full text over URI and query).
"""

from __future__ import annotations

import ipaddress
import json
import socket
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.base.errors import WarroomError
from app.evidence.rows import EvidenceFile, Row, evidence_files, id_key, read_file

if TYPE_CHECKING:
    from app.incident.core import EvidenceRecord, Incident

INDEX_FILE = "analysis.db"
SCHEMA_VERSION = "3"
BATCH = 2000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class IndexUnavailable(WarroomError):
    """The analysis database cannot be opened or written (it is derived: rebuild it)."""


def index_path(incident: Incident) -> Path:
    return incident.dir / INDEX_FILE


def at_us(at: datetime | None) -> int | None:
    """An instant as microseconds since the epoch (the window is compared on this column)."""
    if at is None:
        return None
    delta = at - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(us: int | None) -> datetime | None:
    """The instant `at_us` stored (None stays None)."""
    return None if us is None else _EPOCH + timedelta(microseconds=us)


def identity(row: Row) -> str | None:
    """What makes two preserved rows the same record (as the plain scan deduplicates them)."""
    if not row.record_id:
        return None
    return f"{row.source}\x1f{row.record_id}\x1f{row.line if row.text else 0}"


def ip_number(text: str) -> tuple[str | None, str | None]:
    """(canonical address, sortable "4:hex"/"6:hex" form), or (None, None) when `text` is no address."""
    text = text.strip()
    try:  # the common case, a dotted quad: inet_pton takes exactly what ipaddress does (no leading zeros)
        packed = socket.inet_pton(socket.AF_INET, text)
    except (OSError, ValueError):
        pass
    else:
        return text, f"4:{int.from_bytes(packed, 'big'):08x}"
    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        return None, None
    width = 8 if ip.version == 4 else 32
    return str(ip), f"{ip.version}:{int(ip):0{width}x}"


def _values(row: Row) -> Iterator[tuple[str, str]]:
    """(kind, value) pairs the candidate look-ups use (the same accessors the matchers call)."""
    for ua in row.user_agents():
        yield "ua", ua
    if name := row.username():  # a row just read: no directory name filled in yet
        yield "user", name
    if app := row.app():
        yield "app", app
    if uid := row.user_id():
        yield "user_id", id_key(uid)
    if aid := row.app_id():
        yield "app_id", id_key(aid)
    for entity in row.entities():
        yield "entity", entity.lower()


# Column order of the `rows` table; `_insert` writes tuples in this order with one prepared statement.
ROW_COLUMNS = (
    "id", "evidence_id", "file", "line", "event_type", "at", "at_us", "username", "user_id", "ip", "user_agent",
    "app", "entity", "api", "uri", "query", "has_query", "rows_processed", "record_id", "identity", "text", "fields",
)  # fmt: skip
_INSERT_ROWS = f"INSERT INTO rows ({', '.join(ROW_COLUMNS)}) VALUES ({', '.join('?' * len(ROW_COLUMNS))})"
_INSERT_VALUES = "INSERT INTO row_values (row_id, kind, low, exact, nonascii) VALUES (?, ?, ?, ?, ?)"
_INSERT_IPS = "INSERT INTO row_ips (row_id, ip, canon, num) VALUES (?, ?, ?, ?)"


def _row_record(rid: int, row: Row, ident: str | None) -> tuple[Any, ...]:
    """One `rows` tuple in ROW_COLUMNS order."""
    uas = row.user_agents()
    ips = row.ips()
    entities = row.entities()
    query = row.query()
    return (
        rid,
        row.evidence_id,
        row.file,
        row.line,
        row.source,
        row.at.isoformat() if row.at else None,
        at_us(row.at),
        row.username(),
        row.user_id(),
        ips[0] if ips else None,
        uas[0] if uas else None,
        row.app(),
        ",".join(entities) or None,
        row.api(),
        row.first(("URI", "Uri", "API_RESOURCE")),
        query,
        1 if (query or row.text) else 0,
        row.rows(),
        row.record_id,
        ident,
        row.text,
        json.dumps(row.fields, ensure_ascii=False),
    )


def row_from(record: dict[str, Any] | sqlite3.Row) -> Row:
    """The row exactly as `app.evidence.rows` read it from the preserved file."""
    at = from_us(record["at_us"])
    return Row(
        record["evidence_id"],
        record["file"],
        record["line"],
        record["event_type"],
        json.loads(record["fields"]),
        at=at,
        record_id=record["record_id"],
        text=record["text"],
    )


def _value_record(rid: int, kind: str, value: str) -> tuple[Any, ...]:
    """One `row_values` tuple: the value lowered, trimmed and lowered, and whether it is outside ASCII."""
    return (rid, kind, value.lower(), value.strip().lower(), 0 if value.isascii() else 1)


class HuntIndex:
    """One incident's analysis database (open, schema, incremental filling, catching up, rebuilding)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        import sqlite_utils  # loaded with the first index opened, not with every command

        try:
            conn = sqlite3.connect(path, timeout=30)
            conn.row_factory = sqlite3.Row
            self.db = sqlite_utils.Database(conn)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")  # derived data: rebuilt if a crash loses the tail
            if self._version() != SCHEMA_VERSION:
                self._create()
        except sqlite3.Error as exc:
            raise IndexUnavailable(f"{path}: cannot open the analysis database ({exc}); delete it to rebuild") from None

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> HuntIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _version(self) -> str | None:
        if "meta" not in self.db.table_names():
            return None
        row = self.db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        return row[0] if row else None

    def _create(self) -> None:
        for name in ("rows_fts", "rows", "row_values", "row_ips", "files", "meta"):
            self.db.execute(f"DROP TABLE IF EXISTS [{name}]")
        db = self.db
        db.table("meta").create({"key": str, "value": str}, pk="key")
        db.table("files").create(
            {"position": int, "evidence_id": str, "name": str, "rows": int, "present": int, "seq": int}, pk="position"
        )
        columns: dict[str, Any] = {
            "id": int, "evidence_id": str, "file": str, "line": int, "event_type": str, "at": str, "at_us": int,
            "username": str, "user_id": str, "ip": str, "user_agent": str, "app": str, "entity": str, "api": str,
            "uri": str, "query": str, "has_query": int, "rows_processed": int, "record_id": str, "identity": str,
            "text": str, "fields": str,
        }  # fmt: skip
        db.table("rows").create(columns, pk="id")
        for col in ("at_us", "username", "ip", "user_agent", "entity", "event_type", "identity"):
            db.table("rows").create_index([col])
        db.table("row_values").create({"row_id": int, "kind": str, "low": str, "exact": str, "nonascii": int})
        db.table("row_values").create_index(["kind", "exact"])
        db.table("row_ips").create({"row_id": int, "ip": str, "canon": str, "num": str})
        for col in ("ip", "canon", "num"):
            db.table("row_ips").create_index([col])
        db.table("rows").enable_fts(["uri", "query"], create_triggers=True)
        db.table("meta").insert({"key": "schema", "value": SCHEMA_VERSION})

    # -- what is indexed ----------------------------------------------------------------------------------

    def indexed(self) -> list[tuple[str, int]]:
        """(evidence id, present when indexed) of each indexed file, in the order they were indexed."""
        rows = self.db.execute("SELECT evidence_id, present FROM files ORDER BY position").fetchall()
        return [(r[0], r[1]) for r in rows]

    def totals(self) -> tuple[int, int]:
        """(files with at least one row, rows): what a hunt over the index searched."""
        row = self.db.execute("SELECT COUNT(*), COALESCE(SUM(rows), 0) FROM files WHERE rows > 0").fetchone()
        return int(row[0]), int(row[1])

    # -- filling ------------------------------------------------------------------------------------------

    def catch_up(self, incident: Incident) -> int:
        """Index the files recorded since the last catch-up, in journal order (only the journal's new entries are
        read, so following a long collection stays linear). Rebuilds when the database belongs to another
        journal or a file that was missing when indexed is now in the store. Returns the files indexed."""
        journal_id = incident.journal.journal_id
        missing = self.db.execute("SELECT evidence_id FROM files WHERE present = 0").fetchall()
        if self._meta("journal_id") not in (None, journal_id) or any(
            incident.evidence.path_for(sha).exists() for sha in self._shas([r[0] for r in missing], incident)
        ):
            self._create()
        if self._meta("journal_id") is None:
            self._set_meta("journal_id", journal_id)
        since = int(self._meta("journal_seq") or 0)
        added = 0
        for ev in evidence_files(incident, since=since):
            added += self.add_file(incident, ev)
        return added

    def _shas(self, evidence_ids: list[str], incident: Incident) -> list[str]:
        if not evidence_ids:
            return []
        known = incident.journal.state("evidence")
        return [known[e]["sha256"] for e in evidence_ids if e in known]

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        with self.db.conn:
            self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [key, value])

    def rebuild(self, incident: Incident) -> int:
        self._create()
        return self.catch_up(incident)

    def add_file(self, incident: Incident, ev: EvidenceFile) -> int:
        """One preserved file's rows, in batches, in one transaction with the journal position it brings the
        database to; a record already indexed from an earlier file is skipped. Returns 1 if the file was
        indexed now, 0 if it already was (a second acquisition of the same content, another process)."""
        present = incident.evidence.path_for(ev.sha256).exists()
        with self.db.conn:
            self.db.execute("BEGIN IMMEDIATE")  # one transaction per file (the batches are savepoints in it)
            self.db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('journal_seq', max(?, "
                "COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'journal_seq'), 0)))",
                [ev.seq],
            )
            if self.db.execute("SELECT 1 FROM files WHERE evidence_id = ?", [ev.evidence_id]).fetchone():
                return 0
            next_id = int(self.db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM rows").fetchone()[0])
            position = int(self.db.execute("SELECT COALESCE(MAX(position), 0) + 1 FROM files").fetchone()[0])
            count = 0
            pending: list[Row] = []
            for row in read_file(incident, ev):
                pending.append(row)
                if len(pending) >= BATCH:
                    next_id, added = self._insert(pending, next_id)
                    count += added
                    pending = []
            next_id, added = self._insert(pending, next_id)
            count += added
            self.db.table("files").insert(
                {"position": position, "evidence_id": ev.evidence_id, "name": ev.name, "rows": count,
                 "present": 1 if present else 0, "seq": ev.seq}
            )  # fmt: skip
        return 1

    def _insert(self, rows: list[Row], next_id: int) -> tuple[int, int]:
        if not rows:
            return next_id, 0
        idents = [identity(r) for r in rows]
        wanted = [i for i in idents if i]
        known: set[str] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            known.update(r[0] for r in self.db.execute(f"SELECT identity FROM rows WHERE identity IN ({marks})", chunk))
        out_rows: list[tuple[Any, ...]] = []
        out_values: list[tuple[Any, ...]] = []
        out_ips: list[tuple[Any, ...]] = []
        for row, ident in zip(rows, idents, strict=True):
            if ident:
                if ident in known:
                    continue
                known.add(ident)
            rid = next_id
            next_id += 1
            out_rows.append(_row_record(rid, row, ident))
            out_values.extend(_value_record(rid, kind, value) for kind, value in _values(row))
            for ip in row.ips():
                canon, num = ip_number(ip)
                out_ips.append((rid, ip.strip(), canon, num))
        # One prepared statement per table for the whole batch: sqlite-utils' insert_all caps a statement at
        # 999 parameters (45 rows of this table) and converts every value in Python first, which measured
        # more than half of the indexing time; the tables and indexes are still created with sqlite-utils.
        conn = self.db.conn
        conn.executemany(_INSERT_ROWS, out_rows)
        conn.executemany(_INSERT_VALUES, out_values)
        conn.executemany(_INSERT_IPS, out_ips)
        return next_id, len(out_rows)


def open_index(incident: Incident) -> HuntIndex:
    return HuntIndex(index_path(incident))


def current_index(incident: Incident) -> HuntIndex:
    """The incident's analysis database, caught up with every preserved file."""
    index = open_index(incident)
    try:
        index.catch_up(incident)
    except (sqlite3.Error, OSError) as exc:
        index.close()
        raise IndexUnavailable(f"{index.path}: cannot update the analysis database ({exc}); rebuild it") from None
    return index


class IndexOnRecord:
    """Subscribed to an incident by the composition layer: each recorded evidence file is indexed at once.

    A failure leaves the evidence recorded (the index is derived); the next hunt catches up."""

    def evidence_recorded(self, incident: Incident, record: EvidenceRecord) -> None:
        try:
            with current_index(incident):
                pass
        except (WarroomError, sqlite3.Error, OSError, ValueError):
            return


@dataclass(frozen=True)
class IndexStatus:
    """What `warroom hunt-index` reports: where the database is and what it holds."""

    path: str
    files: int
    rows: int
    indexed_now: int
    rebuilt: bool
    size_bytes: int


def refresh_index(incident: Incident, *, rebuild: bool = False) -> IndexStatus:
    """Catch the analysis database up with the evidence store, or (`rebuild`) make it again from nothing."""
    try:
        with open_index(incident) as index:
            done = index.rebuild(incident) if rebuild else index.catch_up(incident)
            _files, rows = index.totals()
            indexed = len(index.indexed())
    except (sqlite3.Error, OSError) as exc:
        raise IndexUnavailable(f"{index_path(incident)}: cannot write the analysis database ({exc})") from None
    path = index_path(incident)
    return IndexStatus(str(path), indexed, rows, done, rebuild, path.stat().st_size)
