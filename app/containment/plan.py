"""Planning containment: read who and what is in scope, and list each change record by record.

Plans are read from one of two sources with the same questions (`app/containment/sources.py`):

- the live org, through the Salesforce adapter (`LiveSource`); the before-state is the org's state now;
- the incident's inventory snapshot (`SnapshotSource`), for a war-room machine without a network: the plan
  is exported with its runbook and applied later from a connected machine, whose executor re-reads every
  record before it changes it. Sessions are not in a snapshot (they change by the minute), so ending them
  is planned on the connected machine.

Tokens are known by `ref` (the inventory's fingerprint of a token's DeleteToken), never by value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from app.base.errors import NotFoundError, UsageError
from app.containment.models import (
    ACTIONS,
    MANUAL_ACTIONS,
    NOT_UNDOABLE,
    ManualTask,
    Op,
    Plan,
    Refusal,
    Selectors,
    Step,
    TokenFilter,
    flat_row,
    id15,
    soql_str,
)
from app.containment.rights import note_permissions
from app.inventory import INTEGRATION_PROFILES

if TYPE_CHECKING:
    pass
from app.containment.sources import Source, token_refs


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
        self, op: Op, sobject: str, record: str, label: str, before: dict[str, Any], change: dict[str, Any]
    ) -> None:
        self.steps.append(
            Step(
                n=len(self.steps) + 1, op=op, sobject=sobject, record=record, label=label, before=before, change=change
            )
        )

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
            org_alias=org_alias,
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
    src.users([u for r in rows if (u := r.get("UserId"))])
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
    apps = sorted({a for s in draft.steps if (a := s.before.get("AppName"))} | ({sel.app} if sel.app else set()))
    _plan_freeze(src, draft, scope)
    _plan_sessions(src, draft, scope)
    _plan_strip(src, draft, scope)
    for app in apps:
        _task_block_app(draft, app)
    if sel.app:
        _task_rotate_secret(draft, sel.app)
    _quarantine_tasks(draft)
    draft.note("Deactivation is a separate step (deactivate_users) once the integrations are understood.")
