"""Findings: what in an inventory snapshot (and in the repositories the responder points at) needs action.

Each rule turns one failure pattern or break point into findings that name the records involved, say why
they matter, recommend an action, feed a checklist item and, where one fits, suggest a containment action.
Rules read only the snapshot (plus indicators and a repository scan), so a snapshot pulled live and the same
snapshot imported with the network off give the same findings, with the same ids.
"""

from __future__ import annotations

import hashlib
import ipaddress
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, Field

from app.findings.index import (
    _Index,
    as_of,
    sf_time,
)
from app.findings.indicators import (
    BadAddress,
    Indicators,
    indicators_from_sets,
    load_indicators,
)
from app.findings.models import (
    CHECKLIST,
    COMPROMISED_TOKENS,
    COMPROMISED_USER,
    DEBUG_PII,
    FAILURE_PATTERNS,
    FLS_EXPOSURE,
    HARD_CODED,
    NO_TLS,
    OPEN_SHARING,
    OVER_PERMISSIONED,
    PATTERNS,
    SELF_AUTHORIZED,
    SEVERITY_RANK,
    STALE_TOKEN,
    TOKEN_BURST,
    UNAUTHENTICATED_SOURCE,
    UNCLASSIFIED_SYNC,
    UNINSTALLED_APP,
    UNREVIEWED_PACKAGE,
    ContainmentAction,
    Finding,
    RecordRef,
    Severity,
    _make,
)
from app.incident import Incident
from app.inventory import (
    OAuthToken,
    Snapshot,
)
from app.journal import Entry, Lookup
from app.reposcan import KIND_LABELS, PASSWORD, RepoScan
from app.sensitive import ACCESS_TOKEN, AWS_KEY, REFRESH_TOKEN
from app.sensitive import PRIVATE_KEY as LOG_PRIVATE_KEY
from app.sensitive import SESSION_ID as LOG_SESSION_ID

# Permissions that make an integration user's token an org-wide key.
CRITICAL_PERMISSIONS = {
    "ModifyAllData": "Modify All Data",
    "ViewAllData": "View All Data",
    "AuthorApex": "Author Apex",
    "CustomizeApplication": "Customize Application",
    "ManageUsers": "Manage Users",
    "ModifyMetadata": "Modify Metadata",
    "ManageProfilesPermissionsets": "Manage Profiles and Permission Sets",
    "AssignPermissionSets": "Assign Permission Sets",
}
HIGH_PERMISSIONS = {
    "ManageInternalUsers": "Manage Internal Users",
    "ResetPasswords": "Reset Passwords",
    "ViewAllUsers": "View All Users",
    "BulkApiHardDelete": "Bulk API Hard Delete",
    "ExportReport": "Export Reports",
    "ViewEventLogFiles": "View Event Log Files",
    "UseAnyApiClient": "Use Any API Client",
    "CanApproveUninstalledApps": "Approve Uninstalled Connected Apps",
}
CUSTOMER_OBJECTS = ("Account", "Contact", "Lead", "Case", "Opportunity", "Order", "Contract", "Individual")
OPEN_LEVELS = {"Read": "public read only", "ReadSelect": "public read only", "Edit": "public read/write",
               "ReadEditTransfer": "public read/write/transfer", "All": "public full access"}
SUPPORT_WORDS = ("support", "service", "agent", "helpdesk", "help desk", "call center", "contact center")
PAYMENT_WORDS = ("card", "ccnumber", "cc_", "pan__", "cvv", "cvc", "iban", "bankaccount", "bank_account",
                 "routing", "payment", "billing_account")
PERSONAL_WORDS = ("ssn", "social_security", "national_id", "nationalid", "passport", "taxid", "tax_id",
                  "birthdate", "date_of_birth", "dob", "driver", "license_number", "health")
SENSITIVE_CLASSES = ("restricted", "confidential", "missioncritical", "mission critical", "highly sensitive")
SENSITIVE_COMPLIANCE = ("pci", "pii", "gdpr", "ccpa", "hipaa", "coppa", "glba")
LOG_CREDENTIALS = {LOG_SESSION_ID, ACCESS_TOKEN, REFRESH_TOKEN, AWS_KEY, LOG_PRIVATE_KEY}
STALE_DAYS = 90
UNUSED_DAYS = 30
BURST_FENCE = 3  # Tukey's outer fence: Q3 + 3 IQR
BURST_MIN_USES = 1000


# --------------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------------


