"""Forensic collection: preserve what the org holds about the leak before Salesforce lets it expire.

Setup Audit Trail, Login History, Event Log Files, debug logs and (where licensed) the real-time event objects
are fetched and written into the evidence store, each file hashed on intake and journaled as acquired evidence
with the tool, the SOQL, the API version and the time range, so custody starts at the download. Collection is
resumable: a `collect.progress` entry per preserved item feeds derived state, and a re-run skips items whose
content is already preserved (log files by Id; query results by the hash of what the org returns now).
Large files are streamed to disk, never held in memory.

What is collected and how long the org keeps it (objects, fields, event-log types, retention, with their
sources) is in `app/forensics/catalog.py`; fetching one item in `app/forensics/items.py`; results and their
rendering in `app/forensics/results.py`; what the run says about the org in `app/forensics/assess.py`.

A run ends `complete`, `partial` (an item failed or was refused: each is named with why), `interrupted` (an API
limit, the org gone, Ctrl-C) or `cancelled`; its end entry records the failures and the sources not reached, and
only the org's own answer is ever recorded as an edition or licence limit.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from app.base.clock import format_instant
from app.evidence.rows import FMT_APEXLOG, FMT_ELF, parse_time
from app.forensics.assess import assess_sources
from app.forensics.catalog import (
    EVENT_OBJECTS,
    HEALTH_CHECK_OBJECTS,
    SOURCES,
    THREAT_OBJECTS,
    TOOL,
)
from app.forensics.items import ItemRun, Stop
from app.forensics.orgio import OrgSource, classify, soql_for
from app.forensics.results import (
    STATUSES,
    CollectError,
    CollectResult,
    ItemResult,
    ProgressEvent,
    ProgressFn,
    SourceStatus,
    render_collect,
)
from app.incident.core import Incident
from app.journal.entries import Entry
from app.journal.registry import Lookup
from app.salesforce.protocol import OrgClient

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


class _Collector(ItemRun):
    def load_state(self) -> None:
        self.done = preserved(self.incident, self.org_id)
        for entry in self.incident.journal.entries(kind="evidence.acquired"):
            src = entry.data.get("source") or {}
            if src.get("collector") == "collect" and src.get("org_id") == self.org_id:
                self.acquired.setdefault(entry.data["evidence_id"], set()).add(src.get("item", ""))

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
        self.query_item("audit", "audit:SetupAuditTrail", "SetupAuditTrail", self.since)

    def logins(self) -> None:
        self.query_item("logins", "logins:LoginHistory", "LoginHistory", self.since)

    def eventlogs(self) -> None:
        index: list[dict[str, Any]] = []
        r = self.query_item("eventlogs", "eventlogs:index", "EventLogFile", self.since, keep=index.append)
        if r.status in ("failed", "unavailable", "denied"):
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
        if r.status in ("failed", "unavailable", "denied"):
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
        for sobject in (*EVENT_OBJECTS, *THREAT_OBJECTS):
            self.check_cancel()
            item = f"events:{sobject}"
            try:
                fields = self.src.fields(sobject)
            except Exception as exc:
                assert self.tmp is not None
                self.failed("events", item, exc, self.tmp / "none")
                continue
            if fields is None:
                what = "Threat Detection stores" if sobject in THREAT_OBJECTS else "real-time events"
                self.fail(
                    "events",
                    item,
                    "unavailable",
                    f"{sobject} is not visible to this login: {what} need Shield or the Event Monitoring add-on "
                    "and the View Real-Time Event Monitoring Data permission; Salesforce hides the object the same "
                    "way for either lack, so which one is not known",
                )
                continue
            self.query_item("events", item, sobject, self.since, available=fields)

    def healthcheck(self) -> None:
        """The Health Check score and every setting's risk, as the org reports them now (Tooling API)."""
        for sobject in HEALTH_CHECK_OBJECTS:
            self.query_item(
                "healthcheck",
                f"healthcheck:{sobject}",
                sobject,
                None,
                tooling=True,
                unavailable=f"{sobject} is not visible to this login: Health Check needs the View Setup and "
                "Configuration permission (and an edition that has Health Check); which one is missing is not known",
            )

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
        status: Literal["complete", "partial", "interrupted", "cancelled"] = "complete"
        message = ""
        with tempfile.TemporaryDirectory(prefix="collect-", dir=self.incident.dir) as tmp:
            self.tmp = Path(tmp)
            try:
                self.directory()
                for source in SOURCES:
                    if source in self.what:
                        self.reached.append(source)
                        getattr(self, source)()
            except Stop as stop:
                status, message = stop.status, stop.message
                self.stopped_in = self.reached[-1] if self.reached else None
            except KeyboardInterrupt:
                # Ctrl-C (or SIGINT): record what was finished and that the run stopped, then let it through.
                self.stopped_in = self.reached[-1] if self.reached else None
                with contextlib.suppress(Exception):  # the interruption wins over a failure to record it
                    self.finish("interrupted", "interrupted by the responder (Ctrl-C); run collect again to continue")
                raise
        return self.finish(status, message)

    def finish(self, status: Literal["complete", "partial", "interrupted", "cancelled"], message: str) -> CollectResult:
        """The run's result, journaled as the `collect.run` end entry with every item that failed and why."""
        problems = [i for i in self.items if i.status in ("failed", "denied")]
        if status == "complete" and problems:
            status = "partial"
            message = f"{len(problems)} of {len(self.items)} items failed; run collect again to retry them"
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
            not_reached=[s for s in self.what if s not in self.reached],
        )
        result.sources, result.limits = self.assess(status)
        counts = {s: result.count(s) for s in STATUSES}
        self.incident.journal.append(
            "collect.run",
            {
                "run": self.run_id,
                "phase": "finished",
                "status": status,
                "message": message,
                "counts": counts,
                "failures": [{"item": i.item, "status": i.status, "detail": i.detail} for i in problems],
                "not_reached": result.not_reached,
                "sources": [s.model_dump(exclude_none=True) for s in result.sources],
                "limits": result.limits,
            },
            self.actor,
        )
        return result

    def assess(self, status: str) -> tuple[list[SourceStatus], list[str]]:
        return assess_sources(self, status)


def collect(
    incident: Incident,
    org: OrgClient,
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
