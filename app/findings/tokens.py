"""Token hygiene: stale tokens, tokens of apps never installed, use counts far above the org's others, and
apps any user may self-authorize."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta

from app.findings.index import _Index, sf_time
from app.findings.models import (
    SELF_AUTHORIZED,
    STALE_TOKEN,
    TOKEN_BURST,
    UNINSTALLED_APP,
    Finding,
    RecordRef,
    _make,
)
from app.inventory import OAuthToken

STALE_DAYS = 90
UNUSED_DAYS = 30
BURST_FENCE = 3  # Tukey's outer fence: Q3 + 3 IQR
BURST_MIN_USES = 1000


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
                STALE_TOKEN,
                "low",
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
                UNINSTALLED_APP,
                "high",
                f"{app}: authorised by {len(users)} user(s) but not installed in the org",
                [*(ix.token_ref(t) for t in uninstalled), *(ix.user_ref(u) for u in users)],
                "A token for an app the org never installed is how the 2025 vishing campaign worked: a caller "
                "talks a user into approving a look-alike Data Loader with a connection code.",
                "Ask each user whether they approved it; revoke the tokens, end their sessions and block "
                "uninstalled apps (API Access Control / Approve Uninstalled Connected Apps).",
                containment="revoke_tokens",
                details=[
                    f"{ix.user_label(t.user_id)}: created {t.created}, used {t.use_count or 0} times"
                    for t in uninstalled[:10]
                ],
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
                TOKEN_BURST,
                "medium",
                f"{app}: {len(items)} token(s) used far more than the org's other tokens",
                [ix.token_ref(t) for t in items],
                "A use count far outside the org's range is what bulk harvesting looks like from the token's "
                "side; a stolen token used by a script climbs fastest.",
                "Check the app's API and bulk events for when the calls happened; revoke the tokens if the volume "
                "is not explained by the integration's schedule.",
                containment="revoke_tokens",
                details=[
                    f"{ix.user_label(t.user_id)}: {t.use_count} uses since {t.created} (org: median "
                    f"{statistics.median(counts):.0f}, outlier above {fence:.0f})"
                    for t in items[:10]
                ],
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
            SELF_AUTHORIZED,
            "high" if by_integration else "medium",
            f"Connected app {app.name}: all users may self-authorize",
            [RecordRef(type="ConnectedApplication", id=app.id, name=app.name), *(ix.user_ref(u) for u in holders)],
            "With 'All users may self-authorize', anyone (or anyone talked into it) can grant the app a token to "
            "their data; nobody approves who holds one.",
            "Set Permitted Users to 'Admin approved users are pre-authorized' and list only the integration's "
            "profile or permission set; set a refresh-token expiry and IP restrictions.",
            checklist="remediate.connected-app-hardening",
            details=[
                f"{len(tokens)} token(s) held by {len(holders)} user(s)",
                f"refresh token validity: {app.refresh_token_validity or 'until revoked'}",
            ],
        )
