"""Printing the HTML report to PDF with a headless Chromium or Chrome found on PATH, then writing the journal root
into the PDF's document information (the browser writes only the <title> there, so pypdf adds the rest).

No browser, no PDF: the caller falls back to the HTML and says how to install one. The browser runs with a
throw-away profile, no extensions and no background networking; the page it prints is self-contained, so
nothing is fetched.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from app.base.errors import WarroomError
from app.report.model import Report

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
INSTALL_HINT = (
    "install Chromium (Debian/Ubuntu: `apt-get install chromium`; Fedora: `dnf install chromium`; macOS: "
    "install Google Chrome and put it on PATH) or pass --browser PATH"
)
PRINT_TIMEOUT_S = 180


class BrowserError(WarroomError):
    """The headless browser was found but could not print the report."""

    exit_code = 1


def find_browser(path: str | None = None) -> str | None:
    """The first of BROWSERS on PATH (or on `path`), or None."""
    for name in BROWSERS:
        found = shutil.which(name, path=path)
        if found:
            return found
    return None


def print_to_pdf(html: str, browser: str) -> bytes:
    """`browser --headless --print-to-pdf --no-pdf-header-footer` on the HTML; the page's own @page rules set the
    paper, margins, headers and footers."""
    with tempfile.TemporaryDirectory(prefix="warroom-pdf-") as tmp:
        page, out = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        page.write_text(html, encoding="utf-8")
        argv = [
            browser,
            "--headless",
            "--disable-gpu",
            "--disable-extensions",
            "--disable-background-networking",
            "--no-first-run",
            "--no-default-browser-check",
            f"--user-data-dir={Path(tmp) / 'profile'}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={out}",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            argv.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
        argv.append(page.as_uri())
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=PRINT_TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise BrowserError(f"{browser} could not print the report: {exc}") from None
        if not out.is_file() or out.stat().st_size == 0:
            tail = (done.stderr or "").strip().splitlines()[-3:]
            raise BrowserError(f"{browser} wrote no PDF (exit {done.returncode}): " + " | ".join(tail))
        return out.read_bytes()


def stamp_metadata(pdf: bytes, report: Report) -> bytes:
    """The PDF's document information: title, subject, keywords and the journal's size and root (custom keys
    /WarroomJournalRoot, /WarroomJournalSize, /WarroomIncident, /WarroomReportSHA256)."""
    from pypdf import PdfReader, PdfWriter

    reader = PdfReader(io.BytesIO(pdf))
    writer = PdfWriter(clone_from=reader)
    j = report.journal
    writer.add_metadata(
        {
            "/Title": f"Incident report {report.incident_id}",
            "/Subject": f"{report.title} (journal {j.size} entries, root {j.root})",
            "/Keywords": f"incident {report.incident_id}; journal root {j.root}; anchor {j.anchor}",
            "/Author": report.generated_by,
            "/Creator": report.software,
            "/WarroomIncident": report.incident_id,
            "/WarroomJournalSize": str(j.size),
            "/WarroomJournalRoot": j.root,
            "/WarroomReportSHA256": report.report_sha256,
        }
    )
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()
