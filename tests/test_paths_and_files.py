"""Paths and files a hostile environment hands the tool: ids that point elsewhere, outputs that are devices or
FIFOs, inputs that never end, sources that change while hashed, intakes and `new`s that were killed."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from app.base.files import atomic_write, check_output_path, read_limited
from app.base.text import printable
from app.composition.workspace import Workspace
from app.evidence import store as evidence_store
from tests.conftest import subprocess_env

ROOT = Path(__file__).resolve().parents[1]

# -- the directory name is the only source of an incident's path ---------------------------------------------


def test_a_genesis_id_with_dot_dot_never_becomes_a_path(cli: Any, tmp_path: Path) -> None:
    cli.new()
    ws = Workspace(cli.home, cli.clock, cli.keyring)
    real = ws.list()[0]
    db = Path(real.path)
    conn = sqlite3.connect(db)
    body = json.loads(conn.execute("SELECT body FROM entries WHERE seq = 1").fetchone()[0])
    conn.close()
    assert body["incident_id"] == real.id
    # A journal whose genesis names another place: copied into a directory of its own under a valid id.
    forged_dir = db.parent.parent / "INC-20261127-BEEF"
    forged_dir.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    import shutil

    shutil.copy(db, forged_dir / "journal.db")
    listed = {s.id for s in ws.list()}
    assert listed == {real.id, "INC-20261127-BEEF"}, "ids are the directory names"
    r = cli("note", "hello", "--incident", "INC-20261127-BEEF")
    assert r.code == 1 and "names itself" in r.err
    assert not list(outside.iterdir()) and not (cli.home / "incidents" / ".." / "outside").exists()
    (db.parent.parent / "..evil").mkdir()
    shutil.copy(db, db.parent.parent / "..evil" / "journal.db")
    assert {s.id for s in ws.list()} == listed, "a directory that is not an id is not an incident"


def test_a_read_only_or_unreadable_workspace_is_not_reported_as_empty(cli: Any) -> None:
    cli.new()
    ws = Workspace(cli.home, cli.clock, cli.keyring)
    db = Path(ws.list()[0].path)
    db.write_bytes(b"this is not a database" * 100)
    r = cli("note", "x")
    assert r.code == 3 and "no readable incidents" in r.err and "cannot be read" in r.err
    assert "create one with" not in r.err


def test_a_killed_new_leaves_no_incident(home: Path, tmp_path: Path) -> None:
    env = subprocess_env(home)
    killed = subprocess.run(
        [sys.executable, "-m", "tests.fault_runner", "genesis-before", "1", "--", "new", "half"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -9
    listed = subprocess.run(
        [sys.executable, "-m", "app.cli", "list"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert "half" not in listed.stdout and "Traceback" not in listed.stderr
    assert not list((home / "incidents").glob("INC-*")), "no schema-less journal under an incident id"
    leftovers = list((home / "incidents").glob(".new-*"))
    assert len(leftovers) == 1
    old = time.time() - 3600
    os.utime(leftovers[0], (old, old))
    made = subprocess.run(
        [sys.executable, "-m", "app.cli", "new", "whole"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr
    assert not list((home / "incidents").glob(".new-*")), "the next `new` removes what a killed one left"


# -- outputs --------------------------------------------------------------------------------------------------


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_out_refuses_a_device_node(tmp_path: Path, cli: Any) -> None:
    dev = tmp_path / "null"
    os.mknod(dev, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    cli.new()
    r = cli("report", "--out", str(dev))
    assert r.code == 2 and "a device" in r.err
    assert stat.S_ISCHR(dev.lstat().st_mode), "the device node is still a device"


def test_out_refuses_fifos_links_directories_and_empty_names(tmp_path: Path, cli: Any) -> None:
    cli.new()
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    target = tmp_path / "target.txt"
    target.write_text("keep me")
    link = tmp_path / "link.md"
    link.symlink_to(target)
    for out, why in ((fifo, "FIFO"), (link, "symbolic link"), (tmp_path, "directory")):
        r = cli("report", "--out", str(out))
        assert r.code == 2 and why in r.err, (out, r.err)
    assert target.read_text() == "keep me" and stat.S_ISFIFO(fifo.lstat().st_mode)
    with pytest.raises(Exception, match="needs a file name"):
        check_output_path(Path(" "))


def test_out_replaces_a_regular_file_atomically(tmp_path: Path) -> None:
    out = tmp_path / "report.md"
    out.write_text("old")
    inode = out.stat().st_ino
    atomic_write(out, b"new")
    assert out.read_text() == "new" and out.stat().st_ino != inode, "a new file renamed over the old one"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"], "no temporary file left"


def test_journal_export_to_a_file_is_a_clear_error(cli: Any, tmp_path: Path) -> None:
    cli.new()
    f = tmp_path / "file.txt"
    f.write_text("x")
    r = cli("journal", "export", "--out", str(f))
    assert r.code == 2 and "not a directory" in r.err


# -- inputs ---------------------------------------------------------------------------------------------------


def test_inputs_must_be_regular_files_of_bounded_size(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(Exception, match="FIFO"):
        read_limited(fifo)
    with pytest.raises(Exception, match="a device"):
        read_limited(Path("/dev/zero"))
    with pytest.raises(Exception, match="a directory"):
        read_limited(tmp_path)
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * 2048)
    with pytest.raises(Exception, match="larger than the 1024 bytes"):
        read_limited(big, limit=1024)


@pytest.mark.parametrize("command", [("checklist", "validate"), ("hunt",)])
def test_a_fifo_or_device_as_input_fails_at_once(command: tuple[str, ...], cli: Any, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    cli.new()
    done: list[Any] = []

    def run() -> None:
        done.append(cli(*command, str(fifo)))

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(60)
    if t.is_alive():  # unblock the reader so the test process can end, then fail
        with open(fifo, "wb"):
            pass
        pytest.fail(f"{command} blocked on a FIFO")
    assert done[0].code != 0 and "FIFO" in (done[0].err + done[0].out)
    r = cli(*command, "/dev/zero")
    assert r.code != 0 and "device" in (r.err + r.out)


# -- evidence -------------------------------------------------------------------------------------------------


def test_evidence_add_of_a_directory_says_so(cli: Any, tmp_path: Path) -> None:
    cli.new()
    r = cli("evidence", "add", str(tmp_path))
    assert r.code == 2 and "a directory" in r.err and "no such file" not in r.err


def test_a_name_with_a_newline_cannot_fake_a_row(cli: Any, tmp_path: Path) -> None:
    cli.new()
    src = tmp_path / "real.csv\nffffffffffff  999  fake.csv  custody: sealed"
    src.write_text("a,b\n")
    assert cli("evidence", "add", str(src)).code == 0
    listed = cli("evidence", "list").out.splitlines()
    assert len(listed) == 1 and "\\x0a" in listed[0]
    assert printable("a\x1b[2Jb") == "a\\x1b[2Jb"


def test_a_source_changed_during_intake_is_detected_and_recorded(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli.new()
    src = tmp_path / "growing.log"
    src.write_bytes(b"x" * (3 << 20))
    real = evidence_store._write_all
    calls = 0

    def change_midway(fout: Any, view: memoryview) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:  # the first MiB is copied; the file is rewritten there and grows
            with src.open("r+b") as fh:
                fh.write(b"rewritten")
                fh.seek(0, 2)
                fh.write(b"appended during intake\n")
        real(fout, view)

    monkeypatch.setattr(evidence_store, "_write_all", change_midway)
    r = cli("evidence", "add", str(src))
    assert r.code == 0, r.err
    entry = cli("journal", "show", "--kind", "evidence.acquired", "--json").json()[-1]
    change = entry["data"]["source"]["changed_during_intake"]
    assert change["before"]["size"] == 3 << 20 and change["after"]["size"] > 3 << 20
    assert change["rehash_matches"] is False and change["rehash_sha256"] != entry["data"]["sha256"]

    monkeypatch.setattr(evidence_store, "_write_all", real)
    steady = tmp_path / "steady.log"
    steady.write_bytes(b"y" * 1000)
    assert cli("evidence", "add", str(steady)).code == 0
    entry = cli("journal", "show", "--kind", "evidence.acquired", "--json").json()[-1]
    assert "changed_during_intake" not in entry["data"]["source"]


def test_a_failed_add_leaves_no_unreferenced_copy(cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.incident.core import Incident
    from app.journal.failures import JournalError

    cli.new()
    src = tmp_path / "a.bin"
    src.write_bytes(b"evidence")

    def refuse(*a: Any, **k: Any) -> Any:
        raise JournalError("journal refused (test)")

    monkeypatch.setattr(Incident, "_record_evidence", refuse)
    assert cli("evidence", "add", str(src)).code == 1
    store = cli.home / "incidents"
    assert not [p for p in store.rglob("sha256/*/*") if p.is_file()]


@pytest.mark.parametrize("point", ["copy-chunk", "stored", "acquired"])
def test_killed_intakes_leave_nothing_behind_after_the_next_open(point: str, home: Path, tmp_path: Path) -> None:
    """SIGKILL at each write point of `evidence add`: mid-copy, stored but not journaled, journaled."""
    env = subprocess_env(home)

    def run(*args: str, fault: str | None = None) -> subprocess.CompletedProcess[str]:
        pre = ["-m", "tests.fault_runner", fault, "1", "--"] if fault else ["-m", "app.cli"]
        return subprocess.run([sys.executable, *pre, *args], cwd=ROOT, env=env, capture_output=True, text=True)

    assert run("new", "intake").returncode == 0
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(3 << 20))
    kills = 1 if point == "acquired" else 3
    for _ in range(kills):
        assert run("evidence", "add", str(src), fault=point).returncode == -9
    evidence = next((home / "incidents").glob("INC-*")) / "evidence"
    left = [p for p in evidence.rglob("*") if p.is_file()]
    assert left, "the kills left files behind"
    old = time.time() - 3600
    for p in left:
        os.utime(p, (old, old))
    r = run("evidence", "list")
    assert r.returncode == 0
    if point == "acquired":  # committed before the kill: the item is there and its file stays
        assert "big.bin" in r.stdout and "removed" not in r.stderr
        assert [p for p in evidence.rglob("*") if p.is_file()] == left
        return
    assert "removed" in r.stderr and "big.bin" not in r.stdout
    assert not [p for p in evidence.rglob("*") if p.is_file()]
    cleaned = json.loads(run("journal", "show", "--kind", "evidence.cleaned", "--json").stdout)
    assert cleaned and cleaned[0]["data"]["count"] == len(left)
    assert run("evidence", "add", str(src)).returncode == 0
    assert run("evidence", "list").stdout.count("big.bin") == 1


def test_new_on_a_full_disk_leaves_no_half_made_incident(tmp_path: Path, cli: Any) -> None:
    from tests.test_faults_containment import _fill, small_disk

    with small_disk(tmp_path / "disk", 4) as disk:
        home = disk / "home"
        full = type(cli)(home, cli.clock, cli.keyring)
        (home / "incidents").mkdir(parents=True)
        _fill(disk)
        r = full("new", "on a full disk")
        assert r.code == 1 and "nothing was created" in r.err, r.err
        assert not list((home / "incidents").iterdir())
        r = full("list")
        assert r.code == 0 and "Traceback" not in r.err


def test_a_full_workspace_still_lists_its_incidents_and_says_why_it_cannot_write(tmp_path: Path, cli: Any) -> None:
    """Why 10: a full workspace said "no incidents"; it lists them, and a write names the full disk."""
    from tests.test_faults_containment import _fill, small_disk

    with small_disk(tmp_path / "disk", 8) as disk:
        full = type(cli)(disk / "home", cli.clock, cli.keyring)
        assert full("new", "before the disk filled").code == 0
        filler = _fill(disk)
        listed = full("list")
        assert listed.code == 0 and "before the disk filled" in listed.out, listed.err
        wrote = full("note", "x" * 200_000)
        assert wrote.code not in (0, 70) and "no incidents" not in wrote.err, wrote.err
        assert "internal error" not in wrote.err
        filler.unlink()
        assert full("note", "after").code == 0
