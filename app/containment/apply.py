"""Approving and applying a containment plan: the typed alias and approver, the journaled intent before anything is
sent, record-by-record execution with the state before and after, and the journaled result (steps 2 to 4 of
`app/containment/execute.py`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.base.errors import UsageError, WarroomError
from app.containment.models import (
    DEBUG_LEVEL_FIELDS,
    MAX_CONSECUTIVE_FAILURES,
    METADATA_READ_CHUNK,
    MIN_FREE_BYTES,
    NAMESPACE,
    TRACE_FLAG_FIELDS,
    ActionResult,
    ApprovalRefused,
    ContainmentError,
    Plan,
    Progress,
    RecordResult,
    Step,
    Stop,
    chunks,
    digest,
    error_text,
    flat_row,
    id15,
    org_errors,
    soql_in,
)
from app.containment.recovery import (
    RESERVE_MARGIN,
    STEP_HEADROOM,
    WriteAhead,
    estimate_result_bytes,
    free_bytes,
    journal_result,
    recover_unjournaled,
    result_data,
    run_lock,
)
from app.containment.rights import PermissionsMissing, permission_gate, refuse_blind_plan
from app.containment.sources import LOGIN_FIELDS, SESSION_FIELDS, Reader, identify, token_refs
from app.containment.store import journal_plan
from app.containment.strip import PSA_FIELDS
from app.containment.withdraw import refuse_withdrawn
from app.incident import settings as settings_mod
from app.journal.entries import Entry
from app.journal.failures import JournalError
from app.salesforce.protocol import OrgClient, OrgFactory

if TYPE_CHECKING:
    from app.incident.core import Incident


# --------------------------------------------------------------------------------------------------
# Approval
# --------------------------------------------------------------------------------------------------


def _check_alias(plan: Plan, confirm_alias: str | None) -> None:
    typed = (confirm_alias or "").strip()
    if typed != plan.org_alias:
        raise ApprovalRefused(
            f"the alias typed ({typed or 'nothing'!r}) is not the plan's org {plan.org_alias!r}; nothing was sent"
        )


def _confirm_alias(incident: Incident, plan: Plan, confirm_alias: str | None, actor: str, stage: str) -> None:
    """The typed alias must be the plan's org alias; a mismatch is journaled (`action.refused`) and raised."""
    try:
        _check_alias(plan, confirm_alias)
    except ApprovalRefused as exc:
        incident.journal.append(
            "action.refused",
            {
                "action_id": plan.plan_id,
                "plan_sha256": plan.sha256,
                "reason": "alias_mismatch",
                "message": str(exc),
                "stage": stage,
            },
            actor,
        )
        raise


def _approve_command(plan: Plan) -> str:
    return "grant approve" if plan.grant is not None else "contain approve"


def _approvals(incident: Incident, plan: Plan) -> list[Entry]:
    return [
        e
        for e in incident.journal.entries(kind="action.approval")
        if e.data.get("action_id") == plan.plan_id and e.data.get("plan_sha256") == plan.sha256
    ]


def _ensure_journaled(incident: Incident, plan: Plan, actor: str, plan_file: Path | None) -> dict[str, Any]:
    plan.check_hash(f"plan {plan.plan_id}")
    current = incident.journal.get_state(NAMESPACE, plan.plan_id)
    if current is None:
        journal_plan(incident, plan, actor, origin="imported", file=plan_file)
        current = incident.journal.get_state(NAMESPACE, plan.plan_id)
    elif current["plan_sha256"] != plan.sha256:
        raise ContainmentError(
            f"plan {plan.plan_id}: this copy hashes to {plan.sha256[:16]}…, but the journal holds "
            f"{current['plan_sha256'][:16]}… for that id (entry {current['plan_seq']}); the file "
            "was changed after planning; nothing was sent"
        )
    return current


def approve(
    incident: Incident, plan: Plan, confirm_alias: str | None, approver: str, *, plan_file: Path | None = None
) -> Entry:
    """Record an approval by `approver` (the typed alias must equal the plan's org alias). A grant names its
    approver, and only that person may approve it, whichever command or screen records the approval."""
    if plan.grant is not None and approver != plan.grant.approver:
        message = f"{plan.plan_id} names {plan.grant.approver} as its approver, not {approver}; nothing was approved"
        incident.journal.append(
            "action.refused",
            {
                "action_id": plan.plan_id,
                "plan_sha256": plan.sha256,
                "reason": "not_the_named_approver",
                "message": message,
                "stage": "grant",
            },
            approver,
        )
        raise ApprovalRefused(message)
    _ensure_journaled(incident, plan, approver, plan_file)
    _confirm_alias(incident, plan, confirm_alias, approver, "approval")
    return incident.journal.append(
        "action.approval",
        {
            "action_id": plan.plan_id,
            "plan_sha256": plan.sha256,
            "approver": approver,
            "confirmed_alias": plan.org_alias,
            "role": "approver",
        },
        approver,
    )


