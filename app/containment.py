"""Containment actions: plan record by record, approve, journal the intent, execute, prove the state after.

Every action runs the same way, whether the console, the CLI or an offline plan file started it:

1. `make_plan` reads the live org (or, on a machine without a network, the incident's inventory snapshot)
   and lists each record that will change with its state before, the counts, what it refuses (profile-owned
   grants) and the manual tasks Salesforce offers no API for (`app/containment_plan.py`). The plan is
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

import contextlib
import hashlib
import json
import secrets
import shutil
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from app import settings as settings_mod
from app.containment_models import (
    ACTIONS,
    FAILED_IN_STATE,
    INLINE_RECORDS,
    MANUAL_ACTIONS,
    MAX_CONSECUTIVE_FAILURES,
    MIN_FREE_BYTES,
    NAMESPACE,
    NOT_UNDOABLE,
    OP_LABELS,
    PLAN_FORMAT,
    TASK_NAMESPACE,
    UNDO_OP,
    UNJOURNALED_DIR,
    ActionResult,
    ActionStatus,
    ApprovalRefused,
    ContainmentError,
    ManualTask,
    Plan,
    Progress,
    RecordResult,
    Refusal,
    Selectors,
    Step,
    Stop,
    TaskStatus,
    TokenFilter,
    chunks,
    digest,
    error_text,
    flat_row,
    id15,
    now_utc,
    org_errors,
    soql_in,
)
from app.containment_plan import (
    LOGIN_FIELDS,
    PSA_FIELDS,
    SESSION_FIELDS,
    Draft,
    LiveSource,
    Reader,
    SnapshotSource,
    build_plan,
    identify,
    token_refs,
)
from app.errors import NotFoundError, UsageError, WarroomError
from app.journal import Entry, JournalError, Lookup, canonical

if TYPE_CHECKING:
    from app.incident import Incident

__all__ = [
    "ACTIONS", "MANUAL_ACTIONS", "NOT_UNDOABLE", "OP_LABELS", "UNDO_OP", "ActionResult", "ActionStatus",
    "ApprovalRefused", "ContainmentError", "ManualTask", "Plan", "Progress", "RecordResult", "Refusal",
    "Selectors", "Step", "Stop", "TaskStatus", "TokenFilter", "action_status", "apply_plan", "approve",
    "confirm_task", "export_plan", "journal_plan", "load_plan", "make_plan", "open_tasks", "plan_for_finding",
    "plan_undo", "project", "recover_unjournaled", "selectors_for_finding", "status", "undo",
]


# --------------------------------------------------------------------------------------------------
# Planning (the planners live in app/containment_plan.py)
# --------------------------------------------------------------------------------------------------


def _new_plan_id(incident: Incident | None) -> str:
    while True:
        plan_id = f"CA-{secrets.token_hex(3).upper()}"
        if incident is None or incident.journal.get_state(NAMESPACE, plan_id) is None:
            return plan_id


def make_plan(ctx_or_org: Any, incident: Incident | None, action: str, app: str | None = None,
              user: str | None = None, *, integration_users: bool = False, actor: str | None = None,
              org_alias: str | None = None, instance_url: str | None = None, ca: Path | None = None,
              from_snapshot: bool = False, ticket: str | None = None, out: Path | None = None,
              users: Sequence[str] = (), tokens: Sequence[str] = ()) -> Plan:
    """Plan `action` and, with an incident, journal it (`action.plan`). Nothing in the org changes.

    `ctx_or_org` is a logged-in `app.salesforce.Org`, a `Context` (the org is then opened from `org_alias`),
    or None for the manual-only actions (block_app, uninstall_package, rotate_consumer_secret).
    `from_snapshot=True` plans from the incident's current inventory snapshot instead of the live org (a
    machine without a network); the plan is applied later from a connected machine.
    """
    org = ctx_or_org
    src: Any = _snapshot_source(incident) if from_snapshot else None
    if from_snapshot and not org_alias:
        org_alias = src.snap.source.org_alias
    if ctx_or_org is not None and not hasattr(ctx_or_org, "query"):
        actor = actor or ctx_or_org.actor
        org = None
        if not org_alias:
            raise UsageError("name the org with --org ALIAS")
        if not from_snapshot and action not in MANUAL_ACTIONS:
            from app.commands.inventory import open_org

            org = open_org(ctx_or_org, org_alias, instance_url=instance_url, ca=ca)
    if actor is None:
        raise UsageError("make_plan needs the actor planning it")
    alias = org_alias or getattr(org, "alias", None) or "org"
    if src is None and org is not None:
        src = LiveSource(org)
    plan = build_plan(src, action, app=app, user=user, integration_users=integration_users, users=users,
                      tokens=tokens, actor=actor, created_utc=now_utc(incident), plan_id=_new_plan_id(incident),
                      org_alias=alias)
    if ticket and ticket.strip():
        plan = plan.model_copy(update={"ticket": ticket.strip()}).sealed()
    if incident is not None:
        journal_plan(incident, plan, actor, origin="exported" if out else "planned", file=out)
    return plan


def selectors_for_finding(finding: Any) -> dict[str, Any]:
    """`make_plan` selectors for a finding's suggested containment action (`app.findings.Finding`).

    A finding naming a connected app revokes every token of that app (also those issued since the snapshot);
    one naming only tokens revokes exactly those; user actions target the users it names, else the app's
    token holders, else every integration user.
    """
    if not finding.containment:
        raise UsageError(f"finding {finding.id} suggests no containment action")
    apps = [r.name for r in finding.records if r.type == "ConnectedApplication" and r.name]
    users = [r.name for r in finding.records if r.type == "User" and r.name]
    tokens = [r for r in finding.records if r.type == "OauthToken"]
    if finding.containment == "revoke_tokens":
        if apps:
            return {"app": apps[0]}
        holders = [r.name.rsplit(" token of ", 1)[1] for r in tokens if r.name and " token of " in r.name]
        if tokens and holders:
            return {"tokens": [r.id for r in tokens], "users": list(dict.fromkeys(holders))}
    if users:
        return {"users": users}
    if apps:
        return {"app": apps[0]}
    return {"integration_users": True}


def plan_for_finding(ctx_or_org: Any, incident: Incident | None, finding: Any, **kw: Any) -> Plan:
    """The plan for a finding's suggested containment action (previewed and journaled like any plan)."""
    return make_plan(ctx_or_org, incident, finding.containment, **selectors_for_finding(finding), **kw)


