"""Containment actions: plan record by record, approve, journal the intent, execute, prove the state after.

Every action runs the same way, whether the console, the CLI or an offline plan file started it:

1. `make_plan` reads the live org and lists each record that will change with its state before, the counts,
   what it refuses (profile-owned grants) and the manual tasks Salesforce offers no API for. The plan is
   hashed (SHA-256 over its RFC 8785 canonical JSON), stored in the evidence store under that hash and
   journaled (`action.plan`). Planning changes nothing in the org.
2. `apply_plan` needs the org alias typed back (and, when the incident's setting asks for it, an approval
   journaled by someone other than the executor). It journals `action.approval`, then `action.intent`
   before anything at all is sent; if that append fails (disk full, journal locked), nothing is sent.
3. Each record is re-read, skipped when already in the target state (re-running is idempotent), changed,
   and given its own result. A rate limit, an expired session that re-login cannot fix, or a lost network
   stops the run where it is: the result says exactly which records were done, failed, or never tried.
4. `action.result` carries the per-record results with the state before and after (re-queried), and a
   verification count; then the journal is checkpointed (signed Merkle root).
5. A later apply of the same plan runs only the records not yet done. `undo` unfreezes, reactivates and
   re-assigns through the same steps; revoked tokens and ended sessions cannot be restored.

Token values never leave memory: an OAuth token is known by its `ref` (the inventory's fingerprint of its
DeleteToken), so plans, runbooks and journal entries can be carried and shown without exposing it. The
executor looks the DeleteToken up again at run time.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app import settings as settings_mod
from app.clock import format_instant
from app.errors import NotFoundError, UsageError, WarroomError
from app.inventory import INTEGRATION_LICENSES, INTEGRATION_PROFILES, token_ref
from app.journal import Entry, JournalError, Lookup, canonical

if TYPE_CHECKING:
    from app.incident import Incident

PLAN_FORMAT = "warroom.containment-plan"
PLAN_FORMAT_VERSION = 1

Action = Literal[
    "revoke_tokens", "end_sessions", "freeze_users", "deactivate_users", "strip_permissions", "quarantine_org",
    "block_app", "uninstall_package", "rotate_consumer_secret", "undo",
]
ACTIONS: tuple[str, ...] = (
    "revoke_tokens", "end_sessions", "freeze_users", "deactivate_users", "strip_permissions", "quarantine_org",
    "block_app", "uninstall_package", "rotate_consumer_secret",
)
MANUAL_ACTIONS = ("block_app", "uninstall_package", "rotate_consumer_secret")
Op = Literal[
    "revoke_token", "delete_session", "freeze_user", "unfreeze_user", "deactivate_user", "reactivate_user",
    "delete_assignment", "create_assignment",
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
}
UNDO_OP: dict[str, str | None] = {
    "freeze_user": "unfreeze_user",
    "deactivate_user": "reactivate_user",
    "delete_assignment": "create_assignment",
    "revoke_token": None,
    "delete_session": None,
}
NOT_UNDOABLE = {
    "revoke_token": "a revoked OAuth token cannot be restored: the integration must be authorized again",
    "delete_session": "an ended session cannot be restored: the user or integration logs in again",
}
RecordStatus = Literal["ok", "already", "failed", "not_run"]
ActionState = Literal["planned", "approved", "running", "partial", "done", "failed", "undone"]

# Permissions that make a grant worth stripping from a compromised or integration user (the findings' list).
DANGEROUS_PERMISSIONS: tuple[str, ...] = (
    "ModifyAllData", "ViewAllData", "AuthorApex", "CustomizeApplication", "ManageUsers", "ModifyMetadata",
    "ManageProfilesPermissionsets", "AssignPermissionSets",
)
IN_CHUNK = 200  # ids per `IN (...)` list: keeps each SOQL well under the 100,000-character limit
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


class Plan(_Model):
    format: Literal["warroom.containment-plan"] = PLAN_FORMAT
    format_version: Literal[1] = PLAN_FORMAT_VERSION
    plan_id: str
    action: Action
    org_alias: str
    instance_url: str | None = None
    org_id: str | None = None
    selectors: Selectors = Field(default_factory=Selectors)
    token_where: str | None = None  # SOQL filter the planned tokens were listed with (verification re-uses it)
    steps: list[Step] = Field(default_factory=list)
    counts: dict[str, int] = Field(default_factory=dict)
    refused: list[Refusal] = Field(default_factory=list)
    manual_tasks: list[ManualTask] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    undoes: str | None = None
    created_by: str
    created_utc: str
    sha256: str = ""

    @property
    def action_id(self) -> str:
        return self.plan_id

    def body(self) -> bytes:
        """The canonical bytes the hash covers (everything but the hash itself)."""
        return canonical(self.model_dump(mode="json", exclude={"sha256"}))

    def compute_sha256(self) -> str:
        return hashlib.sha256(self.body()).hexdigest()

    def sealed(self) -> Plan:
        return self.model_copy(update={"sha256": self.compute_sha256()})

    def check_hash(self, where: str) -> None:
        actual = self.compute_sha256()
        if not self.sha256:
            raise ContainmentError(f"{where}: the plan carries no sha256; it cannot be tied to a journaled plan")
        if actual != self.sha256:
            raise ContainmentError(f"{where}: the plan was altered after it was made (its content hashes to "
                                   f"{actual[:16]}…, the plan says {self.sha256[:16]}…); nothing was sent")


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
    reason: str  # rate_limited | session_expired | offline | timeout | repeated_failures | wrong_org | interrupted
    message: str
    at_step: int | None = None


class ActionResult(_Model):
    action_id: str
    action: str
    org_alias: str
    plan_sha256: str
    run: int
    status: Literal["done", "partial", "failed", "nothing_to_do"]
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
    by_op: dict[str, int] = Field(default_factory=dict)
    failed_records: list[dict[str, Any]] = Field(default_factory=list)
    runs: int = 0
    approvers: list[str] = Field(default_factory=list)
    created_by: str
    created_utc: str
    stopped: str | None = None
    undoes: str | None = None
    undone_by: str | None = None
    tasks: list[TaskStatus] = Field(default_factory=list)
    plan_seq: int
    last_result_seq: int | None = None


# --------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------


def _q(value: str) -> str:
    """A SOQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _in(values: Iterable[str]) -> str:
    return "(" + ", ".join(_q(v) for v in values) + ")"


