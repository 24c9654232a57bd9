"""The simulated org's data: tables per sObject (`app/simorg/table.py`), sessions, and the org's own rules.

Everything that changes org state (logins, containment calls, tabletop injects) goes through `Store`, under
one lock, so the HTTP handler stays a thin translator and tests can inspect or mutate the org directly.
Rows are plain dicts holding only the fields that have values; names starting with `_` are private to the
simulator (links such as "session made from this app's token") and never rendered.

Containment semantics, where Salesforce's own behaviour is documented or unknown:
- revoking a DeleteToken removes its OauthToken row and ends the sessions minted from that app for that user;
  revoking an access token ends that session;
- deleting an AuthSession ends it (its bearer token answers 401 INVALID_SESSION_ID from then on);
- deactivating a user ends their sessions and refuses new logins;
- freezing (UserLogin.IsFrozen) refuses new logins only: live sessions keep working, because whether a
  freeze ends them is not established; a responder must also revoke tokens and delete sessions;
- profile-owned PermissionSetAssignments cannot be deleted (INVALID_CROSS_REFERENCE_KEY).

Expiring assignments (PermissionSetAssignment.ExpirationDate, API 52.0 and later: "the date that the assignment
of the permission set or permission set group expires for the specified user"): once the org's clock passes the
ExpirationDate the user loses the set's permissions, and the simulator removes the row (it answers queryAll as
deleted). The object reference does not say whether Salesforce deletes the row or keeps it; Setup's "Manage
Assignment Expiration" lists current assignments only, so a lapsed one is treated as gone. Nothing is written
to the Setup Audit Trail for a lapse: what Salesforce records there is not documented.

Setup Audit Trail rows for changes made through the API. SetupAuditTrail.Action is a string the object reference
does not enumerate; the Action and Section values below are those the sfdx-hardis audit-trail command lists as
Salesforce's own for Section "Manage Users" (hardisgroupcom/sfdx-hardis, docs/hardis/org/diagnose/audittrail.md:
frozeuser, PermSetAssign, PermSetGroupAssign, PermSetGroupUnassign, PermSetUnassign, unfrozeuser, among others):
- an assignment created: Action "PermSetAssign", Section "Manage Users", Display "Permission set NAME: assigned
  to user USERNAME";
- an assignment deleted: "PermSetUnassign"; freezing and unfreezing a user (UserLogin.IsFrozen): "frozeuser" and
  "unfrozeuser", Section "Manage Users";
- an assignment of a permission set group (PermissionSetGroupId) created or deleted: "PermSetGroupAssign" and
  "PermSetGroupUnassign". Created with only PermissionSetGroupId, the assignment points at the group's aggregate
  permission set (PermissionSet.PermissionSetGroupId), as assignments of groups do in public recorded data.
The Display wording of all four is the simulator's own: no recorded row with its Display was at hand.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from app.base.clock import Clock
from app.simorg import soql
from app.simorg.ids import id_key, make_id, to18
from app.simorg.schema import DESCRIBE_TYPES, FieldDef, ObjectDef, Schema
from app.simorg.table import Table

BATCH_DEFAULT = 2000
BATCH_MIN = 200
# OauthToken: at most 500 rows per call and 2,500 rows in total through queryMore (object reference).
OAUTHTOKEN_BATCH = 500
OAUTHTOKEN_TOTAL = 2500
MAX_CURSORS = 200
SESSION_SECONDS = 7200


class ApiError(Exception):
    """A REST failure rendered as Salesforce's JSON error list."""

    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields

    def body(self) -> list[dict[str, Any]]:
        item: dict[str, Any] = {"message": self.message, "errorCode": self.code}
        if self.fields is not None:
            item["fields"] = self.fields
        return [item]


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


class LoginFault(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Session:
    token: str
    user_id: str
    auth_session_id: str | None
    app_name: str | None
    issued: datetime


@dataclass
class AppAuth:
    """A connected app's login secrets, kept out of the queryable rows."""

    app_id: str
    name: str
    consumer_key: str
    consumer_secret: str | None = None
    public_key_pem: str | None = None
    run_as: str | None = None


@dataclass
class Cursor:
    id: str
    rows: list[dict[str, Any]]
    obj: ObjectDef
    plan: list[Any]
    batch: int
    served_cap: int | None
    api: str
    total: int


@dataclass
class Org:
    id: str
    name: str
    edition: str
    my_domain: str
    event_monitoring: bool
    api_limit: int


def format_datetime(v: datetime) -> str:
    v = v.astimezone(UTC)
    return v.strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}+0000"


