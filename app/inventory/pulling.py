"""Pulling a snapshot through the Salesforce adapter: what is read, in which order, and how the OauthToken
query cap is worked around by partitioning on the token holders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.inventory.access import held_permission_sets, touched_users
from app.inventory.mapping import DEBUG_LOG_MAX_BYTES, OBJECTS, SHARING_FIELDS, _Obj, scan_body
from app.inventory.models import (
    FORMAT,
    FORMAT_VERSION,
    DebugLog,
    FieldClassification,
    OAuthToken,
    Organization,
    Snapshot,
    Source,
    User,
)
from app.inventory.query import Progress, _chunks, _first_line, _Puller, _quote, _record_builder

OAUTH_TOKEN_CAP = 2500  # rows one OauthToken query can return in total (queryMore included)
LOGIN_LIMIT = 50_000
AUDIT_LIMIT = 5_000
DEBUG_LOG_LIMIT = 200
CLASSIFIED_OBJECTS = ("Account", "Contact", "Lead", "Case", "Opportunity")
SUPPORT_PROFILE_WORDS = ("support", "service", "agent", "helpdesk", "help desk", "call center", "contact center")


def _pull_organization(p: _Puller) -> Organization | None:
    have = p.fields("Organization")
    if have is None:
        return None
    wanted = ["Id", "Name", "OrganizationType", "IsSandbox", *SHARING_FIELDS]
    paths = [f for f in wanted if f in have]
    rows = p.query(_Obj("Organization", "", Organization, ()), f"SELECT {', '.join(paths)} FROM Organization")
    rec = next(iter(rows or ()), None)
    if rec is None:
        return None
    return Organization(
        id=str(rec.get("Id")),
        name=rec.get("Name"),
        edition=rec.get("OrganizationType"),
        is_sandbox=rec.get("IsSandbox"),
        sharing_defaults={obj: rec[f] for f, obj in SHARING_FIELDS.items() if rec.get(f)},
    )


def _note_token_visibility(p: _Puller) -> None:
    """Salesforce lists other users' OAuth tokens only to a login with Customize Application (object reference,
    OauthToken, Special Access Rules); without it the rows are silently absent. Such a pull is partial, and
    the snapshot says so instead of passing a short or empty list off as the org's tokens."""
    from app.salesforce import access
    from app.salesforce.client import OrgError

    if not hasattr(p.org, "identity"):
        return
    try:
        check = access.read_effective(p.org, p.org.identity().user_id).check(["see_all_tokens"])[0]
    except OrgError as exc:
        p.note(
            "OauthToken",
            "partial",
            f"the login's permissions could not be read ({_first_line(exc)}): whether it sees every user's "
            "tokens (Customize Application) is unknown, so the token list may be partial",
        )
        return
    if check.state != "present":
        how = "lacks" if check.state == "missing" else "could not be shown to have"
        p.note(
            "OauthToken",
            "partial",
            f"this login {how} Customize Application: Salesforce lists only its own OAuth tokens, so the "
            "tokens of every other user are missing from this snapshot (pull again with a login that has it)",
        )


def _pull_tokens(p: _Puller, user_ids: list[str]) -> list[OAuthToken] | None:
    """OauthToken returns at most 2,500 rows per query in total: partition by UserId when the cap is hit."""
    from app.salesforce.client import OrgError

    obj = OBJECTS["OauthToken"]
    total: int | None = None
    if hasattr(p.org, "count") and p.fields(obj.sobject) is not None:
        try:
            total = p.org.count("OauthToken")
        except OrgError as exc:
            if not p._soft(obj.sobject, exc):
                raise
            return None
    if total is None or total < OAUTH_TOKEN_CAP:
        first = p.collect(obj)
        if first is None or (len(first) < OAUTH_TOKEN_CAP and not p.truncated()):
            return first
        total = len(first)
    p.say(f"  OauthToken: {total} tokens, more than one query returns ({OAUTH_TOKEN_CAP}); partitioning by user")
    tokens: dict[str, OAuthToken] = {}
    stack = list(reversed(list(_chunks(user_ids))))
    done = 0
    while stack:
        chunk = stack.pop()
        where = "UserId IN (" + ", ".join(_quote(u) for u in chunk) + ")"
        rows = p.collect(obj, where=where) or []
        if len(rows) >= OAUTH_TOKEN_CAP or p.truncated():
            if len(chunk) > 1:
                half = len(chunk) // 2
                stack += [chunk[half:], chunk[:half]]
                continue
            p.note(
                "OauthToken",
                "partial",
                f"user {chunk[0]} holds more than {OAUTH_TOKEN_CAP} tokens; only {len(rows)} could be listed",
            )
        for t in rows:
            tokens[t.ref] = t
        done += len(chunk)
        if done % 2000 < len(chunk):
            p.say(f"  OauthToken: {len(tokens)} tokens for {done}/{len(user_ids)} users")
    return list(tokens.values())


