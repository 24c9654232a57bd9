"""`journal verify`: re-derive everything from the entries and say exactly where a journal stops being true.

Exit codes: 0 intact, 1 integrity failure (first bad seq and why), 3 unreadable. Clock regressions are
warnings. The journal is tamper-evident relative to its anchors, not tamper-proof: an insider holding the
file and the key can rewrite it consistently, and only an anchor taken earlier and kept elsewhere shows it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from app.journal import passes, scan
from app.journal.database import APPLICATION_ID, schema_statements
from app.journal.merkle import Frontier, leaf_hash, short_root
from app.journal.passes import Problem, Warning_
from app.journal.registry import Registry
from app.journal.signing import fingerprint, verify_note

REQUIRED_TABLES = ("entries", "state", "merkle")

REASONS = (
    "edited",
    "missing",
    "reordered",
    "forged",
    "truncated",
    "rewritten",
    "schema_altered",
    "state_mismatch",
)


class VerifyReport(BaseModel):
    path: str
    ok: bool
    exit_code: int
    size: int = 0
    root: str | None = None
    short_root: str | None = None
    journal_id: str | None = None
    incident_id: str | None = None
    public_key: str | None = None
    checkpoints_checked: int = 0
    anchors_checked: int = 0
    problems: list[Problem] = []
    warnings: list[Warning_] = []
    message: str = ""
    # Where an intact chain ends, so the entries appended later can be checked alone (verify_tail.py):
    # the last entry's hash, its recorded time, and the Merkle frontier (level -> hash, hex).
    head_hash: str | None = None
    head_utc: str | None = None
    frontier: dict[str, str] = {}
    scope: str = "full"  # full: every entry re-derived; tail: only the entries after a verified head


@dataclass
class Anchor:
    size: int
    root: bytes

    @classmethod
    def parse(cls, text: str) -> Anchor:
        size_s, sep, root_s = text.partition(":")
        try:
            if not sep:
                raise ValueError
            size = int(size_s)
            root = bytes.fromhex(root_s.strip())
            if size < 1 or len(root) != 32:
                raise ValueError
        except ValueError:
            raise ValueError(f"bad anchor {text!r}: expected SIZE:ROOTHEX (64 hex digits)") from None
        return cls(size, root)


def schema_fingerprint(conn: sqlite3.Connection) -> str:
    rows = conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"
    ).fetchall()
    # A damaged or edited schema row can hold a BLOB where text belongs: it is hashed as hex, so the fingerprint
    # differs (schema_altered) instead of the check stopping on it.
    return hashlib.sha256(json.dumps(rows, default=_schema_value).encode()).hexdigest()


def _schema_value(value: object) -> str:
    return value.hex() if isinstance(value, bytes) else repr(value)


def expected_fingerprint() -> str:
    mem = sqlite3.connect(":memory:")
    for stmt in schema_statements():
        mem.execute(stmt)
    try:
        return schema_fingerprint(mem)
    finally:
        mem.close()


_DECODER = scan.DECODER


def _unreadable(path: Path, why: str) -> VerifyReport:
    return VerifyReport(path=str(path), ok=False, exit_code=3, message=f"{path}: unreadable: {why}")


def verify_journal(
    path: Path,
    anchors: Iterable[Anchor],
    registry: Registry,
    *,
    workers: int | None = None,
    spare_cores: int = 0,
) -> VerifyReport:
    """Verify the journal at `path` against `anchors`, replaying its entries through `registry` (the same
    registry the journal is written with, assembled in app/composition/projections.py).

    `workers`: processes that check chunks of the chain (app/journal/scan.py); by default every core for a
    large journal (less `spare_cores`) and this process alone for a small one. 0 checks entry by entry, the
    sequential way."""
    anchors = sorted(anchors, key=lambda a: a.size)
    if not path.is_file():
        return _unreadable(path, "no such file")
    try:
        with _read_only(path) as (conn, note):
            report = _verify_open(conn, path, anchors, registry, workers, spare_cores)
    except sqlite3.DatabaseError as exc:
        return _unreadable(path, str(exc))
    except UnicodeDecodeError as exc:  # SQLite's own message about a damaged page, in bytes that are not UTF-8
        return _unreadable(path, f"damaged file: SQLite reported an error it could not spell ({exc.reason})")
    except OSError as exc:
        return _unreadable(path, exc.strerror or str(exc))
    if note:
        report.warnings.append(Warning_(seq=None, reason="read_only_media", detail=note))
    return report


@contextlib.contextmanager
def _read_only(path: Path) -> Iterator[tuple[sqlite3.Connection, str]]:
    """A read-only connection. On read-only media SQLite cannot open a WAL journal even read-only (it needs the
    shared-memory file): the journal and its WAL are then copied aside and the copy is verified; without a
    WAL the file is opened immutable. The note says which, for the report."""
    note = ""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
        conn.execute("PRAGMA application_id").fetchone()
    except sqlite3.OperationalError:
        wal = path.with_name(path.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            with tempfile.TemporaryDirectory(prefix="warroom-verify-") as tmp:
                copy = Path(tmp) / path.name
                shutil.copyfile(path, copy)
                shutil.copyfile(wal, Path(tmp) / wal.name)
                conn = sqlite3.connect(f"file:{copy}?mode=ro", uri=True, isolation_level=None)
                try:
                    yield conn, "on read-only media: the journal and its WAL were copied aside and the copy verified"
                finally:
                    conn.close()
                return
        conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, isolation_level=None)
        note = "on read-only media: opened immutable"
    try:
        yield conn, note
    finally:
        conn.close()


def _lenient_text(raw: bytes) -> str:
    """TEXT as stored, undecodable bytes escaped: a damaged or forged column then fails its hash or its check
    (altered, unreadable) instead of stopping verification with a decoding error."""
    return raw.decode("utf-8", "backslashreplace")


def _verify_open(
    conn: sqlite3.Connection,
    path: Path,
    anchors: list[Anchor],
    registry: Registry,
    workers: int | None,
    spare_cores: int = 0,
) -> VerifyReport:
    conn.text_factory = _lenient_text
    conn.execute("PRAGMA query_only = ON")
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    file = scan.database_path(conn)
    if workers is None:
        try:
            size = conn.execute("SELECT max(seq) FROM entries").fetchone()[0] or 0
            workers = scan.default_workers(size, spare_cores)
        except sqlite3.Error:
            workers = 1
    with scan.Workers(workers if file else min(workers, 1)) as pool:
        # SQLite's check of the file runs in a worker beside the chain's checks; its verdict comes first.
        pending = pool.submit(scan.sqlite_check, file) if pool.count > 1 else None

        def damaged() -> VerifyReport | None:
            rows = pending.result() if pending else [r[0] for r in conn.execute("PRAGMA integrity_check")]
            if rows != ["ok"]:
                return _unreadable(path, "SQLite integrity check failed: " + "; ".join(rows[:3]))
            if app_id != APPLICATION_ID:
                return _unreadable(path, "not a warroom journal")
            return None

        if pending is None or app_id != APPLICATION_ID:
            return damaged() or _in_snapshot(conn, path, anchors, registry, pool if workers else None)
        try:
            report = _in_snapshot(conn, path, anchors, registry, pool)
        except (sqlite3.DatabaseError, UnicodeDecodeError):
            found = damaged()
            if found is None:
                raise
            return found
        return damaged() or report


def _in_snapshot(
    conn: sqlite3.Connection, path: Path, anchors: list[Anchor], registry: Registry, pool: scan.Workers | None
) -> VerifyReport:
    conn.execute("BEGIN")  # one snapshot: entries appended while verifying are the next verification's
    try:
        return _verify(conn, path, anchors, registry, pool)
    finally:
        if conn.in_transaction:
            conn.execute("COMMIT")


def _verify(
    conn: sqlite3.Connection,
    path: Path,
    anchors: list[Anchor],
    registry: Registry,
    pool: scan.Workers | None = None,
) -> VerifyReport:
    """Everything past SQLite's own check; `pool` runs the chunked pass (None: the sequential one only)."""
    problems: list[Problem] = []
    warnings: list[Warning_] = []
    report = VerifyReport(path=str(path), ok=True, exit_code=0)

    tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
    missing = [t for t in REQUIRED_TABLES if t not in tables]
    if schema_fingerprint(conn) != expected_fingerprint():
        detail = "tables or triggers differ from the journal's schema"
        if missing:
            detail += f" (missing: {', '.join(missing)})"
        problems.append(Problem(seq=None, reason="schema_altered", detail=detail))
    if "entries" in missing:
        report.problems = problems
        report.ok, report.exit_code = False, 1
        report.message = f"INTEGRITY FAILURE at journal: schema_altered: {problems[0].detail}"
        return report

    sizes = [a.size for a in anchors]
    walk = passes.chunked(conn, sizes, registry, pool) if pool is not None else None
    if walk is None:
        walk = passes.sequential(conn, sizes, registry)
    problems += walk.problems
    warnings += walk.warnings
    frontier, replay, roots_at, checkpoints = walk.frontier, walk.replay, walk.roots_at, walk.checkpoints
    genesis, prev_hash, prev_utc, chain_broken = walk.genesis, walk.prev_hash, walk.prev_utc, walk.chain_broken
    if genesis is not None:
        report.journal_id = genesis.get("journal_id")
        report.incident_id = genesis.get("incident_id")
    size = walk.size
    report.size = size
    root = frontier.root()
    report.root = root.hex()
    report.short_root = short_root(root)

    # Checkpoints: the signed root must equal the recomputed root at that size.
    public = (genesis or {}).get("data", {}).get("public_key")
    report.public_key = public if isinstance(public, str) else None
    bound = (genesis or {}).get("data", {}).get("key_fingerprint")
    if public and bound is not None and bound != fingerprint(public):
        problems.append(Problem(seq=1, reason="forged", detail="the genesis key fingerprint does not match its key"))
    origin = f"warroom/{report.journal_id}"
    for seq, data in checkpoints:
        tree_size = data.get("tree_size")
        if not isinstance(tree_size, int) or tree_size >= seq:
            problems.append(Problem(seq=seq, reason="forged", detail="checkpoint names an impossible size"))
            continue
        report.checkpoints_checked += 1
        if public and data.get("key_fingerprint") not in (None, fingerprint(public)):
            problems.append(Problem(seq=seq, reason="forged", detail="checkpoint names another key than the genesis"))
        elif not public or not verify_note(data.get("note", ""), origin, public):
            problems.append(Problem(seq=seq, reason="forged", detail="checkpoint signature is not valid"))
        elif data.get("root") != (roots_at.get(tree_size) or _prefix_root(conn, tree_size)).hex():
            problems.append(
                Problem(
                    seq=seq,
                    reason="rewritten",
                    detail=f"checkpoint root for size {tree_size} does not match the entries",
                )
            )

    # Anchors: held elsewhere, they catch a lost tail and a consistent rewrite.
    for anchor in anchors:
        report.anchors_checked += 1
        if anchor.size > size:
            problems.append(
                Problem(
                    seq=size + 1,
                    reason="truncated",
                    detail=f"anchor says {anchor.size} entries; the journal has {size}",
                )
            )
        elif roots_at.get(anchor.size) != anchor.root:
            problems.append(
                Problem(
                    seq=anchor.size, reason="rewritten", detail=f"root at size {anchor.size} differs from the anchor"
                )
            )

    # Derived state and Merkle frontier must be exactly what the entries say.
    if not chain_broken and "state" not in missing:
        stored = {(ns, key): value for ns, key, value in conn.execute("SELECT ns, key, value FROM state")}
        if stored != replay.state:
            diff = sorted(set(stored.items()) ^ set(replay.state.items()))
            ns, key = diff[0][0]
            problems.append(
                Problem(
                    seq=None,
                    reason="state_mismatch",
                    detail=f"derived state {ns}/{key} differs from a replay of the entries",
                )
            )
    if not chain_broken and "merkle" not in missing:
        stored_front = dict(conn.execute("SELECT level, hash FROM merkle").fetchall())
        if stored_front != frontier.levels:
            problems.append(
                Problem(seq=None, reason="state_mismatch", detail="stored Merkle frontier differs from the entries")
            )

    report.problems = problems
    report.warnings = warnings
    if problems:
        first = min(problems, key=lambda p: (p.seq is None, p.seq or 0))
        report.ok = False
        report.exit_code = 1
        where = f"seq {first.seq}" if first.seq is not None else "journal"
        report.message = f"INTEGRITY FAILURE at {where}: {first.reason}: {first.detail}"
    else:
        report.message = f"intact: {size} entries, root {short_root(root)}"
        if warnings:
            report.message += f" ({len(warnings)} warning(s))"
        report.head_hash = prev_hash.hex() if size else None
        report.head_utc = prev_utc
        report.frontier = {str(level): h.hex() for level, h in frontier.levels.items()}
    return report


def _prefix_root(conn: sqlite3.Connection, size: int) -> bytes:
    frontier = Frontier()
    for (body,) in conn.execute("SELECT body FROM entries WHERE seq <= ? ORDER BY seq", (size,)):
        frontier.append(leaf_hash(body))
    return frontier.root()
