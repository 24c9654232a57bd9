"""The workspace: where incidents live (`--home`, $WARROOM_HOME, or the platform's user data dir).

Layout: HOME/incidents/<INCIDENT_ID>/journal.db (+ -wal), evidence/, and signing.key only when no keyring.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from app.base.clock import Clock, format_instant
from app.base.errors import NotFoundError, UsageError, WarroomError
from app.composition.projections import REGISTRY
from app.incident.core import EvidenceRecord, Incident
from app.journal.chain import Journal, JournalError, JournalUnreadable
from app.team.roster import TEAM_DIR

JOURNAL_FILE = "journal.db"
INCIDENT_ID = re.compile(r"INC-[0-9]{8}-[0-9A-F]{4}")
UNFINISHED_AFTER_S = 600


class _AnalysisIndexFollows:
    """Each recorded evidence file goes into the hunt's analysis database at once (imported on first use: opening
    an incident does not load the hunt)."""

    def evidence_recorded(self, incident: Incident, record: EvidenceRecord) -> None:
        from app.hunt.index import IndexOnRecord

        IndexOnRecord().evidence_recorded(incident, record)


EVIDENCE_OBSERVERS = (_AnalysisIndexFollows(),)
MAKING_PREFIX = ".new-"  # an incident being made; renamed to its id only once its journal is complete


def default_home() -> Path:
    env = os.environ.get("WARROOM_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs  # only without --home or $WARROOM_HOME

    return Path(platformdirs.user_data_dir("warroom", appauthor=False))


@dataclass(frozen=True)
class IncidentSummary:
    """One incident as `warroom list` shows it (a dataclass: listing does not load pydantic)."""

    id: str
    title: str
    declared: str
    path: str
    demo: bool = False

    def model_dump(self) -> dict[str, Any]:
        return asdict(self)


class Workspace:
    def __init__(
        self, home: Path, clock: Clock, keyring: Any = None, *, keyring_factory: Callable[[], Any] | None = None
    ) -> None:
        self.home = home
        self.clock = clock
        self._keyring = keyring
        self._keyring_factory = keyring_factory

    @property
    def keyring(self) -> Any:
        """The keyring backend, resolved on first use: listing incidents or writing a note never needs it."""
        if self._keyring is None and self._keyring_factory is not None:
            self._keyring = self._keyring_factory()
        return self._keyring
        self.problems: list[str] = []  # incidents the last list() could not read, with the reason

    def with_clock(self, clock: Clock) -> Workspace:
        """The same workspace seen through another clock (an exercise's virtual or accelerated time)."""
        return Workspace(self.home, clock, self._keyring, keyring_factory=self._keyring_factory)

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
        join: tuple[str, dict[str, Any]] | None = None,
    ) -> Incident:
        """Declare an incident; with `join` (incident id, team facts) start this laptop's own journal for an
        incident another responder declared (app/team/roster.py): no declaration of its own is journaled."""
        if not title.strip():
            raise UsageError("an incident needs a title")
        incident_id = join[0] if join else self.new_incident_id()
        if join and not INCIDENT_ID.fullmatch(incident_id):
            raise UsageError(f"{incident_id!r} is not an incident id (INC-YYYYMMDD-XXXX)")
        if join and (self.incidents_dir / incident_id).exists():
            raise UsageError(f"{incident_id} is already in {self.home}; nothing was created")
        try:
            self.incidents_dir.mkdir(parents=True, exist_ok=True)
            self._clean_unfinished()
            making = Path(tempfile_dir(self.incidents_dir))
        except OSError as exc:
            raise WarroomError(
                f"cannot create an incident in {self.incidents_dir}: {exc.strerror or exc}; nothing was created"
            ) from None
        try:
            self._make(making, incident_id, title, actor, detected, aware, demo, extra, join[1] if join else None)
            if join:
                (making / TEAM_DIR).mkdir()
            final = self.incidents_dir / incident_id
            os.rename(making, final)
        except BaseException as exc:
            shutil.rmtree(making, ignore_errors=True)
            if isinstance(exc, OSError | sqlite3.Error | JournalError):
                why = getattr(exc, "strerror", None) or str(exc)
                raise WarroomError(
                    f"cannot create an incident in {self.incidents_dir}: {why}; nothing was created"
                ) from None
            raise
        journal = _journal_class(final).open(final / JOURNAL_FILE, self.clock, registry=REGISTRY)
        return Incident(
            final, journal, self._keyring, keyring_factory=self._keyring_factory, observers=EVIDENCE_OBSERVERS
        )

    def _make(
        self,
        incident_dir: Path,
        incident_id: str,
        title: str,
        actor: str,
        detected: datetime | None,
        aware: datetime | None,
        demo: bool,
        extra: dict[str, Any] | None,
        team: dict[str, Any] | None = None,
    ) -> None:
        """The journal (genesis and declaration) in a directory not yet named as an incident."""
        from app.journal import signing  # only when an incident is made

        key = signing.new_key()
        journal_id = str(uuid.uuid4())
        genesis = {
            "incident_id": incident_id,
            "title": title.strip(),
            "public_key": signing.public_hex(key),
            "key_fingerprint": signing.fingerprint(signing.public_hex(key)),
            "signature_alg": "ed25519",
            "demo": demo,
        }
        if team:
            genesis["team"] = team
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
        if team:
            journal.close()
            return
        try:
            declared = format_instant(self.clock.now())
            facts: dict[str, Any] = {"declared": declared}
            if detected:
                facts["detected"] = format_instant(detected)
            if aware:
                facts["aware"] = format_instant(aware)
            facts.update(extra or {})
            journal.append("incident.update", facts, actor)
        finally:
            journal.close()

    def _clean_unfinished(self) -> None:
        """Directories of incidents whose making was killed: never listed, removed at the next `new`."""
        import time

        for path in self.incidents_dir.glob(f"{MAKING_PREFIX}*"):
            with contextlib.suppress(OSError):
                if time.time() - path.stat().st_mtime > UNFINISHED_AFTER_S:  # not one being made right now
                    shutil.rmtree(path, ignore_errors=True)

    def open(self, incident_id: str | None = None) -> Incident:
        """Open by directory name: the path comes from the directory, never from what the journal says."""
        dir_id = self.resolve(incident_id)
        path = self.journal_path(dir_id)
        journal = _journal_class(path.parent).open(path, self.clock, registry=REGISTRY)
        if journal.incident_id != dir_id:
            journal.close()
            raise JournalUnreadable(
                f"{path}: the journal names itself {journal.incident_id!r}, not {dir_id}; it was copied or "
                "altered, so it is not opened (`warroom journal verify` examines it)",
                exit_code=1,
            )
        return Incident(
            path.parent, journal, self._keyring, keyring_factory=self._keyring_factory, observers=EVIDENCE_OBSERVERS
        )

    def resolve(self, incident_id: str | None) -> str:
        """An exact id, a unique case-insensitive suffix or prefix, or None for the most recent."""
        summaries = self.list()
        if not summaries:
            if self.problems:
                raise WarroomError(
                    f"no readable incidents in {self.home}: " + "; ".join(self.problems),
                    exit_code=3,
                )
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
        extra = f" ({'; '.join(self.problems)})" if self.problems else ""
        raise NotFoundError(f"no incident {incident_id!r} in {self.home}{extra}")

    def list(self) -> list[IncidentSummary]:
        """Incidents ordered by declaration, read from each journal's genesis (cheap at any size).

        The id is the directory's name (checked against the id pattern); what cannot be read is kept in
        `self.problems` with the reason, so a read-only or broken workspace is never reported as empty.
        """
        out: list[IncidentSummary] = []
        self.problems = []
        try:
            if not self.incidents_dir.is_dir():
                return out
            paths = sorted(self.incidents_dir.glob(f"*/{JOURNAL_FILE}"))
        except OSError as exc:
            self.problems.append(f"{self.incidents_dir}: {exc.strerror or exc}")
            return out
        for path in paths:
            dir_id = path.parent.name
            if not INCIDENT_ID.fullmatch(dir_id):
                continue  # not an incident directory (an incident being made, a copy set aside)
            try:
                row, title_row = _read_head(path)
            except sqlite3.Error as exc:
                self.problems.append(f"{dir_id}: cannot be read ({exc})")
                continue
            if not row:
                self.problems.append(f"{dir_id}: its journal has no genesis entry")
                continue
            data = json.loads(row[0])["data"]
            title = json.loads(title_row[0]) if title_row else data.get("title", "")
            out.append(
                IncidentSummary(id=dir_id, title=title, declared=row[1], path=str(path), demo=bool(data.get("demo")))
            )
        out.sort(key=lambda s: (s.declared, s.id))
        return out


