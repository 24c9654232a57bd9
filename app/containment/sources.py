"""Where a containment plan reads the org from: the live org or the incident's inventory snapshot.

Both answer the same questions (`Source`), so one planner serves a connected machine and a war-room machine
without a network. `Reader` holds Salesforce's paging caps and `IN` chunking once; the executor reuses it to
re-read every record before changing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from app.base.errors import NotFoundError, WarroomError
from app.containment.models import (
    DANGEROUS_PERMISSIONS,
    ContainmentError,
    TokenFilter,
    chunks,
    id15,
    path_get,
    soql_in,
    soql_str,
)
from app.containment.strip import STRIP_PERMISSIONS, live_assignments, snapshot_assignments
from app.inventory import INTEGRATION_LICENSES, INTEGRATION_PROFILES, token_ref
from app.salesforce import access
from app.salesforce.protocol import OrgClient

if TYPE_CHECKING:
    from app.salesforce.client import Identity


TOKEN_FIELDS = "AppName, AppMenuItemId, UserId, CreatedDate, LastUsedDate, UseCount, DeleteToken"
API_ONLY_FLAG = "PermissionsApiUserOnly"  # not on every org (app/data/salesforce): checked against describe
USER_FIELDS = (
    "Id, Username, Name, IsActive, UserType, ProfileId, Profile.Name, Profile.UserLicense.Name, "
    f"Profile.{API_ONLY_FLAG}"
)
SESSION_FIELDS = "Id, UsersId, SessionType, LoginType, SourceIp, CreatedDate, LastModifiedDate, NumSecondsValid"
LOGIN_FIELDS = "Id, UserId, IsFrozen, IsPasswordLocked, LastModifiedDate"
TOKEN_PAGE_CAP = 2500  # rows Salesforce serves from one OauthToken query, across queryMore


def token_refs(row: dict[str, Any]) -> list[str]:
    """The refs a live token row answers to: by DeleteToken, and by what identifies it (a snapshot pulled by a
    login that could not see DeleteToken fingerprints the token that way)."""
    refs = [token_ref(row.get("DeleteToken"), row.get("AppName"), row.get("UserId"), row.get("CreatedDate"))]
    fallback = token_ref(None, row.get("AppName"), row.get("UserId"), row.get("CreatedDate"))
    return refs if fallback in refs else [*refs, fallback]


# --------------------------------------------------------------------------------------------------
# Live reads (also used by the executor)
# --------------------------------------------------------------------------------------------------


class Reader:
    """Live queries with Salesforce's paging caps and `IN` chunking handled once."""

    def __init__(self, org: OrgClient) -> None:
        self.org = org

    def query(self, soql: str) -> list[dict[str, Any]]:
        return self.org.query(soql)

    def by_ids(self, sobject: str, fields: str, ids: Sequence[str], key: str = "Id") -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for chunk in chunks(list(dict.fromkeys(ids))):
            for row in self.query(f"SELECT {fields} FROM {sobject} WHERE {key} IN {soql_in(chunk)}"):
                out[id15(row.get(key))] = row
        return out

    def tokens_matching(self, flt: TokenFilter) -> list[dict[str, Any]]:
        """Every token the filter names, once each (its parts are queried separately, then merged)."""
        seen: dict[str, dict[str, Any]] = {}
        for where in flt.wheres():
            for row in self.tokens(where):
                seen.setdefault(token_refs(row)[0], row)
        return list(seen.values())

    def tokens(self, where: str) -> list[dict[str, Any]]:
        """Every OauthToken matching `where`. Salesforce serves at most 2,500 of them per query, so a capped
        answer is asked again user by user (halving the user list until each part fits)."""
        rows = self.query(f"SELECT {TOKEN_FIELDS} FROM OauthToken WHERE {where}")
        if self.org.last_truncation is None:
            return rows
        user_ids = [u["Id"] for u in self.query("SELECT Id FROM User")]
        out: list[dict[str, Any]] = []
        for chunk in chunks(user_ids, 100):
            out.extend(self._tokens_for(where, list(chunk)))
        return out

    def _tokens_for(self, where: str, user_ids: list[str]) -> list[dict[str, Any]]:
        rows = self.query(f"SELECT {TOKEN_FIELDS} FROM OauthToken WHERE ({where}) AND UserId IN {soql_in(user_ids)}")
        if self.org.last_truncation is None:
            return rows
        if len(user_ids) == 1:
            raise ContainmentError(
                f"user {user_ids[0]} holds more OAuth tokens matching {where} than Salesforce "
                f"lists through the API ({TOKEN_PAGE_CAP}); use Setup > Connected Apps OAuth "
                "Usage > Revoke All for that app"
            )
        half = len(user_ids) // 2
        return self._tokens_for(where, user_ids[:half]) + self._tokens_for(where, user_ids[half:])


_IDENTITIES: dict[int, tuple[OrgClient, Identity]] = {}


