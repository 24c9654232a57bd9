"""Reading a snapshot: who is an integration user, whom the incident touches, what each user holds, and which
of those grants let data out (API access, org-wide or object-wide read)."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from app.inventory.models import ObjectPermission, PermissionSet, Snapshot

INTEGRATION_LICENSES = ("salesforce integration",)
INTEGRATION_PROFILES = ("minimum access - api only integrations",)


def integration_users(snap: Snapshot) -> dict[str, str]:
    """User id -> why it counts as an integration user (licence, API-only profile or API-only permission)."""
    api_only_sets = {p.id for p in snap.permission_sets if "ApiUserOnly" in p.permissions}
    api_only_holders = {a.user_id for a in snap.assignments if a.permission_set_id in api_only_sets}
    out: dict[str, str] = {}
    for u in snap.users:
        if u.license and u.license.lower() in INTEGRATION_LICENSES:
            out[u.id] = f"licence {u.license}"
        elif u.profile_name and u.profile_name.lower() in INTEGRATION_PROFILES:
            out[u.id] = f"profile {u.profile_name}"
        elif u.api_only:
            out[u.id] = f"API-only profile {u.profile_name or u.profile_id}"
        elif u.id in api_only_holders:
            out[u.id] = "API-only permission (Api Only User) from a permission set"
        elif (u.user_type or "").lower() in ("integration", "automatedprocess"):
            out[u.id] = f"user type {u.user_type}"
    return out


def held_permission_sets(snap: Snapshot, *, at: str | None = None) -> dict[str, list[tuple[PermissionSet, str | None]]]:
    """User id -> (permission set, assignment id or None for the profile's own set) the user holds now.

    Expired and inactive assignments are left out; the profile's own permission set is included even when
    the export carries no assignment row for it (Data Loader exports often filter those out).
    """
    by_id = {p.id: p for p in snap.permission_sets}
    by_profile = {p.profile_id: p for p in snap.permission_sets if p.profile_owned and p.profile_id}
    out: dict[str, list[tuple[PermissionSet, str | None]]] = {}
    for a in snap.assignments:
        if a.active is False or (at and a.expires and a.expires[:19] < at[:19]):
            continue
        ps = by_id.get(a.permission_set_id)
        if ps is not None:
            out.setdefault(a.user_id, []).append((ps, a.id))
    for u in snap.users:
        ps = by_profile.get(u.profile_id)
        held = out.setdefault(u.id, [])
        if ps is not None and not any(p is ps for p, _ in held):
            held.append((ps, None))
    return out


# Permissions that let a login take data out of the org in bulk, whatever the objects: API access first
# (PermissionSet.PermissionsApiEnabled), then the org-wide read and write of every record.
EXPORT_PERMISSIONS = {
    "ApiEnabled": "API Enabled",
    "ViewAllData": "View All Data",
    "ModifyAllData": "Modify All Data",
}


def touched_users(snap: Snapshot, also: Iterable[str] = ()) -> dict[str, str]:
    """User id -> why the incident touches it: integration users, every holder of an OAuth token (the users of
    any app, so those of a compromised one) and the users named in `also` (ids or usernames)."""
    out = {uid: f"integration user ({why})" for uid, why in integration_users(snap).items()}
    for t in snap.oauth_tokens:
        if t.user_id:
            out.setdefault(t.user_id, f"holds {t.app_name} OAuth tokens")
    wanted = {a.lower() for a in also if a}
    for u in snap.users:
        if u.id.lower() in wanted or u.username.lower() in wanted or u.id[:15].lower() in wanted:
            out[u.id] = "named by the incident"
    return out


def export_grants(
    permissions: Collection[str], objects: Iterable[ObjectPermission], exported: Collection[str]
) -> list[str]:
    """What in one permission set lets its holder take data out: API access and View All / Modify All Data,
    View All / Modify All Records on any object, and read on the `exported` objects (none named: read alone is
    not counted, since every user reads some objects)."""
    out = [label for flag, label in EXPORT_PERMISSIONS.items() if flag in permissions]
    for op in sorted(objects, key=lambda o: o.object):
        if op.modify_all:
            out.append(f"Modify All Records on {op.object}")
        elif op.view_all:
            out.append(f"View All Records on {op.object}")
        elif op.read and op.object in exported:
            out.append(f"Read on {op.object}")
    return out
