"""API calls in the preserved Event Log Files, counted per hour, user, address and (where the log type documents
it) connected app. The raw material of "token use by address over time".

Only documented columns are read. The API, RestApi, BulkApi and BulkApi2 headers (Object Reference, EventLogFile
supported event types; app/data/salesforce/event_log_files.toml) carry USER_ID, CLIENT_IP, REQUEST_ID, TIMESTAMP
and TIMESTAMP_DERIVED, and no connected-app column: a call there is tied to a user, never to an app. Of the API
types, only ApiTotalUsage documents CONNECTED_APP_ID and CONNECTED_APP_NAME. Whether an ApiTotalUsage row repeats
a request that an API or RestApi row also logs the documentation does not say; the reference notes that one
transaction's events share a REQUEST_ID across types, so an ApiTotalUsage row whose REQUEST_ID a per-call row has
is dropped (one request, counted once). BulkApi2 logs one row per job state change, each counted as a call.

The user and the address are the row's user id and address as `app.evidence.rows.Row` reads them (for these log
types USER_ID, else USER_ID_DERIVED; CLIENT_IP unless it is Salesforce's own hop), which the analysis database
keeps in columns of their own: SQLite groups the rows there (a day of API logs is hundreds of thousands of rows)
without decoding each one. Without the database every preserved file is read. Both give the same counts
(tests/test_report_token_use.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from app.evidence.rows import SALESFORCE_IP, id_key, iter_rows
from app.hunt.hunting import analysis_index
from app.hunt.index import HuntIndex, from_us, identity
from app.incident.core import Incident

# Event log types with one row per API request (or per Bulk API 2.0 job state change).
CALL_LOG_TYPES = ("API", "RestApi", "BulkApi", "BulkApi2")
# Every request counted against the API limits, with its connected app; free without Event Monitoring.
USAGE_LOG_TYPE = "ApiTotalUsage"
CALL_SOURCES = tuple(f"EventLogFile/{t}" for t in (*CALL_LOG_TYPES, USAGE_LOG_TYPE))
_PER_CALL = CALL_SOURCES[:-1]
_USAGE = CALL_SOURCES[-1]
_HOUR_US = 3_600_000_000


@dataclass(frozen=True, slots=True)
class ApiCalls:
    """The calls of one log type, user, address and app in one hour of their logged time."""

    log_type: str  # "RestApi", "ApiTotalUsage"...
    hour: datetime | None  # the start of the hour; None when the row has no usable time (TIMESTAMP_DERIVED)
    user_id: str | None  # USER_ID (else USER_ID_DERIVED) in its 15-character form
    ip: str | None  # CLIENT_IP; None when empty or Salesforce's own hop ("Salesforce.com IP")
    app_id: str | None  # CONNECTED_APP_ID (ApiTotalUsage only), 15-character form
    app_name: str | None  # CONNECTED_APP_NAME (ApiTotalUsage only)
    count: int
    first: datetime | None  # the earliest and latest logged time of these calls
    last: datetime | None


def _text(value: object) -> str | None:
    return str(value).strip() if value not in (None, "") else None


_Key = tuple[str, int | None, str | None, str | None, str | None, str | None]


def _key(source: str, at_us: int | None, user: object, ip: object, app_id: object, app_name: object) -> _Key:
    """What groups a row: its log type, hour, user (15-character id), address and, for ApiTotalUsage only, app."""
    log_type = source.split("/", 1)[1]
    usage = log_type == USAGE_LOG_TYPE
    user_id, address, app, name = _text(user), _text(ip), _text(app_id), _text(app_name)
    return (
        log_type,
        None if at_us is None else at_us // _HOUR_US,
        id_key(user_id) if user_id else None,
        None if address == SALESFORCE_IP else address,
        id_key(app) if usage and app else None,
        name if usage else None,
    )


def _earliest(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def _latest(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


def _merge(groups: Iterable[tuple[_Key, int, int | None, int | None]]) -> list[ApiCalls]:
    """(key, count, first, last) groups, merged where normalising made keys equal, as ApiCalls."""
    merged: dict[_Key, tuple[int, int | None, int | None]] = {}
    for key, count, first, last in groups:
        n, f, la = merged.get(key, (0, None, None))
        merged[key] = (n + count, _earliest(f, first), _latest(la, last))
    return [
        ApiCalls(
            k[0], from_us(None if k[1] is None else k[1] * _HOUR_US), k[2], k[3], k[4], k[5], n, from_us(f), from_us(la)
        )
        for k, (n, f, la) in merged.items()
    ]


def _indexed(index: HuntIndex) -> Iterator[tuple[_Key, int, int | None, int | None]]:
    """Groups from the analysis database, by its user and address columns; ApiTotalUsage rows also by the
    connected app (CONNECTED_APP_ID picked out of the stored row), less each one a per-call row has the
    REQUEST_ID of (the per-call row's identity is its source and record id, the REQUEST_ID)."""
    hour = f"at_us / {_HOUR_US}"
    marks = ",".join("?" * len(_PER_CALL))
    per_call = (
        f"SELECT event_type, {hour}, user_id, ip, NULL, NULL, COUNT(*), MIN(at_us), MAX(at_us) FROM rows "
        f"WHERE event_type IN ({marks}) GROUP BY 1, 2, 3, 4"
    )
    same = ", ".join(f"'{s}' || char(31) || r.record_id || char(31) || '0'" for s in _PER_CALL)
    usage = (
        f"SELECT event_type, {hour}, user_id, ip, json_extract(fields, '$.CONNECTED_APP_ID'), app, COUNT(*), "
        "MIN(at_us), MAX(at_us) FROM rows r WHERE event_type = ? AND NOT EXISTS "
        f"(SELECT 1 FROM rows p WHERE r.record_id IS NOT NULL AND p.identity IN ({same})) GROUP BY 1, 2, 3, 4, 5, 6"
    )
    for sql, args in ((per_call, list(_PER_CALL)), (usage, [_USAGE])):
        for rec in index.db.execute(sql, args):
            at = None if rec[1] is None else rec[1] * _HOUR_US
            yield _key(rec[0], at, rec[2], rec[3], rec[4], rec[5]), int(rec[6]), rec[7], rec[8]


def _scanned(incident: Incident) -> Iterator[tuple[_Key, int, int | None, int | None]]:
    """The plain read of every preserved file, each record once (as the analysis database stores it)."""
    from app.hunt.index import at_us

    seen: set[str] = set()
    logged: set[str] = set()
    usage: list[tuple[str | None, _Key, int | None]] = []
    for row in iter_rows(incident):
        if row.source not in CALL_SOURCES:
            continue
        ident = identity(row)
        if ident is not None:
            if ident in seen:
                continue
            seen.add(ident)
        us = at_us(row.at)
        ips = row.ips()
        key = _key(
            row.source, us, row.user_id(), ips[0] if ips else None, row.fields.get("CONNECTED_APP_ID"), row.app()
        )
        if row.source == _USAGE:
            usage.append((row.record_id, key, us))
            continue
        if row.record_id:
            logged.add(row.record_id)
        yield key, 1, us, us
    for request_id, key, us in usage:
        if request_id is None or request_id not in logged:
            yield key, 1, us, us


def api_calls(incident: Incident, *, use_index: bool = True) -> list[ApiCalls]:
    """Every API call the preserved event log files record, grouped by log type, hour, user, address and app
    (through the analysis database, or by reading every file when it cannot be written here); a request logged
    both per call and in ApiTotalUsage counts once."""
    with analysis_index(incident, use_index) as index:
        return _merge(_indexed(index) if index is not None else _scanned(incident))
