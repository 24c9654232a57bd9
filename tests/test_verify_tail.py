"""Verifying only the entries appended after a verified head: the same answer as a full verification for an
honest journal, a failure for a tampered new entry or a changed head, and a full run asked for a checkpoint."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.composition.verification import verify
from app.journal.verify_tail import verify_tail
from tests.test_journal import make_incident, tamper


@pytest.fixture
def incident(home, clock, mem_keyring):
    inc = make_incident(home, clock, mem_keyring)
    yield inc
    inc.close()


def test_tail_of_an_honest_journal_matches_a_full_verification(incident, clock) -> None:
    base = verify(incident.journal.path)
    assert base.ok and base.head_hash and base.frontier
    for i in range(9):
        clock.advance(timedelta(seconds=1))
        incident.note(f"after {i}", "tester")
    tail = verify_tail(incident.journal.path, base)
    full = verify(incident.journal.path)
    assert tail is not None and tail.ok and tail.scope == "tail"
    assert (tail.size, tail.root, tail.head_hash, tail.frontier) == (
        full.size,
        full.root,
        full.head_hash,
        full.frontier,
    )
    incident.note("one more", "tester")
    again = verify_tail(incident.journal.path, tail)  # a tail report is a head for the next one
    assert again is not None and again.ok and again.size == full.size + 1
    assert again.root == incident.journal.head().root_hex


def test_a_tampered_new_entry_fails_the_tail_check(incident) -> None:
    base = verify(incident.journal.path)
    incident.note("the attacker left at 09:00", "tester")
    incident.note("second", "tester")
    path = incident.journal.path
    seq = base.size + 1
    tamper(
        path, f"UPDATE entries SET body = CAST(replace(CAST(body AS TEXT), '09:00', '10:00') AS BLOB) WHERE seq = {seq}"
    )
    tail = verify_tail(path, base)
    assert tail is not None and not tail.ok and tail.problems[0].seq == seq
    assert tail.problems[0].reason == "edited"


def test_a_changed_verified_head_fails_the_tail_check(incident) -> None:
    base = verify(incident.journal.path)
    incident.note("later", "tester")
    tamper(incident.journal.path, f"UPDATE entries SET entry_hash = zeroblob(32) WHERE seq = {base.size}")
    tail = verify_tail(incident.journal.path, base)
    assert tail is not None and not tail.ok and tail.problems[0].reason == "rewritten"


def test_a_checkpoint_or_a_failed_base_asks_for_a_full_verification(incident) -> None:
    base = verify(incident.journal.path)
    incident.checkpoint("tester")
    assert verify_tail(incident.journal.path, base) is None
    assert verify_tail(incident.journal.path, base.model_copy(update={"ok": False})) is None
