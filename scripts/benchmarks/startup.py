"""Figure 8: how fast `warroom note` starts and finishes, against the interpreter starting and importing sqlite3.

Each run is a fresh process, as a responder types it; the floor is measured in the same run, interleaved with
the commands, so a busy machine slows both alike. `--help` and `list` are measured the same way and reported in
the notes.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import Result


def _command(root: Path) -> list[str]:
    """The installed `warroom` script when there is one (what a responder runs), else the same entry module."""
    script = Path(sys.executable).parent / "warroom"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "screens.entry"]


def _wall(argv: list[str], env: dict[str, str], cpu: list[float] | None = None) -> float:
    """Wall time of one run; with `cpu`, also records the child's CPU time (user + system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if cpu is not None:
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall


def startup(cfg) -> Result:  # cfg: figures.Config
    """`warroom note` start-up (median wall time) vs `python -c "import sqlite3"`."""
    home = cfg.work / "fig8"
    env = dict(os.environ)
    env.update(
        {
            "WARROOM_HOME": str(home),
            "WARROOM_ACTOR": "bench",
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        }
    )
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installation has its bytecode compiled; so does this run
    warroom = _command(Path(__file__).resolve().parents[2])
    subprocess.run([*warroom, "new", "start-up figure"], env=env, stdout=subprocess.DEVNULL, check=True)
    for argv in (["note", "warm-up"], ["--help"], ["list"]):  # writes the bytecode caches
        _wall([*warroom, *argv], env)
    runs = 9 if cfg.quick else 31
    floor: list[float] = []
    note: list[float] = []
    floor_cpu: list[float] = []
    note_cpu: list[float] = []
    helps: list[float] = []
    lists: list[float] = []
    for i in range(runs):
        floor.append(_wall([sys.executable, "-c", "import sqlite3"], env, floor_cpu))
        note.append(_wall([*warroom, "note", f"start-up note {i}"], env, note_cpu))
        helps.append(_wall([*warroom, "--help"], env))
        lists.append(_wall([*warroom, "list"], env))
    t_note, t_floor = statistics.median(note), statistics.median(floor)
    return Result(
        8,
        "warroom note start-up",
        f"{runs} runs each",
        f"{t_note * 1000:.0f} ms",
        f"{t_floor * 1000:.0f} ms",
        t_note / t_floor,
        "< 150 ms",
        t_note < 0.150,
        notes=[
            "Median wall time of a fresh `warroom note TEXT` process (parse, open the journal, append durably, "
            'print) against a fresh `python -c "import sqlite3"`, interleaved in the same run. Same run: '
            f"`warroom --help` {statistics.median(helps) * 1000:.0f} ms, "
            f"`warroom list` {statistics.median(lists) * 1000:.0f} ms. CPU time (user + system, insensitive to other "
            f"load on the machine): `warroom note` {statistics.median(note_cpu) * 1000:.0f} ms, the floor "
            f"{statistics.median(floor_cpu) * 1000:.0f} ms."
        ],
    )
