"""Containment claims only what this login can do and see: its permissions against each action's needs.

Salesforce answers a login without *Customize Application* with its own OAuth tokens only, silently; a plan
made from that answer says "no token exists" and a verification count of 0 proves nothing. So the login's
effective permissions (`app/salesforce/access.py`, which keeps the documented rules and their sources) are
read before planning, where a gap becomes a note and the plan's `basis.permissions`, and again before
applying, where a gap is a journaled refusal (`action.refused`, reason `missing_permissions`) naming each
permission, with no change sent to the org.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from app.containment.models import ContainmentError, Plan, Step, Stop
from app.salesforce import access

if TYPE_CHECKING:
    from app.containment.plan import Draft
    from app.incident.core import Incident


class PermissionsMissing(ContainmentError):
    """The login lacks (or could not be shown to have) a permission the plan needs; nothing was sent."""

    def __init__(self, message: str, gaps: access.Gaps) -> None:
        super().__init__(message)
        self.gaps = gaps


def note_permissions(effective: access.EffectivePermissions | None, source_kind: str, draft: Draft) -> None:
    """Record in the plan what the login lacks for `draft.action` (nothing when the plan comes from a snapshot)."""
    if effective is None:
        if source_kind == "snapshot":
            draft.note(
                "The login's permissions are checked on the connected machine before anything is applied "
                "(seeing every token needs Customize Application; freezing and ending sessions, Manage Users)."
            )
        return
    gaps = access.gaps(effective, access.ACTION_NEEDS.get(draft.action, ()))
    draft.basis_extra["permissions"] = {
        "read_from": effective.read_from,
        "complete": effective.complete,
        "granted": effective.granted,
        "unmet": gaps.as_data(),
    }
    for c in gaps.unmet:
        draft.unmet.add(c.key)
        how = "lacks" if c.state == "missing" else "could not confirm it has"
        draft.note(
            f"MISSING PERMISSION: this login {how} {c.label}, needed to {c.what} ({c.source}). "
            f"{c.consequence[0].upper()}{c.consequence[1:]}. `contain apply` will refuse this plan until the "
            "login has it."
        )


def planned_gaps(basis: dict[str, Any]) -> list[dict[str, Any]]:
    """The needs the planning login did not meet, as recorded in the plan's basis (empty when it met them)."""
    perms = basis.get("permissions")
    return list(perms.get("unmet") or []) if isinstance(perms, dict) else []


def blind_plan_message(plan_id: str, unmet: list[dict[str, Any]]) -> str:
    names = ", ".join(dict.fromkeys(str(u.get("label")) for u in unmet))
    whys = "; ".join(f"{u.get('label')}: needed to {u.get('what')} ({u.get('source')})" for u in unmet)
    return (
        f"{plan_id} refused: it was planned by a login without {names}, so its list of records may be "
        f"incomplete ({whys}). Nothing was sent; plan again with a login that has {names}"
    )


def check_for_apply(org: Any, user_id: str, ops: Iterable[str]) -> tuple[access.EffectivePermissions, access.Gaps]:
    """Read the login's permissions now and compare them with what the pending operations need."""
    effective = access.read_effective(org, user_id)
    return effective, access.gaps(effective, access.needs_for_ops(ops))


def refusal_message(plan_id: str, alias: str, gaps: access.Gaps) -> str:
    return (
        f"{plan_id} refused on {alias}: {gaps.message()}. Nothing was sent; grant "
        f"{', '.join(gaps.names())} to this login (or use one that has it) and apply again"
    )


def refuse_blind_plan(incident: Incident, plan: Plan, actor: str) -> None:
    """A plan made by a login that could not see everything it is about (no Customize Application: other
    users' tokens were invisible) may be missing records: refuse it before anything reaches the org."""
    unmet = planned_gaps(plan.basis)
    if not unmet:
        return
    message = blind_plan_message(plan.plan_id, unmet)
    incident.journal.append(
        "action.refused",
        {
            "action_id": plan.plan_id,
            "plan_sha256": plan.sha256,
            "reason": "missing_permissions",
            "message": message,
            "stage": "apply",
            "missing": unmet,
        },
        actor,
    )
    raise PermissionsMissing(message, access.Gaps())


def permission_gate(
    incident: Incident, org: Any, user_id: str, plan: Plan, pending: list[Step], actor: str
) -> tuple[Stop | None, PermissionsMissing | None]:
    """Before the first change: the login must have what every pending operation needs (see
    this module). A gap is journaled as a refusal naming each permission; nothing is sent."""
    effective, gaps = check_for_apply(org, user_id, {s.op for s in pending})
    if not gaps:
        return None, None
    message = refusal_message(plan.plan_id, plan.org_alias, gaps)
    incident.journal.append(
        "action.refused",
        {
            "action_id": plan.plan_id,
            "plan_sha256": plan.sha256,
            "reason": "missing_permissions",
            "message": message,
            "stage": "apply",
            "missing": gaps.as_data(),
            "permissions_read_from": effective.read_from,
            "granted": effective.granted,
        },
        actor,
    )
    return Stop(reason="missing_permissions", message=message), PermissionsMissing(message, gaps)
