"""How the simulated org compares SOQL values: the comparison key of a stored value, datetime literals,
relative date ranges (TODAY, LAST_N_DAYS:n...) and LIKE patterns.

Shared by the query compiler and the store's indexes, which must key values exactly as a filter compares them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from app.simorg.ids import id_key
from app.simorg.schema import FieldDef

__all__ = ["as_datetime", "like_regex", "normalize", "parse_datetime", "relative_range"]


def parse_datetime(text: str) -> datetime:
    """A SOQL datetime literal (Z or a +hh[:]mm offset) in UTC."""
    raw = text.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", raw):
        raw = raw[:-2] + ":" + raw[-2:]
    return datetime.fromisoformat(raw).astimezone(UTC)


def relative_range(name: str, n: int, now: datetime) -> tuple[datetime, datetime]:
    """The [start, end) UTC range a relative date literal (TODAY, LAST_N_DAYS:n...) names at `now`."""
    today = datetime(now.year, now.month, now.day, tzinfo=UTC)
    day = timedelta(days=1)
    if name == "today":
        return today, today + day
    if name == "yesterday":
        return today - day, today
    if name == "tomorrow":
        return today + day, today + 2 * day
    if name == "last_n_days":
        return today - n * day, today + day
    if name == "next_n_days":
        return today + day, today + (n + 1) * day
    if name == "n_days_ago":
        return today - n * day, today - (n - 1) * day
    if name in ("last_week", "this_week", "next_week"):
        start = today - timedelta(days=(today.weekday() + 1) % 7)  # weeks start on Sunday
        shift = {"last_week": -1, "this_week": 0, "next_week": 1}[name]
        return start + shift * 7 * day, start + (shift + 1) * 7 * day
    if name == "last_n_weeks":
        start = today - timedelta(days=(today.weekday() + 1) % 7)
        return start - n * 7 * day, start
    if name == "next_n_weeks":
        start = today - timedelta(days=(today.weekday() + 1) % 7) + 7 * day
        return start, start + n * 7 * day
    first = today.replace(day=1)
    if name == "this_month":
        return first, _add_months(first, 1)
    if name == "last_month":
        return _add_months(first, -1), first
    if name == "next_month":
        return _add_months(first, 1), _add_months(first, 2)
    if name == "last_n_months":
        return _add_months(first, -n), first
    raise ValueError(name)


def _add_months(d: datetime, months: int) -> datetime:
    idx = d.year * 12 + d.month - 1 + months
    return d.replace(year=idx // 12, month=idx % 12 + 1, day=1)


def as_datetime(v: Any) -> datetime:
    if isinstance(v, datetime):
        return v
    return datetime(v.year, v.month, v.day, tzinfo=UTC)


def normalize(fd: FieldDef, v: Any) -> Any:
    """Comparison key of a stored value."""
    if v is None:
        return None
    if fd.type in ("id", "reference"):
        return id_key(v)
    if isinstance(v, str):
        return v.lower()
    return v


def like_regex(pattern: str) -> re.Pattern[str]:
    """A LIKE pattern (% and _, backslash-escaped) as a case-insensitive regular expression."""
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "%_":
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)