def _pull_debug_logs(p: _Puller, limit: int) -> list[DebugLog] | None:
    logs = p.collect(OBJECTS["ApexLog"], tail=f"ORDER BY StartTime DESC LIMIT {limit}")
    if not logs:
        return logs
    from app.salesforce.client import OrgError, RecordNotFound

    for i, log in enumerate(logs):
        if log.length is not None and log.length > DEBUG_LOG_MAX_BYTES:
            continue
        try:
            body = p.org.download(f"sobjects/ApexLog/{log.id}/Body")
        except RecordNotFound:
            continue  # deleted since it was listed
        except OrgError as exc:
            if p._soft("ApexLog", exc):
                break
            raise
        log.body_scanned = True
        log.hits = scan_body(body[:DEBUG_LOG_MAX_BYTES] if isinstance(body, bytes) else str(body).encode())
        if (i + 1) % 50 == 0:
            p.say(f"  ApexLog: {i + 1}/{len(logs)} bodies scanned")
    return logs


def _in_chunks(p: _Puller, obj: _Obj, field_name: str, ids: list[str]) -> list[Any] | None:
    out: list[Any] = []
    for chunk in _chunks(ids):
        rows = p.collect(obj, where=f"{field_name} IN (" + ", ".join(_quote(i) for i in chunk) + ")")
        if rows is None:
            return None
        out.extend(rows)
    return out


