"""Tampering the verifier must name as such: dropped tables, a journal replaced by a re-chained forgery with a new
key, and journals on read-only media (verified, not called unreadable)."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.base.clock import FrozenClock
from app.base.errors import WarroomError
from app.composition.projections import REGISTRY
from app.composition.verification import verify
from app.composition.workspace import Workspace
from app.journal import signing
from app.journal.chain import Journal


@pytest.mark.parametrize("table", ["state", "merkle", "entries"])
def test_a_dropped_table_is_schema_altered_not_unreadable(table: str, home: Path, clock: FrozenClock) -> None:
    ws = Workspace(home, clock, None)
    with ws.create("t", "alice") as inc:
        inc.note("one", "alice")
        path = inc.journal.path
    conn = sqlite3.connect(path)
    conn.execute(f"DROP TABLE {table}")
    conn.commit()
    conn.close()
    report = verify(path)
    assert report.exit_code == 1 and not report.ok
    assert report.problems[0].reason == "schema_altered" and f"missing: {table}" in report.problems[0].detail


def test_undecodable_text_in_a_journal_is_altered_not_a_crash(home: Path, clock: FrozenClock) -> None:
    """Found by fuzzing `journal verify`: bytes that are not UTF-8 in a TEXT column stopped verification with
    a UnicodeDecodeError (a traceback, exit 70) instead of a verdict."""
    ws = Workspace(home, clock, None)
    with ws.create("t", "alice") as inc:
        inc.note("one", "alice")
        path = inc.journal.path
    conn = sqlite3.connect(path)
    conn.execute("UPDATE state SET key = CAST(x'ff80' AS TEXT) WHERE rowid = (SELECT min(rowid) FROM state)")
    conn.commit()
    conn.close()
    report = verify(path)
    assert report.exit_code == 1 and not report.ok


def test_a_schema_row_holding_bytes_is_schema_altered_not_a_crash(home: Path, clock: FrozenClock) -> None:
    """Found by fuzzing `journal verify` (one flipped bit in sqlite_schema): a schema value stored as a BLOB
    stopped the fingerprint with a TypeError (exit 70) instead of a verdict."""
    ws = Workspace(home, clock, None)
    with ws.create("t", "alice") as inc:
        inc.note("one", "alice")
        path = inc.journal.path
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("UPDATE sqlite_schema SET tbl_name = CAST(tbl_name AS BLOB) WHERE name = 'entries_kind'")
    conn.commit()
    conn.close()
    report = verify(path)
    assert report.exit_code == 1 and report.problems[0].reason == "schema_altered"


def _forge(original: Path, clock: FrozenClock) -> None:
    """Replace the journal with a re-chained one under a new key: same incident id, same journal id."""
    with Journal.open(original, clock, registry=REGISTRY) as real:
        incident_id, journal_id, genesis = real.incident_id, real.journal_id, dict(real.genesis)
    key = signing.new_key()
    genesis["public_key"] = signing.public_hex(key)
    genesis["key_fingerprint"] = signing.fingerprint(genesis["public_key"])
    genesis["key_store"] = "keyring"  # claims its key is elsewhere, so the file beside it is not looked at
    forged_path = original.with_name("forged.db")
    forged = Journal.create(
        forged_path,
        clock,
        incident_id=incident_id,
        actor="mallory",
        genesis=genesis,
        journal_id=journal_id,
        registry=REGISTRY,
    )
    forged.append("note", {"text": "nothing happened"}, "mallory")
    origin = f"warroom/{journal_id}"
    head = forged.head()
    note = signing.sign_note(signing.checkpoint_text(origin, head.size, head.root), origin, key)
    forged.append(
        "checkpoint",
        {"tree_size": head.size, "root": head.root_hex, "note": note, "key_fingerprint": genesis["key_fingerprint"]},
        "mallory",
    )
    forged.close()
    for suffix in ("-wal", "-shm"):
        original.with_name(original.name + suffix).unlink(missing_ok=True)
    shutil.move(forged_path, original)


def test_a_rechained_forgery_with_a_new_key_is_forged_while_the_key_file_remains(
    home: Path, clock: FrozenClock
) -> None:
    ws = Workspace(home, clock, None)  # no keyring: the key lives in signing.key
    with ws.create("t", "alice") as inc:
        inc.note("the real record", "alice")
        inc.checkpoint("alice")
        path, folder = inc.journal.path, inc.dir
    assert (folder / "signing.key").is_file()
    assert verify(path).ok
    _forge(path, clock)
    chain_only = verify(path)
    report = verify(path, keyring=None)
    assert not report.ok and report.exit_code == 1
    assert report.problems[0].reason == "forged" and "signing.key" in report.problems[0].detail
    assert chain_only.exit_code == 1
    with ws.open() as inc, pytest.raises(WarroomError, match="not the key its journal's genesis names"):
        inc.checkpoint("alice")  # a genuine checkpoint is refused rather than blamed as forged later


def test_a_forgery_is_caught_by_the_keyring_entry_too(home: Path, clock: FrozenClock, mem_keyring: Any) -> None:
    ws = Workspace(home, clock, mem_keyring)
    with ws.create("t", "alice") as inc:
        path = inc.journal.path
        assert inc.journal.genesis["key_store"] == "keyring"
    _forge(path, clock)
    report = verify(path, keyring=mem_keyring)
    assert report.exit_code == 1 and "keyring entry" in report.problems[0].detail


def test_checkpoints_carry_the_key_fingerprint(home: Path, clock: FrozenClock) -> None:
    ws = Workspace(home, clock, None)
    with ws.create("t", "alice") as inc:
        cp = inc.checkpoint("alice")
        assert cp.data["key_fingerprint"] == inc.journal.genesis["key_fingerprint"]
        assert verify(inc.journal.path).ok


@contextlib.contextmanager
def _tmpfs(path: Path) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"this machine does not allow mounting a tmpfs: {done.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _remount_ro(path: Path) -> None:
    done = subprocess.run(["mount", "-o", "remount,ro", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot remount read-only here: {done.stderr.decode().strip()}")


@pytest.mark.parametrize("with_shm", [True, False], ids=["with-shm", "wal-only"])
def test_a_live_journal_on_read_only_media_verifies(
    with_shm: bool, tmp_path: Path, clock: FrozenClock, cli: Any
) -> None:
    with _tmpfs(tmp_path / "media") as media:
        home = media / "home"
        ws = Workspace(home, clock, None)
        inc = ws.create("seized laptop", "alice")
        for i in range(5):
            inc.note(f"note {i}", "alice")
        wal = inc.journal.path.with_name("journal.db-wal")
        assert wal.stat().st_size > 0, "a live journal: entries still in the WAL"
        path = inc.journal.path
        # Copy as it is on the seized disk (the writer still has it open), then make the medium read-only.
        image = media / "image"
        shutil.copytree(inc.dir, image / "incidents" / inc.dir.name)
        if not with_shm:
            (image / "incidents" / inc.dir.name / "journal.db-shm").unlink()
        inc.close()
        _remount_ro(media)
        report = verify(image / "incidents" / path.parent.name / "journal.db")
        assert report.ok, report.message
        assert report.size == 7, "the entries still in the WAL are verified too"
        if not with_shm:
            assert any(w.reason == "read_only_media" for w in report.warnings)
        listed = Workspace(image, clock, None).list()
        assert [s.title for s in listed] == ["seized laptop"]
        ro_cli = type(cli)(image, cli.clock, cli.keyring)
        out = ro_cli("note", "x")
        assert out.code != 0 and "no incidents" not in out.err, out.err
