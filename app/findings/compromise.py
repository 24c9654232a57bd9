"""Compromise signals: apps whose tokens, and users whose logins, were used from indicator addresses or
agents (or from outside the expected ranges); these findings lead to revoking, ending sessions and freezing."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from app.findings.index import _Index, sf_time
from app.findings.indicators import Indicators
from app.findings.models import (
    COMPROMISED_TOKENS,
    COMPROMISED_USER,
    Finding,
    RecordRef,
    Severity,
    _make,
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
        if listed := ix.app_by_lower.get(lower):
            apps[listed].strong |= strong
            apps[listed].sources.add(source)
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
        yield _make(
            COMPROMISED_TOKENS,
            "critical" if ev.strong else "high",
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
        )
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
            )


def _in(ip: str, net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    try:
        addr = ipaddress.ip_address(ip.strip())
    except ValueError:
        return False
    return addr.version == net.version and addr in net
