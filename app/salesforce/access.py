"""What a login may see and change in Salesforce, read from the org, and what each containment step needs.

Salesforce hides rather than refuses: a login without *Customize Application* gets no error from
`SELECT ... FROM OauthToken`, just its own tokens. A tool that trusts the answer then plans "no token
exists" and verifies "0 left". So before planning and before applying, the login's effective permissions are
read and compared with what each step needs; a gap is named, never guessed around.

Effective permissions are the union of the `Permissions<Name>` flags of every permission set the user
holds. A profile's permissions live in a profile-owned permission set, which the user holds through a
PermissionSetAssignment like any other (PermissionSet and PermissionSetAssignment in the object reference), so
one query of the user's assignments reads both. PermissionSetAssignment itself is visible only with View
Setup and Configuration, Assign Permission Sets or Manage User ("Special Access Rules", Summer '20 and later);
without any of them the profile is read instead (`User.Profile.Permissions<Name>`), and a flag the profile
lacks is *unknown*, not absent: a permission set may grant it.

Sources (object reference, API v59-v64 text; checked December 2026):
- OauthToken, "Special Access Rules": "Users with the Customize Application permission see all tokens for all
  users in the org. Otherwise, you see only your own tokens."
- UserLogin: "To access this object, you need the UserPermissions.ManageUsers permission." (IsFrozen is
  updateable.)
- AuthSession, "Usage": "For a user, only their own sessions are available, while administrators can see all
  sessions." The reference names no permission; Manage Users is taken as the administrator's permission here
  (Setup's Session Management page asks for it). Unverified against a real org.
- PermissionSetAssignment, "Special Access Rules": visible only with View Setup and Configuration, Assign
  Permission Sets or Manage User; create/delete are supported calls. Removing an assignment is taken to need
  Assign Permission Sets (the reference does not say which of the three allows DML).
- User.IsActive: the reference does not name the permission for deactivating a user; Manage Users is
  assumed (the simulated org enforces the same).
- `/services/oauth2/revoke` takes any DeleteToken without naming a permission; seeing the DeleteToken of
  another user's token is what needs Customize Application.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from app.base.errors import WarroomError
from app.salesforce.protocol import OrgClient

OBJECT_REFERENCE = "Salesforce Object Reference"

LABELS: dict[str, str] = {
    "CustomizeApplication": "Customize Application",
    "ManageUsers": "Manage Users",
    "AssignPermissionSets": "Assign Permission Sets",
    "ViewSetup": "View Setup and Configuration",
    "ModifyAllData": "Modify All Data",
    "ViewAllData": "View All Data",
    "ApiEnabled": "API Enabled",
    "ViewEventLogFiles": "View Event Log Files",
    "ModifyMetadata": "Modify Metadata Through Metadata API Functions",
}


@dataclass(frozen=True)
class Need:
    """One thing a containment step must be able to do, the permissions that allow it (any one), and why."""

    key: str
    what: str
    any_of: tuple[str, ...]
    source: str
    consequence: str

    @property
    def label(self) -> str:
        return " or ".join(LABELS.get(p, p) for p in self.any_of)


NEEDS: dict[str, Need] = {
    n.key: n
    for n in (
        Need(
            "see_all_tokens",
            "see every user's OAuth tokens (and their DeleteToken)",
            ("CustomizeApplication",),
            f"{OBJECT_REFERENCE}: OauthToken, Special Access Rules",
            "Salesforce shows this login only its own tokens: other users' tokens are silently absent, so a "
            "plan would miss them and a count of 0 would prove nothing",
        ),
        Need(
            "end_sessions",
            "see and end other users' sessions (AuthSession)",
            ("ManageUsers",),
            f'{OBJECT_REFERENCE}: AuthSession, Usage ("administrators can see all sessions")',
            "only this login's own sessions are visible; other users' sessions cannot be listed or ended",
        ),
        Need(
            "freeze_users",
            "read and update UserLogin (IsFrozen)",
            ("ManageUsers",),
            f"{OBJECT_REFERENCE}: UserLogin",
            "UserLogin cannot be read or updated, so no user can be frozen or checked",
        ),
        Need(
            "deactivate_users",
            "update User.IsActive",
            ("ManageUsers",),
            f"{OBJECT_REFERENCE}: User (permission not named there; Manage Users assumed)",
            "users cannot be deactivated or reactivated",
        ),
        Need(
            "read_assignments",
            "read permission set assignments",
            ("ViewSetup", "AssignPermissionSets", "ManageUsers"),
            f"{OBJECT_REFERENCE}: PermissionSetAssignment, Special Access Rules",
            "grants cannot be listed, so a plan to strip them would be empty",
        ),
        Need(
            "change_assignments",
            "remove and re-create permission set assignments",
            ("AssignPermissionSets",),
            f"{OBJECT_REFERENCE}: PermissionSetAssignment (create/delete; the permission for DML is assumed)",
            "grants cannot be removed or given back",
        ),
        Need(
            "deploy_metadata",
            "read and update metadata components (readMetadata, updateMetadata)",
            ("ModifyMetadata", "ModifyAllData"),
            "Metadata API Developer Guide: readMetadata(), Permissions",
            "connected app policies cannot be read or deployed through the Metadata API",
        ),
        Need(
            "read_setup",
            "read setup objects (permission sets, object permissions, audit trail)",
            ("ViewSetup",),
            f"{OBJECT_REFERENCE}: ObjectPermissions, SetupAuditTrail",
            "setup objects read as empty or refused, so the inventory is partial",
        ),
    )
}

# Containment operation -> what it needs, to see the record before and after, and to change it.
OP_NEEDS: dict[str, tuple[str, ...]] = {
    "revoke_token": ("see_all_tokens",),
    "delete_session": ("end_sessions",),
    "freeze_user": ("freeze_users",),
    "unfreeze_user": ("freeze_users",),
    "deactivate_user": ("deactivate_users",),
    "reactivate_user": ("deactivate_users",),
    "delete_assignment": ("read_assignments", "change_assignments"),
    "create_assignment": ("read_assignments", "change_assignments"),
    "update_metadata": ("deploy_metadata",),
}
# Planning an action reads these too (who holds which grant, which sessions are open).
ACTION_NEEDS: dict[str, tuple[str, ...]] = {
    "revoke_tokens": ("see_all_tokens",),
    "end_sessions": ("end_sessions",),
    "freeze_users": ("freeze_users",),
    "deactivate_users": ("deactivate_users",),
    "strip_permissions": ("read_assignments", "change_assignments"),
    "quarantine_org": ("see_all_tokens", "freeze_users", "end_sessions", "read_assignments", "change_assignments"),
}
CONTAINMENT_NEEDS: tuple[str, ...] = (
    "see_all_tokens",
    "end_sessions",
    "freeze_users",
    "deactivate_users",
    "read_assignments",
    "change_assignments",
    "read_setup",
)
WANTED_FLAGS: tuple[str, ...] = tuple(dict.fromkeys(p for n in NEEDS.values() for p in n.any_of))

State = Literal["present", "missing", "unknown"]


class NeedCheck(BaseModel):
    """One need compared with the login's permissions."""

    key: str
    what: str
    permissions: list[str]
    label: str
    state: State
    source: str
    consequence: str


