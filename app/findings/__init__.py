"""Findings: what in an inventory snapshot (and in the repositories the responder points at) needs action.

Each rule turns one failure pattern or break point into findings that name the records involved, say why
they matter, recommend an action, feed a checklist item and, where one fits, suggest a containment action.
Rules read only the snapshot (plus indicators and a repository scan), so a snapshot pulled live and the same
snapshot imported with the network off give the same findings, with the same ids.

Modules: `models` (Finding, RecordRef, severities, pattern ids, checklist items), `indicators` (hunt indicator
files), `index` (snapshot lookups shared by the rules), one module per family of rules (`access`, `debug_logs`,
`integrations`, `compromise`, `tokens`, `repository`), `engine` (evaluate), `lifecycle` (incident findings
followed across snapshots until their containment is verified), `summary` (`findings --json`) and `store`
(the journaled finding set). This package re-exports their public names.
"""

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
)
from app.findings.debug_logs import LOG_CREDENTIALS
from app.findings.engine import (
    RULES,
    evaluate,
    evaluate_repo,
    ordered,
)
from app.findings.index import (
    as_of,
    sf_time,
)
from app.findings.indicators import (
    BadAddress,
    Indicators,
    indicators_from_sets,
    load_indicators,
)
from app.findings.lifecycle import (
    INCIDENT_PATTERNS,
    Closure,
    follow,
)
from app.findings.models import (
    CHECKLIST,
    COMPROMISED_ACCESS,
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
from app.findings.store import (
    FINDINGS_KIND,
    followed,
    followed_users,
    project_findings,
    record,
)
from app.findings.summary import (
    FindingsReport,
    RepoScanSummary,
    report,
)
from app.findings.tokens import (
    BURST_FENCE,
    BURST_MIN_USES,
    STALE_DAYS,
    UNUSED_DAYS,
)

__all__ = [
    "BURST_FENCE",
    "BURST_MIN_USES",
    "CHECKLIST",
    "COMPROMISED_ACCESS",
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
    "INCIDENT_PATTERNS",
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
    "Closure",
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
    "follow",
    "followed",
    "followed_users",
    "indicators_from_sets",
    "load_indicators",
    "ordered",
    "project_findings",
    "record",
    "report",
    "sf_time",
]
