"""Summary: what `inventory show` prints (apps with their tokens, and every integration user's reach)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from app.inventory.access import held_permission_sets, integration_users
from app.inventory.models import Note, OAuthToken, Snapshot, _source_summary

HIGH_RISK_PERMISSIONS = (
    "ModifyAllData",
    "ViewAllData",
    "AuthorApex",
    "CustomizeApplication",
    "ManageUsers",
    "ModifyMetadata",
    "ManageProfilesPermissionsets",
    "AssignPermissionSets",
    "ResetPasswords",
    "ManageInternalUsers",
    "ViewAllUsers",
    "BulkApiHardDelete",
    "ExportReport",
    "UseAnyApiClient",
    "CanApproveUninstalledApps",
)


class AppSummary(BaseModel):
    name: str
    id: str | None
    tokens: int
    users: int
    last_used: str | None
    admin_approved_only: bool | None
    installed: bool | None


class IntegrationUserSummary(BaseModel):
    id: str
    username: str
    reason: str
    active: bool
    frozen: bool | None
    profile: str | None
    tokens: int
    apps: list[str]
    permission_sets: list[str]
    high_risk_permissions: list[str]


class InventorySummary(BaseModel):
    evidence_id: str | None
    taken_utc: str
    source: dict[str, Any]
    counts: dict[str, int]
    apps: list[AppSummary]
    integration_users: list[IntegrationUserSummary]
    notes: list[Note]


def summarize(snap: Snapshot, *, evidence_id: str | None = None) -> InventorySummary:
    """Apps with their token counts (including apps known only from tokens) and every integration user."""
    by_app: dict[str, list[OAuthToken]] = {}
    for t in snap.oauth_tokens:
        by_app.setdefault(t.app_name, []).append(t)
    known = {a.name: a for a in snap.connected_apps}
    apps: list[AppSummary] = []
    for name in sorted(set(by_app) | set(known), key=str.lower):
        tokens = by_app.get(name, [])
        app = known.get(name)
        menu = [t.app_menu_item_id for t in tokens]
        installed = None if not tokens else any(menu)
        apps.append(
            AppSummary(
                name=name,
                id=app.id if app else None,
                tokens=len(tokens),
                users=len({t.user_id for t in tokens}),
                last_used=max((t.last_used for t in tokens if t.last_used), default=None),
                admin_approved_only=app.admin_approved_only if app else None,
                installed=installed,
            )
        )
    held = held_permission_sets(snap)
    tokens_of: dict[str, list[OAuthToken]] = {}
    for t in snap.oauth_tokens:
        tokens_of.setdefault(t.user_id or "", []).append(t)
    users = {u.id: u for u in snap.users}
    integ: list[IntegrationUserSummary] = []
    for uid, reason in sorted(integration_users(snap).items(), key=lambda kv: users[kv[0]].username):
        u = users[uid]
        sets = held.get(uid, [])
        perms = sorted({p for ps, _ in sets for p in ps.permissions if p in HIGH_RISK_PERMISSIONS})
        mine = tokens_of.get(uid, [])
        integ.append(
            IntegrationUserSummary(
                id=uid,
                username=u.username,
                reason=reason,
                active=u.active,
                frozen=u.frozen,
                profile=u.profile_name,
                tokens=len(mine),
                apps=sorted({t.app_name for t in mine}),
                permission_sets=sorted(ps.label or ps.name for ps, _ in sets),
                high_risk_permissions=perms,
            )
        )
    return InventorySummary(
        evidence_id=evidence_id,
        taken_utc=snap.taken_utc,
        source=_source_summary(snap.source),
        counts=snap.counts(),
        apps=apps,
        integration_users=integ,
        notes=snap.notes,
    )