def pull(
    org: Any,
    progress: Progress | None = None,
    *,
    alias: str | None = None,
    taken_utc: str | None = None,
    login_limit: int = LOGIN_LIMIT,
    audit_limit: int = AUDIT_LIMIT,
    debug_log_limit: int = DEBUG_LOG_LIMIT,
    touch: Sequence[str] = (),
) -> Snapshot:
    """Read the whole inventory through `org` (an `app.salesforce.Org`) into a snapshot.

    `touch` names further users (ids or usernames) the incident touches, e.g. compromised humans from earlier
    findings: the object and field access of every set they hold is read too.
    Objects the org's edition or the login lacks become notes; session, limit, network and TLS failures raise
    the adapter's OrgError for the caller to report. Rows from the adapter are trusted (no per-row validation).
    """
    from datetime import UTC, datetime

    p = _Puller(org, progress)
    taken = taken_utc or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    col: dict[str, list[Any]] = {}

    def put(name: str, rows: list[Any] | None) -> None:
        col[name] = rows or []
        p.say(f"  {name.replace('_', ' ')}: {len(col[name])}")

    p.say("organization")
    organization = _pull_organization(p)
    p.say("connected apps")
    put("connected_apps", p.collect(OBJECTS["ConnectedApplication"]))
    p.say("users")
    users = p.collect(OBJECTS["User"]) or []
    frozen_rows = None
    if p.fields("UserLogin") is not None:
        frozen_rows = p.query(
            _Obj("UserLogin", "", User, ()), "SELECT UserId, IsFrozen FROM UserLogin WHERE IsFrozen = true"
        )
    if frozen_rows is not None:
        frozen = {r.get("UserId") for r in frozen_rows}
        for u in users:
            u.frozen = u.id in frozen
    put("users", users)
    p.say("profiles and permission sets")
    put("profiles", p.collect(OBJECTS["Profile"]))
    ps_fields = p.fields("PermissionSet") or set()
    perms = sorted(f[len("Permissions") :] for f in ps_fields if f.startswith("Permissions"))
    ps_obj = OBJECTS["PermissionSet"]
    put(
        "permission_sets",
        p.collect(ps_obj, extra=[f"Permissions{x}" for x in perms], build=_record_builder(ps_obj, perms)),
    )
    put("assignments", p.collect(OBJECTS["PermissionSetAssignment"]))
    p.say("OAuth tokens")
    _note_token_visibility(p)
    put("oauth_tokens", _pull_tokens(p, [u.id for u in users]))

    # Object and field access of every set (profile-owned ones included) held by a user the incident touches:
    # integration users, every token holder (humans too) and the users the caller names; plus support profiles.
    # The sets are read by ParentId in partitions of ids, so a large org is read in full rather than sampled.
    partial = Snapshot.model_construct(
        users=users,
        permission_sets=col["permission_sets"],
        assignments=col["assignments"],
        oauth_tokens=col["oauth_tokens"],
    )
    touched = touched_users(partial, also=touch)
    held = held_permission_sets(partial)
    parents = sorted(
        {ps.id for uid in touched for ps, _ in held.get(uid, [])}
        | {
            ps.id
            for ps in col["permission_sets"]
            if ps.profile_owned and any(w in (ps.profile_name or ps.label or "").lower() for w in SUPPORT_PROFILE_WORDS)
        }
    )
    humans = sum(1 for why in touched.values() if not why.startswith("integration user"))
    p.say(
        f"object and field access of {len(parents)} permission set(s) held by {len(touched)} user(s) "
        f"({humans} not integration users) and of support profiles"
    )
    object_rows = _in_chunks(p, OBJECTS["ObjectPermissions"], "ParentId", parents) if parents else []
    put("object_permissions", object_rows)
    put("field_permissions", _in_chunks(p, OBJECTS["FieldPermissions"], "ParentId", parents) if parents else [])
    access_read_for = parents if object_rows is not None else []
    objects = sorted({fp.object for fp in col["field_permissions"]} | set(CLASSIFIED_OBJECTS))
    classifications: list[FieldClassification] = []
    fd = OBJECTS["FieldDefinition"]
    if p.fields("FieldDefinition") is not None:
        for name in objects:
            rows = p.collect(
                fd, where=f"EntityDefinition.QualifiedApiName = {_quote(name)}", extra=["EntityDefinitionId"]
            )
            if rows is None:
                break
            for r in rows:
                r.object = r.object or name
            classifications.extend(rows)
    put("field_classifications", classifications)

    p.say("packages, credentials, external data sources, remote sites")
    put("packages", p.collect(OBJECTS["InstalledSubscriberPackage"]))
    put("named_credentials", p.collect(OBJECTS["NamedCredential"]))
    put("external_credentials", p.collect(OBJECTS["ExternalCredential"]))
    put("external_data_sources", p.collect(OBJECTS["ExternalDataSource"]))
    put("remote_sites", p.collect(OBJECTS["RemoteProxy"]))
    p.say("trace flags and debug logs")
    put("trace_flags", p.collect(OBJECTS["TraceFlag"]))
    put("debug_levels", p.collect(OBJECTS["DebugLevel"]))
    put("debug_logs", _pull_debug_logs(p, debug_log_limit))
    p.say("setup audit trail and login history")
    put("audit_trail", p.collect(OBJECTS["SetupAuditTrail"], tail=f"ORDER BY CreatedDate DESC LIMIT {audit_limit}"))
    put("login_history", p.collect(OBJECTS["LoginHistory"], tail=f"ORDER BY LoginTime DESC LIMIT {login_limit}"))
    if len(col["login_history"]) >= login_limit:
        p.note("LoginHistory", "partial", f"only the latest {login_limit} logins were read")
    p.note(
        "SharingRules",
        "not_available",
        "sharing rules are not readable with SOQL (Metadata API only): review "
        "Setup > Sharing Settings for rules that open customer objects to All Internal Users",
    )

    source = Source(
        kind="org",
        org_alias=alias,
        instance_url=getattr(org, "instance_url", None),
        org_id=organization.id if organization else None,
        username=getattr(org, "username", None),
    )
    return Snapshot.model_construct(
        format=FORMAT,
        format_version=FORMAT_VERSION,
        taken_utc=taken,
        source=source,
        permission_fields=perms,
        notes=p.notes,
        access_read_for=access_read_for,
        organization=organization,
        sharing_rules=[],
        **col,
    )