# --------------------------------------------------------------------------------------------------
# Execution
# --------------------------------------------------------------------------------------------------


def _done_steps(incident: Incident, action_id: str) -> dict[int, str]:
    """Step number -> status for every record a previous run completed (ok or already in the target state)."""
    done: dict[int, str] = {}
    for entry in incident.journal.entries(kind="action.result"):
        if entry.data.get("action_id") != action_id:
            continue
        for rec in result_records(incident, entry):
            if rec.get("status") in ("ok", "already"):
                done[int(rec["n"])] = rec["status"]
    return done


def result_records(incident: Incident, entry: Entry) -> list[dict[str, Any]]:
    if "records" in entry.data:
        return entry.data["records"]
    sha = entry.data.get("records_sha256")
    if not sha:
        return []
    try:
        raw = incident.evidence.path_for(sha).read_bytes()
    except OSError:
        raise ContainmentError(
            f"entry {entry.seq}: its per-record results sha256:{sha[:16]}… are missing from the evidence store"
        ) from None
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
            elif op == "update_metadata":
                self._components(steps)
            elif op == "delete_trace_flag":
                self._tooling(steps, "TraceFlag", TRACE_FLAG_FIELDS)
            elif op == "update_debug_level":
                self._tooling(steps, "DebugLevel", DEBUG_LEVEL_FIELDS)

    def _by_id(self, steps: list[Step], sobject: str, fields: str, key: str = "Id") -> None:
        rows = self.reader.by_ids(sobject, fields, [s.record for s in steps], key=key)
        for step in steps:
            self.rows[step.n] = rows.get(id15(step.record))

    def _components(self, steps: list[Step]) -> None:
        """Metadata components by type and fullName (readMetadata), flattened to dotted paths."""
        by_type: dict[str, list[Step]] = {}
        for step in steps:
            by_type.setdefault(step.sobject, []).append(step)
        for mtype, mine in by_type.items():
            for part in chunks([s.record for s in mine], METADATA_READ_CHUNK):
                found = self.reader.org.read_metadata(mtype, list(part))
                for step in mine:
                    if step.record in found:
                        self.rows[step.n] = flat_row(found[step.record])
                    else:
                        self.rows.setdefault(step.n, None)

    def _tooling(self, steps: list[Step], sobject: str, fields: str) -> None:
        """Tooling API rows by Id (TraceFlag, DebugLevel: not reachable through the data API's query)."""
        found: dict[str, dict[str, Any]] = {}
        for part in chunks([s.record for s in steps]):
            for row in self.reader.org.tooling_query(f"SELECT {fields} FROM {sobject} WHERE Id IN {soql_in(part)}"):
                found[id15(row.get("Id"))] = row
        for step in steps:
            self.rows[step.n] = found.get(id15(step.record))

    def _tokens(self, steps: list[Step]) -> None:
        flt = self.plan.token_filter
        if flt is not None:
            rows = self.reader.tokens_matching(flt)
        else:  # a plan without a filter: the apps and holders of its tokens
            apps = sorted({a for s in steps if (a := s.before.get("AppName"))})
            users = sorted({u for s in steps if (u := s.before.get("UserId"))})
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
            for row in self.reader.query(
                f"SELECT {PSA_FIELDS} FROM PermissionSetAssignment WHERE AssigneeId IN {soql_in(chunk)}"
            ):
                found[(id15(row.get("AssigneeId")), id15(row.get("PermissionSetId")))] = row
                if row.get("PermissionSetGroupId"):  # an assignment of a permission set group
                    found[(id15(row.get("AssigneeId")), id15(row.get("PermissionSetGroupId")))] = row
        for step in steps:
            self.rows[step.n] = found.get(_pair(step.change))


def _pair(change: dict[str, Any]) -> tuple[str, str]:
    """(assignee, permission set or group) of a `create_assignment`: a group's is its PermissionSetGroupId."""
    return id15(change["AssigneeId"]), id15(change.get("PermissionSetGroupId") or change["PermissionSetId"])


