"""Turn a validated seed into a populated `Store`: deterministic Ids, users, apps and configuration, injects.

Generation is seeded (`[generate] seed`), so the same seed file always yields the same org, Ids and
DeleteTokens; tests and exercise scoring can rely on that. Cross-checks live in `checks.py`, activity rows
(logs, events, records) in `activity.py`, generated bulk in `generate.py`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from app.base.clock import Clock
from app.simorg.activity import apply_activity, metadata_rows
from app.simorg.checks import PLACEHOLDER, Fail, check_fragment, cross_check, keys_of, org_schema, public_key_pem
from app.simorg.generate import generate
from app.simorg.ids import make_id, to18
from app.simorg.seed import Fragment, LoadedSeed, Seed, SeedError, dotted
from app.simorg.store import AppAuth, Org, Store

__all__ = ["apply_fragment", "build_store", "cross_check", "org_id_for", "org_schema"]


def org_id_for(seed: Seed) -> str:
    given = seed.organization.id
    if given:
        return to18(given)
    digest = int.from_bytes(hashlib.blake2b(seed.organization.name.encode(), digest_size=6).digest(), "big")
    return make_id("00D", "5e0", digest % (62**9))


def build_store(loaded: LoadedSeed, clock: Clock, *, pod: str = "5e0") -> Store:
    seed = loaded.seed
    org_seed = seed.organization
    schema = org_schema(seed)
    org = Org(
        id=org_id_for(seed),
        name=org_seed.name,
        edition=org_seed.edition,
        my_domain=org_seed.my_domain,
        event_monitoring=org_seed.event_monitoring,
        api_limit=org_seed.api_limit,
    )
    store = Store(schema, org, clock, pod=pod)
    sharing: dict[str, str] = {
        "Account": "None",
        "Contact": "ControlledByParent",
        "Opportunity": "None",
        "Lead": "None",
        "Case": "None",
        "Calendar": "HideDetailsInsert",
        "Pricebook": "ReadSelect",
    }
    sharing.update(org_seed.sharing.items())
    org_row = {
        "Id": org.id,
        "Name": org.name,
        "OrganizationType": org.edition,
        "IsSandbox": False,
        "InstanceName": org_seed.instance,
        "CreatedDate": org_seed.now - timedelta(days=2000),
    }
    org_row.update({f"Default{k}Access": v for k, v in sharing.items()})
    store.insert("Organization", org_row)
    builder = _Builder(store, seed.organization.now, loaded.error)
    builder.licenses(seed)
    builder.apply(seed)
    metadata_rows(builder)
    generate(store, seed, builder)
    return store


def apply_fragment(store: Store, frag: Fragment, origin: str = "inject") -> None:
    """Add a fragment's rows to a running org (tabletop injects); keys may name existing records."""

    def fail(loc: Sequence[str | int], message: str) -> Exception:
        return SeedError(f"{origin}: {dotted(loc)}: {message}")

    with store.lock:
        known = keys_of(frag, fail, {k: set(v) for k, v in store.keys.items()})
        check_fragment(frag, known, fail, store.schema, store.org.event_monitoring)
        builder = _Builder(store, store.now(), fail)
        builder.licenses(frag)
        builder.apply(frag)