class Store:
    def __init__(self, schema: Schema, org: Org, clock: Clock, pod: str = "5e0") -> None:
        self.schema = schema
        self.org = org
        self.clock = clock
        self.pod = pod
        self.lock = threading.RLock()
        self.tables: dict[str, Table] = {name: Table(obj) for name, obj in schema.objects.items()}
        self._counters: dict[str, int] = {}
        self.keys: dict[str, dict[str, str]] = {}
        self.user_secrets: dict[str, tuple[str, str]] = {}
        self.apps: dict[str, AppAuth] = {}
        self.sessions: dict[str, Session] = {}
        self.blobs: dict[tuple[str, str, str], bytes] = {}
        self.cursors: dict[str, Cursor] = {}
        self.api_used = 0
        self.base_url = ""  # set by the server once it knows its port
        self._perm_cache: dict[str, frozenset[str]] = {}
        self._token_seq = 0
        self._expiring: dict[str, datetime] = {}  # PermissionSetAssignment Id -> its ExpirationDate

    # ------------------------------------------------------------ basics

    def now(self) -> datetime:
        return self.clock.now()

    def new_id(self, sobject: str) -> str:
        obj = self.schema.objects[sobject]
        n = self._counters.get(obj.prefix, 0) + 1
        self._counters[obj.prefix] = n
        return make_id(obj.prefix, self.pod, n)

    def table(self, sobject: str) -> Table:
        obj = self.schema.get(sobject)
        if obj is None:
            raise KeyError(f"unknown sObject {sobject!r}")
        return self.tables[obj.name]

    def insert(self, sobject: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Add a row (for seeding and injects); fills Id and audit dates, drops None values."""
        with self.lock:
            table = self.table(sobject)
            obj = table.obj
            unknown = [k for k in fields if not k.startswith("_") and k not in obj.fields]
            if unknown:  # the org serves no field the documented object lacks
                raise KeyError(f"{obj.name} has no field {', '.join(unknown)} (app/data/salesforce)")
            row = {k: v for k, v in fields.items() if v is not None}
            if not obj.id_null and "Id" not in row:
                row["Id"] = self.new_id(obj.name)
            if "CreatedDate" in obj.fields and "CreatedDate" not in row:
                row["CreatedDate"] = self.now()
            for audit in ("LastModifiedDate", "SystemModstamp"):
                if audit in obj.fields and audit not in row and "CreatedDate" in row:
                    row[audit] = row["CreatedDate"]
            table.insert(row)
            if obj.name in ("PermissionSetAssignment", "PermissionSet"):
                self._perm_cache.clear()
            if obj.name == "PermissionSetAssignment":
                self._track_expiry(row)
            return row

    def lookup(self, sobject: str, record_id: str) -> dict[str, Any] | None:
        table = self.tables.get(sobject)
        return table.get(record_id) if table is not None else None

    def rows(self, sobject: str) -> Iterator[dict[str, Any]]:
        return iter(list(self.table(sobject).rows.values()))

    def count(self, sobject: str) -> int:
        return len(self.table(sobject).rows)

    def find(self, sobject: str, **equals: Any) -> list[dict[str, Any]]:
        """Rows whose fields equal the given values (exact match; an index is used when there is one)."""
        with self.lock:
            table = self.table(sobject)
            indexed = [(k, v) for k, v in equals.items() if k in table.indexes or k == "Id"]
            if indexed:
                name, value = indexed[0]
                fd = table.obj.fields[name]
                pool: Iterable[dict[str, Any]] = table.candidates(name, [soql._norm(fd, value)])
            else:
                pool = list(table.rows.values())
            out = []
            for row in pool:
                if all(_same(row.get(k), v) for k, v in equals.items()):
                    out.append(row)
            return out

    def key_id(self, kind: str, key: str) -> str:
        """The record Id a seed key stands for (e.g. kind "users", key "drift_int")."""
        try:
            return self.keys[kind][key]
        except KeyError:
            raise KeyError(f"no {kind} with key {key!r} in this org") from None

    def user_by_username(self, username: str) -> dict[str, Any] | None:
        rows = self.find("User", Username=username)
        return rows[0] if rows else None

    # ------------------------------------------------------------ permissions

    def _track_expiry(self, row: dict[str, Any]) -> None:
        expires = row.get("ExpirationDate")
        if isinstance(expires, str):  # a seed row written as text
            expires = soql._parse_dt(expires)
        if isinstance(expires, datetime):
            self._expiring[row["Id"]] = expires
        else:
            self._expiring.pop(row["Id"], None)

    def _audit(self, action: str, display: str, user_id: str) -> None:
        self.insert(
            "SetupAuditTrail",
            {"Action": action, "Section": "Manage Users", "Display": display, "CreatedById": user_id},
        )

    def _assignment_audit(self, action: str, verb: str, row: dict[str, Any], user_id: str) -> None:
        user = self.lookup("User", row.get("AssigneeId", "")) or {}
        username = user.get("Username", row.get("AssigneeId"))
        if row.get("PermissionSetGroupId"):  # PermSetGroupAssign / PermSetGroupUnassign
            group = self.lookup("PermissionSetGroup", row["PermissionSetGroupId"]) or {}
            name = group.get("DeveloperName", row["PermissionSetGroupId"])
            action = action.replace("PermSet", "PermSetGroup", 1)
            self._audit(action, f"Permission set group {name}: {verb} user {username}", user_id)
            return
        ps = self.lookup("PermissionSet", row.get("PermissionSetId", "")) or {}
        name = ps.get("Name", row.get("PermissionSetId"))
        self._audit(action, f"Permission set {name}: {verb} user {username}", user_id)

    def lapse_assignments(self) -> list[str]:
        """Remove every assignment whose ExpirationDate the org's clock has passed; their Ids."""
        with self.lock:
            if not self._expiring:
                return []
            now = self.now()
            lapsed = [rid for rid, at in self._expiring.items() if at <= now]
            table = self.tables["PermissionSetAssignment"]
            for rid in lapsed:
                del self._expiring[rid]
                key = table.key_of(rid)
                if key is not None:
                    table.delete(key)
            if lapsed:
                self._perm_cache.clear()
            return lapsed

    def permissions_of(self, user_id: str) -> frozenset[str]:
        """Union of the permission flags (without the "Permissions" prefix) of the user's assignments."""
        with self.lock:
            self.lapse_assignments()
            cached = self._perm_cache.get(user_id)
            if cached is not None:
                return cached
            perms: set[str] = set()
            for psa in self.find("PermissionSetAssignment", AssigneeId=user_id):
                ps = self.lookup("PermissionSet", psa["PermissionSetId"])
                if ps is None:
                    continue
                perms.update(
                    k[len("Permissions") :] for k, v in ps.items() if k.startswith("Permissions") and v is True
                )
            result = frozenset(perms)
            self._perm_cache[user_id] = result
            return result

    def _require(self, user_id: str, permission: str | None, action: str) -> None:
        if permission is None:
            return
        perms = self.permissions_of(user_id)
        if permission in perms or ("ModifyAllData" in perms and permission != "ViewEventLogFiles"):
            return
        label = _PERMISSION_LABELS.get(permission, permission)
        raise ApiError(
            403,
            "INSUFFICIENT_ACCESS_OR_READONLY",
            f"insufficient access rights on object id: the '{label}' permission is required to {action}",
        )

    def _visible(self, obj: ObjectDef, user_id: str) -> bool:
        if obj.requires is None:
            return True
        perms = self.permissions_of(user_id)
        return obj.requires in perms or ("ModifyAllData" in perms and obj.requires != "ViewEventLogFiles")

    # ------------------------------------------------------------ sessions and logins

    def _mint_token(self) -> str:
        return f"{self.org.id[:15]}!{secrets.token_urlsafe(72)}"

    def _open_session(
        self,
        user: dict[str, Any],
        *,
        ip: str,
        login_type: str,
        application: str,
        api_type: str | None,
        app_name: str | None,
        version: str,
        session_type: str,
    ) -> Session:
        now = self.now()
        history = self.insert(
            "LoginHistory",
            {
                "UserId": user["Id"],
                "LoginTime": now,
                "LoginType": login_type,
                "SourceIp": ip,
                "Status": "Success",
                "Application": application,
                "Browser": "Unknown",
                "Platform": "Unknown",
                "ApiType": api_type,
                "ApiVersion": version if api_type else None,
                "LoginUrl": self.base_url.replace("https://", ""),
                "TlsProtocol": "TLS 1.3",
                "CountryIso": None,
            },
        )
        auth = self.insert(
            "AuthSession",
            {
                "UsersId": user["Id"],
                "CreatedDate": now,
                "LastModifiedDate": now,
                "NumSecondsValid": SESSION_SECONDS,
                "SessionType": session_type,
                "LoginType": login_type,
                "SourceIp": ip,
                "UserType": user.get("UserType", "Standard"),
                "LoginHistoryId": history["Id"],
                "SessionSecurityLevel": "STANDARD",
                "IsCurrent": False,
                "_app": app_name,
            },
        )
        self.table("User").update(self.table("User").key_of(user["Id"]) or 0, {"LastLoginDate": now})
        session = Session(self._mint_token(), user["Id"], auth["Id"], app_name, now)
        self.sessions[session.token] = session
        auth["_token"] = session.token
        return session

    def _failed_login(self, user: dict[str, Any] | None, ip: str, login_type: str, status: str) -> None:
        if user is None:
            return
        self.insert(
            "LoginHistory",
            {
                "UserId": user["Id"],
                "LoginTime": self.now(),
                "LoginType": login_type,
                "SourceIp": ip,
                "Status": status,
                "Application": "N/A",
                "Browser": "Unknown",
                "Platform": "Unknown",
            },
        )

    def _login_user(self, username: str, ip: str, login_type: str) -> dict[str, Any]:
        user = self.user_by_username(username)
        if user is None:
            raise LoginFault("INVALID_LOGIN", "Invalid username, password, security token; or user locked out.")
        if not user.get("IsActive", False):
            self._failed_login(user, ip, login_type, "User is inactive")
            raise LoginFault("INVALID_LOGIN", "Invalid username, password, security token; or user locked out.")
        login = self.find("UserLogin", UserId=user["Id"])
        if login and login[0].get("IsFrozen"):
            self._failed_login(user, ip, login_type, "User is frozen")
            raise LoginFault("INVALID_LOGIN", "Invalid username, password, security token; or user locked out.")
        return user

    def soap_login(self, username: str, password: str, client: str, ip: str, version: str) -> Session:
        with self.lock:
            user = self._login_user(username, ip, "Other Apex API")
            secret = self.user_secrets.get(user["Id"])
            if secret is None or password not in (secret[0] + secret[1],):
                self._failed_login(user, ip, "Other Apex API", "Invalid Password")
                raise LoginFault("INVALID_LOGIN", "Invalid username, password, security token; or user locked out.")
            if "ApiEnabled" not in self.permissions_of(user["Id"]):
                raise LoginFault("API_CURRENTLY_DISABLED", "API is disabled for this User")
            return self._open_session(
                user,
                ip=ip,
                login_type="Other Apex API",
                application=client,
                api_type="SOAP Partner",
                app_name=None,
                version=version,
                session_type="API",
            )

    def _app_by_key(self, consumer_key: str) -> AppAuth:
        app = self.apps.get(consumer_key)
        if app is None:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        return app

    def oauth_password(self, form: dict[str, str], ip: str) -> Session:
        with self.lock:
            app = self._app_by_key(form.get("client_id", ""))
            given = form.get("client_secret", "")
            if not app.consumer_secret or not secrets.compare_digest(app.consumer_secret, given):
                raise OAuthError("invalid_client", "invalid client credentials")
            try:
                user = self._login_user(form.get("username", ""), ip, "Remote Access 2.0")
            except LoginFault:
                raise OAuthError("invalid_grant", "authentication failure") from None
            secret = self.user_secrets.get(user["Id"])
            given = form.get("password", "")
            if secret is None or given not in (secret[0], secret[0] + secret[1]):
                self._failed_login(user, ip, "Remote Access 2.0", "Invalid Password")
                raise OAuthError("invalid_grant", "authentication failure")
            return self._open_session(
                user,
                ip=ip,
                login_type="Remote Access 2.0",
                application=app.name,
                api_type=None,
                app_name=app.name,
                version="",
                session_type="Oauth2",
            )

    def oauth_jwt(self, assertion: str, ip: str) -> Session:
        import jwt  # PyJWT ships with simple-salesforce

        with self.lock:
            try:
                unverified = jwt.decode(assertion, options={"verify_signature": False})
            except jwt.PyJWTError:
                raise OAuthError("invalid_grant", "invalid assertion") from None
            app = self._app_by_key(str(unverified.get("iss", "")))
            if not app.public_key_pem:
                raise OAuthError("invalid_grant", "invalid assertion")
            audiences = [
                "https://login.salesforce.com",
                "https://test.salesforce.com",
                f"https://{self.org.my_domain}.my.salesforce.com",
                self.base_url,
            ]
            try:
                claims = jwt.decode(assertion, app.public_key_pem, algorithms=["RS256"], audience=audiences)
            except jwt.ExpiredSignatureError:
                raise OAuthError("invalid_grant", "expired authorization code") from None
            except jwt.InvalidAudienceError:
                raise OAuthError("invalid_grant", "audience is invalid") from None
            except jwt.PyJWTError:
                raise OAuthError("invalid_grant", "invalid assertion") from None
            try:
                user = self._login_user(str(claims.get("sub", "")), ip, "Remote Access 2.0")
            except LoginFault:
                raise OAuthError("invalid_grant", "user hasn't approved this consumer") from None
            return self._open_session(
                user,
                ip=ip,
                login_type="Remote Access 2.0",
                application=app.name,
                api_type=None,
                app_name=app.name,
                version="",
                session_type="Oauth2",
            )

    def oauth_client_credentials(self, consumer_key: str, consumer_secret: str, ip: str) -> Session:
        with self.lock:
            app = self._app_by_key(consumer_key)
            if not app.consumer_secret or not secrets.compare_digest(app.consumer_secret, consumer_secret):
                raise OAuthError("invalid_client", "invalid client credentials")
            if not app.run_as:
                raise OAuthError("invalid_grant", "no client credentials user enabled")
            user = self.lookup("User", app.run_as)
            if user is None:
                raise OAuthError("invalid_grant", "no client credentials user enabled")
            try:
                self._login_user(user["Username"], ip, "Remote Access 2.0")
            except LoginFault:
                raise OAuthError("invalid_grant", "authentication failure") from None
            return self._open_session(
                user,
                ip=ip,
                login_type="Remote Access 2.0",
                application=app.name,
                api_type=None,
                app_name=app.name,
                version="",
                session_type="Oauth2",
            )

    def session_for(self, token: str) -> Session | None:
        with self.lock:
            session = self.sessions.get(token)
            if session is None:
                return None
            if session.auth_session_id and self.lookup("AuthSession", session.auth_session_id) is None:
                self.sessions.pop(token, None)
                return None
            user = self.lookup("User", session.user_id)
            if user is None or not user.get("IsActive", False):
                return None
            return session

    def token_for_session(self, auth_session_id: str) -> str:
        """A working bearer token for a seeded AuthSession (exercises play the attacker with it)."""
        with self.lock:
            row = self.lookup("AuthSession", auth_session_id)
            if row is None:
                raise KeyError(f"no AuthSession {auth_session_id}")
            token = row.get("_token")
            if token and token in self.sessions:
                return token
            token = self._mint_token()
            self.sessions[token] = Session(token, row["UsersId"], row["Id"], row.get("_app"), self.now())
            row["_token"] = token
            return token

    def expire_all_sessions(self) -> int:
        """Invalidate every issued bearer token (the fault 'sessions expired'); rows stay for forensics."""
        with self.lock:
            n = len(self.sessions)
            self.sessions.clear()
            return n

    def _kill_auth_session(self, auth_id: str) -> None:
        table = self.table("AuthSession")
        key = table.key_of(auth_id)
        if key is None:
            return
        row = table.delete(key)
        token = row.get("_token")
        if token:
            self.sessions.pop(token, None)

    def revoke(self, token: str) -> bool:
        """Revoke a DeleteToken (removes its OauthToken row and sessions minted from it) or an access token."""
        with self.lock:
            if not token:
                return False
            tokens = self.table("OauthToken")
            k = tokens.by_unique("DeleteToken", token)
            if k is not None:
                row = tokens.delete(k)
                for auth in self.find("AuthSession", UsersId=row.get("UserId")):
                    if auth.get("_app") and auth.get("_app") == row.get("AppName"):
                        self._kill_auth_session(auth["Id"])
                return True
            return self.end_session(token)

    def end_session(self, token: str) -> bool:
        """End one API session by its session id (logout, or revoke of an access token); False if unknown."""
        with self.lock:
            session = self.sessions.pop(token, None) if token else None
            if session is None:
                return False
            if session.auth_session_id:
                self._kill_auth_session(session.auth_session_id)
            return True

    # ------------------------------------------------------------ API usage

    def count_api_call(self) -> None:
        with self.lock:
            self.api_used += 1

    def limit_info(self, session: Session | None = None) -> str:
        info = f"api-usage={self.api_used}/{self.org.api_limit}"
        if session is not None and session.app_name:
            info += f"; per-app-api-usage={self.api_used}/{self.org.api_limit}(appName={session.app_name})"
        return info

    # ------------------------------------------------------------ query

    def _object_for(self, name: str, api: str, user_id: str, text: str, pos: int) -> ObjectDef:
        obj = self.schema.get(name)
        if obj is None or api not in obj.apis or not self._visible(obj, user_id):
            msg = (
                f"sObject type '{name}' is not supported. If you are attempting to use a custom object, be sure "
                "to append the '__c' after the entity name. Please reference your WSDL or the describe call for "
                "the appropriate names."
            )
            raise ApiError(400, "INVALID_TYPE", soql._located(text, pos, msg))
        return obj

    def query(
        self,
        text: str,
        *,
        user_id: str,
        api: str = "rest",
        include_deleted: bool = False,
        batch_size: int | None = None,
        version: str = "59.0",
    ) -> dict[str, Any]:
        with self.lock:
            self.lapse_assignments()
            try:
                parsed = soql.parse(text)
                obj = self._object_for(parsed.sobject, api, user_id, text, parsed.sobject_pos)
                compiled = soql.compile_query(parsed, self.schema, obj, self.now(), self.lookup)
            except soql.SoqlError as exc:
                raise ApiError(exc.status, exc.code, exc.message) from None
            table = self.tables[obj.name]
            if compiled.index_hint is not None:
                pool: list[dict[str, Any]] = table.candidates(*compiled.index_hint)
            else:
                pool = list(table.rows.values())
            if include_deleted:
                pool = pool + [dict(r, IsDeleted=True) for r in table.deleted]
            # Object reference, OauthToken, Special Access Rules: "Users with the Customize Application
            # permission see all tokens for all users in the org. Otherwise, you see only your own tokens."
            # Manage Users or Modify All Data alone do not widen it; the rows are absent, no error.
            if obj.name == "OauthToken" and "CustomizeApplication" not in self.permissions_of(user_id):
                mine = id_key(user_id)
                pool = [r for r in pool if id_key(r.get("UserId", "")) == mine]
            pred = compiled.predicate
            rows = [r for r in pool if pred(r)] if pred is not None else list(pool)
            if compiled.order:
                soql.sort_rows(rows, compiled.order, self.lookup)
            if compiled.offset:
                rows = rows[compiled.offset :]
            if compiled.limit is not None:
                rows = rows[: compiled.limit]
            if compiled.count == "COUNT()":
                return {"totalSize": len(rows), "done": True, "records": []}
            if compiled.count == "COUNT(field)":
                getter = soql.make_getter(compiled.count_path, self.lookup) if compiled.count_path else None
                n = sum(1 for r in rows if getter is None or getter(r) is not None)
                rec = {"attributes": {"type": "AggregateResult"}, "expr0": n}
                return self._page_shape(api, obj, 1, True, None, [rec], version)
            batch = _clamp_batch(batch_size)
            cap = None
            if obj.name == "OauthToken":
                batch = min(batch, OAUTHTOKEN_BATCH)
                cap = OAUTHTOKEN_TOTAL
            cursor = Cursor(
                id=self._cursor_id(),
                rows=rows,
                obj=obj,
                plan=_plan(compiled.select),
                batch=batch,
                served_cap=cap,
                api=api,
                total=len(rows),
            )
            return self._page(cursor, 0, version)

    def query_more(self, locator: str, *, api: str = "rest", version: str = "59.0") -> dict[str, Any]:
        with self.lock:
            cursor_id, _, offset_text = locator.rpartition("-")
            cursor = self.cursors.get(cursor_id)
            if cursor is None or not offset_text.isdigit() or cursor.api != api:
                raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            return self._page(cursor, int(offset_text), version)

    def _cursor_id(self) -> str:
        self._token_seq += 1
        return make_id("01g", self.pod, self._token_seq)[:15]

    def _page(self, cursor: Cursor, start: int, version: str) -> dict[str, Any]:
        end = min(start + cursor.batch, cursor.total)
        if cursor.served_cap is not None:
            end = min(end, cursor.served_cap)
        records = [self.render(cursor.obj, row, cursor.plan, version) for row in cursor.rows[start:end]]
        done = end >= cursor.total or (cursor.served_cap is not None and end >= cursor.served_cap)
        locator = None
        if done:
            self.cursors.pop(cursor.id, None)
        else:
            self.cursors[cursor.id] = cursor
            while len(self.cursors) > MAX_CURSORS:
                self.cursors.pop(next(iter(self.cursors)))
            locator = f"{cursor.id}-{end}"
        return self._page_shape(cursor.api, cursor.obj, cursor.total, done, locator, records, version)

    @staticmethod
    def _page_shape(
        api: str, obj: ObjectDef, total: int, done: bool, locator: str | None, records: list[Any], version: str
    ) -> dict[str, Any]:
        prefix = f"/services/data/v{version}/" + ("tooling/query/" if api == "tooling" else "query/")
        out: dict[str, Any] = {}
        if api == "tooling":
            out["size"] = total
        out["totalSize"] = total
        out["done"] = done
        if locator is not None:
            out["nextRecordsUrl"] = prefix + locator
        if api == "tooling":
            out["queryLocator"] = locator
            out["entityTypeName"] = obj.name
        out["records"] = records
        return out

    # ------------------------------------------------------------ rendering

    def _attributes(self, obj: ObjectDef, row: dict[str, Any], version: str) -> dict[str, Any]:
        attrs: dict[str, Any] = {"type": obj.name}
        if not obj.id_null and row.get("Id"):
            attrs["url"] = f"/services/data/v{version}/sobjects/{obj.name}/{row['Id']}"
        return attrs

    def format_value(self, obj: ObjectDef, fd: FieldDef, row: dict[str, Any], version: str) -> Any:
        if fd.name == "Id" and obj.id_null:
            return None
        v = row.get(fd.name)
        if fd.type == "base64":
            if (obj.name, row.get("Id", ""), fd.name) in self.blobs:
                return f"/services/data/v{version}/sobjects/{obj.name}/{row['Id']}/{fd.name}"
            return None
        if v is None:
            if fd.type == "boolean":
                return False
            return None
        if isinstance(v, datetime):
            return format_datetime(v)
        if isinstance(v, date):
            return v.isoformat()
        if fd.type == "double" and isinstance(v, int) and not isinstance(v, bool):
            return float(v)
        return v

    def render(self, obj: ObjectDef, row: dict[str, Any], plan: list[Any], version: str) -> dict[str, Any]:
        rec: dict[str, Any] = {"attributes": self._attributes(obj, row, version)}
        for entry in plan:
            if entry[0] == "field":
                fd = entry[1]
                rec[fd.name] = self.format_value(obj, fd, row, version)
            else:
                _, relname, ref, target, sub = entry
                ref_id = row.get(ref.name)
                child = self.lookup(target.name, ref_id) if ref_id else None
                rec[relname] = self.render(target, child, sub, version) if child is not None else None
        return rec

    def render_full(self, obj: ObjectDef, row: dict[str, Any], version: str, only: list[str] | None = None) -> dict:
        fields = [obj.fields[n] for n in obj.fields] if only is None else [f for n in only if (f := obj.field(n))]
        return self.render(obj, row, [("field", fd) for fd in fields], version)

    # ------------------------------------------------------------ describe

    def describe(self, sobject: str, *, user_id: str, api: str = "rest", version: str = "59.0") -> dict[str, Any]:
        with self.lock:
            obj = self._sobject(sobject, api, user_id)
            fields = []
            for fd in obj.fields.values():
                fields.append(
                    {
                        "name": fd.name,
                        "label": _label(fd.name),
                        "type": DESCRIBE_TYPES[fd.type],
                        "filterable": fd.filterable,
                        "sortable": fd.type not in ("textarea", "base64"),
                        "groupable": fd.type not in ("textarea", "base64", "double", "datetime"),
                        "updateable": fd.updateable,
                        "createable": fd.createable,
                        "nillable": fd.nillable,
                        "custom": fd.name.endswith("__c"),
                        "referenceTo": [fd.reference_to] if fd.reference_to else [],
                        "relationshipName": fd.relationship,
                        "length": 255 if fd.type in ("string", "picklist", "url", "email", "phone") else 0,
                    }
                )
            out = self._object_summary(obj, version)
            out.update({"fields": fields, "childRelationships": [], "recordTypeInfos": []})
            return out

    def _object_summary(self, obj: ObjectDef, version: str) -> dict[str, Any]:
        base = f"/services/data/v{version}/sobjects/{obj.name}"
        return {
            "name": obj.name,
            "label": obj.label,
            "labelPlural": obj.label + "s",
            "keyPrefix": obj.prefix,
            "custom": False,
            "queryable": True,
            "retrieveable": not obj.id_null,
            "searchable": False,
            "createable": obj.createable,
            "updateable": obj.updateable,
            "deletable": obj.deletable,
            "urls": {"sobject": base, "describe": base + "/describe", "rowTemplate": base + "/{ID}"},
        }

    def global_describe(self, *, user_id: str, api: str = "rest", version: str = "59.0") -> dict[str, Any]:
        with self.lock:
            objs = [o for o in self.schema.objects.values() if api in o.apis and self._visible(o, user_id)]
            return {
                "encoding": "UTF-8",
                "maxBatchSize": 200,
                "sobjects": [self._object_summary(o, version) for o in objs],
            }

    def _sobject(self, name: str, api: str, user_id: str) -> ObjectDef:
        obj = self.schema.get(name)
        if obj is None or api not in obj.apis or not self._visible(obj, user_id):
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return obj

    # ------------------------------------------------------------ records

    def retrieve(
        self,
        sobject: str,
        record_id: str,
        *,
        user_id: str,
        api: str = "rest",
        version: str = "59.0",
        fields: list[str] | None = None,
    ) -> dict[str, Any]:
        with self.lock:
            self.lapse_assignments()
            obj = self._sobject(sobject, api, user_id)
            row = self.tables[obj.name].get(record_id)
            if row is None:
                raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
            if fields:
                bad = [f for f in fields if obj.field(f) is None]
                if bad:
                    raise ApiError(400, "INVALID_FIELD", f"No such column '{bad[0]}' on sobject of type {obj.name}")
            return self.render_full(obj, row, version, fields)

    def blob(self, sobject: str, record_id: str, fieldname: str, *, user_id: str, api: str = "rest") -> bytes:
        with self.lock:
            obj = self._sobject(sobject, api, user_id)
            row = self.tables[obj.name].get(record_id)
            if row is None:
                raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
            data = self.blobs.get((obj.name, row["Id"], _canonical_blob(obj, fieldname)))
            if data is None:
                raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
            return data

    def _coerce(self, obj: ObjectDef, fd: FieldDef, value: Any) -> Any:
        if value is None:
            return None
        t = fd.type
        ok = True
        if t == "boolean":
            ok = isinstance(value, bool)
        elif t in ("int", "double"):
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        elif t == "datetime":
            try:
                return soql._parse_dt(str(value))
            except ValueError:
                ok = False
        elif t == "date":
            try:
                return date.fromisoformat(str(value))
            except ValueError:
                ok = False
        elif t in ("id", "reference"):
            if not isinstance(value, str):
                ok = False
            else:
                return to18(value) if len(value) == 15 else value
        else:
            ok = isinstance(value, str)
        if not ok:
            raise ApiError(
                400,
                "JSON_PARSER_ERROR",
                f"Cannot deserialize instance of {DESCRIBE_TYPES[t]} from {type(value).__name__} value {value!r} "
                f"or request may be missing a required field",
            )
        return value

    def _check_fields(self, obj: ObjectDef, data: dict[str, Any], mode: str) -> dict[str, Any]:
        out = {}
        bad = []
        for name, value in data.items():
            if name == "attributes":
                continue
            fd = obj.field(name)
            if fd is None:
                raise ApiError(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}")
            allowed = fd.updateable if mode == "update" else fd.createable
            if not allowed:
                bad.append(fd.name)
                continue
            out[fd.name] = self._coerce(obj, fd, value)
        if bad:
            raise ApiError(
                400,
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(bad)}. Please check the security settings of this "
                "field and verify that it is read/write for your profile or permission set.",
                bad,
            )
        return out

    def update(self, sobject: str, record_id: str, data: dict[str, Any], *, user_id: str, api: str = "rest") -> None:
        with self.lock:
            obj = self._sobject(sobject, api, user_id)
            if not obj.updateable:
                raise ApiError(405, "METHOD_NOT_ALLOWED", "HTTP Method 'PATCH' not allowed. Allowed are GET,HEAD")
            table = self.tables[obj.name]
            key = table.key_of(record_id)
            if key is None:
                raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
            self._require(user_id, obj.dml_requires, f"update {obj.name}")
            changes = self._check_fields(obj, data, "update")
            if obj.name == "UserLogin" and changes.get("IsPasswordLocked") is True:
                raise ApiError(
                    400, "FIELD_INTEGRITY_EXCEPTION", "IsPasswordLocked can only be set to false", ["IsPasswordLocked"]
                )
            if "LastModifiedDate" in obj.fields:
                changes["LastModifiedDate"] = self.now()
                if "LastModifiedById" in obj.fields:
                    changes["LastModifiedById"] = user_id
            if "SystemModstamp" in obj.fields:
                changes["SystemModstamp"] = self.now()
            table.update(key, changes)
            row = table.rows[key]
            if obj.name == "User" and changes.get("IsActive") is False:
                for auth in self.find("AuthSession", UsersId=row["Id"]):
                    self._kill_auth_session(auth["Id"])
            if obj.name in ("PermissionSetAssignment", "PermissionSet", "User"):
                self._perm_cache.clear()
            if obj.name == "PermissionSetAssignment" and "ExpirationDate" in changes:
                self._track_expiry(row)
            if obj.name == "UserLogin" and "IsFrozen" in changes:
                user = self.lookup("User", row.get("UserId", "")) or {}
                frozen = bool(changes["IsFrozen"])
                self._audit(
                    "frozeuser" if frozen else "unfrozeuser",
                    f"{'Froze' if frozen else 'Unfroze'} user {user.get('Username', row.get('UserId'))}",
                    user_id,
                )

    def create(self, sobject: str, data: dict[str, Any], *, user_id: str, api: str = "rest") -> str:
        with self.lock:
            obj = self._sobject(sobject, api, user_id)
            if not obj.createable:
                raise ApiError(405, "METHOD_NOT_ALLOWED", "HTTP Method 'POST' not allowed. Allowed are GET,HEAD")
            self._require(user_id, obj.dml_requires, f"create {obj.name}")
            fields = self._check_fields(obj, data, "create")
            if obj.name == "PermissionSetAssignment":
                self.lapse_assignments()  # a lapsed assignment no longer blocks a new one
                if fields.get("PermissionSetGroupId") and not fields.get("PermissionSetId"):
                    fields["PermissionSetId"] = self._group_set(fields["PermissionSetGroupId"])
                missing = [f for f in ("AssigneeId", "PermissionSetId") if not fields.get(f)]
                if missing:
                    raise ApiError(
                        400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
                    )
                if self.lookup("User", fields["AssigneeId"]) is None:
                    raise ApiError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["AssigneeId"])
                ps = self.lookup("PermissionSet", fields["PermissionSetId"])
                if ps is None or ps.get("IsOwnedByProfile"):
                    raise ApiError(
                        400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["PermissionSetId"]
                    )
                for existing in self.find("PermissionSetAssignment", AssigneeId=fields["AssigneeId"]):
                    if id_key(existing["PermissionSetId"]) == id_key(fields["PermissionSetId"]):
                        raise ApiError(
                            400,
                            "DUPLICATE_VALUE",
                            f"Duplicate PermissionSetAssignment. Assignee: {fields['AssigneeId']}, "
                            f"PermissionSet: {fields['PermissionSetId']}",
                        )
                fields["IsActive"] = True
            if "CreatedById" in obj.fields:
                fields["CreatedById"] = user_id
                fields["LastModifiedById"] = user_id
            row = self.insert(obj.name, fields)
            if obj.name == "PermissionSetAssignment":
                self._assignment_audit("PermSetAssign", "assigned to", row, user_id)
            return row["Id"]

    def _group_set(self, group_id: str) -> str:
        """The aggregate permission set of a permission set group (an assignment of the group points at it)."""
        group = self.lookup("PermissionSetGroup", group_id)
        aggregate = self.find("PermissionSet", PermissionSetGroupId=group["Id"]) if group else []
        if not aggregate:
            raise ApiError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["PermissionSetGroupId"])
        return str(aggregate[0]["Id"])

    def delete(self, sobject: str, record_id: str, *, user_id: str, api: str = "rest") -> None:
        with self.lock:
            obj = self._sobject(sobject, api, user_id)
            if not obj.deletable:
                raise ApiError(405, "METHOD_NOT_ALLOWED", "HTTP Method 'DELETE' not allowed. Allowed are GET,HEAD")
            table = self.tables[obj.name]
            key = table.key_of(record_id)
            if key is None:
                raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
            self._require(user_id, obj.dml_requires, f"delete {obj.name}")
            row = table.rows[key]
            if obj.name == "PermissionSetAssignment":
                ps = self.lookup("PermissionSet", row.get("PermissionSetId", ""))
                if ps is not None and ps.get("IsOwnedByProfile"):
                    raise ApiError(
                        400,
                        "INVALID_CROSS_REFERENCE_KEY",
                        "You can't remove a permission set assignment that is owned by a profile. Change the "
                        "user's profile instead.",
                    )
            if obj.name == "AuthSession":
                self._kill_auth_session(row["Id"])
            else:
                table.delete(key)
            if obj.name == "PermissionSetAssignment":
                self._perm_cache.clear()
                self._expiring.pop(row["Id"], None)
                self._assignment_audit("PermSetUnassign", "unassigned from", row, user_id)

    # password resource (User/{id}/password)
    def password_reset(self, user_id_target: str, *, user_id: str, new_password: str | None) -> str | None:
        with self.lock:
            perms = self.permissions_of(user_id)
            if not perms & {"ResetPasswords", "ManageUsers", "ModifyAllData"}:
                raise ApiError(
                    403,
                    "INSUFFICIENT_ACCESS",
                    "insufficient access rights: the 'Reset User Passwords and Unlock Users' permission is required",
                )
            user = self.lookup("User", user_id_target)
            if user is None:
                raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
            generated = new_password or secrets.token_urlsafe(9)
            token = self.user_secrets.get(user["Id"], ("", ""))[1]
            self.user_secrets[user["Id"]] = (generated, token)
            return None if new_password else generated

    # ------------------------------------------------------------ identity

    def userinfo(self, session: Session) -> dict[str, Any]:
        with self.lock:
            user = self.lookup("User", session.user_id) or {}
            return {
                "sub": f"{self.base_url}/id/{self.org.id}/{session.user_id}",
                "user_id": session.user_id,
                "organization_id": self.org.id,
                "preferred_username": user.get("Username"),
                "name": user.get("Name"),
                "email": user.get("Email"),
                "user_type": "STANDARD",
                "active": bool(user.get("IsActive")),
                "urls": {"rest": f"{self.base_url}/services/data/v{{version}}/"},
            }

    def delete_token_for(self, seed: str, n: int) -> str:
        """Deterministic DeleteToken values, so a seed reproduces the same org."""
        digest = hashlib.blake2b(f"{self.org.id}:{seed}:{n}".encode(), digest_size=24).digest()
        return base64.b64encode(digest).decode().replace("+", "A").replace("/", "B").rstrip("=")


