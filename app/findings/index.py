"""What every rule reads: Salesforce times, the moment a snapshot describes, and lookups built once per
evaluation."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime

from app.findings.models import RecordRef
from app.inventory import (
    OAuthToken,
    ObjectPermission,
    PermissionSet,
    Snapshot,
    User,
    held_permission_sets,
    integration_users,
)


def sf_time(text: str | None) -> datetime | None:
    """Salesforce and ISO timestamps ("2025-08-17T11:11:00.000+0000", "...Z", a bare date) as aware UTC."""
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def as_of(snap: Snapshot) -> datetime:
    """The time the snapshot describes: its latest recorded activity, capped by when it was taken.

    A Data Loader export from last month, or a simulated org living in August 2025, must not make every
    token look stale because the responder reads it today.
    """
    taken = sf_time(snap.taken_utc) or datetime.now(UTC)
    stamps = [t.last_used for t in snap.oauth_tokens] + [lg.time for lg in snap.login_history]
    stamps += [a.created for a in snap.audit_trail] + [u.last_login for u in snap.users]
    latest = max((s[:19] for s in stamps if s), default=None)
    seen = sf_time(latest) if latest else None
    return min(taken, seen) if seen else taken


class _Index:
    """Lookups over one snapshot, built once per evaluation."""

    def __init__(self, snap: Snapshot, exported: Sequence[str] = ()) -> None:
        self.snap = snap
        self.exported = tuple(exported)  # objects the incident knows were taken
        self.taken = as_of(snap)
        self.users: dict[str, User] = {u.id: u for u in snap.users}
        self.integration = integration_users(snap)
        self.held = held_permission_sets(snap, at=self.taken.strftime("%Y-%m-%dT%H:%M:%S"))
        self.sets: dict[str, PermissionSet] = {p.id: p for p in snap.permission_sets}
        self.tokens_by_app: dict[str, list[OAuthToken]] = defaultdict(list)
        for t in snap.oauth_tokens:
            self.tokens_by_app[t.app_name].append(t)
        self.app_by_lower = {name.lower(): name for name in self.tokens_by_app}

    @functools.cached_property
    def objects_by_set(self) -> dict[str, list[ObjectPermission]]:
        """Permission set id -> its object permissions (built on first use)."""
        out: dict[str, list[ObjectPermission]] = defaultdict(list)
        for op in self.snap.object_permissions:
            out[op.parent_id].append(op)
        return out

    def user_ref(self, user_id: str | None) -> RecordRef:
        u = self.users.get(user_id or "")
        return RecordRef(type="User", id=user_id or "unknown", name=u.username if u else None)

    def user_label(self, user_id: str | None) -> str:
        u = self.users.get(user_id or "")
        return u.username if u else (user_id or "unknown user")

    def token_ref(self, t: OAuthToken) -> RecordRef:
        return RecordRef(type="OauthToken", id=t.ref, name=f"{t.app_name} token of {self.user_label(t.user_id)}")

    def set_ref(self, ps: PermissionSet) -> RecordRef:
        if ps.profile_owned:
            return RecordRef(type="Profile", id=ps.profile_id or ps.id, name=ps.profile_name or ps.label or ps.name)
        return RecordRef(type="PermissionSet", id=ps.id, name=ps.name)
