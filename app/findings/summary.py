"""What `warroom findings --json` prints: counts by severity and pattern, the repository scans, the findings."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, Field

from app.findings.models import SEVERITY_RANK, Finding
from app.findings.reposcan import RepoScan


class RepoScanSummary(BaseModel):
    root: str
    files_scanned: int
    commits_scanned: int
    history: bool
    notes: list[str]


class FindingsReport(BaseModel):
    """What `warroom findings --json` prints."""

    snapshot: dict[str, Any] | None = None
    repo_scans: list[RepoScanSummary] = Field(default_factory=list)
    counts: dict[str, int]  # open findings by severity
    closed: int = 0  # incident findings whose containment was verified (listed after the open ones)
    patterns: dict[str, int]
    findings: list[Finding]


def report(
    found: list[Finding], snapshot: dict[str, Any] | None = None, scans: Iterable[RepoScan] = ()
) -> FindingsReport:
    counts = {s: sum(1 for f in found if f.severity == s and f.status == "open") for s in SEVERITY_RANK}
    patterns: dict[str, int] = {}
    for f in found:
        patterns[f.pattern] = patterns.get(f.pattern, 0) + 1
    repo = [
        RepoScanSummary(
            root=s.root,
            files_scanned=s.files_scanned,
            commits_scanned=s.commits_scanned,
            history=s.history,
            notes=s.notes,
        )
        for s in scans
    ]
    closed = sum(1 for f in found if f.status == "closed")
    return FindingsReport(
        snapshot=snapshot, repo_scans=repo, counts=counts, closed=closed, patterns=patterns, findings=found
    )
