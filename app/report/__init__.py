"""The audit report: one model built from the journal alone, rendered as Markdown, self-contained HTML or JSON.

An auditor samples from it: every entry with who, when and what (before/after where the entry carries them),
each SOC 2 and ISO 27001 control with the checklist items, actions and evidence that served it, the
notification clocks and when each notice went, containment, evidence with hashes and custody, what is still
open, and the journal's size and Merkle root with a fresh verification, so the report itself can be anchored.
The report's own hash (`report_sha256`) covers the canonical JSON of everything else in it; the bytes of the
rendered file are hashed again when `report.generated` is journaled. `export_population` gives the population
an auditor samples from as CSV, with the SQL that produced it.

Layout: `model` (the report's model), `contents` (built from the journal), `series` (the data behind the
pictures, shared with the console), `summary` (the executive summary), `svg` (the pictures), `layout` (the HTML
template and its context), `rendering` (Markdown, JSON, HTML), `pdf` (printing with a headless browser),
`output` (generate and journal, atomic writes), `population` (the CSV export), and the exports other tools read:
`observed` (indicators and hits), `stix` (STIX 2.1), `misp` (MISP event), `exports` (preserve and journal).
"""

from __future__ import annotations

from app.report.contents import (
    build_report,
    summarise,
)
from app.report.exports import (
    EXPORT_FORMATS,
    EXPORT_KIND,
    ExportResult,
    export_indicators,
)
from app.report.model import (
    CONTROL_FRAMEWORKS,
    FORMAT,
    FORMAT_VERSION,
    FORMATS,
    REPORT_KIND,
    SUMMARY_CHARS,
    BudgetRow,
    ClockRow,
    ContainmentRow,
    ControlItem,
    ControlRow,
    CostTotalRow,
    CustodyRow,
    DraftRef,
    EvidenceRow,
    ExfilRowOut,
    FineRow,
    GrantRow,
    JournalSummary,
    MonitoringAlertRow,
    MonitoringSummary,
    OpenItem,
    ReconnectRow,
    Recovery,
    Report,
    TimelineEntry,
)
from app.report.output import (
    generate,
    write_output,
)
from app.report.population import (
    POPULATION_COLUMNS,
    Population,
    export_population,
    population_query,
)
from app.report.rendering import (
    render,
    render_html,
    render_markdown,
)

__all__ = [
    "CONTROL_FRAMEWORKS",
    "EXPORT_FORMATS",
    "EXPORT_KIND",
    "FORMAT",
    "FORMATS",
    "FORMAT_VERSION",
    "POPULATION_COLUMNS",
    "REPORT_KIND",
    "SUMMARY_CHARS",
    "BudgetRow",
    "ClockRow",
    "ContainmentRow",
    "ControlItem",
    "ControlRow",
    "CostTotalRow",
    "CustodyRow",
    "DraftRef",
    "EvidenceRow",
    "ExfilRowOut",
    "ExportResult",
    "FineRow",
    "GrantRow",
    "JournalSummary",
    "MonitoringAlertRow",
    "MonitoringSummary",
    "OpenItem",
    "Population",
    "ReconnectRow",
    "Recovery",
    "Report",
    "TimelineEntry",
    "build_report",
    "export_indicators",
    "export_population",
    "generate",
    "population_query",
    "render",
    "render_html",
    "render_markdown",
    "summarise",
    "write_output",
]