def _over_permissioned(ix: _Index) -> Iterator[Finding]:
    object_grants: dict[str, list[str]] = defaultdict(list)
    for op in ix.snap.object_permissions:
        if op.modify_all:
            object_grants[op.parent_id].append(f"Modify All Records on {op.object}")
        elif op.view_all:
            object_grants[op.parent_id].append(f"View All Records on {op.object}")
    for user_id, reason in ix.integration.items():
        user = ix.users[user_id]
        if not user.active:
            continue
        granted: dict[str, list[str]] = defaultdict(list)
        records = [ix.user_ref(user_id)]
        details: list[str] = [f"integration user because of its {reason}"]
        critical = False
        for ps, assignment_id in ix.held.get(user_id, []):
            perms = [p for p in ps.permissions if p in CRITICAL_PERMISSIONS or p in HIGH_PERMISSIONS]
            grants = object_grants.get(ps.id, [])
            if not perms and not grants:
                continue
            critical = critical or any(p in CRITICAL_PERMISSIONS for p in perms)
            records.append(ix.set_ref(ps))
            if assignment_id:
                records.append(RecordRef(type="PermissionSetAssignment", id=assignment_id,
                                         name=f"{ps.label or ps.name} -> {user.username}"))
            for p in perms:
                granted[CRITICAL_PERMISSIONS.get(p) or HIGH_PERMISSIONS[p]].append(ix.set_ref(ps).name or ps.name)
            for g in grants:
                granted[g].append(ix.set_ref(ps).name or ps.name)
        if not granted:
            continue
        details += [f"{perm}: from {', '.join(sorted(set(sources)))}" for perm, sources in sorted(granted.items())]
        strongest = ", ".join(sorted(granted)[:4]) + (" ..." if len(granted) > 4 else "")
        yield _make(
            OVER_PERMISSIONED, "critical" if critical else "high",
            f"Integration user {user.username} holds {strongest}",
            records,
            "An integration user's OAuth token carries every permission the user holds: with these, one stolen "
            "token reads or changes data far beyond what the integration needs (the Drift tokens ran org-wide "
            "exports this way).",
            "Remove the high-risk permission set assignments now (profile grants: move the user to Minimum "
            "Access - API Only Integrations); then grant only the objects and fields the integration uses.",
            containment="strip_permissions",
            details=details,
        )


def _debug_logs(ix: _Index) -> Iterator[Finding]:
    by_user: dict[str | None, list] = defaultdict(list)
    for log in ix.snap.debug_logs:
        if log.hits:
            by_user[log.user_id].append(log)
    for user_id, logs in by_user.items():
        kinds: dict[str, int] = defaultdict(int)
        samples: dict[str, list[str]] = defaultdict(list)
        for log in logs:
            for hit in log.hits:
                kinds[hit.kind] += hit.count
                samples[hit.kind].extend(s for s in hit.samples if s not in samples[hit.kind])
        creds = sorted(k for k in kinds if k in LOG_CREDENTIALS)
        containment: ContainmentAction | None = None
        if LOG_SESSION_ID in creds or ACCESS_TOKEN in creds:
            containment = "end_sessions"
        elif REFRESH_TOKEN in creds:
            containment = "revoke_tokens"
        label = ix.user_label(user_id)
        integration = " (integration user)" if user_id in ix.integration else ""
        what = ", ".join(f"{n} {k.replace('_', ' ')}{'s' if n != 1 else ''}" for k, n in sorted(kinds.items()))
        yield _make(
            DEBUG_PII, "critical" if creds else "high",
            f"Debug logs of {label}{integration} hold {what}",
            [ix.user_ref(user_id), *(RecordRef(type="ApexLog", id=log.id, name=log.operation) for log in logs)],
            "Debug logs keep full request and response payloads; anyone with View All Data, Manage Users or a "
            "support profile can read them, so they are a second copy of what leaked"
            + (", and the credentials in them are live until revoked." if creds else "."),
            "Preserve the logs as evidence, then delete them; remove the trace flag and stop the integration "
            "logging payloads" + ("; end the sessions and revoke the tokens they show." if creds else "."),
            containment=containment,
            details=[f"{k}: {n} (e.g. {', '.join(samples[k][:3])})" for k, n in sorted(kinds.items())],
        )
    levels = {d.id: d for d in ix.snap.debug_levels}
    for flag in ix.snap.trace_flags:
        if flag.traced_entity_id not in ix.integration:
            continue
        expires = sf_time(flag.expires)
        if expires is not None and expires < ix.taken:
            continue
        level = levels.get(flag.debug_level_id or "")
        verbose = level is not None and any(
            (v or "").upper() in ("FINE", "FINER", "FINEST") for v in (level.callout, level.apex_code)
        )
        days = (expires - (sf_time(flag.start) or ix.taken)).days if expires else None
        yield _make(
            DEBUG_PII, "high" if verbose else "medium",
            f"Trace flag records the payloads of integration user {ix.user_label(flag.traced_entity_id)}",
            [ix.user_ref(flag.traced_entity_id), RecordRef(type="TraceFlag", id=flag.id, name=flag.log_type),
             *([RecordRef(type="DebugLevel", id=level.id, name=level.name)] if level else [])],
            "A live trace flag on an integration user writes every payload it moves into debug logs"
            + (" (callout bodies included at this level)" if verbose else "") + ".",
            "Delete the trace flag (after preserving the logs) and lower the Callout and Apex Code levels.",
            checklist="remediate.debug-log-hygiene",
            details=[f"expires {flag.expires}" + (f" ({days} days after it started)" if days is not None else ""),
                     *([f"debug level {level.name}: Callout {level.callout}, Apex Code {level.apex_code}"]
                       if level else [])],
        )