def _in_target_state(step: Step, row: dict[str, Any] | None) -> bool | None:
    """True when the record already is as the step wants it; None when it is missing and cannot be changed."""
    if step.op in ("revoke_token", "delete_session", "delete_assignment", "delete_trace_flag"):
        return row is None
    if step.op == "create_assignment":
        return row is not None
    if row is None:
        return None
    if step.op in ("update_metadata", "update_debug_level"):
        return all(row.get(path) == value for path, value in step.change.items())
    if step.op in ("freeze_user", "unfreeze_user"):
        return bool(row.get("IsFrozen")) == bool(step.change["IsFrozen"])
    if step.op in ("deactivate_user", "reactivate_user"):
        return bool(row.get("IsActive")) == bool(step.change["IsActive"])
    return False


def _send(org: OrgClient, step: Step, row: dict[str, Any] | None) -> None:
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
        fields = {"AssigneeId": step.change["AssigneeId"]}
        for key in ("PermissionSetId", "PermissionSetGroupId"):  # a group is assigned by PermissionSetGroupId
            if step.change.get(key):
                fields[key] = step.change[key]
        if step.change.get("ExpirationDate"):
            fields["ExpirationDate"] = step.change["ExpirationDate"]
        org.create("PermissionSetAssignment", fields)
    elif step.op == "update_metadata":
        org.update_metadata(step.sobject, step.record, dict(step.change))
    elif step.op == "delete_trace_flag":
        org.tooling_delete("TraceFlag", step.record)
    elif step.op == "update_debug_level":
        org.tooling_update("DebugLevel", step.record, dict(step.change))
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
    if step.op in ("delete_session", "delete_assignment", "delete_trace_flag") and (
        isinstance(exc, sf.RecordNotFound) or code in ("NOT_FOUND", "ENTITY_IS_DELETED")
    ):
        return True
    return step.op == "create_assignment" and code == "DUPLICATE_VALUE"


def _free_bytes(path: Path) -> int:
    return free_bytes(path)


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
        out["revoke_token"] = {
            "query": query if short else None,
            "matching_now": total,
            "planned_still_present": remaining,
            "new_since_plan": live.unplanned_tokens,
        }
    for op in (
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
    ):
        mine = [r for r in results if r.op == op and r.status != "not_run"]
        if not mine:
            continue
        step_by_n = {s.n: s for s in plan.steps}
        left = sum(1 for r in mine if _in_target_state(step_by_n[r.n], r.after) is not True)
        out[op] = {"checked": len(mine), "not_in_target_state": left}
    return out


def apply_plan(
    incident: Incident,
    org: OrgClient | OrgFactory | None,
    plan: Plan,
    confirm_alias: str | None,
    actor: str,
    progress: Progress | None = None,
    *,
    plan_file: Path | None = None,
    require_distinct_approver: bool = False,
) -> ActionResult:
    """Approve (typed alias), journal the intent, execute record by record, journal the result, checkpoint.

    `org` is a logged-in Org or a callable returning one: with a callable nothing at all (not even a login)
    reaches Salesforce before the intent is journaled. `require_distinct_approver` asks for an approval journaled
    by someone other than `actor` whatever the incident's setting says (a just-in-time grant always does).
    """
    recover_unjournaled(incident, actor)
    plan.check_hash(f"plan {plan.plan_id}")
    current = _ensure_journaled(incident, plan, actor, plan_file)
    if current["status"] == "undone":
        raise ContainmentError(f"{plan.plan_id} was undone by {current.get('undone_by')}; make a new plan")
    refuse_withdrawn(current, plan.plan_id)
    _confirm_alias(incident, plan, confirm_alias, actor, "apply")
    refuse_blind_plan(incident, plan, actor)
    busy = (
        f"{plan.plan_id} is being applied by another process right now; nothing was sent "
        "(`warroom contain status` shows its progress)"
    )
    with run_lock(incident, plan.plan_id, wait_message=busy):
        return _apply_locked(incident, org, plan, actor, progress, plan_file, require_distinct_approver)


def _reserve(incident: Incident, plan: Plan, pending: list[Step], run: int) -> WriteAhead:
    """Refuse a nearly full disk, then reserve room for the result (the result file and its evidence copy)."""
    need = 2 * estimate_result_bytes([s.before for s in pending]) + RESERVE_MARGIN
    free = _free_bytes(incident.dir)
    if free < MIN_FREE_BYTES + need:
        raise ContainmentError(
            f"only {free // (1024 * 1024)} MiB free on the journal's disk ({incident.dir}); the result of "
            f"{len(pending)} record(s) must be journaled too (about {need // (1024 * 1024) + 1} MiB kept free "
            f"beyond {MIN_FREE_BYTES // (1024 * 1024)} MiB), so free some space first; nothing was sent"
        )
    wal = WriteAhead(incident, plan.plan_id, run)
    wal.reserve(need)
    return wal


