"""After a collection run: which sources this org gave, how long it keeps them, and the plain-language limits
of its edition and of the login (what it lacks is a note, not an error)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from app.base.clock import format_instant
from app.forensics.catalog import FREE_RETENTION, RETENTION, SOURCES, THREAT_OBJECTS, WANTED_LOG_TYPES
from app.forensics.results import SourceStatus


def assess_sources(self: Any) -> tuple[list[SourceStatus], list[str]]:
    """The edition/expiry table and the plain-language limits of this org (`self` is the run's collector: what
    it was asked for, which sources were present, its items, the log types seen and the oldest times)."""
    licensed = bool(self.present.get("events"))
    developer = "developer" in (self.edition or "").lower()
    limits: list[str] = []
    if "events" in self.what and not licensed:
        limits.append(
            "No real-time event objects (ApiEvent, LoginEvent, ReportEvent, BulkApiResultEventStore) or "
            "Threat Detection stores: they need Shield or the Event Monitoring add-on, so per-query row "
            "counts and anomaly scores are not available from events."
        )
    threats_missing = [
        i.item.split(":", 1)[1]
        for i in self.items
        if i.source == "events" and i.status == "unavailable" and i.item.split(":", 1)[1] in THREAT_OBJECTS
    ]
    if "events" in self.what and licensed and threats_missing:
        limits.append(
            "Threat Detection stores not in this org or not readable by this login: "
            + ", ".join(threats_missing)
            + " (Shield or the Event Monitoring add-on, and View Real-Time Event Monitoring Data)."
        )
    if "healthcheck" in self.what and not self.present.get("healthcheck"):
        limits.append("No Health Check snapshot: SecurityHealthCheck needs View Setup and Configuration (Tooling API).")
    elf = RETENTION["eventlogs"] if licensed and not developer else FREE_RETENTION
    if "eventlogs" in self.what and self.present.get("eventlogs"):
        missing = [t for t in WANTED_LOG_TYPES if t not in self.log_types]
        if not licensed or developer:
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
        present = self.present.get(source, False)
        available: Literal["yes", "partial", "no"] = "yes" if present else "no"
        note = ""
        if source == "eventlogs" and present and (not licensed or developer):
            available, note = "partial", "free log types only"
        if source == "events" and present:
            missing = [
                i.item.split(":", 1)[1] for i in self.items if i.source == "events" and i.status == "unavailable"
            ]
            if missing:
                available, note = "partial", "not in this org: " + ", ".join(missing)
        if not present:
            note = "not available in this org (edition, licence or permission)"
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