class EffectivePermissions(BaseModel):
    """The login's permission flags as read from the org, and how completely they could be read."""

    user_id: str
    granted: list[str]
    absent: list[str]  # flags known not to be granted anywhere
    complete: bool  # False: only the profile could be read; a flag it lacks may come from a permission set
    read_from: str
    notes: list[str] = []

    def state(self, flag: str) -> State:
        if flag in self.granted:
            return "present"
        if self.complete or flag in self.absent:
            return "missing"
        return "unknown"

    def check(self, keys: Iterable[str]) -> list[NeedCheck]:
        out: list[NeedCheck] = []
        for key in dict.fromkeys(keys):
            need = NEEDS[key]
            states = [self.state(p) for p in need.any_of]
            state: State = "present" if "present" in states else ("unknown" if "unknown" in states else "missing")
            out.append(
                NeedCheck(
                    key=key,
                    what=need.what,
                    permissions=list(need.any_of),
                    label=need.label,
                    state=state,
                    source=need.source,
                    consequence=need.consequence,
                )
            )
        return out


@dataclass
class Gaps:
    """The needs a login does not meet (missing or not confirmed), ready to print or journal."""

    checks: list[NeedCheck] = field(default_factory=list)

    @property
    def unmet(self) -> list[NeedCheck]:
        return [c for c in self.checks if c.state != "present"]

    def __bool__(self) -> bool:
        return bool(self.unmet)

    def names(self) -> list[str]:
        return list(dict.fromkeys(c.label for c in self.unmet))

    def message(self) -> str:
        parts = []
        for c in self.unmet:
            how = "lacks" if c.state == "missing" else "could not confirm it has"
            parts.append(f"this login {how} {c.label} (needed to {c.what}: {c.consequence}; {c.source})")
        return "; ".join(parts)

    def as_data(self) -> list[dict[str, Any]]:
        return [c.model_dump() for c in self.unmet]