def _snapshot_source(incident: Incident | None) -> SnapshotSource:
    from app import inventory

    if incident is None:
        raise UsageError("planning from the inventory snapshot needs an incident")
    current = incident.journal.get_state("inventory", "current")
    snap = inventory.load_current(incident)
    if snap is None or current is None:
        raise NotFoundError(f"{incident.id} has no inventory snapshot to plan from: `warroom inventory pull` (or "
                            "`inventory import FILE_OR_DIR`) first")
    return SnapshotSource(snap, evidence_id=current.get("evidence_id"))


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
        "before_sha256": digest([s.before for s in plan.steps]),
        "refused": [r.model_dump() for r in plan.refused[:FAILED_IN_STATE]],
        "refused_count": len(plan.refused),
        "manual_tasks": [t.model_dump() for t in plan.manual_tasks],
        "created_by": plan.created_by,
        "created_utc": plan.created_utc,
    }
    if plan.undoes:
        data["undoes"] = plan.undoes
    if plan.ticket:
        data["ticket"] = plan.ticket
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

    def __init__(self, reader: Reader, plan: Plan, steps: list[Step]) -> None:
        self.reader = reader
        self.plan = plan
        self.steps = steps
        self.rows: dict[int, dict[str, Any] | None] = {}
        self.unplanned_tokens = 0
        self.matching: int | None = None

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
                self._by_id(steps, "UserLogin", LOGIN_FIELDS, key="UserId")
            elif op in ("deactivate_user", "reactivate_user"):
                self._by_id(steps, "User", "Id, Username, IsActive")
            elif op == "delete_assignment":
                self._by_id(steps, "PermissionSetAssignment", PSA_FIELDS)
            elif op == "create_assignment":
                self._pairs(steps)

    def _by_id(self, steps: list[Step], sobject: str, fields: str, key: str = "Id") -> None:
        rows = self.reader.by_ids(sobject, fields, [s.record for s in steps], key=key)
        for step in steps:
            self.rows[step.n] = rows.get(id15(step.record))

    def _tokens(self, steps: list[Step]) -> None:
        flt = self.plan.token_filter
        if flt is not None:
            rows = self.reader.tokens_matching(flt)
        else:  # a plan without a filter: the apps and holders of its tokens
            apps = sorted({s.before.get("AppName") for s in steps if s.before.get("AppName")})
            users = sorted({s.before.get("UserId") for s in steps if s.before.get("UserId")})
            rows = self.reader.tokens(f"AppName IN {soql_in(apps)} AND UserId IN {soql_in(users)}")
        self.matching = len(rows)
        by_ref: dict[str, dict[str, Any]] = {}
        planned = {s.record for s in self.plan.steps if s.op == "revoke_token"}
        unplanned = 0
        for row in rows:
            refs = token_refs(row)
            for ref in refs:
                by_ref.setdefault(ref, row)
            unplanned += not any(ref in planned for ref in refs)
        self.unplanned_tokens = unplanned
        for step in steps:
            self.rows[step.n] = by_ref.get(step.record)

    def _pairs(self, steps: list[Step]) -> None:
        assignees = [s.change["AssigneeId"] for s in steps]
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for chunk in chunks(list(dict.fromkeys(assignees))):
            for row in self.reader.query(f"SELECT {PSA_FIELDS} FROM PermissionSetAssignment "
                                         f"WHERE AssigneeId IN {soql_in(chunk)}"):
                found[(id15(row.get("AssigneeId")), id15(row.get("PermissionSetId")))] = row
        for step in steps:
            key = (id15(step.change["AssigneeId"]), id15(step.change["PermissionSetId"]))
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
        assert row is not None  # the UserLogin row of the user (step.record is the User Id)
        org.update("UserLogin", row["Id"], {"IsFrozen": bool(step.change["IsFrozen"])})
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
    sf = org_errors()
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
    sf = org_errors()
    code = getattr(exc, "code", "") or ""
    if step.op == "revoke_token" and isinstance(exc, sf.InvalidToken):
        return True
    if step.op in ("delete_session", "delete_assignment") and (
            isinstance(exc, sf.RecordNotFound) or code in ("NOT_FOUND", "ENTITY_IS_DELETED")):
        return True
    return step.op == "create_assignment" and code == "DUPLICATE_VALUE"


