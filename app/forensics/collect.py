"""Forensic collection: preserve what the org holds about the leak before Salesforce lets it expire.

Setup Audit Trail, Login History, Event Log Files, debug logs and (where licensed) the real-time event objects
are fetched and written into the evidence store, each file hashed on intake and journaled as acquired evidence
with the tool, the SOQL, the API version and the time range, so custody starts at the download. Collection is
resumable: a `collect.progress` entry per preserved item feeds derived state, and a re-run skips items whose
content is already preserved (log files by Id; query results by the hash of what the org returns now).
Large files are streamed to disk, never held in memory.

Retention facts (what expires when) come from Salesforce's documentation: event log files are kept 30 days with
Event Monitoring and 1 day without it or in Developer Edition (using_resources_event_log_files); the Setup Audit
Trail at least 180 days (SetupAuditTrail object reference); Login History about 6 months in Setup; real-time
event storage up to 6 months (real_time_event_monitoring_storage); debug logs roughly a day.
"""

from __future__ import annotations

import json
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from app import __version__
from app.base.clock import format_instant
from app.base.errors import WarroomError
from app.base.redaction import redact
from app.evidence.rows import FMT_APEXLOG, FMT_ELF, FMT_RECORDS, parse_time
from app.evidence.store import ID_LEN, hash_file
from app.incident.core import Incident
from app.journal.chain import Entry, Lookup

SOURCES: tuple[str, ...] = ("audit", "logins", "eventlogs", "apexlogs", "events")
EVENT_OBJECTS: tuple[str, ...] = ("ApiEvent", "LoginEvent", "ReportEvent", "BulkApiResultEventStore")
# The event-log types a responder needs for an integration leak (which API calls, bulk jobs, reports, logins).
WANTED_LOG_TYPES: tuple[str, ...] = (
    "API",
    "RestApi",
    "BulkApi",
    "BulkApi2",
    "Report",
    "ReportExport",
    "URI",
    "Login",
    "LoginAs",
    "ApiTotalUsage",
)
# Types an org without Event Monitoring still gets (1-day retention).
FREE_LOG_TYPES: tuple[str, ...] = (
    "Login",
    "Logout",
    "ApiTotalUsage",
    "CspViolation",
    "HostnameRedirects",
    "InsecureExternalAssets",
)
TOOL = f"warroom {__version__}"

# Fields asked for per object; the org's describe decides which of them exist (orgs and versions differ).
QUERY_FIELDS: dict[str, tuple[str, ...]] = {
    "Organization": ("Id", "Name", "OrganizationType", "InstanceName", "IsSandbox"),
    "User": ("Id", "Username", "Name", "UserType", "IsActive", "ProfileId"),
    "ConnectedApplication": ("Id", "Name", "CreatedDate"),
    "SetupAuditTrail": (
        "Id",
        "Action",
        "Section",
        "Display",
        "CreatedDate",
        "CreatedById",
        "CreatedBy.Username",
        "DelegateUser",
        "CreatedByContext",
        "CreatedByIssuer",
        "ResponsibleNamespacePrefix",
    ),
    "LoginHistory": (
        "Id",
        "UserId",
        "LoginTime",
        "LoginType",
        "LoginSubType",
        "SourceIp",
        "Status",
        "Application",
        "Browser",
        "Platform",
        "ApiType",
        "ApiVersion",
        "ClientVersion",
        "LoginUrl",
        "CountryIso",
        "TlsProtocol",
        "AuthenticationServiceId",
    ),
    "EventLogFile": (
        "Id",
        "EventType",
        "LogDate",
        "Interval",
        "Sequence",
        "LogFileLength",
        "LogFileFieldNames",
        "LogFileFieldTypes",
        "CreatedDate",
    ),
    "ApexLog": (
        "Id",
        "LogUserId",
        "LogUser.Username",
        "LogLength",
        "Operation",
        "Request",
        "Status",
        "StartTime",
        "Application",
        "Location",
        "DurationMilliseconds",
    ),
}
TIME_FIELD: dict[str, str] = {
    "SetupAuditTrail": "CreatedDate",
    "LoginHistory": "LoginTime",
    "EventLogFile": "LogDate",
    "ApexLog": "StartTime",
    **{name: "EventDate" for name in EVENT_OBJECTS},
}


