"""Verifying a journal in chunks, on every core: the fast path of `journal verify` for a journal that is intact.

Verification does three kinds of work, in this order of cost per entry. Integrity: every body hashes to its
stored hash and carries, as written, the hash of the entry before it (the chain), and the hashes build the
Merkle root that checkpoints sign and anchors hold. Form: every body is canonical JSON whose seq, link and
columns agree with its row, in the genesis' journal. Replay: the entries, in order, re-derive the stored state.

Integrity and form are per entry, so the chain is cut into chunks of 2**k entries, each checked in a worker
process from the entry before it; a chunk's hashes form one perfect Merkle subtree, and the subtrees join in
order into the tree (app/journal/merkle.py). SQLite's own integrity check of the file runs in a worker beside
them. Replay depends on every entry before it and stays in the verifying process (passes.py), while the
workers check the form.

A chunk only answers "intact" or "not": at the first thing that is not as the journal writes it, the chunked
pass gives up and the sequential pass (passes.py) names every problem exactly. A damaged or tampered journal
is verified as before; an intact one on the cores it may use.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, Generic, Protocol, TypeVar

from app.journal.canonical import is_canonical
from app.journal.entries import ZERO_HASH
from app.journal.merkle import Frontier, frontier_after, subtree_levels

PARALLEL_FROM = 20_000  # entries; below this, starting worker processes costs more than it saves
MIN_CHUNK = 1 << 10
MAX_CHUNK = 1 << 16
_ZERO_HEX = ZERO_HASH.hex()
_PREV_KEY = b',"prev":"'
_T = TypeVar("_T")
_T_co = TypeVar("_T_co", covariant=True)


class NotIntact(Exception):
    """Something in a chunk is not as the journal writes it: the sequential check must name it."""


def _no_float(text: str) -> Any:
    raise ValueError(f"number {text} is not an integer; the journal never writes floats")


DECODER = json.JSONDecoder(parse_float=_no_float, parse_constant=_no_float)


def connect_ro(path: str) -> sqlite3.Connection:
    """Read-only, as verify.py opens the journal: immutable only where read-only media refuse a WAL reader."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
        conn.execute("PRAGMA application_id").fetchone()
    except sqlite3.OperationalError:
        conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, isolation_level=None)
    conn.execute("PRAGMA query_only = ON")
    return conn


def sqlite_check(path: str) -> list[str]:
    """SQLite's check of the file itself (pages, b-trees, indexes against their tables): ["ok"] when sound."""
    conn = connect_ro(path)
    conn.text_factory = lambda raw: raw.decode("utf-8", "backslashreplace")
    try:
        return [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]
    finally:
        conn.close()


# -- the work of one chunk (run in a worker process) -------------------------------------------------


@dataclass(frozen=True, slots=True)
class Chunk:
    path: str
    first: int  # seq of the chunk's first entry: chunks start after a multiple of their size
    last: int
    sizes: tuple[int, ...] = ()  # tree sizes inside this chunk whose root is asked for


@dataclass(slots=True)
class ChunkHashes:
    frontier: dict[int, bytes]  # the chunk's own perfect subtrees
    at: dict[int, dict[int, bytes]]  # tree size -> the chunk's frontier at that size
    last_hash: bytes


@dataclass(slots=True)
class ChunkForm:
    checkpoints: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    regressions: list[tuple[int, str, str]] = field(default_factory=list)  # seq, recorded, after
    last_utc: str | None = None


FULL_ROW = "seq, entry_id, incident_id, kind, actor, recorded_utc, body, prev_hash, entry_hash"
_LINK = itemgetter(6, 7, 8)  # body, prev_hash, entry_hash of a FULL_ROW


