"""Producing a report: build, render and journal `report.generated` with the bytes' SHA-256; atomic writes."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from app.base.errors import UsageError
from app.base.files import atomic_write
from app.report.contents import build_report
from app.report.layout import PAPERS
from app.report.model import FORMATS, REPORT_KIND, Report
from app.report.rendering import render

if TYPE_CHECKING:
    from app.incident.core import Incident
    from app.journal.entries import Entry


# -- writing and journaling ----------------------------------------------------------------------------------------


def generate(
    incident: Incident,
    actor: str,
    fmt: str,
    *,
    now: datetime | None = None,
    template: Path | None = None,
    paper: str = "a4",
    browser: str | None = None,
) -> tuple[Report, bytes, Entry]:
    """Build and render the report, then journal `report.generated` with the rendered bytes' SHA-256.

    `pdf` prints the HTML with `browser` (default: the first found on PATH) and stamps the journal root into the
    PDF's metadata; with no browser the HTML is produced instead, journaled as `html` with `requested: "pdf"`
    and `fallback` saying why, so the caller can tell (`entry.data["format"]`)."""
    from app.report.pdf import INSTALL_HINT, find_browser, print_to_pdf, stamp_metadata

    if fmt not in FORMATS:
        raise UsageError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")
    if paper not in PAPERS:
        raise UsageError(f"unknown paper {paper!r}; use one of {', '.join(PAPERS)}")
    report = build_report(incident, actor, now=now)
    extra: dict[str, str] = {}
    if fmt == "pdf":
        found = browser or find_browser()
        html = render(report, "html", template=template, paper=paper)
        if found is None:
            fmt, data = "html", html.encode("utf-8")
            extra = {"requested": "pdf", "fallback": "no headless browser found on PATH; " + INSTALL_HINT}
        else:
            data = stamp_metadata(print_to_pdf(html, found), report)
    else:
        data = render(report, fmt, template=template, paper=paper).encode("utf-8")
    if template is not None:
        extra["template"] = str(template)
    if fmt in ("html", "pdf"):
        extra["paper"] = paper
    entry = incident.journal.append(
        REPORT_KIND,
        {
            **extra,
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
