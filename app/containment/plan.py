"""Planning containment: read who and what is in scope, and list each change record by record.

Plans are read from one of two sources with the same questions:

- the live org, through the Salesforce adapter (`LiveSource`); the before-state is the org's state now;
- the incident's inventory snapshot (`SnapshotSource`), for a war-room machine without a network: the plan
  is exported with its runbook and applied later from a connected machine, whose executor re-reads every
  record before it changes it. Sessions are not in a snapshot (they change by the minute), so ending them
  is planned on the connected machine.

Tokens are known by `ref` (the inventory's fingerprint of a token's DeleteToken), never by value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from app.base.errors import NotFoundError, UsageError, WarroomError
from app.containment.models import (
    ACTIONS,
    DANGEROUS_PERMISSIONS,
    MANUAL_ACTIONS,
    NOT_UNDOABLE,
    ContainmentError,
    ManualTask,
    Plan,
    Refusal,
    Selectors,
    Step,
    TokenFilter,
    chunks,
    flat_row,
    id15,
    path_get,
    soql_in,
    soql_str,
)
from app.containment.rights import note_permissions
from app.containment.strip import STRIP_PERMISSIONS, live_assignments, snapshot_assignments
from app.inventory import INTEGRATION_LICENSES, INTEGRATION_PROFILES, token_ref
from app.salesforce import access

TOKEN_FIELDS = "AppName, AppMenuItemId, UserId, CreatedDate, LastUsedDate, UseCount, DeleteToken"
USER_FIELDS = (
    "Id, Username, Name, IsActive, UserType, ProfileId, Profile.Name, Profile.UserLicense.Name, "
    "Profile.PermissionsApiUserOnly"
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

    def __init__(self, org: Any) -> None:
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
        if getattr(self.org, "last_truncation", None) is None:
            return rows
        user_ids = [u["Id"] for u in self.query("SELECT Id FROM User")]
        out: list[dict[str, Any]] = []
        for chunk in chunks(user_ids, 100):
            out.extend(self._tokens_for(where, list(chunk)))
        return out

    def _tokens_for(self, where: str, user_ids: list[str]) -> list[dict[str, Any]]:
        rows = self.query(f"SELECT {TOKEN_FIELDS} FROM OauthToken WHERE ({where}) AND UserId IN {soql_in(user_ids)}")
        if getattr(self.org, "last_truncation", None) is None:
            return rows
        if len(user_ids) == 1:
            raise ContainmentError(
                f"user {user_ids[0]} holds more OAuth tokens matching {where} than Salesforce "
                f"lists through the API ({TOKEN_PAGE_CAP}); use Setup > Connected Apps OAuth "
                "Usage > Revoke All for that app"
            )
        half = len(user_ids) // 2
        return self._tokens_for(where, user_ids[:half]) + self._tokens_for(where, user_ids[half:])


_IDENTITIES: dict[int, tuple[Any, Any]] = {}


def identify(org: Any) -> Any:
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

    def __init__(self, org: Any) -> None:
        self.org = org
        self.reader = Reader(org)
        self.ident = identify(org)
        self._users: dict[str, dict[str, Any]] = {}

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
        rows = self.reader.query(f"SELECT {USER_FIELDS} FROM User WHERE Username = {soql_str(username)}")
        if not rows:
            raise NotFoundError(f"no user {username!r} in the org")
        self._users[id15(rows[0]["Id"])] = rows[0]
        return rows[0]

    def users(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        missing = [i for i in ids if i and id15(i) not in self._users]
        if missing:
            self._users.update(self.reader.by_ids("User", USER_FIELDS, missing))
        return {id15(i): self._users[id15(i)] for i in ids if i and id15(i) in self._users}

    def integration_users(self) -> dict[str, str]:
        """Active user id -> why it counts as an integration user (the inventory's rules, read live)."""
        rows = self.reader.query(f"SELECT {USER_FIELDS} FROM User WHERE IsActive = true")
        api_only_holders: set[str] = set()
        try:
            for row in self.reader.query(
                "SELECT AssigneeId FROM PermissionSetAssignment WHERE PermissionSet.PermissionsApiUserOnly = true"
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


class Draft:
    """A plan being assembled: steps are numbered in the order they will run."""

    def __init__(self, action: str, selectors: Selectors) -> None:
        self.action = action
        self.selectors = selectors
        self.steps: list[Step] = []
        self.refused: list[Refusal] = []
        self.tasks: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.token_filter: TokenFilter | None = None
        self.unmet: set[str] = set()  # needs (app/salesforce/access.py) this login does not meet
        self.basis_extra: dict[str, Any] = {}
        self.exported: list[str] = []  # objects named as exported: read on them is stripped too

    def add(
        self, op: str, sobject: str, record: str, label: str, before: dict[str, Any], change: dict[str, Any]
    ) -> None:
        self.steps.append(
            Step(
                n=len(self.steps) + 1, op=op, sobject=sobject, record=record, label=label, before=before, change=change
            )
        )  # type: ignore[arg-type]

    def refuse(self, sobject: str, record: str, label: str, reason: str) -> None:
        self.refused.append(Refusal(sobject=sobject, record=record, label=label, reason=reason))

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def task(self, kind: str, title: str, target: str, steps: list[str], evidence: str) -> None:
        if any(t["kind"] == kind and t["target"] == target for t in self.tasks):
            return
        self.tasks.append({"kind": kind, "title": title, "target": target, "steps": steps, "evidence": evidence})

    def finish(
        self,
        *,
        plan_id: str,
        org_alias: str,
        basis: dict[str, Any],
        actor: str,
        created: str,
        undoes: str | None = None,
    ) -> Plan:
        counts: dict[str, int] = {}
        for step in self.steps:
            counts[step.op] = counts.get(step.op, 0) + 1
        tasks = [ManualTask(task_id=f"{plan_id}-T{i}", **t) for i, t in enumerate(self.tasks, start=1)]
        plan = Plan(
            plan_id=plan_id,
            action=self.action,
            org_alias=org_alias,  # type: ignore[arg-type]
            instance_url=basis.get("instance_url"),
            org_id=basis.get("org_id"),
            basis={**basis, **self.basis_extra},
            selectors=self.selectors,
            token_filter=self.token_filter,
            token_where=self.token_filter.where() if self.token_filter else None,
            steps=self.steps,
            counts=counts,
            refused=self.refused,
            manual_tasks=tasks,
            notes=self.notes,
            undoes=undoes,
            created_by=actor,
            created_utc=created,
        )
        return plan.sealed()


def _name(src: Source, user_id: str | None) -> str:
    if not user_id:
        return "?"
    return src.users([user_id]).get(id15(user_id), {}).get("Username") or user_id


def _drop_self(src: Source, draft: Draft, scope: dict[str, str]) -> dict[str, str]:
    me = src.self_user_id()
    if me and any(id15(u) == id15(me) for u in scope):
        scope = {u: w for u, w in scope.items() if id15(u) != id15(me)}
        draft.refuse(
            "User",
            me,
            _name(src, me),
            "this is the login running containment: it is left alone so the response can continue",
        )
    return scope


def _scope(src: Source, draft: Draft, *, app_users: Sequence[str] = ()) -> dict[str, str]:
    """User id -> why it is in scope: the named user, else the app's token holders and/or integration users."""
    sel = draft.selectors
    if sel.named_users():
        return _drop_self(src, draft, {src.user_by_name(u)["Id"]: f"named user {u}" for u in sel.named_users()})
    scope: dict[str, str] = {}
    for uid in app_users:
        scope.setdefault(uid, f"holds {sel.app} OAuth tokens")
    if sel.integration_users or not sel.app:
        for uid, why in src.integration_users().items():
            scope.setdefault(uid, f"integration user: {why}")
    return _drop_self(src, draft, scope)


def _plan_tokens(src: Source, draft: Draft, *, also_users: Sequence[str] = ()) -> None:
    sel = draft.selectors
    user_id = src.user_by_name(sel.user)["Id"] if sel.user and not sel.users else None
    named = [src.user_by_name(u)["Id"] for u in sel.named_users()] if sel.users else []
    if sel.tokens and not (sel.app or user_id or named or also_users):
        raise UsageError("revoking chosen tokens needs their app or their holders")
    flt = TokenFilter(app=None if named else sel.app, user_id=user_id, also_users=sorted(set(also_users) | set(named)))
    if not flt.wheres():
        draft.note("No app, user or integration user in scope: no token to revoke.")
        return
    draft.token_filter = flt
    rows = src.tokens(flt)
    if named:  # several users (and maybe one app): the filter is wider than the plan, keep the exact rows
        ids = {id15(u) for u in named} | {id15(u) for u in also_users}
        rows = [r for r in rows if id15(r.get("UserId")) in ids and (not sel.app or r.get("AppName") == sel.app)]
    if sel.tokens:
        wanted = set(sel.tokens)
        rows = [r for r in rows if wanted & {r.get("_ref"), *token_refs(r)}]
        missing = len(wanted) - len(rows)
        if missing > 0:
            draft.note(f"{missing} of the {len(wanted)} chosen token(s) no longer exist.")
    if "see_all_tokens" in draft.unmet:
        draft.note(
            "This login sees only its own OAuth tokens (it lacks Customize Application): tokens of other users"
            + (f" of {sel.app}" if sel.app else "")
            + " may exist and are NOT listed here; how many is unknown."
        )
        if not rows:
            return
    if sel.app and not rows and not also_users:
        near = [n for n in src.similar_apps(sel.app) if n != sel.app]
        if near:
            raise NotFoundError(f"no OAuth token has AppName exactly {sel.app!r}; similar names: {', '.join(near)}")
        draft.note(f"No OAuth token of {sel.app} exists now.")
    src.users([r.get("UserId") for r in rows if r.get("UserId")])
    rows.sort(key=lambda r: (r.get("AppName") or "", _name(src, r.get("UserId")), r.get("CreatedDate") or ""))
    for row in rows:
        ref = row.get("_ref") or token_refs(row)[0]
        name = _name(src, row.get("UserId"))
        label = f"{row.get('AppName')} token of {name} (created {row.get('CreatedDate')})"
        if src.kind == "org" and not row.get("DeleteToken"):
            draft.refuse(
                "OauthToken",
                ref,
                label,
                "Salesforce returned no DeleteToken for it (the login may lack "
                "Customize Application); revoke it in Setup > Connected Apps OAuth Usage",
            )
            continue
        before = {k: v for k, v in flat_row(row).items() if not k.startswith("_")}
        draft.add("revoke_token", "OauthToken", ref, label, {**before, "Username": name}, {"revoked": True})
    draft.note(NOT_UNDOABLE["revoke_token"] + ".")


def _plan_sessions(src: Source, draft: Draft, users: dict[str, str]) -> None:
    rows = src.sessions(list(users))
    if rows is None:
        if draft.action == "end_sessions":
            raise UsageError(
                "sessions are not in an inventory snapshot (they change by the minute): plan "
                "end_sessions on a machine connected to the org"
            )
        draft.note(
            "Sessions are not in the inventory snapshot: plan end_sessions on the connected machine right "
            "after applying this plan."
        )
        return
    src.users(list(users))
    rows.sort(key=lambda r: (_name(src, r.get("UsersId")), r.get("CreatedDate") or ""))
    for row in rows:
        name = _name(src, row.get("UsersId"))
        draft.add(
            "delete_session",
            "AuthSession",
            row["Id"],
            f"{row.get('SessionType') or 'session'} of {name} from {row.get('SourceIp') or '?'}",
            {**flat_row(row), "Username": name},
            {"deleted": True},
        )
    draft.note(
        NOT_UNDOABLE["delete_session"] + "; without revoking the tokens too, an integration can mint a new session."
    )


def _plan_freeze(src: Source, draft: Draft, users: dict[str, str]) -> None:
    """One step per user, keyed by the User Id (the executor finds the UserLogin row at run time)."""
    names = src.users(list(users))
    logins = src.logins(list(users))
    already = 0
    for uid in sorted(users, key=lambda u: _name(src, u)):
        login = logins.get(id15(uid))
        name = (names.get(id15(uid)) or {}).get("Username") or uid
        if login is None:
            draft.refuse("User", uid, name, "no UserLogin row (the login may lack Manage Users)")
            continue
        if login.get("IsFrozen"):
            already += 1
            continue
        before = {"UserId": uid, "Username": name, "UserLoginId": login.get("Id"), "IsFrozen": False}
        draft.add("freeze_user", "UserLogin", uid, f"{name} ({users[uid]})", before, {"IsFrozen": True})
    if already:
        draft.note(f"{already} user(s) already frozen: left as they are.")


def _plan_deactivate(src: Source, draft: Draft, users: dict[str, str]) -> None:
    rows = src.users(list(users))
    already = 0
    for uid in sorted(users, key=lambda u: _name(src, u)):
        row = rows.get(id15(uid))
        if row is None:
            draft.refuse("User", uid, uid, "not found")
            continue
        if not row.get("IsActive"):
            already += 1
            continue
        draft.add(
            "deactivate_user",
            "User",
            row["Id"],
            f"{row.get('Username')} ({users[uid]})",
            {"Id": row["Id"], "Username": row.get("Username"), "IsActive": True},
            {"IsActive": False},
        )
    if already:
        draft.note(f"{already} user(s) already inactive: left as they are.")
    draft.note(
        "Deactivation breaks the integration and frees the licence; prefer freezing during triage. Some "
        "users (a default workflow user, a site guest owner) cannot be deactivated."
    )


def _plan_strip(src: Source, draft: Draft, users: dict[str, str]) -> None:
    """One step per assignment that gives a user in scope export access, its label saying which grants put it
    in the plan; profile-owned grants become a manual task (the profile is changed in Setup)."""
    flags = src.dangerous_flags()
    src.users(list(users))
    rows = src.assignments(list(users), flags, draft.exported)
    rows.sort(key=lambda r: (_name(src, r.get("AssigneeId")), r.get("PermissionSet.Name") or ""))
    # Integration users swept in as a class (not named, not holders of the app's tokens) keep the API access
    # and reads their integration needs: only their org-wide and object-wide grants are stripped.
    swept = {id15(u) for u, why in users.items() if why.startswith("integration user")}
    kept = 0
    for row in rows:
        name = _name(src, row.get("AssigneeId"))
        ps_name = row.get("PermissionSet.Label") or row.get("PermissionSet.Name") or row.get("PermissionSetId")
        granted = row["Grants"]
        if id15(row.get("AssigneeId")) in swept:
            granted = [g for g in granted if g != "API Enabled" and not g.startswith("Read on ")]
            if not granted:
                kept += 1
                continue
        label = f"{ps_name} ({', '.join(granted)}) on {name}"
        if row.get("PermissionSet.IsOwnedByProfile"):
            profile = row.get("PermissionSet.Profile.Name") or "its profile"
            if granted == ["API Enabled"] and profile.lower() in INTEGRATION_PROFILES:
                draft.note(
                    f"{name}'s profile {profile} grants API Enabled, which an API-only integration profile always "
                    "does: freeze or deactivate the user to stop it."
                )
                continue
            draft.refuse(
                "PermissionSetAssignment",
                row["Id"],
                label,
                f"owned by the profile {profile!r}: a profile's grant cannot be removed by deleting the "
                "assignment; change the user's profile instead (manual task)",
            )
            draft.task(
                "change_profile",
                f"Move {name} off the profile {profile}",
                name,
                [
                    f"Setup > Users > Users > {name} > Edit.",
                    f"Set Profile to one without {', '.join(granted)} (an integration user: 'Minimum Access - API "
                    "Only Integrations'), and Save. Changing the profile itself (Setup > Users > Profiles > "
                    f"{profile}) would change every user of {profile!r}.",
                    "Record it as an emergency change; give back only what is needed through a permission set.",
                    "Confirm: the user's detail page shows the new profile; Setup Audit Trail has the change; "
                    f"SELECT Profile.Name FROM User WHERE Username = '{name}' returns the new profile.",
                ],
                "screenshot of the user's detail page with the new profile, or the Setup Audit Trail row",
            )
            continue
        draft.add(
            "delete_assignment",
            "PermissionSetAssignment",
            row["Id"],
            label,
            {**row, "Username": name},
            {"deleted": True},
        )
    if kept:
        draft.note(
            f"{kept} grant(s) of integration users in scope as a class give only API access or read: kept (name "
            "the user, or the app whose tokens it holds, to strip those too)."
        )
    if draft.exported:
        draft.note("Objects named as exported (read on them is stripped): " + ", ".join(draft.exported) + ".")
    if not rows:
        granted = (
            ", ".join(flags)
            + ", View All or Modify All Records"
            + (", read on exported objects" if draft.exported else "")
        )
        draft.note("No user in scope holds a permission set with " + granted + ".")


# --------------------------------------------------------------------------------------------------
# Manual tasks: exact Setup steps for what has no API
# --------------------------------------------------------------------------------------------------


def _task_block_app(draft: Draft, app: str) -> None:
    """Salesforce has no API call that blocks a connected app: Block is a button on Connected Apps OAuth Usage.
    That page lists only apps holding an active access or refresh token, so block before the last token goes."""
    count = f"SELECT COUNT() FROM OauthToken WHERE AppName = {soql_str(app)}"
    draft.task(
        "block_app",
        f"Block the connected app {app}",
        app,
        [
            "Setup > Apps > Connected Apps > Connected Apps OAuth Usage.",
            f"Find {app!r} and click Block (ends its current sessions and blocks new ones). The page lists only apps "
            "that hold an active token: block before the last token is revoked.",
            f"If {app!r} is no longer listed (no token left), or is installed: Setup > Apps > Connected Apps > Manage "
            f"Connected Apps > {app} > Edit Policies > Permitted Users = 'Admin approved users are pre-authorized', "
            "then remove every profile and permission set from it (install it from the OAuth Usage page first if it "
            "is not installed).",
            f"Verify: `{count}` returns 0, and after the block no LoginHistory row has Application = {app!r} "
            "(Application cannot be filtered in SOQL: read LoginHistory since the block and check it). Pull the "
            "inventory again: the incident's finding for the app closes only then.",
            "Confirm: the OAuth Usage page shows the app Blocked; Setup Audit Trail shows the change.",
        ],
        "screenshot of Connected Apps OAuth Usage showing the app Blocked, or the Setup Audit Trail row",
    )


def _task_uninstall(draft: Draft, name: str) -> None:
    draft.task(
        "uninstall_package",
        f"Uninstall the package {name}",
        name,
        [
            "Setup > Apps > Packaging > Installed Packages.",
            f"Find {name!r}, click Uninstall, choose whether to save a data export (keep it as evidence), confirm.",
            "Setup > Apps > Connected Apps > Connected Apps OAuth Usage: click Uninstall for the package's app if it "
            "is still listed.",
            "Confirm: the package is gone from Installed Packages; Setup Audit Trail shows the uninstall.",
        ],
        "screenshot of Installed Packages without the package, or the Setup Audit Trail row",
    )


def _task_rotate_secret(draft: Draft, app: str) -> None:
    draft.task(
        "rotate_consumer_secret",
        f"Rotate the consumer secret of {app}",
        app,
        [
            f"If {app!r} is your own connected app: Setup > Apps > App Manager > {app} > View > Manage Consumer "
            "Details (verify by email code) > Generate (new consumer secret), then update every client that uses it.",
            "For an External Client App: Setup > External Client App Manager > the app > Settings > OAuth Settings > "
            "Consumer Key and Secret > stage a new secret, move the clients over, then delete the old one.",
            f"If {app!r} is a vendor's app, its secret lives in the vendor's org: ask the vendor to rotate it and get "
            "their written confirmation; meanwhile keep the app blocked.",
            "Confirm: the old secret no longer works (a login with it fails).",
        ],
        "the vendor's written confirmation, or a screenshot of the new secret's creation date",
    )


def _quarantine_tasks(draft: Draft) -> None:
    draft.task(
        "login_ip_ranges",
        "Restrict logins to known networks",
        "integration and admin profiles",
        [
            "Setup > Users > Profiles > each integration and high-privilege profile > Login IP Ranges > New: add only "
            "the corporate and middleware ranges.",
            "Setup > Apps > Connected Apps > Manage Connected Apps > each app > Edit Policies > IP Relaxation = "
            "'Enforce IP restrictions'; shorten Timeout Value.",
            "Record it as an emergency change with its rollback plan.",
        ],
        "screenshots of the profiles' Login IP Ranges and the apps' IP Relaxation",
    )
    draft.task(
        "api_access_control",
        "Allow only admin-approved API clients",
        "the org",
        [
            "Open a Salesforce Support case asking to enable API Access Control for the org.",
            "Then Setup > Apps > Connected Apps > Connected Apps OAuth Usage: install the apps that must keep working "
            "and pre-authorize them for their profiles or permission sets.",
            "Then set 'Limit API access to installed and approved apps' (Metadata: "
            "ConnectedAppSettings.enableAdminApprovedAppsOnly = true).",
        ],
        "the Support case number, then a screenshot of the setting switched on",
    )


# --------------------------------------------------------------------------------------------------
# Building a plan
# --------------------------------------------------------------------------------------------------


def build_plan(
    src: Source | None,
    action: str,
    *,
    app: str | None = None,
    user: str | None = None,
    integration_users: bool = False,
    users: Sequence[str] = (),
    tokens: Sequence[str] = (),
    objects: Sequence[str] = (),
    actor: str,
    created_utc: str,
    plan_id: str,
    org_alias: str,
) -> Plan:
    """List every change `action` makes, record by record, from `src` (nothing is changed anywhere).
    `objects` names the objects known to have been exported: strip_permissions then removes read on them too."""
    if action not in ACTIONS:
        raise UsageError(f"unknown containment action {action!r}; one of: {', '.join(ACTIONS)}")
    sel = Selectors(
        app=app.strip() if app else None,
        user=user.strip() if user else None,
        integration_users=integration_users,
        users=[u.strip() for u in users if u.strip()],
        tokens=list(tokens),
    )
    draft = Draft(action, sel)
    draft.exported = sorted({o.strip() for o in objects if o.strip()})
    if action in MANUAL_ACTIONS:
        if not sel.app:
            raise UsageError(f"{action} needs --app NAME")
        {
            "block_app": _task_block_app,
            "rotate_consumer_secret": _task_rotate_secret,
            "uninstall_package": _task_uninstall,
        }[action](draft, sel.app)
        basis = src.basis() if src is not None else {"kind": "none"}
        return draft.finish(plan_id=plan_id, org_alias=org_alias, basis=basis, actor=actor, created=created_utc)
    if src is None:
        raise UsageError(f"{action} reads the org (or an inventory snapshot) to plan; connect with --org ALIAS")
    note_permissions(src.permissions(), src.kind, draft)
    if action == "quarantine_org":
        _plan_quarantine(src, draft)
    else:
        if not (sel.app or sel.named_users() or sel.integration_users):
            raise UsageError(f"{action} needs --app NAME, --user USERNAME or --integration-users")
        if action == "revoke_tokens":
            also = list(_scope(src, draft)) if sel.integration_users and not sel.named_users() else []
            _plan_tokens(src, draft, also_users=also)
            if sel.app and draft.steps:  # revoking does not stop anyone authorising the app again
                _task_block_app(draft, sel.app)
        else:
            app_users: list[str] = []
            if sel.app and not sel.named_users():
                app_users = list(
                    dict.fromkeys(r["UserId"] for r in src.tokens(TokenFilter(app=sel.app)) if r.get("UserId"))
                )
                if not app_users:
                    draft.note(f"No user holds {sel.app} OAuth tokens now.")
            scope = _scope(src, draft, app_users=app_users)
            {
                "end_sessions": _plan_sessions,
                "freeze_users": _plan_freeze,
                "deactivate_users": _plan_deactivate,
                "strip_permissions": _plan_strip,
            }[action](src, draft, scope)
    return draft.finish(plan_id=plan_id, org_alias=org_alias, basis=src.basis(), actor=actor, created=created_utc)


def _plan_quarantine(src: Source, draft: Draft) -> None:
    """Everything the org's integrations can do, stopped: tokens, then logins, then sessions, then grants."""
    sel = draft.selectors
    scope: dict[str, str] = {}
    for name in sel.named_users():
        scope[src.user_by_name(name)["Id"]] = f"named user {name}"
    for uid, why in src.integration_users().items():
        scope.setdefault(uid, f"integration user: {why}")
    if sel.app:
        for row in src.tokens(TokenFilter(app=sel.app)):
            if row.get("UserId"):
                scope.setdefault(row["UserId"], f"holds {sel.app} OAuth tokens")
    scope = _drop_self(src, draft, scope)
    draft.selectors = Selectors(app=sel.app)
    _plan_tokens(src, draft, also_users=list(scope))
    draft.selectors = sel
    apps = sorted(
        {s.before.get("AppName") for s in draft.steps if s.before.get("AppName")} | ({sel.app} if sel.app else set())
    )
    _plan_freeze(src, draft, scope)
    _plan_sessions(src, draft, scope)
    _plan_strip(src, draft, scope)
    for app in apps:
        _task_block_app(draft, app)
    if sel.app:
        _task_rotate_secret(draft, sel.app)
    _quarantine_tasks(draft)
    draft.note("Deactivation is a separate step (deactivate_users) once the integrations are understood.")
