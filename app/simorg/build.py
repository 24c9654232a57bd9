"""Turn a validated seed into a populated `Store`: cross-checks, deterministic Ids, generated bulk, injects.

Generation is seeded (`[generate] seed`), so the same seed file always yields the same org, Ids and
DeleteTokens; tests and exercise scoring can rely on that.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import random
import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from app.base.clock import Clock, parse_instant
from app.simorg.ids import make_id, to18
from app.simorg.schema import STANDARD_PERMISSIONS, ObjectDef, Schema, build_schema
from app.simorg.seed import Fragment, LoadedSeed, Seed, SeedError, dotted
from app.simorg.store import AppAuth, Org, Store

_COMMON = [
    "EVENT_TYPE",
    "TIMESTAMP",
    "REQUEST_ID",
    "ORGANIZATION_ID",
    "USER_ID",
    "RUN_TIME",
    "CPU_TIME",
    "URI",
    "SESSION_KEY",
    "LOGIN_KEY",
    "USER_TYPE",
    "REQUEST_STATUS",
    "DB_TOTAL_TIME",
]
_TAIL = ["TIMESTAMP_DERIVED", "USER_ID_DERIVED", "CLIENT_IP", "URI_ID_DERIVED"]
# Column sets of the event types a hunt reads (modelled on the EventLogFile reference; check a real org's
# LogFileFieldNames before relying on a column that is not here).
ELF_FIELDS: dict[str, list[str]] = {
    "API": [
        *_COMMON,
        "API_TYPE",
        "API_VERSION",
        "CLIENT_NAME",
        "METHOD_NAME",
        "ENTITY_NAME",
        "ROWS_PROCESSED",
        "REQUEST_SIZE",
        "RESPONSE_SIZE",
        "CONNECTED_APP_ID",
        *_TAIL,
    ],
    "RestApi": [
        *_COMMON,
        "ENTITY_NAME",
        "METHOD",
        "MEDIA_TYPE",
        "STATUS_CODE",
        "USER_AGENT",
        "ROWS_PROCESSED",
        "NUMBER_FIELDS",
        "REQUEST_SIZE",
        "RESPONSE_SIZE",
        "CONNECTED_APP_ID",
        "API_FAMILY",
        "API_VERSION",
        *_TAIL,
    ],
    "BulkApi": [
        *_COMMON,
        "JOB_ID",
        "BATCH_ID",
        "ENTITY_TYPE",
        "OPERATION_TYPE",
        "ROWS_PROCESSED",
        "NUMBER_FAILURES",
        "USER_AGENT",
        *_TAIL,
    ],
    "BulkApi2": [
        *_COMMON,
        "JOB_ID",
        "OPERATION_TYPE",
        "ENTITY_TYPE",
        "JOB_STATE",
        "ROWS_PROCESSED",
        "NUMBER_FAILURES",
        "USER_AGENT",
        "CONNECTED_APP_ID",
        "API_VERSION",
        *_TAIL,
    ],
    "Report": [
        *_COMMON,
        "REPORT_ID",
        "ROW_COUNT",
        "NUMBER_COLUMNS",
        "ENTITY_NAME",
        "DISPLAY_TYPE",
        "RENDERING_TYPE",
        *_TAIL,
    ],
    "ReportExport": [
        "EVENT_TYPE",
        "TIMESTAMP",
        "REQUEST_ID",
        "ORGANIZATION_ID",
        "USER_ID",
        "CLIENT_INFO",
        "REPORT_DESCRIPTION",
        "SESSION_KEY",
        "LOGIN_KEY",
        *_TAIL,
    ],
    "URI": [*_COMMON, "REFERRER_URI", "USER_AGENT", *_TAIL],
    "Login": [
        "EVENT_TYPE",
        "TIMESTAMP",
        "REQUEST_ID",
        "ORGANIZATION_ID",
        "USER_ID",
        "RUN_TIME",
        "CPU_TIME",
        "URI",
        "SESSION_KEY",
        "LOGIN_KEY",
        "USER_NAME",
        "BROWSER_TYPE",
        "API_TYPE",
        "API_VERSION",
        "LOGIN_STATUS",
        "SOURCE_IP",
        "TLS_PROTOCOL",
        "CIPHER_SUITE",
        "USER_TYPE",
        "USER_AGENT",
        *_TAIL,
    ],
    "LoginAs": [
        "EVENT_TYPE",
        "TIMESTAMP",
        "REQUEST_ID",
        "ORGANIZATION_ID",
        "USER_ID",
        "DELEGATED_USER_ID",
        "DELEGATED_USER_NAME",
        "SESSION_KEY",
        "LOGIN_KEY",
        *_TAIL,
    ],
    "Logout": [
        "EVENT_TYPE",
        "TIMESTAMP",
        "REQUEST_ID",
        "ORGANIZATION_ID",
        "USER_ID",
        "SESSION_KEY",
        "LOGIN_KEY",
        "SESSION_TYPE",
        "USER_TYPE",
        "API_TYPE",
        "APP_TYPE",
        *_TAIL,
    ],
    "ApiTotalUsage": [
        "EVENT_TYPE",
        "TIMESTAMP",
        "REQUEST_ID",
        "ORGANIZATION_ID",
        "USER_ID",
        "API_FAMILY",
        "API_VERSION",
        "API_RESOURCE",
        "CLIENT_NAME",
        "CONNECTED_APP_ID",
        "ENTITY_NAME",
        "HTTP_METHOD",
        "STATUS_CODE",
        "COUNTS_AGAINST_API_LIMIT",
        "USER_AGENT",
        *_TAIL,
    ],
}
_NUMBER_COLUMNS = {
    "RUN_TIME",
    "CPU_TIME",
    "DB_TOTAL_TIME",
    "ROWS_PROCESSED",
    "REQUEST_SIZE",
    "RESPONSE_SIZE",
    "NUMBER_FIELDS",
    "ROW_COUNT",
    "NUMBER_COLUMNS",
    "NUMBER_FAILURES",
    "STATUS_CODE",
}
_ELF_FREE_TYPES = {"Login", "Logout", "ApiTotalUsage", "LoginAs"}
_PLACEHOLDER = re.compile(r"\{(user|username|app|org)(?::([A-Za-z0-9_.-]+))?\}")
BUSINESS_OBJECTS = ("Account", "Contact", "Case", "Opportunity", "EmailMessage", "ContentVersion")

Fail = Callable[[Sequence[str | int], str], Exception]


# ---------------------------------------------------------------- cross checks


def org_schema(seed: Seed) -> Schema:
    org = seed.organization
    perms = STANDARD_PERMISSIONS + tuple(p for p in org.extra_permissions if p not in STANDARD_PERMISSIONS)
    return build_schema(
        permissions=perms,
        custom_fields={
            obj: {name: _short(kind) for name, kind in fields.items()} for obj, fields in org.custom_fields.items()
        },
        event_monitoring=org.event_monitoring,
    )


def _short(kind: str) -> str:
    return {
        "string": "s",
        "textarea": "t",
        "boolean": "b",
        "int": "i",
        "double": "f",
        "datetime": "dt",
        "date": "d",
        "email": "email",
        "phone": "phone",
        "url": "url",
        "picklist": "p",
    }[kind]


def cross_check(loaded: LoadedSeed) -> None:
    """Reference and consistency checks pydantic cannot make; raises SeedError naming file, line, field."""
    seed = loaded.seed
    fail: Fail = loaded.error
    org = seed.organization
    for obj_name, fields in org.custom_fields.items():
        if obj_name not in BUSINESS_OBJECTS:
            raise fail(
                ("organization", "custom_fields", obj_name), f"custom fields only on {', '.join(BUSINESS_OBJECTS)}"
            )
        for name in fields:
            if not name.endswith("__c"):
                raise fail(("organization", "custom_fields", obj_name, name), "custom field names end in '__c'")
    schema = org_schema(seed)
    known = _keys_of(seed, fail)
    check_fragment(seed, known, fail, schema, seed.organization.event_monitoring)
    perms = set(STANDARD_PERMISSIONS) | set(org.extra_permissions)
    for section in ("profiles", "permission_sets"):
        for i, item in enumerate(getattr(seed, section)):
            for p in item.permissions:
                if p not in perms:
                    raise fail(
                        (section, i, "permissions"),
                        f"permission {p!r} is not in this org (add it to organization.extra_permissions)",
                    )
    gen = seed.generate
    if gen.user_profile is not None and gen.user_profile not in known["profiles"]:
        raise fail(("generate", "user_profile"), f"unknown profile key {gen.user_profile!r}")
    if gen.users and not seed.profiles:
        raise fail(("generate", "users"), "generated users need at least one profile")
    for j, key in enumerate(gen.token_apps):
        if key not in known["connected_apps"]:
            raise fail(("generate", "token_apps", j), f"unknown connected app key {key!r}")
    for j, key in enumerate(gen.assignment_permission_sets):
        if key not in known["permission_sets"]:
            raise fail(("generate", "assignment_permission_sets", j), f"unknown permission set key {key!r}")
    if gen.tokens and not (gen.token_apps or seed.connected_apps):
        raise fail(("generate", "tokens"), "generated tokens need a connected app")
    if gen.assignments and not (gen.assignment_permission_sets or seed.permission_sets):
        raise fail(("generate", "assignments"), "generated assignments need a permission set")
    if gen.assignments and not (gen.users or seed.users):
        raise fail(("generate", "assignments"), "generated assignments need users")
    if seed.truth is not None:
        t = seed.truth
        for j, key in enumerate(t.compromised_apps):
            if key not in known["connected_apps"]:
                raise fail(("truth", "compromised_apps", j), f"unknown connected app key {key!r}")
        for j, key in enumerate(t.benign_apps):
            if key not in known["connected_apps"]:
                raise fail(("truth", "benign_apps", j), f"unknown connected app key {key!r}")
        for j, key in enumerate(t.compromised_users):
            if key not in known["users"]:
                raise fail(("truth", "compromised_users", j), f"unknown user key {key!r}")
        for j, ex in enumerate(t.exfiltration):
            if ex.user not in known["users"]:
                raise fail(("truth", "exfiltration", j, "user"), f"unknown user key {ex.user!r}")
            if ex.app is not None and ex.app not in known["connected_apps"]:
                raise fail(("truth", "exfiltration", j, "app"), f"unknown connected app key {ex.app!r}")
            if schema.get(ex.object) is None:
                raise fail(("truth", "exfiltration", j, "object"), f"unknown sObject {ex.object!r}")


def _keys_of(frag: Fragment, fail: Fail, existing: dict[str, set[str]] | None = None) -> dict[str, set[str]]:
    known: dict[str, set[str]] = {k: set(v) for k, v in (existing or {}).items()}
    for section in ("profiles", "permission_sets", "users", "connected_apps", "debug_levels"):
        seen = known.setdefault(section, set())
        for i, item in enumerate(getattr(frag, section)):
            if item.key in seen:
                raise fail((section, i, "key"), f"duplicate key {item.key!r}")
            seen.add(item.key)
    return known


def check_fragment(frag: Fragment, known: dict[str, set[str]], fail: Fail, schema: Schema, licensed: bool) -> None:
    def ref(kind: str, loc: tuple[Any, ...], key: str | None, what: str) -> None:
        if key is not None and key not in known.get(kind, set()):
            raise fail(loc, f"unknown {what} key {key!r}")

    for i, u in enumerate(frag.users):
        ref("profiles", ("users", i, "profile"), u.profile, "profile")
        for j, ps in enumerate(u.permission_sets):
            ref("permission_sets", ("users", i, "permission_sets", j), ps, "permission set")
    for i, ps in enumerate(frag.permission_sets):
        ref("users", ("permission_sets", i, "created_by"), ps.created_by, "user")
    for i, app in enumerate(frag.connected_apps):
        ref("users", ("connected_apps", i, "run_as"), app.run_as, "user")
        if app.run_as and not (app.consumer_key and app.consumer_secret):
            raise fail(
                ("connected_apps", i, "run_as"), "a client-credentials user needs consumer_key and consumer_secret"
            )
        if app.jwt_public_key and not app.consumer_key:
            raise fail(("connected_apps", i, "jwt_public_key"), "a JWT certificate needs a consumer_key")
        if app.jwt_public_key:
            _check_public_key(app.jwt_public_key, ("connected_apps", i, "jwt_public_key"), fail)
    for i, t in enumerate(frag.oauth_tokens):
        if (t.app is None) == (t.app_name is None):
            raise fail(("oauth_tokens", i), "give exactly one of 'app' (a connected app key) or 'app_name'")
        ref("connected_apps", ("oauth_tokens", i, "app"), t.app, "connected app")
        ref("users", ("oauth_tokens", i, "user"), t.user, "user")
    for i, s in enumerate(frag.sessions):
        ref("users", ("sessions", i, "user"), s.user, "user")
        ref("connected_apps", ("sessions", i, "app"), s.app, "connected app")
    for i, tf in enumerate(frag.trace_flags):
        ref("users", ("trace_flags", i, "user"), tf.user, "user")
        ref("debug_levels", ("trace_flags", i, "debug_level"), tf.debug_level, "debug level")
        ref("users", ("trace_flags", i, "created_by"), tf.created_by, "user")
    for i, log in enumerate(frag.apex_logs):
        ref("users", ("apex_logs", i, "user"), log.user, "user")
        _check_placeholders(log.body, ("apex_logs", i, "body"), known, fail)
    for i, a in enumerate(frag.audit_trail):
        ref("users", ("audit_trail", i, "by"), a.by, "user")
        _check_placeholders(a.display, ("audit_trail", i, "display"), known, fail)
    for i, lh in enumerate(frag.login_history):
        ref("users", ("login_history", i, "user"), lh.user, "user")
        if lh.count > 1 and lh.repeat_hours is None:
            raise fail(("login_history", i, "count"), "several rows need repeat_hours (the spacing between them)")
    for i, elf in enumerate(frag.event_log_files):
        loc = ("event_log_files", i)
        if elf.fields is None and elf.event_type not in ELF_FIELDS:
            raise fail((*loc, "event_type"), f"unknown event type {elf.event_type!r}: give 'fields' for its columns")
        if not licensed and elf.event_type not in _ELF_FREE_TYPES:
            raise fail(
                (*loc, "event_type"),
                f"event type {elf.event_type!r} needs organization.event_monitoring = true "
                f"(without it only {', '.join(sorted(_ELF_FREE_TYPES))} exist)",
            )
        columns = set(elf.fields or ELF_FIELDS[elf.event_type])
        for j, row in enumerate(elf.rows):
            for name, value in row.items():
                if name == "user":
                    ref("users", (*loc, "rows", j, name), str(value), "user")
                elif name == "app":
                    ref("connected_apps", (*loc, "rows", j, name), str(value), "connected app")
                elif name == "at":
                    if _instant(value) is None:
                        raise fail((*loc, "rows", j, name), "'at' must be a date-time with a zone (…Z)")
                elif name not in columns:
                    raise fail((*loc, "rows", j, name), f"no column {name!r} in {elf.event_type} event log files")
                elif isinstance(value, str):
                    _check_placeholders(value, (*loc, "rows", j, name), known, fail)
    for section in ("api_events", "login_events", "report_events", "bulk_result_events"):
        items = getattr(frag, section)
        if items and not licensed:
            raise fail((section,), "real-time event objects need organization.event_monitoring = true")
        for i, ev in enumerate(items):
            ref("users", (section, i, "user"), ev.user, "user")
            if hasattr(ev, "app"):
                ref("connected_apps", (section, i, "app"), ev.app, "connected app")
    for section in ("field_permissions", "object_permissions"):
        for i, fp in enumerate(getattr(frag, section)):
            if (fp.permission_set is None) == (fp.profile is None):
                raise fail((section, i), "give exactly one of 'permission_set' or 'profile'")
            ref("permission_sets", (section, i, "permission_set"), fp.permission_set, "permission set")
            ref("profiles", (section, i, "profile"), fp.profile, "profile")
            obj = schema.get(fp.object)
            if obj is None or obj.name not in BUSINESS_OBJECTS:
                raise fail((section, i, "object"), f"unknown object {fp.object!r}")
            for j, name in enumerate(getattr(fp, "fields", [])):
                if obj.field(name) is None:
                    raise fail((section, i, "fields", j), f"no field {name!r} on {obj.name}")
    for i, fc in enumerate(frag.field_classifications):
        obj = schema.get(fc.object)
        if obj is None or obj.name not in BUSINESS_OBJECTS:
            raise fail(("field_classifications", i, "object"), f"unknown object {fc.object!r}")
        if obj.field(fc.field) is None:
            raise fail(("field_classifications", i, "field"), f"no field {fc.field!r} on {obj.name}")
    for i, rec in enumerate(frag.records):
        obj = schema.get(rec.sobject)
        if obj is None:
            raise fail(("records", i, "sobject"), f"unknown sObject {rec.sobject!r}")
        for name, value in rec.fields.items():
            if obj.field(name) is None:
                raise fail(("records", i, "fields", name), f"no field {name!r} on {obj.name}")
            if isinstance(value, str):
                _check_placeholders(value, ("records", i, "fields", name), known, fail)


def _check_placeholders(text: str, loc: tuple[Any, ...], known: dict[str, set[str]], fail: Fail) -> None:
    for m in _PLACEHOLDER.finditer(text):
        kind, key = m.group(1), m.group(2)
        if kind == "org":
            continue
        section = "connected_apps" if kind == "app" else "users"
        if key is None or key not in known.get(section, set()):
            raise fail(loc, f"placeholder {m.group(0)!r} names no known {section[:-1].replace('_', ' ')}")


def _check_public_key(pem: str, loc: tuple[Any, ...], fail: Fail) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    data = pem.encode()
    try:
        if b"CERTIFICATE" in data:
            x509.load_pem_x509_certificate(data)
        else:
            load_pem_public_key(data)
    except ValueError:
        raise fail(loc, "not a PEM certificate or public key") from None


def public_key_pem(pem: str) -> str:
    """PyJWT wants a public key; seeds may register the consumer's certificate instead."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    if "CERTIFICATE" not in pem:
        return pem
    cert = x509.load_pem_x509_certificate(pem.encode())
    return (
        cert.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


# ---------------------------------------------------------------- building


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
    sharing = {
        "Account": "None",
        "Contact": "ControlledByParent",
        "Opportunity": "None",
        "Lead": "None",
        "Case": "None",
        "Calendar": "HideDetailsInsert",
        "Pricebook": "ReadSelect",
    }
    sharing.update(org_seed.sharing)
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
    builder.metadata_rows()
    generate(store, seed, builder)
    return store


def apply_fragment(store: Store, frag: Fragment, origin: str = "inject") -> None:
    """Add a fragment's rows to a running org (tabletop injects); keys may name existing records."""

    def fail(loc: Sequence[str | int], message: str) -> Exception:
        return SeedError(f"{origin}: {dotted(loc)}: {message}")

    with store.lock:
        known = _keys_of(frag, fail, {k: set(v) for k, v in store.keys.items()})
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
            "users",
            "connected_apps",
            "app_menu_items",
            "debug_levels",
            "licenses",
        ):
            self.keys.setdefault(kind, {})

    def _id(self, kind: str, key: str | None) -> str | None:
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

        return _PLACEHOLDER.sub(sub, text)

    def _perm_flags(self, granted: Sequence[str]) -> dict[str, bool]:
        obj = self.store.schema.objects["PermissionSet"]
        names = [f[len("Permissions") :] for f in obj.fields if f.startswith("Permissions")]
        return {f"Permissions{p}": p in granted for p in names}

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
        for p in frag.permission_sets:
            row = s.insert(
                "PermissionSet",
                {
                    "Name": p.name,
                    "Label": p.label or p.name.replace("_", " "),
                    "Type": "Regular",
                    "IsOwnedByProfile": False,
                    "NamespacePrefix": p.namespace,
                    "Description": p.description,
                    "IsCustom": True,
                    "CreatedDate": p.created or self.now - timedelta(days=400),
                    **self._perm_flags(p.permissions),
                },
            )
            self.keys["permission_sets"][p.key] = row["Id"]
        for u in frag.users:
            self._user(u)
        for p in frag.permission_sets:  # creators are users, who are made after the sets they hold
            if p.created_by is not None:
                table = s.table("PermissionSet")
                key = table.key_of(self.keys["permission_sets"][p.key])
                if key is not None:
                    table.update(key, {"CreatedById": self.keys["users"][p.created_by]})
        for i, app in enumerate(frag.connected_apps):
            self._app(app, i)
        for i, t in enumerate(frag.oauth_tokens):
            self._tokens(t, i)
        for sess in frag.sessions:
            app_name = self._app_name(sess.app)
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
                    "CreatedById": self._id("users", tf.created_by),
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
        for lh in frag.login_history:
            for n in range(lh.count):
                at = lh.at + timedelta(hours=(lh.repeat_hours or 0) * n)
                s.insert(
                    "LoginHistory",
                    {
                        "UserId": self.keys["users"][lh.user],
                        "LoginTime": at,
                        "LoginType": lh.login_type,
                        "LoginSubType": lh.login_sub_type,
                        "SourceIp": lh.ip,
                        "Status": lh.status,
                        "Application": lh.application,
                        "Browser": lh.browser,
                        "Platform": lh.platform,
                        "ApiType": lh.api_type,
                        "ApiVersion": lh.api_version,
                        "ClientVersion": lh.client_version,
                        "CountryIso": lh.country,
                        "LoginUrl": lh.login_url or f"{s.org.my_domain}.my.salesforce.com",
                        "TlsProtocol": lh.tls,
                    },
                )
        for i, elf in enumerate(frag.event_log_files):
            self._elf(elf, i)
        for i, ev in enumerate(frag.api_events):
            s.insert(
                "ApiEvent",
                {
                    "EventDate": ev.at,
                    "EventIdentifier": self._event_id("api", ev.at, i),
                    "UserId": self.keys["users"][ev.user],
                    "Username": self._username(ev.user),
                    "SourceIp": ev.ip,
                    "Application": ev.application or self._app_name(ev.app),
                    "Client": ev.client,
                    "ConnectedAppId": self._id("connected_apps", ev.app),
                    "ApiType": ev.api_type,
                    "Operation": ev.operation,
                    "Query": ev.query,
                    "QueriedEntities": ev.entities,
                    "RowsProcessed": ev.rows,
                    "RowsReturned": ev.rows,
                    "UserAgent": ev.user_agent,
                    "SessionKey": ev.session_key,
                    "LoginKey": ev.login_key,
                    "ApiVersion": "58.0",
                },
            )
        for i, le in enumerate(frag.login_events):
            s.insert(
                "LoginEvent",
                {
                    "EventDate": le.at,
                    "EventIdentifier": self._event_id("login", le.at, i),
                    "UserId": self.keys["users"][le.user],
                    "Username": self._username(le.user),
                    "SourceIp": le.ip,
                    "Application": le.application,
                    "Browser": le.browser,
                    "Platform": le.platform,
                    "LoginType": le.login_type,
                    "LoginSubType": le.login_sub_type,
                    "Status": le.status,
                    "CountryIso": le.country,
                    "LoginUrl": le.login_url,
                    "UserAgent": le.user_agent,
                },
            )
        for i, re_ in enumerate(frag.report_events):
            s.insert(
                "ReportEvent",
                {
                    "EventDate": re_.at,
                    "EventIdentifier": self._event_id("report", re_.at, i),
                    "UserId": self.keys["users"][re_.user],
                    "Username": self._username(re_.user),
                    "SourceIp": re_.ip,
                    "Name": re_.report,
                    "Operation": re_.operation,
                    "RowsProcessed": re_.rows,
                    "QueriedEntities": re_.entities,
                    "ExportFileFormat": re_.format,
                },
            )
        for i, be in enumerate(frag.bulk_result_events):
            s.insert(
                "BulkApiResultEventStore",
                {
                    "EventDate": be.at,
                    "EventIdentifier": self._event_id("bulk", be.at, i),
                    "UserId": self.keys["users"][be.user],
                    "Username": self._username(be.user),
                    "SourceIp": be.ip,
                    "JobId": be.job_id,
                    "BatchId": be.batch_id,
                    "Query": be.query,
                    "RowsProcessed": be.rows,
                    "QueriedEntities": be.entities,
                    "UserAgent": be.user_agent,
                },
            )
        for fp in frag.field_permissions:
            parent = self._parent(fp.permission_set, fp.profile)
            for name in fp.fields:
                fd = s.schema.objects[_canon(s.schema, fp.object)].field(name)
                assert fd is not None
                s.insert(
                    "FieldPermissions",
                    {
                        "ParentId": parent,
                        "SobjectType": _canon(s.schema, fp.object),
                        "Field": f"{_canon(s.schema, fp.object)}.{fd.name}",
                        "PermissionsRead": fp.read,
                        "PermissionsEdit": fp.edit,
                        "CreatedDate": self.now - timedelta(days=180),
                    },
                )
        for op in frag.object_permissions:
            s.insert(
                "ObjectPermissions",
                {
                    "ParentId": self._parent(op.permission_set, op.profile),
                    "SobjectType": _canon(s.schema, op.object),
                    "PermissionsRead": op.read,
                    "PermissionsCreate": op.create,
                    "PermissionsEdit": op.edit,
                    "PermissionsDelete": op.delete,
                    "PermissionsViewAllRecords": op.view_all,
                    "PermissionsModifyAllRecords": op.modify_all,
                    "CreatedDate": self.now - timedelta(days=180),
                },
            )
        self.classifications.extend(frag.field_classifications)
        for rec in frag.records:
            self._record(rec.sobject, dict(rec.fields))

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
                "CreatedDate": row["CreatedDate"],
            },
        )
        for ps in u.permission_sets:
            s.insert(
                "PermissionSetAssignment",
                {
                    "AssigneeId": row["Id"],
                    "IsActive": True,
                    "PermissionSetId": self.keys["permission_sets"][ps],
                    "CreatedDate": row["CreatedDate"] + timedelta(days=1),
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
                run_as=self._id("users", app.run_as),
            )

    def _app_name(self, key: str | None) -> str | None:
        if key is None:
            return None
        row = self.store.lookup("ConnectedApplication", self.keys["connected_apps"][key])
        return row["Name"] if row else None

    def _username(self, key: str) -> str | None:
        row = self.store.lookup("User", self.keys["users"][key])
        return row.get("Username") if row else None

    def _tokens(self, t: Any, i: int) -> None:
        s = self.store
        name = t.app_name or self._app_name(t.app)
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

    def _parent(self, permission_set: str | None, profile: str | None) -> str:
        if permission_set is not None:
            return self.keys["permission_sets"][permission_set]
        return self.keys["profile_permission_sets"][profile or ""]

    def _event_id(self, kind: str, at: datetime, i: int) -> str:
        h = hashlib.blake2b(f"{self.store.org.id}:{kind}:{at.isoformat()}:{i}".encode(), digest_size=16).hexdigest()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"

    def _elf(self, elf: Any, i: int) -> None:
        s = self.store
        columns = list(elf.fields or ELF_FIELDS[elf.event_type])
        out = io.StringIO()
        writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(columns)
        for j, raw in enumerate(elf.rows):
            values: dict[str, Any] = {"EVENT_TYPE": elf.event_type, "ORGANIZATION_ID": s.org.id[:15]}
            values["REQUEST_ID"] = hashlib.blake2b(f"{s.org.id}:{i}:{j}".encode(), digest_size=8).hexdigest()
            for name, value in raw.items():
                if name == "at":
                    at = _instant(value)
                    assert at is not None  # cross-checked
                    values["TIMESTAMP"] = at.strftime("%Y%m%d%H%M%S.") + f"{at.microsecond // 1000:03d}"
                    values["TIMESTAMP_DERIVED"] = at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
                elif name == "user":
                    uid = self.keys["users"][str(value)]
                    values["USER_ID"] = uid[:15]
                    values["USER_ID_DERIVED"] = uid
                    values["USER_NAME"] = self._username(str(value))
                elif name == "app":
                    values["CONNECTED_APP_ID"] = self.keys["connected_apps"][str(value)][:15]
                else:
                    values[name] = self.expand(value) if isinstance(value, str) else value
            writer.writerow(["" if values.get(c) is None else _csv_value(values[c]) for c in columns])
        data = out.getvalue().encode("utf-8")
        types = ",".join(
            "Number"
            if c in _NUMBER_COLUMNS
            else "DateTime"
            if c == "TIMESTAMP_DERIVED"
            else "Id"
            if c.endswith("_ID") or c.endswith("_ID_DERIVED")
            else "String"
            for c in columns
        )
        log_day = (
            datetime(elf.log_date.year, elf.log_date.month, elf.log_date.day, tzinfo=UTC)
            if elf.interval == "Daily"
            else elf.log_date
        )
        row = s.insert(
            "EventLogFile",
            {
                "EventType": elf.event_type,
                "LogDate": log_day,
                "Interval": elf.interval,
                "Sequence": elf.sequence,
                "LogFileLength": float(len(data)),
                "LogFileFieldNames": ",".join(columns),
                "LogFileFieldTypes": types,
                "LogFileContentType": "CSV",
                "CreatedDate": log_day
                + (timedelta(days=1, hours=3) if elf.interval == "Daily" else timedelta(hours=4)),
            },
        )
        s.blobs[("EventLogFile", row["Id"], "LogFile")] = data

    def _record(self, sobject: str, fields: dict[str, Any]) -> dict[str, Any]:
        s = self.store
        obj = s.schema.get(sobject)
        assert obj is not None
        clean: dict[str, Any] = {}
        for name, value in fields.items():
            fd = obj.field(name)
            assert fd is not None
            if isinstance(value, str):
                value = self.expand(value)
                if fd.type == "datetime":
                    value = datetime.fromisoformat(value.replace("Z", "+00:00"))
                elif fd.type == "date":
                    value = date.fromisoformat(value)
            elif isinstance(value, datetime) and fd.type == "date":
                value = value.date()
            clean[fd.name] = value
        if obj.name == "Contact" and "Name" not in clean:
            clean["Name"] = " ".join(str(p) for p in (clean.get("FirstName"), clean.get("LastName")) if p)
        if obj.name == "Case" and "CaseNumber" not in clean:
            clean["CaseNumber"] = f"{s.count('Case') + 1:08d}"
        if "CreatedDate" in obj.fields and "CreatedDate" not in clean:
            clean["CreatedDate"] = self.now - timedelta(days=30)
        return s.insert(obj.name, clean)

    def metadata_rows(self) -> None:
        """EntityDefinition/FieldDefinition rows for the business objects, with any data classification."""
        s = self.store
        classes = {(_canon(s.schema, c.object), c.field.lower()): c for c in self.classifications}
        for name in BUSINESS_OBJECTS:
            obj = s.schema.objects[name]
            s.insert(
                "EntityDefinition",
                {"Id": name, "DurableId": name, "QualifiedApiName": name, "Label": obj.label, "IsCustomizable": True},
            )
            for fd in obj.fields.values():
                c = classes.get((name, fd.name.lower()))
                s.insert(
                    "FieldDefinition",
                    {
                        "DurableId": f"{name}.{fd.name}",
                        "QualifiedApiName": fd.name,
                        "EntityDefinitionId": name,
                        "Label": fd.name,
                        "DataType": fd.type,
                        "SecurityClassification": c.classification if c else None,
                        "ComplianceGroup": c.compliance if c else None,
                        "BusinessStatus": c.status if c else None,
                    },
                )


def _instant(value: Any) -> datetime | None:
    """An aware UTC datetime from a TOML date-time or (JSON seeds, injects) an ISO 8601 string with a zone."""
    if isinstance(value, str):
        try:
            value = parse_instant(value)
        except ValueError:
            return None
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    return None


def _canon(schema: Schema, name: str) -> str:
    obj: ObjectDef | None = schema.get(name)
    return obj.name if obj else name


def _csv_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return str(v)


# ---------------------------------------------------------------- generated bulk

_FIRST = [
    "Ana",
    "Ben",
    "Chen",
    "Dana",
    "Eli",
    "Fatima",
    "Gus",
    "Hana",
    "Ivan",
    "Jo",
    "Kai",
    "Lena",
    "Mo",
    "Nia",
    "Omar",
    "Pia",
    "Quinn",
    "Ravi",
    "Sara",
    "Tom",
    "Uma",
    "Vic",
    "Wen",
    "Yara",
    "Zed",
]
_LAST = [
    "Abbott",
    "Baker",
    "Costa",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Huang",
    "Ito",
    "Jensen",
    "Khan",
    "Lopez",
    "Meyer",
    "Nakamura",
    "Okafor",
    "Patel",
    "Quist",
    "Rossi",
    "Smith",
    "Tanaka",
    "Ueda",
    "Varga",
    "Wright",
]
_COMPANY = [
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Initech",
    "Umbrella",
    "Globex",
    "Soylent",
    "Hooli",
    "Vandelay",
    "Wayne",
    "Stark",
    "Tyrell",
    "Cyberdyne",
    "Acme",
    "Wonka",
    "Gringotts",
    "Oscorp",
    "Massive Dynamic",
]
_SUFFIX = ["Ltd", "GmbH", "Inc", "LLC", "SA", "BV", "plc", "Group", "Holdings", "Labs"]
_INDUSTRY = ["Technology", "Finance", "Healthcare", "Retail", "Manufacturing", "Education", "Energy", "Media"]
_CASE_SUBJECT = [
    "Cannot log in",
    "Invoice question",
    "Feature request",
    "Integration error",
    "Data export help",
    "Password reset",
    "Billing address change",
    "API limit reached",
    "Sync delayed",
    "Bug report",
]
_STAGES = ["Prospecting", "Qualification", "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost"]
_COUNTRIES = ["US", "DE", "FR", "GB", "NL", "JP", "BR", "CA", "AU", "IN"]


def generate(store: Store, seed: Seed, builder: _Builder) -> None:
    """Add the `[generate]` bulk deterministically; rows carry only the fields they need (memory)."""
    gen = seed.generate
    if not any(
        (
            gen.users,
            gen.tokens,
            gen.assignments,
            gen.accounts,
            gen.contacts,
            gen.cases,
            gen.opportunities,
            gen.login_history,
        )
    ):
        return
    rng = random.Random(gen.seed)
    now = seed.organization.now
    start = gen.start or now - timedelta(days=90)
    span = max(1, int((now - start).total_seconds()))
    # A pool of shared timestamps keeps 100k rows from holding 100k datetime objects.
    pool = sorted(start + timedelta(seconds=rng.randrange(span)) for _ in range(4096))
    keys = builder.keys
    s = store
    profile_key = gen.user_profile or seed.profiles[0].key
    profile_id = keys["profiles"][profile_key]
    profile_ps = keys["profile_permission_sets"][profile_key]
    user_ids: list[str] = []
    domain = gen.email_domain
    rand = rng.random
    npool = len(pool)

    def pick(n: int) -> int:  # random.randrange is ten times slower, and 100k rows call it often
        return int(rand() * n)

    users, logins, psas = s.tables["User"], s.tables["UserLogin"], s.tables["PermissionSetAssignment"]
    with s.lock:
        for n in range(gen.users):
            first, last = _FIRST[pick(len(_FIRST))], _LAST[pick(len(_LAST))]
            username = f"{first.lower()}.{last.lower()}{n:05d}@{domain}"
            created = pool[pick(npool // 2)]
            user_id = s.new_id("User")
            users.insert(
                {
                    "Id": user_id,
                    "Username": username,
                    "FirstName": first,
                    "LastName": last,
                    "Name": f"{first} {last}",
                    "Email": username,
                    "UserType": "Standard",
                    "IsActive": rand() > 0.05,
                    "ProfileId": profile_id,
                    "CreatedDate": created,
                    "LastModifiedDate": created,
                    "LastLoginDate": pool[npool // 2 + pick(npool - npool // 2)],
                }
            )
            user_ids.append(user_id)
            logins.insert(
                {
                    "Id": s.new_id("UserLogin"),
                    "UserId": user_id,
                    "IsFrozen": False,
                    "IsPasswordLocked": False,
                    "LastModifiedDate": created,
                }
            )
            psas.insert(
                {
                    "Id": s.new_id("PermissionSetAssignment"),
                    "AssigneeId": user_id,
                    "PermissionSetId": profile_ps,
                    "IsActive": True,
                    "CreatedDate": created,
                }
            )
    holders = user_ids or list(keys["users"].values())
    nholders = len(holders)
    if gen.tokens:
        app_keys = gen.token_apps or [a.key for a in seed.connected_apps]
        apps = [(builder._app_name(k), keys["app_menu_items"].get(k)) for k in app_keys]
        table = s.tables["OauthToken"]
        bits = rng.getrandbits
        with s.lock:
            for _ in range(gen.tokens):
                name, menu = apps[pick(len(apps))]
                i = pick(npool)
                row = {
                    "AppName": name,
                    "UserId": holders[pick(nholders)],
                    "CreatedDate": pool[i],
                    "LastUsedDate": pool[i + pick(npool - i)],
                    "UseCount": 1 + pick(4999),
                    "DeleteToken": base64.urlsafe_b64encode(bits(192).to_bytes(24, "big")).decode(),
                }
                if menu:
                    row["AppMenuItemId"] = menu
                table.insert(row)
    if gen.assignments:
        ps_keys = gen.assignment_permission_sets or [p.key for p in seed.permission_sets]
        ps_ids = [keys["permission_sets"][k] for k in ps_keys]
        have = {(r["AssigneeId"], r["PermissionSetId"]) for r in psas.rows.values()}
        nps = len(ps_ids)
        total = nholders * nps
        target = min(gen.assignments, total)
        # Distinct (user, permission set) pairs, sampled without replacement so a dense target stays linear.
        order = rng.sample(range(total), min(total, target + len(have)))
        made = 0
        with s.lock:
            for i in order:
                if made >= target:
                    break
                pair = (holders[i // nps], ps_ids[i % nps])
                if pair in have:
                    continue
                psas.insert(
                    {
                        "Id": s.new_id("PermissionSetAssignment"),
                        "AssigneeId": pair[0],
                        "PermissionSetId": pair[1],
                        "IsActive": True,
                        "CreatedDate": pool[pick(npool)],
                    }
                )
                made += 1
            s._perm_cache.clear()
    owners = list(keys["users"].values())[:20] or holders
    account_ids: list[str] = []
    for n in range(gen.accounts):
        name = f"{rng.choice(_COMPANY)} {rng.choice(_SUFFIX)} {n:05d}"
        row = s.insert(
            "Account",
            {
                "Name": name,
                "Industry": rng.choice(_INDUSTRY),
                "Type": "Customer",
                "AnnualRevenue": float(rng.randrange(1, 500) * 100_000),
                "Phone": f"+1 555 {rng.randrange(100, 999)} {rng.randrange(1000, 9999)}",
                "BillingCountry": rng.choice(_COUNTRIES),
                "OwnerId": rng.choice(owners),
                "CreatedDate": pool[rng.randrange(len(pool))],
            },
        )
        account_ids.append(row["Id"])
    contact_ids: list[str] = []
    for n in range(gen.contacts):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        row = s.insert(
            "Contact",
            {
                "AccountId": account_ids[rng.randrange(len(account_ids))] if account_ids else None,
                "FirstName": first,
                "LastName": last,
                "Name": f"{first} {last}",
                "Email": f"{first.lower()}.{last.lower()}{n}@customer.example",
                "Phone": f"+1 555 {rng.randrange(100, 999)} {rng.randrange(1000, 9999)}",
                "MailingCountry": rng.choice(_COUNTRIES),
                "OwnerId": rng.choice(owners),
                "CreatedDate": pool[rng.randrange(len(pool))],
            },
        )
        contact_ids.append(row["Id"])
    case_base = s.count("Case")
    for n in range(gen.cases):
        subject = rng.choice(_CASE_SUBJECT)
        s.insert(
            "Case",
            {
                "CaseNumber": f"{case_base + n + 1:08d}",
                "Subject": subject,
                "Description": f"Customer reports: {subject.lower()}. Ticket {n}.",
                "Status": rng.choice(["New", "Working", "Escalated", "Closed"]),
                "Priority": rng.choice(["Low", "Medium", "High"]),
                "Origin": rng.choice(["Web", "Email", "Phone", "Chat"]),
                "AccountId": account_ids[rng.randrange(len(account_ids))] if account_ids else None,
                "ContactId": contact_ids[rng.randrange(len(contact_ids))] if contact_ids else None,
                "OwnerId": rng.choice(owners),
                "CreatedDate": pool[rng.randrange(len(pool))],
            },
        )
    for n in range(gen.opportunities):
        s.insert(
            "Opportunity",
            {
                "Name": f"Opportunity {n:05d}",
                "AccountId": account_ids[rng.randrange(len(account_ids))] if account_ids else None,
                "Amount": float(rng.randrange(5, 900) * 1000),
                "StageName": rng.choice(_STAGES),
                "CloseDate": (now + timedelta(days=rng.randrange(-200, 200))).date(),
                "OwnerId": rng.choice(owners),
                "CreatedDate": pool[rng.randrange(len(pool))],
            },
        )
    for _ in range(gen.login_history):
        s.insert(
            "LoginHistory",
            {
                "UserId": holders[rng.randrange(len(holders))],
                "LoginTime": pool[rng.randrange(len(pool))],
                "LoginType": "Application",
                "SourceIp": f"198.51.100.{rng.randrange(1, 255)}",
                "Status": "Success",
                "Application": "Browser",
                "Browser": "Chrome 138",
                "Platform": "Mac OSX",
                "CountryIso": "US",
                "LoginUrl": f"{s.org.my_domain}.my.salesforce.com",
                "TlsProtocol": "TLS 1.3",
            },
        )
