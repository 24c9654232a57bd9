"""Findings: what in an inventory snapshot (and in the repositories the responder points at) needs action.

Each rule turns one failure pattern or break point into findings that name the records involved, say why
they matter, recommend an action, feed a checklist item and, where one fits, suggest a containment action.
Rules read only the snapshot (plus indicators and a repository scan), so a snapshot pulled live and the same
snapshot imported with the network off give the same findings, with the same ids.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from pydantic import BaseModel, Field

from app.findings.access import (
    CRITICAL_PERMISSIONS,
    CUSTOMER_OBJECTS,
    HIGH_PERMISSIONS,
    OPEN_LEVELS,
    PAYMENT_WORDS,
    PERSONAL_WORDS,
    SENSITIVE_CLASSES,
    SENSITIVE_COMPLIANCE,
    SUPPORT_WORDS,
    _field_exposure,
    _over_permissioned,
    _sharing,
    _unclassified_sync,
)
from app.findings.compromise import (
    _tokens_and_logins,
)
from app.findings.debug_logs import (
    LOG_CREDENTIALS,
    _debug_logs,
)
from app.findings.index import (
    _Index,
    as_of,
    sf_time,
)
from app.findings.indicators import (
    BadAddress,
    Indicators,
    indicators_from_sets,
    load_indicators,
)
from app.findings.integrations import (
    _external_sources,
    _packages,
    _tls,
)
from app.findings.models import (
    CHECKLIST,
    COMPROMISED_TOKENS,
    COMPROMISED_USER,
    DEBUG_PII,
    FAILURE_PATTERNS,
    FLS_EXPOSURE,
    HARD_CODED,
    NO_TLS,
    OPEN_SHARING,
    OVER_PERMISSIONED,
    PATTERNS,
    SELF_AUTHORIZED,
    SEVERITY_RANK,
    STALE_TOKEN,
    TOKEN_BURST,
    UNAUTHENTICATED_SOURCE,
    UNCLASSIFIED_SYNC,
    UNINSTALLED_APP,
    UNREVIEWED_PACKAGE,
    ContainmentAction,
    Finding,
    RecordRef,
    Severity,
)
from app.findings.repository import (
    _repo,
)
from app.findings.tokens import (
    BURST_FENCE,
    BURST_MIN_USES,
    STALE_DAYS,
    UNUSED_DAYS,
    _self_authorized,
    _token_hygiene,
)
from app.incident import Incident
from app.inventory import (
    Snapshot,
)
from app.journal import Entry, Lookup
from app.reposcan import RepoScan

# --------------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------------


RULES: tuple[Callable[[_Index], Iterator[Finding]], ...] = (
    _over_permissioned, _debug_logs, _unclassified_sync, _packages, _external_sources, _token_hygiene,
    _self_authorized, _tls, _sharing, _field_exposure,
)


def ordered(found: Iterable[Finding]) -> list[Finding]:
    """Most severe first, then by pattern (the six failure patterns first), then title; duplicates dropped."""
    seen: set[str] = set()
    unique = []
    for f in found:
        if f.id not in seen:
            seen.add(f.id)
            unique.append(f)
    unique.sort(key=lambda f: (SEVERITY_RANK[f.severity], PATTERNS.index(f.pattern) if f.pattern in PATTERNS
                               else 99, f.title))
    return unique


def evaluate(snap: Snapshot, *, indicators: Indicators | None = None, repo: RepoScan | None = None) -> list[Finding]:
    """All findings for a snapshot, most severe first; ids are stable for the same records."""
    ix = _Index(snap)
    found: list[Finding] = []
    for rule in RULES:
        found.extend(rule(ix))
    found.extend(_tokens_and_logins(ix, indicators if indicators is not None else load_indicators()))
    if repo is not None:
        found.extend(_repo(repo))
    return ordered(found)


def evaluate_repo(scan: RepoScan) -> list[Finding]:
    """Findings from a repository scan alone (no snapshot needed)."""
    return ordered(_repo(scan))


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
    counts: dict[str, int]
    patterns: dict[str, int]
    findings: list[Finding]


def report(found: list[Finding], snapshot: dict[str, Any] | None = None,
           scans: Iterable[RepoScan] = ()) -> FindingsReport:
    counts = {s: sum(1 for f in found if f.severity == s) for s in SEVERITY_RANK}
    patterns: dict[str, int] = {}
    for f in found:
        patterns[f.pattern] = patterns.get(f.pattern, 0) + 1
    repo = [RepoScanSummary(root=s.root, files_scanned=s.files_scanned, commits_scanned=s.commits_scanned,
                            history=s.history, notes=s.notes) for s in scans]
    return FindingsReport(snapshot=snapshot, repo_scans=repo, counts=counts, patterns=patterns, findings=found)


# --------------------------------------------------------------------------------------------------
# Journal: the findings of record, so the checklist and containment panels can follow them
# --------------------------------------------------------------------------------------------------

FINDINGS_KIND = "inventory.findings"


def _digest(found: list[Finding]) -> str:
    text = "\n".join(f"{f.id} {f.severity}" for f in found)
    return hashlib.sha256(text.encode()).hexdigest()


def record(incident: Incident, found: list[Finding], snapshot_evidence_id: str | None, actor: str) -> bool:
    """Journal the finding set when it differs from the one last recorded; True when an entry was written."""
    digest = _digest(found)
    current = incident.journal.get_state("inventory", "findings")
    if current and current.get("digest") == digest and current.get("snapshot") == snapshot_evidence_id:
        return False
    items = [{"id": f.id, "pattern": f.pattern, "severity": f.severity, "title": f.title,
              "checklist_item": f.checklist_item, "containment": f.containment, "records": len(f.records)}
             for f in found]
    incident.journal.append(FINDINGS_KIND, {"snapshot": snapshot_evidence_id, "digest": digest, "items": items},
                            actor)
    return True


def project_findings(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    """`inventory/findings`: the latest recorded finding set (ids, severities, checklist items, containment)."""
    d = entry.data
    yield "inventory", "findings", {"seq": entry.seq, "snapshot": d.get("snapshot"), "digest": d["digest"],
                                    "items": d["items"]}

__all__ = [
    "BURST_FENCE",
    "BURST_MIN_USES",
    "CHECKLIST",
    "COMPROMISED_TOKENS",
    "COMPROMISED_USER",
    "CRITICAL_PERMISSIONS",
    "CUSTOMER_OBJECTS",
    "DEBUG_PII",
    "FAILURE_PATTERNS",
    "FINDINGS_KIND",
    "FLS_EXPOSURE",
    "HARD_CODED",
    "HIGH_PERMISSIONS",
    "LOG_CREDENTIALS",
    "NO_TLS",
    "OPEN_LEVELS",
    "OPEN_SHARING",
    "OVER_PERMISSIONED",
    "PATTERNS",
    "PAYMENT_WORDS",
    "PERSONAL_WORDS",
    "RULES",
    "SELF_AUTHORIZED",
    "SENSITIVE_CLASSES",
    "SENSITIVE_COMPLIANCE",
    "SEVERITY_RANK",
    "STALE_DAYS",
    "STALE_TOKEN",
    "SUPPORT_WORDS",
    "TOKEN_BURST",
    "UNAUTHENTICATED_SOURCE",
    "UNCLASSIFIED_SYNC",
    "UNINSTALLED_APP",
    "UNREVIEWED_PACKAGE",
    "UNUSED_DAYS",
    "BadAddress",
    "ContainmentAction",
    "Finding",
    "FindingsReport",
    "Indicators",
    "RecordRef",
    "RepoScanSummary",
    "Severity",
    "as_of",
    "evaluate",
    "evaluate_repo",
    "indicators_from_sets",
    "load_indicators",
    "ordered",
    "project_findings",
    "record",
    "report",
    "sf_time",
]
