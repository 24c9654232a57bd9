"""One function per alert type, each over what a run took in: the previous and the new inventory snapshot, the
rows new since the last run, the indicator sets and the incident's containment. Each alert has a key, so a
condition still true at the next run is not raised again.

Alert types:
- token_regranted: an OauthToken of an app that containment revoked or blocked, created after that containment;
- new_connected_app / new_package: a connected app or installed package absent from the previous snapshot;
- permission_escalation: an assignment added since the previous snapshot whose set carries a dangerous
  permission (with the Setup Audit Trail's PermSetAssign row that recorded it, when there is one);
- api_enabled_user: a user who holds API Enabled now and did not in the previous snapshot;
- login_from_indicator: a LoginHistory row since the last run whose source address is an indicator;
- user_unfrozen: a user containment froze whose UserLogin is no longer frozen;
- indicator_hit: a hunt hit in what the run collected that is not a login (a login hit is login_from_indicator,
  with the same key as the one the pulled LoginHistory gives, so it is raised once).

Setup Audit Trail Action values are not listed in Salesforce's object reference; "PermSetAssign" with the
Display "Permission set NAME: assigned to user USERNAME" is the shape of recorded rows, so the audit trail
only corroborates: the inventory diff decides. Assignments made by the incident's own approved grants
(app/grants) are not escalations.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.containment.models import DANGEROUS_PERMISSIONS, id15
from app.evidence.rows import Row, parse_time
from app.inventory import Snapshot, SnapshotDiff, held_permission_sets

ALERT_TYPES: dict[str, str] = {
    "token_regranted": "a token granted again to a contained app",
    "new_connected_app": "a new connected app",
    "new_package": "a new installed package",
    "permission_escalation": "a permission escalation",
    "api_enabled_user": "a new API-enabled user",
    "login_from_indicator": "a login from an indicator",
    "user_unfrozen": "a frozen user unfrozen",
    "indicator_hit": "other activity from an indicator in what was collected (API, report and event logs)",
}


@dataclass
class Alert:
    type: str
    key: str
    title: str
    detail: str = ""
    at: str | None = None  # when it happened in the org, where the row says
    records: list[str] = field(default_factory=list)

    def data(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "key": self.key, "title": self.title, "detail": self.detail}
        if self.at:
            out["at"] = self.at
        if self.records:
            out["records"] = self.records
        return out


@dataclass
class Contained:
    """What the incident's containment did that monitoring must see stay done."""

    apps: dict[str, datetime] = field(default_factory=dict)  # app name -> when it was contained
    frozen: dict[str, str] = field(default_factory=dict)  # user id (15) -> the action that froze it
    granted: set[str] = field(default_factory=set)  # assignment ids (15) made by approved grants


def _names(snap: Snapshot) -> dict[str, str]:
    return {id15(u.id): u.username for u in snap.users}


def tokens_regranted(new: Snapshot, contained: Contained) -> list[Alert]:
    out = []
    for t in new.oauth_tokens:
        since = contained.apps.get(t.app_name)
        created = parse_time(t.created)
        if since is None or created is None or created <= since:
            continue
        who = _names(new).get(id15(t.user_id), t.user_id or "?")
        out.append(
            Alert(
                "token_regranted",
                f"token:{t.ref}",
                f"{t.app_name} holds a new OAuth token of {who}",
                f"created {t.created}, after the app was contained {since.isoformat()}",
                t.created,
                [t.ref],
            )
        )
    return out


def new_apps_and_packages(diff: SnapshotDiff | None) -> list[Alert]:
    if diff is None:
        return []
    out = [
        Alert("new_connected_app", f"app:{c.id}", f"new connected app {c.name}", records=[c.id])
        for c in diff.of("connected_apps", "added")
    ]
    out += [
        Alert("new_package", f"package:{c.id}", f"new installed package {c.name}", records=[c.id])
        for c in diff.of("packages", "added")
    ]
    return out


def _audit_row(new: Snapshot, ps_name: str, username: str, since: datetime) -> Any:
    for a in new.audit_trail:
        at = parse_time(a.created)
        if (
            a.action == "PermSetAssign"
            and at is not None
            and at > since
            and ps_name in (a.display or "")
            and username in (a.display or "")
        ):
            return a
    return None