def _read(chunk: Chunk, before: str, columns: str) -> tuple[tuple[Any, ...] | None, list[tuple[Any, ...]]]:
    """Columns `before` of the entry before the chunk (None for the first chunk) and the chunk's rows."""
    conn = connect_ro(chunk.path)
    try:
        prior = conn.execute(f"SELECT {before} FROM entries WHERE seq = ?", (chunk.first - 1,)).fetchone()
        rows = conn.execute(
            f"SELECT {columns} FROM entries WHERE seq BETWEEN ? AND ? ORDER BY seq", (chunk.first, chunk.last)
        ).fetchall()
    finally:
        conn.close()
    if (prior is None) != (chunk.first == 1):
        raise NotIntact(f"entry {chunk.first - 1} is missing")
    if len(rows) != chunk.last - chunk.first + 1:  # seq is the rowid: as many rows means exactly these seqs
        raise NotIntact(f"entries {chunk.first}..{chunk.last}: some are missing")
    return prior, rows


def chunk_hashes(chunk: Chunk) -> ChunkHashes:
    """Integrity of one chunk alone (reading only what it needs)."""
    prior, rows = _read(chunk, "entry_hash", "body, prev_hash, entry_hash")
    return _hashes(rows, chunk, ZERO_HASH if prior is None else prior[0])


def chunk_form(chunk: Chunk, journal_id: str) -> ChunkForm:
    """Form of one chunk alone."""
    prior, rows = _read(chunk, "recorded_utc", FULL_ROW)
    return _form(rows, journal_id, None if prior is None else prior[0])


def chunk_check(chunk: Chunk, journal_id: str) -> tuple[ChunkHashes, ChunkForm]:
    """Integrity and form of one chunk, from one reading of its rows (what `journal verify` runs)."""
    prior, rows = _read(chunk, "entry_hash, recorded_utc", FULL_ROW)
    prev, prev_utc = (ZERO_HASH, None) if prior is None else prior
    return _hashes(map(_LINK, rows), chunk, prev), _form(rows, journal_id, prev_utc)


def _hashes(links: Iterable[tuple[Any, ...]], chunk: Chunk, prev: bytes) -> ChunkHashes:
    """Each body hashes to its stored hash and carries the hash of the entry before it, which is also its
    `prev_hash` column; the chunk's Merkle subtrees and the frontiers at `chunk.sizes`."""
    sha256 = hashlib.sha256
    leaves: list[bytes] = []
    for body, prev_col, hash_col in links:
        if type(body) is not bytes:
            raise NotIntact(f"entry {chunk.first + len(leaves)}: body is not bytes")
        digest = sha256(b"\x00" + body).digest()
        at = body.rfind(_PREV_KEY) + 9
        if digest != hash_col or prev_col != prev or not body.startswith(prev.hex().encode(), at):
            raise NotIntact(f"entry {chunk.first + len(leaves)}: hash or link")
        leaves.append(digest)
        prev = digest
    levels = subtree_levels(leaves)
    return ChunkHashes(
        frontier_after(levels, len(leaves)),
        {size: frontier_after(levels, size - chunk.first + 1) for size in chunk.sizes},
        prev,
    )


def _form(rows: list[tuple[Any, ...]], journal_id: str, prev_utc: str | None) -> ChunkForm:
    """Each body is the canonical JSON of an entry of this journal that agrees with its row (FULL_ROW);
    collects the checkpoints and the clock regressions on the way."""
    found = ChunkForm()
    scan_once = DECODER.scan_once  # type: ignore[attr-defined]  # the C scanner json.loads itself uses
    for seq, entry_id, incident_id, kind, actor, recorded_utc, body, prev_col, _hash in rows:
        try:
            text = body.decode("utf-8")
            doc, end = scan_once(text, 0)  # the decoder's own scanner, without its whitespace skipping
            if end != len(text) or type(doc) is not dict:
                raise NotIntact(f"entry {seq}: not one JSON object")
            canonical = is_canonical(doc, body, text)
        except (ValueError, TypeError, UnicodeDecodeError, AttributeError, StopIteration):
            raise NotIntact(f"entry {seq}: not JSON") from None
        if (
            not canonical
            or doc.get("seq") != seq
            or doc.get("prev") != prev_col.hex()
            or doc.get("journal_id") != journal_id
            or doc.get("entry_id") != entry_id
            or doc.get("incident_id") != incident_id
            or doc.get("kind") != kind
            or doc.get("actor") != actor
            or doc.get("recorded_utc") != recorded_utc
            or (seq == 1 and (kind != "genesis" or doc.get("prev") != _ZERO_HEX))
        ):
            raise NotIntact(f"entry {seq}: form")
        if prev_utc is not None and recorded_utc < prev_utc:
            found.regressions.append((seq, recorded_utc, prev_utc))
        prev_utc = recorded_utc
        if kind == "checkpoint":
            found.checkpoints.append((seq, doc.get("data", {})))
    found.last_utc = prev_utc
    return found


