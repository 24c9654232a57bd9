"""Approving, applying and revoking a grant: the approval must come from the approver the plan names, and the
apply always needs an approval by someone other than the person applying it; then containment's own run (intent
journaled before anything is sent, the assignment created and re-read, the result and its verification). A
revoke before the expiry is an undo plan of the grant (one `delete_assignment`), applied the same way; it takes
access away, so it needs no second approver."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.containment.apply import apply_plan, approve
from app.containment.execute import new_plan_id
from app.containment.models import ActionResult, ApprovalRefused, ContainmentError, Plan, now_utc
from app.containment.plan import Draft
from app.containment.run import ContainmentRun, run_plan
from app.containment.store import journal_plan, load_plan
from app.journal.entries import Entry

if TYPE_CHECKING:
    from app.incident.core import Incident
    from app.salesforce.protocol import OrgClient, OrgFactory


def grant_plan(incident: Incident, ref: str) -> Plan:
    plan = load_plan(incident, ref)
    if plan.grant is None:
        raise ContainmentError(f"{plan.plan_id} is a containment action, not a grant: `warroom contain` runs it")
    return plan


def approve_grant(incident: Incident, ref: str, confirm_alias: str | None, approver: str) -> Entry:
    """Journal `action.approval` by `approver`, who must be the approver the grant names."""
    return approve(incident, grant_plan(incident, ref), confirm_alias, approver)  # approve checks the named approver


def apply_grant(
    incident: Incident,
    org: OrgClient | OrgFactory | None,
    ref: str,
    confirm_alias: str | None,
    actor: str,
) -> ContainmentRun:
    """Apply an approved grant through containment's run (the checklist is moved as for any action)."""
    plan = grant_plan(incident, ref)
    assert plan.grant is not None
    named = [
        e
        for e in incident.journal.entries(kind="action.approval")
        if e.data.get("action_id") == plan.plan_id
        and e.data.get("plan_sha256") == plan.sha256
        and e.data.get("approver") == plan.grant.approver
    ]
    if not named:
        _refuse(
            incident,
            plan,
            actor,
            "not_approved",
            f"{plan.plan_id} needs the approval of {plan.grant.approver} first: `warroom --actor "
            f"{plan.grant.approver} grant approve {plan.plan_id} --confirm {plan.org_alias}`; nothing was sent",
        )
    return run_plan(incident, org, plan, confirm_alias, actor, require_distinct_approver=True)


def revoke_grant(
    incident: Incident,
    org: OrgClient | OrgFactory | None,
    ref: str,
    confirm_alias: str | None,
    actor: str,
    reason: str | None = None,
) -> ActionResult:
    """Remove a grant's assignment before it expires: an undo plan of the grant, journaled and applied."""
    from app.grants.listing import list_grants

    plan = grant_plan(incident, ref)
    assert plan.grant is not None
    grant = next(g for g in list_grants(incident) if g.action_id == plan.plan_id)
    if grant.assignment_id is None:
        raise ContainmentError(f"{plan.plan_id} created no assignment (status {grant.status}): nothing to revoke")
    draft = Draft("undo", plan.selectors)
    draft.add(
        "delete_assignment",
        "PermissionSetAssignment",
        grant.assignment_id,
        f"{grant.permission_set} from {grant.assignee} (grant {plan.plan_id}, until {grant.expires_utc})",
        {"Id": grant.assignment_id, "Username": grant.assignee, "PermissionSet.Name": grant.permission_set,
         "ExpirationDate": grant.expires_utc},
        {"deleted": True},
    )  # fmt: skip
    if reason and reason.strip():
        draft.note(f"Reason: {reason.strip()}")
    basis = {"kind": "journal", "undoes": plan.plan_id, "instance_url": plan.instance_url, "org_id": plan.org_id}
    revoke = draft.finish(
        plan_id=new_plan_id(incident),
        org_alias=plan.org_alias,
        basis=basis,
        actor=actor,
        created=now_utc(incident),
        undoes=plan.plan_id,
    )
    journal_plan(incident, revoke, actor, origin="undo")
    return apply_plan(incident, org, revoke, confirm_alias, actor)


def _refuse(incident: Incident, plan: Plan, actor: str, reason: str, message: str) -> None:
    incident.journal.append(
        "action.refused",
        {"action_id": plan.plan_id, "plan_sha256": plan.sha256, "reason": reason, "message": message, "stage": "grant"},
        actor,
    )
    raise ApprovalRefused(message)
