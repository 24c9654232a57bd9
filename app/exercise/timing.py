"""The exercise clock: scenario time starts at T0 (the scenario's `start` or the seed's `organization.now`), so
the simulated org's logs, the journal and every deadline agree.

Interactive runs use an accelerated clock (x1-x600, pause/resume); headless scripted runs a virtual one that
jumps to each next event. Shared by the runner's callers (commands, scripted runs, tests and the report series).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, overload

from app.base.clock import AcceleratedClock, FrozenClock
from app.base.errors import UsageError
from app.exercise.scenario import LoadedScenario

__all__ = ["exercise_start", "make_clock"]


def exercise_start(loaded: LoadedScenario) -> datetime:
    """T0: the scenario's `start`, else the seed's `organization.now` (so the org's data lines up)."""
    from app.base.clock import ensure_utc
    from app.simorg.seed import load_seed

    if loaded.scenario.start is not None:
        return ensure_utc(loaded.scenario.start)
    return ensure_utc(load_seed(loaded.seed_ref(loaded.scenario.seed)).seed.organization.now)


@overload
def make_clock(loaded: LoadedScenario, speed: int | None, *, virtual: Literal[True]) -> FrozenClock: ...
@overload
def make_clock(loaded: LoadedScenario, speed: int | None, *, virtual: Literal[False]) -> AcceleratedClock: ...
@overload
def make_clock(loaded: LoadedScenario, speed: int | None, *, virtual: bool) -> FrozenClock | AcceleratedClock: ...


def make_clock(loaded: LoadedScenario, speed: int | None, *, virtual: bool) -> FrozenClock | AcceleratedClock:
    """A virtual clock (jumps to each event; headless runs) or an accelerated one (x1-x600; can pause)."""
    start = exercise_start(loaded)
    if virtual:
        return FrozenClock(start)
    chosen = loaded.scenario.speed if speed is None else speed
    if not 1 <= chosen <= 600:
        raise UsageError(f"--speed {chosen}: choose between 1 and 600")
    return AcceleratedClock(start, speed=chosen)
