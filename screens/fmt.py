"""How times and durations are written on screen: short, fixed-width where it matters, legible at 3 a.m."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from app.base.clock import parse_instant


def duration(delta: timedelta, *, seconds: bool = True) -> str:
    """`2d 03:15:07`, `03:15:07`; negative durations get a leading minus."""
    total = int(delta.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}" if seconds else f"{hours:02d}:{minutes:02d}"
    return f"{sign}{days}d {clock}" if days else f"{sign}{clock}"


def utc(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%SZ")


def local(at: datetime, zone: ZoneInfo | None) -> str:
    here = at.astimezone(zone) if zone else at.astimezone()
    return here.strftime("%H:%M:%S %Z")


def short_when(text: str | None, zone: ZoneInfo | None = None) -> str:
    """A journaled instant as `11-27 14:00Z` (UTC keeps every screen and every log in one zone)."""
    if not text:
        return ""
    try:
        at = parse_instant(text)
    except ValueError:
        return text
    return at.strftime("%m-%d %H:%MZ")


def bar(done: int, total: int, width: int = 10) -> str:
    """A text progress bar that still reads in monochrome: `█████░░░░░ 5/10`."""
    filled = 0 if total <= 0 else round(width * done / total)
    return "█" * filled + "░" * (width - filled) + f" {done}/{total}"


def compact(delta: timedelta) -> str:
    """Two units at most: `3d04h`, `5h12m`, `12m05s`; for narrow columns."""
    total = abs(int(delta.total_seconds()))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s"


def stamp(value: str | datetime | None, zone: ZoneInfo | None = None) -> str:
    """A recorded instant for reading: `2026-11-27 14:00:05 UTC` (seconds and the zone, never microseconds);
    with `zone`, in that zone and named (`2026-11-27 15:00:05 CET`). Text that is not an instant stays as is."""
    if value is None or value == "":
        return "-"
    if isinstance(value, str):
        try:
            at = parse_instant(value)
        except ValueError:
            return value
    else:
        at = value
    if zone is not None:
        return at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")
    return at.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M:%S UTC")
