"""After a collection run: which sources this org gave, how long it keeps them, and the plain-language limits
of its edition and of the login (what it lacks is a note, not an error).

Only what the org said is recorded as a limit of the org. A source the run did not reach (an interruption) or
whose calls failed (a fault) is `unknown`, never "not available"; a refusal is the login's, not the edition's;
and an object the org hides (INVALID_TYPE) is reported as hidden from this login, because Salesforce answers
the same way for a missing licence and a missing permission (see `app.forensics.orgio.classify`).

Whether the org has Event Monitoring is taken only from what it showed: a real-time event object answered, or
an event-log type beyond the free ones was listed (without the add-on an org gets only the free types: Login,
Logout, API Total Usage..., REST API guide using_resources_event_log_files and Salesforce Help). Developer
Edition is the one edition signal used: its event log files are kept 1 day (using_resources_event_log_files:
"one day for Developer Edition orgs"), read from Organization.OrganizationType.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any, Literal

from app.base.clock import format_instant
from app.forensics.catalog import (
    FREE_LOG_TYPES,
    FREE_RETENTION,
    RETENTION,
    SOURCES,
    THREAT_OBJECTS,
    WANTED_LOG_TYPES,
    Retention,
)
from app.forensics.results import ItemResult, SourceStatus

GOT = ("preserved", "unchanged", "skipped")
# Event Monitoring not determined by this run: expiry is reckoned with the shorter retention (the safe side).
UNKNOWN_ELF_RETENTION = Retention(
    1,
    "1 day (30 with Event Monitoring)",
    "Salesforce REST API guide, using_resources_event_log_files: 30 days licensed, 1 day without the add-on",
)


def event_monitoring(items: list[ItemResult], log_types: set[str]) -> bool | None:
    """True when the org showed Event Monitoring in this run; None when the run cannot tell (never False:
    an event object hidden from this login may be a missing permission, see the module docstring)."""
    if any(i.source == "events" and i.status in GOT for i in items):
        return True
    if log_types - set(FREE_LOG_TYPES):
        return True
    return None


def _finished(c: Any, source: str) -> bool:
    """The run started this source and did not stop inside it."""
    return source in c.what and source in c.reached and c.stopped_in != source


def _limits(c: Any, by_source: dict[str, list[ItemResult]], em: bool | None, developer: bool) -> list[str]:
    limits: list[str] = []
    events = by_source.get("events", [])
    if _finished(c, "events") and events and all(i.status == "unavailable" for i in events):
        limits.append(
            "No real-time event objects (ApiEvent, LoginEvent, ReportEvent, BulkApiResultEventStore) or "
            "Threat Detection stores are visible to this login: they need Shield or the Event Monitoring add-on "
            "and View Real-Time Event Monitoring Data (Salesforce does not say which is missing), so per-query "
            "row counts and anomaly scores are not available from events."
        )
    threats_missing = [
        i.item.split(":", 1)[1]
        for i in events
        if i.status == "unavailable" and i.item.split(":", 1)[1] in THREAT_OBJECTS
    ]
    if em and threats_missing:
        limits.append(
            "Threat Detection stores not in this org or not readable by this login: "
            + ", ".join(threats_missing)
            + " (Shield or the Event Monitoring add-on, and View Real-Time Event Monitoring Data)."
        )
    health = by_source.get("healthcheck", [])
    if _finished(c, "healthcheck") and health and all(i.status in ("unavailable", "denied") for i in health):
        limits.append("No Health Check snapshot: SecurityHealthCheck needs View Setup and Configuration (Tooling API).")
    index = next((i for i in by_source.get("eventlogs", []) if i.item == "eventlogs:index"), None)
    if index is not None and index.status in GOT:
        if developer:
            limits.append(
                "Event log files: a Developer Edition org keeps them 1 day, and without Event Monitoring only "
                "the free types (Login, Logout, API Total Usage...) exist; ask Salesforce for the Historical "
                "Event Logs Process to reach up to 30 days back."
            )
        elif em is None:
            limits.append(
                "Event log files: only the free types (Login, Logout, API Total Usage...) were listed. Without "
                "Event Monitoring that is all an org has, each kept 1 day; this run cannot tell whether the "
                "add-on is missing. The Historical Event Logs Process (a Salesforce Support request) reaches up "
                "to 30 days back."
            )
        missing = [t for t in WANTED_LOG_TYPES if t not in c.log_types]
        if missing and _finished(c, "eventlogs"):
            limits.append("Event log types not present for this range: " + ", ".join(missing) + ".")
    return limits


def _availability(
    c: Any, source: str, items: list[ItemResult], status: str
) -> tuple[Literal["yes", "partial", "no", "unknown"], list[str]]:
    got = [i for i in items if i.status in GOT]
    missing = [i for i in items if i.status not in GOT]
    kinds = Counter(i.status for i in missing)
    notes: list[str] = []
    available: Literal["yes", "partial", "no", "unknown"]
    if not items:
        available = "unknown"
    elif not missing:
        available = "yes"
    elif got:
        available = "partial"
    elif not kinds["failed"]:
        available = "no"
    else:
        available = "unknown"
    if c.stopped_in == source:
        notes.append(f"{status} during this source: run collect again")
        if available == "yes":
            available = "partial"
    if kinds["failed"]:
        notes.append(f"{kinds['failed']} failed (a fault, not a limit of the org): run collect again")
    if kinds["denied"]:
        notes.append(f"{kinds['denied']} refused to this login (a permission is missing)")
    unavailable = [i for i in missing if i.status == "unavailable"]
    if unavailable:
        names = ", ".join(i.item.split(":", 1)[1] for i in unavailable)
        if all("not enabled" in i.detail for i in unavailable):
            notes.append(f"not enabled in this org (the org says so): {names}")
        else:
            notes.append(f"not visible to this login (licence or permission, Salesforce does not say which): {names}")
    return available, notes


def assess_sources(c: Any, status: str) -> tuple[list[SourceStatus], list[str]]:
    """The edition/expiry table and the plain-language limits of this org (`c` is the run's collector: what
    it was asked for, which sources it reached and where it stopped, its items, the log types seen and the
    oldest times); `status` is how the run ended."""
    by_source: dict[str, list[ItemResult]] = {}
    for item in c.items:
        by_source.setdefault(item.source, []).append(item)
    em = event_monitoring(c.items, c.log_types)
    developer = "developer" in (c.edition or "").lower()
    limits = _limits(c, by_source, em, developer)
    if developer:
        elf = FREE_RETENTION
    elif em:
        elf = RETENTION["eventlogs"]
    else:
        elf = UNKNOWN_ELF_RETENTION
    table: list[SourceStatus] = []
    for source in SOURCES:
        ret = elf if source == "eventlogs" else RETENTION[source]
        items = by_source.get(source, [])
        if source not in c.what:
            available: Literal["yes", "partial", "no", "unknown"] = "no"
            notes = ["not collected in this run"]
        elif source not in c.reached:
            available, notes = "unknown", [f"not reached: the run was {status} before it"]
        else:
            available, notes = _availability(c, source, items, status)
            if source == "eventlogs" and available == "yes" and (developer or em is None):
                available = "partial"
                notes.insert(0, "free log types only")
        oldest = c.oldest.get(source)
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
                preserved=sum(1 for i in items if i.status in GOT),
                note="; ".join(notes),
                cite=ret.cite,
            )
        )
    return table, limits
