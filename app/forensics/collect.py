"""Forensic collection: preserve what the org holds about the leak before Salesforce lets it expire.

Setup Audit Trail, Login History, Event Log Files, debug logs and (where licensed) the real-time event objects
are fetched and written into the evidence store, each file hashed on intake and journaled as acquired evidence
with the tool, the SOQL, the API version and the time range, so custody starts at the download. Collection is
resumable: a `collect.progress` entry per preserved item feeds derived state, and a re-run skips items whose
content is already preserved (log files by Id; query results by the hash of what the org returns now).
Large files are streamed to disk, never held in memory.

What is collected and how long the org keeps it (objects, fields, event-log types, retention, with their
sources) is in `app/forensics/catalog.py`; results and their rendering in `app/forensics/results.py`.
"""

from __future__ import annotations

import json
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from app.base.clock import format_instant
from app.evidence.rows import FMT_APEXLOG, FMT_ELF, FMT_RECORDS, parse_time
from app.evidence.store import ID_LEN, hash_file
from app.forensics.assess import assess_sources
from app.forensics.catalog import (
    EVENT_OBJECTS,
    HEALTH_CHECK_OBJECTS,
    SOURCES,
    THREAT_OBJECTS,
    TIME_FIELD,
    TOOL,
)
from app.forensics.orgio import OrgSource, classify, jsonable, soql_for
from app.forensics.results import (
    CollectError,
    CollectResult,
    ItemResult,
    ProgressEvent,
    ProgressFn,
    SourceStatus,
    render_collect,
)
from app.incident.core import Incident
from app.journal.chain import Entry, Lookup

__all__ = [
    "EVENT_OBJECTS",
    "SOURCES",
    "THREAT_OBJECTS",
    "CollectError",
    "CollectResult",
    "ItemResult",
    "OrgSource",
    "ProgressEvent",
    "ProgressFn",
    "SourceStatus",
    "collect",
    "preserved",
    "render_collect",
    "soql_for",
]

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
        data.update({k: jsonable(v) for k, v in extra.items() if v is not None})
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
            return self.fail(source, item, "unavailable", str(exc))
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
        tooling: bool = False,
        unavailable: str = "",
    ) -> ItemResult:
        self.check_cancel()
        assert self.tmp is not None
        path = self.tmp / f"{sobject}.json"  # the evidence is known by this name
        rows = 0
        try:
            if available is None:
                available = self.src.fields(sobject, tooling=tooling)
                if available is None:
                    return self.fail(
                        source,
                        item,
                        "unavailable",
                        unavailable or f"{sobject} is not available to this login (edition, licence or permission)",
                    )
            soql = soql_for(sobject, available, since)
            self.emit(source, item, "started", soql)
            time_field = TIME_FIELD.get(sobject)
            with path.open("w", encoding="utf-8") as fh:
                header = {"object": sobject, "soql": soql, "api_version": self.src.api_version}
                if tooling:
                    header["api"] = "tooling"
                fh.write(json.dumps(header)[:-1] + ', "records": [\n')
                for record in self.src.records(soql, tooling=tooling):
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
            path=f"{self.src.instance_url}/services/data/v{self.src.api_version}/"
            + ("tooling/query" if tooling else "query"),
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
        for sobject in (*EVENT_OBJECTS, *THREAT_OBJECTS):
            self.check_cancel()
            item = f"events:{sobject}"
            try:
                fields = self.src.fields(sobject)
            except Exception as exc:
                self.failed("events", item, exc, self.tmp / "none")  # type: ignore[operator]
                continue
            if fields is None:
                what = "Threat Detection stores" if sobject in THREAT_OBJECTS else "real-time events"
                self.fail(
                    "events",
                    item,
                    "unavailable",
                    f"{sobject} is not in this org: {what} need Shield or the Event Monitoring add-on "
                    "(and View Real-Time Event Monitoring Data)",
                )
                continue
            any_present = True
            self.query_item("events", item, sobject, self.since, available=fields)
        self.present["events"] = any_present

    def healthcheck(self) -> None:
        """The Health Check score and every setting's risk, as the org reports them now (Tooling API)."""
        results = [
            self.query_item(
                "healthcheck",
                f"healthcheck:{sobject}",
                sobject,
                None,
                tooling=True,
                unavailable=f"{sobject} is not available: Health Check needs the View Setup and Configuration "
                "permission (and an edition that has Health Check)",
            )
            for sobject in HEALTH_CHECK_OBJECTS
        ]
        self.present["healthcheck"] = any(r.status != "unavailable" for r in results)

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
        status: Literal["complete", "interrupted", "cancelled"] = "complete"
        message = ""
        with tempfile.TemporaryDirectory(prefix="collect-", dir=self.incident.dir) as tmp:
            self.tmp = Path(tmp)
            try:
                self.directory()
                for source in SOURCES:
                    if source in self.what:
                        getattr(self, source)()
            except _Stop as stop:
                status, message = stop.status, stop.message
        failed = [i for i in self.items if i.status == "failed"]
        if status == "complete" and failed:
            message = f"{len(failed)} item(s) failed; run collect again to retry them"
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

    def assess(self) -> tuple[list[SourceStatus], list[str]]:
        return assess_sources(self)


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