def identify(org: OrgClient) -> Identity:
    """Who the login is and in which org (asked once per Org object)."""
    cached = _IDENTITIES.get(id(org))
    if cached is not None and cached[0] is org:
        return cached[1]
    ident = org.identity()
    if len(_IDENTITIES) > 32:
        _IDENTITIES.clear()
    _IDENTITIES[id(org)] = (org, ident)
    return ident


# --------------------------------------------------------------------------------------------------
# Sources: the same questions asked of the live org or of an inventory snapshot
# --------------------------------------------------------------------------------------------------


class Source(Protocol):
    kind: str

    def basis(self) -> dict[str, Any]: ...
    def self_user_id(self) -> str | None: ...
    def user_by_name(self, username: str) -> dict[str, Any]: ...
    def users(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]: ...
    def integration_users(self) -> dict[str, str]: ...
    def tokens(self, flt: TokenFilter) -> list[dict[str, Any]]: ...
    def similar_apps(self, app: str) -> list[str]: ...
    def logins(self, user_ids: Sequence[str]) -> dict[str, dict[str, Any]]: ...
    def sessions(self, user_ids: Sequence[str]) -> list[dict[str, Any]] | None: ...
    def dangerous_flags(self) -> list[str]: ...
    def assignments(
        self, user_ids: Sequence[str], flags: list[str], exported: Sequence[str] = ()
    ) -> list[dict[str, Any]]: ...
    def permissions(self) -> access.EffectivePermissions | None: ...