def escalations(old: Snapshot | None, new: Snapshot, since: datetime, contained: Contained) -> list[Alert]:
    if old is None:
        return []
    before = {a.id for a in old.assignments}
    sets = {p.id: p for p in new.permission_sets}
    names = _names(new)
    out = []
    for a in new.assignments:
        if a.id in before or id15(a.id) in contained.granted:
            continue
        ps = sets.get(a.permission_set_id)
        dangerous = [p for p in (ps.permissions if ps else []) if p in DANGEROUS_PERMISSIONS]
        if ps is None or not dangerous:
            continue
        who = names.get(id15(a.user_id), a.user_id)
        audit = _audit_row(new, ps.name, who, since)
        out.append(
            Alert(
                "permission_escalation",
                f"escalation:{a.id}",
                f"{who} was given {ps.name} ({', '.join(dangerous)})",
                f"Setup Audit Trail {audit.id} at {audit.created} by {audit.created_by}: {audit.display}"
                if audit
                else "no Setup Audit Trail row names it (the inventory diff found it)",
                audit.created if audit else None,
                [a.id] + ([audit.id] if audit else []),
            )
        )
    return out


def _api_users(snap: Snapshot, skip: set[str]) -> set[str]:
    out = set()
    for uid, held in held_permission_sets(snap, at=snap.taken_utc).items():
        if any("ApiEnabled" in ps.permissions for ps, assignment in held if id15(assignment) not in skip):
            out.add(id15(uid))
    return out


def api_enabled_users(old: Snapshot | None, new: Snapshot, contained: Contained) -> list[Alert]:
    if old is None:
        return []
    names = _names(new)
    active = {id15(u.id) for u in new.users if u.active}
    fresh = (_api_users(new, contained.granted) - _api_users(old, set())) & active
    return [
        Alert("api_enabled_user", f"api:{uid}", f"{names.get(uid, uid)} can now use the API", records=[uid])
        for uid in sorted(fresh)
    ]


def _login_row(evidence_id: str, n: int, login: Any) -> Row:
    fields = {
        "Id": login.id,
        "UserId": login.user_id,
        "LoginTime": login.time,
        "SourceIp": login.source_ip,
        "Application": login.application,
        "Status": login.status,
    }
    return Row(evidence_id=evidence_id, file="LoginHistory", line=n, source="LoginHistory", fields=fields)


def indicator_logins(new: Snapshot, since: datetime, compiled: Sequence[Any], evidence_id: str) -> list[Alert]:
    from app.hunt.hunting import match_row

    hits_only = [c for c in compiled if c.role == "hit"]
    names = _names(new)
    out = []
    for n, login in enumerate(new.login_history, start=1):
        at = parse_time(login.time)
        if at is None or at <= since:
            continue
        hits, _context = match_row(_login_row(evidence_id, n, login), hits_only)
        if hits:
            who = names.get(id15(login.user_id), login.user_id or "?")
            out.append(
                Alert(
                    "login_from_indicator",
                    f"login:{login.id}",
                    f"login by {who} from {login.source_ip}",
                    f"{login.status or 'status unknown'} at {login.time} via {login.application or '?'}; "
                    + "; ".join(hits),
                    login.time,
                    [login.id],
                )
            )
    return out


def hunt_alerts(hits: Sequence[Any]) -> list[Alert]:
    """The new hunt hits of a run (app.hunt.Hit) as alerts."""
    out = []
    for h in hits:
        login = "login" in h.source.lower() and h.record_id
        out.append(
            Alert(
                "login_from_indicator" if login else "indicator_hit",
                f"login:{h.record_id}" if login else f"hit:{h.key}",
                h.title(),
                "; ".join(h.indicators) + f" (evidence {h.evidence_id} line {h.line})",
                h.at,
                [h.record_id or h.key],
            )
        )
    return out


def unfrozen(new: Snapshot, contained: Contained) -> list[Alert]:
    out = []
    for u in new.users:
        action = contained.frozen.get(id15(u.id))
        if action is not None and u.frozen is False:
            out.append(
                Alert(
                    "user_unfrozen",
                    f"unfrozen:{id15(u.id)}:{action}",
                    f"{u.username} is no longer frozen",
                    f"frozen by {action}; UserLogin.IsFrozen is false in the snapshot taken {new.taken_utc}",
                    records=[u.id],
                )
            )
    return out


def run_checks(
    old: Snapshot | None,
    new: Snapshot,
    diff: SnapshotDiff | None,
    since: datetime,
    contained: Contained,
    compiled: Iterable[Any],
    evidence_id: str,
) -> list[Alert]:
    return [
        *tokens_regranted(new, contained),
        *new_apps_and_packages(diff),
        *escalations(old, new, since, contained),
        *api_enabled_users(old, new, contained),
        *indicator_logins(new, since, list(compiled), evidence_id),
        *unfrozen(new, contained),
    ]