def _journal_class(incident_dir: Path) -> type[Journal]:
    """A team incident (team/ beside the journal) reads through the merged view of every responder's chain."""
    if (incident_dir / TEAM_DIR).is_dir():
        from app.team.merged import TeamJournal

        return TeamJournal
    return Journal


def tempfile_dir(parent: Path) -> str:
    import tempfile

    return tempfile.mkdtemp(prefix=MAKING_PREFIX, dir=parent)


def _read_head(path: Path) -> tuple[Any, Any]:
    """Genesis and title, read-only; a journal on read-only media is opened immutable."""
    last: sqlite3.Error | None = None
    for mode in ("mode=ro", "mode=ro&immutable=1"):
        try:
            conn = sqlite3.connect(f"file:{path}?{mode}", uri=True)
        except sqlite3.Error as exc:
            last = exc
            continue
        try:
            row = conn.execute("SELECT body, recorded_utc FROM entries WHERE seq = 1").fetchone()
            title_row = None
            with contextlib.suppress(sqlite3.Error):
                title_row = conn.execute("SELECT value FROM state WHERE ns = 'incident' AND key = 'title'").fetchone()
            return row, title_row
        except sqlite3.Error as exc:
            last = exc
        finally:
            conn.close()
    assert last is not None
    raise last
