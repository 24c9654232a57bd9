"""API calls in the preserved Event Log Files: when, by which user, from which address, and (where the log type
documents it) through which connected app. The raw material of "token use by address over time".

Only documented columns are read. The API, RestApi, BulkApi and BulkApi2 headers (Object Reference, EventLogFile
supported event types; app/data/salesforce/event_log_files.toml) carry USER_ID, CLIENT_IP, REQUEST_ID, TIMESTAMP
and TIMESTAMP_DERIVED, and no connected-app column: a call there is tied to a user, never to an app. Of the API
types, only ApiTotalUsage documents CONNECTED_APP_ID and CONNECTED_APP_NAME. Whether an ApiTotalUsage row repeats
a request that an API or RestApi row also logs the documentation does not say; the reference notes that one
transaction's events share a REQUEST_ID across types, so `api_calls` drops an ApiTotalUsage row whose REQUEST_ID a
per-call row has (one request, counted once). BulkApi2 logs one row per job state change, each counted as a call.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from app.evidence.rows import SALESFORCE_IP, Row, id_key, iter_rows
from app.hunt.hunting import analysis_index
from app.hunt.index import HuntIndex, identity, row_from
from app.incident.core import Incident

# Event log types with one row per API request (or per Bulk API 2.0 job state change).
CALL_LOG_TYPES = ("API", "RestApi", "BulkApi", "BulkApi2")
# Every request counted against the API limits, with its connected app; free without Event Monitoring.
USAGE_LOG_TYPE = "ApiTotalUsage"
CALL_SOURCES = tuple(f"EventLogFile/{t}" for t in (*CALL_LOG_TYPES, USAGE_LOG_TYPE))


@dataclass(frozen=True, slots=True)
class ApiCall:
    at: datetime | None  # TIMESTAMP_DERIVED, else TIMESTAMP; None when neither is a usable instant
    log_type: str  # "RestApi", "ApiTotalUsage"...
    user_id: str | None  # USER_ID (else USER_ID_DERIVED) in its 15-character form
    ip: str | None  # CLIENT_IP; None when empty or Salesforce's own hop ("Salesforce.com IP")
    app_id: str | None  # CONNECTED_APP_ID (ApiTotalUsage only), 15-character form
    app_name: str | None  # CONNECTED_APP_NAME (ApiTotalUsage only)
    request_id: str | None


def _field(row: Row, name: str) -> str | None:
    value = row.fields.get(name)
    return str(value).strip() if value not in (None, "") else None


def _call(row: Row) -> ApiCall:
    log_type = row.source.split("/", 1)[1]
    user = _field(row, "USER_ID") or _field(row, "USER_ID_DERIVED")
    ip = _field(row, "CLIENT_IP")
    usage = log_type == USAGE_LOG_TYPE
    app_id = _field(row, "CONNECTED_APP_ID") if usage else None
    return ApiCall(
        at=row.at,
        log_type=log_type,
        user_id=id_key(user) if user else None,
        ip=None if ip == SALESFORCE_IP else ip,
        app_id=id_key(app_id) if app_id else None,
        app_name=_field(row, "CONNECTED_APP_NAME") if usage else None,
        request_id=_field(row, "REQUEST_ID"),
    )


def _indexed(index: HuntIndex) -> Iterator[Row]:
    marks = ",".join("?" * len(CALL_SOURCES))
    sql = f"SELECT * FROM rows WHERE event_type IN ({marks}) ORDER BY id"
    for record in index.db.execute(sql, list(CALL_SOURCES)):
        yield row_from(record)


def _scanned(incident: Incident) -> Iterator[Row]:
    """The plain read of every preserved file, each record once (as the analysis database stores it)."""
    seen: set[str] = set()
    for row in iter_rows(incident):
        if row.source not in CALL_SOURCES:
            continue
        ident = identity(row)
        if ident is not None:
            if ident in seen:
                continue
            seen.add(ident)
        yield row


def dedupe_usage(calls: Iterable[ApiCall]) -> list[ApiCall]:
    """The calls, less each ApiTotalUsage row whose REQUEST_ID a per-call row (API, RestApi, Bulk) also has."""
    calls = list(calls)
    logged = {c.request_id for c in calls if c.log_type != USAGE_LOG_TYPE and c.request_id}
    return [c for c in calls if c.log_type != USAGE_LOG_TYPE or c.request_id not in logged]


def api_calls(incident: Incident, *, use_index: bool = True) -> list[ApiCall]:
    """Every API call the preserved event log files record (through the analysis database, or by reading every
    file when it cannot be written here), each request once."""
    with analysis_index(incident, use_index) as index:
        rows = _indexed(index) if index is not None else _scanned(incident)
        return dedupe_usage(_call(r) for r in rows)
