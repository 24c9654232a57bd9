"""The pictures from made-up series: well-formed SVG with no script, no link and nothing fetched, text escaped,
unknowns written out rather than drawn as zero, and an honest placeholder when there is nothing to draw."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from app.report import series as S
from app.report import svg

HOSTILE = '<script>alert("x")</script>&'
NS = "{http://www.w3.org/2000/svg}"


def _parse(text: str) -> ET.Element:
    root = ET.fromstring(text)  # well-formed XML, or this raises
    assert root.tag == f"{NS}svg"
    tags = {el.tag.removeprefix(NS) for el in root.iter()}
    assert not tags & {"script", "image", "use", "foreignObject", "a"}
    for el in root.iter():
        assert not any(k.endswith("href") or k.startswith("on") for k in el.attrib), el.attrib
    assert root.find(f"{NS}title") is not None and root.find(f"{NS}desc") is not None
    return root


def _text(root: ET.Element) -> str:
    return " ".join("".join(el.itertext()) for el in root.iter(f"{NS}text"))


def test_attack_timeline_stacks_sets_and_counts_undated_hits() -> None:
    tl = S.AttackTimeline(
        sets=(
            S.HitSeries(HOSTILE, (S.HourCount("2025-08-08T03:00:00Z", 2), S.HourCount("2025-08-09T10:00:00Z", 5)), 7),
            S.HitSeries("other", (S.HourCount("2025-08-09T10:00:00Z", 1),), 1),
        ),
        hits=7,
        first_utc="2025-08-08T03:12:00Z",
        last_utc="2025-08-09T10:30:00Z",
        undated=3,
    )
    root = _parse(svg.attack_timeline_svg(tl))
    assert HOSTILE + " (7)" in _text(root)
    assert "3 hit(s) without an event time" in _text(root)
    assert "counted in each" in _text(root)  # 7 + 1 set matches for 7 distinct hits
    bars = [r for r in root.iter(f"{NS}rect") if r.find(f"{NS}title") is not None]
    assert len(bars) == 3
    assert "6" in svg.attack_timeline_svg(tl).split("</desc>")[0]  # tallest hour: 5 + 1


def test_clocks_mark_sent_late_and_undated() -> None:
    nc = S.NoticeClocks(
        as_of_utc="2025-08-24T09:00:00Z",
        bars=(
            S.ClockBar(
                "a",
                "EU",
                "regulator",
                "notified",
                "2025-08-20T09:00:00Z",
                "2025-08-23T09:00:00Z",
                "2025-08-21T17:00:00Z",
                False,
            ),
            S.ClockBar(
                "b",
                "UK",
                "regulator",
                "notified",
                "2025-08-20T09:00:00Z",
                "2025-08-23T09:00:00Z",
                "2025-08-23T10:00:00Z",
                True,
            ),
            S.ClockBar("c", "US-CA", "individuals", "elapsed", "2025-08-20T09:00:00Z", None, None, None),
        ),
    )
    text = svg.notice_clocks_svg(nc)
    root = _parse(text)
    assert svg.LATE in text and svg.ONTIME in text
    assert "1 more clock(s) have no fixed due time" in _text(root)


def test_rows_taken_says_the_total_is_a_floor() -> None:
    rt = S.RowsTaken(
        by_object=(S.RowsBar("Case", 22003, 1), S.RowsBar("Contact", 6000, 0)), by_user=(S.RowsBar("u@x", 28003, 1),)
    )
    root = _parse(svg.rows_taken_svg(rt))
    assert "22,003 + 1 uncounted" in _text(root)
    assert "at least" in _text(root)


@pytest.mark.parametrize(
    ("draw", "message"),
    [
        (lambda: svg.attack_timeline_svg(S.AttackTimeline((), 0, None, None, 0)), "No hunt hits recorded"),
        (
            lambda: svg.notice_clocks_svg(S.NoticeClocks("2025-08-24T09:00:00Z", ())),
            "No notification clock applies to the facts recorded so far",
        ),
        (lambda: svg.rows_taken_svg(S.RowsTaken((), ())), "No reads matched"),
        (lambda: svg.containment_svg(S.ContainmentSeries(None, None, ())), "no containment action recorded"),
        (
            lambda: svg.containment_svg(
                S.ContainmentSeries(
                    None, None, (S.ContainmentPoint("revoke_tokens", "app X", "done", "2025-08-20T09:14:00Z", None),)
                )
            ),
            "no detection time recorded",
        ),
        (
            lambda: svg.checklist_progress_svg(S.ChecklistProgress("2025-08-24T09:00:00Z", (), False)),
            "could not be loaded",
        ),
    ],
)
def test_nothing_to_draw_says_so(draw: object, message: str) -> None:
    assert callable(draw)
    root = _parse(draw())
    assert message in _text(root)


def test_checklist_progress_draws_a_line_per_phase_with_its_count() -> None:
    cp = S.ChecklistProgress(
        "2025-08-24T09:00:00Z",
        (
            S.PhaseProgress(
                "detect",
                "Detect",
                2,
                (S.ProgressPoint("2025-08-20T09:05:00Z", 1), S.ProgressPoint("2025-08-20T10:00:00Z", 2)),
            ),
            S.PhaseProgress("review", "Review", 3, ()),
        ),
        True,
    )
    root = _parse(svg.checklist_progress_svg(cp))
    assert len(list(root.iter(f"{NS}polyline"))) == 2
    assert "Detect 2/2" in _text(root) and "Review 0/3" in _text(root)