# -- running chunks: in worker processes, or here --------------------------------------------------


class Pending(Protocol[_T_co]):
    def result(self) -> _T_co: ...


class _Later(Generic[_T]):
    """A task run here, when its result is first asked for."""

    def __init__(self, fn: Callable[..., _T], args: tuple[Any, ...]) -> None:
        self._fn, self._args = fn, args

    def result(self) -> _T:
        return self._fn(*self._args)


class Workers:
    """Worker processes for a verification, or none (tasks then run in this process, in order)."""

    def __init__(self, count: int) -> None:
        self.count = max(count, 1)
        self._pool: ProcessPoolExecutor | None = None
        if self.count > 1:
            # fork is cheap, but forking a process that runs other threads can copy a lock one of them holds.
            # The workers are forked here, before the verifying connection begins its read transaction, so none
            # inherits a lock it believes it holds; each opens its own connection (an SQLite connection must not
            # cross a fork).
            method = "fork" if threading.active_count() == 1 and os.name == "posix" else "spawn"
            self._pool = ProcessPoolExecutor(max_workers=self.count, mp_context=multiprocessing.get_context(method))
            try:
                self._pool.submit(os.getpid)  # with fork, every worker process starts on the first task
            except (OSError, RuntimeError, AssertionError):  # no child processes here (a daemon, no resources)
                self.close()

    def submit(self, fn: Callable[..., _T], *args: Any) -> Pending[_T]:
        if self._pool is not None:
            try:
                future: Future[_T] = self._pool.submit(fn, *args)
                return future
            except (OSError, RuntimeError, AssertionError):  # no child processes here (a daemon, no resources)
                self.close()
        return _Later(fn, args)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def default_workers(size: int, spare: int = 0) -> int:
    """Every core this process may use, less `spare`, for a large journal; this process alone for a small one."""
    if size < PARALLEL_FROM:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, cores - spare)


def plan(path: str, size: int, workers: int, sizes: Iterable[int] = ()) -> list[Chunk]:
    """Chunks of a power-of-two size, about four per worker so they finish together."""
    chunk = MIN_CHUNK
    while chunk < MAX_CHUNK and chunk * 2 * workers * 4 <= size:
        chunk *= 2
    wanted = sorted(set(sizes))
    return [
        Chunk(path, first, min(first + chunk - 1, size), tuple(s for s in wanted if first <= s < first + chunk))
        for first in range(1, size + 1, chunk)
    ]


# -- the two passes ------------------------------------------------------------------------------------


@dataclass(slots=True)
class Hashes:
    """The integrity pass over an intact chain."""

    size: int
    frontier: Frontier
    roots_at: dict[int, bytes]
    head_hash: bytes


@dataclass(slots=True)
class Form:
    """The form pass over an intact chain."""

    genesis: dict[str, Any]
    checkpoints: list[tuple[int, dict[str, Any]]]
    regressions: list[tuple[int, str, str]]
    head_utc: str | None


def numbered(conn: sqlite3.Connection) -> int | None:
    """The number of entries when they are numbered 1..n without a gap (else the sequential check names it)."""
    count, low, high = conn.execute("SELECT count(*), min(seq), max(seq) FROM entries").fetchone()
    return count if count and low == 1 and high == count else None