@dataclass(frozen=True)
class Retention:
    days: int
    text: str
    cite: str


RETENTION: dict[str, Retention] = {
    "audit": Retention(180, "180 days", "Salesforce Object Reference, SetupAuditTrail: at least 180 days"),
    "logins": Retention(
        183, "about 6 months", "Setup shows about 6 months of Login History (Salesforce Help; not an API guarantee)"
    ),
    "eventlogs": Retention(
        30,
        "30 days with Event Monitoring",
        "Salesforce REST API guide, using_resources_event_log_files: 30 days licensed, "
        "1 day in Developer Edition or without the add-on",
    ),
    "apexlogs": Retention(
        1,
        "about 24 hours",
        "Apex Developer Guide, Debug Log: system logs about 24 hours (7 days for monitoring logs); check in the org",
    ),
    "events": Retention(
        183,
        "up to 6 months",
        "Salesforce Security Guide, real_time_event_monitoring_storage: stored events up to 6 months",
    ),
}
FREE_RETENTION = Retention(
    1, "1 day without Event Monitoring", "Salesforce REST API guide, using_resources_event_log_files"
)


class CollectError(WarroomError):
    """Collection stopped (the org refused, a limit was reached); what was preserved stays preserved."""


# ---------------------------------------------------------------------------------------------------------
# Results and progress
# ---------------------------------------------------------------------------------------------------------


class ItemResult(BaseModel):
    item: str
    source: str
    status: Literal["preserved", "unchanged", "skipped", "unavailable", "failed"]
    evidence_id: str | None = None
    sha256: str | None = None
    size: int | None = None
    rows: int | None = None
    soql: str | None = None
    detail: str = ""


class SourceStatus(BaseModel):
    """One line of the edition/expiry table: what the org can give and when it stops holding it."""

    source: str
    available: Literal["yes", "partial", "no", "unknown"]
    retention: str
    oldest: str | None = None
    oldest_expires: str | None = None
    preserved: int = 0
    note: str = ""
    cite: str = ""


class CollectResult(BaseModel):
    run_id: str
    org: str
    org_name: str | None = None
    edition: str | None = None
    api_version: str
    since: str | None
    what: list[str]
    status: Literal["complete", "incomplete", "interrupted", "cancelled"]
    message: str = ""
    items: list[ItemResult] = Field(default_factory=list)
    sources: list[SourceStatus] = Field(default_factory=list)
    limits: list[str] = Field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for i in self.items if i.status == status)


@dataclass(frozen=True)
class ProgressEvent:
    source: str
    item: str
    status: str  # started | preserved | unchanged | skipped | unavailable | failed | bytes
    done: int = 0
    total: int = 0
    detail: str = ""


ProgressFn = Callable[[ProgressEvent], None]


# ---------------------------------------------------------------------------------------------------------
# Talking to the org
# ---------------------------------------------------------------------------------------------------------


class OrgSource:
    """The few calls collection needs, over the shared Salesforce adapter (`app.salesforce.Org`)."""

    def __init__(self, org: Any) -> None:
        self.org = org

    @property
    def api_version(self) -> str:
        return str(getattr(self.org, "api_version", "59.0"))

    @property
    def instance_url(self) -> str:
        try:
            return str(self.org.instance_url)
        except Exception:
            return ""

    def fields(self, sobject: str) -> set[str] | None:
        """Field names the org has for `sobject`, or None when the object is not available to this login."""
        try:
            return set(self.org.describe_fields(sobject))
        except BaseException as exc:
            if classify(exc) == "unavailable":  # the org has no such object (edition, licence)
                return None
            raise

    def records(self, soql: str) -> Iterator[dict[str, Any]]:
        return self.org.query_iter(soql)

    def download(self, path: str, target: Path, progress: Callable[[int], None] | None = None) -> int:
        return int(self.org.download(path, target, progress=progress))


Outcome = Literal["limit", "unavailable", "denied", "fatal", "failed"]


def classify(exc: BaseException) -> Outcome:
    """What a failed call means for the run: stop and resume later, skip this item, or give up."""
    from app.salesforce import client as sf

    if isinstance(exc, sf.RateLimited):
        return "limit"
    if isinstance(exc, sf.InsufficientAccess):
        return "denied"  # the login lacks a permission: says nothing about the org's edition
    if isinstance(exc, sf.ObjectUnavailable | sf.RecordNotFound):
        return "unavailable"
    if isinstance(exc, sf.Offline | sf.TlsFailure | sf.AuthFailed | sf.SessionExpired | sf.OrgTimeout):
        return "fatal"
    return "failed"


