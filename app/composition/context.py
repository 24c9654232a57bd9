"""What every command handler receives: workspace, actor, clock, keyring and the output streams.

Built once per invocation from the arguments and environment; tests build it with a frozen clock and an
isolated keyring, and the console gets the same object, so every path runs the same code.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from app.base.clock import Clock, SystemClock
from app.base.errors import WarroomError
from app.base.progress import Progress, for_stream, is_terminal
from app.base.redaction import redact
from app.composition.workspace import Workspace, default_home
from app.incident.core import Incident

if TYPE_CHECKING:
    from app.journal.entries import Entry


def default_actor() -> str:
    env = os.environ.get("WARROOM_ACTOR")
    if env:
        return env
    try:
        return getpass.getuser()
    except Exception:
        return "responder"


def default_keyring() -> Any:
    import keyring

    return keyring.get_keyring()


class Console(Protocol):
    """Starts the console on an incident (None: the latest), or on a fresh demo; returns the exit code."""

    def __call__(self, ctx: Any, incident_id: str | None = None, demo: bool = False) -> int: ...


@dataclass
class Context:
    home: Path
    actor: str
    clock: Clock = field(default_factory=SystemClock)
    keyring: Any = None
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    exercise: Any = None  # the ExerciseRunner of a live tabletop (`warroom exercise run`); the console drives it
    console: Console | None = None  # starts the console; injected by the `warroom` entry point (screens/entry.py)
    # Orgs a command logged in to (`app.salesforce.orgs.open_org`); logged out when the command ends.
    orgs: list[Any] = field(default_factory=list, repr=False)
    json_mode: bool = False  # the command runs with --json: messages on stderr are JSON objects too
    terminal: bool | None = None  # whether a person is at a terminal (None: ask stdin and stdout)
    _live: Progress | None = field(default=None, init=False, repr=False)  # the progress shown on stderr, if any
    # The journal entries this command wrote, when asked for (a list): what a command without its own JSON
    # result reports under --json.
    made: list[dict[str, Any]] | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_args(cls, args: argparse.Namespace, **overrides: Any) -> Context:
        home = getattr(args, "home", None) or default_home()
        actor = getattr(args, "actor", None) or default_actor()
        return cls(home=Path(home).expanduser(), actor=actor, **overrides)

    def close_orgs(self) -> list[str]:
        """Log out of every org this command opened, newest first; returns what the orgs did not confirm."""
        problems: list[str] = []
        while self.orgs:
            org = self.orgs.pop()
            try:
                org.close()
            except Exception as exc:  # one org that cannot log out must not keep the others' sessions open
                problems.append(f"{getattr(org, 'alias', 'org')}: {exc}")
                continue
            if getattr(org, "logout_error", None):
                problems.append(f"{getattr(org, 'alias', 'org')}: {org.logout_error}")
        return problems

    def get_keyring(self) -> Any:
        """The injected backend, else the platform's (resolved lazily: it can be slow or absent)."""
        if self.keyring is None:
            self.keyring = default_keyring()
        return self.keyring

    @property
    def workspace(self) -> Workspace:
        return Workspace(self.home, self.clock, self.keyring, keyring_factory=self.get_keyring)

    def open_incident(self, incident_id: str | None = None) -> Incident:
        """Open an incident and fold back what an earlier run kept aside (containment results)."""
        incident = self.workspace.open(incident_id)
        if self.made is not None:
            made = self.made
            incident.journal.subscribe(lambda entry: made.append(entry_made(incident, entry)))
        if (incident.dir / "unjournaled").is_dir():  # only then is containment's recovery loaded (start-up cost)
            from app.containment.recovery import recover_unjournaled

            recover_unjournaled(incident, self.actor, self.error)
        try:
            cleaned = incident.clean_leftovers(self.actor)
        except WarroomError as exc:  # a read-only or full disk: reported, never in the way of the command
            self.error(f"evidence store not cleaned: {exc}")
        else:
            if cleaned is not None:
                self.error(
                    f"removed {cleaned.data['count']} file(s), {cleaned.data['bytes']} bytes, left in the evidence "
                    f"store by killed or failed intakes (entry {cleaned.seq})"
                )
        return incident

    def progress(self, *, quiet: bool = False) -> Progress:
        """Progress for slow work on stderr: a bar when stderr is a terminal, else its notes (none if `quiet`).
        Anything the command prints afterwards ends the bar first, so output never lands on the bar's line."""
        self.end_progress()  # one bar at a time: a new piece of work ends the one before
        self._live = for_stream(self.stderr, quiet=quiet)
        return self._live

    def end_progress(self) -> None:
        if self._live is not None:
            live, self._live = self._live, None
            live.stop()

    def print(self, text: str = "") -> None:
        self.end_progress()
        self.stdout.write(redact(str(text)) + "\n")
        self.stdout.flush()

    def print_json(self, obj: Any) -> None:
        from pydantic import BaseModel

        if isinstance(obj, BaseModel):
            text = obj.model_dump_json(indent=2)
        elif isinstance(obj, list) and obj and all(isinstance(o, BaseModel) for o in obj):
            text = json.dumps([o.model_dump(mode="json") for o in obj], indent=2)
        else:
            text = json.dumps(obj, indent=2, default=str)
        self.print(text)

    def is_terminal(self) -> bool:
        """A person at a terminal: stdin and stdout are both one (the console needs it)."""
        if self.terminal is None:
            return is_terminal(self.stdin) and is_terminal(self.stdout)
        return self.terminal

    def error(self, text: str) -> None:
        self.end_progress()
        line = json.dumps({"message": redact(str(text))}) if self.json_mode else redact(f"warroom: {text}")
        self.stderr.write(line + "\n")
        self.stderr.flush()


def entry_made(incident: Incident, entry: Entry | None) -> dict[str, Any]:
    """A journal entry as a command reports what it made: where it is (seq, id, kind, hash) and the journal's size
    and root right after it, so the result can be checked against the journal later. None: nothing written."""
    head = incident.journal.head()
    return {
        "incident": incident.id,
        "seq": entry.seq if entry else None,
        "entry_id": entry.entry_id if entry else None,
        "kind": entry.kind if entry else None,
        "entry_hash": entry.entry_hash if entry else None,
        "journal_size": head.size,
        "journal_root": head.root_hex,
    }
