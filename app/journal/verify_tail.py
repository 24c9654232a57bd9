"""Verifying only what was appended: the entries after a head a full verification passed, checked against it.

A full verification re-derives every entry and the whole derived state; at a million entries that takes tens of
seconds, too long to repeat after every append. The console verifies the full journal when it opens and on
demand, and after each burst of appends checks only the new entries: each is canonical, hashes to its stored
hash, links to the previous one (the first to the verified head, whose own hash must be unchanged), names the
same journal, and the Merkle frontier they lead to is the one stored. What a tail check cannot see (an edit
before the verified head that leaves the head's own row alone, a derived-state row changed by hand) the next
full verification does; a checkpoint among the new entries (its signed root names an earlier size) asks for one.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import rfc8785

from app.journal.canonical import jcs
from app.journal.merkle import Frontier, leaf_hash, short_root
from app.journal.verify import _DECODER, Problem, VerifyReport, Warning_, _read_only, _unreadable

COLUMNS = ("entry_id", "incident_id", "kind", "actor", "recorded_utc")


def verify_tail(path: Path, verified: VerifyReport) -> VerifyReport | None:
    """Check the entries after `verified` (a passing report with its head); None when only a full verification
    can answer (no verified head to start from, or a checkpoint among the new entries)."""
    if not verified.ok or verified.head_hash is None:
        return None
    try:
        with _read_only(path) as (conn, _note):
            return _check(conn, path, verified)
    except sqlite3.DatabaseError as exc:
        return _unreadable(path, str(exc))
    except OSError as exc:
        return _unreadable(path, exc.strerror or str(exc))


def _check(conn: sqlite3.Connection, path: Path, verified: VerifyReport) -> VerifyReport | None:
    problems: list[Problem] = []
    warnings: list[Warning_] = []
    head = bytes.fromhex(verified.head_hash or "")
    row = conn.execute("SELECT entry_hash FROM entries WHERE seq = ?", (verified.size,)).fetchone()
    if row is None or bytes(row[0]) != head:
        why = "is gone" if row is None else "has changed since it was verified"
        problems.append(Problem(seq=verified.size, reason="rewritten", detail=f"the verified last entry {why}"))
    frontier = Frontier({int(k): bytes.fromhex(v) for k, v in verified.frontier.items()}, verified.size)
    prev, prev_utc, seq = head, verified.head_utc, verified.size
    cursor = conn.execute(
        "SELECT seq, entry_id, incident_id, kind, actor, recorded_utc, body, prev_hash, entry_hash "
        "FROM entries WHERE seq > ? ORDER BY seq",
        (verified.size,),
    )
    for row in cursor if not problems else ():
        if row[3] == "checkpoint":
            return None
        seq += 1
        problem = _entry_problem(row, seq, prev, verified.journal_id)
        if problem is not None:
            problems.append(problem)
            break
        body = row[6]
        prev = leaf_hash(body)
        frontier.append(prev)
        if prev_utc is not None and row[5] < prev_utc:
            warnings.append(Warning_(seq=seq, reason="clock_regression", detail=f"recorded {row[5]} after {prev_utc}"))
        prev_utc = row[5]
    if not problems:
        stored = {level: bytes(h) for level, h in conn.execute("SELECT level, hash FROM merkle")}
        if stored != frontier.levels:
            problems.append(Problem(seq=None, reason="state_mismatch", detail="stored Merkle frontier differs"))
    report = verified.model_copy(
        update={"scope": "tail", "problems": problems, "warnings": warnings, "anchors_checked": 0}
    )
    if problems:
        first = problems[0]
        where = f"seq {first.seq}" if first.seq is not None else "journal"
        return report.model_copy(
            update={
                "ok": False,
                "exit_code": 1,
                "message": f"INTEGRITY FAILURE at {where}: {first.reason}: {first.detail}",
            }
        )
    root = frontier.root()
    return report.model_copy(
        update={
            "size": seq,
            "root": root.hex(),
            "short_root": short_root(root),
            "head_hash": prev.hex(),
            "head_utc": prev_utc,
            "frontier": {str(level): h.hex() for level, h in frontier.levels.items()},
            "message": f"intact: {seq} entries (the last {seq - verified.size} checked against the verified "
            f"head), root {short_root(root)}",
        }
    )


def _entry_problem(row: tuple, seq: int, prev: bytes, journal_id: str | None) -> Problem | None:
    """What is wrong with one new entry, or None."""
    row_seq, *cols, body, prev_col, hash_col = row
    if row_seq != seq:
        return Problem(seq=seq, reason="missing", detail=f"entries {seq}..{row_seq - 1} are missing")
    try:
        doc = _DECODER.decode(body.decode("utf-8"))
        canonical = jcs(doc) == body
    except (ValueError, TypeError, UnicodeDecodeError, rfc8785.CanonicalizationError) as exc:
        return Problem(seq=seq, reason="edited", detail=f"body is not valid JSON ({exc})")
    if doc.get("seq") != seq:
        return Problem(
            seq=seq, reason="reordered", detail=f"row {seq} holds the entry recorded as seq {doc.get('seq')}"
        )
    if not canonical:
        return Problem(seq=seq, reason="edited", detail="body is not in canonical form")
    if leaf_hash(body) != bytes(hash_col):
        return Problem(seq=seq, reason="edited", detail="entry hash does not match its body")
    if doc.get("prev") != prev.hex() or bytes(prev_col) != prev:
        return Problem(seq=seq, reason="forged", detail="entry does not link to the previous one")
    bad = [name for name, value in zip(COLUMNS, cols, strict=True) if doc.get(name) != value]
    if bad:
        return Problem(seq=seq, reason="edited", detail="columns differ from the hashed body: " + ", ".join(bad))
    if journal_id is not None and doc.get("journal_id") != journal_id:
        return Problem(seq=seq, reason="forged", detail="entry belongs to another journal")
    return None
