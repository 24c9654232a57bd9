"""The demo incident the report tests share: the shipped chat-vendor tabletop played with its shipped script, so
the report has hunts, containment, notices and checklist work to draw."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app.base.clock import FrozenClock, parse_instant
from app.composition.workspace import Workspace
from app.incident.core import Incident
from tests.conftest import MemoryKeyring, isolated

SCENARIO = "chat-vendor-theft"


@dataclass
class PlayedDemo:
    home: Path
    keyring: MemoryKeyring
    incident_id: str

    def run(self, *args: str) -> tuple[int, str, str]:
        """`warroom ARGS` in-process against this workspace (system clock, as the tabletop CLI runs)."""
        from app import cli
        from app.base.clock import SystemClock
        from app.composition.context import Context

        out, err = io.StringIO(), io.StringIO()
        ns = cli.build_parser().parse_args(["--home", str(self.home), *args])
        with isolated(self.home, self.keyring):
            ctx = Context.from_args(
                ns, clock=SystemClock(), keyring=self.keyring, stdout=out, stderr=err, stdin=io.StringIO()
            )
            ctx.actor = "auditor.prep"
            code = cli.dispatch(ctx, ns)
        return code, out.getvalue(), err.getvalue()

    @contextmanager
    def incident(self) -> Iterator[Incident]:
        with isolated(self.home, self.keyring):
            ws = Workspace(self.home, FrozenClock(parse_instant("2030-01-01T00:00:00Z")), self.keyring)
            with ws.open(self.incident_id) as incident:
                yield incident


def play_demo(home: Path) -> PlayedDemo:
    played = PlayedDemo(home, MemoryKeyring(), "")
    code, out, err = played.run("exercise", "run", SCENARIO, "--script", SCENARIO, "--json")
    assert code == 0, err + out[-2000:]
    played.incident_id = json.loads(out)["incident_id"]
    return played
