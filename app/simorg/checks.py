"""Seed cross-checks pydantic cannot make: references between sections, placeholders, documented columns.

Every failure names the file, the line (TOML seeds) and the field path, through the `fail` callback.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from app.base.sfschema import salesforce_schema
from app.base.tomlfile import did_you_mean
from app.simorg.activity import instant
from app.simorg.eventlogs import free_types, log_type
from app.simorg.schema import BUSINESS_OBJECTS, STANDARD_PERMISSIONS, Schema, build_schema, is_data_object
from app.simorg.seed import Fragment, LoadedSeed, Seed

PLACEHOLDER = re.compile(r"\{(user|username|app|org)(?::([A-Za-z0-9_.-]+))?\}")
Fail = Callable[[Sequence[str | int], str], Exception]


def unknown(what: str, key: str, keys: Iterable[str]) -> str:
    """`unknown user key 'alic' (did you mean 'alice'?)`: a seed key that names nothing of its kind."""
    return f"unknown {what} key {key!r}" + did_you_mean(key, keys)


def org_schema(seed: Seed) -> Schema:
    """The org's schema: the documented objects, its feature-gated permissions, absent fields, custom fields."""
    org = seed.organization
    return build_schema(
        permissions=org.extra_permissions,
        custom_fields={obj: dict(fields) for obj, fields in org.custom_fields.items()},
        custom_objects={obj: dict(fields) for obj, fields in org.custom_objects.items()},
        event_monitoring=org.event_monitoring,
        absent_fields=org.absent_fields,
    )


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
    standard = {o.lower() for o in salesforce_schema().objects}
    for obj_name, fields in org.custom_objects.items():
        # Object Reference, "Custom Object__c": a custom object's API name is its name followed by "__c".
        if not obj_name.endswith("__c") or obj_name.lower() in standard:
            raise fail(("organization", "custom_objects", obj_name), "custom object names end in '__c'")
        for name in fields:
            if not name.endswith("__c"):
                raise fail(("organization", "custom_objects", obj_name, name), "custom field names end in '__c'")
    schema = org_schema(seed)
    known = keys_of(seed, fail)
    check_fragment(seed, known, fail, schema, seed.organization.event_monitoring)
    perms = set(STANDARD_PERMISSIONS) | set(org.extra_permissions)
    absent = {f.split(".", 1)[1][len("Permissions") :] for f in org.absent_fields if ".Permissions" in f}
    for section in ("profiles", "permission_sets"):
        for i, item in enumerate(getattr(seed, section)):
            for p in item.permissions:
                if p not in perms or p in absent:
                    raise fail(
                        (section, i, "permissions"),
                        f"permission {p!r} is not in this org (add it to organization.extra_permissions)",
                    )
    gen = seed.generate
    if gen.inactive_users is not None and gen.inactive_users > gen.users:
        raise fail(("generate", "inactive_users"), f"more than the {gen.users} generated users")
    if gen.user_profile is not None and gen.user_profile not in known["profiles"]:
        raise fail(("generate", "user_profile"), unknown("profile", gen.user_profile, known["profiles"]))
    if gen.users and not seed.profiles:
        raise fail(("generate", "users"), "generated users need at least one profile")
    for j, key in enumerate(gen.token_apps):
        if key not in known["connected_apps"]:
            raise fail(("generate", "token_apps", j), unknown("connected app", key, known["connected_apps"]))
    for j, key in enumerate(gen.assignment_permission_sets):
        if key not in known["permission_sets"]:
            raise fail(
                ("generate", "assignment_permission_sets", j), unknown("permission set", key, known["permission_sets"])
            )
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
                raise fail(("truth", "compromised_apps", j), unknown("connected app", key, known["connected_apps"]))
        for j, key in enumerate(t.benign_apps):
            if key not in known["connected_apps"]:
                raise fail(("truth", "benign_apps", j), unknown("connected app", key, known["connected_apps"]))
        for j, key in enumerate(t.compromised_users):
            if key not in known["users"]:
                raise fail(("truth", "compromised_users", j), unknown("user", key, known["users"]))
        for j, ex in enumerate(t.exfiltration):
            if ex.user not in known["users"]:
                raise fail(("truth", "exfiltration", j, "user"), unknown("user", ex.user, known["users"]))
            if ex.app is not None and ex.app not in known["connected_apps"]:
                raise fail(
                    ("truth", "exfiltration", j, "app"), unknown("connected app", ex.app, known["connected_apps"])
                )
            if schema.get(ex.object) is None:
                raise fail(("truth", "exfiltration", j, "object"), f"unknown sObject {ex.object!r}")


