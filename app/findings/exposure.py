"""What the org exposes and what was done about it, record by record: the current inventory snapshot joined with
the findings it yields and the containment actions aimed at each app, token holder and integration user.

A reader for the front ends (the console's inventory pane, its containment dialog): one row per connected app, per
app-and-user group of OAuth tokens, per permission set held by an app's token holders (profile-owned sets included)
and per integration user, each with its findings and the latest containment action on it. Slow (it evaluates the
findings): call it off the UI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app import inventory as inv
from app.base.text import count_of
from app.containment import execute as ct
from app.findings.incident import incident_findings
from app.findings.indicators import load_indicators
from app.findings.models import Finding

if TYPE_CHECKING:
    from app.incident.core import Incident

STATUS_MARK = {"done": "✓", "partial": "!", "failed": "!!", "undone": "↺"}
HOLDERS_LISTED = 20  # holders of a permission set named in its row (the count covers them all)


@dataclass(frozen=True)
class ExposureRow:
    key: str  # app:NAME, tok:APP|USER_ID, perm:APP|PERMISSION_SET_ID, user:ID
    kind: str  # app | token | permset | user
    name: str
    detail: str = ""
    findings: tuple[tuple[str, str], ...] = ()  # (severity, title)
    containment: str = ""  # the latest action on the row, e.g. "✓ revoke_tokens done 3/3"
    record: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass
class Exposure:
    rows: list[ExposureRow]
    summary: str
    findings: list[Finding]  # most severe first
    evidence_id: str | None = None
    org_alias: str | None = None


def _containment_targets(incident: Incident) -> dict[str, list[ct.ActionStatus]]:
    """Row key -> containment actions aimed at it (from each plan's journaled selectors)."""
    out: dict[str, list[ct.ActionStatus]] = {}
    for action in ct.status(incident):
        entry = incident.journal.entry(action.plan_seq)
        sel = (entry.data.get("selectors") if entry else None) or {}
        keys: list[str] = []
        if sel.get("app"):
            keys.append(f"app:{sel['app']}")
            keys.append(f"tokapp:{sel['app']}")
        for name in [*([sel["user"]] if sel.get("user") else []), *sel.get("users", [])]:
            keys.append(f"username:{name}")
        for key in keys:
            out.setdefault(key, []).append(action)
    return out


def containment_text(actions: list[ct.ActionStatus]) -> str:
    """The latest action on a row, as a mark that reads without colour: `✓ revoke_tokens done 3/3`."""
    if not actions:
        return ""
    a = actions[-1]
    return f"{STATUS_MARK.get(a.status, '·')} {a.action} {a.status} {a.done}/{a.total}"


def _finding_dict(f: Finding) -> dict[str, Any]:
    return {
        "id": f.id,
        "severity": f.severity,
        "title": f.title,
        "why": f.why,
        "do": f.action,
        "checklist_item": f.checklist_item,
        "containment": f.containment,
    }


def exposure(incident: Incident) -> Exposure:
    """The current snapshot's rows with their findings and containment (empty when there is no snapshot)."""
    meta = inv.current_summary(incident)
    snap = inv.load_current(incident)
    if snap is None or meta is None:
        return Exposure([], "", [])
    summary = inv.summarize(snap, evidence_id=meta["evidence_id"])
    found = incident_findings(incident, snap, indicators=load_indicators(incident=incident))
    targets = _containment_targets(incident)
    by_key: dict[str, list[Finding]] = {}
    users = {u.id: u for u in snap.users}
    for f in found:
        for r in f.records:
            if r.type == "ConnectedApplication":
                by_key.setdefault(f"app:{r.name}", []).append(f)
            elif r.type == "User":
                by_key.setdefault(f"user:{r.id}", []).append(f)
            elif r.type == "OauthToken":
                by_key.setdefault(f"token:{r.id}", []).append(f)
            elif r.type in ("PermissionSet", "Profile", "PermissionSetAssignment"):
                by_key.setdefault(f"{r.type}:{r.id}", []).append(f)

    def of(*keys: str) -> list[Finding]:
        seen: dict[str, Finding] = {}
        for k in keys:
            for f in by_key.get(k, []):
                seen.setdefault(f.id, f)
        return list(seen.values())

    def marks(found_here: list[Finding]) -> tuple[tuple[str, str], ...]:
        return tuple((f.severity, f.title if f.status == "open" else f"closed: {f.title}") for f in found_here)

    rows: list[ExposureRow] = []
    for a in summary.apps:
        key = f"app:{a.name}"
        rows.append(
            ExposureRow(
                key=key,
                kind="app",
                name=a.name,
                detail=f"{count_of(a.tokens, 'token')}, {count_of(a.users, 'user')}",
                findings=marks(of(key)),
                containment=containment_text(targets.get(key, [])),
                record={**a.model_dump(), "findings_detail": [_finding_dict(f) for f in of(key)]},
            )
        )
    groups: dict[tuple[str, str], list[Any]] = {}
    for t in snap.oauth_tokens:
        groups.setdefault((t.app_name, t.user_id or ""), []).append(t)
    for (app_name, uid), tokens in sorted(groups.items()):
        holder = users.get(uid)
        who = holder.username if holder else uid or "unknown user"
        last_used = max((t.last_used for t in tokens if t.last_used), default=None)
        rows.append(
            ExposureRow(
                key=f"tok:{app_name}|{uid}",
                kind="token",
                name=f"{app_name} → {who}",
                detail=f"{len(tokens)} token{'s' if len(tokens) != 1 else ''}"
                + (f", last used {last_used}" if last_used else ""),
                findings=marks(of(*[f"token:{t.ref}" for t in tokens], f"app:{app_name}")),
                containment=containment_text(
                    targets.get(f"tokapp:{app_name}", []) + targets.get(f"username:{who}", [])
                ),
                record={
                    "app": app_name,
                    "user_id": uid,
                    "username": who,
                    "tokens": [t.ref for t in tokens],
                    "last_used": last_used,
                    "use_count": sum(t.use_count or 0 for t in tokens),
                },
            )
        )
    rows += _permission_set_rows(snap, of, marks)
    for u in summary.integration_users:
        key = f"user:{u.id}"
        frozen = " frozen" if u.frozen else ""
        rows.append(
            ExposureRow(
                key=key,
                kind="user",
                name=u.username,
                detail=("active" if u.active else "inactive") + frozen + f", {u.tokens} tokens",
                findings=marks(of(key)),
                containment=containment_text(targets.get(f"username:{u.username}", [])),
                record={**u.model_dump(), "findings_detail": [_finding_dict(f) for f in of(key)]},
            )
        )
    counts = summary.counts
    text = (
        f"snapshot {meta['evidence_id']} {snap.taken_utc}  {counts.get('connected_apps', 0)} apps "
        f"{snap.count_text('oauth_tokens', 'tokens', 'OauthToken')} {len(summary.integration_users)} integration users "
        f"{len(found)} findings"
    )
    return Exposure(rows, text, found, meta["evidence_id"], snap.source.org_alias)


def _permission_set_rows(
    snap: inv.Snapshot,
    of: Callable[..., list[Finding]],
    marks: Callable[[list[Finding]], tuple[tuple[str, str], ...]],
) -> list[ExposureRow]:
    """One row per permission set an app's token holders hold, with how many of them hold it and what it lets
    out (`inv.app_permission_sets`); the findings naming the set, the profile or one of its assignments."""
    rows: list[ExposureRow] = []
    for app_name, held in sorted(inv.app_permission_sets(snap, inv.HIGH_RISK_PERMISSIONS).items()):
        for h in held:
            ps = h.permission_set
            keys = [f"PermissionSet:{ps.id}", f"Profile:{ps.profile_id or ps.id}"]  # as findings refer to it
            keys += [f"PermissionSetAssignment:{x.assignment.id}" for x in h.holders if x.assignment]
            found_here = of(*keys)
            if found_here:
                # a finding naming users belongs here only when it names one of these holders (a profile's set
                # is shared: a finding on another app's user holding the same profile is not this app's)
                holders = {x.user_id for x in h.holders}
                found_here = [
                    f
                    for f in found_here
                    if not (named := {r.id for r in f.records if r.type == "User"}) or named & holders
                ]
            grants = f"; grants {', '.join(h.grants)}" if h.grants else ""
            rows.append(
                ExposureRow(
                    key=f"perm:{app_name}|{ps.id}",
                    kind="permset",
                    name=h.label,
                    detail=f"held by {len(h.holders)} of {count_of(h.app_users, f'{app_name} user')}{grants}",
                    findings=marks(found_here),
                    record={
                        "app": app_name,
                        "permission_set_id": ps.id,
                        "name": ps.name,
                        "label": ps.label,
                        "profile_owned": ps.profile_owned,
                        "profile_name": ps.profile_name,
                        "namespace": ps.namespace,
                        "holders": [
                            {
                                "user_id": x.user_id,
                                "username": x.username,
                                "assignment_id": x.assignment.id if x.assignment else None,
                                "group_id": x.assignment.group_id if x.assignment else None,
                                "expires": x.assignment.expires if x.assignment else None,
                            }
                            for x in h.holders[:HOLDERS_LISTED]
                        ],
                        "holder_count": len(h.holders),
                        "app_users": h.app_users,
                        "grants": list(h.grants),
                        "unknown": list(h.unknown),
                        "not_granted": [
                            x for x in inv.EXPORT_PERMISSIONS.values() if x not in h.grants and x not in h.unknown
                        ],
                        "high_risk": list(h.high_risk),
                        "through_group": h.through_group,
                        "expiring": list(h.expiring),
                        "findings_detail": [_finding_dict(f) for f in found_here],
                    },
                )
            )
    return rows
