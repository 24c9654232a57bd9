"""The responders of an incident and this laptop's place among them.

The commander (the laptop that declared the incident) journals each responder: name, role and Ed25519 public
key (`team.responder`). A responder's laptop joins the incident with its own journal and its own key (the
journal's checkpoint key, kept in the OS keyring or a 0600 file by app/journal/signing.py); the genesis of a
joined journal names the commander's key, handed over out of band, which is what the joiner trusts the roster
from. Only the commander's origin can add responders: the same entry from any other origin is ignored in the
merged view and reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.base.errors import UsageError, WarroomError

if TYPE_CHECKING:
    from app.incident.core import Incident
    from app.journal.chain import Entry, Journal
    from app.journal.registry import Lookup

TEAM_DIR = "team"  # inside the incident directory; its presence turns the merged view on
RESPONDER = "team.responder"  # the kind and the state namespace (key: the public key hex)
REJECTED = "team.rejected"  # tampering found on import (key: origin:seq:reason)
REMOTE = "team.remote"  # the incident's git remote, as set by `warroom sync REMOTE`
ROLES = ("commander", "admin", "analyst", "privacy", "counsel")
MAX_NAME = 64


@dataclass(frozen=True, slots=True)
class Responder:
    name: str
    role: str
    public_key: str
    fingerprint: str
    added_by: str
    added_utc: str


def project_responder(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    d = entry.data
    yield (
        RESPONDER,
        d["public_key"],
        {
            "name": d["name"],
            "role": d["role"],
            "public_key": d["public_key"],
            "fingerprint": d["fingerprint"],
            "added_by": entry.actor,
            "added_utc": entry.recorded_utc,
        },
    )


def project_rejected(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    d = entry.data
    yield REJECTED, f"{d['origin']}:{d['seq']}:{d['reason']}", {**d, "recorded_utc": entry.recorded_utc}


def project_remote(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    yield REMOTE, "url", entry.data["url"]


# -- typed readers -----------------------------------------------------------------------------------------------


def responders(journal: Journal) -> list[Responder]:
    """The responders as the commander journaled them, in the order they were added (last word per key)."""
    rows = journal.state(RESPONDER).values()
    return sorted((Responder(**row) for row in rows), key=lambda r: (r.added_utc, r.name))


def responder_by_key(journal: Journal) -> dict[str, Responder]:
    return {r.public_key: r for r in responders(journal)}


def rejections(journal: Journal) -> list[dict[str, Any]]:
    """Every tampering report journaled on import: origin, seq, reason, detail."""
    return sorted(journal.state(REJECTED).values(), key=lambda r: (r["recorded_utc"], r["origin"], r["seq"]))


def remote_url(journal: Journal) -> str | None:
    value = journal.get_state(REMOTE, "url")
    return str(value) if value else None


# -- this laptop ---------------------------------------------------------------------------------------------------


def own_key(journal: Journal) -> str:
    """This laptop's responder key for the incident: the public key its own journal's genesis names."""
    return str(journal.genesis["public_key"])


def commander_key(journal: Journal) -> str:
    """The commander's public key: named in a joined journal's genesis, else this laptop's own (it declared)."""
    team = journal.genesis.get("team") or {}
    return str(team.get("commander_key") or journal.genesis["public_key"])


def is_commander(journal: Journal) -> bool:
    return own_key(journal) == commander_key(journal)


def check_public_key(text: str) -> str:
    """A 32-byte Ed25519 public key as 64 hex digits, lower case; anything else is refused by name."""
    value = text.strip().lower()
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise UsageError(f"{text.strip()[:80]!r} is not an Ed25519 public key (64 hex digits expected)")
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise UsageError(f"{value[:16]}…: not a valid Ed25519 public key") from None
    return value


def enable_team(incident_dir: Path) -> None:
    """Turn the merged view on for this incident (the workspace opens it as a team journal from now on)."""
    (incident_dir / TEAM_DIR).mkdir(exist_ok=True)


def add_responder(incident: Incident, name: str, role: str, public_key: str | None, actor: str) -> Entry:
    """Journal a responder (commander only). Without `public_key`, this laptop's own key."""
    from app.journal import signing

    journal = incident.journal
    if not is_commander(journal):
        raise WarroomError(
            "only the commander's laptop adds responders: this journal joined the incident under the commander's "
            f"key {signing.fingerprint(commander_key(journal))}; ask the commander to add them",
            exit_code=1,
        )
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise UsageError(f"a responder needs a name of 1 to {MAX_NAME} characters")
    if role not in ROLES:
        raise UsageError(f"role {role!r}: one of {', '.join(ROLES)}")
    key = check_public_key(public_key) if public_key else own_key(journal)
    current = responder_by_key(journal)
    for other in current.values():
        if other.name == name and other.public_key != key:
            raise UsageError(f"{name} is already a responder with another key ({other.fingerprint})")
    if key in current and (current[key].name, current[key].role) == (name, role):
        raise UsageError(f"{name} is already a responder as {role} with that key")
    enable_team(incident.dir)
    data = {"name": name, "role": role, "public_key": key, "fingerprint": signing.fingerprint(key)}
    return journal.append(RESPONDER, data, actor)


def responder_name(journal: Journal, public_key: str) -> str | None:
    found = responder_by_key(journal).get(public_key)
    return found.name if found else None