def keys_of(frag: Fragment, fail: Fail, existing: dict[str, set[str]] | None = None) -> dict[str, set[str]]:
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
            raise fail(loc, unknown(what, key, known.get(kind, set())))

    for i, u in enumerate(frag.users):
        ref("profiles", ("users", i, "profile"), u.profile, "profile")
        for j, ps in enumerate(u.permission_sets):
            ref("permission_sets", ("users", i, "permission_sets", j), ps, "permission set")
    for i, pset in enumerate(frag.permission_sets):
        ref("users", ("permission_sets", i, "created_by"), pset.created_by, "user")
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
        spec = log_type(elf.event_type)
        if spec is None:
            raise fail((*loc, "event_type"), f"undocumented event type {elf.event_type!r}")
        if not licensed and not spec.free:
            raise fail(
                (*loc, "event_type"),
                f"event type {elf.event_type!r} needs organization.event_monitoring = true "
                f"(without it only {', '.join(free_types())} exist)",
            )
        columns = set(spec.columns)
        for j, row in enumerate(elf.rows):
            for name, value in row.items():
                if name == "user":
                    ref("users", (*loc, "rows", j, name), str(value), "user")
                elif name == "app":
                    if "CONNECTED_APP_ID" not in columns:
                        raise fail((*loc, "rows", j, name), f"{elf.event_type} event log files name no connected app")
                    ref("connected_apps", (*loc, "rows", j, name), str(value), "connected app")
                elif name == "at":
                    if instant(value) is None:
                        raise fail((*loc, "rows", j, name), "'at' must be a date-time with a zone (…Z)")
                elif name not in columns:
                    raise fail(
                        (*loc, "rows", j, name),
                        f"no column {name!r} in {elf.event_type} event log files "
                        f"(documented: {', '.join(spec.columns)})",
                    )
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
            if obj is None or not is_data_object(obj):
                raise fail((section, i, "object"), f"unknown object {fp.object!r}")
            for j, name in enumerate(getattr(fp, "fields", [])):
                if obj.field(name) is None:
                    raise fail((section, i, "fields", j), f"no field {name!r} on {obj.name}")
    for i, fc in enumerate(frag.field_classifications):
        obj = schema.get(fc.object)
        if obj is None or not is_data_object(obj):
            raise fail(("field_classifications", i, "object"), f"unknown object {fc.object!r}")
        if obj.field(fc.field) is None:
            raise fail(("field_classifications", i, "field"), f"no field {fc.field!r} on {obj.name}")
    for i, rec in enumerate(frag.records):
        obj = schema.get(rec.sobject)
        if obj is None:
            raise fail(("records", i, "sobject"), f"unknown sObject {rec.sobject!r}")
        for name, field_value in rec.fields.items():
            if obj.field(name) is None:
                raise fail(("records", i, "fields", name), f"no field {name!r} on {obj.name}")
            if isinstance(field_value, str):
                _check_placeholders(field_value, ("records", i, "fields", name), known, fail)


def _check_placeholders(text: str, loc: tuple[Any, ...], known: dict[str, set[str]], fail: Fail) -> None:
    for m in PLACEHOLDER.finditer(text):
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
