"""The report's series (app/report/series.py) drawn with text: bars, a time axis, hour columns (hunt hits per
indicator set, API calls per source address). Pure functions from a series and a width to rich Text, so the
pictures are the same data as the report's SVG, drawn for a terminal, and read in monochrome too (every bar carries
its number; marks carry letters, not only colours)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from rich.text import Text

from app.base.clock import parse_instant
from app.report.series import (
    AttackTimeline,
    ChecklistProgress,
    ClockBar,
    ContainmentSeries,
    HourCount,
    NoticeClocks,
    RowsBar,
)
from app.report.token_use import TokenUse
from screens import fmt

SET_STYLES = ("bold red", "bold yellow", "bold magenta", "bold cyan", "bold green", "bold blue")
BLOCKS = " ▁▂▃▄▅▆▇█"


def bars(rows: tuple[RowsBar, ...], width: int, empty: str) -> Text:
    """One horizontal bar per label, longest first; `+n unknown` where Salesforce logs reads without a count."""
    if not rows:
        return Text(empty, style="dim")
    label_w = min(max(len(r.label) for r in rows), max(12, width // 3))
    most = max(r.rows for r in rows) or 1
    room = max(4, width - label_w - 40)
    out = Text()
    for r in rows:
        n = round(room * r.rows / most)
        out.append(f"{r.label[:label_w]:<{label_w}} ")
        out.append("█" * n, style="bold red" if r.rows else "dim")
        out.append(f" {r.rows:,}")
        if r.unknown_reads:
            out.append(f" +{r.unknown_reads} read(s) of unknown size", style="yellow")
        out.append("\n")
    out.rstrip()
    return out


@dataclass(frozen=True)
class _HourColumns:
    """A shared hour axis drawn in columns of blocks: `per_col` hours per column, `wide` characters each."""

    start: datetime
    end: datetime  # the start of the last hour
    per_col: int
    cols: int
    wide: int

    @classmethod
    def fit(cls, hours: Iterable[str], room: int) -> _HourColumns:
        instants = sorted({parse_instant(h) for h in hours})
        start, end = instants[0], instants[-1]
        span = int((end - start).total_seconds() // 3600) + 1
        per_col = max(1, -(-span // room))  # hours per column
        cols = -(-span // per_col)
        return cls(start, end, per_col, cols, max(1, room // cols))  # a short span still fills the width

    def line(self, hours: Iterable[HourCount], most: int) -> str:
        buckets = [0] * self.cols
        for h in hours:
            buckets[int((parse_instant(h.hour_utc) - self.start).total_seconds() // 3600) // self.per_col] += h.count
        return "".join((BLOCKS[0] if b == 0 else BLOCKS[max(1, round(8 * b / most))]) * self.wide for b in buckets)

    def legend(self, out: Text, label_w: int) -> None:
        step = f"{self.per_col} hours" if self.per_col > 1 else "an hour"
        out.append(f"{'':<{label_w}} from {fmt.stamp(self.start)}, each block {step}\n", style="dim")
        out.append(f"{'':<{label_w}} to   {fmt.stamp(self.end + timedelta(hours=1))}", style="dim")


def attack_columns(timeline: AttackTimeline, width: int) -> Text:
    """Hits per hour of event time, a row of columns per indicator set, on one shared hour axis."""
    if not timeline.sets:
        text = "no hunt hits recorded: hunt the preserved evidence (palette: hunt: indicators)"
        return Text(text + (f"; {timeline.undated} undated" if timeline.undated else ""), style="dim")
    label_w = min(24, max(len(s.indicator_set) for s in timeline.sets))
    axis = _HourColumns.fit((h.hour_utc for s in timeline.sets for h in s.hours), max(8, width - label_w - 10))
    most = max(h.count for s in timeline.sets for h in s.hours) or 1
    out = Text()
    for i, s in enumerate(timeline.sets):
        out.append(f"{s.indicator_set[:label_w]:<{label_w}} ", style=SET_STYLES[i % len(SET_STYLES)])
        out.append(axis.line(s.hours, most), style=SET_STYLES[i % len(SET_STYLES)])
        out.append(f" {s.total}\n")
    axis.legend(out, label_w)
    if timeline.undated:
        out.append(f"\n{timeline.undated} hit(s) without an event time are counted but not placed", style="yellow")
    return out


def token_use_rows(use: TokenUse, width: int) -> Text:
    """API calls per source address per hour, a block of address rows per app on one shared hour axis; the
    busiest addresses of each app, the rest folded into one line; what the logs cannot place is said."""
    placed = [a for a in use.apps if a.first_utc]
    if (why := use.empty_reason()) is not None:
        return Text(why, style="dim")
    label_w = min(26, max(len(s.ip) + 2 for a in use.apps for s in a.top()[0]))
    out = Text()
    axis = (
        _HourColumns.fit(
            (h.hour_utc for a in placed for s in a.addresses for h in s.hours), max(8, width - label_w - 9)
        )
        if placed
        else None
    )
    for i, a in enumerate(use.apps):
        style = SET_STYLES[i % len(SET_STYLES)]
        most = a.busiest_hour()
        out.append(f"{a.app}", style=style)
        out.append(f"  {a.calls:,} call(s) by {a.users} token holder(s); busiest hour {most:,}\n", style="dim")
        shown, more, more_calls = a.top()
        for s in shown:
            out.append(f"  {s.ip[: label_w - 2]:<{label_w - 2}} ")
            out.append(axis.line(s.hours, max(most, 1)) if axis else "", style=style)
            out.append(f" {s.total:,}\n")
        if more:
            out.append(f"  {more} more address(es): {more_calls:,} call(s)\n", style="dim")
        if a.undated:
            out.append(f"  {a.undated} call(s) without a usable time are counted but not placed\n", style="yellow")
        if a.shared_calls:
            out.append(
                f"  {a.shared_calls} call(s) by users holding other apps' tokens too, counted under each\n",
                style="yellow",
            )
    if axis is not None:
        axis.legend(out, label_w)
    else:
        out.rstrip()
    if use.unattributed:
        out.append(f"\n{use.unattributed:,} call(s) by users holding no app's token are not shown", style="dim")
    return out


def clock_axis(clocks: NoticeClocks, now: datetime, width: int) -> Text:
    """Each clock on one time axis from now to the last due time: `|` now, `▲` due, `✓` sent (`!` late)."""
    dated = [b for b in clocks.bars if b.due_utc]
    if not dated:
        return Text("no clock with a due time: set the facts (f)", style="dim")
    dues = [parse_instant(b.due_utc) for b in dated if b.due_utc]
    lo = min([now, *dues])
    hi = max([now, *dues])

    def who(b: ClockBar) -> str:
        return f"{b.jurisdiction.split(' (')[0]} {b.recipient.replace('_', ' ')}"

    label_w = min(max(16, width // 3), max(len(who(b)) for b in dated))
    room = max(10, width - label_w - 26)
    total = max((hi - lo).total_seconds(), 1.0)

    def col(at: datetime) -> int:
        return min(room - 1, int((at - lo).total_seconds() / total * (room - 1)))

    now_col = col(now)
    out = Text()
    for b in dated:
        due = parse_instant(b.due_utc or "")
        line = ["─"] * room
        line[now_col] = "|"
        mark, style = ("✓", "green") if b.sent_utc else ("▲", "bold red" if due <= now else "bold yellow")
        if b.sent_utc and b.late:
            mark, style = "!", "bold red"
        line[col(due)] = mark
        out.append(f"{who(b)[:label_w]:<{label_w}} ")
        text = "".join(line)
        out.append(text[: col(due)], style="dim")
        out.append(text[col(due)], style=style)
        out.append(text[col(due) + 1 :], style="dim")
        left = due - now
        out.append(
            " "
            + (("sent" if b.sent_utc else "OVERDUE") if left.total_seconds() <= 0 or b.sent_utc else fmt.compact(left))
        )
        out.append("\n")
    out.append(f"{'':<{label_w}} | now {fmt.stamp(now)}\n", style="dim")
    out.append(f"{'':<{label_w}} axis to {fmt.stamp(hi)}", style="dim")
    return out


def containment_lines(series: ContainmentSeries) -> Text:
    """Each containment run at its time, and how long after detection (or awareness, or declaration) it came."""
    if not series.points:
        return Text("no containment run yet", style="dim")
    out = Text()
    for p in series.points:
        out.append(f"{fmt.stamp(p.at_utc)}  ")
        if p.minutes_from_origin is not None:
            hours, minutes = divmod(p.minutes_from_origin, 60)
            out.append(f"+{hours}h{minutes:02d}m after {series.origin_word}  ", style="dim")
        style = "green" if p.status == "done" else "yellow"
        out.append(f"{p.action.replace('_', ' ')} {p.target}: {p.status}\n", style=style)
    out.rstrip()
    return out


def checklist_steps(progress: ChecklistProgress, width: int) -> Text:
    """Items done per phase over time: one row per phase, each column a slice of time from the first recorded
    change to the report's instant, its block as high as the share of the phase done by then; `done/total` after."""
    if not progress.available:
        return Text("the incident's checklist cannot be loaded", style="dim")
    changes = [parse_instant(p.at_utc) for ph in progress.phases for p in ph.points]
    if not changes:
        return Text("no checklist item done yet", style="dim")
    start, end = min(changes), max([*changes, parse_instant(progress.as_of_utc)])
    label_w = min(28, max(len(ph.title) for ph in progress.phases))
    room = max(8, width - label_w - 12)
    span = max((end - start).total_seconds(), 1.0)
    out = Text()
    for ph in progress.phases:
        cols, done, i = [], 0, 0
        points = [(parse_instant(p.at_utc), p.done) for p in ph.points]
        for c in range(room):
            upto = start + timedelta(seconds=span * (c + 1) / room)
            while i < len(points) and points[i][0] <= upto:
                done = points[i][1]
                i += 1
            cols.append(BLOCKS[0] if done == 0 else BLOCKS[max(1, round(8 * done / max(ph.total, 1)))])
        out.append(f"{ph.title[:label_w]:<{label_w}} ")
        out.append("".join(cols), style="green" if done and done == ph.total else "cyan")
        out.append(f" {done}/{ph.total}\n")
    out.append(f"{'':<{label_w}} from {fmt.stamp(start)}\n", style="dim")
    out.append(f"{'':<{label_w}} to   {fmt.stamp(end)}", style="dim")
    return out
