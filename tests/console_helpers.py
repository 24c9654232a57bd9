"""Build the console for tests: an isolated workspace, a frozen clock, the demo incident with a fixed id shown."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.clock import FrozenClock
from app.context import Context
from app.incident import Incident
from app.journal import Head
from screens.factory import build_app
from screens.settings import ConsoleSettings

FIXED_ID = "INC-20261127-TEST"
FIXED_ROOT = "00000-00000-00000-00000"


def fixed_root(head: Head) -> str:
    """Entry ids are random, so the root is too; snapshots show a placeholder instead."""
    return FIXED_ROOT


@dataclass
class Console:
    ctx: Context
    incident: Incident
    clock: FrozenClock

    def app(self, settings: ConsoleSettings | None = None, org_factory: Any = None, **options: Any) -> Any:
        settings = settings or ConsoleSettings(local_tz="Europe/Paris")
        options.setdefault("display_id", FIXED_ID)
        options.setdefault("root_display", fixed_root)
        return build_app(self.ctx, self.incident, self.clock, org_factory, settings, **options)

    def reopen(self) -> Console:
        self.incident.close()
        return Console(self.ctx, self.ctx.open_incident(self.incident.id), self.clock)


def make_context(home: Path, clock: FrozenClock, keyring: Any) -> Context:
    return Context(home=home, actor="tester", clock=clock, keyring=keyring)
