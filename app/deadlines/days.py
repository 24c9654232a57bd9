"""How deadline time is counted: durations, holiday calendars, and when a rule falls due for a clock start.

The counting conventions are stated once, in `app/deadlines/__init__.py`."""

from __future__ import annotations

import calendar as _calendar
import re
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from app.base.clock import MAX_DURATION, check_duration, ensure_utc, format_instant
from app.deadlines.vocab import EU_MEMBER_STATES

if TYPE_CHECKING:
    from app.deadlines.rules import Rule


# -- durations --------------------------------------------------------------------------------------------------

_DURATION = re.compile(r"^\s*(\d+)\s*([wdhm])\s*$", re.I)
_ISO_DURATION = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$", re.I)
_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60}


def parse_duration(text: str) -> timedelta:
    """'72h', '3d', '2w', '90m' or ISO 8601 'P3D' / 'PT72H'; the error names the value."""
    raw = text.strip()
    if len(raw) > 40:
        raise ValueError(f"not a duration: {raw[:40]!r}... is too long (examples: 72h, 3d, 2w, PT72H)")
    try:
        m = _DURATION.match(raw)
        if m:
            seconds = int(m.group(1)) * _UNIT_SECONDS[m.group(2).lower()]
            if seconds > MAX_DURATION.total_seconds():
                raise OverflowError
            return timedelta(seconds=seconds)
        m = _ISO_DURATION.match(raw)
        if m and raw.upper() not in ("P", "PT") and any(m.groups()):
            w, d, h, mins = (int(g or 0) for g in m.groups())
            return check_duration(timedelta(weeks=w, days=d, hours=h, minutes=mins))
    except (OverflowError, ValueError):
        raise ValueError(
            f"duration {text!r} is longer than the {MAX_DURATION.days} days allowed (examples: 72h, 3d, 2w, PT72H)"
        ) from None
    raise ValueError(f"not a duration: {text!r} (examples: 72h, 3d, 2w, PT72H)")


def format_duration(td: timedelta) -> str:
    """Compact, signed: '2d 03h', '4h 05m', '-1h 30m'."""
    secs = int(td.total_seconds())
    sign = "-" if secs < 0 else ""
    secs = abs(secs)
    days, rem = divmod(secs, 86400)
    hours, rem = divmod(rem, 3600)
    minutes = rem // 60
    if days:
        return f"{sign}{days}d {hours:02d}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    return f"{sign}{minutes}m"


def duration_text(td: timedelta) -> str:
    secs = int(td.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if secs and secs % size == 0:
            return f"{secs // size}{unit}"
    return f"{secs // 60}m"


# -- calendars ----------------------------------------------------------------------------------------------------

_holiday_lock = threading.Lock()


@cache
def _holiday_table(code: str) -> Any:
    import holidays  # imported on first use: most commands never count business days

    country, _, subdiv = code.partition("-")
    return holidays.country_holidays(country, subdiv=subdiv or None)


def holiday_name(code: str, day: date) -> str | None:
    """The public holiday on `day` in calendar `code` ('BR', 'US', 'US-VT', 'GB'...), or None."""
    table = _holiday_table(code)
    with _holiday_lock:  # the table grows lazily by year; not safe to grow from two threads at once
        return table.get(day)


def is_business_day(code: str, day: date) -> bool:
    return day.weekday() < 5 and holiday_name(code, day) is None


def check_calendar(code: str) -> str:
    try:
        _holiday_table(code)
    except (NotImplementedError, KeyError, ValueError) as exc:
        raise ValueError(f"unknown holiday calendar {code!r} (use ISO codes such as BR, US, US-VT): {exc}") from None
    return code


# -- day counting -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Place:
    """Where a rule's days are counted: an IANA time zone and a `holidays` calendar code.

    `recorded` holds the holiday dates journaled when the clock was recorded, for the days in
    `recorded_range`: inside that range they decide, so another machine with another `holidays` release counts
    the same due date; outside it the installed calendar does."""

    timezone: str
    calendar: str
    recorded: tuple[tuple[date, str], ...] | None = None
    recorded_range: tuple[date, date] | None = None

    def holiday(self, day: date) -> str | None:
        """The holiday on `day` in this place's calendar: the recorded dates first, else the installed ones."""
        if (
            self.recorded is not None
            and self.recorded_range
            and self.recorded_range[0] <= day <= self.recorded_range[1]
        ):
            return next((name for d, name in self.recorded if d == day), None)
        return holiday_name(self.calendar, day)

    def holidays_between(self, first: date, last: date) -> list[tuple[date, str]]:
        """Every holiday from `first` to `last` inclusive, as this place counts them."""
        out, day = [], first
        while day <= last:
            name = self.holiday(day)
            if name:
                out.append((day, name))
            day += timedelta(days=1)
        return out


def holidays_release() -> str:
    """The installed `holidays` package release, recorded with each clock."""
    import holidays

    return str(getattr(holidays, "__version__", "unknown"))


def rule_place(rule: Rule, eu_member_state: str | None = None) -> Place:
    if rule.code == "EU" and eu_member_state in EU_MEMBER_STATES:
        return Place(EU_MEMBER_STATES[eu_member_state], eu_member_state)
    return Place(rule.timezone, rule.calendar)


def _end_of_day(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=tz).astimezone(UTC)


def _add_months(day: date, months: int) -> date:
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))


