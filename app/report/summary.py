"""The executive summary: the one page a sponsor or a regulator reads first, built only from the report and its
series (nothing new is looked up, so the summary can never disagree with the pages behind it).

Each figure says what it rests on; where the journal cannot say (no hunt recorded, reads without a row count, no
detection time) the figure is "unknown" or "not recorded", never zero.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.base.clock import humane_instant as hu
from app.base.clock import parse_instant
from app.report.model import Report
from app.report.series import Series

NOTIFIED = "notified"


@dataclass(frozen=True)
class KeyFigure:
    label: str
    value: str
    note: str = ""


@dataclass(frozen=True)
class NoticeLine:
    rule: str
    recipient: str
    jurisdiction: str
    due_utc: str | None
    sent_utc: str | None
    state: str
    late: bool | None


@dataclass(frozen=True)
class ExecutiveSummary:
    figures: tuple[KeyFigure, ...]
    happened: tuple[str, ...]  # sentences
    taken: tuple[str, ...]
    contained: tuple[str, ...]
    notices: tuple[NoticeLine, ...]  # sent first, then the open ones by due time
    notices_more: int  # open clocks left off the page
    still_open: tuple[str, ...]
    open_more: int


def _minutes(text: int | None) -> str:
    if text is None:
        return "unknown"
    if text < 120:
        return f"{text} min"
    return f"{text // 60} h {text % 60:02d} min"


def executive_summary(r: Report, s: Series, *, notices_shown: int = 8, open_shown: int = 6) -> ExecutiveSummary:
    """The summary's figures and sentences; at most `notices_shown` clocks and `open_shown` open items are listed
    so it stays on one page (the counts of the rest are given)."""
    hits = s.attack.hits
    happened = [f"{r.title}."]
    if s.attack.first_utc and s.attack.last_utc:
        happened.append(
            f"Recorded hunts matched {hits} logged event(s) from {hu(s.attack.first_utc)} to {hu(s.attack.last_utc)}"
            + (f", and {s.attack.undated} without an event time." if s.attack.undated else ".")
        )
    else:
        happened.append("No hunt hit is recorded: the attack's extent in the logs is not established.")
    happened.append(f"Declared {hu(r.declared_utc)}." if r.declared_utc else "No declaration time is recorded.")

    rows = sum(b.rows for b in s.rows.by_object)
    uncounted = sum(b.unknown_reads for b in s.rows.by_object)
    if s.rows.by_object:
        top = ", ".join(f"{b.label} {b.rows:,}" for b in s.rows.by_object[:4])
        taken = [
            f"At least {rows:,} rows read by {len(s.rows.by_user)} user(s): {top}.",
            f"{uncounted} read(s) were logged without a row count; the true total is higher."
            if uncounted
            else "Every matched read carries a row count.",
        ]
        rows_value = f"{rows:,}" + ("+" if uncounted else "")
    else:
        taken = ["Unknown: no read is matched by a recorded hunt of the preserved API logs."]
        rows_value = "unknown"

    pts = s.containment.points
    if pts:
        first, last = pts[0], pts[-1]
        contained = [
            f"{len(pts)} containment action(s) recorded; the first ({first.action}, {first.target}) "
            f"{_minutes(first.minutes_from_origin)} after {s.containment.origin_word}, at "
            f"{hu(first.at_utc)}.",
            f"The last ({last.action}, {last.target}) at {hu(last.at_utc)}.",
        ]
        failed = [p for p in pts if p.status not in ("done", "confirmed")]
        if failed:
            contained.append(f"{len(failed)} action(s) did not finish: " + ", ".join(p.status for p in failed) + ".")
        first_value = _minutes(first.minutes_from_origin)
    else:
        contained = ["No containment action is recorded."]
        first_value = "none recorded"

    bars = s.clocks.bars
    sent = [b for b in bars if b.sent_utc]
    pending = [b for b in bars if not b.sent_utc and b.state != NOTIFIED]
    pending.sort(key=lambda b: (b.due_utc is None, b.due_utc or ""))
    listed = [*sent, *pending][:notices_shown]
    notices = tuple(
        NoticeLine(b.rule, b.recipient, b.jurisdiction, b.due_utc, b.sent_utc, b.state, b.late) for b in listed
    )
    late = sum(1 for b in sent if b.late)

    open_items = r.open_items
    overdue = [o for o in open_items if o.overdue]
    ordered = overdue + [o for o in open_items if not o.overdue]
    still_open = tuple(f"{o.title} ({o.detail})" if o.detail else o.title for o in ordered[:open_shown])

    as_of = parse_instant(r.as_of_utc)
    figures = (
        KeyFigure("Rows taken", rows_value, "counted in the preserved logs"),
        KeyFigure("First containment", first_value, f"from {s.containment.origin_word}"),
        KeyFigure(
            "Notices sent",
            f"{len(sent)} of {len(bars)}",
            ("none applies to the facts recorded" if not bars else f"{late} late" if late else "none late"),
        ),
        KeyFigure("Open items", str(len(open_items)), f"{len(overdue)} overdue at {hu(as_of)}"),
    )
    return ExecutiveSummary(
        figures=figures,
        happened=tuple(happened),
        taken=tuple(taken),
        contained=tuple(contained),
        notices=notices,
        notices_more=len(sent) + len(pending) - len(listed),
        still_open=still_open,
        open_more=max(0, len(ordered) - open_shown),
    )