def _chunks(seq: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def _id15(record_id: str | None) -> str:
    return (record_id or "")[:15]


def _flat(row: dict[str, Any] | None, drop: Iterable[str] = ("DeleteToken",)) -> dict[str, Any]:
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


def _get(row: dict[str, Any] | None, path: str) -> Any:
    cur: Any = row
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def _digest(obj: Any) -> str:
    return hashlib.sha256(canonical(obj)).hexdigest()


def _now(incident: Incident | None, clock: Any = None) -> str:
    if incident is not None:
        return format_instant(incident.clock.now())
    if clock is not None:
        return format_instant(clock.now())
    from app.clock import SystemClock

    return format_instant(SystemClock().now())


def _error_text(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _org_errors() -> Any:
    """The adapter's error classes (imported late: the adapter pulls in requests and simple-salesforce)."""
    from app import salesforce

    return salesforce


# --------------------------------------------------------------------------------------------------
# Reading the org
# --------------------------------------------------------------------------------------------------

TOKEN_FIELDS = "AppName, AppMenuItemId, UserId, User.Username, CreatedDate, LastUsedDate, UseCount, DeleteToken"
USER_FIELDS = ("Id, Username, Name, IsActive, UserType, ProfileId, Profile.Name, Profile.UserLicense.Name, "
               "Profile.PermissionsApiUserOnly")
SESSION_FIELDS = "Id, UsersId, SessionType, LoginType, SourceIp, CreatedDate, LastModifiedDate, NumSecondsValid"
LOGIN_FIELDS = "Id, UserId, IsFrozen, IsPasswordLocked, LastModifiedDate"
PSA_FIELDS = ("Id, AssigneeId, Assignee.Username, PermissionSetId, PermissionSet.Name, PermissionSet.Label, "
              "PermissionSet.IsOwnedByProfile, PermissionSet.Profile.Name, PermissionSetGroupId, ExpirationDate")


class _Reader:
    """Live queries a planner and the executor share (paging caps and `IN` chunking handled once)."""

    def __init__(self, org: Any) -> None:
        self.org = org
        self._users: dict[str, dict[str, Any]] = {}

    def query(self, soql: str) -> list[dict[str, Any]]:
        return self.org.query(soql)

    def by_ids(self, sobject: str, fields: str, ids: Sequence[str], key: str = "Id") -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(list(dict.fromkeys(ids))):
            for row in self.query(f"SELECT {fields} FROM {sobject} WHERE {key} IN {_in(chunk)}"):
                out[_id15(row.get(key))] = row
        return out

    def tokens(self, where: str) -> list[dict[str, Any]]:
        """Every OauthToken matching `where`. Salesforce serves at most 2,500 of them per query, so a capped
        answer is re-asked user by user (halving the user list until each part fits)."""
        rows = self.query(f"SELECT {TOKEN_FIELDS} FROM OauthToken WHERE {where}")
        if getattr(self.org, "last_truncation", None) is None:
            return rows
        user_ids = [u["Id"] for u in self.query("SELECT Id FROM User")]
        out: list[dict[str, Any]] = []
        for chunk in _chunks(user_ids, 100):
            out.extend(self._tokens_for(where, list(chunk)))
        return out

    def _tokens_for(self, where: str, user_ids: list[str]) -> list[dict[str, Any]]:
        rows = self.query(f"SELECT {TOKEN_FIELDS} FROM OauthToken WHERE ({where}) AND UserId IN {_in(user_ids)}")
        if getattr(self.org, "last_truncation", None) is None:
            return rows
        if len(user_ids) == 1:
            raise ContainmentError(f"user {user_ids[0]} holds more OAuth tokens matching {where} than Salesforce "
                                   "lists through the API (2,500); use Setup > Connected Apps OAuth Usage > "
                                   "Revoke All for that app")
        half = len(user_ids) // 2
        return self._tokens_for(where, user_ids[:half]) + self._tokens_for(where, user_ids[half:])

    def user_by_name(self, username: str) -> dict[str, Any]:
        rows = self.query(f"SELECT {USER_FIELDS} FROM User WHERE Username = {_q(username)}")
        if not rows:
            raise NotFoundError(f"no user {username!r} in the org")
        self._users[_id15(rows[0]["Id"])] = rows[0]
        return rows[0]

    def users(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        missing = [i for i in ids if _id15(i) not in self._users]
        if missing:
            self._users.update(self.by_ids("User", USER_FIELDS, missing))
        return {_id15(i): self._users[_id15(i)] for i in ids if _id15(i) in self._users}

    def integration_users(self) -> dict[str, str]:
        """Active user id -> why it counts as an integration user (the inventory's rules, read live)."""
        rows = self.query(f"SELECT {USER_FIELDS} FROM User WHERE IsActive = true")
        api_only_holders: set[str] = set()
        try:
            for row in self.query("SELECT AssigneeId FROM PermissionSetAssignment "
                                  "WHERE PermissionSet.PermissionsApiUserOnly = true"):
                api_only_holders.add(_id15(row.get("AssigneeId")))
        except WarroomError:
            pass  # the flag is absent in some orgs: licence and profile still decide
        out: dict[str, str] = {}
        for row in rows:
            self._users[_id15(row["Id"])] = row
            licence = (_get(row, "Profile.UserLicense.Name") or "").lower()
            profile = (_get(row, "Profile.Name") or "").lower()
            if licence in INTEGRATION_LICENSES:
                out[row["Id"]] = f"licence {_get(row, 'Profile.UserLicense.Name')}"
            elif profile in INTEGRATION_PROFILES:
                out[row["Id"]] = f"profile {_get(row, 'Profile.Name')}"
            elif _get(row, "Profile.PermissionsApiUserOnly"):
                out[row["Id"]] = f"API-only profile {_get(row, 'Profile.Name')}"
            elif _id15(row["Id"]) in api_only_holders:
                out[row["Id"]] = "API-only permission from a permission set"
            elif (row.get("UserType") or "").lower() in ("integration", "automatedprocess"):
                out[row["Id"]] = f"user type {row.get('UserType')}"
        return out

    def dangerous_fields(self) -> list[str]:
        """The dangerous permission flags this org's PermissionSet actually has (absent ones break a query)."""
        try:
            present = self.org.describe_fields("PermissionSet")
        except WarroomError:
            present = {f"Permissions{p}" for p in DANGEROUS_PERMISSIONS[:5]}
        return [p for p in DANGEROUS_PERMISSIONS if f"Permissions{p}" in present]


def _username(reader: _Reader, user_id: str | None) -> str:
    if not user_id:
        return "?"
    row = reader.users([user_id]).get(_id15(user_id))
    return (row or {}).get("Username") or user_id


# --------------------------------------------------------------------------------------------------
# Planning
# --------------------------------------------------------------------------------------------------


class _Draft:
    """A plan being assembled: steps are numbered in the order they will run."""

    def __init__(self, action: str, selectors: Selectors) -> None:
        self.action = action
        self.selectors = selectors
        self.steps: list[Step] = []
        self.refused: list[Refusal] = []
        self.tasks: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.token_where: str | None = None

    def add(self, op: str, sobject: str, record: str, label: str, before: dict[str, Any],
            change: dict[str, Any]) -> None:
        self.steps.append(Step(n=len(self.steps) + 1, op=op, sobject=sobject, record=record, label=label,
                               before=before, change=change))  # type: ignore[arg-type]

    def refuse(self, sobject: str, record: str, label: str, reason: str) -> None:
        self.refused.append(Refusal(sobject=sobject, record=record, label=label, reason=reason))

    def task(self, kind: str, title: str, target: str, steps: list[str], evidence: str) -> None:
        if any(t["kind"] == kind and t["target"] == target for t in self.tasks):
            return
        self.tasks.append({"kind": kind, "title": title, "target": target, "steps": steps, "evidence": evidence})


def _self_id(org: Any) -> str | None:
    ident = _IDENTITIES.get(id(org))
    return ident[1].user_id if ident is not None and ident[0] is org else None


def _scope_users(reader: _Reader, draft: _Draft, app_user_ids: list[str] | None = None) -> dict[str, str]:
    """User id -> why it is in scope: the named user, else the app's token holders, else integration users."""
    sel = draft.selectors
    if sel.user:
        row = reader.user_by_name(sel.user)
        return {row["Id"]: f"named user {sel.user}"}
    scope: dict[str, str] = {}
    if sel.app:
        for uid in app_user_ids or []:
            scope.setdefault(uid, f"holds {sel.app} OAuth tokens")
    if sel.integration_users or not sel.app:
        for uid, why in reader.integration_users().items():
            scope.setdefault(uid, f"integration user ({why})")
    return scope


def _drop_self(org: Any, reader: _Reader, draft: _Draft, scope: dict[str, str]) -> dict[str, str]:
    me = _self_id(org)
    if me and any(_id15(u) == _id15(me) for u in scope):
        scope = {u: w for u, w in scope.items() if _id15(u) != _id15(me)}
        draft.refuse("User", me, _username(reader, me),
                     "this is the login running containment: it is left alone so the response can continue")
    return scope


def _token_where(reader: _Reader, draft: _Draft, users: Iterable[str] | None = None) -> str:
    sel = draft.selectors
    parts: list[str] = []
    if sel.app:
        parts.append(f"AppName = {_q(sel.app)}")
    if sel.user:
        parts.append(f"UserId = {_q(reader.user_by_name(sel.user)['Id'])}")
    where = " AND ".join(parts)
    extra = sorted(set(users or ()))
    if extra:
        clause = f"UserId IN {_in(extra)}"
        where = f"({where}) OR {clause}" if where else clause
    if not where:
        raise UsageError("revoke_tokens needs --app NAME, --user USERNAME or --integration-users")
    return where


def _check_app(reader: _Reader, app: str, tokens: list[dict[str, Any]]) -> None:
    if tokens:
        return
    names = sorted({r.get("AppName") or "" for r in reader.query(
        f"SELECT AppName FROM OauthToken WHERE AppName LIKE {_q('%' + app.replace('%', '') + '%')}")})
    if names:
        raise NotFoundError(f"no OAuth token has AppName exactly {app!r}; similar names: {', '.join(names)}")


def _plan_tokens(reader: _Reader, draft: _Draft, users: Iterable[str] | None = None) -> list[str]:
    """Add a revoke step per matching token; returns the distinct holders."""
    where = _token_where(reader, draft, users)
    draft.token_where = where
    rows = reader.tokens(where)
    if draft.selectors.app and not users:
        _check_app(reader, draft.selectors.app, rows)
        if not rows:
            draft.notes.append(f"No OAuth token of {draft.selectors.app} exists in the org now.")
    holders = list(dict.fromkeys(r.get("UserId") for r in rows if r.get("UserId")))
    reader.users(holders)
    rows.sort(key=lambda r: (r.get("AppName") or "", _username(reader, r.get("UserId")), r.get("CreatedDate") or ""))
    for row in rows:
        ref = token_ref(row.get("DeleteToken"), row.get("AppName"), row.get("UserId"), row.get("CreatedDate"))
        if not row.get("DeleteToken"):
            draft.refuse("OauthToken", ref, f"{row.get('AppName')} token of {_username(reader, row.get('UserId'))}",
                         "Salesforce returned no DeleteToken for it (the login may lack Customize Application); "
                         "revoke it in Setup > Connected Apps OAuth Usage")
            continue
        before = _flat(row)
        before["Username"] = _username(reader, row.get("UserId"))
        draft.add("revoke_token", "OauthToken", ref,
                  f"{row.get('AppName')} token of {before['Username']} (created {row.get('CreatedDate')})",
                  before, {"revoked": True})
    draft.notes.append(NOT_UNDOABLE["revoke_token"] + ".")
    return holders


def _plan_sessions(reader: _Reader, draft: _Draft, users: dict[str, str]) -> None:
    ids = list(users)
    reader.users(ids)
    rows: list[dict[str, Any]] = []
    for chunk in _chunks(ids):
        rows.extend(reader.query(f"SELECT {SESSION_FIELDS} FROM AuthSession WHERE UsersId IN {_in(chunk)}"))
    rows.sort(key=lambda r: (_username(reader, r.get("UsersId")), r.get("CreatedDate") or ""))
    for row in rows:
        name = _username(reader, row.get("UsersId"))
        draft.add("delete_session", "AuthSession", row["Id"],
                  f"{row.get('SessionType') or 'session'} of {name} from {row.get('SourceIp') or '?'}",
                  {**_flat(row), "Username": name}, {"deleted": True})
    draft.notes.append(NOT_UNDOABLE["delete_session"] + "; without revoking the tokens too, an integration "
                       "can mint a new session.")


def _plan_freeze(reader: _Reader, draft: _Draft, users: dict[str, str], *, freeze: bool = True) -> None:
    ids = list(users)
    reader.users(ids)
    logins = sorted(reader.by_ids("UserLogin", LOGIN_FIELDS, ids, key="UserId").values(),
                    key=lambda r: _username(reader, r.get("UserId")))
    seen = {_id15(r.get("UserId")) for r in logins}
    for uid in ids:
        if _id15(uid) not in seen:
            draft.refuse("User", uid, _username(reader, uid), "no UserLogin row (the login may lack Manage Users)")
    why = {_id15(u): w for u, w in users.items()}
    already = 0
    for row in logins:
        name = _username(reader, row.get("UserId"))
        if bool(row.get("IsFrozen")) == freeze:
            already += 1
            continue
        draft.add("freeze_user" if freeze else "unfreeze_user", "UserLogin", row["Id"],
                  f"{name} ({why.get(_id15(row.get('UserId')), 'in scope')})", {**_flat(row), "Username": name},
                  {"IsFrozen": freeze})
    if already:
        draft.notes.append(f"{already} user(s) already {'frozen' if freeze else 'unfrozen'}: left as they are.")


def _plan_deactivate(reader: _Reader, draft: _Draft, users: dict[str, str]) -> None:
    rows = reader.users(list(users))
    already = 0
    for uid in users:
        row = rows.get(_id15(uid))
        if row is None:
            draft.refuse("User", uid, uid, "not found")
            continue
        if not row.get("IsActive"):
            already += 1
            continue
        draft.add("deactivate_user", "User", row["Id"], f"{row.get('Username')} ({users[uid]})",
                  {"Id": row["Id"], "Username": row.get("Username"), "IsActive": True}, {"IsActive": False})
    if already:
        draft.notes.append(f"{already} user(s) already inactive: left as they are.")
    draft.notes.append("Deactivation breaks the integration and frees the licence; prefer freezing during triage. "
                       "Some users (a default workflow user, a site guest owner) cannot be deactivated.")


def _plan_strip(reader: _Reader, draft: _Draft, users: dict[str, str]) -> None:
    flags = reader.dangerous_fields()
    if not flags:
        draft.notes.append("This org's PermissionSet has none of the dangerous permission fields.")
        return
    ids = list(users)
    reader.users(ids)
    cond = " OR ".join(f"PermissionSet.Permissions{f} = true" for f in flags)
    flag_fields = ", ".join(f"PermissionSet.Permissions{f}" for f in flags)
    rows: list[dict[str, Any]] = []
    for chunk in _chunks(ids):
        rows.extend(reader.query(f"SELECT {PSA_FIELDS}, {flag_fields} FROM PermissionSetAssignment "
                                 f"WHERE AssigneeId IN {_in(chunk)} AND ({cond})"))
    rows.sort(key=lambda r: (_username(reader, r.get("AssigneeId")), _get(r, "PermissionSet.Name") or ""))
    for row in rows:
        name = _username(reader, row.get("AssigneeId"))
        granted = [f for f in flags if _get(row, f"PermissionSet.Permissions{f}")]
        ps_name = _get(row, "PermissionSet.Label") or _get(row, "PermissionSet.Name") or row.get("PermissionSetId")
        label = f"{ps_name} ({', '.join(granted)}) on {name}"
        before = {k: v for k, v in _flat(row).items() if not k.startswith("PermissionSet.Permissions")}
        before["Username"] = name
        before["Grants"] = granted
        if _get(row, "PermissionSet.IsOwnedByProfile"):
            profile = _get(row, "PermissionSet.Profile.Name") or "its profile"
            draft.refuse("PermissionSetAssignment", row["Id"], label,
                         f"owned by the profile {profile!r}: a profile's grant cannot be removed by deleting the "
                         "assignment; change the user's profile instead (manual task)")
            draft.task("change_profile", f"Move {name} off the profile {profile}", name, [
                f"Setup > Users > Users > {name} > Edit.",
                "Set Profile to 'Minimum Access - API Only Integrations' (or another profile without "
                f"{', '.join(granted)}), and Save.",
                "Record it as an emergency change; give the integration back only what it needs through a "
                "permission set.",
                "Confirm: Setup > Users > Users > the user shows the new profile; Setup Audit Trail has the change.",
            ], "screenshot of the user's detail page with the new profile, or the Setup Audit Trail row")
            continue
        draft.add("delete_assignment", "PermissionSetAssignment", row["Id"], label, before, {"deleted": True})
    if not rows:
        draft.notes.append("No user in scope holds a permission set with " + ", ".join(flags) + ".")


def _task_block_app(draft: _Draft, app: str) -> None:
    draft.task("block_app", f"Block the connected app {app}", app, [
        "Setup > Apps > Connected Apps > Connected Apps OAuth Usage.",
        f"Find {app!r} and click Block (ends its sessions, refuses new ones, revokes its tokens).",
        f"If {app!r} is installed: Setup > Apps > Connected Apps > Manage Connected Apps > {app} > Edit Policies > "
        "Permitted Users = 'Admin approved users are pre-authorized', then remove every profile and permission "
        "set from it.",
        "Confirm: the OAuth Usage page shows the app Blocked; Setup Audit Trail shows the change.",
    ], "screenshot of Connected Apps OAuth Usage showing the app Blocked, or the Setup Audit Trail row")


def _task_uninstall(draft: _Draft, name: str) -> None:
    draft.task("uninstall_package", f"Uninstall the package {name}", name, [
        "Setup > Apps > Packaging > Installed Packages.",
        f"Find {name!r}, click Uninstall, choose whether to save a data export (keep it as evidence), confirm.",
        "Setup > Apps > Connected Apps > Connected Apps OAuth Usage: click Uninstall for the package's app if it "
        "is still listed.",
        "Confirm: the package is gone from Installed Packages; Setup Audit Trail shows the uninstall.",
    ], "screenshot of Installed Packages without the package, or the Setup Audit Trail row")


def _task_rotate_secret(draft: _Draft, app: str) -> None:
    draft.task("rotate_consumer_secret", f"Rotate the consumer secret of {app}", app, [
        f"If {app!r} is your own connected app: Setup > Apps > App Manager > {app} > View > Manage Consumer "
        "Details (verify by email code) > Generate (new consumer secret), then update every client that uses it.",
        "For an External Client App: Setup > External Client App Manager > the app > Settings > OAuth Settings > "
        "Consumer Key and Secret > stage a new secret, move the clients over, then delete the old one.",
        f"If {app!r} is a vendor's app, its secret lives in the vendor's org: ask the vendor to rotate it and get "
        "their written confirmation; meanwhile keep the app blocked.",
        "Confirm: the old secret no longer works (a login with it fails).",
    ], "the vendor's written confirmation, or a screenshot of the new secret's creation date")


def _quarantine_tasks(draft: _Draft) -> None:
    draft.task("login_ip_ranges", "Restrict logins to known networks", "integration and admin profiles", [
        "Setup > Users > Profiles > each integration and high-privilege profile > Login IP Ranges > New: add only "
        "the corporate and middleware ranges.",
        "Setup > Apps > Connected Apps > Manage Connected Apps > each app > Edit Policies > IP Relaxation = "
        "'Enforce IP restrictions'; shorten Timeout Value.",
        "Record it as an emergency change with its rollback plan.",
    ], "screenshots of the profiles' Login IP Ranges and the apps' IP Relaxation")
    draft.task("api_access_control", "Allow only admin-approved API clients", "the org", [
        "Open a Salesforce Support case asking to enable API Access Control for the org.",
        "Then Setup > Apps > Connected Apps > Connected Apps OAuth Usage: install the apps that must keep working "
        "and pre-authorize them for their profiles or permission sets.",
        "Then set 'Limit API access to installed and approved apps' (Metadata: "
        "ConnectedAppSettings.enableAdminApprovedAppsOnly = true).",
    ], "the Support case number, then a screenshot of the setting switched on")


def _new_plan_id(incident: Incident | None) -> str:
    while True:
        plan_id = f"CA-{secrets.token_hex(3).upper()}"
        if incident is None or incident.journal.get_state(NAMESPACE, plan_id) is None:
            return plan_id


def _finish(draft: _Draft, *, plan_id: str, org_alias: str, instance_url: str | None, org_id: str | None,
            actor: str, created: str, undoes: str | None = None) -> Plan:
    counts: dict[str, int] = {}
    for step in draft.steps:
        counts[step.op] = counts.get(step.op, 0) + 1
    tasks = [ManualTask(task_id=f"{plan_id}-T{i}", **t) for i, t in enumerate(draft.tasks, start=1)]
    plan = Plan(plan_id=plan_id, action=draft.action, org_alias=org_alias,  # type: ignore[arg-type]
                instance_url=instance_url, org_id=org_id, selectors=draft.selectors, token_where=draft.token_where,
                steps=draft.steps, counts=counts, refused=draft.refused, manual_tasks=tasks,
                notes=list(dict.fromkeys(draft.notes)), undoes=undoes, created_by=actor, created_utc=created)
    return plan.sealed()


_IDENTITIES: dict[int, tuple[Any, Any]] = {}


def _identify(org: Any) -> Any:
    """Who the login is and which org (asked once per Org object)."""
    cached = _IDENTITIES.get(id(org))
    if cached is not None and cached[0] is org:
        return cached[1]
    ident = org.identity()
    if len(_IDENTITIES) > 32:
        _IDENTITIES.clear()
    _IDENTITIES[id(org)] = (org, ident)
    return ident


def build_plan(org: Any, action: str, *, app: str | None = None, user: str | None = None,
               integration_users: bool = False, actor: str, created_utc: str, plan_id: str,
               org_alias: str | None = None) -> Plan:
    """Read the org and list every change `action` makes, record by record (nothing is changed)."""
    if action not in ACTIONS:
        raise UsageError(f"unknown containment action {action!r}; one of: {', '.join(ACTIONS)}")
    sel = Selectors(app=app.strip() if app else None, user=user.strip() if user else None,
                    integration_users=integration_users)
    draft = _Draft(action, sel)
    alias = org_alias or getattr(org, "alias", None) or "org"
    if org is None:
        if action not in MANUAL_ACTIONS:
            raise UsageError(f"{action} reads the org to plan; connect with --org ALIAS")
        instance_url = org_id = None
    else:
        ident = _identify(org)
        instance_url, org_id = ident.instance_url, ident.org_id
    reader = _Reader(org) if org is not None else None

    if action in ("block_app", "rotate_consumer_secret", "uninstall_package") and not sel.app:
        raise UsageError(f"{action} needs --app NAME")
    if action == "block_app":
        _task_block_app(draft, sel.app or "")
    elif action == "rotate_consumer_secret":
        _task_rotate_secret(draft, sel.app or "")
    elif action == "uninstall_package":
        _task_uninstall(draft, sel.app or "")
    else:
        assert reader is not None
        if action == "revoke_tokens":
            if not (sel.app or sel.user or sel.integration_users):
                raise UsageError("revoke_tokens needs --app NAME, --user USERNAME or --integration-users")
            users = list(_scope_users(reader, draft)) if sel.integration_users and not sel.user else None
            _plan_tokens(reader, draft, users)
        elif action == "quarantine_org":
            _plan_quarantine(org, reader, draft)
        else:
            if not (sel.app or sel.user or sel.integration_users):
                raise UsageError(f"{action} needs --user USERNAME, --app NAME (its users) or --integration-users")
            app_users: list[str] = []
            if sel.app and not sel.user:
                app_users = list(dict.fromkeys(r["UserId"] for r in reader.tokens(f"AppName = {_q(sel.app)}")
                                               if r.get("UserId")))
                if not app_users:
                    draft.notes.append(f"No user holds {sel.app} OAuth tokens now.")
            scope = _drop_self(org, reader, draft, _scope_users(reader, draft, app_users))
            if action == "end_sessions":
                _plan_sessions(reader, draft, scope)
            elif action == "freeze_users":
                _plan_freeze(reader, draft, scope)
            elif action == "deactivate_users":
                _plan_deactivate(reader, draft, scope)
            elif action == "strip_permissions":
                _plan_strip(reader, draft, scope)
    return _finish(draft, plan_id=plan_id, org_alias=alias, instance_url=instance_url, org_id=org_id, actor=actor,
                   created=created_utc)


def _plan_quarantine(org: Any, reader: _Reader, draft: _Draft) -> None:
    """Everything an org's integrations can do, stopped: tokens, then logins, then sessions, then grants."""
    sel = draft.selectors
    scope: dict[str, str] = {}
    if sel.user:
        row = reader.user_by_name(sel.user)
        scope[row["Id"]] = f"named user {sel.user}"
    for uid, why in reader.integration_users().items():
        scope.setdefault(uid, f"integration user ({why})")
    if sel.app:
        for row in reader.tokens(f"AppName = {_q(sel.app)}"):
            if row.get("UserId"):
                scope.setdefault(row["UserId"], f"holds {sel.app} OAuth tokens")
    scope = _drop_self(org, reader, draft, scope)
    if scope or sel.app:
        draft.selectors = Selectors(app=sel.app, user=None, integration_users=True)
        _plan_tokens(reader, draft, list(scope))
        draft.selectors = sel
    else:
        draft.notes.append("No integration user and no app named: no token to revoke.")
    apps = sorted({s.before.get("AppName") for s in draft.steps if s.before.get("AppName")} | (
        {sel.app} if sel.app else set()))
    _plan_freeze(reader, draft, scope)
    _plan_sessions(reader, draft, scope)
    _plan_strip(reader, draft, scope)
    for app in apps:
        _task_block_app(draft, app)
    if sel.app:
        _task_rotate_secret(draft, sel.app)
    _quarantine_tasks(draft)
    draft.notes.append("Deactivation is a separate step (deactivate_users) once the integrations are understood.")


def make_plan(ctx_or_org: Any, incident: Incident | None, action: str, app: str | None = None,
              user: str | None = None, *, integration_users: bool = False, actor: str | None = None,
              org_alias: str | None = None, instance_url: str | None = None, ca: Path | None = None,
              out: Path | None = None) -> Plan:
    """Plan `action` against the live org and, with an incident, journal it (`action.plan`).

    `ctx_or_org` is a logged-in `app.salesforce.Org`, a `Context` (the org is opened from `org_alias`), or
    None for the manual-only actions (block_app, uninstall_package, rotate_consumer_secret) with `org_alias`.
    """
    org = ctx_or_org
    if ctx_or_org is not None and not hasattr(ctx_or_org, "query"):
        ctx = ctx_or_org
        actor = actor or ctx.actor
        if action in MANUAL_ACTIONS and not org_alias:
            raise UsageError(f"{action} needs --org ALIAS (the org the task is for)")
        if action in MANUAL_ACTIONS and instance_url is None:
            org = None
        else:
            if not org_alias:
                raise UsageError("name the org with --org ALIAS")
            from app.commands.inventory import open_org

            org = open_org(ctx, org_alias, instance_url=instance_url, ca=ca)
    if actor is None:
        raise UsageError("make_plan needs the actor planning it")
    plan = build_plan(org, action, app=app, user=user, integration_users=integration_users, actor=actor,
                      created_utc=_now(incident), plan_id=_new_plan_id(incident), org_alias=org_alias)
    if incident is not None:
        journal_plan(incident, plan, actor, origin="exported" if out else "planned", file=out)
    return plan


# --------------------------------------------------------------------------------------------------
# Plans in the journal, in the evidence store and in files
# --------------------------------------------------------------------------------------------------


def journal_plan(incident: Incident, plan: Plan, actor: str, *, origin: str = "planned",
                 file: Path | None = None) -> Entry:
    """Store the plan's canonical bytes as evidence (their SHA-256 is the plan hash) and journal `action.plan`."""
    plan.check_hash(f"plan {plan.plan_id}")
    current = incident.journal.get_state(NAMESPACE, plan.plan_id)
    if current is not None:
        if current["plan_sha256"] != plan.sha256:
            raise ContainmentError(f"plan {plan.plan_id} is already journaled with a different hash "
                                   f"({current['plan_sha256'][:16]}…); this one hashes to {plan.sha256[:16]}…")
        entry = incident.journal.entry(current["plan_seq"])
        assert entry is not None
        return entry
    record = incident.add_evidence_bytes(plan.body(), f"containment-plan-{plan.plan_id}.json", actor,
                                         note=f"containment plan {plan.plan_id}: {plan.action} on {plan.org_alias}",
                                         source={"kind": "containment.plan", "action_id": plan.plan_id})
    assert record.sha256 == plan.sha256
    data: dict[str, Any] = {
        "action_id": plan.plan_id,
        "action": plan.action,
        "plan_sha256": plan.sha256,
        "plan_evidence_id": record.evidence_id,
        "origin": origin,
        "org_alias": plan.org_alias,
        "instance_url": plan.instance_url,
        "org_id": plan.org_id,
        "selectors": plan.selectors.model_dump(),
        "counts": plan.counts,
        "steps_total": len(plan.steps),
        "before_sha256": _digest([s.before for s in plan.steps]),
        "refused": [r.model_dump() for r in plan.refused[:FAILED_IN_STATE]],
        "refused_count": len(plan.refused),
        "manual_tasks": [t.model_dump() for t in plan.manual_tasks],
        "created_by": plan.created_by,
        "created_utc": plan.created_utc,
    }
    if plan.undoes:
        data["undoes"] = plan.undoes
    if file is not None:
        data["file"] = str(file)
    return incident.journal.append("action.plan", data, actor)


def plan_from_bytes(raw: bytes, where: str) -> Plan:
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ContainmentError(f"{where}: not a plan file (JSON: {exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != PLAN_FORMAT:
        raise ContainmentError(f"{where}: not a warroom containment plan (format {PLAN_FORMAT!r} expected)")
    try:
        plan = Plan.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ContainmentError(f"{where}: {loc}: {first['msg']}") from None
    if not plan.sha256:
        plan = plan.model_copy(update={"sha256": hashlib.sha256(raw).hexdigest()}) if raw == plan.body() else plan
    plan.check_hash(where)
    return plan


def load_plan(incident: Incident, ref: str | Path) -> Plan:
    """A plan file (verified against its own hash) or a journaled action id (read back from the evidence store)."""
    path = Path(ref)
    if path.is_file():
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ContainmentError(f"{path}: cannot read ({exc.strerror})") from None
        return plan_from_bytes(raw, str(path))
    action_id = str(ref).strip().upper()
    current = incident.journal.get_state(NAMESPACE, action_id)
    if current is None:
        raise NotFoundError(f"no containment plan {ref!r}: neither a file nor an action id in {incident.id} "
                            "(`warroom contain status` lists them)")
    sha = current["plan_sha256"]
    try:
        raw = incident.evidence.path_for(sha).read_bytes()
    except OSError:
        raise ContainmentError(f"plan {action_id}: its stored copy sha256:{sha[:16]}… is missing from the evidence "
                               "store") from None
    if hashlib.sha256(raw).hexdigest() != sha:
        raise ContainmentError(f"plan {action_id}: the stored copy no longer matches sha256:{sha[:16]}…")
    plan = plan_from_bytes(raw, f"plan {action_id}")
    return plan


def export_plan(plan: Plan, out: Path) -> tuple[Path, Path]:
    """Write the executable plan file and its runbook (Markdown, same name with .md) beside it."""
    from app.containment_runbook import render_runbook

    plan.check_hash(f"plan {plan.plan_id}")
    out = out.expanduser()
    runbook = out.with_suffix(".md") if out.suffix.lower() != ".md" else out.with_suffix(".runbook.md")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(plan.model_dump_json(indent=2) + "\n", encoding="utf-8")
        runbook.write_text(render_runbook(plan, plan_file=out.name), encoding="utf-8")
    except OSError as exc:
        raise ContainmentError(f"cannot write the plan to {out}: {exc.strerror or exc}") from None
    return out, runbook


# --------------------------------------------------------------------------------------------------
# Approval
# --------------------------------------------------------------------------------------------------


def _check_alias(plan: Plan, confirm_alias: str | None) -> None:
    typed = (confirm_alias or "").strip()
    if typed != plan.org_alias:
        raise ApprovalRefused(f"the alias typed ({typed or 'nothing'!r}) is not the plan's org {plan.org_alias!r}; "
                              f"nothing was sent")


def _approvals(incident: Incident, plan: Plan) -> list[Entry]:
    return [e for e in incident.journal.entries(kind="action.approval")
            if e.data.get("action_id") == plan.plan_id and e.data.get("plan_sha256") == plan.sha256]


def _ensure_journaled(incident: Incident, plan: Plan, actor: str, plan_file: Path | None) -> dict[str, Any]:
    plan.check_hash(f"plan {plan.plan_id}")
    current = incident.journal.get_state(NAMESPACE, plan.plan_id)
    if current is None:
        journal_plan(incident, plan, actor, origin="imported", file=plan_file)
        current = incident.journal.get_state(NAMESPACE, plan.plan_id)
    elif current["plan_sha256"] != plan.sha256:
        raise ContainmentError(f"plan {plan.plan_id}: this copy hashes to {plan.sha256[:16]}…, but the journal holds "
                               f"{current['plan_sha256'][:16]}… for that id (entry {current['plan_seq']}); the file "
                               "was changed after planning; nothing was sent")
    return current


def approve(incident: Incident, plan: Plan, confirm_alias: str | None, approver: str, *,
            plan_file: Path | None = None) -> Entry:
    """Record an approval by `approver` (the typed alias must equal the plan's org alias)."""
    _ensure_journaled(incident, plan, approver, plan_file)
    try:
        _check_alias(plan, confirm_alias)
    except ApprovalRefused as exc:
        incident.journal.append("action.refused", {"action_id": plan.plan_id, "plan_sha256": plan.sha256,
                                                   "reason": "alias_mismatch", "message": str(exc),
                                                   "stage": "approval"}, approver)
        raise
    return incident.journal.append("action.approval", {
        "action_id": plan.plan_id, "plan_sha256": plan.sha256, "approver": approver,
        "confirmed_alias": plan.org_alias, "role": "approver",
    }, approver)


# --------------------------------------------------------------------------------------------------
# Execution
# --------------------------------------------------------------------------------------------------


def _done_steps(incident: Incident, action_id: str) -> dict[int, str]:
    """Step number -> status for every record a previous run completed (ok or already in the target state)."""
    done: dict[int, str] = {}
    for entry in incident.journal.entries(kind="action.result"):
        if entry.data.get("action_id") != action_id:
            continue
        for rec in _result_records(incident, entry):
            if rec.get("status") in ("ok", "already"):
                done[int(rec["n"])] = rec["status"]
    return done


def _result_records(incident: Incident, entry: Entry) -> list[dict[str, Any]]:
    if "records" in entry.data:
        return entry.data["records"]
    sha = entry.data.get("records_sha256")
    if not sha:
        return []
    try:
        raw = incident.evidence.path_for(sha).read_bytes()
    except OSError:
        raise ContainmentError(f"entry {entry.seq}: its per-record results sha256:{sha[:16]}… are missing from the "
                               "evidence store") from None
    if hashlib.sha256(raw).hexdigest() != sha:
        raise ContainmentError(f"entry {entry.seq}: the stored per-record results no longer match their hash")
    return json.loads(raw)


class _Live:
    """Current state of the records a run touches (re-read before and after the changes)."""

    def __init__(self, reader: _Reader, plan: Plan, steps: list[Step]) -> None:
        self.reader = reader
        self.plan = plan
        self.steps = steps
        self.rows: dict[int, dict[str, Any] | None] = {}
        self.unplanned_tokens = 0

    def load(self) -> None:
        by_op: dict[str, list[Step]] = {}
        for step in self.steps:
            by_op.setdefault(step.op, []).append(step)
        for op, steps in by_op.items():
            if op == "revoke_token":
                self._tokens(steps)
            elif op == "delete_session":
                self._by_id(steps, "AuthSession", SESSION_FIELDS)
            elif op in ("freeze_user", "unfreeze_user"):
                self._by_id(steps, "UserLogin", LOGIN_FIELDS)
            elif op in ("deactivate_user", "reactivate_user"):
                self._by_id(steps, "User", "Id, Username, IsActive")
            elif op == "delete_assignment":
                self._by_id(steps, "PermissionSetAssignment", PSA_FIELDS)
            elif op == "create_assignment":
                self._pairs(steps)

    def _by_id(self, steps: list[Step], sobject: str, fields: str) -> None:
        rows = self.reader.by_ids(sobject, fields, [s.record for s in steps])
        for step in steps:
            self.rows[step.n] = rows.get(_id15(step.record))

    def _tokens(self, steps: list[Step]) -> None:
        where = self.plan.token_where
        if not where:
            apps = sorted({s.before.get("AppName") for s in steps if s.before.get("AppName")})
            users = sorted({s.before.get("UserId") for s in steps if s.before.get("UserId")})
            where = f"AppName IN {_in(apps)} AND UserId IN {_in(users)}"
        rows = self.reader.tokens(where)
        by_ref: dict[str, dict[str, Any]] = {}
        for row in rows:
            ref = token_ref(row.get("DeleteToken"), row.get("AppName"), row.get("UserId"), row.get("CreatedDate"))
            by_ref[ref] = row
        planned = {s.record for s in self.plan.steps if s.op == "revoke_token"}
        self.unplanned_tokens = sum(1 for ref in by_ref if ref not in planned)
        for step in steps:
            self.rows[step.n] = by_ref.get(step.record)

    def _pairs(self, steps: list[Step]) -> None:
        assignees = [s.change["AssigneeId"] for s in steps]
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for chunk in _chunks(list(dict.fromkeys(assignees))):
            for row in self.reader.query(f"SELECT {PSA_FIELDS} FROM PermissionSetAssignment "
                                         f"WHERE AssigneeId IN {_in(chunk)}"):
                found[(_id15(row.get("AssigneeId")), _id15(row.get("PermissionSetId")))] = row
        for step in steps:
            key = (_id15(step.change["AssigneeId"]), _id15(step.change["PermissionSetId"]))
            self.rows[step.n] = found.get(key)


def _in_target_state(step: Step, row: dict[str, Any] | None) -> bool | None:
    """True when the record already is as the step wants it; None when it is missing and cannot be changed."""
    if step.op in ("revoke_token", "delete_session", "delete_assignment"):
        return row is None
    if step.op == "create_assignment":
        return row is not None
    if row is None:
        return None
    if step.op in ("freeze_user", "unfreeze_user"):
        return bool(row.get("IsFrozen")) == bool(step.change["IsFrozen"])
    if step.op in ("deactivate_user", "reactivate_user"):
        return bool(row.get("IsActive")) == bool(step.change["IsActive"])
    return False


def _send(org: Any, step: Step, row: dict[str, Any] | None) -> None:
    if step.op == "revoke_token":
        assert row is not None
        org.revoke_token(row["DeleteToken"])
    elif step.op == "delete_session":
        org.delete("AuthSession", step.record)
    elif step.op in ("freeze_user", "unfreeze_user"):
        org.update("UserLogin", step.record, {"IsFrozen": bool(step.change["IsFrozen"])})
    elif step.op in ("deactivate_user", "reactivate_user"):
        org.update("User", step.record, {"IsActive": bool(step.change["IsActive"])})
    elif step.op == "delete_assignment":
        org.delete("PermissionSetAssignment", step.record)
    elif step.op == "create_assignment":
        fields = {"AssigneeId": step.change["AssigneeId"], "PermissionSetId": step.change["PermissionSetId"]}
        if step.change.get("ExpirationDate"):
            fields["ExpirationDate"] = step.change["ExpirationDate"]
        org.create("PermissionSetAssignment", fields)
    else:  # pragma: no cover - Op is a closed set
        raise ContainmentError(f"unknown operation {step.op}")


def _stop_reason(exc: BaseException) -> str | None:
    """Errors after which no further call can succeed now: stop the run cleanly."""
    sf = _org_errors()
    if isinstance(exc, sf.RateLimited):
        return "rate_limited"
    if isinstance(exc, sf.SessionExpired | sf.AuthFailed):
        return "session_expired"
    if isinstance(exc, sf.Offline | sf.TlsFailure):
        return "offline"
    if isinstance(exc, sf.OrgTimeout):
        return "timeout"
    return None


def _gone(step: Step, exc: BaseException) -> bool:
    """The call failed because the record is already as wanted (deleted, revoked, assigned)."""
    sf = _org_errors()
    code = getattr(exc, "code", "") or ""
    if step.op == "revoke_token" and isinstance(exc, sf.InvalidToken):
        return True
    if step.op in ("delete_session", "delete_assignment") and (
            isinstance(exc, sf.RecordNotFound) or code in ("NOT_FOUND", "ENTITY_IS_DELETED")):
        return True
    return step.op == "create_assignment" and code == "DUPLICATE_VALUE"


def _free_bytes(path: Path) -> int:
    return shutil.disk_usage(path).free


def _verification(reader: _Reader, plan: Plan, live: _Live, results: list[RecordResult]) -> dict[str, Any]:
    """Re-query what the plan meant to remove or change and count what is still there."""
    out: dict[str, Any] = {}
    if plan.token_where and any(s.op == "revoke_token" for s in plan.steps):
        query = f"SELECT COUNT() FROM OauthToken WHERE {plan.token_where}"
        total = reader.org.count(query) if len(query) < 4000 else None
        remaining = sum(1 for r in results if r.op == "revoke_token" and r.after is not None)
        out["revoke_token"] = {"query": query if len(query) < 4000 else None, "matching_now": total,
                               "planned_still_present": remaining, "new_since_plan": live.unplanned_tokens}
    for op in ("delete_session", "freeze_user", "unfreeze_user", "deactivate_user", "reactivate_user",
               "delete_assignment", "create_assignment"):
        mine = [r for r in results if r.op == op and r.status != "not_run"]
        if not mine:
            continue
        step_by_n = {s.n: s for s in plan.steps}
        left = sum(1 for r in mine if _in_target_state(step_by_n[r.n], r.after) is not True)
        out[op] = {"checked": len(mine), "not_in_target_state": left}
    return out


def apply_plan(incident: Incident, org: Any, plan: Plan, confirm_alias: str | None, actor: str,
               progress: Progress | None = None, *, plan_file: Path | None = None) -> ActionResult:
    """Approve (typed alias), journal the intent, execute record by record, journal the result, checkpoint.

    `org` is a logged-in Org or a callable returning one: with a callable nothing at all (not even a login)
    reaches Salesforce before the intent is journaled.
    """
    recover_unjournaled(incident, actor)
    plan.check_hash(f"plan {plan.plan_id}")
    current = _ensure_journaled(incident, plan, actor, plan_file)
    if current["status"] == "undone":
        raise ContainmentError(f"{plan.plan_id} was undone by {current.get('undone_by')}; make a new plan")
    try:
        _check_alias(plan, confirm_alias)
    except ApprovalRefused as exc:
        incident.journal.append("action.refused", {"action_id": plan.plan_id, "plan_sha256": plan.sha256,
                                                   "reason": "alias_mismatch", "message": str(exc),
                                                   "stage": "apply"}, actor)
        raise

    done = _done_steps(incident, plan.plan_id)
    pending = [s for s in plan.steps if s.n not in done]
    run = int(current.get("runs", 0)) + 1
    base = {"action_id": plan.plan_id, "action": plan.action, "org_alias": plan.org_alias,
            "plan_sha256": plan.sha256, "run": run, "executor": actor}
    if pending and org is None:
        raise UsageError(f"{plan.plan_id} changes {len(pending)} record(s): it needs a connected org")
    if not pending and current["status"] in ("done", "partial", "failed", "running"):
        return ActionResult(**{**base, "run": run - 1}, status="nothing_to_do",
                            counts={"ok": 0, "already": len(done), "failed": 0, "not_run": 0},
                            warnings=[f"every record of {plan.plan_id} is already done; nothing was sent"])

    # Approval: the typed alias, and an approver other than the executor when the incident requires it.
    require_distinct = bool(settings_mod.get_setting(incident.journal, settings_mod.REQUIRE_DISTINCT_APPROVER))
    approval: Entry | None = None
    if require_distinct:
        others = [e for e in _approvals(incident, plan) if e.data.get("approver") != actor]
        if not others:
            msg = (f"{plan.plan_id} needs an approver other than the executor ({actor}): the approver runs "
                   f"`warroom --actor NAME contain approve {plan.plan_id} --confirm {plan.org_alias}` first "
                   f"(setting {settings_mod.REQUIRE_DISTINCT_APPROVER} is on); nothing was sent")
            incident.journal.append("action.refused", {"action_id": plan.plan_id, "plan_sha256": plan.sha256,
                                                       "reason": "approver_is_executor", "message": msg,
                                                       "stage": "apply"}, actor)
            raise ApprovalRefused(msg)
        approval = others[-1]
    else:
        approval = incident.journal.append("action.approval", {
            "action_id": plan.plan_id, "plan_sha256": plan.sha256, "approver": actor,
            "confirmed_alias": plan.org_alias, "role": "executor",
        }, actor)
    approver = approval.data["approver"]

    free = _free_bytes(incident.dir)
    if free < MIN_FREE_BYTES:
        raise ContainmentError(f"only {free // (1024 * 1024)} MiB free on the journal's disk ({incident.dir}); the "
                               "result must be journaled too, so free some space first; nothing was sent")

    pending_numbers = [s.n for s in pending]
    intent_data = {
        **base, "approver": approver, "approval_seq": approval.seq, "instance_url": plan.instance_url,
        "org_id": plan.org_id, "pending": len(pending), "already_done": len(done),
        "pending_by_op": _count_ops(pending), "pending_sha256": _digest(pending_numbers),
        "before_sha256": _digest([s.before for s in pending]),
        "manual_tasks": [t.task_id for t in plan.manual_tasks],
    }
    if plan_file is not None:
        intent_data["plan_file"] = str(plan_file)
    try:
        intent = incident.journal.append("action.intent", intent_data, actor)
    except JournalError as exc:
        raise JournalError(f"{exc}. The intent of {plan.plan_id} could not be journaled, so nothing was sent to "
                           f"{plan.org_alias}") from None

    results: dict[int, RecordResult] = {}
    stop: Stop | None = None
    warnings: list[str] = []
    live: _Live | None = None
    live_org: Any = None
    try:
        if pending:
            live_org = org() if callable(org) and not hasattr(org, "query") else org
        stop = _check_org(live_org, plan) if pending else None
        if stop is None:
            reader = _Reader(live_org)
            live = _Live(reader, plan, pending)
            try:
                live.load()
            except WarroomError as exc:
                reason = _stop_reason(exc) or "before_state_failed"
                stop = Stop(reason=reason, message=f"reading the state before: {_error_text(exc)}")
            if stop is None:
                stop = _execute(live_org, pending, live, results, progress)
    except WarroomError as exc:  # the org could not even be opened
        stop = Stop(reason=_stop_reason(exc) or "connect_failed", message=_error_text(exc))
        live_org = None
    except BaseException as exc:  # Ctrl-C or a bug: still record exactly what happened, then re-raise
        stop = Stop(reason="interrupted", message=f"{type(exc).__name__}: {_error_text(exc)}")
        _record_result(incident, plan, base, intent, pending, results, stop, {}, live, actor, warnings, approver)
        raise

    # After-state: re-read every record this run tried (ok, failed or already), then verify.
    verification: dict[str, Any] = {}
    if live_org is not None and live is not None:
        tried = [s for s in pending if s.n in results and results[s.n].status != "not_run"]
        if tried:
            after = _Live(_Reader(live_org), plan, tried)
            try:
                after.load()
                for step in tried:
                    results[step.n].after = _flat(after.rows.get(step.n)) if after.rows.get(step.n) else None
                live.unplanned_tokens = after.unplanned_tokens
                verification = _verification(after.reader, plan, after, [results[s.n] for s in tried])
            except WarroomError as exc:
                warnings.append(f"the state after could not be re-read ({_error_text(exc)}); "
                                "`warroom contain apply` again re-checks it")
                verification = {"error": _error_text(exc)}
    return _record_result(incident, plan, base, intent, pending, results, stop, verification, live, actor, warnings,
                          approver)


def _check_org(org: Any, plan: Plan) -> Stop | None:
    """The plan must run against the org it was made for."""
    if plan.org_id:
        ident = _identify(org)
        if _id15(ident.org_id) != _id15(plan.org_id):
            return Stop(reason="wrong_org", message=f"connected to org {ident.org_id} at {ident.instance_url}, but "
                        f"{plan.plan_id} was planned for {plan.org_id} ({plan.instance_url}); nothing was sent")
    return None


def _execute(org: Any, pending: list[Step], live: _Live, results: dict[int, RecordResult],
             progress: Progress | None) -> Stop | None:
    total = len(pending)
    consecutive: tuple[str, int] = ("", 0)
    stop: Stop | None = None
    for i, step in enumerate(pending, start=1):
        if stop is not None:
            results[step.n] = RecordResult(n=step.n, op=step.op, record=step.record, label=step.label,
                                           status="not_run")
            continue
        row = live.rows.get(step.n)
        before = _flat(row) if row is not None else None
        res = RecordResult(n=step.n, op=step.op, record=step.record, label=step.label, status="ok", before=before)
        state = _in_target_state(step, row)
        if state is True:
            res.status = "already"
        elif state is None:
            res.status, res.code = "failed", "NOT_FOUND"
            res.error = f"{step.sobject} {step.record} no longer exists"
        else:
            try:
                _send(org, step, row)
            except WarroomError as exc:
                reason = _stop_reason(exc)
                code = getattr(exc, "code", None) or type(exc).__name__
                if _gone(step, exc):
                    res.status, res.code = "already", code
                else:
                    res.status, res.code, res.error = "failed", code, _error_text(exc)
                    if reason is not None:
                        stop = Stop(reason=reason, message=_error_text(exc), at_step=step.n)
                        if reason == "timeout":
                            res.error += " (outcome unknown: the next run re-reads the record)"
                    else:
                        same = consecutive[1] + 1 if consecutive[0] == code else 1
                        consecutive = (code, same)
                        if same >= MAX_CONSECUTIVE_FAILURES:
                            stop = Stop(reason="repeated_failures", at_step=step.n,
                                        message=f"{same} records in a row failed with {code}: {_error_text(exc)}")
        if res.status != "failed":
            consecutive = ("", 0)
        results[step.n] = res
        if progress is not None:
            progress(i, total, res)
    return stop


def _count_ops(steps: Iterable[Step]) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in steps:
        out[s.op] = out.get(s.op, 0) + 1
    return out


def _record_result(incident: Incident, plan: Plan, base: dict[str, Any], intent: Entry, pending: list[Step],
                   results: dict[int, RecordResult], stop: Stop | None, verification: dict[str, Any],
                   live: _Live | None, actor: str, warnings: list[str], approver: str) -> ActionResult:
    for step in pending:
        results.setdefault(step.n, RecordResult(n=step.n, op=step.op, record=step.record, label=step.label,
                                                status="not_run"))
    records = [results[s.n] for s in pending]
    counts = {k: sum(1 for r in records if r.status == k) for k in ("ok", "already", "failed", "not_run")}
    finished = counts["ok"] + counts["already"]
    status = "done" if finished == len(records) else ("partial" if finished else "failed")
    if not records:
        status = "done"
    dumped = [r.model_dump(exclude_none=True) for r in records]
    failed = [{"n": r.n, "record": r.record, "code": r.code, "error": r.error} for r in records if r.status == "failed"]
    data: dict[str, Any] = {
        **base, "intent_seq": intent.seq, "approver": approver, "status": status, "counts": counts,
        "failed": failed[:FAILED_IN_STATE], "failed_count": len(failed),
        "not_run": [r.n for r in records if r.status == "not_run"][:FAILED_IN_STATE],
        "stopped": stop.model_dump() if stop else None,
        "before_sha256": _digest([r.before for r in records]),
        "after_sha256": _digest([r.after for r in records]),
        "records_sha256": hashlib.sha256(canonical(dumped)).hexdigest(),
        "verification": verification,
        "open_tasks": [t.task_id for t in plan.manual_tasks],
    }
    if warnings:
        data["warnings"] = warnings
    result = ActionResult(**base, status=status, counts=counts, records=records, stopped=stop,  # type: ignore[arg-type]
                          verification=verification, approver=approver, intent_seq=intent.seq,
                          open_tasks=[t.task_id for t in plan.manual_tasks], warnings=warnings)
    try:
        if len(dumped) <= INLINE_RECORDS:
            data["records"] = dumped
        else:
            rec = incident.add_evidence_bytes(canonical(dumped), f"containment-results-{plan.plan_id}-run{base['run']}"
                                              ".json", actor, note=f"per-record results of {plan.plan_id} run "
                                              f"{base['run']}", source={"kind": "containment.result",
                                                                        "action_id": plan.plan_id})
            data["records_evidence_id"] = rec.evidence_id
        entry = incident.journal.append("action.result", data, actor)
    except JournalError as exc:
        path = _save_unjournaled(incident, plan.plan_id, base["run"], data, dumped)
        raise JournalError(f"{exc}. {plan.plan_id} run {base['run']} DID send changes ({counts['ok']} ok, "
                           f"{counts['failed']} failed); the result is kept in {path} and will be journaled as soon "
                           "as the journal takes writes again (any `warroom contain` command)") from None
    result.result_seq = entry.seq
    try:
        cp = incident.checkpoint(actor, reason=f"containment {plan.plan_id} run {base['run']}: {status}")
        result.checkpoint_seq = cp.seq
    except WarroomError as exc:
        result.warnings.append(f"checkpoint not taken: {exc}; take one with `warroom journal checkpoint`")
    return result


def _save_unjournaled(incident: Incident, action_id: str, run: int, data: dict[str, Any],
                      records: list[dict[str, Any]]) -> Path:
    folder = incident.dir / UNJOURNALED_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{action_id}-run{run}.json"
    doc = {**data, "records": records}
    doc.pop("records_evidence_id", None)
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return path


def recover_unjournaled(incident: Incident, actor: str) -> list[Entry]:
    """Journal results that were kept aside because the journal refused them (disk full during a run)."""
    folder = incident.dir / UNJOURNALED_DIR
    if not folder.is_dir():
        return []
    out: list[Entry] = []
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        data["recovered_from"] = path.name
        records = data.pop("records", [])
        if len(records) <= INLINE_RECORDS:
            data["records"] = records
        else:
            rec = incident.add_evidence_bytes(canonical(records), path.name, actor,
                                              note=f"recovered per-record results of {data['action_id']}")
            data["records_evidence_id"] = rec.evidence_id
        out.append(incident.journal.append("action.result", data, actor))
        path.unlink()
    return out


# --------------------------------------------------------------------------------------------------
# Undo
# --------------------------------------------------------------------------------------------------


def plan_undo(incident: Incident, action_id: str, actor: str) -> Plan:
    """The reverse of what `action_id` changed (only records it changed itself, not ones already so)."""
    current = incident.journal.get_state(NAMESPACE, action_id.upper())
    if current is None:
        raise NotFoundError(f"no containment action {action_id!r} in {incident.id}")
    original = load_plan(incident, current["action_id"])
    if original.undoes:
        raise ContainmentError(f"{original.plan_id} is itself an undo of {original.undoes}; plan the action again "
                               "instead")
    if current["status"] == "undone":
        raise ContainmentError(f"{original.plan_id} was already undone by {current.get('undone_by')}")
    changed: dict[int, dict[str, Any]] = {}
    for entry in incident.journal.entries(kind="action.result"):
        if entry.data.get("action_id") == original.plan_id:
            for rec in _result_records(incident, entry):
                if rec.get("status") == "ok":
                    changed[int(rec["n"])] = rec
    draft = _Draft("undo", original.selectors)
    skipped: dict[str, int] = {}
    for step in original.steps:
        if step.n not in changed:
            continue
        op = UNDO_OP.get(step.op)
        if op is None:
            skipped[step.op] = skipped.get(step.op, 0) + 1
            continue
        after = changed[step.n].get("after") or {}
        if op == "unfreeze_user":
            draft.add(op, "UserLogin", step.record, step.label, after or {**step.before, "IsFrozen": True},
                      {"IsFrozen": False})
        elif op == "reactivate_user":
            draft.add(op, "User", step.record, step.label, after or {**step.before, "IsActive": False},
                      {"IsActive": True})
        elif op == "create_assignment":
            change = {"AssigneeId": step.before.get("AssigneeId"),
                      "PermissionSetId": step.before.get("PermissionSetId")}
            if step.before.get("ExpirationDate"):
                change["ExpirationDate"] = step.before["ExpirationDate"]
            draft.add(op, "PermissionSetAssignment", f"{change['AssigneeId']}:{change['PermissionSetId']}",
                      step.label, {"removed_assignment": step.record}, change)
    for op, n in sorted(skipped.items()):
        draft.notes.append(f"{n} × {OP_LABELS[op]}: not undone ({NOT_UNDOABLE[op]}).")
    if not draft.steps:
        why = "; ".join(draft.notes) or "it changed no record"
        raise ContainmentError(f"nothing in {original.plan_id} can be undone: {why}")
    return _finish(draft, plan_id=_new_plan_id(incident), org_alias=original.org_alias,
                   instance_url=original.instance_url, org_id=original.org_id, actor=actor,
                   created=_now(incident), undoes=original.plan_id)


def undo(incident: Incident, org: Any, action_id: str, confirm_alias: str | None, actor: str,
         progress: Progress | None = None) -> ActionResult:
    """Plan the reverse of `action_id`, journal it, and apply it (same approval, intent and result steps)."""
    plan = plan_undo(incident, action_id, actor)
    journal_plan(incident, plan, actor, origin="undo")
    return apply_plan(incident, org, plan, confirm_alias, actor, progress)


# --------------------------------------------------------------------------------------------------
# Manual tasks
# --------------------------------------------------------------------------------------------------


def confirm_task(incident: Incident, task_id: str, evidence_ref: str, actor: str, note: str | None = None) -> Entry:
    """Close a manual task with evidence (a screenshot, a Setup Audit Trail export, a vendor's letter)."""
    key = task_id.strip().upper()
    task = incident.journal.get_state(TASK_NAMESPACE, key)
    if task is None:
        raise NotFoundError(f"no manual task {task_id!r} in {incident.id} (`warroom contain status` lists them)")
    if task["status"] == "confirmed":
        raise ContainmentError(f"{key} was already confirmed by {task.get('confirmed_by')} with evidence "
                               f"{task.get('evidence_id')}")
    if task["status"] == "planned":
        raise ContainmentError(f"{key} belongs to {task['action_id']}, which has not been approved yet: apply it "
                               f"first (`warroom contain apply {task['action_id']}`)")
    item = incident.resolve_evidence(evidence_ref)
    data: dict[str, Any] = {"task_id": key, "action_id": task["action_id"], "kind": task["kind"],
                            "evidence_id": item["evidence_id"], "evidence_sha256": item["sha256"]}
    if note:
        data["note"] = note
    return incident.journal.append("action.task_confirmed", data, actor)


# --------------------------------------------------------------------------------------------------
# Status (derived state) and its projector
# --------------------------------------------------------------------------------------------------


def status(incident: Incident) -> list[ActionStatus]:
    """Every containment action of the incident, oldest first, with its manual tasks."""
    tasks: dict[str, list[TaskStatus]] = {}
    for value in incident.journal.state(TASK_NAMESPACE).values():
        tasks.setdefault(value["action_id"], []).append(TaskStatus(**value))
    out = []
    for value in incident.journal.state(NAMESPACE).values():
        out.append(ActionStatus(**value, tasks=sorted(tasks.get(value["action_id"], []), key=lambda t: t.task_id)))
    out.sort(key=lambda s: s.plan_seq)
    return out


def action_status(incident: Incident, action_id: str) -> ActionStatus:
    for item in status(incident):
        if item.action_id == action_id.strip().upper():
            return item
    raise NotFoundError(f"no containment action {action_id!r} in {incident.id}")


def open_tasks(incident: Incident) -> list[TaskStatus]:
    return [t for s in status(incident) for t in s.tasks if t.status == "open"]


def _project_plan(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    d = entry.data
    total = int(d["steps_total"])
    yield NAMESPACE, d["action_id"], {
        "action_id": d["action_id"], "action": d["action"], "org_alias": d["org_alias"], "status": "planned",
        "plan_sha256": d["plan_sha256"], "total": total, "done": 0, "failed": 0, "not_run": total,
        "by_op": d.get("counts", {}), "failed_records": [], "runs": 0, "approvers": [],
        "created_by": d["created_by"], "created_utc": d["created_utc"], "stopped": None,
        "undoes": d.get("undoes"), "undone_by": None, "plan_seq": entry.seq, "last_result_seq": None,
    }
    for task in d.get("manual_tasks", []):
        yield TASK_NAMESPACE, task["task_id"], {
            "task_id": task["task_id"], "action_id": d["action_id"], "kind": task["kind"], "title": task["title"],
            "target": task["target"], "steps": task["steps"], "evidence_hint": task["evidence"],
            "status": "planned", "evidence_id": None, "confirmed_by": None, "confirmed_utc": None,
        }


def _project_approval(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    cur = get(NAMESPACE, entry.data["action_id"])
    if cur is None:
        return
    approvers = list(dict.fromkeys([*cur["approvers"], entry.data["approver"]]))
    status_ = "approved" if cur["status"] == "planned" else cur["status"]
    yield NAMESPACE, cur["action_id"], {**cur, "approvers": approvers, "status": status_}


def _project_intent(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    cur = get(NAMESPACE, entry.data["action_id"])
    if cur is None:
        return
    yield NAMESPACE, cur["action_id"], {**cur, "status": "running", "runs": entry.data["run"]}
    for task_id in entry.data.get("manual_tasks", []):
        task = get(TASK_NAMESPACE, task_id)
        if task is not None and task["status"] == "planned":
            yield TASK_NAMESPACE, task_id, {**task, "status": "open"}


def _project_result(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    d = entry.data
    cur = get(NAMESPACE, d["action_id"])
    if cur is None:
        return
    counts = d["counts"]
    done = int(cur["done"]) + int(counts.get("ok", 0)) + int(counts.get("already", 0))
    failed = int(counts.get("failed", 0))
    total = int(cur["total"])
    not_run = max(0, total - done - failed)
    state = "done" if done >= total else ("partial" if done else "failed")
    stopped = d.get("stopped")
    yield NAMESPACE, cur["action_id"], {
        **cur, "status": state, "done": done, "failed": failed, "not_run": not_run,
        "failed_records": d.get("failed", [])[:FAILED_IN_STATE], "last_result_seq": entry.seq,
        "stopped": f"{stopped['reason']}: {stopped['message']}" if stopped else None,
    }
    if state == "done" and cur.get("undoes"):
        original = get(NAMESPACE, cur["undoes"])
        if original is not None:
            yield NAMESPACE, cur["undoes"], {**original, "status": "undone", "undone_by": cur["action_id"]}


def _project_task(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    d = entry.data
    task = get(TASK_NAMESPACE, d["task_id"])
    if task is None:
        return
    yield TASK_NAMESPACE, d["task_id"], {**task, "status": "confirmed", "evidence_id": d["evidence_id"],
                                         "confirmed_by": entry.actor, "confirmed_utc": entry.recorded_utc}


PROJECTORS = {
    "action.plan": _project_plan,
    "action.approval": _project_approval,
    "action.intent": _project_intent,
    "action.result": _project_result,
    "action.task_confirmed": _project_task,
}


def project(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    """One projector for every containment kind (registered once per kind in app/projections.py)."""
    fn = PROJECTORS.get(entry.kind)
    return fn(entry, get) if fn is not None else ()
