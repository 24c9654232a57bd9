"""The four preconditions of reconnecting an integration, each judged from something the incident holds and
saying what: "met", "not met" or "unknown" (never assumed met).

- secret_rotated: a confirmed `rotate_consumer_secret` manual task for the app (its evidence id);
- least_privilege_user: in the latest inventory snapshot, the new integration user is active, has the
  Salesforce Integration licence or the Minimum Access - API Only Integrations profile, and holds none of the
  dangerous permissions containment strips (app/containment/models.py);
- policies_hardened: the connected app admits admin-approved users only
  (ConnectedApplication.OptionsAllowAdminApprovedUsersOnly) and its refresh tokens expire
  (RefreshTokenValidityPeriod is set), as the latest `harden check` read them when it is newer than the snapshot,
  else as the snapshot holds them; "unknown" when neither could read those fields;
- monitoring_running: a monitoring window is open and has a successful run within the last day.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel

from app.base.clock import parse_instant
from app.containment.models import DANGEROUS_PERMISSIONS

if TYPE_CHECKING:
    from app.incident.core import Incident

State = Literal["met", "not met", "unknown"]


class Precondition(BaseModel):
    name: str
    state: State
    basis: str  # what it was judged from


def _secret(incident: Incident, app: str) -> Precondition:
    from app.containment.store import load_plan

    for entry in incident.journal.entries(kind="action.task_confirmed"):
        d = entry.data
        if d.get("kind") == "rotate_consumer_secret" and load_plan(incident, d["action_id"]).selectors.app == app:
            return Precondition(
                name="secret_rotated",
                state="met",
                basis=f"task {d['task_id']} confirmed by {entry.actor} with evidence {d['evidence_id']} "
                f"(entry {entry.seq})",
            )
    return Precondition(
        name="secret_rotated",
        state="not met",
        basis=f"no confirmed rotate_consumer_secret task for {app} "
        f"(`warroom contain plan rotate_consumer_secret --app {app!r}`, then `contain confirm`)",
    )


def _user_and_app(incident: Incident, app: str, username: str) -> list[Precondition]:
    from app import inventory as inv

    snap = inv.load_current(incident)
    summary = inv.current_summary(incident) or {}
    if snap is None:
        why = "no inventory snapshot (`warroom inventory pull`)"
        return [Precondition(name=n, state="unknown", basis=why) for n in ("least_privilege_user", "policies_hardened")]
    where = f"snapshot {summary.get('evidence_id')} taken {snap.taken_utc}"
    user = next((u for u in snap.users if u.username.lower() == username.lower()), None)
    if user is None:
        least = Precondition(name="least_privilege_user", state="not met", basis=f"{username} is not in the {where}")
    else:
        held = inv.held_permission_sets(snap, at=snap.taken_utc).get(user.id, [])
        dangerous = sorted({p for ps, _a in held for p in ps.permissions if p in DANGEROUS_PERMISSIONS})
        integration = (user.license or "").lower() in inv.INTEGRATION_LICENSES or (
            user.profile_name or ""
        ).lower() in inv.INTEGRATION_PROFILES
        problems = [
            *([] if user.active else ["inactive"]),
            *([] if integration else [f"licence {user.license!r} and profile {user.profile_name!r}"]),
            *([f"holds {', '.join(dangerous)}"] if dangerous else []),
        ]
        least = Precondition(
            name="least_privilege_user",
            state="not met" if problems else "met",
            basis=f"{username} in the {where}" + (": " + "; ".join(problems) if problems else ""),
        )
    connected = next((c for c in snap.connected_apps if c.name == app), None)
    if connected is None:
        policy = Precondition(name="policies_hardened", state="unknown", basis=f"{app} is not in the {where}")
    elif connected.admin_approved_only is None or connected.refresh_token_validity is None:
        policy = Precondition(
            name="policies_hardened", state="unknown", basis=f"the {where} could not read {app}'s OAuth policies"
        )
    else:
        gaps = [
            *([] if connected.admin_approved_only else ["users may self-authorize (not admin-approved only)"]),
            *([] if connected.refresh_token_validity else ["refresh tokens do not expire"]),
        ]
        policy = Precondition(
            name="policies_hardened",
            state="not met" if gaps else "met",
            basis=f"{app} in the {where}" + (": " + "; ".join(gaps) if gaps else ""),
        )
    return [least, _newer_check(incident, app, snap.taken_utc) or policy]


def _newer_check(incident: Incident, app: str, taken_utc: str) -> Precondition | None:
    """The latest `harden check` of the app (a live query) when it is newer than the snapshot."""
    from app.hardening import CHECK_KIND

    for entry in reversed(list(incident.journal.entries(kind=CHECK_KIND))):
        d = entry.data
        if d.get("app") != app:
            continue
        if parse_instant(d["checked_utc"]) <= parse_instant(taken_utc):
            return None
        found = d["connected_app_policies"]
        detail = found.get("why") or "; ".join(found.get("gaps", []))
        return Precondition(
            name="policies_hardened",
            state=found["state"],
            basis=f"harden check of {app} at {d['checked_utc']} (entry {entry.seq})"
            + (f": {detail}" if detail else ""),
        )
    return None


def _monitoring(incident: Incident, now: datetime) -> Precondition:
    from app.monitoring import monitor_status

    status = monitor_status(incident, now)
    if status is None or status.ended:
        return Precondition(
            name="monitoring_running",
            state="not met",
            basis="no monitoring window open" if status is None else f"the window ended {status.end_utc}",
        )
    last = status.last_run_utc
    recent = last is not None and status.last_status == "ok" and now - parse_instant(last) <= timedelta(days=1)
    return Precondition(
        name="monitoring_running",
        state="met" if recent else "not met",
        basis=f"day {status.day} of {status.days}; last run {last or 'never'} ({status.last_status or 'none'})",
    )


def check_preconditions(incident: Incident, app: str, username: str, now: datetime) -> list[Precondition]:
    return [_secret(incident, app), *_user_and_app(incident, app, username), _monitoring(incident, now)]