def due_with_basis(rule: Rule, start: datetime, place: Place | None = None) -> tuple[datetime | None, str]:
    """When `rule` falls due for a clock started at `start`, and how that was counted (for the record)."""
    start = ensure_utc(start)
    place = place or rule_place(rule)
    tz = ZoneInfo(place.timezone)
    local = start.astimezone(tz)
    n = rule.period
    if n is None:
        return None, f"no fixed period ({rule.period_text()}): elapsed time is shown, not a countdown"
    if rule.day_kind == "hours":
        due = start + timedelta(hours=n)
        return (
            due,
            f"{n} hours after {format_instant(start)}, counted continuously (UTC; DST and weekends do not move it)",
        )
    if rule.day_kind == "calendar":
        last = local.date() + timedelta(days=n)
        return _end_of_day(last, tz), (
            f"{n} calendar days after {local.date().isoformat()} ({place.timezone}); ends 23:59:59 local "
            f"on {last.isoformat()}{_closed_day_note(place, last)}"
        )
    if rule.day_kind == "months":
        last = _add_months(local.date(), n)
        return _end_of_day(last, tz), (
            f"{n} month{'s' if n != 1 else ''} after {local.date().isoformat()} ({place.timezone}); ends "
            f"23:59:59 local on {last.isoformat()}"
        )
    day, counted, skipped = local.date(), 0, []
    while counted < n:
        day += timedelta(days=1)
        name = place.holiday(day)
        if day.weekday() >= 5:
            continue
        if name:
            skipped.append(f"{day.isoformat()} {name}")
            continue
        counted += 1
    holidays_text = f"; holidays skipped: {', '.join(skipped)}" if skipped else ""
    return _end_of_day(day, tz), (
        f"{n} business days after {local.date().isoformat()} ({place.timezone}, {place.calendar} holidays and "
        f"weekends skipped); ends 23:59:59 local on {day.isoformat()}{holidays_text}"
    )


def _closed_day_note(place: Place, day: date) -> str:
    """Say so when a calendar-day period ends on a weekend or holiday: the due date is not moved."""
    name = place.holiday(day)
    if day.weekday() < 5 and name is None:
        return ""
    what = name or day.strftime("%A")
    return (
        f" ({what}; not moved to the next working day: no rule in this table extends a calendar-day period, "
        "so the earlier date is kept)"
    )


def year_end_start(rule: Rule, discovered: datetime) -> tuple[datetime, str]:
    """Annual-log rules (HIPAA, FTC HBNR under 500) count from the end of the calendar year of discovery."""
    tz = ZoneInfo(rule.timezone)
    year = discovered.astimezone(tz).year
    return _end_of_day(date(year, 12, 31), tz), f"end of {year}, the calendar year of discovery"


def compute_due(rule: Rule, start: datetime, place: Place | None = None) -> datetime | None:
    """The UTC due time of `rule` for a clock started at `start`, or None when the law sets no period."""
    return due_with_basis(rule, start, place)[0]
