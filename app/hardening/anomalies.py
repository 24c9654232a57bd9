"""The anomalies the incident's hunts recorded, summarised for the Transaction Security policies the hardening
plan asks for: report exports (how many, the largest row count recorded) and API use (from which addresses).

Read from the journal's `hunt.hit` entries through the hunt area's own model (`app.hunt.hunting.Hit`); a hit's
`rows` is what its source row said (event logs without a row count leave it unknown, never 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.hunt.exfil import EXFIL_SOURCES
from app.hunt.hunting import Hit

if TYPE_CHECKING:
    from app.incident.core import Incident

REPORT_SOURCES = ("ReportEvent", "EventLogFile/Report", "EventLogFile/ReportExport")
API_SOURCES = tuple(s for s in EXFIL_SOURCES if s not in REPORT_SOURCES)  # the API, REST and Bulk logs and events


@dataclass
class Seen:
    hunted: bool = False
    report_hits: int = 0
    largest_report_rows: int | None = None
    api_hits: int = 0
    api_addresses: list[str] = field(default_factory=list)

    def report_line(self) -> str:
        if not self.hunted:
            return "No hunt is recorded in this incident yet: set the threshold from the integrations' normal volume."
        if not self.report_hits:
            return "The incident's hunts recorded no report export from an indicator."
        largest = (
            f"the largest {self.largest_report_rows} rows"
            if self.largest_report_rows is not None
            else "their row counts unknown"
        )
        return (
            f"Seen in this incident: {self.report_hits} report export(s) from indicators, {largest}; set the "
            "threshold below that and above the largest legitimate export."
        )

    def api_line(self) -> str:
        if not self.hunted:
            return "No hunt is recorded in this incident yet: list the integrations' known ranges from their vendors."
        if not self.api_addresses:
            return "The incident's hunts recorded no API use from an indicator address."
        shown = ", ".join(self.api_addresses[:10]) + (" …" if len(self.api_addresses) > 10 else "")
        count = len(self.api_addresses)
        return f"Seen in this incident: {self.api_hits} API request(s) from {count} address(es): {shown}."


def seen_in(incident: Incident) -> Seen:
    seen = Seen(hunted=any(True for _ in incident.journal.entries(kind="hunt.run")))
    addresses: set[str] = set()
    for entry in incident.journal.entries(kind="hunt.hit"):
        hit = Hit.model_validate(entry.data)
        if hit.source in REPORT_SOURCES:
            seen.report_hits += 1
            if hit.rows is not None:
                seen.largest_report_rows = max(seen.largest_report_rows or 0, hit.rows)
        elif hit.source in API_SOURCES:
            seen.api_hits += 1
            if hit.ip:
                addresses.add(hit.ip)
    seen.api_addresses = sorted(addresses)
    return seen
