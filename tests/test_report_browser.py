"""The demo incident's report, printed by a real headless Chromium (skipped, saying why, when none is installed):
a one-page executive summary, at least six pictures that render, no table cell that breaks a word or spills over
the page, the journal root on every page and in the PDF's metadata. The first pages are saved as PNG for review
(WARROOM_ARTIFACTS, default .artifacts/report/); nothing compares pixels."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from app.report.pdf import INSTALL_HINT, find_browser
from tests.browser_check import layout_check
from tests.report_helpers import PlayedDemo, play_demo

BROWSER = find_browser()
pytestmark = pytest.mark.skipif(BROWSER is None, reason=f"no headless Chromium or Chrome on PATH: {INSTALL_HINT}")
SNAPSHOT_PAGES = 6


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> PlayedDemo:
    return play_demo(tmp_path_factory.mktemp("browser"))


@pytest.fixture(scope="module")
def printed(demo: PlayedDemo) -> tuple[str, bytes, str]:
    """(HTML, PDF bytes, journal root the PDF covers: the head just before it was made)."""
    html_path, pdf_path = demo.home / "report.html", demo.home / "report.pdf"
    code, _, err = demo.run("report", "--format", "html", "--out", str(html_path))
    assert code == 0, err
    with demo.incident() as incident:
        root = incident.journal.head().root_hex
    code, _, err = demo.run("report", "--format", "pdf", "--out", str(pdf_path))
    assert code == 0, err
    return html_path.read_text("utf-8"), pdf_path.read_bytes(), root


def _pages(pdf: bytes) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages]


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_no_cell_breaks_a_word_or_spills_over_the_page(
    demo: PlayedDemo, printed: tuple[str, bytes, str], tmp_path: Path, paper: str
) -> None:
    html = printed[0]
    if paper != "a4":
        code, html, err = demo.run("report", "--format", "html", "--paper", paper)
        assert code == 0, err
        assert f"size: {paper} landscape" in html
    assert BROWSER is not None
    found = layout_check(BROWSER, html, tmp_path, paper)
    assert found["broken"] == [], f"words broken across lines: {found['broken'][:20]}"
    assert found["overflow"] == [], f"cells wider than their column: {found['overflow'][:10]}"
    assert found["wide"] == [], f"tables wider than the page: {found['wide']}"


def test_every_picture_renders(printed: tuple[str, bytes, str], tmp_path: Path) -> None:
    assert BROWSER is not None
    svgs = layout_check(BROWSER, printed[0], tmp_path)["svgs"]
    assert len(svgs) >= 6, svgs
    for svg in svgs:
        assert svg["bbox"][0] > 0 and svg["bbox"][1] > 0, svg
        assert svg["shown"][0] > 0 and svg["shown"][1] > 0, svg
    titles = " ".join(s["title"] for s in svgs)
    for picture in (
        "Attack timeline",
        "Notification clocks",
        "Rows taken",
        "Containment",
        "Checklist progress",
        "Token use",
    ):
        assert picture in titles


def test_pdf_summary_is_one_page_and_the_root_is_on_every_page(printed: tuple[str, bytes, str]) -> None:
    from pypdf import PdfReader

    _, pdf, root = printed
    pages = _pages(pdf)
    assert 8 <= len(pages) <= 80, len(pages)
    for n, text in enumerate(pages, start=1):
        assert root in text.replace("\n", ""), f"page {n} lacks the journal root"
        assert f"Page {n} of {len(pages)}" in text
    [summary] = [n for n, t in enumerate(pages) if "Executive summary" in t]
    assert "What happened" in pages[summary] and "Still open" in pages[summary]
    assert "Pictures" in pages[summary + 1]  # the summary ended on its own page
    meta = PdfReader(io.BytesIO(pdf)).metadata
    assert meta is not None and meta["/WarroomJournalRoot"] == root and root in str(meta["/Keywords"])


def test_first_pages_saved_as_png_for_review(printed: tuple[str, bytes, str], tmp_path: Path) -> None:
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed: no PNG snapshots")
    out = Path(os.environ.get("WARROOM_ARTIFACTS", Path(__file__).parent.parent / ".artifacts")) / "report"
    out.mkdir(parents=True, exist_ok=True)
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(printed[1])
    for old in out.glob("page-*.png"):
        old.unlink()
    subprocess.run([pdftoppm, "-r", "60", "-png", "-l", str(SNAPSHOT_PAGES), str(pdf), str(out / "page")], check=True)
    assert len(list(out.glob("page-*.png"))) == SNAPSHOT_PAGES
