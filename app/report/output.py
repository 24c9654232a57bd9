"""Producing a report: build, render and journal `report.generated` with the bytes' SHA-256; atomic writes."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from app.base.errors import UsageError
from app.base.files import atomic_write
from app.report.contents import build_report
from app.report.model import FORMATS, REPORT_KIND, Report
from app.report.rendering import render

if TYPE_CHECKING:
    from app.incident.core import Incident
    from app.journal.chain import Entry


# -- writing and journaling ----------------------------------------------------------------------------------------


def generate(incident: Incident, actor: str, fmt: str, *, now: datetime | None = None) -> tuple[Report, bytes, Entry]:
    """Build and render the report, then journal `report.generated` with the rendered bytes' SHA-256."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")
    report = build_report(incident, actor, now=now)
    data = render(report, fmt).encode("utf-8")
    entry = incident.journal.append(
        REPORT_KIND,
        {
            "format": fmt,
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
            "report_sha256": report.report_sha256,
            "tree_size": report.journal.size,
            "root": report.journal.root,
            "verified": report.journal.verified,
        },
        actor,
    )
    return report, data, entry


def write_output(path: Path, data: bytes) -> None:
    """Write atomically next to the target (a half-written report must never be mistaken for one); devices,
    FIFOs, links and directories are refused."""
    atomic_write(path, data)