def _free_bytes(path: Path) -> int:
    return shutil.disk_usage(path).free


MAX_SHOWN_QUERY = 4000


def _verification(reader: Reader, plan: Plan, live: _Live, results: list[RecordResult]) -> dict[str, Any]:
    """Re-query what the plan meant to remove or change and count what is still there."""
    out: dict[str, Any] = {}
    if plan.token_where and any(r.op == "revoke_token" for r in results):
        # A COUNT() anyone can re-run; for a filter too long to show, the count of the re-read itself.
        query = f"SELECT COUNT() FROM OauthToken WHERE {plan.token_where}"
        short = len(query) < MAX_SHOWN_QUERY
        total = reader.org.count(query) if short else live.matching
        remaining = sum(1 for r in results if r.op == "revoke_token" and r.after is not None)
        out["revoke_token"] = {"query": query if short else None, "matching_now": total,
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
    free = _free_bytes(incident.dir)
    if free < MIN_FREE_BYTES:
        raise ContainmentError(f"only {free // (1024 * 1024)} MiB free on the journal's disk ({incident.dir}); the "
                               "result must be journaled too, so free some space first; nothing was sent")
    with _run_lock(incident, plan.plan_id):
        return _apply_locked(incident, org, plan, actor, progress, plan_file)


@contextlib.contextmanager
def _run_lock(incident: Incident, action_id: str) -> Iterator[None]:
    """One run of an action at a time (two consoles on one incident); the OS drops the lock if a run dies."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - no advisory locks on this platform
        yield
        return
    path = incident.dir / f".contain-{action_id}.lock"
    with path.open("a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ContainmentError(f"{action_id} is being applied by another process right now; nothing was sent "
                                   "(`warroom contain status` shows its progress)") from None
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _apply_locked(incident: Incident, org: Any, plan: Plan, actor: str, progress: Progress | None,
                  plan_file: Path | None) -> ActionResult:
    current = incident.journal.get_state(NAMESPACE, plan.plan_id)
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
    # An approval already journaled by someone else is used as is (with or without the requirement).
    require_distinct = bool(settings_mod.get_setting(incident.journal, settings_mod.REQUIRE_DISTINCT_APPROVER))
    others = [e for e in _approvals(incident, plan) if e.data.get("approver") != actor]
    approval: Entry | None = None
    if require_distinct or others:
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

    pending_numbers = [s.n for s in pending]
    intent_data = {
        **base, "approver": approver, "approval_seq": approval.seq, "instance_url": plan.instance_url,
        "org_id": plan.org_id, "pending": len(pending), "already_done": len(done),
        "pending_by_op": _count_ops(pending), "pending_sha256": digest(pending_numbers),
        "before_sha256": digest([s.before for s in pending]),
        "manual_tasks": [t.task_id for t in plan.manual_tasks],
    }
    if plan.ticket:
        intent_data["ticket"] = plan.ticket
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
            reader = Reader(live_org)
            live = _Live(reader, plan, pending)
            try:
                live.load()
            except WarroomError as exc:
                reason = _stop_reason(exc) or "before_state_failed"
                stop = Stop(reason=reason, message=f"reading the state before: {error_text(exc)}")
            if stop is None:
                stop = _execute(live_org, pending, live, results, progress)
    except WarroomError as exc:  # the org could not even be opened
        stop = Stop(reason=_stop_reason(exc) or "connect_failed", message=error_text(exc))
        live_org = None
    except BaseException as exc:  # Ctrl-C or a bug: still record exactly what happened, then re-raise
        stop = Stop(reason="interrupted", message=f"{type(exc).__name__}: {error_text(exc)}")
        _record_result(incident, plan, base, intent, pending, results, stop, {}, live, actor, warnings, approver)
        raise

    # After-state: re-read every record this run tried (ok, failed or already), then verify.
    verification: dict[str, Any] = {}
    if live_org is not None and live is not None:
        tried = [s for s in pending if s.n in results and results[s.n].status != "not_run"]
        if tried:
            after = _Live(Reader(live_org), plan, tried)
            try:
                after.load()
                for step in tried:
                    results[step.n].after = flat_row(after.rows.get(step.n)) if after.rows.get(step.n) else None
                live.unplanned_tokens = after.unplanned_tokens
                verification = _verification(after.reader, plan, after, [results[s.n] for s in tried])
            except WarroomError as exc:
                warnings.append(f"the state after could not be re-read ({error_text(exc)}); "
                                "`warroom contain apply` again re-checks it")
                verification = {"error": error_text(exc)}
    return _record_result(incident, plan, base, intent, pending, results, stop, verification, live, actor, warnings,
                          approver)


def _check_org(org: Any, plan: Plan) -> Stop | None:
    """The plan must run against the org it was made for."""
    if plan.org_id:
        ident = identify(org)
        if id15(ident.org_id) != id15(plan.org_id):
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
        before = flat_row(row) if row is not None else None
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
                    res.status, res.code, res.error = "failed", code, error_text(exc)
                    if reason is not None:
                        stop = Stop(reason=reason, message=error_text(exc), at_step=step.n)
                        if reason == "timeout":
                            res.error += " (outcome unknown: the next run re-reads the record)"
                    else:
                        same = consecutive[1] + 1 if consecutive[0] == code else 1
                        consecutive = (code, same)
                        if same >= MAX_CONSECUTIVE_FAILURES:
                            stop = Stop(reason="repeated_failures", at_step=step.n,
                                        message=f"{same} records in a row failed with {code}: {error_text(exc)}")
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
        "before_sha256": digest([r.before for r in records]),
        "after_sha256": digest([r.after for r in records]),
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
    draft = Draft("undo", original.selectors)
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
    basis = {"kind": "journal", "undoes": original.plan_id, "instance_url": original.instance_url,
             "org_id": original.org_id}
    return draft.finish(plan_id=_new_plan_id(incident), org_alias=original.org_alias, basis=basis, actor=actor,
                        created=now_utc(incident), undoes=original.plan_id)


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
