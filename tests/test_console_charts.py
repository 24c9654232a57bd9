"""The terminal pictures draw the report's series faithfully: checklist progress per phase over time reaches each
phase's done count at the time it was recorded, and says so when nothing is done or the checklist is missing."""

from __future__ import annotations

from app.report import series as sr
from screens import charts


def _progress(points: tuple[sr.ProgressPoint, ...], total: int = 4) -> sr.ChecklistProgress:
    return sr.ChecklistProgress("2026-11-27T10:00:00Z", (sr.PhaseProgress("detect", "Detect", total, points),), True)


def test_checklist_steps_rise_when_items_are_done_and_end_at_the_last_count() -> None:
    points = (sr.ProgressPoint("2026-11-27T00:00:00Z", 1), sr.ProgressPoint("2026-11-27T05:00:00Z", 4))
    text = charts.checklist_steps(_progress(points), 52).plain
    row = text.splitlines()[0]
    assert row.startswith("Detect ") and row.endswith(" 4/4")
    cols = row[len("Detect ") : -len(" 4/4")]
    assert len(cols) == 52 - len("Detect") - 12  # the width less the label and room for the count
    half = len(cols) // 2
    # 1 of 4 done for the first half of the span (00:00 to 05:00 of 00:00 to 10:00), then all 4
    assert set(cols[: half - 1]) == {charts.BLOCKS[2]} and set(cols[half:]) == {charts.BLOCKS[8]}
    assert "from 2026-11-27 00:00:00 UTC" in text and "to   2026-11-27 10:00:00 UTC" in text


def test_checklist_steps_say_when_there_is_nothing_to_draw() -> None:
    assert charts.checklist_steps(_progress(()), 60).plain == "no checklist item done yet"
    missing = sr.ChecklistProgress("2026-11-27T10:00:00Z", (), False)
    assert charts.checklist_steps(missing, 60).plain == "the incident's checklist cannot be loaded"
