"""Containment actions: plan record by record, approve, journal the intent, execute, prove the state after.

Every action runs the same way, whether the console, the CLI or an offline plan file started it:

1. `make_plan` reads the live org (or, on a machine without a network, the incident's inventory snapshot)
   and lists each record that will change with its state before, the counts, what it refuses (profile-owned
   grants) and the manual tasks Salesforce offers no API for (`app/containment/plan.py`). The plan is
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

Planning, undo, manual tasks and the derived status are here; journaling, loading and exporting plans in
`app/containment/store.py`; approval and execution in `app/containment/apply.py`. Everything is importable from
`app.containment`.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.base.errors import NotFoundError, UsageError
from app.containment.apply import apply_plan, approve, result_records
from app.containment.models import (
    ACTIONS,
    FAILED_IN_STATE,
    MANUAL_ACTIONS,
    NAMESPACE,
    NOT_UNDOABLE,
    OP_LABELS,
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
    now_utc,
)
from app.containment.plan import Draft, build_plan
from app.containment.recovery import recover_unjournaled
from app.containment.rights import PermissionsMissing
from app.containment.sources import LiveSource, SnapshotSource
from app.containment.store import export_plan, journal_plan, load_plan, plan_from_bytes
from app.journal.chain import Entry, Lookup
from app.salesforce.protocol import OrgClient, OrgFactory
from app.salesforce.simlogin import SIM_ALIAS

if TYPE_CHECKING:
    from app.incident.core import Incident

__all__ = [
    "ACTIONS",
    "MANUAL_ACTIONS",
    "NAMESPACE",
    "NOT_UNDOABLE",
    "OP_LABELS",
    "TASK_NAMESPACE",
    "UNDO_OP",
    "UNJOURNALED_DIR",
    "ActionResult",
    "ActionStatus",
    "ApprovalRefused",
    "ContainmentError",
    "ManualTask",
    "PermissionsMissing",
    "Plan",
    "Progress",
    "RecordResult",
    "Refusal",
    "Selectors",
    "Step",
    "Stop",
    "TaskStatus",
    "TokenFilter",
    "action_status",
    "apply_plan",
    "approve",
    "confirm_task",
    "export_plan",
    "journal_plan",
    "load_plan",
    "make_plan",
    "open_tasks",
    "plan_for_finding",
    "plan_from_bytes",
    "plan_undo",
    "project",
    "recover_unjournaled",
    "selectors_for_finding",
    "status",
    "undo",
]


# --------------------------------------------------------------------------------------------------
# Planning (the planners live in app/containment/plan.py)
# --------------------------------------------------------------------------------------------------


def _new_plan_id(incident: Incident | None) -> str:
    while True:
        plan_id = f"CA-{secrets.token_hex(3).upper()}"
        if incident is None or incident.journal.get_state(NAMESPACE, plan_id) is None:
            return plan_id


new_plan_id = _new_plan_id  # for the areas that plan through containment's path (app/grants)


def make_plan(
    ctx_or_org: Any,
    incident: Incident | None,
    action: str,
    app: str | None = None,
    user: str | None = None,
    *,
    integration_users: bool = False,
    actor: str | None = None,
    org_alias: str | None = None,
    instance_url: str | None = None,
    ca: Path | None = None,
    from_snapshot: bool = False,
    ticket: str | None = None,
    out: Path | None = None,
    users: Sequence[str] = (),
    tokens: Sequence[str] = (),
    objects: Sequence[str] = (),
) -> Plan:
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
            from app.salesforce.orgs import open_org

            org = open_org(ctx_or_org, org_alias, instance_url=instance_url, ca=ca)
    if actor is None:
        raise UsageError("make_plan needs the actor planning it")
    alias = org_alias or getattr(org, "alias", None) or "org"
    if src is None and org is not None:
        src = LiveSource(org)
    plan = build_plan(
        src,
        action,
        app=app,
        user=user,
        integration_users=integration_users,
        users=users,
        tokens=tokens,
        objects=objects,
        actor=actor,
        created_utc=now_utc(incident),
        plan_id=_new_plan_id(incident),
        org_alias=alias,
    )
    if ticket and ticket.strip():
        plan = plan.model_copy(update={"ticket": ticket.strip()}).sealed()
    if ca is not None and alias == SIM_ALIAS and plan.basis.get("kind") == "org":
        # The simulated org's certificate, so `contain apply` reaches the same org without --instance-url/--ca.
        plan = plan.model_copy(update={"basis": {**plan.basis, "ca": str(Path(ca).resolve())}}).sealed()
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
    target = getattr(finding, "target", None) or ""
    if finding.containment == "block_app" and target.startswith("app:"):
        return {"app": target[4:]}
    objects = [r.id for r in finding.records if r.type == "SObject"]
    if finding.containment == "strip_permissions" and objects:
        users = [r.name for r in finding.records if r.type == "User" and r.name]
        return {"users": users, "objects": objects} if users else {"integration_users": True, "objects": objects}
    apps = [r.name for r in finding.records if r.type == "ConnectedApplication" and r.name]
    users = [r.name for r in finding.records if r.type == "User" and r.name]
    tokens = [r for r in finding.records if r.type == "OauthToken"]
    if finding.containment == "revoke_tokens":
        if apps or target.startswith("app:"):  # an app that is not installed is named by its target only
            return {"app": apps[0] if apps else target[4:]}
        holders = [r.name.rsplit(" token of ", 1)[1] for r in tokens if r.name and " token of " in r.name]
        if tokens and holders:
            return {"tokens": [r.id for r in tokens], "users": list(dict.fromkeys(holders))}
    if users:
        return {"users": users}
    if apps:
        return {"app": apps[0]}
    if target.startswith("app:"):
        return {"app": target[4:]}
    return {"integration_users": True}


def plan_for_finding(ctx_or_org: Any, incident: Incident | None, finding: Any, **kw: Any) -> Plan:
    """The plan for a finding's suggested containment action (previewed and journaled like any plan)."""
    return make_plan(ctx_or_org, incident, finding.containment, **selectors_for_finding(finding), **kw)


