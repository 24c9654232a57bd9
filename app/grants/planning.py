"""The plan of one just-in-time grant: one `create_assignment` step giving USER the permission set NAME until
an ExpirationDate, planned and journaled like any containment action (`action.plan`), with its reason and the
person who must approve it (`Plan.grant`).

Salesforce object reference, PermissionSetAssignment: ExpirationDate (dateTime; Create, Filter, Nillable,
Update) is "the date that the assignment of the permission set or permission set group expires for the
specified user", available in API version 52.0 and later; creating an assignment needs Assign Permission Sets
(or Manage Users). The object "represents a user's assignment to a permission set or permission set group":
a group is granted by PermissionSetGroupId ("the permission set group indicated in PermissionSetGroupId"; a
reference to PermissionSetGroup, Create), read by its DeveloperName ("the permission set group name used in the
API"; PermissionSetGroup object reference).
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
GROUP_FIELDS = "Id, DeveloperName, MasterLabel"


def sf_datetime(at: datetime) -> str:
    """An instant as Salesforce writes a dateTime (UTC, whole seconds, milliseconds shown)."""
    return ensure_utc(at).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def plan_grant(
    org: OrgClient,
    incident: Incident,
    *,
    user: str,
    permission_set: str | None,
    expires: datetime,
    reason: str,
    approver: str,
    actor: str,
    org_alias: str,
    ticket: str | None = None,
    permission_set_group: str | None = None,
) -> Plan:
    """Read the user, the permission set (or group) and any assignment already there, and journal the plan."""
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
    if bool((permission_set or "").strip()) == bool((permission_set_group or "").strip()):
        raise UsageError("name either --permission-set NAME or --permission-set-group NAME")
    src = LiveSource(org)
    row = src.user_by_name(user.strip())
    when = sf_datetime(expires)
    if permission_set_group and permission_set_group.strip():
        name, target, label = _group(src, permission_set_group.strip())
        key, what = "PermissionSetGroupId", f"permission set group {name}"
    else:
        name, target, label = _permission_set(src, (permission_set or "").strip())
        key, what = "PermissionSetId", name
    held = src.reader.query(
        "SELECT Id, ExpirationDate FROM PermissionSetAssignment WHERE AssigneeId = "
        f"{soql_str(row['Id'])} AND {key} = {soql_str(target)}"
    )
    if held:
        until = held[0].get("ExpirationDate")
        raise ContainmentError(
            f"{user} already holds {what} "
            + (f"until {until}" if until else "with no expiry (a standing grant: strip it first)")
            + f" (assignment {held[0]['Id']}); nothing was planned"
        )
    draft = Draft(ACTION, Selectors(user=row["Username"]))
    name_field = "PermissionSetGroup.DeveloperName" if key == "PermissionSetGroupId" else "PermissionSet.Name"
    draft.add(
        "create_assignment",
        "PermissionSetAssignment",
        f"{row['Id']}:{target}",
        f"{label} to {row['Username']} until {when}",
        {"AssigneeId": row["Id"], key: target, name_field: name, "assigned": False},
        {"AssigneeId": row["Id"], key: target, "ExpirationDate": when},
    )
    draft.note(f"Reason: {reason}")
    draft.note(f"Needs the approval of {approver} before it is applied; the assignment lapses at {when}.")
    plan = draft.finish(
        plan_id=new_plan_id(incident), org_alias=org_alias, basis=src.basis(), actor=actor, created=now_utc(incident)
    )
    terms = GrantTerms(
        reason=reason, approver=approver, expires_utc=when, permission_set=name, assignee=row["Username"]
    )
    update: dict[str, object] = {"grant": terms}
    if ticket and ticket.strip():
        update["ticket"] = ticket.strip()
    plan = plan.model_copy(update=update).sealed()
    journal_plan(incident, plan, actor)
    return plan


def _permission_set(src: LiveSource, name: str) -> tuple[str, str, str]:
    rows = src.reader.query(f"SELECT {PS_FIELDS} FROM PermissionSet WHERE Name = {soql_str(name)}")
    if not rows:
        raise NotFoundError(f"no permission set named {name!r} in the org (its API name, not its label)")
    ps = rows[0]
    if ps.get("IsOwnedByProfile"):
        raise UsageError(f"{name} belongs to a profile: a profile cannot be granted for a time")
    return str(ps["Name"]), str(ps["Id"]), str(ps.get("Label") or ps["Name"])


def _group(src: LiveSource, name: str) -> tuple[str, str, str]:
    rows = src.reader.query(f"SELECT {GROUP_FIELDS} FROM PermissionSetGroup WHERE DeveloperName = {soql_str(name)}")
    if not rows:
        raise NotFoundError(f"no permission set group named {name!r} in the org (its API name, not its label)")
    group = rows[0]
    return str(group["DeveloperName"]), str(group["Id"]), f"permission set group {group.get('MasterLabel') or name}"
