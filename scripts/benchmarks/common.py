"""Result records and small measuring helpers shared by the figures."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Result:
    number: int
    title: str
    size: str
    value: str
    floor: str
    ratio: float | None
    goal: str
    met: bool
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    verdict: str | None = None  # instead of yes/no, where the goal is not a yes or no (e.g. "see below")

    @property
    def ratio_text(self) -> str:
        return "-" if self.ratio is None else f"{self.ratio:.2f}"

    def line(self) -> str:
        return (
            f"{self.title}: {self.value} vs floor {self.floor} -> ratio {self.ratio_text} "
            f"(goal {self.goal}: {self.verdict or ('met' if self.met else 'MISSED')}) [{self.seconds:.1f} s]"
        )


def machine_summary() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    try:
        fs = subprocess.run(["df", "-hT", "."], capture_output=True, text=True, timeout=5).stdout.splitlines()[-1]
        disk = ", disk " + " ".join(fs.split()[1:3])
    except Exception:
        disk = ""
    return f"{cpu}, {os.cpu_count()} cores{mem}{disk}, {platform.system()} {platform.release()}"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def median(values: list[float]) -> float:
    return statistics.median(values)