def _classified(classification: str | None) -> bool:
    return bool(classification and classification.strip())


def _unclassified_sync(ix: _Index) -> Iterator[Finding]:
    classes = {(c.object, c.field): c for c in ix.snap.field_classifications}
    covered = {c.object for c in ix.snap.field_classifications}
    for user_id in ix.integration:
        user = ix.users[user_id]
        if not user.active:
            continue
        set_ids = {ps.id: ps for ps, _ in ix.held.get(user_id, [])}
        fields: dict[tuple[str, str], set[str]] = defaultdict(set)
        for fp in ix.snap.field_permissions:
            if fp.parent_id not in set_ids or not (fp.read or fp.edit) or fp.object not in covered:
                continue
            c = classes.get((fp.object, fp.field))
            if c is None or not _classified(c.classification):
                fields[(fp.object, fp.field)].add(fp.parent_id)
        if not fields:
            continue
        sets = sorted({p for parents in fields.values() for p in parents})
        names = sorted(f"{o}.{f}" for o, f in fields)
        sensitive = [n for n in names if _sensitive_name(n.split(".", 1)[1]) is not None]
        yield _make(
            UNCLASSIFIED_SYNC, "high" if sensitive else "medium",
            f"Integration user {user.username} syncs {len(names)} field(s) with no data classification",
            [ix.user_ref(user_id), *(ix.set_ref(set_ids[s]) for s in sets),
             *(RecordRef(type="Field", id=n) for n in names)],
            "Fields with no classification were never approved to leave Salesforce, so nobody checked where "
            "the integration sends them; a bulk sync copies them to every system it feeds.",
            "Classify each field (Data Sensitivity Level, Compliance Categorization); remove edit/read on the "
            "fields the integration does not need, and gate new syncs on classification.",
            containment="strip_permissions" if sensitive else None,
            details=[*([f"looks sensitive: {', '.join(sensitive)}"] if sensitive else []),
                     f"fields: {', '.join(names[:20])}{' ...' if len(names) > 20 else ''}"],
        )


def _packages(ix: _Index) -> Iterator[Finding]:
    for pkg in ix.snap.packages:
        problems = []
        if pkg.security_reviewed is False:
            problems.append("has not passed the AppExchange security review")
        if pkg.managed is False:
            problems.append("is unmanaged (no publisher accountability, code editable in the org)")
        if not problems:
            continue
        ns_sets = [p for p in ix.snap.permission_sets if pkg.namespace and p.namespace == pkg.namespace]
        ns_ids = {p.id for p in ns_sets}
        holders = [a for a in ix.snap.assignments if a.permission_set_id in ns_ids]
        dangerous = sorted({CRITICAL_PERMISSIONS[p] for ps in ns_sets for p in ps.permissions
                            if p in CRITICAL_PERMISSIONS})
        records = [RecordRef(type="InstalledSubscriberPackage", id=pkg.id, name=pkg.name or pkg.namespace)]
        records += [ix.set_ref(p) for p in ns_sets]
        records += [RecordRef(type="PermissionSetAssignment", id=a.id,
                              name=f"{ix.sets[a.permission_set_id].name} -> {ix.user_label(a.user_id)}")
                    for a in holders]
        records += [ix.user_ref(u) for u in sorted({a.user_id for a in holders})]
        label = pkg.name or pkg.namespace or pkg.id
        yield _make(
            UNREVIEWED_PACKAGE, "critical" if dangerous and holders else "high",
            f"Package {label} ({pkg.namespace or 'no namespace'} {pkg.version or ''}) {problems[0]}",
            records,
            "A package nobody reviewed runs its own code and ships its own permission sets and connected apps: "
            "a standing backdoor if the publisher, or its update channel, is compromised.",
            "Confirm the package and publisher with the business owner; remove its permission set assignments "
            "and uninstall it if it is not needed or the publisher cannot show a passed review.",
            containment="strip_permissions" if holders else None,
            details=[*problems[1:], f"publisher: {pkg.publisher or 'unknown'}",
                     *([f"its permission sets grant {', '.join(dangerous)}"] if dangerous else []),
                     f"{len(holders)} assignment(s) of its permission sets"],
        )


def _external_sources(ix: _Index) -> Iterator[Finding]:
    for src in ix.snap.external_data_sources:
        problems = []
        if (src.principal_type or "").lower() == "anonymous":
            problems.append("identity type Anonymous")
        if (src.protocol or "").lower() in ("noauthentication", "none"):
            problems.append("authentication protocol No Authentication")
        if not src.named_credential_id and not src.auth_provider_id and (src.protocol or "").lower() in (
            "", "noauthentication", "none"
        ):
            problems.append("no named credential or auth provider")
        if not problems:
            continue
        plain = (src.endpoint or "").lower().startswith("http://")
        yield _make(
            UNAUTHENTICATED_SOURCE, "critical" if src.writable or plain else "high",
            f"Salesforce Connect source {src.label or src.name} reaches {src.endpoint or 'its endpoint'} "
            "with no authentication",
            [RecordRef(type="ExternalDataSource", id=src.id, name=src.name)],
            "Salesforce Connect shows the external system's data as records: with no authentication layer, "
            "whoever can query the org (a stolen integration token included) reads the on-premise data too"
            + (", and can write to it" if src.writable else "") + ".",
            "Put a named credential with per-user or named-principal authentication in front of the source, "
            "make it read-only unless writes are needed, and check the endpoint demands authentication itself.",
            details=[*problems, f"type {src.type or '?'}, writable: {src.writable}",
                     *(["endpoint is plain HTTP"] if plain else [])],
        )


