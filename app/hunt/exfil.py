""" "What did they take?": the API reads in the preserved logs, attributed to the hunted indicators, one row per
request (an ApiEvent and its event-log line count once)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel

from app.base.clock import format_instant
from app.base.errors import UsageError, WarroomError
from app.evidence.rows import Row, evidence_files, id_key
from app.hunt.hunting import analysis_index, recorded_indicator_sets, scan, window_of
from app.hunt.indicators import IndicatorSet, Window
from app.incident.core import Incident

# ---------------------------------------------------------------------------------------------------------
# What did they take?
# ---------------------------------------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Rows that record data leaving: real-time events and the API, REST, Bulk and report event logs.
EXFIL_SOURCES = (
    "ApiEvent",
    "BulkApiResultEventStore",
    "ReportEvent",
    "EventLogFile/API",
    "EventLogFile/RestApi",
    "EventLogFile/BulkApi",
    "EventLogFile/BulkApi2",
    "EventLogFile/Report",
    "EventLogFile/ReportExport",
)
# Every row of these records data leaving, whatever its operation says.
_READ_EVENTS = ("BulkApiResultEventStore", "ReportEvent", "EventLogFile/Report", "EventLogFile/ReportExport")
# Salesforce records these without any row count (documented objects and headers): their rows are unknown.
UNCOUNTED_SOURCES = ("BulkApiResultEventStore", "EventLogFile/ReportExport")
_HTTP_METHODS = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE", "HEAD"})
_REST_READ = re.compile(r"/services/data/v[\d.]+/(?:query(?:All)?(?:/|\?|$)|sobjects/\w+/\w{15,18}(?:/|\?|$))")
SAME_REQUEST = timedelta(seconds=2)  # an ApiEvent and an event-log row this close are one request


EXFIL_LOG_TYPES = ("API", "RestApi", "BulkApi", "BulkApi2", "Report", "ReportExport")


def api_logs_preserved(incident: Incident) -> bool:
    """Whether any preserved file can say what was read (real-time API events or API event log files)."""
    for ev in evidence_files(incident):
        if ev.source.get("object") in ("ApiEvent", "BulkApiResultEventStore", "ReportEvent"):
            return True
        if ev.source.get("event_type") in EXFIL_LOG_TYPES:
            return True
        if not ev.source.get("format"):
            return True  # added by hand: it may hold API logs, so do not claim otherwise
    return False


class ExfilRow(BaseModel):
    """Per user (and the apps it used) and object: rows read and queries or jobs run in the window.

    `rows` counts what the logs count; None when no event of the group says how many rows it read.
    `rows_unknown` names each event Salesforce records without a row count (a report export, a Bulk API result
    download), so the table never turns them into a number."""

    actor: str
    app: str | None
    username: str | None
    object: str
    rows: int | None
    rows_unknown: list[str] = []
    queries: int
    first_seen: str | None
    last_seen: str | None
    source_ips: list[str]
    sources: list[str]
    evidence: list[str]


def _is_read(row: Row) -> bool:
    """A query, a retrieve, a report run or export, or a bulk result download (describe, limits and writes are
    not data leaving). A RestApi row names the HTTP method (a REST query is METHOD=GET on .../query), so its URI
    decides."""
    if row.source in _READ_EVENTS:
        return True
    if _is_count_only(row):
        return True
    if row.query():
        return True
    uri = str(row.fields.get("URI") or "")
    method = str(row.fields.get("METHOD") or "").upper()
    if method in _HTTP_METHODS:
        return method == "GET" and bool(_REST_READ.search(uri))
    op = (row.operation() or "").lower()
    if op:
        return any(word in op for word in ("query", "export", "retrieve", "search"))
    return bool(re.search(r"/query(All)?\b", uri))


def rows_text(rows: int | None, unknown: list[str]) -> str:
    """How a row count reads: a number, "rows unknown", or a number plus the uncounted events."""
    if rows is None:
        return "rows unknown"
    return f"{rows} + rows unknown" if unknown else str(rows)


def _is_count_only(row: Row) -> bool:
    q = row.query()
    return bool(q and re.match(r"(?i)\s*SELECT\s+COUNT\(\s*\)\s+FROM\b", q))


def _job_id(row: Row) -> str | None:
    return row.first(("JOB_ID",))


def _user_key(row: Row) -> str:
    uid = row.user_id()
    return id_key(uid) if uid else (row.username() or "?").lower()


@dataclass
class _Acc:
    username: str | None
    object: str
    rows: int | None = None
    queries: int = 0
    first: datetime | None = None
    last: datetime | None = None

    def __post_init__(self) -> None:
        self.unknown: list[str] = []
        self.apps: set[str] = set()
        self.ips: set[str] = set()
        self.sources: set[str] = set()
        self.evidence: set[str] = set()

    def add(self, row: Row, rows: int | None, queries: int) -> None:
        self.username = self.username or row.username()
        if row.app():
            self.apps.add(str(row.app()))
        if rows is None:
            when = format_instant(row.at) if row.at else "time unknown"
            self.unknown.append(f"{row.source} at {when} ({row.file} line {row.line})")
        else:
            self.rows = (self.rows or 0) + rows
        self.queries += queries
        if row.at:
            self.first = min(self.first, row.at) if self.first else row.at
            self.last = max(self.last, row.at) if self.last else row.at
        self.ips.update(row.ips()[:1])
        self.sources.add(row.source)
        self.evidence.add(row.evidence_id)


def exfiltration_table(
    incident: Incident,
    indicator_sets: list[IndicatorSet] | None = None,
    *,
    all_activity: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
    use_index: bool = True,
) -> list[ExfilRow]:
    """What was read, per user and object, from ApiEvent, BulkApiResultEventStore and the API, RestApi and
    Bulk event logs.

    Scope: rows matching `indicator_sets`; without them, the indicator files of the recorded hunts (the
    report's view); `all_activity` takes every API read in the window, attributed or not. Counting rules:
    COUNT() queries take no rows; a bulk job counts once, with its largest row count, however many state
    rows and result downloads it has; a request seen both as an ApiEvent and in an event log file counts once.
    """
    if all_activity:
        sets: list[IndicatorSet] = []
        window = Window(start=since, end=until)
    else:
        sets = indicator_sets if indicator_sets is not None else recorded_indicator_sets(incident)
        if not sets:
            return []
        window = window_of(sets, since, until)
    with analysis_index(incident, use_index) as index:
        sources = EXFIL_SOURCES if all_activity else None
        selected = [
            row
            for row, matched, _context in scan(incident, sets, window, index=index, sources=sources)
            if row.source in EXFIL_SOURCES and window.contains(row.at) and (all_activity or matched) and _is_read(row)
        ]
    selected.sort(key=lambda r: (r.source != "ApiEvent", r.at or _EPOCH))
    accs: dict[tuple[str, str], _Acc] = {}
    jobs: dict[str, tuple[_Acc, int]] = {}
    api_events: dict[tuple[str, str, int | None], list[datetime]] = {}

    def acc_for(row: Row) -> _Acc:
        obj = (row.entities() or [row.first(("REPORT_DESCRIPTION", "Name")) or "?"])[0]
        key = (_user_key(row), obj.lower())
        if key not in accs:
            accs[key] = _Acc(row.username(), obj)
        return accs[key]

    for row in selected:
        rows: int | None = 0 if _is_count_only(row) else row.rows()
        if rows is None and row.source not in UNCOUNTED_SOURCES:
            rows = 0  # a count the log can give but left empty (a state row of a bulk job, a describe)
        job = _job_id(row)
        if job:  # several state rows and downloads per job: count it once, with its largest row count
            if job in jobs:
                acc, counted = jobs[job]
                acc.add(row, max(0, (rows or 0) - counted), 0)
                jobs[job] = (acc, max(counted, rows or 0))
            else:
                acc = acc_for(row)
                acc.add(row, rows, 1)
                jobs[job] = (acc, rows or 0)
            continue
        key = (_user_key(row), ",".join(e.lower() for e in row.entities()), rows)
        if row.source == "ApiEvent":
            if row.at:
                api_events.setdefault(key, []).append(row.at)
        elif row.at and any(abs(row.at - t) <= SAME_REQUEST for t in api_events.get(key, [])):
            continue
        acc_for(row).add(row, rows, 1)
    out = []
    for acc in accs.values():
        apps = ", ".join(sorted(acc.apps))
        out.append(
            ExfilRow(
                actor=f"{acc.username} ({apps})" if apps and acc.username else apps or acc.username or "?",
                app=apps or None,
                username=acc.username,
                object=acc.object,
                rows=acc.rows,
                rows_unknown=acc.unknown,
                queries=acc.queries,
                first_seen=format_instant(acc.first) if acc.first else None,
                last_seen=format_instant(acc.last) if acc.last else None,
                source_ips=sorted(acc.ips),
                sources=sorted(acc.sources),
                evidence=sorted(acc.evidence),
            )
        )
    out.sort(key=lambda r: (r.actor, -(r.rows or 0), r.object))
    return out


def exfiltration_rows(incident: Incident) -> list[ExfilRow]:
    """The exfiltration table of the recorded hunts ([] when no hunt was run or the store cannot be read)."""
    try:
        return exfiltration_table(incident)
    except WarroomError:
        return []


@dataclass(frozen=True)
class Taken:
    """The answer to "what did they take?": the table, and whether any preserved log could have said so (an
    empty table from no API logs is "unknown", not "nothing")."""

    rows: list[ExfilRow]
    have_logs: bool


def what_was_taken(
    incident: Incident,
    indicator_sets: list[IndicatorSet] | None = None,
    *,
    all_activity: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Taken:
    """The exfiltration table for a front end: refused when nothing says whose reads to count (no indicator
    files named, no hunt recorded, and not every read asked for)."""
    if indicator_sets is None and not all_activity and not recorded_indicator_sets(incident):
        raise UsageError(
            "no hunt is recorded yet: run `warroom hunt IOC_FILE --record`, name indicator files, or ask for "
            "every API read (--all)"
        )
    rows = exfiltration_table(incident, indicator_sets, all_activity=all_activity, since=since, until=until)
    return Taken(rows, api_logs_preserved(incident))