def _flag_fields(org: OrgClient, sobject: str, flags: Sequence[str]) -> list[str]:
    """The `Permissions<Name>` fields of `sobject` this org has (asking for an absent one fails the query)."""
    try:
        present = org.describe_fields(sobject)
    except WarroomError:
        return [f"Permissions{f}" for f in flags]
    return [f"Permissions{f}" for f in flags if f"Permissions{f}" in present]


def read_effective(org: OrgClient, user_id: str, flags: Sequence[str] = WANTED_FLAGS) -> EffectivePermissions:
    """The login's effective permission flags among `flags` (see the module docstring for how)."""
    flags = tuple(dict.fromkeys(flags))  # a field selected twice is a MALFORMED_QUERY
    uid = user_id.replace("\\", "").replace("'", "")
    notes: list[str] = []
    granted: set[str] = set()
    profile_fields = _flag_fields(org, "Profile", flags)
    if profile_fields:
        select = ", ".join(f"Profile.{f}" for f in profile_fields)
        try:
            rows = org.query(f"SELECT Id, {select} FROM User WHERE Id = '{uid}'")
        except WarroomError as exc:
            notes.append(f"the login's profile could not be read ({exc})")
            rows = []
        profile = (rows[0].get("Profile") if rows else None) or {}
        granted |= {f.removeprefix("Permissions") for f in profile_fields if profile.get(f)}
    set_fields = _flag_fields(org, "PermissionSet", flags)
    known = {f.removeprefix("Permissions") for f in set_fields} | {
        f.removeprefix("Permissions") for f in profile_fields
    }
    if len(known) < len(set(flags)):
        notes.append("this org has no permission field for: " + ", ".join(sorted(set(flags) - known)))
    complete = False
    if set_fields:
        select = ", ".join(f"PermissionSet.{f}" for f in set_fields)
        try:
            rows = org.query(f"SELECT Id, {select} FROM PermissionSetAssignment WHERE AssigneeId = '{uid}'")
        except WarroomError as exc:
            notes.append(f"permission set assignments could not be read ({exc})")
        else:
            complete = True
            for row in rows:
                ps = row.get("PermissionSet") or {}
                granted |= {f.removeprefix("Permissions") for f in set_fields if ps.get(f)}
    absent = set(flags) - known
    if complete:
        absent |= known - granted
    else:
        # Without any of the three permissions that open PermissionSetAssignment, none of them is granted.
        absent |= {p for p in ("ViewSetup", "AssignPermissionSets", "ManageUsers") if p not in granted}
        notes.append(
            "only the profile could be read: a permission it lacks may still come from a permission set "
            "(reading assignments needs View Setup and Configuration, Assign Permission Sets or Manage Users)"
        )
    return EffectivePermissions(
        user_id=user_id,
        granted=sorted(granted),
        absent=sorted(absent - granted),
        complete=complete,
        read_from="PermissionSetAssignment and User.Profile" if complete else "User.Profile",
        notes=notes,
    )


def gaps(effective: EffectivePermissions, keys: Iterable[str]) -> Gaps:
    return Gaps(effective.check(keys))


def needs_for_ops(ops: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(k for op in ops for k in OP_NEEDS.get(op, ())))
