"""Incident findings outlive the snapshot that showed them: a compromised app, user or grant stays a finding
until the containment that closes it is verified, and the finding says what is still open.

A snapshot shows the org as it is now. After the tokens of a compromised app are revoked the app may hold no
token at all, yet any user can authorise it again until it is blocked; a frozen user may still hold the grant
that let the data out. `follow` takes the findings of the latest snapshot, the incident findings recorded
before and the containment the incident verified (`Closure`: a confirmed manual task, a finished action), and
returns every incident finding, open or closed, each with what is left and its history.

What closes what, and how it is verified:
- a compromised app: no token of it in the latest snapshot AND a confirmed block_app or uninstall_package task
  for it AND, in a snapshot pulled after the block, no token created and no login made through it since;
- a compromised user's sessions: an end_sessions (or quarantine) action that finished for the user (sessions
  are not in a snapshot; the action re-queried them) AND the user frozen or inactive in the latest snapshot;
- freezing a user: the latest snapshot shows the user frozen or inactive;
- a compromised user's export access: no assignment that grants it is left in the latest snapshot, and no
  profile grant (those need the profile changed in Setup; freezing does not remove them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.findings.compromise import access_grants
from app.findings.index import _Index
from app.findings.models import COMPROMISED_ACCESS, COMPROMISED_TOKENS, COMPROMISED_USER, Finding, RecordRef
from app.inventory import Snapshot

INCIDENT_PATTERNS = (COMPROMISED_TOKENS, COMPROMISED_USER, COMPROMISED_ACCESS)
BLOCK_SETUP_PATH = "Setup > Apps > Connected Apps > Connected Apps OAuth Usage > Block"


@dataclass(frozen=True)
class Closure:
    """Containment the incident recorded as done: a manual task confirmed with evidence, or an action run."""

    kind: str  # block_app, uninstall_package, end_sessions, freeze_users, strip_permissions, revoke_tokens
    target: str  # an app name, a user id or a username
    ref: str  # what proves it: "CA-1A2B3C-T1 confirmed by alice with evidence E-0004"
    at: str | None = None  # when it was confirmed or finished (UTC, ISO)


def follow(
    found: Sequence[Finding], earlier: Sequence[Finding], snap: Snapshot, closures: Sequence[Closure]
) -> list[Finding]:
    """Every finding of `found`, with the incident findings assessed, plus the earlier incident findings the
    latest snapshot no longer shows (still open, or closed with the containment that closed them)."""
    ix = _Index(snap)
    before = {f.id: f for f in earlier if f.pattern in INCIDENT_PATTERNS}
    out: list[Finding] = []
    seen: set[str] = set()
    for f in found:
        seen.add(f.id)
        if f.pattern not in INCIDENT_PATTERNS or not f.target:
            out.append(f)
            continue
        history = list(before[f.id].history) if f.id in before else [f"first seen in the snapshot of {snap.taken_utc}"]
        out.append(_assess(f, ix, closures, history, before.get(f.id)))
    for f in earlier:
        if f.id in seen or f.pattern not in INCIDENT_PATTERNS or not f.target:
            continue
        seen.add(f.id)
        history = list(f.history)
        note = f"not shown by the snapshot of {snap.taken_utc}: followed from the incident's earlier findings"
        if f.status == "open" and note not in history:
            history.append(note)
        out.append(_assess(f, ix, closures, history, f))
    return out


def _assess(
    f: Finding, ix: _Index, closures: Sequence[Closure], history: list[str], earlier: Finding | None
) -> Finding:
    kind, _, subject = (f.target or "").partition(":")
    if kind == "app":
        still, containment = _app(subject, ix, closures, history)
    elif kind == "sessions":
        still, containment = _sessions(subject, ix, closures, history)
    elif kind == "freeze":
        still, containment = _freeze(subject, ix, history)
    elif kind == "access":
        still, containment = _access(f, earlier or f, subject, ix, history)
    else:
        return f
    status = "open" if still else "closed"
    if status == "closed" and f.status != "closed":
        history.append(f"closed: containment verified by the snapshot of {ix.snap.taken_utc}")
    return f.model_copy(update={"status": status, "still_open": still, "history": history, "containment": containment})


def _matches(c: Closure, *names: str | None) -> bool:
    wanted = {n.lower() for n in names if n} | {n[:15].lower() for n in names if n}
    return c.target.lower() in wanted or c.target[:15].lower() in wanted


def _note(history: list[str], text: str) -> None:
    if text not in history:
        history.append(text)


def _app(name: str, ix: _Index, closures: Sequence[Closure], history: list[str]) -> tuple[list[str], str | None]:
    tokens = [t for t in ix.snap.oauth_tokens if t.app_name.lower() == name.lower()]
    blocks = [c for c in closures if c.kind in ("block_app", "uninstall_package") and _matches(c, name)]
    still: list[str] = []
    if tokens:
        still.append(
            f"{len(tokens)} token(s) of {name} still issued: revoke them (revoke_tokens), then check that "
            f"SELECT COUNT() FROM OauthToken WHERE AppName = '{name}' returns 0"
        )
    for c in closures:
        if c.kind == "revoke_tokens" and _matches(c, name):
            _note(history, f"tokens revoked: {c.ref}")
    if not blocks:
        still.append(
            f"{name} is not blocked: any user can authorise it again. {BLOCK_SETUP_PATH} (an app with no token "
            "left may no longer be listed there: install it, then set Permitted Users to 'Admin approved users are "
            "pre-authorized' with no profile or permission set), and confirm the block_app task with evidence"
        )
        return still, "revoke_tokens" if tokens else "block_app"
    block = max(blocks, key=lambda c: c.at or "")
    _note(history, f"{block.kind} confirmed: {block.ref}")
    since = block.at or ""
    taken = ix.snap.taken_utc or ""
    used = [t for t in tokens if since and (t.created or "") > since]
    logins = [
        lg
        for lg in ix.snap.login_history
        if (lg.application or "").lower() == name.lower() and since and (lg.time or "") > since
    ]
    if used or logins:
        still.append(
            f"{name} was used after the block ({block.ref}): {len(used)} new token(s), {len(logins)} login(s) "
            "through it since; the block did not hold"
        )
    elif since and taken[:19] < since[:19]:
        still.append(
            f"block confirmed at {since} but not yet verified: pull the inventory again (no token of {name} and no "
            "login through it may appear after the block)"
        )
    return still, "revoke_tokens" if tokens else None


def _user(ix: _Index, user_id: str) -> tuple[str, bool]:
    """(username, frozen or inactive) as the latest snapshot shows the user."""
    u = ix.users.get(user_id) or next((x for x in ix.snap.users if x.id[:15] == user_id[:15]), None)
    if u is None:
        return user_id, False
    return u.username, bool(u.frozen) or not u.active


def _sessions(
    user_id: str, ix: _Index, closures: Sequence[Closure], history: list[str]
) -> tuple[list[str], str | None]:
    username, stopped = _user(ix, user_id)
    ended = [c for c in closures if c.kind in ("end_sessions", "quarantine_org") and _matches(c, user_id, username)]
    still = []
    for c in ended:
        _note(history, f"sessions ended: {c.ref}")
    if not ended:
        still.append(
            f"sessions of {username} not ended: end_sessions (a snapshot cannot show sessions; this closes when "
            "the action has run and re-queried AuthSession)"
        )
    if not stopped:
        still.append(f"{username} can log in again (not frozen): freeze_users")
    return still, "end_sessions" if not ended else ("freeze_users" if still else None)


def _freeze(user_id: str, ix: _Index, history: list[str]) -> tuple[list[str], str | None]:
    username, stopped = _user(ix, user_id)
    if stopped:
        _note(history, f"{username} frozen or inactive in the snapshot of {ix.snap.taken_utc}")
        return [], None
    return [f"{username} is neither frozen nor inactive: freeze_users"], "freeze_users"


def _access(f: Finding, earlier: Finding, user_id: str, ix: _Index, history: list[str]) -> tuple[list[str], str | None]:
    username, _ = _user(ix, user_id)
    user = ix.users.get(user_id)
    if user is not None and not user.active:
        _note(history, f"{username} inactive in the snapshot of {ix.snap.taken_utc}")
        return [], None
    exported = [r.id for r in f.records if r.type == "SObject"]
    scoped = _Index(ix.snap, exported) if exported else ix
    still: list[str] = []
    removable = False
    for ps, assignment_id, grants in access_grants(scoped, user_id):
        if ps.profile_owned:
            profile = ps.profile_name or ps.label or ps.name
            still.append(
                f"profile {profile} grants {', '.join(grants)}: not removable by assignment; move {username} to a "
                f"profile without it (Setup > Users > Users > {username} > Edit > Profile), manual task change_profile"
            )
        else:
            removable = True
            label = ps.label or ps.name
            still.append(f"{label} (assignment {assignment_id}) grants {', '.join(grants)}: strip_permissions")
    gone = {r.id for r in earlier.records if r.type == "PermissionSetAssignment"} - {
        a for _, a, _ in access_grants(scoped, user_id) if a
    }
    for a in sorted(gone):
        _note(history, f"assignment {a} no longer in the snapshot of {ix.snap.taken_utc}")
    return still, "strip_permissions" if removable else None


def record_refs(found: Sequence[Finding], limit: int = 200) -> list[Finding]:
    """Incident findings as they are kept in the journal: at most `limit` records each (a compromised app can
    hold thousands of tokens; the snapshot keeps them all)."""
    out = []
    for f in found:
        if f.pattern not in INCIDENT_PATTERNS:
            continue
        records: list[RecordRef] = f.records[:limit]
        out.append(f.model_copy(update={"records": records}))
    return out
