"""Withdrawing a plan that will not be applied (a dry run, a plan made on the wrong org, one superseded by a
better plan): journaled with a reason (`action.withdrawn`), so the report and `contain status` list it as
withdrawn, with who and why, instead of "planned, not applied", and `contain apply` refuses it from then on.

Only a plan nothing has run from can be withdrawn: once an intent is journaled, records may have changed in the
org, and the way back is `contain undo`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from app.base.errors import NotFoundError, UsageError
from app.containment.models import NAMESPACE, ContainmentError

if TYPE_CHECKING:
    from app.incident.core import Incident
    from app.journal.entries import Entry
    from app.journal.registry import Lookup

KIND = "action.withdrawn"
WITHDRAWABLE = ("planned", "approved")


def withdraw_plan(incident: Incident, plan_id: str, reason: str, actor: str) -> Entry:
    """Journal that `plan_id` will not be applied, and why; refused once anything ran from it."""
    key = plan_id.strip().upper()
    why = " ".join(reason.split())
    if not why:
        raise UsageError("a withdrawal needs a reason (--reason TEXT)")
    current = incident.journal.get_state(NAMESPACE, key)
    if current is None:
        raise NotFoundError(f"no containment plan {plan_id!r} in {incident.id} (`warroom contain status` lists them)")
    status = current["status"]
    if status == "withdrawn":
        raise ContainmentError(
            f"{key} was already withdrawn by {current.get('withdrawn_by')}: {current.get('withdrawn_reason')}"
        )
    if status not in WITHDRAWABLE:
        raise ContainmentError(
            f"{key} is {status}: it has run (records may have changed), so it cannot be withdrawn; "
            f"reverse it with `warroom contain undo {key}`"
        )
    return incident.journal.append(KIND, {"action_id": key, "reason": why, "previous_status": status}, actor)


def project_withdrawn(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    cur = get(NAMESPACE, entry.data["action_id"])
    if cur is None:
        return
    yield (
        NAMESPACE,
        cur["action_id"],
        {
            **cur,
            "status": "withdrawn",
            "withdrawn_by": entry.actor,
            "withdrawn_utc": entry.recorded_utc,
            "withdrawn_reason": entry.data["reason"],
        },
    )


def refuse_withdrawn(current: dict[str, Any], plan_id: str) -> None:
    """`contain apply` on a withdrawn plan: refused before anything is journaled or sent."""
    if current.get("status") == "withdrawn":
        raise ContainmentError(
            f"{plan_id} was withdrawn by {current.get('withdrawn_by')} ({current.get('withdrawn_reason')}); "
            "make a new plan; nothing was sent"
        )
