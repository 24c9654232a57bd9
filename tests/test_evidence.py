"""Evidence intake, the content-addressed store and custody re-hashing."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.conftest import subprocess_env

ROOT = Path(__file__).resolve().parent.parent


def test_add_evidence_streams_hashes_and_journals(cli, tmp_path):
    cli.new()
    src = tmp_path / "audit-trail.csv"
    data = os.urandom(3 * (1 << 20) + 123)  # several chunks and a ragged end
    src.write_bytes(data)
    result = cli("evidence", "add", str(src), "--note", "setup audit trail export")
    assert result.code == 0, result.err
    sha = hashlib.sha256(data).hexdigest()
    assert result.out.split()[0] == sha[:12]
    listing = cli("evidence", "list", "--json").json()
    assert listing[0]["sha256"] == sha and listing[0]["size"] == len(data)
    stored = next(cli.home.glob(f"incidents/*/evidence/sha256/{sha[:2]}/{sha}"))
    assert stored.read_bytes() == data
    assert not stored.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    entries = cli("journal", "show", "--kind", "evidence.acquired", "--json").json()
    assert entries[0]["data"]["source"]["path"] == str(src.resolve())
    assert entries[0]["actor"] == "tester"


def test_custody_verify_detects_a_changed_file(cli, tmp_path):
    cli.new()
    src = tmp_path / "log.txt"
    src.write_text("original")
    evidence_id = cli("evidence", "add", str(src)).out.split()[0]
    ok = cli("evidence", "custody", evidence_id, "verified")
    assert ok.code == 0 and "matches" in ok.out
    stored = next(cli.home.glob("incidents/*/evidence/sha256/*/*"))
    stored.chmod(0o644)
    stored.write_text("altered")
    bad = cli("evidence", "verify")
    assert bad.code == 1 and "MISMATCH" in bad.out
    custody = cli("journal", "show", "--kind", "custody.event", "--json").json()
    assert [c["data"]["match"] for c in custody] == [True, False]


def test_missing_file_is_a_clear_error(cli, tmp_path):
    cli.new()
    result = cli("evidence", "add", str(tmp_path / "nope.bin"))
    assert result.code == 2 and "no such file" in result.err


def test_full_disk_during_intake_records_nothing(home, tmp_path):
    """A file-size limit makes the store's write fail part-way (EFBIG), as a full disk would."""
    env = subprocess_env(home)
    new = subprocess.run(
        [sys.executable, "-m", "app.cli", "new", "disk full"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert new.returncode == 0, new.stderr
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(4 << 20))
    script = (
        "import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN);"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20));"
        "from app.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    run = subprocess.run(
        [sys.executable, "-c", script, "evidence", "add", str(src)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert run.returncode != 0
    assert "nothing was recorded" in run.stderr and "Traceback" not in run.stderr
    show = subprocess.run(
        [sys.executable, "-m", "app.cli", "journal", "show", "--kind", "evidence.acquired"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert show.stdout.strip() == ""
    assert not list(home.glob("incidents/*/evidence/incoming/*"))
    verify = subprocess.run(
        [sys.executable, "-m", "app.cli", "journal", "verify"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert verify.returncode == 0, verify.stdout
