"""A reconnect plan journaled (`reconnect.plan`) with its preconditions as checked then, and its approval
(`reconnect.approved`): the preconditions are checked again at approval, and the approver must be someone other
than the planner. A refused approval is journaled (`reconnect.refused`) with the reason."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from app.base.clock import format_instant
from app.base.errors import NotFoundError, UsageError, WarroomError
from app.reconnection.preconditions import Precondition, check_preconditions

if TYPE_CHECKING:
    from app.incident.core import Incident
    from app.journal.entries import Entry
    from app.journal.registry import Lookup

PLAN_KIND = "reconnect.plan"
APPROVAL_KIND = "reconnect.approved"
REFUSED_KIND = "reconnect.refused"
NAMESPACE = "reconnect"


class ReconnectRefused(WarroomError):
    """The integration may not be brought back yet; the refusal is journaled."""


class Reconnect(BaseModel):
    reconnect_id: str
    app: str
    user: str
    planned_by: str
    plan_seq: int
    preconditions: list[Precondition]  # as last checked (at approval when approved)
    status: str  # planned | approved
    approved_by: str | None = None
    approved_seq: int | None = None


def _data(preconditions: list[Precondition]) -> list[dict[str, Any]]:
    return [p.model_dump() for p in preconditions]


def plan_reconnect(incident: Incident, app: str, username: str, actor: str) -> Entry:
    """Check the preconditions of bringing `app` back with the integration user `username`; journal the plan."""
    app, username = (app or "").strip(), (username or "").strip()
    if not app or not username:
        raise UsageError("a reconnect plan needs --app NAME and --user USERNAME (the new integration user)")
    now = incident.clock.now()
    checked = check_preconditions(incident, app, username, now)
    while True:
        rid = f"RC-{secrets.token_hex(3).upper()}"
        if incident.journal.get_state(NAMESPACE, rid) is None:
            break
    return incident.journal.append(
        PLAN_KIND,
        {
            "reconnect_id": rid,
            "app": app,
            "user": username,
            "checked_utc": format_instant(now),
            "preconditions": _data(checked),
            "ready": all(p.state == "met" for p in checked),
        },
        actor,
    )


def _refuse(incident: Incident, rid: str, actor: str, reason: str, message: str, extra: dict[str, Any]) -> None:
    incident.journal.append(REFUSED_KIND, {"reconnect_id": rid, "reason": reason, "message": message, **extra}, actor)
    raise ReconnectRefused(message)


def approve_reconnect(incident: Incident, reconnect_id: str, approver: str, note: str | None = None) -> Entry:
    """Check the preconditions again and record the approval of bringing the integration back."""
    rid = reconnect_id.strip().upper()
    current = incident.journal.get_state(NAMESPACE, rid)
    if current is None:
        raise NotFoundError(f"no reconnect plan {reconnect_id!r} in {incident.id} (`warroom reconnect status`)")
    if current["status"] == "approved":
        raise UsageError(f"{rid} was already approved by {current['approved_by']} (entry {current['approved_seq']})")
    if approver == current["planned_by"]:
        _refuse(incident, rid, approver, "approver_is_planner", f"{rid} was planned by {approver}: someone else "
                "approves bringing the integration back; nothing was approved", {})  # fmt: skip
    now = incident.clock.now()
    checked = check_preconditions(incident, current["app"], current["user"], now)
    unmet = [p for p in checked if p.state != "met"]
    if unmet:
        _refuse(
            incident,
            rid,
            approver,
            "preconditions_not_met",
            f"{rid}: " + "; ".join(f"{p.name} {p.state} ({p.basis})" for p in unmet) + "; nothing was approved",
            {"preconditions": _data(checked)},
        )
    data: dict[str, Any] = {
        "reconnect_id": rid,
        "app": current["app"],
        "user": current["user"],
        "checked_utc": format_instant(now),
        "preconditions": _data(checked),
    }
    if note:
        data["note"] = note
    return incident.journal.append(APPROVAL_KIND, data, approver)


def project(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    d = entry.data
    if entry.kind == PLAN_KIND:
        yield (
            NAMESPACE,
            d["reconnect_id"],
            {
                "reconnect_id": d["reconnect_id"],
                "app": d["app"],
                "user": d["user"],
                "planned_by": entry.actor,
                "plan_seq": entry.seq,
                "preconditions": d["preconditions"],
                "status": "planned",
                "approved_by": None,
                "approved_seq": None,
            },
        )
    elif entry.kind == APPROVAL_KIND:
        current = get(NAMESPACE, d["reconnect_id"]) or {}
        yield (
            NAMESPACE,
            d["reconnect_id"],
            {
                **current,
                "preconditions": d["preconditions"],
                "status": "approved",
                "approved_by": entry.actor,
                "approved_seq": entry.seq,
            },
        )


def reconnects(incident: Incident) -> list[Reconnect]:
    rows = [Reconnect(**v) for v in incident.journal.state(NAMESPACE).values()]
    return sorted(rows, key=lambda r: r.plan_seq)
