"""The grants of an incident read back from the journal, their check against the org, and those about to lapse.

A grant's state comes from two places. The journal says what was planned, approved and applied (containment's
entries) and which assignment was created. Only a query says whether the assignment is still there: `check_grants`
reads the assignments by Id and journals what it found (`grant.checked`):

- active: the row is there and its ExpirationDate is ahead;
- expired: the row is gone and its ExpirationDate has passed (it lapsed);
- removed: the row is gone before its ExpirationDate (revoked or deleted by someone);
- expiry passed, still assigned: the row is there after its ExpirationDate (the grant did not lapse: act);
- unverified: the org could not be asked (the last journaled check, if any, is shown with its time).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from app.base.clock import ensure_utc, format_instant, parse_instant
from app.containment.apply import result_records
from app.containment.models import NAMESPACE, chunks, soql_in
from app.salesforce.protocol import OrgClient

if TYPE_CHECKING:
    from app.incident.core import Incident
    from app.journal.chain import Entry, Lookup

CHECK_KIND = "grant.checked"
CHECK_FIELDS = "Id, AssigneeId, PermissionSetId, ExpirationDate"
CHECKS = "grant_check"  # derived state: action id -> the last check of that grant
CheckState = Literal["active", "expired", "removed", "expiry_passed_still_assigned", "not_granted"]


class GrantCheck(BaseModel):
    state: CheckState
    checked_utc: str
    seq: int | None = None  # the grant.checked entry


class Grant(BaseModel):
    action_id: str
    org_alias: str
    assignee: str
    permission_set: str
    reason: str
    approver: str
    requested_by: str
    is_group: bool = False  # `permission_set` names a permission set group (PermissionSetGroupId)
    expires_utc: str
    status: str  # containment's status of the action: planned, approved, done, failed...
    assignment_id: str | None = None
    check: GrantCheck | None = None  # the last query of the assignment, if any

    @property
    def state(self) -> str:
        """What is known now: the last check, else what the journal says was done (never assumed active)."""
        if self.check is not None:
            return self.check.state
        return "granted, not checked" if self.assignment_id else self.status


def _assignment_id(incident: Incident, action_id: str) -> str | None:
    found = None
    for entry in incident.journal.entries(kind="action.result"):
        if entry.data.get("action_id") != action_id:
            continue
        for rec in result_records(incident, entry):
            after = rec.get("after") or {}
            if rec.get("op") == "create_assignment" and after.get("Id"):
                found = str(after["Id"])
    return found


def _is_group(incident: Incident, action_id: str) -> bool:
    from app.containment.store import load_plan

    return any("PermissionSetGroupId" in step.change for step in load_plan(incident, action_id).steps)


def list_grants(incident: Incident) -> list[Grant]:
    """Every grant planned in the incident, oldest first, with the assignment it created and its last check."""
    state = incident.journal.state(NAMESPACE)
    checks = incident.journal.state(CHECKS)
    out: list[Grant] = []
    for entry in incident.journal.entries(kind="action.plan"):
        d = entry.data
        terms = d.get("grant")
        if not terms:
            continue
        current = state.get(d["action_id"]) or {}
        check = checks.get(d["action_id"])
        out.append(
            Grant(
                action_id=d["action_id"],
                org_alias=d["org_alias"],
                assignee=terms["assignee"],
                permission_set=terms["permission_set"],
                reason=terms["reason"],
                approver=terms["approver"],
                requested_by=entry.actor,
                expires_utc=terms["expires_utc"],
                is_group=_is_group(incident, d["action_id"]),
                status=current.get("status", "planned"),
                assignment_id=_assignment_id(incident, d["action_id"]),
                check=GrantCheck(**check) if check else None,
            )
        )
    return out


def _judge(row: dict[str, Any] | None, expires: datetime, now: datetime) -> CheckState:
    if row is None:
        return "expired" if now >= expires else "removed"
    return "expiry_passed_still_assigned" if now >= expires else "active"


def check_grants(incident: Incident, org: OrgClient, actor: str, org_alias: str) -> tuple[list[Grant], Entry | None]:
    """Query every applied grant's assignment on `org_alias` and journal what was found (`grant.checked`)."""
    grants = [g for g in list_grants(incident) if g.org_alias == org_alias and g.assignment_id]
    if not grants:
        return list_grants(incident), None
    now = incident.clock.now()
    ids = [g.assignment_id for g in grants if g.assignment_id]
    found: dict[str, dict[str, Any]] = {}
    queries: list[str] = []
    for chunk in chunks(ids):
        query = f"SELECT {CHECK_FIELDS} FROM PermissionSetAssignment WHERE Id IN {soql_in(chunk)}"
        queries.append(query)
        for row in org.query(query):
            found[str(row["Id"])[:15]] = row
    results = []
    for g in grants:
        assert g.assignment_id is not None
        now_row = found.get(g.assignment_id[:15])
        results.append(
            {
                "action_id": g.action_id,
                "assignment_id": g.assignment_id,
                "expires_utc": g.expires_utc,
                "state": _judge(now_row, parse_instant(g.expires_utc), now),
                "expiration_now": now_row.get("ExpirationDate") if now_row else None,
            }
        )
    entry = incident.journal.append(
        CHECK_KIND,
        {"org_alias": org_alias, "checked_utc": format_instant(now), "queries": queries, "grants": results},
        actor,
    )
    return list_grants(incident), entry


def project_check(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    for g in entry.data.get("grants", []):
        yield CHECKS, g["action_id"], {"state": g["state"], "checked_utc": entry.data["checked_utc"], "seq": entry.seq}


def expiring_grants(incident: Incident, now: datetime, within: timedelta = timedelta(days=1)) -> list[Grant]:
    """Applied grants whose ExpirationDate falls within `within` from `now` and not yet seen gone."""
    now = ensure_utc(now)
    out = []
    for g in list_grants(incident):
        if not g.assignment_id or (g.check is not None and g.check.state in ("expired", "removed")):
            continue
        if now <= parse_instant(g.expires_utc) <= now + within:
            out.append(g)
    return out
