"""One collection item at a time: a query into one JSON file, or a log blob into one file, hashed, stored as
evidence and journaled as `collect.progress`, or recorded as what the org's answer says (see
`app.forensics.orgio.classify`); the run in `app/forensics/collect.py` decides which items there are."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from app.base.clock import format_instant
from app.evidence.rows import FMT_RECORDS, parse_time
from app.evidence.store import ID_LEN, hash_file
from app.forensics.catalog import TIME_FIELD, TOOL
from app.forensics.orgio import OrgSource, classify, hidden_text, jsonable, soql_for
from app.forensics.results import ItemResult, ProgressEvent, ProgressFn
from app.incident.core import Incident


class Stop(Exception):
    """The run stops here (a limit, the org gone, the responder's cancel); what is preserved stays."""

    def __init__(self, status: Literal["interrupted", "cancelled"], message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ItemRun:
    """The state of one run and the fetching of single items; subclassed by the collector."""

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
        self.reached: list[str] = []  # sources started, in order
        self.stopped_in: str | None = None  # the source being collected when the run stopped
        self.log_types: set[str] = set()
        self.tmp: Path | None = None
        self.done: dict[str, dict[str, Any]] = {}  # item -> what is preserved (read once per run)
        self.acquired: dict[str, set[str]] = {}  # evidence id -> items it was acquired as

    # -- plumbing ----------------------------------------------------------------------------------------

    def emit(self, source: str, item: str, status: str, detail: str = "", done: int = 0, total: int = 0) -> None:
        if self.progress:
            self.progress(ProgressEvent(source, item, status, done, total, detail))

    def check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Stop("cancelled", "cancelled by the responder")

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
            self.items.append(result)  # counted before anything else can stop the run
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
        self.items.append(result)  # counted before anything else can stop the run
        self.emit(source, item, "preserved", f"{name} ({size} bytes, sha256 {sha[:12]})")
        return result

    def fail(
        self, source: str, item: str, status: Literal["failed", "unavailable", "denied"], detail: str
    ) -> ItemResult:
        result = ItemResult(item=item, source=source, status=status, detail=detail)
        self.items.append(result)
        self.emit(source, item, status, detail)
        return result

    def failed(self, source: str, item: str, exc: Exception, partial: Path) -> ItemResult:
        """A call failed: stop the run (limit, offline, login), or record this item as what the answer says
        (see `classify`: only the org's own "not enabled" answer is recorded as an edition or licence limit)."""
        partial.unlink(missing_ok=True)
        outcome = classify(exc)
        if outcome == "limit":
            raise Stop("interrupted", f"{exc}. Run collect again later: it continues where it stopped") from None
        if outcome == "fatal":
            raise Stop("interrupted", f"{exc}. Run collect again when the org is reachable") from None
        if outcome == "disabled":
            return self.fail(source, item, "unavailable", f"{exc} (the org says it is not enabled: edition or licence)")
        if outcome == "hidden":
            return self.fail(source, item, "unavailable", hidden_text(item.split(":", 1)[-1]))
        if outcome == "denied":
            return self.fail(source, item, "denied", f"refused to this login (a permission is missing): {exc}")
        return self.fail(source, item, "failed", f"{exc or type(exc).__name__}; run collect again to retry")

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
                    return self.fail(source, item, "unavailable", unavailable or hidden_text(sobject))
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
        except Stop:
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
        path.unlink(missing_ok=True)
        return result
