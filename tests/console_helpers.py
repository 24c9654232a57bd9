"""Build the console for tests: an isolated workspace, a frozen clock, the demo incident with a fixed id shown;
and the Pilot steps the console tests share (wait for workers, for a screen, fill a dialog)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.base.clock import FrozenClock
from app.composition.context import Context
from app.incident.core import Incident
from app.journal.chain import Head
from screens.factory import build_app
from screens.modals.form import FormModal
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


@contextmanager
def demo_console(home: Path, clock: FrozenClock, keyring: Any) -> Iterator[Console]:
    """The demo incident in a fresh workspace, closed afterwards (for a test module's `console` fixture)."""
    from app.exercise import demo

    ctx = make_context(home, clock, keyring)
    c = Console(ctx, demo.create_demo_incident(ctx), clock)
    try:
        yield c
    finally:
        c.incident.close()


async def drained(pilot: Any) -> None:
    """Wait until the messages already queued for the screen, then for the app, have been handled.

    Each message pump handles its queue in order, so a callback queued now runs after them. A finished
    worker's state change (which reports a failure and posts its notification) is queued before
    `wait_for_complete` returns but handled later; waiting for an idle CPU does not wait for it on a busy
    machine, this does.
    """
    for pump in (pilot.app.screen, pilot.app):
        done = asyncio.Event()
        if pump.call_later(done.set):
            await done.wait()


async def settle(pilot: Any) -> None:
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await drained(pilot)
    await pilot.pause()


async def until(pilot: Any, predicate: Any, tries: int = 1000) -> None:
    """Wait for the UI to reach a state (a loaded machine takes longer to mount a dialog)."""
    for _ in range(tries):
        if predicate():
            return
        await pilot.pause(0.02)
    raise AssertionError("the console did not reach the expected state")


async def press_for(pilot: Any, key: str, screen_type: type) -> None:
    await pilot.press(key)
    await until(pilot, lambda: isinstance(pilot.app.screen, screen_type))


async def fill(pilot: Any, values: dict[str, str]) -> None:
    from textual.widgets import Input, Select

    # A palette command opens the dialog a moment later, and a pushed screen is composed after that.
    await until(pilot, lambda: isinstance(pilot.app.screen, FormModal) and bool(pilot.app.screen.query("#ok")))
    modal = pilot.app.screen
    assert isinstance(modal, FormModal)
    for name, value in values.items():
        widget = modal.query_one(f"#field-{name}")
        if isinstance(widget, Select):
            widget.value = value
        else:
            assert isinstance(widget, Input)
            widget.value = value
    await pilot.pause()
    modal.query_one("#ok").press()
    await settle(pilot)


async def palette(pilot: Any, name: str) -> None:
    """Run a command the way a responder does: ctrl+p, type its name, pick the hit that reads exactly so."""
    from textual.command import CommandInput, CommandList, CommandPalette

    await pilot.press("ctrl+p")
    await until(pilot, lambda: isinstance(pilot.app.screen, CommandPalette))
    screen = pilot.app.screen
    screen.query_one(CommandInput).value = name
    hits = screen.query_one(CommandList)

    def exact() -> int | None:
        for i in range(hits.option_count):
            if hits.get_option_at_index(i).hit.text == name:
                return i
        return None

    await until(pilot, lambda: exact() is not None)
    hits.highlighted = exact()
    await pilot.pause()
    await pilot.press("enter")
    await until(pilot, lambda: not isinstance(pilot.app.screen, CommandPalette))
    await pilot.pause()
