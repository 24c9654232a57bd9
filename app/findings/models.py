"""The finding model and its vocabulary: severities, pattern ids, containment actions and the checklist
item each pattern feeds; `_make` gives a finding its stable id (a hash of the records it names)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["critical", "high", "medium", "low", "info"]
ContainmentAction = Literal[
    "revoke_tokens",
    "end_sessions",
    "freeze_users",
    "deactivate_users",
    "strip_permissions",
    "quarantine_org",
    "block_app",
]
FindingStatus = Literal["open", "closed"]
SEVERITY_RANK: dict[str, int] = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}

# Pattern ids: the six failure patterns first (the simulated org's truth tables use the same ids).
OVER_PERMISSIONED = "over_permissioned_integration_user"
HARD_CODED = "hard_coded_credentials"
DEBUG_PII = "pii_in_debug_logs"
UNCLASSIFIED_SYNC = "unclassified_batch_sync"
UNREVIEWED_PACKAGE = "unreviewed_appexchange_package"
UNAUTHENTICATED_SOURCE = "unauthenticated_external_data_source"
COMPROMISED_TOKENS = "compromised_app_tokens"
COMPROMISED_USER = "compromised_user"
COMPROMISED_ACCESS = "compromised_user_access"
TOKEN_BURST = "token_use_burst"
STALE_TOKEN = "stale_oauth_token"
SELF_AUTHORIZED = "self_authorized_app"
UNINSTALLED_APP = "uninstalled_app_token"
NO_TLS = "endpoint_without_tls"
OPEN_SHARING = "open_sharing"
FLS_EXPOSURE = "sensitive_field_exposure"

FAILURE_PATTERNS = (
    OVER_PERMISSIONED,
    HARD_CODED,
    DEBUG_PII,
    UNCLASSIFIED_SYNC,
    UNREVIEWED_PACKAGE,
    UNAUTHENTICATED_SOURCE,
)
PATTERNS = (
    *FAILURE_PATTERNS,
    COMPROMISED_TOKENS,
    COMPROMISED_USER,
    COMPROMISED_ACCESS,
    TOKEN_BURST,
    STALE_TOKEN,
    SELF_AUTHORIZED,
    UNINSTALLED_APP,
    NO_TLS,
    OPEN_SHARING,
    FLS_EXPOSURE,
)

# Checklist items (ids from checklist.toml) each kind of finding feeds.
CHECKLIST = {
    OVER_PERMISSIONED: "scope.pattern-over-permissioned",
    HARD_CODED: "scope.pattern-hardcoded-credentials",
    DEBUG_PII: "scope.pattern-debug-pii",
    UNCLASSIFIED_SYNC: "scope.pattern-unclassified-sync",
    UNREVIEWED_PACKAGE: "scope.pattern-appexchange",
    UNAUTHENTICATED_SOURCE: "scope.pattern-salesforce-connect",
    COMPROMISED_TOKENS: "contain.revoke-tokens",
    COMPROMISED_ACCESS: "contain.strip-permissions",
    TOKEN_BURST: "forensics.timeline",
    STALE_TOKEN: "remediate.connected-app-hardening",
    SELF_AUTHORIZED: "remediate.connected-app-hardening",
    UNINSTALLED_APP: "contain.revoke-tokens",
    NO_TLS: "remediate.encryption-in-transit",
    OPEN_SHARING: "scope.pattern-over-permissioned",
    FLS_EXPOSURE: "scope.pattern-over-permissioned",
}


class RecordRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str
    id: str
    name: str | None = None


class Finding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    pattern: str
    severity: Severity
    title: str
    records: list[RecordRef]
    why: str
    action: str
    checklist_item: str | None
    containment: ContainmentAction | None = None
    details: list[str] = Field(default_factory=list)
    # What the finding is about across snapshots ("app:NAME", "sessions:USER_ID", "freeze:USER_ID",
    # "access:USER_ID"); incident findings are followed by it.
    target: str | None = None
    # An incident finding stays "open" until the containment that closes it is verified; `still_open` says
    # what is left, `history` when it was seen and what was done.
    status: FindingStatus = "open"
    still_open: list[str] = Field(default_factory=list)
    history: list[str] = Field(default_factory=list)


def _finding_id(pattern: str, keys: Iterable[str]) -> str:
    digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:10]
    return f"{pattern}:{digest}"


def _make(
    pattern: str,
    severity: Severity,
    title: str,
    records: list[RecordRef],
    why: str,
    action: str,
    *,
    containment: ContainmentAction | None = None,
    checklist: str | None = None,
    details: list[str] | None = None,
    key: Iterable[str] | None = None,
    target: str | None = None,
) -> Finding:
    keys = list(key) if key is not None else [f"{r.type}/{r.id}" for r in records]
    return Finding(
        id=_finding_id(pattern, keys),
        pattern=pattern,
        severity=severity,
        title=title,
        records=records,
        why=why,
        action=action,
        checklist_item=checklist or CHECKLIST.get(pattern),
        containment=containment,
        details=details or [],
        target=target,
    )
