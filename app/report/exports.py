"""Exports other tools read: the indicators and observed activity as a STIX 2.1 bundle or a MISP event, each
checked, preserved in the evidence store (so its hash is journaled as `evidence.acquired`) and recorded as
`report.exported` with what it holds."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from app.base.errors import UsageError, WarroomError
from app.report.observed import observed

if TYPE_CHECKING:
    from app.incident.core import Incident
    from app.journal.entries import Entry

EXPORT_KIND = "report.exported"
EXPORT_FORMATS = ("stix", "misp")


@dataclass(frozen=True)
class ExportResult:
    format: str
    data: bytes
    name: str
    evidence_id: str
    sha256: str
    indicators: int
    hits: int
    entry: Entry


def export_indicators(incident: Incident, actor: str, fmt: str, *, now: datetime | None = None) -> ExportResult:
    """Build the export, check it (STIX: parsed back by `stix2`), preserve it as evidence and journal it."""
    from app.incident import record
    from app.report import misp, stix

    if fmt not in EXPORT_FORMATS:
        raise UsageError(f"unknown export {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")
    now = now or incident.journal.clock.now()
    obs = observed(incident)
    if fmt == "stix":
        text = stix.serialize(stix.build_bundle(incident.id, incident.title, obs, now))
        try:
            parsed = stix.validate(text)
        except Exception as exc:  # the library's own exceptions: nothing else can judge the bundle
            raise WarroomError(f"the STIX bundle did not validate: {exc}") from None
        counted = sum(1 for o in parsed.objects if o.type == "indicator")
        name, note = f"{incident.id}.stix2.1.json", "STIX 2.1 bundle: indicators and observed activity"
    else:
        from app.base.clock import read_instant

        fields = record.incident_fields(incident.journal)
        date = read_instant(fields.get("detected"))  # None when absent or unusable
        event = misp.build_event(incident.id, incident.title, obs, now, date=date)
        text = json.dumps(event, indent=2, ensure_ascii=False) + "\n"
        counted = len(event["Event"]["Attribute"])
        name, note = f"{incident.id}.misp-event.json", "MISP event: indicators and sightings"
    data = text.encode("utf-8")
    ev = incident.add_evidence_bytes(data, name, actor, note=note, source={"export": fmt})
    entry = incident.journal.append(
        EXPORT_KIND,
        {
            "format": fmt,
            "evidence_id": ev.evidence_id,
            "sha256": ev.sha256,
            "size": ev.size,
            "indicators": counted,
            "hits": len(obs.hits),
            "indicator_sets": sorted({i.set_name for i in obs.indicators}),
        },
        actor,
    )
    return ExportResult(fmt, data, name, ev.evidence_id, ev.sha256, counted, len(obs.hits), entry)