def _room(incident: Incident) -> Callable[[], str | None]:
    def check() -> str | None:
        try:
            free = _free_bytes(incident.dir)
        except OSError as exc:
            return f"the journal's disk cannot be checked ({exc.strerror or exc})"
        if free < STEP_HEADROOM:
            return (
                f"the journal's disk is nearly full ({free // 1024} KiB free); the run stopped before the next "
                "record so that what it did can still be recorded"
            )
        return None

    return check


def _apply_locked(
    incident: Incident,
    org: OrgClient | OrgFactory | None,
    plan: Plan,
    actor: str,
    progress: Progress | None,
    plan_file: Path | None,
    require_distinct_approver: bool = False,
) -> ActionResult:
    current = incident.journal.get_state(NAMESPACE, plan.plan_id)
    done = _done_steps(incident, plan.plan_id)
    pending = [s for s in plan.steps if s.n not in done]
    run = int(current.get("runs", 0)) + 1
    base = {
        "action_id": plan.plan_id,
        "action": plan.action,
        "org_alias": plan.org_alias,
        "plan_sha256": plan.sha256,
        "run": run,
        "executor": actor,
    }
    if pending and org is None:
        raise UsageError(f"{plan.plan_id} changes {len(pending)} record(s): it needs a connected org")
    if not pending and current["status"] in ("done", "partial", "failed", "running"):
        return ActionResult(
            **{**base, "run": run - 1},
            status="nothing_to_do",
            counts={"ok": 0, "already": len(done), "failed": 0, "not_run": 0},
            warnings=[f"every record of {plan.plan_id} is already done; nothing was sent"],
        )

    # Approval: the typed alias, and an approver other than the executor when the incident requires it.
    # An approval already journaled by someone else is used as is (with or without the requirement).
    require_distinct = require_distinct_approver or bool(
        settings_mod.get_setting(incident.journal, settings_mod.REQUIRE_DISTINCT_APPROVER)
    )
    others = [e for e in _approvals(incident, plan) if e.data.get("approver") != actor]
    approval: Entry | None = None
    if require_distinct or others:
        if not others:
            msg = (
                f"{plan.plan_id} needs an approver other than the executor ({actor}): the approver runs "
                f"`warroom --actor NAME {_approve_command(plan)} {plan.plan_id} --confirm {plan.org_alias}` first "
                + (
                    "(every just-in-time grant needs one)"
                    if require_distinct_approver
                    else f"(setting {settings_mod.REQUIRE_DISTINCT_APPROVER} is on)"
                )
                + (
                    "; an approval made on another responder's laptop counts once `warroom sync` has brought it here"
                    if (incident.dir / "team").is_dir()
                    else ""
                )
                + "; nothing was sent"
            )
            incident.journal.append(
                "action.refused",
                {
                    "action_id": plan.plan_id,
                    "plan_sha256": plan.sha256,
                    "reason": "approver_is_executor",
                    "message": msg,
                    "stage": "apply",
                },
                actor,
            )
            raise ApprovalRefused(msg)
        approval = others[-1]
    else:
        approval = incident.journal.append(
            "action.approval",
            {
                "action_id": plan.plan_id,
                "plan_sha256": plan.sha256,
                "approver": actor,
                "confirmed_alias": plan.org_alias,
                "role": "executor",
            },
            actor,
        )
    approver = approval.data["approver"]

    pending_numbers = [s.n for s in pending]
    intent_data = {
        **base,
        "approver": approver,
        "approval_seq": approval.seq,
        "instance_url": plan.instance_url,
        "org_id": plan.org_id,
        "pending": len(pending),
        "already_done": len(done),
        "pending_by_op": _count_ops(pending),
        "pending_sha256": digest(pending_numbers),
        "before_sha256": digest([s.before for s in pending]),
        "manual_tasks": [t.task_id for t in plan.manual_tasks],
    }
    if plan.ticket:
        intent_data["ticket"] = plan.ticket
    if plan_file is not None:
        intent_data["plan_file"] = str(plan_file)
    if (incident.dir / "team").is_dir():  # a team incident: the approval by the chain (and key) that holds it
        from app.team.merged import origin_of

        found = origin_of(incident.journal, approval.seq)
        if found is not None:
            intent_data["approval_origin"] = {
                "responder": found[0],
                "origin": found[1].origin,
                "seq": found[1].origin_seq,
            }
    wal = _reserve(incident, plan, pending, run)
    try:
        intent = incident.journal.append("action.intent", intent_data, actor)
    except JournalError as exc:
        wal.release()
        raise JournalError(
            f"{exc}. The intent of {plan.plan_id} could not be journaled, so nothing was sent to {plan.org_alias}"
        ) from None
    except BaseException:
        wal.release()
        raise

    results: dict[int, RecordResult] = {}
    refusal: PermissionsMissing | None = None
    warnings: list[str] = []
    live: _Live | None = None
    live_org: OrgClient | None = None
    stop = _begin_log(wal, plan, base, intent, approver, pending)
    try:
        if pending and stop is None:
            assert org is not None  # refused above, before the intent was journaled
            live_org = _connect(org)
            stop = _check_org(live_org, plan)
            if stop is None:
                stop, refusal = permission_gate(incident, live_org, identify(live_org).user_id, plan, pending, actor)
        if stop is None and live_org is not None:
            reader = Reader(live_org)
            live = _Live(reader, plan, pending)
            try:
                live.load()
            except WarroomError as exc:
                reason = _stop_reason(exc) or "before_state_failed"
                stop = Stop(reason=reason, message=f"reading the state before: {error_text(exc)}")
            if stop is None:
                stop = _execute(live_org, pending, live, results, progress, wal, _room(incident))
    except WarroomError as exc:  # the org could not even be opened
        stop = Stop(reason=_stop_reason(exc) or "connect_failed", message=error_text(exc))
        live_org = None
    except BaseException as exc:  # Ctrl-C or a bug: still record exactly what happened, then re-raise
        stop = Stop(reason="interrupted", message=f"{type(exc).__name__}: {error_text(exc)}")
        _record_result(incident, plan, base, intent, pending, results, stop, {}, wal, actor, warnings, approver)
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
                    if (
                        results[step.n].status == "ok"
                        and step.op in _ABSENT_IS_UNREADABLE
                        and not after.rows.get(step.n)
                    ):
                        _unverified(results[step.n], f"{step.sobject} {step.record} could not be read back")
                live.unplanned_tokens = after.unplanned_tokens
                verification = _verification(after.reader, plan, after, [results[s.n] for s in tried])
            except WarroomError as exc:
                warnings.append(
                    f"the state after could not be re-read ({error_text(exc)}); the changes sent are "
                    "'unverified', not done: `warroom contain apply` again re-checks them"
                )
                verification = {"error": error_text(exc)}
                for step in tried:
                    if results[step.n].status == "ok":
                        _unverified(results[step.n], f"the state after could not be re-read: {error_text(exc)}")
    outcome = _record_result(
        incident, plan, base, intent, pending, results, stop, verification, wal, actor, warnings, approver
    )
    if refusal is not None:
        raise refusal
    return outcome


