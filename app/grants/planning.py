"""The plan of one just-in-time grant: one `create_assignment` step giving USER the permission set NAME until
an ExpirationDate, planned and journaled like any containment action (`action.plan`), with its reason and the
person who must approve it (`Plan.grant`).

Salesforce object reference, PermissionSetAssignment: ExpirationDate (dateTime; Create, Filter, Nillable,
Update) is "the date that the assignment of the permission set or permission set group expires for the
specified user", available in API version 52.0 and later; creating an assignment needs Assign Permission Sets
(or Manage Users). Permission set groups are not planned here: the simulated org has no PermissionSetGroup.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from app.base.clock import ensure_utc
from app.base.errors import NotFoundError, UsageError
from app.containment.execute import new_plan_id
from app.containment.models import ContainmentError, GrantTerms, Plan, Selectors, now_utc, soql_str
from app.containment.plan import Draft
from app.containment.sources import LiveSource
from app.containment.store import journal_plan
from app.salesforce.protocol import OrgClient

if TYPE_CHECKING:
    from app.incident.core import Incident

ACTION = "grant_access"
PS_FIELDS = "Id, Name, Label, IsOwnedByProfile"


def sf_datetime(at: datetime) -> str:
    """An instant as Salesforce writes a dateTime (UTC, whole seconds, milliseconds shown)."""
    return ensure_utc(at).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def plan_grant(
    org: OrgClient,
    incident: Incident,
    *,
    user: str,
    permission_set: str,
    expires: datetime,
    reason: str,
    approver: str,
    actor: str,
    org_alias: str,
    ticket: str | None = None,
) -> Plan:
    """Read the user, the permission set and any assignment already there, and journal the grant's plan."""
    reason, approver = (reason or "").strip(), (approver or "").strip()
    if not reason:
        raise UsageError("a grant needs --reason: why the integration needs this access now")
    if not approver:
        raise UsageError("a grant needs --approver NAME: who approves it")
    if approver == actor:
        raise UsageError(f"the approver must not be the person asking for the grant ({actor})")
    now = incident.clock.now()
    if ensure_utc(expires) <= now:
        raise UsageError(f"the grant would expire at {sf_datetime(expires)}, which is not after now")
    src = LiveSource(org)
    row = src.user_by_name(user.strip())
    rows = src.reader.query(f"SELECT {PS_FIELDS} FROM PermissionSet WHERE Name = {soql_str(permission_set.strip())}")
    if not rows:
        raise NotFoundError(f"no permission set named {permission_set!r} in the org (its API name, not its label)")
    ps = rows[0]
    if ps.get("IsOwnedByProfile"):
        raise UsageError(f"{permission_set} belongs to a profile: a profile cannot be granted for a time")
    held = src.reader.query(
        "SELECT Id, ExpirationDate FROM PermissionSetAssignment WHERE AssigneeId = "
        f"{soql_str(row['Id'])} AND PermissionSetId = {soql_str(ps['Id'])}"
    )
    if held:
        until = held[0].get("ExpirationDate")
        raise ContainmentError(
            f"{user} already holds {permission_set} "
            + (f"until {until}" if until else "with no expiry (a standing grant: strip it first)")
            + f" (assignment {held[0]['Id']}); nothing was planned"
        )
    when = sf_datetime(expires)
    draft = Draft(ACTION, Selectors(user=row["Username"]))
    draft.add(
        "create_assignment",
        "PermissionSetAssignment",
        f"{row['Id']}:{ps['Id']}",
        f"{ps.get('Label') or ps['Name']} to {row['Username']} until {when}",
        {"AssigneeId": row["Id"], "PermissionSetId": ps["Id"], "PermissionSet.Name": ps["Name"], "assigned": False},
        {"AssigneeId": row["Id"], "PermissionSetId": ps["Id"], "ExpirationDate": when},
    )
    draft.note(f"Reason: {reason}")
    draft.note(f"Needs the approval of {approver} before it is applied; the assignment lapses at {when}.")
    plan = draft.finish(
        plan_id=new_plan_id(incident), org_alias=org_alias, basis=src.basis(), actor=actor, created=now_utc(incident)
    )
    terms = GrantTerms(
        reason=reason, approver=approver, expires_utc=when, permission_set=ps["Name"], assignee=row["Username"]
    )
    update: dict[str, object] = {"grant": terms}
    if ticket and ticket.strip():
        update["ticket"] = ticket.strip()
    plan = plan.model_copy(update=update).sealed()
    journal_plan(incident, plan, actor)
    return plan
