"""Injected time: the real clock, a frozen one for tests, an accelerated one for tabletop exercises.

Everything that needs "now" takes a Clock, so a demo, an exercise and a real incident run the same code.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Aware UTC datetime."""
        ...

    def monotonic_ns(self) -> int: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic_ns(self) -> int:
        return time.monotonic_ns()


class FrozenClock:
    """A clock that only moves when told to; for tests and snapshots."""

    def __init__(self, at: datetime) -> None:
        self._at = ensure_utc(at)
        self._mono = 1_000_000_000

    def now(self) -> datetime:
        return self._at

    def monotonic_ns(self) -> int:
        return self._mono

    def advance(self, delta: timedelta) -> None:
        self._at += delta
        self._mono += max(0, int(delta.total_seconds() * 1e9))

    def set(self, at: datetime) -> None:
        """Jump to `at` (possibly backwards, to test clock regressions)."""
        self._at = ensure_utc(at)


class AcceleratedClock:
    """Scenario time that runs `speed` times faster than the wall clock and can pause.

    Tabletop exercises use it so a 72-hour clock can be played through in minutes.
    """

    def __init__(self, start: datetime, speed: float = 1.0, base: Clock | None = None) -> None:
        if not 1 <= speed <= 600:
            raise ValueError("speed must be between 1 and 600")
        self._base = base or SystemClock()
        self._lock = threading.Lock()
        self._scenario_at_anchor = ensure_utc(start)
        self._wall_anchor = self._base.monotonic_ns()
        self._speed = speed
        self._paused = False

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def paused(self) -> bool:
        return self._paused

    def _elapsed_ns(self) -> float:
        if self._paused:
            return 0.0
        return (self._base.monotonic_ns() - self._wall_anchor) * self._speed

    def now(self) -> datetime:
        with self._lock:
            return self._scenario_at_anchor + timedelta(microseconds=self._elapsed_ns() / 1000)

    def monotonic_ns(self) -> int:
        return self._base.monotonic_ns()

    def _rebase(self) -> None:
        self._scenario_at_anchor = self._scenario_at_anchor + timedelta(microseconds=self._elapsed_ns() / 1000)
        self._wall_anchor = self._base.monotonic_ns()

    def set_speed(self, speed: float) -> None:
        if not 1 <= speed <= 600:
            raise ValueError("speed must be between 1 and 600")
        with self._lock:
            self._rebase()
            self._speed = speed

    def pause(self) -> None:
        with self._lock:
            self._rebase()
            self._paused = True

    def resume(self) -> None:
        with self._lock:
            self._wall_anchor = self._base.monotonic_ns()
            self._paused = False


def ensure_utc(at: datetime) -> datetime:
    """Naive datetimes are refused: an ambiguous time has no place in an evidence trail."""
    if at.tzinfo is None:
        raise ValueError(f"time {at.isoformat()} has no time zone")
    return at.astimezone(UTC)


EARLIEST_YEAR = 1970  # instants a command accepts unless it says otherwise: a typo (0205 for 2025) is refused
LATEST_YEAR = 2100
MAX_DURATION = timedelta(days=3660)  # about ten years: the longest duration any setting, target or window takes
_MAX_INSTANT_TEXT = 64


def parse_instant(text: str, *, earliest: int = EARLIEST_YEAR, latest: int = LATEST_YEAR) -> datetime:
    """Parse an ISO 8601 instant with an explicit offset or Z, between the years `earliest` and `latest` (UTC).

    The offset is applied safely (year 1 at +01:00 is an error, not an OverflowError); the error names the value.
    """
    raw = text.strip()
    if len(raw) > _MAX_INSTANT_TEXT:
        raise ValueError(f"not an ISO 8601 time: {raw[:_MAX_INSTANT_TEXT]!r}... is too long")
    try:
        at = datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError:
        raise ValueError(f"not an ISO 8601 time: {text!r} (example: 2026-11-27T09:30:00Z)") from None
    if at.tzinfo is None:
        raise ValueError(f"time {text!r} needs a zone offset or Z (example: 2026-11-27T09:30:00Z)")
    try:
        utc = at.astimezone(UTC)
    except (OverflowError, ValueError):
        utc = None
    if utc is None or not earliest <= utc.year <= latest:
        raise ValueError(f"time {text!r} is outside the years {earliest}-{latest} (UTC); check the year")
    return utc


def read_instant(value: object) -> datetime | None:
    """A journaled instant read back, or None when it cannot be used (an old value from before validation)."""
    if not isinstance(value, str):
        return None
    try:
        return parse_instant(value)
    except ValueError:
        return None


def check_duration(delta: timedelta, what: str = "duration", maximum: timedelta = MAX_DURATION) -> timedelta:
    """`delta` when it is within +-`maximum`; a clear error otherwise."""
    if abs(delta) > maximum:
        raise ValueError(f"{what} of {delta.days} days is longer than the {maximum.days} days allowed")
    return delta


def format_instant(at: datetime) -> str:
    """RFC 3339 UTC with Z (four-digit year), to the microsecond only when there is one."""
    at = ensure_utc(at).replace(tzinfo=None)
    return at.isoformat(timespec="microseconds" if at.microsecond else "seconds") + "Z"


def humane_instant(at: datetime | str) -> str:
    """For people reading a report: `2025-08-20 09:14:07 UTC` (to the second, the zone named, no microseconds)."""
    t = parse_instant(at) if isinstance(at, str) else ensure_utc(at)
    return t.strftime("%Y-%m-%d %H:%M:%S UTC")