def _sizes(conn: sqlite3.Connection, size: int, anchors: Iterable[int]) -> list[int]:
    """The tree sizes whose root verify compares: the anchors' and the one before each checkpoint."""
    checkpoints = [seq - 1 for (seq,) in conn.execute("SELECT seq FROM entries WHERE kind = 'checkpoint'")]
    return [s for s in (*anchors, *checkpoints) if 1 <= s <= size]


def _genesis(conn: sqlite3.Connection) -> dict[str, Any] | None:
    row = conn.execute("SELECT body FROM entries WHERE seq = 1").fetchone()
    try:
        genesis = DECODER.decode(bytes(row[0]).decode("utf-8"))
    except (ValueError, TypeError, UnicodeDecodeError):
        return None
    return genesis if type(genesis) is dict and isinstance(genesis.get("journal_id"), str) else None


def _join_hashes(chunks: Iterable[ChunkHashes], size: int) -> Hashes:
    frontier = Frontier()
    found = Hashes(size, frontier, {}, ZERO_HASH)
    for done in chunks:
        for at, local in done.at.items():
            here = Frontier(dict(frontier.levels), frontier.size)
            here.extend(local)
            found.roots_at[at] = here.root()
        frontier.extend(done.frontier)
        found.head_hash = done.last_hash
    return found


def _join_form(chunks: Iterable[ChunkForm], genesis: dict[str, Any]) -> Form:
    found = Form(genesis, [], [], None)
    for done in chunks:
        found.checkpoints += done.checkpoints
        found.regressions += done.regressions
        found.head_utc = done.last_utc
    return found


def _waiting(pending: list[Pending[_T]]) -> Iterable[_T]:
    return (task.result() for task in pending)


def start_hashes(
    workers: Workers, conn: sqlite3.Connection, path: str, size: int, anchors: Iterable[int] = ()
) -> Callable[[], Hashes | None]:
    """Start the integrity pass alone over entries 1..size: the chain, and the Merkle roots at the anchors'
    sizes and before each checkpoint. The returned call waits for it (None: not as the journal writes it)."""
    chunks = plan(path, size, workers.count, _sizes(conn, size, anchors))
    pending = [workers.submit(chunk_hashes, chunk) for chunk in chunks]

    def wait() -> Hashes | None:
        try:
            return _join_hashes(_waiting(pending), size)
        except Exception:  # not intact, unreadable, or a worker that died: nothing proven either way
            return None

    return wait


def start_form(workers: Workers, conn: sqlite3.Connection, path: str, size: int) -> Callable[[], Form | None]:
    """Start the form pass alone over entries 1..size; the returned call waits for it (None: not intact)."""
    genesis = _genesis(conn)
    if genesis is None:
        return lambda: None
    pending = [workers.submit(chunk_form, chunk, genesis["journal_id"]) for chunk in plan(path, size, workers.count)]

    def wait() -> Form | None:
        try:
            return _join_form(_waiting(pending), genesis)
        except Exception:
            return None

    return wait


def start(
    workers: Workers, conn: sqlite3.Connection, path: str, size: int, anchors: Iterable[int] = ()
) -> Callable[[], tuple[Hashes, Form] | None]:
    """Start both passes over entries 1..size, each chunk read once (what `journal verify` runs); the returned
    call waits for them (None: something is not as the journal writes it)."""
    genesis = _genesis(conn)
    if genesis is None:
        return lambda: None
    chunks = plan(path, size, workers.count, _sizes(conn, size, anchors))
    pending = [workers.submit(chunk_check, chunk, genesis["journal_id"]) for chunk in chunks]

    def wait() -> tuple[Hashes, Form] | None:
        try:
            done = [task.result() for task in pending]
            return _join_hashes((h for h, _ in done), size), _join_form((f for _, f in done), genesis)
        except Exception:
            return None

    return wait


def database_path(conn: sqlite3.Connection) -> str | None:
    """The file `conn` has open (the journal, or its copy on writable storage)."""
    for _seq, name, filename in conn.execute("PRAGMA database_list"):
        if name == "main" and filename:
            return str(filename)
    return None
