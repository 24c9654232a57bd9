"""Evaluation: every rule over one snapshot index (plus indicators and a repository scan), most severe first."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

from app.findings.access import _field_exposure, _over_permissioned, _sharing, _unclassified_sync
from app.findings.compromise import _tokens_and_logins
from app.findings.debug_logs import _debug_logs
from app.findings.index import _Index
from app.findings.indicators import Indicators, load_indicators
from app.findings.integrations import _external_sources, _packages, _tls
from app.findings.models import PATTERNS, SEVERITY_RANK, Finding
from app.findings.reposcan import RepoScan
from app.findings.repository import _repo
from app.findings.tokens import _self_authorized, _token_hygiene
from app.inventory import Snapshot

RULES: tuple[Callable[[_Index], Iterator[Finding]], ...] = (
    _over_permissioned,
    _debug_logs,
    _unclassified_sync,
    _packages,
    _external_sources,
    _token_hygiene,
    _self_authorized,
    _tls,
    _sharing,
    _field_exposure,
)


def ordered(found: Iterable[Finding]) -> list[Finding]:
    """Open before closed, most severe first, then by pattern (the six failure patterns first), then title;
    duplicates dropped."""
    seen: set[str] = set()
    unique = []
    for f in found:
        if f.id not in seen:
            seen.add(f.id)
            unique.append(f)
    unique.sort(
        key=lambda f: (
            f.status == "closed",
            SEVERITY_RANK[f.severity],
            PATTERNS.index(f.pattern) if f.pattern in PATTERNS else 99,
            f.title,
        )
    )
    return unique


def evaluate(
    snap: Snapshot,
    *,
    indicators: Indicators | None = None,
    repo: RepoScan | None = None,
    exported: Sequence[str] = (),
) -> list[Finding]:
    """All findings for a snapshot, most severe first; ids are stable for the same records. `exported` names
    the objects known to have been taken (read on them then counts as a compromised user's export access)."""
    ix = _Index(snap, exported)
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