def _snapshot_source(incident: Incident | None) -> SnapshotSource:
    from app import inventory

    if incident is None:
        raise UsageError("planning from the inventory snapshot needs an incident")
    current = inventory.current_summary(incident)
    snap = inventory.load_current(incident)
    if snap is None or current is None:
        raise NotFoundError(
            f"{incident.id} has no inventory snapshot to plan from: `warroom inventory pull` (or "
            "`inventory import FILE_OR_DIR`) first"
        )
    return SnapshotSource(snap, evidence_id=current.get("evidence_id"))


# --------------------------------------------------------------------------------------------------
# Undo
# --------------------------------------------------------------------------------------------------


def plan_undo(incident: Incident, action_id: str, actor: str) -> Plan:
    """The reverse of what `action_id` changed (only records it changed itself, not ones already so)."""
    current = incident.journal.get_state(NAMESPACE, action_id.upper())
    if current is None:
        raise NotFoundError(f"no containment action {action_id!r} in {incident.id}")
    original = load_plan(incident, current["action_id"])
    if original.grant is not None:
        raise ContainmentError(f"{original.plan_id} is a just-in-time grant: `warroom grant revoke` removes it")
    if original.undoes:
        raise ContainmentError(
            f"{original.plan_id} is itself an undo of {original.undoes}; plan the action again instead"
        )
    if current["status"] == "undone":
        raise ContainmentError(f"{original.plan_id} was already undone by {current.get('undone_by')}")
    changed: dict[int, dict[str, Any]] = {}
    for entry in incident.journal.entries(kind="action.result"):
        if entry.data.get("action_id") == original.plan_id:
            for rec in result_records(incident, entry):
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
            draft.add(
                op,
                "UserLogin",
                step.record,
                step.label,
                after or {**step.before, "IsFrozen": True},
                {"IsFrozen": False},
            )
        elif op == "reactivate_user":
            draft.add(
                op, "User", step.record, step.label, after or {**step.before, "IsActive": False}, {"IsActive": True}
            )
        elif op == "create_assignment":
            change = {
                "AssigneeId": step.before.get("AssigneeId"),
                "PermissionSetId": step.before.get("PermissionSetId"),
            }
            if step.before.get("ExpirationDate"):
                change["ExpirationDate"] = step.before["ExpirationDate"]
            draft.add(
                op,
                "PermissionSetAssignment",
                f"{change['AssigneeId']}:{change['PermissionSetId']}",
                step.label,
                {"removed_assignment": step.record},
                change,
            )
        elif op in ("update_metadata", "update_debug_level"):
            draft.add(
                op,
                step.sobject,
                step.record,
                step.label,
                after,
                {path: step.before.get(path) for path in step.change},
            )
    for kept, n in sorted(skipped.items()):
        draft.notes.append(f"{n} × {OP_LABELS[kept]}: not undone ({NOT_UNDOABLE[kept]}).")
    if not draft.steps:
        why = "; ".join(draft.notes) or "it changed no record"
        raise ContainmentError(f"nothing in {original.plan_id} can be undone: {why}")
    basis = {
        "kind": "journal",
        "undoes": original.plan_id,
        "instance_url": original.instance_url,
        "org_id": original.org_id,
    }
    return draft.finish(
        plan_id=_new_plan_id(incident),
        org_alias=original.org_alias,
        basis=basis,
        actor=actor,
        created=now_utc(incident),
        undoes=original.plan_id,
    )