# After a change the record must be read back to be claimed; for these a missing row means "not visible to
# this login" (a freeze, an update or a new assignment does not make the row disappear).
_ABSENT_IS_UNREADABLE = (
    "freeze_user",
    "unfreeze_user",
    "deactivate_user",
    "reactivate_user",
    "create_assignment",
    "update_metadata",
    "update_debug_level",
)


def _unverified(rec: RecordResult, why: str) -> None:
    rec.status = "unverified"
    rec.code = "AFTER_STATE_UNREAD"
    rec.error = f"{why}; the change was accepted by Salesforce but is not claimed as done"


def _connect(org: OrgClient | OrgFactory) -> OrgClient:
    """The org itself, or the one its factory opens now (so no login happens before the intent is journaled)."""
    return org() if callable(org) else org


def _begin_log(
    wal: WriteAhead, plan: Plan, base: dict[str, Any], intent: Entry, approver: str, pending: list[Step]
) -> Stop | None:
    """Open the run log; if even that cannot be written, nothing is sent."""
    header = {
        "base": base,
        "intent_seq": intent.seq,
        "approver": approver,
        "open_tasks": [t.task_id for t in plan.manual_tasks],
        "steps": [[s.n, s.op, s.record, s.label] for s in pending],
    }
    try:
        wal.begin(header)
    except OSError as exc:
        return Stop(
            reason="disk_full",
            message=f"the run log could not be written ({exc.strerror or exc}); nothing was sent",
        )
    return None


