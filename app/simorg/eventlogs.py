"""Event Log Files the simulated org writes: each type's documented header, row values, the file's metadata.

Columns come from `app/data/salesforce/event_log_files.toml` (the documented header per type), so a seed can
only fill columns Salesforce documents, and every file carries the full header a real org would send.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from app.base.sfschema import LogType, salesforce_schema

# Columns typed Number in LogFileFieldTypes (the rest are String, Id or DateTime).
_NUMBER_COLUMNS = frozenset(
    {
        "RUN_TIME",
        "CPU_TIME",
        "DB_TOTAL_TIME",
        "DB_BLOCKS",
        "DB_CPU_TIME",
        "ROWS_PROCESSED",
        "REQUEST_SIZE",
        "RESPONSE_SIZE",
        "NUMBER_FIELDS",
        "ROW_COUNT",
        "NUMBER_COLUMNS",
        "NUMBER_FAILURES",
        "STATUS_CODE",
        "RECORDS_PROCESSED",
        "RECORDS_FAILED",
        "RESULT_SIZE_MB",
        "API_VERSION",
    }
)


def log_type(name: str) -> LogType | None:
    return salesforce_schema().log_type(name)


def free_types() -> list[str]:
    """Types an org has without the Event Monitoring add-on."""
    return sorted(n for n, t in salesforce_schema().log_types.items() if t.free)


def csv_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return str(v)


def render_log(
    event_type: str,
    org_id: str,
    file_no: int,
    rows: list[dict[str, Any]],
    resolve: Callable[[str, Any], dict[str, Any]],
) -> tuple[bytes, list[str]]:
    """The CSV body and its columns. `resolve(key, value)` turns a seed shortcut ("at", "user", "app") into
    columns; other keys are column names, already checked against the documented header."""
    spec = log_type(event_type)
    if spec is None:
        raise KeyError(f"undocumented event type {event_type!r}")
    columns = spec.columns
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(columns)
    for j, raw in enumerate(rows):
        values: dict[str, Any] = {"EVENT_TYPE": event_type, "ORGANIZATION_ID": org_id[:15]}
        values["REQUEST_ID"] = hashlib.blake2b(f"{org_id}:{file_no}:{j}".encode(), digest_size=8).hexdigest()
        for name, value in raw.items():
            values.update(resolve(name, value))
        writer.writerow(["" if values.get(c) is None else csv_value(values[c]) for c in columns])
    return out.getvalue().encode("utf-8"), list(columns)


def field_types(columns: list[str]) -> str:
    """LogFileFieldTypes for a header."""
    return ",".join(
        "Number"
        if c in _NUMBER_COLUMNS
        else "DateTime"
        if c == "TIMESTAMP_DERIVED"
        else "Id"
        if c.endswith("_ID") or c.endswith("_ID_DERIVED")
        else "String"
        for c in columns
    )


def timestamps(at: datetime) -> dict[str, str]:
    return {
        "TIMESTAMP": at.strftime("%Y%m%d%H%M%S.") + f"{at.microsecond // 1000:03d}",
        "TIMESTAMP_DERIVED": at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z",
    }


def log_day_and_created(log_date: datetime, interval: str) -> tuple[datetime, datetime]:
    """LogDate (midnight for daily files) and when the file appears (next day for daily, hours later hourly)."""
    if interval == "Daily":
        day = datetime(log_date.year, log_date.month, log_date.day, tzinfo=UTC)
        return day, day + timedelta(days=1, hours=3)
    return log_date, log_date + timedelta(hours=4)
