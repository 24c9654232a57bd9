"""Containment results survive what a hostile machine does to a run: a SIGKILL at every write point of
`contain apply`, a disk that fills during the run (a real small tmpfs), a recovery file left empty or torn.

The invariant checked every time: each token the org no longer has is accounted for in the journal (after the
next open folds back what the run kept aside), and a rerun finishes the plan without sending anything twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.base.clock import FrozenClock
from app.composition.verification import verify as verify_journal
from app.composition.workspace import Workspace
from app.containment import apply as containment_apply
from app.containment import execute as cm
from app.containment import recovery
from app.journal.failures import JournalError
from app.salesforce.client import Org
from app.salesforce.simlogin import sim_credentials
from app.simorg import SimOrg
from tests.conftest import subprocess_env

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2025, 8, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimOrg]:
    with SimOrg.start("chat-vendor-theft", clock=FrozenClock(NOW), cert_dir=tmp_path / "cert") as org:
        yield org


@pytest.fixture
def org(sim: SimOrg) -> Iterator[Org]:
    with Org.login(sim_credentials(sim.url, sim.ca_path), sleep=lambda s: None) as o:
        yield o


def _drift_left(sim: SimOrg) -> set[str]:
    with sim.store.lock:
        return {t["DeleteToken"] for t in sim.store.rows("OauthToken") if t.get("AppName") == "Drift"}


def _journaled_ok(incident: Any, plan_id: str) -> dict[int, str]:
    out: dict[int, str] = {}
    for entry in incident.journal.entries(kind="action.result"):
        if entry.data.get("action_id") == plan_id:
            for rec in cm.result_records(incident, entry):
                out.setdefault(int(rec["n"]), rec["status"])
                if rec["status"] in ("ok", "already"):
                    out[int(rec["n"])] = rec["status"]
    return out


# --------------------------------------------------------------------------------------------------
# SIGKILL at each write point of `contain apply`
# --------------------------------------------------------------------------------------------------

KILL_POINTS = [
    ("intent", 1),
    ("log-begin", 1),
    ("send", 1),
    ("log-record", 1),
    ("send", 3),
    ("log-record", 4),
    ("save", 1),
    ("result", 1),
    ("finish", 1),
]


@pytest.mark.parametrize(("point", "nth"), KILL_POINTS, ids=[f"{p}-{n}" for p, n in KILL_POINTS])
def test_sigkill_at_each_write_point_of_apply_loses_no_result(
    point: str, nth: int, sim: SimOrg, tmp_path: Path, mem_keyring: Any
) -> None:
    home = tmp_path / "home"
    env = subprocess_env(home)
    sim_args = ["--instance-url", sim.url, "--ca", str(sim.ca_path)]

    def run(*args: str, fault: tuple[str, int] | None = None) -> subprocess.CompletedProcess[str]:
        pre = ["-m", "tests.fault_runner", fault[0], str(fault[1]), "--"] if fault else ["-m", "app.cli"]
        return subprocess.run(
            [sys.executable, *pre, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )

    assert run("new", "Drift token theft").returncode == 0
    planned = run("contain", "plan", "revoke_tokens", "--app", "Drift", "--org", "sim", *sim_args, "--json")
    assert planned.returncode == 0, planned.stderr
    plan_id = json.loads(planned.stdout)["plan_id"]
    before = _drift_left(sim)
    assert len(before) == 4

    killed = run("contain", "apply", plan_id, "--confirm", "sim", *sim_args, fault=(point, nth))
    assert killed.returncode == -9, f"the fault point {point} was not reached: {killed.stderr}"
    revoked_by_kill = len(before - _drift_left(sim))

    # The next open folds back whatever the killed run left; nothing it did is unaccounted for.
    status = run("contain", "status", "--json")
    assert status.returncode == 0, status.stderr
    ws = Workspace(home, FrozenClock(NOW), None)
    with ws.open() as incident:
        assert verify_journal(incident.journal.path).ok
        seen = _journaled_ok(incident, plan_id)
        ok = sum(1 for s in seen.values() if s in ("ok", "unverified"))  # a killed run could not read back
        unknown = [n for n, s in seen.items() if s == "not_run"]
        if point == "send":  # killed between the org's answer and the log line: that one record is unknown
            assert ok == revoked_by_kill - 1 and len(unknown) >= 1
        else:
            assert ok == revoked_by_kill, f"{revoked_by_kill} revoked in the org, {ok} journaled as ok"
        assert not list((incident.dir / cm.UNJOURNALED_DIR).glob("*-run*.*")), "every kept file was folded back"

    again = run("contain", "apply", plan_id, "--confirm", "sim", *sim_args)
    assert again.returncode == 0, again.stderr
    assert not _drift_left(sim)
    with ws.open() as incident:
        final = _journaled_ok(incident, plan_id)
        assert sorted(final) == [1, 2, 3, 4] and set(final.values()) <= {"ok", "already"}
        assert sum(1 for s in final.values() if s == "ok") + revoked_by_kill >= 4
        assert verify_journal(incident.journal.path).ok


# --------------------------------------------------------------------------------------------------
# A real full disk (a small tmpfs) during the run
# --------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def small_disk(path: Path, size_mb: int) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"this machine does not allow mounting a tmpfs: {done.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _fill(folder: Path) -> Path:
    """Fill the filesystem to the last byte."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (1 << 20, 1 << 12, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * size)
    finally:
        os.close(fd)
    return filler