_PERMISSION_LABELS = {
    "ManageUsers": "Manage Users",
    "AssignPermissionSets": "Assign Permission Sets",
    "CustomizeApplication": "Customize Application",
    "ViewSetup": "View Setup and Configuration",
    "ViewEventLogFiles": "View Event Log Files",
    "ModifyAllData": "Modify All Data",
    "ViewAllData": "View All Data",
    "ApiEnabled": "API Enabled",
}


def _label(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and not name[i - 1].isupper():
            out.append(" ")
        out.append(ch)
    return "".join(out).replace(" Id", " ID")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str) and len(a) in (15, 18) and len(b) in (15, 18):
        return id_key(a) == id_key(b) or a == b
    return a == b


def _clamp_batch(batch_size: int | None) -> int:
    if batch_size is None:
        return BATCH_DEFAULT
    return max(BATCH_MIN, min(BATCH_DEFAULT, batch_size))


def _canonical_blob(obj: ObjectDef, fieldname: str) -> str:
    fd = obj.field(fieldname)
    if fd is not None:
        return fd.name
    return "Body" if fieldname.lower() == "body" else fieldname


def _plan(select: list[soql.ResolvedPath]) -> list[Any]:
    """Group selected paths into a tree so each relationship renders once, in select order."""
    root: list[Any] = []
    for rp in select:
        level = root
        for i, ref in enumerate(rp.refs):
            relname = rp.names[i]
            entry = next((e for e in level if e[0] == "rel" and e[1] == relname), None)
            if entry is None:
                entry = ("rel", relname, ref, rp.objects[i + 1], [])
                level.append(entry)
            level = entry[4]
        if not any(e[0] == "field" and e[1].name == rp.leaf.name for e in level):
            level.append(("field", rp.leaf))
    return root


__all__ = [
    "ApiError",
    "AppAuth",
    "LoginFault",
    "OAuthError",
    "Org",
    "Session",
    "Store",
    "format_datetime",
]