def _check_org(org: OrgClient, plan: Plan) -> Stop | None:
    """The plan must run against the org it was made for."""
    if plan.org_id:
        ident = identify(org)
        if id15(ident.org_id) != id15(plan.org_id):
            return Stop(
                reason="wrong_org",
                message=f"connected to org {ident.org_id} at {ident.instance_url}, but "
                f"{plan.plan_id} was planned for {plan.org_id} ({plan.instance_url}); nothing was sent",
            )
    return None


def _execute(
    org: OrgClient,
    pending: list[Step],
    live: _Live,
    results: dict[int, RecordResult],
    progress: Progress | None,
    wal: WriteAhead,
    room: Callable[[], str | None],
) -> Stop | None:
    """Send record by record; each result is in the run log before the next record is sent."""
    total = len(pending)
    consecutive: tuple[str, int] = ("", 0)
    stop: Stop | None = None
    for i, step in enumerate(pending, start=1):
        if stop is not None:
            results[step.n] = RecordResult(n=step.n, op=step.op, record=step.record, label=step.label, status="not_run")
            continue
        low = room()
        if low is not None:
            stop = Stop(reason="disk_full", message=low, at_step=step.n)
            results[step.n] = RecordResult(n=step.n, op=step.op, record=step.record, label=step.label, status="not_run")
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
                            stop = Stop(
                                reason="repeated_failures",
                                at_step=step.n,
                                message=f"{same} records in a row failed with {code}: {error_text(exc)}",
                            )
        if res.status != "failed":
            consecutive = ("", 0)
        results[step.n] = res
        try:
            wal.record(res)
        except OSError as exc:
            if stop is None:
                stop = Stop(
                    reason="disk_full",
                    at_step=step.n,
                    message=f"the run log could not take record {step.n} ({exc.strerror or exc}); stopped so that "
                    "what was done can still be recorded",
                )
        if progress is not None:
            progress(i, total, res)
    return stop


def _count_ops(steps: Iterable[Step]) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in steps:
        out[s.op] = out.get(s.op, 0) + 1
    return out


def _record_result(
    incident: Incident,
    plan: Plan,
    base: dict[str, Any],
    intent: Entry,
    pending: list[Step],
    results: dict[int, RecordResult],
    stop: Stop | None,
    verification: dict[str, Any],
    wal: WriteAhead,
    actor: str,
    warnings: list[str],
    approver: str,
) -> ActionResult:
    """Make the result durable first (the result file, atomically), then journal it; the file goes only after."""
    for step in pending:
        results.setdefault(
            step.n, RecordResult(n=step.n, op=step.op, record=step.record, label=step.label, status="not_run")
        )
    records = [results[s.n] for s in pending]
    open_tasks = [t.task_id for t in plan.manual_tasks]
    data, dumped = result_data(base, intent.seq, approver, records, stop, verification, open_tasks, warnings)
    result = ActionResult(
        **base,
        status=data["status"],
        counts=data["counts"],
        records=records,
        stopped=stop,
        verification=verification,
        approver=approver,
        intent_seq=intent.seq,
        open_tasks=open_tasks,
        warnings=warnings,
    )
    kept = wal.save({**data, "records": dumped})
    try:
        entry = journal_result(
            incident,
            data,
            dumped,
            f"containment-results-{plan.plan_id}-run{base['run']}.json",
            actor,
            note=f"per-record results of {plan.plan_id} run {base['run']}",
        )
    except (OSError, WarroomError) as exc:
        where = kept or (wal.log_path if wal.log_path.exists() else None)
        counts = data["counts"]
        sent = f"{plan.plan_id} run {base['run']} DID send changes ({counts['ok']} ok, {counts['failed']} failed)"
        if where is None:  # nothing on disk took it: the result is in this message, the only copy left
            raise JournalError(
                f"{exc}. {sent}; the result could not be written anywhere, here it is: "
                + json.dumps({**data, "records": dumped}, separators=(",", ":"))
            ) from None
        raise JournalError(
            f"{exc}. {sent}; the result is kept in {where} and will be journaled as soon as the journal "
            "takes writes again (the next command that opens the incident)"
        ) from None
    wal.finish()
    result.result_seq = entry.seq
    try:
        cp = incident.checkpoint(actor, reason=f"containment {plan.plan_id} run {base['run']}: {data['status']}")
        result.checkpoint_seq = cp.seq
    except WarroomError as exc:
        result.warnings.append(f"checkpoint not taken: {exc}; take one with `warroom journal checkpoint`")
    return result