@pytest.mark.parametrize("fill_at", [1, 2, 4])
@pytest.mark.parametrize("large", [False, True], ids=["inline", "large"])
def test_disk_filling_during_apply_keeps_the_result(
    fill_at: int,
    large: bool,
    sim: SimOrg,
    org: Org,
    tmp_path: Path,
    clock: FrozenClock,
    mem_keyring: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if large:  # the per-record results go to the evidence store, as a run over hundreds of tokens does
        monkeypatch.setattr(recovery, "INLINE_RECORDS", 1)
    with small_disk(tmp_path / "disk", 48) as disk:
        ws = Workspace(disk / "home", clock, mem_keyring)
        incident = ws.create("Drift token theft", "alice")
        plan = cm.make_plan(org, incident, "revoke_tokens", app="Drift", actor="alice", org_alias="sim")
        filler: list[Path] = []

        def fill(i: int, n: int, rec: cm.RecordResult) -> None:
            if i == fill_at:
                filler.append(_fill(disk))

        try:
            result = cm.apply_plan(incident, org, plan, "sim", "alice", fill)
            kept = None
        except JournalError as exc:
            result, kept = None, str(exc)
        revoked = 4 - len(_drift_left(sim))
        assert revoked == fill_at, "the run stops at the first record after the disk filled"
        if result is not None:
            assert result.counts["ok"] == revoked
            if fill_at < 4:
                assert result.stopped is not None and result.stopped.reason == "disk_full"
        else:
            assert kept and "DID send changes" in kept
            assert list((incident.dir / cm.UNJOURNALED_DIR).glob("*-run1.*")), "the result is kept on disk"
        incident.close()
        for f in filler:
            f.unlink()
        with ws.open() as again:
            cm.recover_unjournaled(again, "alice")
            seen = _journaled_ok(again, plan.plan_id)
            assert sum(1 for s in seen.values() if s == "ok") == revoked
            assert verify_journal(again.journal.path).ok


# --------------------------------------------------------------------------------------------------
# Recovery files that cannot be read never block a command
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content", [b"", b'{"action_id": ', b"[1, 2]", b"\xff\xfe"], ids=["empty", "torn", "list", "binary"]
)
def test_an_unreadable_recovery_file_is_kept_as_evidence_and_blocks_nothing(cli: Any, content: bytes) -> None:
    cli.new()
    ws = Workspace(cli.home, cli.clock, cli.keyring)
    with ws.open() as incident:
        folder = incident.dir / cm.UNJOURNALED_DIR
    folder.mkdir()
    (folder / "CA-00AA11-run1.json").write_bytes(content)
    r = cli("contain", "status")
    assert r.code == 0, r.err
    assert "cannot be recovered" in r.err and "kept as evidence" in r.err
    assert cli("contain", "status").code == 0
    failed = cli("journal", "show", "--kind", "action.recovery_failed", "--json").json()
    assert len(failed) == 1 and failed[0]["data"]["size"] == len(content)
    assert (folder / "corrupt" / "CA-00AA11-run1.json").read_bytes() == content
    assert not (folder / "CA-00AA11-run1.json").exists()


def test_a_torn_last_line_of_a_run_log_is_dropped_and_counted(
    sim: SimOrg, org: Org, incident_ws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run killed while writing a log line: the complete lines are journaled, the torn one is counted."""
    incident = incident_ws
    plan = cm.make_plan(org, incident, "revoke_tokens", app="Drift", actor="alice", org_alias="sim")

    def stop_at_two(i: int, n: int, rec: cm.RecordResult) -> None:
        if i == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(containment_apply, "journal_result", _refuse)
    with pytest.raises(JournalError, match="DID send changes"):
        cm.apply_plan(incident, org, plan, "sim", "alice", stop_at_two)
    monkeypatch.undo()
    folder = incident.dir / cm.UNJOURNALED_DIR
    next(folder.glob("*-run1.json")).unlink()  # as if killed before the result file was written
    log = next(folder.glob("*-run1.log"))
    with log.open("ab") as fh:
        fh.write(b'{"n":3,"op":"revoke_tok')
    entries = cm.recover_unjournaled(incident, "alice")
    assert len(entries) == 1 and entries[0].data["torn_lines"] == 1
    data = entries[0].data
    assert data["counts"] == {"ok": 0, "already": 0, "failed": 0, "not_run": 2, "unverified": 2}
    assert data["stopped"]["reason"] == "interrupted"
    assert [r["code"] for r in data["records"] if r["status"] == "not_run"] == ["INTERRUPTED", "INTERRUPTED"]
    assert not list(folder.glob("*-run1.*"))


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise JournalError("journal refused (test)")


@pytest.fixture
def incident_ws(tmp_path: Path, clock: FrozenClock, mem_keyring: Any) -> Iterator[Any]:
    ws = Workspace(tmp_path / "home", clock, mem_keyring)
    with ws.create("Drift token theft", "alice") as inc:
        yield inc
