"""The evidence journal: chain, triggers, derived state, tamper detection and durability faults."""

from __future__ import annotations

import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.base.clock import FrozenClock
from app.composition.projections import REGISTRY
from app.composition.verification import verify as verify_journal
from app.composition.workspace import Workspace
from app.journal.chain import Journal
from app.journal.failures import JournalError, SecretRefused
from app.journal.verify import Anchor
from tests.conftest import T0

ROOT = Path(__file__).resolve().parent.parent


def make_incident(home: Path, clock: FrozenClock, keyring_backend, notes: int = 5):
    incident = Workspace(home, clock, keyring_backend).create("Test leak", "tester")
    for i in range(notes):
        clock.advance(timedelta(seconds=1))
        incident.note(f"note {i}", "tester")
    return incident


def tamper(path: Path, *sql: str) -> None:
    """Edit the file the way an insider with the sqlite3 CLI would: triggers dropped first."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TRIGGER IF EXISTS entries_no_update")
    conn.execute("DROP TRIGGER IF EXISTS entries_no_delete")
    conn.execute("DROP TRIGGER IF EXISTS entries_extend")
    for stmt in sql:
        conn.execute(stmt)
    conn.close()


def restore_triggers(path: Path) -> None:
    from app.journal.database import schema_statements

    conn = sqlite3.connect(path, isolation_level=None)
    have = {r[0] for r in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'trigger'")}
    for stmt in schema_statements():
        if stmt.startswith("CREATE TRIGGER") and stmt.split()[2] not in have:
            conn.execute(stmt)
    conn.close()


@pytest.fixture
def incident(home, clock, mem_keyring):
    inc = make_incident(home, clock, mem_keyring)
    yield inc
    inc.close()


def test_fresh_journal_verifies_and_chains(incident):
    entries = list(incident.journal.entries())
    assert [e.seq for e in entries] == list(range(1, 8))
    for prev, cur in itertools.pairwise(entries):
        assert cur.prev_hash == prev.entry_hash
    report = verify_journal(incident.journal.path)
    assert report.ok and report.exit_code == 0 and report.size == 7
    assert report.root == incident.journal.head().root_hex


def test_durability_pragmas(incident):
    conn = incident.journal.connection
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


@pytest.mark.parametrize(
    "stmt",
    [
        "UPDATE entries SET actor = 'mallory' WHERE seq = 2",
        "DELETE FROM entries WHERE seq = 3",
        "REPLACE INTO entries SELECT * FROM entries WHERE seq = 2",
        "INSERT OR REPLACE INTO entries SELECT * FROM entries WHERE seq = 7",
        "INSERT INTO entries (seq, entry_id, incident_id, kind, actor, recorded_utc, mono_ns, boot_id, body, "
        "prev_hash, entry_hash) VALUES (99, 'x', 'i', 'note', 'a', 't', 0, 'b', x'00', zeroblob(32), randomblob(32))",
    ],
)
def test_triggers_refuse_changes(incident, stmt):
    conn = sqlite3.connect(incident.journal.path, isolation_level=None)
    conn.execute("PRAGMA recursive_triggers = ON")
    with pytest.raises(sqlite3.DatabaseError):
        conn.execute(stmt)
    conn.close()
    assert verify_journal(incident.journal.path).ok


def test_edited_row_detected(incident):
    path = incident.journal.path
    incident.close()
    tamper(
        path, "UPDATE entries SET body = CAST(replace(CAST(body AS TEXT), 'note 2', 'note X') AS BLOB) WHERE seq = 5"
    )
    report = verify_journal(path)
    assert report.exit_code == 1
    assert (5, "edited") in [(p.seq, p.reason) for p in report.problems]
    assert report.message.startswith("INTEGRITY FAILURE at seq 5: edited")


def test_edited_column_detected_even_with_triggers_restored(incident):
    path = incident.journal.path
    incident.close()
    tamper(path, "UPDATE entries SET actor = 'mallory' WHERE seq = 4")
    restore_triggers(path)
    report = verify_journal(path)
    assert report.exit_code == 1
    first = report.problems[0]
    assert (first.seq, first.reason) == (4, "edited")
    assert "actor" in first.detail


def test_dropped_trigger_is_schema_altered(incident):
    path = incident.journal.path
    incident.close()
    tamper(path)
    report = verify_journal(path)
    assert report.exit_code == 1
    assert "schema_altered" in [p.reason for p in report.problems]


def test_deleted_row_is_missing(incident):
    path = incident.journal.path
    incident.close()
    tamper(path, "DELETE FROM entries WHERE seq = 4")
    restore_triggers(path)
    report = verify_journal(path)
    assert report.exit_code == 1
    assert (report.problems[0].seq, report.problems[0].reason) == (4, "missing")


def test_reordered_rows_detected(incident):
    path = incident.journal.path
    incident.close()
    tamper(
        path,
        "UPDATE entries SET seq = -3 WHERE seq = 3",
        "UPDATE entries SET seq = 3 WHERE seq = 4",
        "UPDATE entries SET seq = 4 WHERE seq = -3",
    )
    restore_triggers(path)
    report = verify_journal(path)
    assert report.exit_code == 1
    assert (report.problems[0].seq, report.problems[0].reason) == (3, "reordered")


def test_forged_entry_with_valid_hash_but_wrong_link(incident, clock):
    """A self-consistent entry spliced in (hash recomputed) does not link to its predecessor."""
    from app.journal.entries import build_body
    from app.journal.merkle import leaf_hash

    path = incident.journal.path
    row5 = incident.journal.entry(5)
    incident.close()
    body = build_body(
        journal_id=incident.journal.journal_id,
        incident_id=incident.id,
        seq=5,
        prev=bytes(32),
        entry_id=row5.entry_id,
        kind="note",
        actor="mallory",
        recorded_utc=row5.recorded_utc,
        mono_ns=1,
        boot_id="b",
        host="h",
        data={"text": "all fine"},
    )
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TRIGGER entries_no_update")
    conn.execute(
        "UPDATE entries SET body = ?, entry_hash = ?, actor = 'mallory' WHERE seq = 5", (body, leaf_hash(body))
    )
    conn.close()
    restore_triggers(path)
    report = verify_journal(path)
    assert report.exit_code == 1
    assert (report.problems[0].seq, report.problems[0].reason) == (5, "forged")


def test_forged_append_bypassing_the_app_is_a_state_mismatch(incident, clock):
    """A correctly chained entry inserted with raw SQL skips the projections; the replay notices."""
    from app.journal.storage import insert_entry

    path = incident.journal.path
    jid, iid = incident.journal.journal_id, incident.id
    head = incident.journal.head()
    incident.close()
    conn = sqlite3.connect(path, isolation_level=None)
    insert_entry(
        conn,
        clock,
        jid,
        iid,
        head.size + 1,
        bytes.fromhex(head.head_hash),
        "incident.update",
        "mallory",
        {"title": "Nothing happened"},
        "b",
    )
    conn.close()
    report = verify_journal(path)
    assert report.exit_code == 1
    assert "state_mismatch" in [p.reason for p in report.problems]


def test_truncated_file_is_unreadable(incident):
    path = incident.journal.path
    incident.close()
    size = path.stat().st_size
    with path.open("r+b") as fh:
        fh.truncate(size // 2)
    report = verify_journal(path)
    assert report.exit_code == 3
    assert "unreadable" in report.message


def test_not_a_journal_is_unreadable(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    assert verify_journal(junk).exit_code == 3
    assert verify_journal(tmp_path / "absent.db").exit_code == 3


def test_rewrite_of_whole_chain_caught_by_earlier_anchor(home, clock, mem_keyring, tmp_path):
    """An insider rebuilds a fully consistent journal with one entry changed; only the anchor shows it."""
    inc = make_incident(home, clock, mem_keyring)
    anchor = Anchor(inc.journal.head().size, inc.journal.head().root)
    entries = list(inc.journal.entries())
    path = inc.journal.path
    inc.close()
    # Rebuild every entry from seq 4 on with a changed note, recomputing hashes and links.
    from app.journal.entries import ZERO_HASH, build_body
    from app.journal.merkle import Frontier, leaf_hash

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TRIGGER entries_no_delete")
    conn.execute("DROP TRIGGER entries_extend")
    conn.execute("DELETE FROM entries WHERE seq >= 4")
    conn.execute("DELETE FROM merkle")
    prev = ZERO_HASH
    frontier = Frontier()
    for e in entries:
        if e.seq < 4:
            prev = bytes.fromhex(e.entry_hash)
            frontier.append(prev)
            continue
        data = dict(e.data)
        if e.seq == 4:
            data["text"] = "rewritten history"
        body = build_body(
            journal_id=inc.journal.journal_id,
            incident_id=inc.id,
            seq=e.seq,
            prev=prev,
            entry_id=e.entry_id,
            kind=e.kind,
            actor=e.actor,
            recorded_utc=e.recorded_utc,
            mono_ns=1,
            boot_id="b",
            host="h",
            data=data,
        )
        h = leaf_hash(body)
        conn.execute(
            "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (e.seq, e.entry_id, inc.id, e.kind, e.actor, e.recorded_utc, 1, "b", body, prev, h),
        )
        prev = h
        frontier.append(h)
    for level, h in frontier.levels.items():
        conn.execute("INSERT INTO merkle VALUES (?, ?)", (level, h))
    conn.close()
    restore_triggers(path)
    assert verify_journal(path).ok, "internally consistent rewrite passes without an anchor"
    report = verify_journal(path, [anchor])
    assert report.exit_code == 1
    assert report.problems[0].reason == "rewritten"


def test_truncated_tail_caught_by_anchor(home, clock, mem_keyring):
    inc = make_incident(home, clock, mem_keyring)
    anchor = Anchor(inc.journal.head().size, inc.journal.head().root)
    path = inc.journal.path
    inc.close()
    tamper(path, "DELETE FROM entries WHERE seq >= 6")
    restore_triggers(path)
    report = verify_journal(path, [anchor])
    assert report.exit_code == 1
    assert "truncated" in [p.reason for p in report.problems]


def test_checkpoint_signature_and_root_verified(incident, clock):
    incident.checkpoint("tester")
    incident.note("after checkpoint", "tester")
    report = verify_journal(incident.journal.path)
    assert report.ok and report.checkpoints_checked == 1
    path = incident.journal.path
    incident.close()
    tamper(
        path,
        "UPDATE entries SET body = CAST(replace(CAST(body AS TEXT), '\"root\":\"', '\"root\":\"0') AS BLOB) WHERE kind = 'checkpoint'",
    )
    assert verify_journal(path).exit_code == 1


def test_clock_going_backwards_is_a_warning(incident, clock):
    clock.set(T0 - timedelta(hours=1))
    incident.note("clock went back", "tester")
    report = verify_journal(incident.journal.path)
    assert report.ok and report.exit_code == 0
    assert [w.reason for w in report.warnings] == ["clock_regression"]


def test_secrets_and_floats_refused(incident):
    size = incident.journal.head().size
    with pytest.raises(SecretRefused):
        incident.journal.append("note", {"password": "hunter2"}, "tester")
    with pytest.raises(SecretRefused):
        incident.journal.append("note", {"text": "sid 00D5g000004abcd!ARoAQH0123456789abcdefghijkl"}, "tester")
    with pytest.raises(JournalError):
        incident.journal.append("note", {"ratio": 0.5}, "tester")
    assert incident.journal.head().size == size


def test_disk_full_leaves_no_partial_entry(incident):
    """SQLITE_FULL mid-append (page limit reached): clean error, nothing partial, still verifies."""
    conn = incident.journal.connection
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages + 2}")
    big = "x" * 3000
    with pytest.raises(JournalError, match="disk is full"):
        for _ in range(100):
            incident.journal.append("note", {"text": big}, "tester")
    size = incident.journal.head().size
    conn.execute("PRAGMA max_page_count = 1073741823")
    entry = incident.journal.append("note", {"text": "space is back"}, "tester")
    assert entry.seq == size + 1
    path = incident.journal.path
    incident.close()
    report = verify_journal(path)
    assert report.ok, report.message


def _writer(path: Path, count: int, tag: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.journal_writer", str(path), str(count), tag],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_sigkill_mid_burst_keeps_every_acknowledged_entry(incident):
    path = incident.journal.path
    base = incident.journal.head().size
    incident.close()
    proc = _writer(path, 100000, "burst")
    acked: list[int] = []
    assert proc.stdout is not None
    while len(acked) < 40:
        line = proc.stdout.readline()
        assert line, "writer died early"
        acked.append(int(line))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    acked += [int(x) for x in proc.stdout.read().split()]
    report = verify_journal(path)
    assert report.ok, report.message
    assert report.size >= max(acked) >= base + 40
    with Journal.open(path, FrozenClock(T0), registry=REGISTRY) as journal:
        present = {e.seq for e in journal.entries(kind="note")}
    assert set(acked) <= present


def test_two_processes_append_one_gapless_chain(incident):
    path = incident.journal.path
    base = incident.journal.head().size
    incident.close()
    procs = [_writer(path, 150, tag) for tag in ("alpha", "beta")]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    seqs = sorted(int(x) for out in outs for x in out.split())
    assert seqs == list(range(base + 1, base + 301))
    report = verify_journal(path)
    assert report.ok and report.size == base + 300


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_one_byte_mutation_is_detected(tmp_path_factory, data):
    from tests.conftest import MemoryKeyring

    home = tmp_path_factory.mktemp("prop")
    inc = make_incident(home, FrozenClock(T0), MemoryKeyring(), notes=data.draw(st.integers(1, 6)))
    path = inc.journal.path
    entries = list(inc.journal.entries())
    inc.close()
    target = data.draw(st.sampled_from(entries))
    conn = sqlite3.connect(path, isolation_level=None)
    body = conn.execute("SELECT body FROM entries WHERE seq = ?", (target.seq,)).fetchone()[0]
    pos = data.draw(st.integers(0, len(body) - 1))
    new = data.draw(st.integers(0, 255).filter(lambda b: b != body[pos]))
    mutated = body[:pos] + bytes([new]) + body[pos + 1 :]
    conn.execute("DROP TRIGGER entries_no_update")
    conn.execute("UPDATE entries SET body = ? WHERE seq = ?", (mutated, target.seq))
    conn.close()
    restore_triggers(path)
    report = verify_journal(path)
    assert report.exit_code in (1, 3)
    if report.exit_code == 1:
        assert min(p.seq for p in report.problems if p.seq is not None) <= target.seq


def test_reopen_restores_state_without_replay(incident, clock):
    incident.journal.append("incident.update", {"title": "Renamed"}, "tester")
    path = incident.journal.path
    incident.close()
    with Journal.open(path, clock, registry=REGISTRY) as journal:
        assert journal.get_state("incident", "title") == "Renamed"


def test_listener_runs_after_commit(incident):
    seen = []
    incident.journal.subscribe(lambda e: seen.append((e.seq, incident.journal.head().size)))
    entry = incident.note("hello", "tester")
    assert seen == [(entry.seq, entry.seq)]
    time.sleep(0)  # listeners are synchronous; nothing pending


def test_append_many_is_all_or_nothing(incident):
    size = incident.journal.head().size
    with pytest.raises(SecretRefused):
        incident.journal.append_many([("note", {"text": "fine"}, "t"), ("note", {"api_key": "k-123456"}, "t")])
    assert incident.journal.head().size == size
    written = incident.journal.append_many([("note", {"text": f"n{i}"}, "t") for i in range(3)])
    assert [e.seq for e in written] == [size + 1, size + 2, size + 3]
    assert verify_journal(incident.journal.path).ok


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_fast_canonical_form_equals_rfc8785(value):
    import rfc8785

    from app.journal.canonical import jcs

    try:
        expected = rfc8785.dumps(value)
    except Exception:
        with pytest.raises(Exception):  # noqa: B017 - whatever rfc8785 refuses, jcs refuses too
            jcs(value)
        return
    assert jcs(value) == expected


def test_verify_out_of_process_matches_in_process(incident):
    from app.composition.verification import verify_out_of_process

    anchor = Anchor(incident.journal.head().size, incident.journal.head().root)
    path = incident.journal.path
    incident.close()
    child = verify_out_of_process(path, [anchor])
    assert child.ok and child.anchors_checked == 1
    assert child.model_dump() == verify_journal(path, [anchor]).model_dump()
    tamper(path, "UPDATE entries SET actor = 'mallory' WHERE seq = 3")
    bad = verify_out_of_process(path)
    assert bad.exit_code == 1 and (3, "edited") in [(p.seq, p.reason) for p in bad.problems]


def test_verify_command_lists_every_problem_once(cli):
    from app.composition.workspace import JOURNAL_FILE

    cli.new()
    cli("note", "first")
    path = next(cli.home.glob(f"incidents/*/{JOURNAL_FILE}"))
    tamper(path, "UPDATE entries SET actor = 'mallory' WHERE seq = 3")
    result = cli("journal", "verify")
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0].startswith("INTEGRITY FAILURE at seq 3: edited")
    assert sum("seq 3" in line for line in lines) == 1
    assert any("schema_altered" in line for line in lines[1:])