class LiveSource:
    kind = "org"

    def __init__(self, org: OrgClient) -> None:
        self.org = org
        self.reader = Reader(org)
        self.ident = identify(org)
        self._users: dict[str, dict[str, Any]] = {}
        self._user_fields: str | None = None

    @property
    def user_fields(self) -> str:
        """USER_FIELDS, less Profile.PermissionsApiUserOnly when this org's Profile describe lacks it (the flag is
        not on every org; selecting it would fail every user lookup with INVALID_FIELD)."""
        if self._user_fields is None:
            self._user_fields = USER_FIELDS
            describe = getattr(self.org, "describe_fields", None)
            if describe is not None:
                try:
                    if API_ONLY_FLAG not in describe("Profile"):
                        self._user_fields = USER_FIELDS.replace(f", Profile.{API_ONLY_FLAG}", "")
                except WarroomError:
                    pass  # Profile cannot be described by this login: keep the documented list
        return self._user_fields

    def basis(self) -> dict[str, Any]:
        return {
            "kind": "org",
            "instance_url": self.ident.instance_url,
            "org_id": self.ident.org_id,
            "login": self.ident.username,
        }

    def self_user_id(self) -> str | None:
        return self.ident.user_id

    def permissions(self) -> access.EffectivePermissions | None:
        """The login's effective permissions, read from the org (`app/salesforce/access.py`)."""
        return access.read_effective(self.org, self.ident.user_id)

    def user_by_name(self, username: str) -> dict[str, Any]:
        rows = self.reader.query(f"SELECT {self.user_fields} FROM User WHERE Username = {soql_str(username)}")
        if not rows:
            raise NotFoundError(f"no user {username!r} in the org")
        self._users[id15(rows[0]["Id"])] = rows[0]
        return rows[0]

    def users(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        missing = [i for i in ids if i and id15(i) not in self._users]
        if missing:
            self._users.update(self.reader.by_ids("User", self.user_fields, missing))
        return {id15(i): self._users[id15(i)] for i in ids if i and id15(i) in self._users}

    def integration_users(self) -> dict[str, str]:
        """Active user id -> why it counts as an integration user (the inventory's rules, read live)."""
        rows = self.reader.query(f"SELECT {self.user_fields} FROM User WHERE IsActive = true")
        api_only_holders: set[str] = set()
        try:
            for row in (
                []
                if API_ONLY_FLAG not in self.user_fields
                else self.reader.query(
                    "SELECT AssigneeId FROM PermissionSetAssignment WHERE PermissionSet.PermissionsApiUserOnly = true"
                )
            ):
                api_only_holders.add(id15(row.get("AssigneeId")))
        except WarroomError:
            pass  # the flag is absent in some orgs: licence and profile still decide
        out: dict[str, str] = {}
        for row in rows:
            self._users[id15(row["Id"])] = row
            why = _integration_reason(
                path_get(row, "Profile.UserLicense.Name"),
                path_get(row, "Profile.Name"),
                bool(path_get(row, "Profile.PermissionsApiUserOnly")),
                id15(row["Id"]) in api_only_holders,
                row.get("UserType"),
            )
            if why:
                out[row["Id"]] = why
        return out

    def tokens(self, flt: TokenFilter) -> list[dict[str, Any]]:
        return self.reader.tokens_matching(flt)

    def similar_apps(self, app: str) -> list[str]:
        like = soql_str("%" + app.replace("%", "").replace("_", "") + "%")
        return sorted(
            {
                r.get("AppName") or ""
                for r in self.reader.query(f"SELECT AppName FROM OauthToken WHERE AppName LIKE {like}")
            }
            - {""}
        )

    def logins(self, user_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        return self.reader.by_ids("UserLogin", LOGIN_FIELDS, user_ids, key="UserId")

    def sessions(self, user_ids: Sequence[str]) -> list[dict[str, Any]] | None:
        rows: list[dict[str, Any]] = []
        for chunk in chunks(list(user_ids)):
            where = f"UsersId IN {soql_in(chunk)}"
            rows.extend(self.reader.query(f"SELECT {SESSION_FIELDS} FROM AuthSession WHERE {where}"))
        return rows

    def dangerous_flags(self) -> list[str]:
        """The flags a strip looks for that this org's PermissionSet has (asking for an absent one fails)."""
        try:
            present = self.org.describe_fields("PermissionSet")
        except WarroomError:
            present = {f"Permissions{p}" for p in (*DANGEROUS_PERMISSIONS[:5], "ApiEnabled")}
        return [p for p in STRIP_PERMISSIONS if f"Permissions{p}" in present]

    def assignments(
        self, user_ids: Sequence[str], flags: list[str], exported: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        return live_assignments(self.reader.query, user_ids, flags, exported)


class SnapshotSource:
    """An inventory snapshot answering like the org did when it was taken."""

    kind = "snapshot"

    def __init__(self, snap: Any, *, evidence_id: str | None = None) -> None:
        self.snap = snap
        self.evidence_id = evidence_id
        self._users = {id15(u.id): u for u in snap.users}
        self._sets = {id15(p.id): p for p in snap.permission_sets}

    def basis(self) -> dict[str, Any]:
        src = self.snap.source
        org_id = (self.snap.organization.id if self.snap.organization else None) or src.org_id
        return {
            "kind": "snapshot",
            "evidence_id": self.evidence_id,
            "taken_utc": self.snap.taken_utc,
            "instance_url": src.instance_url,
            "org_id": org_id,
            "login": src.username,
        }

    def self_user_id(self) -> str | None:
        login = self.snap.source.username
        return next((u.id for u in self.snap.users if login and u.username == login), None)

    def _row(self, u: Any) -> dict[str, Any]:
        return {"Id": u.id, "Username": u.username, "Name": u.name, "IsActive": u.active}

    def user_by_name(self, username: str) -> dict[str, Any]:
        for u in self.snap.users:
            if u.username.lower() == username.lower():
                return self._row(u)
        raise NotFoundError(f"no user {username!r} in the inventory snapshot taken {self.snap.taken_utc}")

    def users(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        return {id15(i): self._row(self._users[id15(i)]) for i in ids if i and id15(i) in self._users}

    def integration_users(self) -> dict[str, str]:
        from app.inventory import integration_users

        return {
            uid: why
            for uid, why in integration_users(self.snap).items()
            if self._users.get(id15(uid)) is not None and self._users[id15(uid)].active
        }

    def tokens(self, flt: TokenFilter) -> list[dict[str, Any]]:
        also = {id15(u) for u in flt.also_users}
        app, user_id = flt.app, flt.user_id
        out: list[dict[str, Any]] = []
        for t in self.snap.oauth_tokens:
            named = (
                (app is not None or user_id is not None)
                and (app is None or t.app_name == app)
                and (user_id is None or id15(t.user_id) == id15(user_id))
            )
            if named or id15(t.user_id) in also:
                out.append(
                    {
                        "AppName": t.app_name,
                        "AppMenuItemId": t.app_menu_item_id,
                        "UserId": t.user_id,
                        "CreatedDate": t.created,
                        "LastUsedDate": t.last_used,
                        "UseCount": t.use_count,
                        "_ref": t.ref,
                    }
                )
        return out

    def similar_apps(self, app: str) -> list[str]:
        return sorted({t.app_name for t in self.snap.oauth_tokens if app.lower() in t.app_name.lower()})

    def logins(self, user_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for uid in user_ids:
            u = self._users.get(id15(uid))
            if u is not None:
                out[id15(uid)] = {"UserId": u.id, "IsFrozen": bool(u.frozen)}
        return out

    def sessions(self, user_ids: Sequence[str]) -> list[dict[str, Any]] | None:
        return None

    def permissions(self) -> access.EffectivePermissions | None:
        return None  # the connected machine reads its own login's permissions before applying

    def dangerous_flags(self) -> list[str]:
        have = set(self.snap.permission_fields) or set(STRIP_PERMISSIONS)
        return [p for p in STRIP_PERMISSIONS if p in have]

    def assignments(
        self, user_ids: Sequence[str], flags: list[str], exported: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        return snapshot_assignments(self.snap, user_ids, flags, exported)


def _integration_reason(
    licence: str | None, profile: str | None, api_only: bool, api_only_set: bool, user_type: str | None
) -> str | None:
    if licence and licence.lower() in INTEGRATION_LICENSES:
        return f"licence {licence}"
    if profile and profile.lower() in INTEGRATION_PROFILES:
        return f"profile {profile}"
    if api_only:
        return f"API-only profile {profile}"
    if api_only_set:
        return "API-only permission from a permission set"
    if (user_type or "").lower() in ("integration", "automatedprocess"):
        return f"user type {user_type}"
    return None


# --------------------------------------------------------------------------------------------------
# Drafting a plan
# --------------------------------------------------------------------------------------------------