@dataclass
class _AppEvidence:
    strong: bool = False
    bad: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # ip -> login times
    unexpected: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    users: set[str] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)


def _tokens_and_logins(ix: _Index, ind: Indicators) -> Iterator[Finding]:
    apps: dict[str, _AppEvidence] = defaultdict(_AppEvidence)
    user_bad: dict[str, list] = defaultdict(list)
    user_strong: dict[str, bool] = defaultdict(bool)
    tokens_of_user: dict[str, set[str]] = defaultdict(set)
    for t in ix.snap.oauth_tokens:
        if t.user_id:
            tokens_of_user[t.user_id].add(t.app_name)
    for login in ix.snap.login_history:
        ip = login.source_ip or ""
        address = ind.bad(ip, sf_time(login.time))
        agent = ind.agent(" ".join(filter(None, (login.browser, login.client_version))))
        strong = bool(address and address.strong) or bool(agent and agent[1])
        app = ix.app_by_lower.get((login.application or "").lower())
        names = [app] if app else sorted(tokens_of_user.get(login.user_id or "", ()))
        unexpected = bool(ind.expected) and bool(names) and not any(
            _in(ip, net) for net in ind.expected)
        if (address or agent) and login.user_id:
            user_bad[login.user_id].append(login)
            user_strong[login.user_id] |= strong
        if not (address or agent or unexpected):
            continue
        for name in names:
            ev = apps[name]
            if address or agent:
                ev.bad[ip].append(login.time or "")
                ev.strong |= strong
                ev.sources.update(x for x in (address.source if address else None, agent[2] if agent else None) if x)
            else:
                ev.unexpected[ip].append(login.time or "")
            ev.users.add(login.user_id or "")
    for lower, strong, source in ind.apps:
        name = ix.app_by_lower.get(lower)
        if name:
            apps[name].strong |= strong
            apps[name].sources.add(source)
    for name in sorted(apps):
        ev = apps[name]
        tokens = ix.tokens_by_app.get(name, [])
        details = [f"{ip}: {len(ts)} login(s), {min(ts)} .. {max(ts)} (on an indicator list)"
                   for ip, ts in sorted(ev.bad.items())]
        details += [f"{ip}: {len(ts)} login(s), {min(ts)} .. {max(ts)} (outside the expected ranges)"
                    for ip, ts in sorted(ev.unexpected.items())]
        details += [f"indicator: {src}" for src in sorted(ev.sources)]
        connected = [a for a in ix.snap.connected_apps if a.name.lower() == name.lower()]
        records = [RecordRef(type="ConnectedApplication", id=a.id, name=a.name) for a in connected]
        records += [ix.token_ref(t) for t in tokens]
        holders = ev.users | {t.user_id or "" for t in tokens}
        records += [ix.user_ref(u) for u in sorted(holders) if u]
        if ev.bad:
            how = "used from addresses on an indicator list"
        elif ev.unexpected:
            how = "used from outside the expected ranges"
        else:
            how = "issued to an app named in the indicators"
        yield _make(
            COMPROMISED_TOKENS, "critical" if ev.strong else "high",
            f"{name}: {len(tokens)} token(s) {how}",
            records,
            "Treat every token of this app as stolen: a refresh token keeps minting sessions until it is revoked, "
            "and a vendor's statement that it revoked them is not proof.",
            "Revoke every token of the app (POST each DeleteToken to /services/oauth2/revoke) and verify the count "
            "is 0; end the users' sessions, freeze the integration users, then block the app in Setup.",
            containment="revoke_tokens",
            details=details,
            key=[f"app/{name}"],
        )
    for user_id, logins in sorted(user_bad.items()):
        ok = [lg for lg in logins if (lg.status or "Success").lower() == "success"]
        ips = sorted({lg.source_ip or "" for lg in logins})
        details = [f"{len(ok)} successful / {len(logins)} login(s) from {', '.join(ips)}",
                   f"between {min(lg.time or '' for lg in logins)} and {max(lg.time or '' for lg in logins)}"]
        severity: Severity = "critical" if ok and user_strong[user_id] else ("high" if ok else "medium")
        yield _make(
            COMPROMISED_USER, severity,
            f"{ix.user_label(user_id)}: logins from addresses on an indicator list",
            [ix.user_ref(user_id)],
            "Sessions opened from attacker infrastructure stay valid after the token behind them is revoked; "
            "only deleting the AuthSession rows ends them.",
            "Delete the user's AuthSession rows now, then re-query to confirm none come back.",
            containment="end_sessions",
            checklist="contain.end-sessions",
            details=details,
            key=[f"sessions/{user_id}"],
        )
        user = ix.users.get(user_id)
        if ok and user is not None and user.active and not user.frozen:
            yield _make(
                COMPROMISED_USER, severity,
                f"Freeze {ix.user_label(user_id)}: its access was used from attacker addresses",
                [ix.user_ref(user_id)],
                "Freezing stops new logins at once while keeping the user, its history and its assignments for "
                "forensics; the integration it serves stops until it is rebuilt.",
                "Freeze the user (UserLogin.IsFrozen = true) and tell the integration owner why.",
                containment="freeze_users",
                checklist="contain.freeze-users",
                details=details,
                key=[f"freeze/{user_id}"],
            )


