"""Verification in chunks (app/journal/scan.py) answers exactly as the sequential check: the same report for an
intact journal (root, roots at anchors and checkpoints, clock warnings, replayed state), whether the chunks run
here or in worker processes, and the same problems for every kind of tampering."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.base.clock import FrozenClock
from app.composition.projections import REGISTRY
from app.composition.workspace import Workspace
from app.journal import passes, scan
from app.journal.canonical import is_canonical, jcs
from app.journal.merkle import Frontier, frontier_after, leaf_hash, subtree_levels
from app.journal.verify import Anchor, VerifyReport, verify_journal
from tests.conftest import T0
from tests.test_journal import json_values, restore_triggers, tamper


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan, "MIN_CHUNK", 4)


def _journal(home: Path, clock: FrozenClock, keyring: Any) -> tuple[Path, list[Anchor]]:
    """About forty entries of several kinds: notes, projected updates, checkpoints, a clock going back."""
    anchors = []
    with Workspace(home, clock, keyring).create("Chunked", "tester") as inc:
        for i in range(36):
            clock.advance(timedelta(seconds=1))
            if i == 20:
                clock.set(T0)  # a clock regression the report warns about
            if i % 5 == 0:
                inc.journal.append("incident.update", {"title": f"title {i}"}, "tester")
            elif i % 11 == 0:
                inc.checkpoint("tester")
            else:
                inc.note(f"note {i}", "tester")
            if i in (6, 17, 29):
                head = inc.journal.head()
                anchors.append(Anchor(head.size, head.root))
        return inc.journal.path, anchors


def _reports(path: Path, anchors: list[Anchor]) -> list[VerifyReport]:
    return [verify_journal(path, anchors, REGISTRY, workers=n) for n in (0, 1, 2)]


def test_merkle_chunks_join_into_the_same_tree() -> None:
    leaves = [leaf_hash(bytes([i])) for i in range(100)]
    for chunk in (1, 4, 32, 64):
        joined = Frontier()
        for start in range(0, len(leaves), chunk):
            part = leaves[start : start + chunk]
            joined.extend(frontier_after(subtree_levels(part), len(part)))
        whole = Frontier()
        for leaf in leaves:
            whole.append(leaf)
        assert (joined.levels, joined.size, joined.root()) == (whole.levels, whole.size, whole.root())
    with pytest.raises(ValueError):
        Frontier({0: leaves[0]}, 1).append_subtree(1, leaves[1], 2)


def test_an_intact_journal_is_answered_by_the_chunks_alone(
    home: Path, clock: FrozenClock, mem_keyring: Any, small_chunks: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, anchors = _journal(home, clock, mem_keyring)
    sequential = verify_journal(path, anchors, REGISTRY, workers=0)
    assert sequential.ok and sequential.checkpoints_checked == 3 and sequential.anchors_checked == 3
    assert [w.reason for w in sequential.warnings] == ["clock_regression"]

    def refuse(*args: object) -> None:
        raise AssertionError("an intact journal fell back to the sequential check")

    monkeypatch.setattr(passes, "sequential", refuse)
    for workers in (1, 2):
        assert verify_journal(path, anchors, REGISTRY, workers=workers).model_dump() == sequential.model_dump()


def test_a_wrong_anchor_is_named_the_same_way(
    home: Path, clock: FrozenClock, mem_keyring: Any, small_chunks: None
) -> None:
    path, anchors = _journal(home, clock, mem_keyring)
    wrong = [Anchor(anchors[1].size, anchors[0].root), Anchor(999, anchors[0].root)]
    reports = _reports(path, wrong)
    assert [p.reason for p in reports[0].problems] == ["rewritten", "truncated"]
    assert reports[1].model_dump() == reports[0].model_dump() == reports[2].model_dump()


@pytest.mark.parametrize(
    "statements",
    [
        [
            "UPDATE entries SET body = CAST(replace(CAST(body AS TEXT), 'note 13', 'note X') AS BLOB) "
            "WHERE CAST(body AS TEXT) LIKE '%note 13%'"
        ],
        ["UPDATE entries SET actor = 'mallory' WHERE seq = 30"],
        ["UPDATE entries SET recorded_utc = '2000-01-01T00:00:00Z' WHERE seq = 9"],
        ["DELETE FROM entries WHERE seq = 21"],
        ["DELETE FROM entries WHERE seq >= 35"],
        [
            "UPDATE entries SET seq = -3 WHERE seq = 10",
            "UPDATE entries SET seq = 10 WHERE seq = 11",
            "UPDATE entries SET seq = 11 WHERE seq = -3",
        ],
        ["UPDATE entries SET entry_hash = zeroblob(32) WHERE seq = 12"],
        ["UPDATE entries SET prev_hash = randomblob(32) WHERE seq = 26"],
        ["UPDATE entries SET body = CAST('[]' AS BLOB) WHERE seq = 18"],
        ["UPDATE entries SET body = CAST(CAST(body AS TEXT) || ' ' AS BLOB) WHERE seq = 33"],
        ["UPDATE state SET value = '\"renamed\"' WHERE ns = 'incident' AND key = 'title'"],
        ["DELETE FROM merkle WHERE level = (SELECT max(level) FROM merkle)"],
        [
            'UPDATE entries SET body = CAST(replace(CAST(body AS TEXT), \'"root":"\', \'"root":"0\') AS BLOB) '
            "WHERE kind = 'checkpoint'"
        ],
    ],
    ids=[
        "body",
        "column",
        "time-column",
        "deleted",
        "truncated",
        "reordered",
        "hash",
        "link-column",
        "not-an-object",
        "not-canonical",
        "state",
        "frontier",
        "checkpoint",
    ],
)
def test_tampering_is_named_the_same_by_every_path(
    statements: list[str], home: Path, clock: FrozenClock, mem_keyring: Any, small_chunks: None
) -> None:
    path, anchors = _journal(home, clock, mem_keyring)
    tamper(path, *statements)
    restore_triggers(path)
    reports = [r.model_dump() for r in _reports(path, anchors)]
    assert not reports[0]["ok"], reports[0]["message"]
    assert reports[1] == reports[0] and reports[2] == reports[0]


def test_a_damaged_file_is_unreadable_the_same_way(
    home: Path, clock: FrozenClock, mem_keyring: Any, small_chunks: None, tmp_path: Path
) -> None:
    path, anchors = _journal(home, clock, mem_keyring)
    with path.open("r+b") as fh:
        fh.truncate(path.stat().st_size // 2)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    for target in (path, junk):
        reports = [r.model_dump() for r in _reports(target, anchors)]
        assert reports[0]["exit_code"] == 3, reports[0]["message"]
        assert reports[1] == reports[0] and reports[2] == reports[0]


def test_each_pass_alone_agrees_with_both_together(
    home: Path, clock: FrozenClock, mem_keyring: Any, small_chunks: None
) -> None:
    path, anchors = _journal(home, clock, mem_keyring)
    conn = scan.connect_ro(str(path))
    size = scan.numbered(conn)
    assert size is not None
    sizes = [a.size for a in anchors]
    for workers in (1, 2):
        with scan.Workers(workers) as pool:
            both = scan.start(pool, conn, str(path), size, sizes)()
            chain = scan.start_hashes(pool, conn, str(path), size, sizes)()
            form = scan.start_form(pool, conn, str(path), size)()
        assert both is not None and chain is not None and form is not None
        assert (chain.frontier.levels, chain.roots_at, chain.head_hash) == (
            both[0].frontier.levels,
            both[0].roots_at,
            both[0].head_hash,
        )
        assert form == both[1] and len(form.checkpoints) == 3
    conn.close()


def test_a_large_journal_uses_the_cores_left_to_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    assert scan.default_workers(scan.PARALLEL_FROM - 1) == 1  # small: this process alone
    assert scan.default_workers(scan.PARALLEL_FROM) == 4
    assert scan.default_workers(scan.PARALLEL_FROM, spare=1) == 3  # the console keeps a core
    monkeypatch.setattr(scan.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert scan.default_workers(10**6, spare=1) == 1


def test_where_no_worker_process_can_start_the_chunks_run_here(
    home: Path, clock: FrozenClock, mem_keyring: Any, small_chunks: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, anchors = _journal(home, clock, mem_keyring)
    expected = verify_journal(path, anchors, REGISTRY, workers=0).model_dump()

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("daemonic processes are not allowed to have children")

    monkeypatch.setattr(scan.ProcessPoolExecutor, "submit", refuse)
    monkeypatch.setattr(passes, "sequential", lambda *args: pytest.fail("fell back to the sequential check"))
    assert verify_journal(path, anchors, REGISTRY, workers=2).model_dump() == expected


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=6), json_values, max_size=5))
def test_the_canonical_form_check_agrees_with_the_serialiser(doc: dict[str, Any]) -> None:
    try:
        body = jcs(doc)
    except Exception:
        return  # what jcs refuses the writer never stores
    assert is_canonical(doc, body, body.decode("utf-8"))
    spaced = json.dumps(doc, ensure_ascii=False, sort_keys=True).encode("utf-8")
    assert is_canonical(doc, spaced, spaced.decode("utf-8")) == (spaced == body)
    escaped = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("utf-8")
    assert is_canonical(doc, escaped, escaped.decode("utf-8")) == (escaped == body)