class _Builder:
    def __init__(self, store: Store, now: datetime, fail: Fail) -> None:
        self.store = store
        self.now = now
        self.fail = fail
        self.keys = store.keys
        self.classifications: list[Any] = []
        for kind in (
            "profiles",
            "profile_permission_sets",
            "permission_sets",
            "permission_set_groups",
            "users",
            "connected_apps",
            "app_menu_items",
            "debug_levels",
            "licenses",
        ):
            self.keys.setdefault(kind, {})

    def id_of(self, kind: str, key: str | None) -> str | None:
        return None if key is None else self.keys[kind][key]

    def expand(self, text: str) -> str:
        def sub(m: re.Match[str]) -> str:
            kind, key = m.group(1), m.group(2)
            if kind == "org":
                return self.store.org.id
            if kind == "app":
                return self.keys["connected_apps"][key or ""]
            user_id = self.keys["users"][key or ""]
            if kind == "user":
                return user_id
            row = self.store.lookup("User", user_id)
            return str(row.get("Username")) if row else ""

        return PLACEHOLDER.sub(sub, text)

    def _perm_flags(self, granted: Sequence[str]) -> dict[str, bool]:
        obj = self.store.schema.objects["PermissionSet"]
        names = [f[len("Permissions") :] for f in obj.fields if f.startswith("Permissions")]
        return {f"Permissions{p}": p in granted for p in names}

    def _group(self, group: Any) -> None:
        s = self.store
        row = s.insert(
            "PermissionSetGroup",
            {"DeveloperName": group.name, "MasterLabel": group.label or group.name.replace("_", " "),
             "Description": group.description, "CreatedDate": self.now - timedelta(days=300)},
        )  # fmt: skip
        granted: set[str] = set()
        for key in group.permission_sets:
            member = s.lookup("PermissionSet", self.keys["permission_sets"][key]) or {}
            granted |= {f[len("Permissions") :] for f, on in member.items() if f.startswith("Permissions") and on}
        s.insert(
            "PermissionSet",
            {"Name": f"{group.name}_Group", "Label": row["MasterLabel"], "Type": "Group", "IsOwnedByProfile": False,
             "PermissionSetGroupId": row["Id"], "IsCustom": False, "CreatedDate": row["CreatedDate"],
             **self._perm_flags(sorted(granted))},
        )  # fmt: skip
        self.keys["permission_set_groups"][group.key] = row["Id"]

    def licenses(self, frag: Fragment) -> None:
        for p in frag.profiles:
            if p.license not in self.keys["licenses"]:
                row = self.store.insert(
                    "UserLicense",
                    {
                        "Name": p.license,
                        "LicenseDefinitionKey": re.sub(r"[^A-Z0-9]+", "_", p.license.upper()).strip("_"),
                        "Status": "Active",
                        "TotalLicenses": 1000,
                        "UsedLicenses": 0,
                        "CreatedDate": self.now - timedelta(days=2000),
                    },
                )
                self.keys["licenses"][p.license] = row["Id"]

    def apply(self, frag: Fragment) -> None:
        s = self.store
        for p in frag.profiles:
            flags = self._perm_flags(p.permissions)
            created = self.now - timedelta(days=1500)
            prof = s.insert(
                "Profile",
                {
                    "Name": p.name,
                    "UserLicenseId": self.keys["licenses"][p.license],
                    "UserType": p.user_type,
                    "Description": p.description,
                    "CreatedDate": created,
                    **flags,
                },
            )
            ps = s.insert(
                "PermissionSet",
                {
                    "Name": "X" + prof["Id"][:15],
                    "Label": p.name,
                    "Type": "Profile",
                    "IsOwnedByProfile": True,
                    "ProfileId": prof["Id"],
                    "IsCustom": False,
                    "LicenseId": self.keys["licenses"][p.license],
                    "CreatedDate": created,
                    **flags,
                },
            )
            self.keys["profiles"][p.key] = prof["Id"]
            self.keys["profile_permission_sets"][p.key] = ps["Id"]
        for pset in frag.permission_sets:
            row = s.insert(
                "PermissionSet",
                {
                    "Name": pset.name,
                    "Label": pset.label or pset.name.replace("_", " "),
                    "Type": "Regular",
                    "IsOwnedByProfile": False,
                    "NamespacePrefix": pset.namespace,
                    "Description": pset.description,
                    "IsCustom": True,
                    "CreatedDate": pset.created or self.now - timedelta(days=400),
                    **self._perm_flags(pset.permissions),
                },
            )
            self.keys["permission_sets"][pset.key] = row["Id"]
        for group in frag.permission_set_groups:
            self._group(group)
        for u in frag.users:
            self._user(u)
        for pset in frag.permission_sets:  # creators are users, who are made after the sets they hold
            if pset.created_by is not None:
                table = s.table("PermissionSet")
                key = table.key_of(self.keys["permission_sets"][pset.key])
                if key is not None:
                    table.update(key, {"CreatedById": self.keys["users"][pset.created_by]})
        for i, app in enumerate(frag.connected_apps):
            self._app(app, i)
        for i, t in enumerate(frag.oauth_tokens):
            self._tokens(t, i)
        for sess in frag.sessions:
            app_name = self.app_name(sess.app)
            s.insert(
                "AuthSession",
                {
                    "UsersId": self.keys["users"][sess.user],
                    "CreatedDate": sess.created,
                    "LastModifiedDate": sess.created,
                    "NumSecondsValid": sess.seconds_valid,
                    "SessionType": sess.session_type,
                    "LoginType": sess.login_type,
                    "SourceIp": sess.source_ip,
                    "UserType": "Standard",
                    "SessionSecurityLevel": "STANDARD",
                    "IsCurrent": False,
                    "_app": app_name,
                },
            )
        for pkg in frag.packages:
            self._package(pkg)
        for nc in frag.named_credentials:
            s.insert(
                "NamedCredential",
                {
                    "DeveloperName": nc.developer_name,
                    "MasterLabel": nc.label,
                    "Endpoint": nc.endpoint,
                    "PrincipalType": nc.principal_type,
                    "NamespacePrefix": nc.namespace,
                    "CalloutOptionsAllowMergeFieldsInHeader": nc.allow_merge_fields_in_header,
                    "CalloutOptionsAllowMergeFieldsInBody": nc.allow_merge_fields_in_body,
                    "CalloutOptionsGenerateAuthorizationHeader": nc.generate_auth_header,
                    "CreatedDate": self.now - timedelta(days=300),
                },
            )
        for ec in frag.external_credentials:
            s.insert(
                "ExternalCredential",
                {
                    "DeveloperName": ec.developer_name,
                    "MasterLabel": ec.label,
                    "AuthenticationProtocol": ec.protocol,
                    "CreatedDate": self.now - timedelta(days=300),
                },
            )
        for ds in frag.external_data_sources:
            s.insert(
                "ExternalDataSource",
                {
                    "DeveloperName": ds.developer_name,
                    "MasterLabel": ds.label,
                    "Type": ds.type,
                    "Endpoint": ds.endpoint,
                    "PrincipalType": ds.principal_type,
                    "Protocol": ds.protocol,
                    "IsWritable": ds.writable,
                    "Repository": ds.repository,
                    "NamespacePrefix": ds.namespace,
                    "CreatedDate": self.now - timedelta(days=250),
                },
            )
        for rs in frag.remote_sites:
            s.insert(
                "RemoteProxy",
                {
                    "SiteName": rs.name,
                    "EndpointUrl": rs.url,
                    "IsActive": rs.active,
                    "Description": rs.description,
                    "NamespacePrefix": rs.namespace,
                    "DisableProtocolSecurity": rs.disable_protocol_security,
                    "ProtocolMismatch": rs.url.lower().startswith("http://"),
                    "CreatedDate": self.now - timedelta(days=200),
                },
            )
        for dl in frag.debug_levels:
            row = s.insert(
                "DebugLevel",
                {
                    "DeveloperName": dl.name,
                    "MasterLabel": dl.name,
                    "ApexCode": dl.apex_code,
                    "Callout": dl.callout,
                    "Database": dl.database,
                    "System": dl.system,
                    "Validation": dl.validation,
                    "Visualforce": dl.visualforce,
                    "Workflow": dl.workflow,
                    "ApexProfiling": "INFO",
                    "CreatedDate": self.now - timedelta(days=120),
                },
            )
            self.keys["debug_levels"][dl.key] = row["Id"]
        for tf in frag.trace_flags:
            s.insert(
                "TraceFlag",
                {
                    "TracedEntityId": self.keys["users"][tf.user],
                    "LogType": tf.log_type,
                    "DebugLevelId": self.keys["debug_levels"][tf.debug_level],
                    "StartDate": tf.start,
                    "ExpirationDate": tf.expires,
                    "CreatedDate": tf.start,
                    "CreatedById": self.id_of("users", tf.created_by),
                },
            )
        for log in frag.apex_logs:
            body = self.expand(log.body).encode("utf-8")
            row = s.insert(
                "ApexLog",
                {
                    "LogUserId": self.keys["users"][log.user],
                    "LogLength": len(body),
                    "Operation": log.operation,
                    "Request": log.request,
                    "Status": log.status,
                    "StartTime": log.start,
                    "Application": log.application,
                    "Location": log.location,
                    "DurationMilliseconds": log.duration_ms,
                    "LastModifiedDate": log.start,
                    "SystemModstamp": log.start,
                },
            )
            s.blobs[("ApexLog", row["Id"], "Body")] = body
        for a in frag.audit_trail:
            s.insert(
                "SetupAuditTrail",
                {
                    "Action": a.action,
                    "Section": a.section,
                    "Display": self.expand(a.display),
                    "CreatedDate": a.at,
                    "CreatedById": self.keys["users"][a.by],
                    "DelegateUser": a.delegate_user,
                    "CreatedByContext": a.context,
                    "ResponsibleNamespacePrefix": a.namespace,
                },
            )
        apply_activity(self, frag)

    # -- pieces

    def _user(self, u: Any) -> None:
        s = self.store
        first = u.first_name
        row = s.insert(
            "User",
            {
                "Username": u.username,
                "FirstName": first,
                "LastName": u.last_name,
                "Name": f"{first} {u.last_name}" if first else u.last_name,
                "Email": u.email or u.username,
                "Alias": (((first or "")[:1]) + u.last_name)[:8].lower(),
                "UserType": u.user_type,
                "IsActive": u.active,
                "ProfileId": self.keys["profiles"][u.profile],
                "Title": u.title,
                "Department": u.department,
                "CompanyName": u.company,
                "Phone": u.phone,
                "CreatedDate": u.created or self.now - timedelta(days=365),
                "LastLoginDate": u.last_login,
                "TimeZoneSidKey": "America/Los_Angeles",
                "LocaleSidKey": "en_US",
                "LanguageLocaleKey": "en_US",
                "EmailEncodingKey": "UTF-8",
            },
        )
        self.keys["users"][u.key] = row["Id"]
        if u.password is not None:
            s.user_secrets[row["Id"]] = (u.password, u.security_token)
        s.insert(
            "UserLogin",
            {
                "UserId": row["Id"],
                "IsFrozen": u.frozen,
                "IsPasswordLocked": False,
                "LastModifiedDate": row["CreatedDate"],
            },
        )
        s.insert(
            "PermissionSetAssignment",
            {
                "AssigneeId": row["Id"],
                "IsActive": True,
                "PermissionSetId": self.keys["profile_permission_sets"][u.profile],
                "SystemModstamp": row["CreatedDate"],
            },
        )
        for ps in u.permission_sets:
            s.insert(
                "PermissionSetAssignment",
                {
                    "AssigneeId": row["Id"],
                    "IsActive": True,
                    "PermissionSetId": self.keys["permission_sets"][ps],
                    "SystemModstamp": row["CreatedDate"] + timedelta(days=1),
                },
            )

    def _app(self, app: Any, i: int) -> None:
        s = self.store
        created = app.created or self.now - timedelta(days=500)
        row = s.insert(
            "ConnectedApplication",
            {
                "Name": app.name,
                "OptionsAllowAdminApprovedUsersOnly": app.admin_approved_only,
                "OptionsRefreshTokenValidityMetric": app.refresh_token_validity_days is not None,
                "RefreshTokenValidityPeriod": app.refresh_token_validity_days,
                "OptionsHasSessionLevelPolicy": app.session_policy,
                "StartUrl": app.start_url,
                "CreatedDate": created,
                "OptionsIsInternal": False,
            },
        )
        self.keys["connected_apps"][app.key] = row["Id"]
        if app.installed:
            item = s.insert(
                "AppMenuItem",
                {
                    "Name": re.sub(r"\W+", "_", app.name),
                    "Label": app.name,
                    "ApplicationId": row["Id"],
                    "Type": "ConnectedApplication",
                    "NamespacePrefix": app.namespace,
                    "IsAccessible": True,
                    "IsVisible": True,
                    "StartUrl": app.start_url,
                    "Description": app.description,
                    "CreatedDate": created,
                },
            )
            self.keys["app_menu_items"][app.key] = item["Id"]
        if app.consumer_key:
            s.apps[app.consumer_key] = AppAuth(
                app_id=row["Id"],
                name=app.name,
                consumer_key=app.consumer_key,
                consumer_secret=app.consumer_secret,
                public_key_pem=public_key_pem(app.jwt_public_key) if app.jwt_public_key else None,
                run_as=self.id_of("users", app.run_as),
            )

    def app_name(self, key: str | None) -> str | None:
        if key is None:
            return None
        row = self.store.lookup("ConnectedApplication", self.keys["connected_apps"][key])
        return row["Name"] if row else None

    def username(self, key: str) -> str | None:
        row = self.store.lookup("User", self.keys["users"][key])
        return row.get("Username") if row else None

    def _tokens(self, t: Any, i: int) -> None:
        s = self.store
        name = t.app_name or self.app_name(t.app)
        menu = self.keys["app_menu_items"].get(t.app) if t.app else None
        for n in range(t.count):
            seq = s.count("OauthToken") + len(s.tables["OauthToken"].deleted)
            s.insert(
                "OauthToken",
                {
                    "AppName": name,
                    "AppMenuItemId": menu,
                    "UserId": self.keys["users"][t.user],
                    "CreatedDate": t.created + timedelta(minutes=n),
                    "LastUsedDate": t.last_used,
                    "UseCount": t.use_count,
                    "DeleteToken": s.delete_token_for("seed", seq),
                },
            )

    def _package(self, pkg: Any) -> None:
        s = self.store
        major, minor, patch, build = (int(x) for x in pkg.version.split("."))
        sp = s.insert(
            "SubscriberPackage",
            {
                "Name": pkg.name,
                "NamespacePrefix": pkg.namespace,
                "Description": pkg.description,
                "IsPackageValid": True,
            },
        )
        spv = s.insert(
            "SubscriberPackageVersion",
            {
                "Name": pkg.version_name,
                "SubscriberPackageId": sp["Id"],
                "MajorVersion": major,
                "MinorVersion": minor,
                "PatchVersion": patch,
                "BuildNumber": build,
                "IsSecurityReviewed": pkg.security_reviewed,
                "IsManaged": pkg.managed,
                "IsBeta": pkg.release_state == "Beta",
                "ReleaseState": pkg.release_state,
                "PublisherName": pkg.publisher,
            },
        )
        s.insert(
            "InstalledSubscriberPackage", {"SubscriberPackageId": sp["Id"], "SubscriberPackageVersionId": spv["Id"]}
        )

    def parent_of(self, permission_set: str | None, profile: str | None) -> str:
        if permission_set is not None:
            return self.keys["permission_sets"][permission_set]
        return self.keys["profile_permission_sets"][profile or ""]