def undo(
    incident: Incident,
    org: OrgClient | OrgFactory | None,
    action_id: str,
    confirm_alias: str | None,
    actor: str,
    progress: Progress | None = None,
) -> ActionResult:
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
        raise ContainmentError(
            f"{key} was already confirmed by {task.get('confirmed_by')} with evidence {task.get('evidence_id')}"
        )
    if task["status"] == "planned":
        raise ContainmentError(
            f"{key} belongs to {task['action_id']}, which has not been approved yet: apply it "
            f"first (`warroom contain apply {task['action_id']}`)"
        )
    item = incident.resolve_evidence(evidence_ref)
    data: dict[str, Any] = {
        "task_id": key,
        "action_id": task["action_id"],
        "kind": task["kind"],
        "evidence_id": item["evidence_id"],
        "evidence_sha256": item["sha256"],
    }
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
    yield (
        NAMESPACE,
        d["action_id"],
        {
            "action_id": d["action_id"],
            "action": d["action"],
            "org_alias": d["org_alias"],
            "status": "planned",
            "plan_sha256": d["plan_sha256"],
            "total": total,
            "done": 0,
            "failed": 0,
            "not_run": total,
            "by_op": d.get("counts", {}),
            "failed_records": [],
            "runs": 0,
            "approvers": [],
            "created_by": d["created_by"],
            "created_utc": d["created_utc"],
            "stopped": None,
            "undoes": d.get("undoes"),
            "undone_by": None,
            "plan_seq": entry.seq,
            "last_result_seq": None,
        },
    )
    for task in d.get("manual_tasks", []):
        yield (
            TASK_NAMESPACE,
            task["task_id"],
            {
                "task_id": task["task_id"],
                "action_id": d["action_id"],
                "kind": task["kind"],
                "title": task["title"],
                "target": task["target"],
                "steps": task["steps"],
                "evidence_hint": task["evidence"],
                "status": "planned",
                "evidence_id": None,
                "confirmed_by": None,
                "confirmed_utc": None,
            },
        )


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
    unverified = int(counts.get("unverified", 0))  # sent, not read back: never counted as done
    total = int(cur["total"])
    not_run = max(0, total - done - failed - unverified)
    state = "done" if done >= total else ("partial" if done or unverified else "failed")
    if unverified and done + unverified >= total:
        state = "unverified"
    stopped = d.get("stopped")
    yield (
        NAMESPACE,
        cur["action_id"],
        {
            **cur,
            "status": state,
            "done": done,
            "failed": failed,
            "not_run": not_run,
            "unverified": unverified,
            "failed_records": d.get("failed", [])[:FAILED_IN_STATE],
            "last_result_seq": entry.seq,
            "stopped": f"{stopped['reason']}: {stopped['message']}" if stopped else None,
        },
    )
    if state == "done" and cur.get("undoes"):
        original = get(NAMESPACE, cur["undoes"])
        if original is not None:
            yield NAMESPACE, cur["undoes"], {**original, "status": "undone", "undone_by": cur["action_id"]}


def _project_task(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    d = entry.data
    task = get(TASK_NAMESPACE, d["task_id"])
    if task is None:
        return
    yield (
        TASK_NAMESPACE,
        d["task_id"],
        {
            **task,
            "status": "confirmed",
            "evidence_id": d["evidence_id"],
            "confirmed_by": entry.actor,
            "confirmed_utc": entry.recorded_utc,
        },
    )


PROJECTORS = {
    "action.plan": _project_plan,
    "action.approval": _project_approval,
    "action.intent": _project_intent,
    "action.result": _project_result,
    "action.task_confirmed": _project_task,
}


def project(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    """One projector for every containment kind (registered once per kind in app/composition/projections.py)."""
    fn = PROJECTORS.get(entry.kind)
    return fn(entry, get) if fn is not None else ()
