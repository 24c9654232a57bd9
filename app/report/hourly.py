"""Counting by the hour: the hour an instant falls in, and a count for one hour. Shared by the series that place
events on an hour axis (hunt hits by event time, API calls by source address)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.base.clock import format_instant


@dataclass(frozen=True)
class HourCount:
    hour_utc: str  # the start of the hour, e.g. 2025-08-20T09:00:00Z
    count: int


def hour_of(at: datetime) -> str:
    """The start of the hour `at` falls in, as the journal writes instants (2025-08-20T09:00:00Z)."""
    return format_instant(at.replace(minute=0, second=0, microsecond=0))