# ---------------------------------------------------------------------------------------------------------
# Derived state: what is preserved, per org and item
# ---------------------------------------------------------------------------------------------------------


def project_progress(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    d = entry.data
    if d.get("status") != "preserved":
        return
    yield (
        "collect",
        f"{d['org']}/{d['item']}",
        {
            "seq": entry.seq,
            "run": d["run"],
            "evidence_id": d["evidence_id"],
            "sha256": d["sha256"],
            "source": d["source"],
        },
    )


def project_run(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    d = entry.data
    current = get("collect.run", d["run"]) or {}
    yield "collect.run", d["run"], {**current, **{k: v for k, v in d.items() if k != "run"}, "seq": entry.seq}


def preserved(incident: Incident, org_id: str) -> dict[str, dict[str, Any]]:
    prefix = f"{org_id}/"
    return {k[len(prefix) :]: v for k, v in incident.journal.state("collect").items() if k.startswith(prefix)}


# ---------------------------------------------------------------------------------------------------------
# Collection
# ---------------------------------------------------------------------------------------------------------


class _Stop(Exception):
    def __init__(self, status: Literal["interrupted", "cancelled"], message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def soql_for(sobject: str, available: set[str] | None, since: datetime | None) -> str:
    """The SELECT for one source: the wanted fields the org has, and the time filter the object allows."""
    wanted = QUERY_FIELDS.get(sobject)
    if wanted is None:  # event objects: every field the org describes
        fields = sorted(available or {"Id"}, key=lambda f: (f != "Id", f != "EventDate", f))
    else:
        fields = [
            f
            for f in wanted
            if available is None
            or f.split(".")[0] in available
            or (f.endswith(".Username") and f.split(".")[0] + "Id" in available)
        ]
    soql = f"SELECT {', '.join(fields)} FROM {sobject}"
    time_field = TIME_FIELD.get(sobject)
    if since is not None and time_field:
        soql += f" WHERE {time_field} >= {format_instant(since)}"
    if time_field and sobject not in EVENT_OBJECTS:  # big objects cannot be sorted freely
        soql += f" ORDER BY {time_field}"
    return soql


def _jsonable(value: Any) -> Any:
    """Org values as journal-safe JSON: no floats, and credential-shaped text masked (the journal refuses
    both; the file itself is preserved as received)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, float):
        return int(value) if value.is_integer() else repr(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items() if k != "attributes"}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


class _Collector:
    def __init__(
        self,
        incident: Incident,
        src: OrgSource,
        actor: str,
        since: datetime | None,
        what: list[str],
        progress: ProgressFn | None,
        cancel: threading.Event | None,
        command: str | None,
    ) -> None:
        self.incident = incident
        self.src = src
        self.actor = actor
        self.since = since
        self.what = what
        self.progress = progress
        self.cancel = cancel
        self.command = command
        self.run_id = uuid.uuid4().hex[:12]
        self.now = incident.clock.now()
        self.org_id = "?"
        self.org_name: str | None = None
        self.edition: str | None = None
        self.items: list[ItemResult] = []
        self.oldest: dict[str, datetime] = {}
        self.present: dict[str, bool] = {}
        self.reached: set[str] = set()  # sources this run got to (an interrupted run stops before some)
        self.why: dict[str, str] = {}  # item -> not_in_org | denied | fault, for items not preserved
        self.log_types: set[str] = set()
        self.tmp: Path | None = None
        self.done: dict[str, dict[str, Any]] = {}  # item -> what is preserved (read once per run)
        self.acquired: dict[str, set[str]] = {}  # evidence id -> items it was acquired as

    def load_state(self) -> None:
        self.done = preserved(self.incident, self.org_id)
        for entry in self.incident.journal.entries(kind="evidence.acquired"):
            src = entry.data.get("source") or {}
            if src.get("collector") == "collect" and src.get("org_id") == self.org_id:
                self.acquired.setdefault(entry.data["evidence_id"], set()).add(src.get("item", ""))

    # -- plumbing ----------------------------------------------------------------------------------------

    def emit(self, source: str, item: str, status: str, detail: str = "", done: int = 0, total: int = 0) -> None:
        if self.progress:
            self.progress(ProgressEvent(source, item, status, done, total, detail))

    def check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise _Stop("cancelled", "cancelled by the responder")

    def note_time(self, source: str, value: Any) -> None:
        at = parse_time(value)
        if at is not None and (source not in self.oldest or at < self.oldest[source]):
            self.oldest[source] = at

    def base_source(self, source: str, item: str, **extra: Any) -> dict[str, Any]:
        data = {
            "collector": "collect",
            "run": self.run_id,
            "item": item,
            "collection": source,
            "org_id": self.org_id,
            "instance_url": self.src.instance_url,
            "api_version": self.src.api_version,
            "tool": TOOL,
            "range": {
                "from": format_instant(self.since) if self.since else "earliest the org keeps",
                "to": format_instant(self.now),
            },
        }
        if self.org_name:
            data["org_name"] = self.org_name
        if self.command:
            data["command"] = self.command
        data.update({k: _jsonable(v) for k, v in extra.items() if v is not None})
        return data

    def preserve(
        self, source: str, item: str, path: Path, name: str, meta: dict[str, Any], rows: int | None, note: str
    ) -> ItemResult:
        """Hash the fetched file; if it differs from what is preserved for this item, store and journal it."""
        sha, size = hash_file(path)
        done = self.done.get(item)
        if done and done["sha256"] == sha:
            result = ItemResult(
                item=item,
                source=source,
                status="unchanged",
                evidence_id=done["evidence_id"],
                sha256=sha,
                size=size,
                rows=rows,
                detail="same content already preserved",
            )
            self.emit(source, item, "unchanged", result.detail)
            return result
        if item in self.acquired.get(sha[:ID_LEN], set()):
            evidence_id = sha[:ID_LEN]  # acquired as this item by an interrupted run; only its progress is missing
        else:
            rec = self.incident.add_evidence(path, self.actor, note=note, source=meta)
            evidence_id = rec.evidence_id
            self.acquired.setdefault(evidence_id, set()).add(item)
        data: dict[str, Any] = {
            "run": self.run_id,
            "org": self.org_id,
            "item": item,
            "source": source,
            "status": "preserved",
            "evidence_id": evidence_id,
            "sha256": sha,
            "size": size,
            "name": name,
        }
        if rows is not None:
            data["rows"] = rows
        entry = self.incident.journal.append("collect.progress", data, self.actor)
        self.done[item] = {
            "seq": entry.seq,
            "run": self.run_id,
            "evidence_id": evidence_id,
            "sha256": sha,
            "source": source,
        }
        result = ItemResult(
            item=item,
            source=source,
            status="preserved",
            evidence_id=evidence_id,
            sha256=sha,
            size=size,
            rows=rows,
            detail=name,
        )
        self.emit(source, item, "preserved", f"{name} ({size} bytes, sha256 {sha[:12]})")
        return result

    def fail(
        self, source: str, item: str, status: Literal["failed", "unavailable", "skipped"], detail: str
    ) -> ItemResult:
        result = ItemResult(item=item, source=source, status=status, detail=detail)
        self.items.append(result)
        self.emit(source, item, status, detail)
        return result

    def failed(self, source: str, item: str, exc: Exception, partial: Path) -> ItemResult:
        """A call failed: stop the run (limit, offline, login), or record this item and go on."""
        partial.unlink(missing_ok=True)
        outcome = classify(exc)
        if outcome == "limit":
            raise _Stop("interrupted", f"{exc}. Run collect again later: it continues where it stopped") from None
        if outcome == "fatal":
            raise _Stop("interrupted", f"{exc}. Run collect again when the org is reachable") from None
        if outcome == "unavailable":
            self.why[item] = "not_in_org"
            return self.fail(source, item, "unavailable", str(exc))
        if outcome == "denied":
            self.why[item] = "denied"
            return self.fail(
                source, item, "failed", f"this login lacks the permission to read it ({exc}); not an edition limit"
            )
        self.why[item] = "fault"
        return self.fail(source, item, "failed", str(exc) or type(exc).__name__)

    # -- one query into one JSON file ---------------------------------------------------------------------

    def query_item(
        self,
        source: str,
        item: str,
        sobject: str,
        since: datetime | None,
        keep: Callable[[dict[str, Any]], None] | None = None,
        available: set[str] | None = None,
    ) -> ItemResult:
        self.check_cancel()
        assert self.tmp is not None
        path = self.tmp / f"{sobject}.json"  # the evidence is known by this name
        rows = 0
        try:
            if available is None:
                available = self.src.fields(sobject)
                if available is None:
                    self.why[item] = "not_in_org"
                    return self.fail(
                        source,
                        item,
                        "unavailable",
                        f"{sobject} is not in this org (edition or licence)",
                    )
            soql = soql_for(sobject, available, since)
            self.emit(source, item, "started", soql)
            time_field = TIME_FIELD.get(sobject)
            with path.open("w", encoding="utf-8") as fh:
                header = {"object": sobject, "soql": soql, "api_version": self.src.api_version}
                fh.write(json.dumps(header)[:-1] + ', "records": [\n')
                for record in self.src.records(soql):
                    fh.write(("," if rows else "") + json.dumps(record, ensure_ascii=False) + "\n")
                    rows += 1
                    if time_field:
                        self.note_time(source, record.get(time_field))
                    if keep:
                        keep(record)
                fh.write("]}\n")
        except _Stop:
            raise
        except Exception as exc:  # one source failing must not lose the others
            return self.failed(source, item, exc, path)
        meta = self.base_source(
            source,
            item,
            format=FMT_RECORDS,
            object=sobject,
            soql=soql,
            rows=rows,
            path=f"{self.src.instance_url}/services/data/v{self.src.api_version}/query",
        )
        result = self.preserve(
            source, item, path, f"{sobject}.json", meta, rows, f"{sobject} query results from org {self.org_id}"
        )
        result.soql = soql
        self.items.append(result)
        path.unlink(missing_ok=True)
        return result

    # -- one blob (event log file, debug log body) into one file -----------------------------------------

    def blob_item(
        self,
        source: str,
        item: str,
        resource: str,
        name: str,
        meta: dict[str, Any],
        note: str,
        expected: int | None = None,
    ) -> ItemResult:
        self.check_cancel()
        if item in self.done:
            result = ItemResult(
                item=item,
                source=source,
                status="skipped",
                evidence_id=self.done[item]["evidence_id"],
                detail="already preserved (log files do not change)",
            )
            self.items.append(result)
            self.emit(source, item, "skipped", result.detail)
            return result
        self.emit(source, item, "started", resource, total=expected or 0)
        assert self.tmp is not None
        path = self.tmp / name
        try:
            size = self.src.download(
                resource, path, progress=lambda n: self.emit(source, item, "bytes", done=n, total=expected or 0)
            )
        except Exception as exc:
            return self.failed(source, item, exc, path)
        if expected is not None and size != expected:
            path.unlink(missing_ok=True)
            return self.fail(
                source,
                item,
                "failed",
                f"download incomplete: {size} bytes, the org lists {expected}; run collect again",
            )
        result = self.preserve(source, item, path, name, {**meta, "path": self.src.instance_url + resource}, None, note)
        self.items.append(result)
        path.unlink(missing_ok=True)
        return result

    # -- the sources ----------------------------------------------------------------------------------------

    def organization(self) -> None:
        try:
            fields = self.src.fields("Organization")
            soql = soql_for("Organization", fields, None)
            rec = next(iter(self.src.records(soql)), None)
        except Exception as exc:
            if classify(exc) in ("limit", "fatal"):
                raise CollectError(f"{exc}; nothing was collected") from None
            raise
        if rec:
            self.org_id = str(rec.get("Id") or "?")
            self.org_name = rec.get("Name")
            self.edition = rec.get("OrganizationType")

    def directory(self) -> None:
        for sobject in ("User", "ConnectedApplication"):
            self.query_item("directory", f"directory:{sobject}", sobject, None)

    def audit(self) -> None:
        r = self.query_item("audit", "audit:SetupAuditTrail", "SetupAuditTrail", self.since)
        self.present["audit"] = r.status != "unavailable"

    def logins(self) -> None:
        r = self.query_item("logins", "logins:LoginHistory", "LoginHistory", self.since)
        self.present["logins"] = r.status != "unavailable"

    def eventlogs(self) -> None:
        index: list[dict[str, Any]] = []
        r = self.query_item("eventlogs", "eventlogs:index", "EventLogFile", self.since, keep=index.append)
        self.present["eventlogs"] = r.status != "unavailable"
        if r.status in ("failed", "unavailable"):
            return
        version = self.src.api_version
        index_soql = r.soql
        for n, rec in enumerate(index, 1):
            rid = str(rec["Id"])
            event_type = str(rec.get("EventType") or "unknown")
            self.log_types.add(event_type)
            log_date = parse_time(rec.get("LogDate"))
            day = log_date.strftime("%Y%m%d") if log_date else "undated"
            names = [f.strip() for f in str(rec.get("LogFileFieldNames") or "").split(",") if f.strip()]
            types = [f.strip() for f in str(rec.get("LogFileFieldTypes") or "").split(",") if f.strip()]
            length = rec.get("LogFileLength")
            expected = int(length) if isinstance(length, int | float) else None
            meta = self.base_source(
                "eventlogs",
                f"eventlogs:{rid}",
                format=FMT_ELF,
                object="EventLogFile",
                record_id=rid,
                event_type=event_type,
                log_date=rec.get("LogDate"),
                interval=rec.get("Interval"),
                sequence=rec.get("Sequence"),
                field_names=names,
                field_types=types,
                soql=index_soql,
            )
            self.emit("eventlogs", f"eventlogs:{rid}", "progress", f"file {n} of {len(index)}", n, len(index))
            self.blob_item(
                "eventlogs",
                f"eventlogs:{rid}",
                f"/services/data/v{version}/sobjects/EventLogFile/{rid}/LogFile",
                f"EventLogFile-{event_type}-{day}-{rid}.csv",
                meta,
                f"{event_type} event log for {day} from org {self.org_id}",
                expected,
            )

    def apexlogs(self) -> None:
        index: list[dict[str, Any]] = []
        r = self.query_item("apexlogs", "apexlogs:index", "ApexLog", self.since, keep=index.append)
        self.present["apexlogs"] = r.status != "unavailable"
        if r.status in ("failed", "unavailable"):
            return
        version = self.src.api_version
        for rec in index:
            rid = str(rec["Id"])
            record = {k: v for k, v in rec.items() if k != "attributes" and not isinstance(v, dict)}
            user = rec.get("LogUser") if isinstance(rec.get("LogUser"), dict) else {}
            if user and user.get("Username"):
                record["LogUser.Username"] = user["Username"]
            meta = self.base_source(
                "apexlogs",
                f"apexlogs:{rid}",
                format=FMT_APEXLOG,
                object="ApexLog",
                record_id=rid,
                record=record,
                soql=r.soql,
            )
            length = rec.get("LogLength")
            expected = int(length) if isinstance(length, int | float) else None
            self.blob_item(
                "apexlogs",
                f"apexlogs:{rid}",
                f"/services/data/v{version}/sobjects/ApexLog/{rid}/Body",
                f"ApexLog-{rid}.log",
                meta,
                f"debug log {rid} from org {self.org_id}",
                expected,
            )

    def events(self) -> None:
        any_present = False
        for sobject in EVENT_OBJECTS:
            self.check_cancel()
            item = f"events:{sobject}"
            try:
                fields = self.src.fields(sobject)
            except Exception as exc:
                self.failed("events", item, exc, self.tmp / "none")  # type: ignore[operator]
                continue
            if fields is None:
                self.why[item] = "not_in_org"
                self.fail(
                    "events",
                    item,
                    "unavailable",
                    f"{sobject} is not in this org: real-time events need Shield or the Event Monitoring add-on",
                )
                continue
            any_present = True
            self.query_item("events", item, sobject, self.since, available=fields)
        self.present["events"] = any_present

    # -- the run ----------------------------------------------------------------------------------------

    def run(self) -> CollectResult:
        self.organization()
        self.load_state()
        start = {
            "run": self.run_id,
            "phase": "started",
            "org": self.org_id,
            "org_name": self.org_name,
            "edition": self.edition,
            "instance_url": self.src.instance_url,
            "api_version": self.src.api_version,
            "since": format_instant(self.since) if self.since else None,
            "what": list(self.what),
            "tool": TOOL,
        }
        self.incident.journal.append("collect.run", {k: v for k, v in start.items() if v is not None}, self.actor)
        status: Literal["complete", "incomplete", "interrupted", "cancelled"] = "complete"
        message = ""
        with tempfile.TemporaryDirectory(prefix="collect-", dir=self.incident.dir) as tmp:
            self.tmp = Path(tmp)
            try:
                self.directory()
                for source in SOURCES:
                    if source in self.what:
                        self.reached.add(source)
                        getattr(self, source)()
            except _Stop as stop:
                status, message = stop.status, stop.message
        failed = [i for i in self.items if i.status == "failed"]
        if failed:
            total = len(self.items)
            what_failed = f"{len(failed)} of {total} item(s) failed ({', '.join(i.item for i in failed[:5])}"
            what_failed += ", ..." if len(failed) > 5 else ""
            what_failed += "); run collect again to retry them"
            message = f"{message}. {what_failed}" if message else what_failed
            if status == "complete":
                status = "incomplete"
        result = CollectResult(
            run_id=self.run_id,
            org=self.org_id,
            org_name=self.org_name,
            edition=self.edition,
            api_version=self.src.api_version,
            since=format_instant(self.since) if self.since else None,
            what=list(self.what),
            status=status,
            message=message,
            items=self.items,
        )
        result.sources, result.limits = self.assess()
        counts = {s: result.count(s) for s in ("preserved", "unchanged", "skipped", "unavailable", "failed")}
        self.incident.journal.append(
            "collect.run",
            {
                "run": self.run_id,
                "phase": "finished",
                "status": status,
                "message": message,
                "counts": counts,
                "sources": [s.model_dump(exclude_none=True) for s in result.sources],
                "limits": result.limits,
            },
            self.actor,
        )
        return result

    def _source_state(self, source: str) -> tuple[Literal["yes", "partial", "no", "unknown"], str]:
        """What this run can say about one source, from what happened to its items (never guessed)."""
        if source not in self.reached:
            return "unknown", "not reached: the run stopped before this source; run collect again"
        items = [i for i in self.items if i.source == source]
        good = [i for i in items if i.status in ("preserved", "unchanged", "skipped")]
        bad = [i for i in items if i.status in ("failed", "unavailable")]
        why = {self.why.get(i.item, "fault") for i in bad}
        if not bad:
            return "yes", ""
        absent = [i.item.split(":", 1)[1] for i in bad if self.why.get(i.item) == "not_in_org"]
        denied = [i.item.split(":", 1)[1] for i in bad if self.why.get(i.item) == "denied"]
        faults = [i.item.split(":", 1)[1] for i in bad if self.why.get(i.item, "fault") == "fault"]
        parts = []
        if absent:
            parts.append("not in this org: " + ", ".join(absent))
        if denied:
            parts.append("this login may not read: " + ", ".join(denied) + " (a permission, not the edition)")
        if faults:
            parts.append("failed: " + ", ".join(faults) + " (run collect again)")
        note = "; ".join(parts)
        if good:
            return "partial", note
        if why == {"not_in_org"}:
            return "no", "not in this org (edition or licence)"
        return "unknown", note

    def _events_licensed(self) -> bool | None:
        """Whether the org has Event Monitoring's objects: None when this run cannot tell."""
        if "events" not in self.reached:
            return None
        items = [i for i in self.items if i.source == "events"]
        if any(i.status in ("preserved", "unchanged", "skipped") for i in items):
            return True
        if items and all(self.why.get(i.item) == "not_in_org" for i in items):
            return False
        return None

    def assess(self) -> tuple[list[SourceStatus], list[str]]:
        """The edition/expiry table and the plain-language limits of this org (only what the run showed)."""
        licensed = self._events_licensed()
        developer = "developer" in (self.edition or "").lower()
        limits: list[str] = []
        if "events" in self.what and licensed is False:
            limits.append(
                "No real-time event objects (ApiEvent, LoginEvent, ReportEvent, BulkApiResultEventStore): "
                "they need Shield or the Event Monitoring add-on, so per-query row counts are not "
                "available from events."
            )
        if "events" in self.what and licensed is None:
            limits.append(
                "Whether this org has Event Monitoring is unknown: the event objects could not be read in this "
                "run (permission, fault or interruption), so no edition limit is assumed."
            )
        free_only = licensed is False or developer
        elf = FREE_RETENTION if free_only else RETENTION["eventlogs"]
        if "eventlogs" in self.what and self.present.get("eventlogs"):
            missing = [t for t in WANTED_LOG_TYPES if t not in self.log_types]
            if free_only:
                limits.append(
                    "Event log files: without Event Monitoring only the free types (Login, Logout, API "
                    "Total Usage...) exist and each is kept 1 day; ask Salesforce for the Historical "
                    "Event Logs Process to reach up to 30 days back."
                )
            if missing:
                limits.append("Event log types not present for this range: " + ", ".join(missing) + ".")
        preserved_by: dict[str, int] = {}
        for item in self.items:
            if item.status in ("preserved", "unchanged", "skipped"):
                preserved_by[item.source] = preserved_by.get(item.source, 0) + 1
        table: list[SourceStatus] = []
        for source in SOURCES:
            ret = elf if source == "eventlogs" else RETENTION[source]
            if source not in self.what:
                table.append(
                    SourceStatus(
                        source=source,
                        available="no",
                        retention=ret.text,
                        note="not collected in this run",
                        cite=ret.cite,
                    )
                )
                continue
            available, note = self._source_state(source)
            if source == "eventlogs" and available == "yes" and free_only:
                available, note = "partial", "free log types only"
            oldest = self.oldest.get(source)
            expires = oldest + timedelta(days=ret.days) if oldest else None
            if source == "eventlogs" and oldest:
                expires = oldest + timedelta(days=ret.days + 1)  # a daily file covers the day after its LogDate
            table.append(
                SourceStatus(
                    source=source,
                    available=available,
                    retention=ret.text,
                    oldest=format_instant(oldest) if oldest else None,
                    oldest_expires=format_instant(expires) if expires else None,
                    preserved=preserved_by.get(source, 0),
                    note=note,
                    cite=ret.cite,
                )
            )
        return table, limits


def collect(
    incident: Incident,
    org: Any,
    actor: str,
    *,
    since: datetime | None = None,
    what: Iterable[str] = SOURCES,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    command: str | None = None,
) -> CollectResult:
    """Preserve the chosen sources of `org` into the incident's evidence store; safe to run again to resume."""
    chosen = [w for w in SOURCES if w in set(what)]
    unknown = sorted(set(what) - set(SOURCES))
    if unknown:
        raise CollectError(f"unknown source {', '.join(unknown)}; choose from {', '.join(SOURCES)}", exit_code=2)
    return _Collector(incident, OrgSource(org), actor, since, chosen, progress, cancel, command).run()


def _until(at: str | None, now: datetime | None) -> str:
    if not at or now is None:
        return ""
    left = parse_time(at) - now  # type: ignore[operator]
    if left.total_seconds() <= 0:
        return " (passed)"
    days = left.days
    return f" (in {days} d)" if days >= 2 else f" (in {int(left.total_seconds() // 3600)} h)"


def render_collect(result: CollectResult, now: datetime | None = None) -> list[str]:
    head = (
        f"collect from {result.org_name or ''} {result.org} ({result.edition or 'edition unknown'}), "
        f"API v{result.api_version}: {result.status}"
    )
    lines = [head.replace("  ", " ")]
    counts = ", ".join(
        f"{result.count(s)} {s}"
        for s in ("preserved", "unchanged", "skipped", "unavailable", "failed")
        if result.count(s)
    )
    lines.append(f"items: {counts or 'none'}")
    if result.message:
        lines.append(result.message)
    lines.append("")
    lines.append(
        f"{'SOURCE':<10} {'AVAILABLE':<9} {'RETENTION':<32} {'OLDEST IN ORG':<20}  {'LEAVES THE ORG':<31} "
        f"{'FILES':>5}  NOTE"
    )
    for s in result.sources:
        leaves = (s.oldest_expires or "-") + _until(s.oldest_expires, now)
        lines.append(
            f"{s.source:<10} {s.available:<9} {s.retention[:32]:<32} {s.oldest or '-':<20}  "
            f"{leaves:<31} {s.preserved:>5}  {s.note}"
        )
    for limit in result.limits:
        lines.append(f"limit: {limit}")
    lines.append("retention sources: " + "; ".join(sorted({s.cite for s in result.sources if s.cite})))
    return lines