def _in(ip: str, net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    try:
        addr = ipaddress.ip_address(ip.strip())
    except ValueError:
        return False
    return addr.version == net.version and addr in net


def _token_hygiene(ix: _Index) -> Iterator[Finding]:
    taken = ix.taken
    # Without a single AppMenuItemId the export simply lacks the column: no "not installed" verdicts then.
    menu_known = any(t.app_menu_item_id for t in ix.snap.oauth_tokens)
    for app, tokens in sorted(ix.tokens_by_app.items()):
        stale = []
        for t in tokens:
            last = sf_time(t.last_used)
            created = sf_time(t.created)
            if (last and taken - last > timedelta(days=STALE_DAYS)) or (
                last is None and created and taken - created > timedelta(days=UNUSED_DAYS)
            ):
                stale.append(t)
        if stale:
            yield _make(
                STALE_TOKEN, "low",
                f"{app}: {len(stale)} token(s) unused for over {STALE_DAYS} days or never used",
                [ix.token_ref(t) for t in stale],
                "Tokens nobody uses are still valid keys: they widen what a vendor breach exposes for no benefit.",
                "Revoke them and set a refresh-token expiry policy on the app.",
                containment="revoke_tokens",
                details=[f"{ix.user_label(t.user_id)}: last used {t.last_used or 'never'}" for t in stale[:10]],
                key=[f"stale/{app}", *(t.ref for t in stale)],
            )
        uninstalled = [t for t in tokens if not t.app_menu_item_id]
        if menu_known and uninstalled and len(uninstalled) == len(tokens):
            users = sorted({t.user_id or "" for t in uninstalled})
            yield _make(
                UNINSTALLED_APP, "high",
                f"{app}: authorised by {len(users)} user(s) but not installed in the org",
                [*(ix.token_ref(t) for t in uninstalled), *(ix.user_ref(u) for u in users)],
                "A token for an app the org never installed is how the 2025 vishing campaign worked: a caller "
                "talks a user into approving a look-alike Data Loader with a connection code.",
                "Ask each user whether they approved it; revoke the tokens, end their sessions and block "
                "uninstalled apps (API Access Control / Approve Uninstalled Connected Apps).",
                containment="revoke_tokens",
                details=[f"{ix.user_label(t.user_id)}: created {t.created}, used {t.use_count or 0} times"
                         for t in uninstalled[:10]],
                key=[f"uninstalled/{app}"],
            )
    counts = sorted(t.use_count or 0 for t in ix.snap.oauth_tokens)
    if len(counts) >= 8:
        q1, _, q3 = statistics.quantiles(counts, n=4)
        fence = max(q3 + BURST_FENCE * (q3 - q1), BURST_MIN_USES)
        by_app: dict[str, list[OAuthToken]] = defaultdict(list)
        for t in ix.snap.oauth_tokens:
            if (t.use_count or 0) > fence:
                by_app[t.app_name].append(t)
        for app, items in sorted(by_app.items()):
            yield _make(
                TOKEN_BURST, "medium",
                f"{app}: {len(items)} token(s) used far more than the org's other tokens",
                [ix.token_ref(t) for t in items],
                "A use count far outside the org's range is what bulk harvesting looks like from the token's "
                "side; a stolen token used by a script climbs fastest.",
                "Check the app's API and bulk events for when the calls happened; revoke the tokens if the volume "
                "is not explained by the integration's schedule.",
                containment="revoke_tokens",
                details=[f"{ix.user_label(t.user_id)}: {t.use_count} uses since {t.created} (org: median "
                         f"{statistics.median(counts):.0f}, outlier above {fence:.0f})" for t in items[:10]],
                key=[f"burst/{app}", *(t.ref for t in items)],
            )


def _self_authorized(ix: _Index) -> Iterator[Finding]:
    for app in ix.snap.connected_apps:
        if app.admin_approved_only is not False:
            continue
        tokens = ix.tokens_by_app.get(app.name, [])
        holders = sorted({t.user_id or "" for t in tokens})
        by_integration = [u for u in holders if u in ix.integration]
        yield _make(
            SELF_AUTHORIZED, "high" if by_integration else "medium",
            f"Connected app {app.name}: all users may self-authorize",
            [RecordRef(type="ConnectedApplication", id=app.id, name=app.name), *(ix.user_ref(u) for u in holders)],
            "With 'All users may self-authorize', anyone (or anyone talked into it) can grant the app a token to "
            "their data; nobody approves who holds one.",
            "Set Permitted Users to 'Admin approved users are pre-authorized' and list only the integration's "
            "profile or permission set; set a refresh-token expiry and IP restrictions.",
            checklist="remediate.connected-app-hardening",
            details=[f"{len(tokens)} token(s) held by {len(holders)} user(s)",
                     f"refresh token validity: {app.refresh_token_validity or 'until revoked'}"],
        )


def _tls(ix: _Index) -> Iterator[Finding]:
    why = ("Data sent over plain HTTP, or to an endpoint whose certificate is not checked, can be read and changed "
           "by anyone on the path: the integration middleware hop the seed checklist warns about.")
    for nc in ix.snap.named_credentials:
        if (nc.endpoint or "").lower().startswith("http://"):
            yield _make(
                NO_TLS, "high", f"Named credential {nc.label or nc.name} calls {nc.endpoint} without TLS",
                [RecordRef(type="NamedCredential", id=nc.id, name=nc.name)], why,
                "Move the endpoint to https:// (TLS 1.2 or later), then retire the http:// URL.",
                details=[*(["merge fields allowed in the body: org data is sent in it"]
                           if nc.merge_fields_in_body else [])],
            )
    for site in ix.snap.remote_sites:
        if site.active is False:
            continue
        plain = (site.url or "").lower().startswith("http://")
        if plain or site.disable_protocol_security:
            what = "over plain HTTP" if plain else "with protocol security disabled"
            yield _make(
                NO_TLS, "high", f"Remote site {site.name} allows callouts to {site.url} {what}",
                [RecordRef(type="RemoteSiteSetting", id=site.id, name=site.name)], why,
                "Change the remote site to https:// and re-enable protocol security; deactivate it if unused.",
                details=[*(["Disable Protocol Security is on"] if site.disable_protocol_security else [])],
            )
    for src in ix.snap.external_data_sources:
        if (src.endpoint or "").lower().startswith("http://"):
            yield _make(
                NO_TLS, "high", f"External data source {src.label or src.name} uses plain HTTP ({src.endpoint})",
                [RecordRef(type="ExternalDataSource", id=src.id, name=src.name)], why,
                "Serve the external source over https:// and point the data source there.",
            )


def _sharing(ix: _Index) -> Iterator[Finding]:
    org = ix.snap.organization
    if org is not None:
        opened = {obj: level for obj, level in sorted(org.sharing_defaults.items())
                  if obj in CUSTOMER_OBJECTS and level in OPEN_LEVELS}
        if opened:
            writable = [o for o, lv in opened.items() if lv not in ("Read", "ReadSelect")]
            yield _make(
                OPEN_SHARING, "high" if writable else "medium",
                "Org-wide sharing opens customer records to every internal user: "
                + ", ".join(f"{o} {OPEN_LEVELS[lv]}" for o, lv in opened.items()),
                [RecordRef(type="Organization", id=org.id, name=org.name)],
                "With public org-wide defaults any internal user (and any integration user or stolen token) "
                "sees every customer record, so the exposure of one account is the whole customer base.",
                "Set the org-wide default of each customer object to Private and grant access through roles and "
                "narrow sharing rules.",
                details=[f"{o}: {lv}" for o, lv in opened.items()],
                key=[f"owd/{o}/{lv}" for o, lv in opened.items()],
            )
    for rule in ix.snap.sharing_rules:
        target = (rule.shared_with or "").replace(" ", "").lower()
        if rule.object in CUSTOMER_OBJECTS and target in ("allinternalusers", "allusers", "organization"):
            yield _make(
                OPEN_SHARING, "high",
                f"Sharing rule {rule.name} opens {rule.object} to all internal users ({rule.access or 'access'})",
                [RecordRef(type="SharingRule", id=rule.id, name=rule.name)],
                "A sharing rule to All Internal Users undoes a private org-wide default for the records it matches.",
                "Narrow the rule to the roles or groups that need the records, or delete it.",
            )


def _sensitive_name(field: str) -> str | None:
    low = field.lower()
    if any(w in low for w in PAYMENT_WORDS):
        return "payment"
    if any(w in low for w in PERSONAL_WORDS):
        return "personal"
    return None


def _sensitivity(obj: str, field: str, classes: dict[tuple[str, str], object]) -> str | None:
    c = classes.get((obj, field))
    by_name = _sensitive_name(field)
    if c is not None:
        cls = (getattr(c, "classification", None) or "").lower()
        comp = (getattr(c, "compliance", None) or "").lower()
        if "pci" in comp:
            return "payment"
        if by_name:
            return by_name
        if any(s in cls for s in SENSITIVE_CLASSES) or any(s in comp for s in SENSITIVE_COMPLIANCE):
            return "personal"
    return by_name


def _field_exposure(ix: _Index) -> Iterator[Finding]:
    classes = {(c.object, c.field): c for c in ix.snap.field_classifications}
    support_profiles = {ps.id: ps for ps in ix.snap.permission_sets if ps.profile_owned and any(
        w in (ps.profile_name or ps.label or "").lower() for w in SUPPORT_WORDS)}
    integration_sets: dict[str, set[str]] = defaultdict(set)
    for user_id in ix.integration:
        if ix.users[user_id].active:
            for ps, _ in ix.held.get(user_id, []):
                integration_sets[ps.id].add(user_id)
    exposed: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for fp in ix.snap.field_permissions:
        if not fp.read and not fp.edit:
            continue
        if fp.parent_id not in support_profiles and fp.parent_id not in integration_sets:
            continue
        kind = _sensitivity(fp.object, fp.field, classes)
        if kind:
            exposed[fp.parent_id].append((f"{fp.object}.{fp.field}", kind, "edit" if fp.edit else "read"))
    for parent_id, fields in sorted(exposed.items()):
        ps = ix.sets.get(parent_id)
        if ps is None:
            continue
        holders = sorted(integration_sets.get(parent_id, ()))
        payment = any(k == "payment" for _, k, _ in fields)
        who = (f"integration user(s) {', '.join(ix.user_label(u) for u in holders)}" if holders
               else f"support profile {ps.profile_name or ps.label}")
        ref = ix.set_ref(ps)
        assignments = [RecordRef(type="PermissionSetAssignment", id=a.id, name=f"{ps.name} -> {ix.user_label(u)}")
                       for a in ix.snap.assignments if a.permission_set_id == parent_id
                       for u in [a.user_id] if u in holders]
        yield _make(
            FLS_EXPOSURE, "high" if payment else "medium",
            f"{ref.name} lets {who} read {'payment' if payment else 'personal'} fields",
            [ref, *(ix.user_ref(u) for u in holders), *assignments,
             *(RecordRef(type="Field", id=name, name=kind) for name, kind, _ in sorted(fields))],
            "Field-level security is the last line between a stolen integration token (or a support login) and "
            "card or identity data; these fields are readable where no integration or support task needs them.",
            "Remove read and edit on these fields from the permission set or profile; where an integration needs "
            "them, encrypt them and narrow the integration user to exactly those fields.",
            containment="strip_permissions" if holders and not ps.profile_owned else None,
            details=[f"{name} ({kind}, {access})" for name, kind, access in sorted(fields)],
        )


def _repo(scan: RepoScan) -> Iterator[Finding]:
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for hit in scan.hits:
        groups[(hit.kind, hit.fingerprint)].append(hit)
    for (kind, fingerprint), hits in sorted(groups.items()):
        first = hits[0]
        where = sorted({h.path for h in hits})
        in_tree = any(h.commit is None for h in hits)
        commits = sorted({h.commit[:12] for h in hits if h.commit})
        user = next((h.username for h in hits if h.username), None)
        # Containment needs a target: a password's user can be frozen. The other secrets name no app or user
        # here, so their answer is rotation (the recommended action), not a guess at what to revoke.
        containment: ContainmentAction | None = "freeze_users" if kind == PASSWORD and user else None
        records = [
            RecordRef(type="File", id=f"{h.path}:{h.line}",
                      name=(f"commit {h.commit[:12]} ({h.change})" if h.commit else "working tree"))
            for h in hits
        ]
        if user:
            records.append(RecordRef(type="User", id=user, name=user))
        yield _make(
            HARD_CODED, "high" if kind == "security_token" else "critical",
            f"{KIND_LABELS.get(kind, kind)} {first.masked} in {', '.join(where[:3])}"
            + (f" (user {user})" if user else "") + ("" if in_tree else " (history only)"),
            records,
            "A credential committed to a repository is exposed to everyone who ever cloned it; deleting the file "
            "does not remove it from history (the Drift breach began in the vendor's GitHub).",
            "Rotate it now (reset the password and security token, rotate the consumer secret or key, revoke the "
            "refresh token), then purge it from history and move it to a secrets manager.",
            containment=containment,
            details=[f"{'present in the working tree' if in_tree else 'deleted from the working tree'}; "
                     f"{len(commits)} commit(s): {', '.join(commits[:5])}", f"fingerprint {fingerprint}"],
            key=[f"secret/{kind}/{fingerprint}"],
        )


RULES: tuple[Callable[[_Index], Iterator[Finding]], ...] = (
    _over_permissioned, _debug_logs, _unclassified_sync, _packages, _external_sources, _token_hygiene,
    _self_authorized, _tls, _sharing, _field_exposure,
)


def ordered(found: Iterable[Finding]) -> list[Finding]:
    """Most severe first, then by pattern (the six failure patterns first), then title; duplicates dropped."""
    seen: set[str] = set()
    unique = []
    for f in found:
        if f.id not in seen:
            seen.add(f.id)
            unique.append(f)
    unique.sort(key=lambda f: (SEVERITY_RANK[f.severity], PATTERNS.index(f.pattern) if f.pattern in PATTERNS
                               else 99, f.title))
    return unique


def evaluate(snap: Snapshot, *, indicators: Indicators | None = None, repo: RepoScan | None = None) -> list[Finding]:
    """All findings for a snapshot, most severe first; ids are stable for the same records."""
    ix = _Index(snap)
    found: list[Finding] = []
    for rule in RULES:
        found.extend(rule(ix))
    found.extend(_tokens_and_logins(ix, indicators if indicators is not None else load_indicators()))
    if repo is not None:
        found.extend(_repo(repo))
    return ordered(found)


def evaluate_repo(scan: RepoScan) -> list[Finding]:
    """Findings from a repository scan alone (no snapshot needed)."""
    return ordered(_repo(scan))


class RepoScanSummary(BaseModel):
    root: str
    files_scanned: int
    commits_scanned: int
    history: bool
    notes: list[str]


class FindingsReport(BaseModel):
    """What `warroom findings --json` prints."""

    snapshot: dict[str, Any] | None = None
    repo_scans: list[RepoScanSummary] = Field(default_factory=list)
    counts: dict[str, int]
    patterns: dict[str, int]
    findings: list[Finding]


def report(found: list[Finding], snapshot: dict[str, Any] | None = None,
           scans: Iterable[RepoScan] = ()) -> FindingsReport:
    counts = {s: sum(1 for f in found if f.severity == s) for s in SEVERITY_RANK}
    patterns: dict[str, int] = {}
    for f in found:
        patterns[f.pattern] = patterns.get(f.pattern, 0) + 1
    repo = [RepoScanSummary(root=s.root, files_scanned=s.files_scanned, commits_scanned=s.commits_scanned,
                            history=s.history, notes=s.notes) for s in scans]
    return FindingsReport(snapshot=snapshot, repo_scans=repo, counts=counts, patterns=patterns, findings=found)


# --------------------------------------------------------------------------------------------------
# Journal: the findings of record, so the checklist and containment panels can follow them
# --------------------------------------------------------------------------------------------------

FINDINGS_KIND = "inventory.findings"


def _digest(found: list[Finding]) -> str:
    text = "\n".join(f"{f.id} {f.severity}" for f in found)
    return hashlib.sha256(text.encode()).hexdigest()


def record(incident: Incident, found: list[Finding], snapshot_evidence_id: str | None, actor: str) -> bool:
    """Journal the finding set when it differs from the one last recorded; True when an entry was written."""
    digest = _digest(found)
    current = incident.journal.get_state("inventory", "findings")
    if current and current.get("digest") == digest and current.get("snapshot") == snapshot_evidence_id:
        return False
    items = [{"id": f.id, "pattern": f.pattern, "severity": f.severity, "title": f.title,
              "checklist_item": f.checklist_item, "containment": f.containment, "records": len(f.records)}
             for f in found]
    incident.journal.append(FINDINGS_KIND, {"snapshot": snapshot_evidence_id, "digest": digest, "items": items},
                            actor)
    return True


def project_findings(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    """`inventory/findings`: the latest recorded finding set (ids, severities, checklist items, containment)."""
    d = entry.data
    yield "inventory", "findings", {"seq": entry.seq, "snapshot": d.get("snapshot"), "digest": d["digest"],
                                    "items": d["items"]}

__all__ = [
    "BURST_FENCE",
    "BURST_MIN_USES",
    "CHECKLIST",
    "COMPROMISED_TOKENS",
    "COMPROMISED_USER",
    "CRITICAL_PERMISSIONS",
    "CUSTOMER_OBJECTS",
    "DEBUG_PII",
    "FAILURE_PATTERNS",
    "FINDINGS_KIND",
    "FLS_EXPOSURE",
    "HARD_CODED",
    "HIGH_PERMISSIONS",
    "LOG_CREDENTIALS",
    "NO_TLS",
    "OPEN_LEVELS",
    "OPEN_SHARING",
    "OVER_PERMISSIONED",
    "PATTERNS",
    "PAYMENT_WORDS",
    "PERSONAL_WORDS",
    "RULES",
    "SELF_AUTHORIZED",
    "SENSITIVE_CLASSES",
    "SENSITIVE_COMPLIANCE",
    "SEVERITY_RANK",
    "STALE_DAYS",
    "STALE_TOKEN",
    "SUPPORT_WORDS",
    "TOKEN_BURST",
    "UNAUTHENTICATED_SOURCE",
    "UNCLASSIFIED_SYNC",
    "UNINSTALLED_APP",
    "UNREVIEWED_PACKAGE",
    "UNUSED_DAYS",
    "BadAddress",
    "ContainmentAction",
    "Finding",
    "FindingsReport",
    "Indicators",
    "RecordRef",
    "RepoScanSummary",
    "Severity",
    "as_of",
    "evaluate",
    "evaluate_repo",
    "indicators_from_sets",
    "load_indicators",
    "ordered",
    "project_findings",
    "record",
    "report",
    "sf_time",
]
