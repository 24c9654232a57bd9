"""The workspace: where incidents live (`--home`, $WARROOM_HOME, or the platform's user data dir).

Layout: HOME/incidents/<INCIDENT_ID>/journal.db (+ -wal), evidence/, and signing.key only when no keyring.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import BaseModel

from app.base.clock import Clock, format_instant
from app.base.errors import NotFoundError, UsageError
from app.composition.projections import REGISTRY
from app.incident.core import Incident
from app.journal import signing
from app.journal.chain import Journal

JOURNAL_FILE = "journal.db"


def default_home() -> Path:
    env = os.environ.get("WARROOM_HOME")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("warroom", appauthor=False))


class IncidentSummary(BaseModel):
    id: str
    title: str
    declared: str
    path: str
    demo: bool = False


class Workspace:
    def __init__(self, home: Path, clock: Clock, keyring: Any = None) -> None:
        self.home = home
        self.clock = clock
        self.keyring = keyring

    def with_clock(self, clock: Clock) -> Workspace:
        """The same workspace seen through another clock (an exercise's virtual or accelerated time)."""
        return Workspace(self.home, clock, self.keyring)

    @property
    def incidents_dir(self) -> Path:
        return self.home / "incidents"

    def journal_path(self, incident_id: str) -> Path:
        return self.incidents_dir / incident_id / JOURNAL_FILE

    def new_incident_id(self) -> str:
        return f"INC-{self.clock.now():%Y%m%d}-{secrets.token_hex(2).upper()}"

    def create(
        self,
        title: str,
        actor: str,
        *,
        detected: datetime | None = None,
        aware: datetime | None = None,
        demo: bool = False,
        extra: dict[str, Any] | None = None,
    ) -> Incident:
        if not title.strip():
            raise UsageError("an incident needs a title")
        incident_id = self.new_incident_id()
        incident_dir = self.incidents_dir / incident_id
        incident_dir.mkdir(parents=True, exist_ok=False)
        key = signing.new_key()
        journal_id = str(uuid.uuid4())
        genesis = {
            "incident_id": incident_id,
            "title": title.strip(),
            "public_key": signing.public_hex(key),
            "signature_alg": "ed25519",
            "demo": demo,
        }
        genesis["key_store"] = signing.store_key(key, journal_id, incident_dir, self.keyring)
        journal = Journal.create(
            incident_dir / JOURNAL_FILE,
            self.clock,
            incident_id=incident_id,
            actor=actor,
            genesis=genesis,
            journal_id=journal_id,
            registry=REGISTRY,
        )
        declared = format_instant(self.clock.now())
        facts: dict[str, Any] = {"declared": declared}
        if detected:
            facts["detected"] = format_instant(detected)
        if aware:
            facts["aware"] = format_instant(aware)
        facts.update(extra or {})
        journal.append("incident.update", facts, actor)
        return Incident(incident_dir, journal, self.keyring)

    def open(self, incident_id: str | None = None) -> Incident:
        path = self.journal_path(self.resolve(incident_id))
        return Incident(path.parent, Journal.open(path, self.clock, registry=REGISTRY), self.keyring)

    def resolve(self, incident_id: str | None) -> str:
        """An exact id, a unique case-insensitive suffix or prefix, or None for the most recent."""
        summaries = self.list()
        if not summaries:
            raise NotFoundError(f"no incidents in {self.home}; create one with `warroom new TITLE`")
        if incident_id is None:
            return summaries[-1].id
        wanted = incident_id.strip().upper()
        ids = [s.id for s in summaries]
        if wanted in ids:
            return wanted
        matches = [i for i in ids if i.startswith(wanted) or i.endswith(wanted)]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise UsageError(f"incident {incident_id!r} is ambiguous: {', '.join(matches)}")
        raise NotFoundError(f"no incident {incident_id!r} in {self.home}")

    def list(self) -> list[IncidentSummary]:
        """Incidents ordered by declaration, read from each journal's genesis (cheap at any size)."""
        out: list[IncidentSummary] = []
        if not self.incidents_dir.is_dir():
            return out
        for path in self.incidents_dir.glob(f"*/{JOURNAL_FILE}"):
            try:
                conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
                try:
                    row = conn.execute("SELECT body, recorded_utc FROM entries WHERE seq = 1").fetchone()
                    title_row = conn.execute(
                        "SELECT value FROM state WHERE ns = 'incident' AND key = 'title'"
                    ).fetchone()
                finally:
                    conn.close()
            except sqlite3.Error:
                continue
            if not row:
                continue
            data = json.loads(row[0])["data"]
            title = json.loads(title_row[0]) if title_row else data.get("title", "")
            out.append(
                IncidentSummary(
                    id=data["incident_id"], title=title, declared=row[1], path=str(path), demo=bool(data.get("demo"))
                )
            )
        out.sort(key=lambda s: (s.declared, s.id))
        return out
