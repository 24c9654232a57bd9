"""Containment plans and results as data: the models, the names of actions and operations, small helpers.

Kept apart from the planners (`app/containment/plan.py`) and the executor (`app/containment/execute.py`) so the
console, the runbook renderer and the projector can read plans without pulling in the Salesforce adapter.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from app.base.clock import format_instant
from app.base.errors import WarroomError
from app.journal.chain import canonical

if TYPE_CHECKING:
    from app.incident.core import Incident

PLAN_FORMAT: Final = "warroom.containment-plan"
PLAN_FORMAT_VERSION: Final = 1

Action = Literal[
    "revoke_tokens",
    "end_sessions",
    "freeze_users",
    "deactivate_users",
    "strip_permissions",
    "quarantine_org",
    "block_app",
    "uninstall_package",
    "rotate_consumer_secret",
    "undo",
    "grant_access",
    "harden",
]
ACTIONS: tuple[str, ...] = (
    "revoke_tokens",
    "end_sessions",
    "freeze_users",
    "deactivate_users",
    "strip_permissions",
    "quarantine_org",
    "block_app",
    "uninstall_package",
    "rotate_consumer_secret",
)
MANUAL_ACTIONS = ("block_app", "uninstall_package", "rotate_consumer_secret")
Op = Literal[
    "revoke_token",
    "delete_session",
    "freeze_user",
    "unfreeze_user",
    "deactivate_user",
    "reactivate_user",
    "delete_assignment",
    "create_assignment",
    "update_metadata",
    "delete_trace_flag",
    "update_debug_level",
]
OP_LABELS: dict[str, str] = {
    "revoke_token": "revoke OAuth token",
    "delete_session": "end session",
    "freeze_user": "freeze user",
    "unfreeze_user": "unfreeze user",
    "deactivate_user": "deactivate user",
    "reactivate_user": "reactivate user",
    "delete_assignment": "remove permission set assignment",
    "create_assignment": "re-assign permission set",
    "update_metadata": "deploy metadata settings",
    "delete_trace_flag": "remove debug-log trace flag",
    "update_debug_level": "set debug log levels",
}
UNDO_OP: dict[str, Op | None] = {
    "freeze_user": "unfreeze_user",
    "deactivate_user": "reactivate_user",
    "delete_assignment": "create_assignment",
    "update_metadata": "update_metadata",  # the settings read before, deployed back
    "update_debug_level": "update_debug_level",  # the levels read before, set back
    "revoke_token": None,
    "delete_session": None,
    "delete_trace_flag": None,
}
NOT_UNDOABLE = {
    "revoke_token": "a revoked OAuth token cannot be restored: the integration must be authorized again",
    "delete_session": "an ended session cannot be restored: the user or integration logs in again",
    "delete_trace_flag": "a removed trace flag is not put back: set a new one in Setup if debugging is needed",
}
# "unverified": the change was accepted but its after-state could not be read back by this login, so it is not
# claimed as done; the next apply re-reads it.
RecordStatus = Literal["ok", "already", "failed", "not_run", "unverified"]
ActionState = Literal[
    "planned", "approved", "running", "partial", "done", "failed", "undone", "unverified", "withdrawn"
]

# Permissions that make a grant worth stripping from a compromised or integration user (the findings' list).
DANGEROUS_PERMISSIONS: tuple[str, ...] = (
    "ModifyAllData",
    "ViewAllData",
    "AuthorApex",
    "CustomizeApplication",
    "ManageUsers",
    "ModifyMetadata",
    "ManageProfilesPermissionsets",
    "AssignPermissionSets",
)
IN_CHUNK = 200  # ids per `IN (...)` list: keeps each SOQL well under the 100,000-character limit
TRACE_FLAG_FIELDS = "Id, TracedEntityId, LogType, DebugLevelId, ExpirationDate"  # Tooling API TraceFlag
DEBUG_LEVEL_FIELDS = "Id, DeveloperName, ApexCode, Callout"  # Tooling API DebugLevel
METADATA_READ_CHUNK = 10  # readMetadata(): "Limit: 10" full names per call (Metadata API Developer Guide)
INLINE_RECORDS = 500  # per-record results beyond this go to the evidence store (hash in the entry)
FAILED_IN_STATE = 50  # failed record ids kept in derived state; the full list is in the result entry
MAX_CONSECUTIVE_FAILURES = 25  # the same refusal over and over (no permission) stops the run
MIN_FREE_BYTES = 16 * 1024 * 1024  # the result must be journaled too: refuse to start on a nearly full disk
NAMESPACE = "containment"
TASK_NAMESPACE = "containment_task"
UNJOURNALED_DIR = "unjournaled"

Progress = Callable[[int, int, "RecordResult"], None]


class ContainmentError(WarroomError):
    """A containment step that cannot go ahead; nothing was sent unless the message says otherwise."""


class ApprovalRefused(ContainmentError):
    """The typed alias or the approver does not satisfy the rule; nothing was sent."""


# --------------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Selectors(_Model):
    app: str | None = None
    user: str | None = None
    integration_users: bool = False
    users: list[str] = Field(default_factory=list)  # several usernames (a finding's users)
    tokens: list[str] = Field(default_factory=list)  # only these token refs (a finding's tokens)

    def named_users(self) -> list[str]:
        return list(dict.fromkeys([*([self.user] if self.user else []), *self.users]))


class TokenFilter(_Model):
    """Which OAuth tokens a plan is about: an app and/or a user, plus every token of some users."""

    app: str | None = None
    user_id: str | None = None
    also_users: list[str] = Field(default_factory=list)

    def _named(self) -> str:
        parts = [f"AppName = {soql_str(self.app)}"] if self.app else []
        if self.user_id:
            parts.append(f"UserId = {soql_str(self.user_id)}")
        return " AND ".join(parts)

    def where(self) -> str:
        """One SOQL filter (shown to people, and used for the verification count when it is short)."""
        named = self._named()
        if not self.also_users:
            return named
        clause = f"UserId IN {soql_in(sorted(set(self.also_users)))}"
        return f"({named}) OR {clause}" if named else clause

    def wheres(self) -> list[str]:
        """The filters to query with: a long user list is split so each query stays short."""
        named = self._named()
        out = [named] if named else []
        out.extend(f"UserId IN {soql_in(chunk)}" for chunk in chunks(sorted(set(self.also_users))))
        return out


class Step(_Model):
    """One record that will change: what it is, its state before, and the change."""

    n: int
    op: Op
    sobject: str
    record: str  # the record Id; for tokens the token ref; for re-assignments "AssigneeId:PermissionSetId"
    label: str
    before: dict[str, Any] = Field(default_factory=dict)
    change: dict[str, Any] = Field(default_factory=dict)


class Refusal(_Model):
    """A record the plan will not touch, and why (profile-owned grants, the responder's own login...)."""

    sobject: str
    record: str
    label: str
    reason: str


class ManualTask(_Model):
    """Work Salesforce offers no API for: exact Setup steps, closed only by a responder with evidence."""

    task_id: str
    kind: str
    title: str
    target: str
    steps: list[str]
    evidence: str


class GrantTerms(_Model):
    """Why and until when a just-in-time grant gives access, and who must approve it (app/grants)."""

    reason: str
    approver: str  # the person whose approval the grant needs (never the person applying it)
    expires_utc: str  # the assignment's ExpirationDate
    permission_set: str  # its API name
    assignee: str  # the username


class Plan(_Model):
    """Frozen: its canonical bytes are computed once (a 100,000-token plan takes seconds to encode)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    _body: bytes | None = PrivateAttr(default=None)

    format: Literal["warroom.containment-plan"] = PLAN_FORMAT
    format_version: Literal[1] = PLAN_FORMAT_VERSION
    plan_id: str
    action: Action
    org_alias: str
    instance_url: str | None = None
    org_id: str | None = None
    # What the before-state was read from: {"kind": "org"|"snapshot"|"journal"|"none", ...}.
    basis: dict[str, Any] = Field(default_factory=dict)
    selectors: Selectors = Field(default_factory=Selectors)
    token_filter: TokenFilter | None = None  # the filter the planned tokens were listed with
    token_where: str | None = None  # the same as one SOQL filter (for people, and the verification count)
    steps: list[Step] = Field(default_factory=list)
    counts: dict[str, int] = Field(default_factory=dict)
    refused: list[Refusal] = Field(default_factory=list)
    manual_tasks: list[ManualTask] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    undoes: str | None = None
    ticket: str | None = None  # the change or incident ticket the action answers to (auditors sample it)
    grant: GrantTerms | None = None  # only on a just-in-time grant; absent from the hashed body otherwise
    created_by: str
    created_utc: str
    sha256: str = ""

    @property
    def action_id(self) -> str:
        return self.plan_id

    def body(self) -> bytes:
        """The canonical bytes the hash covers (everything but the hash itself)."""
        if self._body is None:
            doc = self.model_dump(mode="json", exclude={"sha256"})
            if doc.get("grant") is None:  # plans made before grants existed hash as they always did
                doc.pop("grant", None)
            self._body = canonical(doc)
        return self._body

    def compute_sha256(self) -> str:
        return hashlib.sha256(self.body()).hexdigest()

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Plan:
        copy = super().model_copy(update=update, deep=deep)
        if update and set(update) - {"sha256"}:
            copy._body = None  # the content changed: encode it again
        return copy

    def sealed(self) -> Plan:
        body = self.body()
        plan = self.model_copy(update={"sha256": hashlib.sha256(body).hexdigest()})
        plan._body = body
        return plan

    def check_hash(self, where: str) -> None:
        actual = self.compute_sha256()
        if not self.sha256:
            raise ContainmentError(f"{where}: the plan carries no sha256; it cannot be tied to a journaled plan")
        if actual != self.sha256:
            raise ContainmentError(
                f"{where}: the plan was altered after it was made (its content hashes to "
                f"{actual[:16]}…, the plan says {self.sha256[:16]}…); nothing was sent"
            )


class RecordResult(_Model):
    n: int
    op: str
    record: str
    label: str = ""
    status: RecordStatus
    error: str | None = None
    code: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class Stop(_Model):
    # rate_limited | session_expired | offline | timeout | repeated_failures | wrong_org | interrupted |
    # missing_permissions
    reason: str
    message: str
    at_step: int | None = None


class ActionResult(_Model):
    action_id: str
    action: str
    org_alias: str
    plan_sha256: str
    run: int
    status: Literal["done", "partial", "failed", "nothing_to_do", "unverified"]
    counts: dict[str, int]
    records: list[RecordResult] = Field(default_factory=list)
    stopped: Stop | None = None
    verification: dict[str, Any] = Field(default_factory=dict)
    approver: str | None = None
    executor: str
    intent_seq: int | None = None
    result_seq: int | None = None
    checkpoint_seq: int | None = None
    open_tasks: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


class TaskStatus(_Model):
    task_id: str
    action_id: str
    kind: str
    title: str
    target: str
    steps: list[str]
    evidence_hint: str
    status: Literal["planned", "open", "confirmed"]
    evidence_id: str | None = None
    confirmed_by: str | None = None
    confirmed_utc: str | None = None


class ActionStatus(_Model):
    action_id: str
    action: str
    org_alias: str
    status: ActionState
    plan_sha256: str
    total: int
    done: int
    failed: int
    not_run: int
    unverified: int = 0
    by_op: dict[str, int] = Field(default_factory=dict)
    failed_records: list[dict[str, Any]] = Field(default_factory=list)
    runs: int = 0
    approvers: list[str] = Field(default_factory=list)
    created_by: str
    created_utc: str
    stopped: str | None = None
    undoes: str | None = None
    undone_by: str | None = None
    withdrawn_by: str | None = None
    withdrawn_utc: str | None = None
    withdrawn_reason: str | None = None
    tasks: list[TaskStatus] = Field(default_factory=list)
    plan_seq: int
    last_result_seq: int | None = None


# --------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------


def soql_str(value: str) -> str:
    """A SOQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def soql_in(values: Iterable[str]) -> str:
    return "(" + ", ".join(soql_str(v) for v in values) + ")"


def chunks(seq: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def id15(record_id: str | None) -> str:
    return (record_id or "")[:15]


def flat_row(row: dict[str, Any] | None, drop: Iterable[str] = ("DeleteToken",)) -> dict[str, Any]:
    """A row as journal-safe JSON: relationships flattened to dotted keys, no token values, no floats."""
    out: dict[str, Any] = {}
    skip = set(drop)

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if k == "attributes" or k in skip:
                    continue
                walk(f"{prefix}.{k}" if prefix else k, v)
        elif isinstance(value, float):
            out[prefix] = format(value, "g")
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53 - 1:
            out[prefix] = str(value)
        elif isinstance(value, list):
            out[prefix] = json.dumps(value, default=str)
        else:
            out[prefix] = value

    walk("", row or {})
    return out


def path_get(row: dict[str, Any] | None, path: str) -> Any:
    cur: Any = row
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def digest(obj: Any) -> str:
    return hashlib.sha256(canonical(obj)).hexdigest()


def now_utc(incident: Incident | None, clock: Any = None) -> str:
    if incident is not None:
        return format_instant(incident.clock.now())
    if clock is not None:
        return format_instant(clock.now())
    from app.base.clock import SystemClock

    return format_instant(SystemClock().now())


def error_text(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def org_errors() -> Any:
    """The adapter's error classes (imported late: the adapter pulls in requests and simple-salesforce)."""
    from app.salesforce import client as salesforce

    return salesforce
