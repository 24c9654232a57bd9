"""Reading a snapshot: who is an integration user, whom the incident touches, what each user holds, and which
of those grants let data out (API access, org-wide or object-wide read), and which permission sets the users of
each connected app hold (`app_permission_sets`, the inventory tree's permission-set branch)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from app.inventory.models import Assignment, ObjectPermission, PermissionSet, Snapshot

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
        ps = by_profile.get(u.profile_id) if u.profile_id else None
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


@dataclass(frozen=True)
class HeldBy:
    """One holder of a set: the user, and the PermissionSetAssignment that gives it (None for the profile's own
    set, which the user holds through its profile).

    The assignment's fields follow the Object Reference page for PermissionSetAssignment
    (developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_objects_permissionsetassignment.htm):
    PermissionSetGroupId from API 45.0 (the group the assignment comes from), ExpirationDate and IsActive from
    API 52.0. The pull selects only what the org's describe shows, so on older API versions `expires` and
    `active` stay None: unknown, not "never expires"."""

    user_id: str
    username: str
    assignment: Assignment | None


@dataclass(frozen=True)
class AppPermissionSet:
    """A permission set (or a profile's own set) held by users of one connected app: the users holding OAuth tokens
    of the app. `grants` names the export permissions it turns on; `unknown` those whose field this org's
    describe did not show (or the snapshot did not record), so "off" is never claimed for them."""

    app: str
    permission_set: PermissionSet
    holders: tuple[HeldBy, ...]  # by username
    app_users: int  # users holding tokens of the app
    grants: tuple[str, ...]  # labels of EXPORT_PERMISSIONS turned on
    unknown: tuple[str, ...]  # labels of EXPORT_PERMISSIONS whose field is absent or not recorded
    high_risk: tuple[str, ...]  # other powerful permissions turned on (flag names, e.g. "AuthorApex")

    @property
    def label(self) -> str:
        ps = self.permission_set
        if ps.profile_owned:
            return f"profile {ps.profile_name or ps.label or ps.name}"
        return ps.label or ps.name

    @property
    def through_group(self) -> int:
        """Holders whose assignment comes from a permission set group (PermissionSetAssignment.PermissionSetGroupId)."""
        return sum(1 for h in self.holders if h.assignment is not None and h.assignment.group_id)

    @property
    def expiring(self) -> tuple[str, ...]:
        """The assignments' ExpirationDate values (only orgs whose describe has the field record one)."""
        return tuple(sorted({h.assignment.expires for h in self.holders if h.assignment and h.assignment.expires}))


def app_permission_sets(
    snap: Snapshot, powerful: Collection[str] = (), *, at: str | None = None
) -> dict[str, list[AppPermissionSet]]:
    """App name -> the permission sets its token holders hold now (profile-owned sets included), those granting
    export permissions first, then by holders. `powerful` lists further permission flags to report
    (`high_risk`). Export permissions are judged only from fields the snapshot shows the org has
    (`Snapshot.permission_fields`): an empty list (an older snapshot, some exports) leaves every one not granted
    by a set unknown."""
    known = set(snap.permission_fields)
    held = held_permission_sets(snap, at=at)
    assignments = {a.id: a for a in snap.assignments}
    usernames = {u.id: u.username for u in snap.users}
    holders_of: dict[str, set[str]] = {}
    for t in snap.oauth_tokens:
        if t.user_id:
            holders_of.setdefault(t.app_name, set()).add(t.user_id)
    out: dict[str, list[AppPermissionSet]] = {}
    for app, uids in holders_of.items():
        by_set: dict[str, tuple[PermissionSet, list[HeldBy]]] = {}
        for uid in uids:
            for ps, assignment_id in held.get(uid, []):
                entry = by_set.setdefault(ps.id, (ps, []))
                assignment = assignments.get(assignment_id) if assignment_id else None
                entry[1].append(HeldBy(uid, usernames.get(uid, uid), assignment))
        rows = []
        for ps, holders in by_set.values():
            on = set(ps.permissions)
            rows.append(
                AppPermissionSet(
                    app=app,
                    permission_set=ps,
                    holders=tuple(sorted(holders, key=lambda h: h.username.lower())),
                    app_users=len(uids),
                    grants=tuple(label for flag, label in EXPORT_PERMISSIONS.items() if flag in on),
                    unknown=tuple(
                        label for flag, label in EXPORT_PERMISSIONS.items() if flag not in on and flag not in known
                    ),
                    high_risk=tuple(p for p in powerful if p in on and p not in EXPORT_PERMISSIONS),
                )
            )
        rows.sort(key=lambda r: (not r.grants, -len(r.holders), r.label.lower()))
        out[app] = rows
    return out
