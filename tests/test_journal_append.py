"""The append path keeps the chain head and the Merkle frontier in memory between its own commits: another
writer's commit in between, a failed append and the stored frontier must all still give one verified chain."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from app.base.clock import FrozenClock
from app.composition.projections import REGISTRY
from app.composition.verification import verify
from app.journal.chain import Journal, JournalError
from app.journal.merkle import Frontier
from tests.test_journal import make_incident


def test_two_writers_in_turn_keep_one_chain(home: Path, clock: FrozenClock, mem_keyring: Any) -> None:
    inc = make_incident(home, clock, mem_keyring, notes=1)
    path = inc.journal.path
    inc.close()
    first = Journal.open(path, clock, registry=REGISTRY)
    second = Journal.open(path, clock, registry=REGISTRY)
    seqs = []
    for i in range(40):  # 40 appends cross every frontier level up to 5, in turns of varying length
        writer = first if (i // (1 + i % 3)) % 2 == 0 else second
        seqs.append(writer.append("note", {"text": f"turn {i}"}, "tester").seq)
    assert seqs == list(range(seqs[0], seqs[0] + 40))
    assert first.head() == second.head()
    first.close()
    second.close()
    report = verify(path)
    assert report.ok, report.message
    stored = sqlite3.connect(path).execute("SELECT level, hash FROM merkle").fetchall()
    assert dict(stored) == {int(k): bytes.fromhex(v) for k, v in report.frontier.items()}


def test_a_failed_append_leaves_nothing_in_memory(home: Path, clock: FrozenClock, mem_keyring: Any) -> None:
    inc = make_incident(home, clock, mem_keyring, notes=2)
    journal = inc.journal
    journal.append("note", {"text": "before"}, "tester")
    conn = journal.connection
    conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")
    with pytest.raises(JournalError):
        for _ in range(50):
            journal.append("note", {"text": "x" * 3000}, "tester")
    conn.execute("PRAGMA max_page_count = 1073741823")
    size = journal.head().size
    assert journal.append("note", {"text": "after"}, "tester").seq == size + 1
    frontier = Frontier()
    for entry in journal.entries():
        frontier.append(bytes.fromhex(entry.entry_hash))
    assert journal.head().root == frontier.root()
    path = journal.path
    inc.close()
    assert verify(path).ok
