"""Verifying an incident's journal with the registry it is written with, in this process or in a child.

app/journal/verify.py knows no area and takes the registry as an argument; this is where the two meet.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from app.composition.projections import REGISTRY
from app.journal import signing
from app.journal.verify import Anchor, Problem, VerifyReport, verify_journal

SPARE_CORE = "--spare-core"  # the child's first argument when it leaves one core to the console


def verify(path: Path, anchors: Iterable[Anchor] = (), keyring: Any = None, *, spare_cores: int = 0) -> VerifyReport:
    """Re-derive everything in the journal at `path` and check it against `anchors`, and its key against the
    key the incident holds outside the journal (its signing.key file, its keyring entry). `spare_cores`: cores
    a large journal's check leaves to other work (the console's own)."""
    report = verify_journal(path, anchors, REGISTRY, spare_cores=spare_cores)
    if report.public_key and report.journal_id:
        for where, public in signing.held_public_keys(report.journal_id, path.parent, keyring):
            if public != report.public_key:
                problem = Problem(
                    seq=1,
                    reason="forged",
                    detail=f"the journal's key is not the incident's key held in {where}: the journal was replaced",
                )
                report.problems.insert(0, problem)
                report.ok, report.exit_code = False, 1
                report.message = f"INTEGRITY FAILURE at seq 1: forged: {problem.detail}"
    return report


def verify_out_of_process(path: Path, anchors: Iterable[Anchor] = (), timeout: float | None = None) -> VerifyReport:
    """Run `verify` in a child process.

    Verification is CPU-bound Python; in a thread it would hold the GIL against the console's own work, so a
    million-entry journal would slow start-up and every key press while it runs. A child process costs the
    console nothing but a wait. The child leaves one core to the console (on two cores it checks a large
    journal in its own process alone, not on worker processes).
    """
    import subprocess
    import sys

    cmd = [sys.executable, "-m", __name__, SPARE_CORE, str(path), *(f"{a.size}:{a.root.hex()}" for a in anchors)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        return VerifyReport.model_validate_json(done.stdout)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        return VerifyReport(path=str(path), ok=False, exit_code=3, message=f"{path}: verification did not run ({exc})")


if __name__ == "__main__":
    import sys

    _args = sys.argv[1:]
    _spare = 1 if _args[:1] == [SPARE_CORE] else 0
    _args = _args[_spare:]
    _report = verify(Path(_args[0]), [Anchor.parse(a) for a in _args[1:]], spare_cores=_spare)
    sys.stdout.write(_report.model_dump_json())
    sys.exit(0)
