"""Compromise signals: apps whose tokens, and users whose logins, were used from indicator addresses or
agents (or from outside the expected ranges), and the grants that let a compromised user take data out; these
findings lead to revoking, ending sessions, freezing, stripping permissions and blocking the app.

An app is known by the logins made through it as well as by its tokens, so revoking its tokens does not make
it look clean: LoginHistory keeps naming it (and `lifecycle` keeps the finding open until the app is blocked)."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from app.findings.access import CRITICAL_PERMISSIONS
from app.findings.index import _Index, sf_time
from app.findings.indicators import Indicators
from app.findings.models import (
    COMPROMISED_ACCESS,
    COMPROMISED_TOKENS,
    COMPROMISED_USER,
    Finding,
    RecordRef,
    Severity,
    _make,
)
from app.inventory import export_grants

# LoginHistory.Application values that name no connected app (interactive logins).
NOT_APPS = {"", "browser", "n/a", "unknown"}


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
    known = {a.name.lower(): a.name for a in ix.snap.connected_apps} | ix.app_by_lower
    for login in ix.snap.login_history:
        ip = login.source_ip or ""
        address = ind.bad(ip, sf_time(login.time))
        agent = ind.agent(" ".join(filter(None, (login.browser, login.client_version))))
        strong = bool(address and address.strong) or bool(agent and agent[1])
        app = _app_of(login, known)
        names = [app] if app else sorted(tokens_of_user.get(login.user_id or "", ()))
        unexpected = bool(ind.expected) and bool(names) and not any(_in(ip, net) for net in ind.expected)
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
    compromised: dict[str, str] = {}
    for name in sorted(apps):
        ev = apps[name]
        tokens = ix.tokens_by_app.get(name, [])
        details = [
            f"{ip}: {len(ts)} login(s), {min(ts)} .. {max(ts)} (on an indicator list)"
            for ip, ts in sorted(ev.bad.items())
        ]
        details += [
            f"{ip}: {len(ts)} login(s), {min(ts)} .. {max(ts)} (outside the expected ranges)"
            for ip, ts in sorted(ev.unexpected.items())
        ]
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
        if ev.bad or ev.strong:
            for uid in sorted(holders - {""}):
                compromised.setdefault(uid, f"holds or used tokens of the compromised app {name}")
        title = f"{name}: {len(tokens)} token(s) {how}"
        if not tokens:
            title = f"{name}: app {how.replace('used', 'logins', 1) if ev.bad else how}; no token left now"
        yield _make(
            COMPROMISED_TOKENS,
            "critical" if ev.strong else "high",
            title,
            records,
            "Treat every token of this app as stolen: a refresh token keeps minting sessions until it is revoked, "
            "and a vendor's statement that it revoked them is not proof.",
            "Revoke every token of the app (POST each DeleteToken to /services/oauth2/revoke) and verify the count "
            "is 0; end the users' sessions, freeze the integration users, then block the app in Setup.",
            containment="revoke_tokens" if tokens else "block_app",
            details=details,
            key=[f"app/{name}"],
            target=f"app:{name}",
        )
    for user_id, logins in sorted(user_bad.items()):
        ok = [lg for lg in logins if (lg.status or "Success").lower() == "success"]
        ips = sorted({lg.source_ip or "" for lg in logins})
        details = [
            f"{len(ok)} successful / {len(logins)} login(s) from {', '.join(ips)}",
            f"between {min(lg.time or '' for lg in logins)} and {max(lg.time or '' for lg in logins)}",
        ]
        severity: Severity = "critical" if ok and user_strong[user_id] else ("high" if ok else "medium")
        yield _make(
            COMPROMISED_USER,
            severity,
            f"{ix.user_label(user_id)}: logins from addresses on an indicator list",
            [ix.user_ref(user_id)],
            "Sessions opened from attacker infrastructure stay valid after the token behind them is revoked; "
            "only deleting the AuthSession rows ends them.",
            "Delete the user's AuthSession rows now, then re-query to confirm none come back.",
            containment="end_sessions",
            checklist="contain.end-sessions",
            details=details,
            key=[f"sessions/{user_id}"],
            target=f"sessions:{user_id}",
        )
        if ok:
            compromised[user_id] = "logged in from attacker addresses"
        user = ix.users.get(user_id)
        if ok and user is not None and user.active and not user.frozen:
            yield _make(
                COMPROMISED_USER,
                severity,
                f"Freeze {ix.user_label(user_id)}: its access was used from attacker addresses",
                [ix.user_ref(user_id)],
                "Freezing stops new logins at once while keeping the user, its history and its assignments for "
                "forensics; the integration it serves stops until it is rebuilt.",
                "Freeze the user (UserLogin.IsFrozen = true) and tell the integration owner why.",
                containment="freeze_users",
                checklist="contain.freeze-users",
                details=details,
                key=[f"freeze/{user_id}"],
                target=f"freeze:{user_id}",
            )
    yield from _access(ix, compromised)


def _app_of(login: object, known: dict[str, str]) -> str | None:
    """The connected app a login went through: a known app (token, connected app), else the Application of an
    OAuth login (a revoked or never-installed app still names itself there)."""
    application = (getattr(login, "application", None) or "").strip()
    if application.lower() in known:
        return known[application.lower()]
    oauth = (
        "remote access" in (getattr(login, "login_type", None) or "").lower()
        or "oauth" in (getattr(login, "sub_type", None) or "").lower()
    )
    return application if oauth and application.lower() not in NOT_APPS else None


def access_grants(ix: _Index, user_id: str) -> list[tuple[Any, str | None, list[str]]]:
    """(permission set, assignment id or None, grants) for each set the user holds that lets data out."""
    objects = ix.objects_by_set
    out = []
    for ps, assignment_id in ix.held.get(user_id, []):
        perms = [p for p in ps.permissions if p in CRITICAL_PERMISSIONS]
        grants = export_grants(ps.permissions, objects.get(ps.id, []), ix.exported)
        grants += [CRITICAL_PERMISSIONS[p] for p in perms if CRITICAL_PERMISSIONS[p] not in grants]
        if grants:
            out.append((ps, assignment_id, grants))
    return out


def _access(ix: _Index, compromised: dict[str, str]) -> Iterator[Finding]:
    """What each compromised user can still take out, grant by grant (the user's object access is read by the
    inventory for every user the incident touches)."""
    read_for = set(ix.snap.access_read_for) if ix.snap.access_read_for is not None else None
    for user_id, why in sorted(compromised.items()):
        user = ix.users.get(user_id)
        if user is None or not user.active:
            continue
        held = access_grants(ix, user_id)
        unread = [
            ix.set_ref(ps).name or ps.name
            for ps, _ in ix.held.get(user_id, [])
            if read_for is not None and ps.id not in read_for
        ]
        if not held and not unread:
            continue
        records = [ix.user_ref(user_id)]
        details = [f"compromised: {why}"]
        removable = 0
        for ps, assignment_id, grants in held:
            ref = ix.set_ref(ps)
            records.append(ref)
            if assignment_id and not ps.profile_owned:
                removable += 1
                records.append(
                    RecordRef(type="PermissionSetAssignment", id=assignment_id, name=f"{ps.name} -> {user.username}")
                )
                details.append(f"{ref.name} (assignment {assignment_id}): {', '.join(grants)}")
            else:
                details.append(f"{ref.name} (profile: not removable by assignment): {', '.join(grants)}")
        if unread:
            details.append(f"object access not read for: {', '.join(sorted(unread))} (unknown)")
        if ix.exported:
            details.append(f"exported objects: {', '.join(ix.exported)} (read on them counts)")
            records += [RecordRef(type="SObject", id=o) for o in ix.exported]
        else:
            details.append("exported objects not named: read alone is not counted (name them to include it)")
        strongest = sorted({g for _, _, grants in held for g in grants})
        yield _make(
            COMPROMISED_ACCESS,
            "critical",
            f"{user.username} can still export: {', '.join(strongest[:4])}{' ...' if len(strongest) > 4 else ''}"
            if strongest
            else f"{user.username}: object access unknown (not read)",
            records,
            "Revoking tokens and ending sessions does not take away what the account may do: while it keeps API "
            "access and View All or read on the exported objects, the next stolen login exports them again.",
            "Remove each permission set assignment listed (strip_permissions); move the user off a profile that "
            "grants API Enabled or read on these objects (manual task in Setup); keep the user frozen meanwhile.",
            containment="strip_permissions" if removable else None,
            details=details,
            key=[f"access/{user_id}"],
            target=f"access:{user_id}",
        )


def _in(ip: str, net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    try:
        addr = ipaddress.ip_address(ip.strip())
    except ValueError:
        return False
    return addr.version == net.version and addr in net
