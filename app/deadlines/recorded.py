"""Reproducible clocks: each clock that starts or changes is journaled (`deadline.clock`) with the rule text
that judged it, its start and due time, and the holiday calendar used: the `holidays` release and the holiday
dates themselves for the days that were counted.

Reading an incident back, a clock counts its days with those recorded holiday dates (when the same text,
calendar and zone still apply), so the console, the report and another machine with another `holidays`
release show the same due date; when the installed calendar would count differently, the timer says so and
names the dates that differ.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from app.base.clock import parse_instant
from app.deadlines.days import Place, holidays_release

if TYPE_CHECKING:
    from app.deadlines.engine import Timer


class RecordedClock(BaseModel):
    """The last `deadline.clock` entry of one rule."""

    model_config = ConfigDict(extra="ignore")

    rule: str
    seq: int
    version: str
    start_utc: str
    due_utc: str | None = None
    state: str
    calendar: str
    timezone: str
    holidays_release: str
    holidays_from: date | None = None
    holidays_to: date | None = None
    holidays: list[tuple[date, str]] = []

    def place(self) -> Place:
        """Where this clock's days were counted, with the holiday dates as recorded."""
        span = (self.holidays_from, self.holidays_to) if self.holidays_from and self.holidays_to else None
        return Place(self.timezone, self.calendar, tuple(self.holidays) if span else None, span)


def recorded_place(place: Place, version: str, rec: RecordedClock | None) -> Place:
    """`place` with the recorded holiday dates, when the record is of the same text, calendar and zone."""
    if rec is None or rec.version != version or (rec.calendar, rec.timezone) != (place.calendar, place.timezone):
        return place
    return rec.place()


def calendar_difference(rec: RecordedClock, installed: Place) -> str:
    """The holiday dates in the recorded span that the installed calendar lists differently."""
    if rec.holidays_from is None or rec.holidays_to is None:
        return ""
    then = dict(rec.holidays)
    now = dict(installed.holidays_between(rec.holidays_from, rec.holidays_to))
    diffs = [
        f"{d} {'recorded ' + then[d] if d in then else 'not a holiday then'}, "
        f"{'now ' + now[d] if d in now else 'not a holiday now'}"
        for d in sorted(set(then) | set(now))
        if then.get(d) != now.get(d)
    ]
    return "; ".join(diffs)


def incident_recorded(journal: Any) -> dict[str, RecordedClock]:
    return {rid: RecordedClock.model_validate(v) for rid, v in journal.state("deadline.clocks").items()}


def _key(t: Timer | RecordedClock) -> tuple[Any, ...]:
    paused = t.state == "paused"
    return (t.version, t.start_utc, None if paused else t.due_utc, paused, t.calendar, t.timezone)


def clock_entries(timers: Sequence[Timer], recorded: Mapping[str, RecordedClock]) -> list[dict[str, Any]]:
    """The `deadline.clock` entries owed: each started clock whose text, start, due time or calendar differs
    from what was last recorded for it (a paused clock is recorded once, when it pauses)."""
    out = []
    for t in timers:
        if t.start_utc is None or t.state in ("not_applicable", "pending"):
            continue
        prev = recorded.get(t.rule)
        if prev is not None and _key(prev) == _key(t):
            continue
        place = recorded_place(Place(t.timezone, t.calendar), t.version, prev)
        data: dict[str, Any] = {
            "rule": t.rule,
            "version": t.version,
            "citation": t.citation,
            "start_utc": t.start_utc,
            "due_utc": None if t.state == "paused" else t.due_utc,
            "state": t.state,
            "basis": t.basis,
            "calendar": t.calendar,
            "timezone": t.timezone,
            "holidays_release": t.holidays_release or holidays_release(),
        }
        if t.due_utc and t.state != "paused":
            first = parse_instant(t.start_utc).astimezone(ZoneInfo(t.timezone)).date()
            last = parse_instant(t.due_utc).astimezone(ZoneInfo(t.timezone)).date()
            if last >= first:
                data["holidays_from"], data["holidays_to"] = first.isoformat(), last.isoformat()
                data["holidays"] = [[d.isoformat(), name] for d, name in place.holidays_between(first, last)]
        out.append(data)
    return out


def project_clock(entry: Any, get: Any) -> Iterable[tuple[str, str, Any]]:
    yield "deadline.clocks", entry.data["rule"], {**entry.data, "seq": entry.seq}
