"""The report's pictures as inline SVG: self-contained (no scripts, no fonts or images fetched), sized by viewBox so
they scale to the page, each with a <title> and <desc> a screen reader or a text extraction can read.

Each function draws one series from `app.report.series`; none computes anything the series does not already say.
Unknowns stay visible: undated hits, reads without a row count and clocks without a due time are written out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from html import escape

from app.base.clock import humane_instant, parse_instant
from app.report.series import AttackTimeline, ChecklistProgress, ContainmentSeries, NoticeClocks, RowsBar, RowsTaken
from app.report.token_use import AddressSeries, AppTokenUse, TokenUse

# Okabe-Ito: distinguishable in colour-blind vision and in greyscale print.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#8C564B", "#7F7F7F", "#B8A100")
INK, MUTED, GRID, LATE, ONTIME = "#111111", "#555555", "#dddddd", "#C0392B", "#1E7B34"
WIDTH = 720
FONT = 'font-family="Helvetica, Arial, sans-serif"'


def _svg(height: int, title: str, desc: str, body: Iterable[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'class="chart" {FONT} font-size="11"><title>{escape(title)}</title><desc>{escape(desc)}</desc>'
        + "".join(body)
        + "</svg>"
    )


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: int = 11, fill: str = INK) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{fill}">{escape(text)}</text>'
    )


def _fit(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _empty(title: str, message: str) -> str:
    return _svg(
        48,
        title,
        message,
        [
            f'<rect x="0.5" y="0.5" width="{WIDTH - 1}" height="47" fill="none" stroke="{GRID}"/>',
            _text(WIDTH / 2, 29, message, anchor="middle", fill=MUTED),
        ],
    )


# -- time axis ------------------------------------------------------------------------------------------------

_STEPS = [timedelta(hours=h) for h in (1, 2, 3, 6, 12)] + [timedelta(days=d) for d in (1, 2, 7, 14, 28)]


class _TimeAxis:
    def __init__(self, start: datetime, end: datetime, x0: float, x1: float) -> None:
        if end <= start:
            end = start + timedelta(hours=1)
        self.start, self.end, self.x0, self.x1 = start, end, x0, x1

    def x(self, at: datetime) -> float:
        span = (self.end - self.start).total_seconds()
        return self.x0 + (self.x1 - self.x0) * (at - self.start).total_seconds() / span

    def ticks(self, y_top: float, y_axis: float) -> list[str]:
        span = self.end - self.start
        step = next((s for s in _STEPS if span / s <= 8), _STEPS[-1])
        first = self.start.replace(minute=0, second=0, microsecond=0)
        if step >= timedelta(days=1):
            first = first.replace(hour=0)
        out: list[str] = []
        t = first
        while t <= self.end:
            if t >= self.start:
                x = self.x(t)
                label = t.strftime("%d %b") if step >= timedelta(days=1) else t.strftime("%d %b %H:%M")
                out.append(f'<line x1="{x:.1f}" y1="{y_top:.1f}" x2="{x:.1f}" y2="{y_axis:.1f}" stroke="{GRID}"/>')
                out.append(_text(x, y_axis + 13, label, anchor="middle", size=9, fill=MUTED))
            t += step
        out.append(_text(self.x1, y_axis + 26, "UTC", anchor="end", size=9, fill=MUTED))
        return out


def _legend(names: Sequence[str], y: float, x: float = 10, first: int = 0) -> list[str]:
    out = []
    for i, name in enumerate(names, start=first):
        colour = PALETTE[i % len(PALETTE)]
        out.append(f'<rect x="{x:.1f}" y="{y - 8:.1f}" width="10" height="10" fill="{colour}"/>')
        out.append(_text(x + 14, y + 1, name, size=10))
        x += 24 + 6.2 * len(name)
    return out


# -- pictures -------------------------------------------------------------------------------------------------


def attack_timeline_svg(tl: AttackTimeline) -> str:
    title = "Attack timeline: hunt hits per hour of event time"
    if not tl.sets or tl.first_utc is None or tl.last_utc is None:
        extra = f" ({tl.undated} hit(s) without an event time)" if tl.undated else ""
        return _empty(title, "No hunt hits recorded" + extra)
    height, top, base = 190, 28, 150
    start = parse_instant(tl.first_utc).replace(minute=0, second=0, microsecond=0)
    axis = _TimeAxis(start, parse_instant(tl.last_utc) + timedelta(hours=1), 50, WIDTH - 12)
    per_hour: dict[str, int] = {}
    for s in tl.sets:
        for p in s.hours:
            per_hour[p.hour_utc] = per_hour.get(p.hour_utc, 0) + p.count
    peak = max(per_hour.values())  # bars of the sets stack, so the axis reaches the tallest stack
    bar_w = max(2.0, min(12.0, axis.x(start + timedelta(hours=1)) - axis.x(start)))
    body = [*axis.ticks(top, base), f'<line x1="50" y1="{base}" x2="{WIDTH - 12}" y2="{base}" stroke="{INK}"/>']
    body += [_text(44, top + 4, str(peak), anchor="end", size=9, fill=MUTED)]
    body.append(_text(44, base, "0", anchor="end", size=9))
    stacked: dict[str, int] = {}
    for i, s in enumerate(tl.sets):
        colour = PALETTE[i % len(PALETTE)]
        for p in s.hours:
            below = stacked.get(p.hour_utc, 0)
            h = (base - top) * p.count / peak
            y = base - (base - top) * below / peak - h
            x = axis.x(parse_instant(p.hour_utc))
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{max(h, 1):.1f}" fill="{colour}">'
                f"<title>{escape(f'{p.hour_utc}: {p.count} hit(s), {s.indicator_set}')}</title></rect>"
            )
            stacked[p.hour_utc] = below + p.count
    body += _legend([f"{s.indicator_set} ({s.total})" for s in tl.sets], height - 8)
    if tl.undated:
        body.append(_text(WIDTH - 12, height - 7, f"{tl.undated} hit(s) without an event time", anchor="end"))
    if sum(s.total for s in tl.sets) > tl.hits:
        note = "a hit matched by several indicator sets is counted in each"
        body.append(_text(WIDTH - 12, 14, note, anchor="end", size=9, fill=MUTED))
    desc = f"{tl.hits} hit(s) from {tl.first_utc} to {tl.last_utc}; tallest hour {peak}."
    return _svg(height, title, desc, body)


def notice_clocks_svg(nc: NoticeClocks) -> str:
    title = "Notification clocks: start to due time, with the sent date"
    dated = [b for b in nc.bars if b.start_utc and b.due_utc]
    if not nc.bars:
        return _empty(title, "No notification clock applies to the facts recorded so far")
    row_h, top, left = 17, 22, 210
    undated = [b for b in nc.bars if b not in dated]
    height = top + row_h * len(dated) + 44 + (14 if undated else 0)
    as_of = parse_instant(nc.as_of_utc)
    instants = [parse_instant(t) for b in dated for t in (b.start_utc, b.due_utc, b.sent_utc) if t] or [as_of]
    axis = _TimeAxis(min(instants), max([*instants, as_of]), left, WIDTH - 14)
    base = top + row_h * len(dated)
    body = axis.ticks(top - 6, base)
    for i, b in enumerate(dated):
        y = top + i * row_h
        x0, x1 = axis.x(parse_instant(b.start_utc or "")), axis.x(parse_instant(b.due_utc or ""))
        label = _fit(f"{b.jurisdiction.split(' (')[0]} · {b.recipient.replace('_', ' ')}", 34)
        body.append(_text(left - 6, y + 11, label, anchor="end", size=10))
        body.append(
            f'<rect x="{x0:.1f}" y="{y + 3}" width="{max(x1 - x0, 1):.1f}" height="{row_h - 7}" fill="#cfe3f3" '
            f'stroke="#0072B2" stroke-width="0.6"><title>{escape(f"{b.rule}: due {b.due_utc}")}</title></rect>'
        )
        if b.sent_utc:
            xs = axis.x(parse_instant(b.sent_utc))
            colour = LATE if b.late else ONTIME
            cy = y + row_h / 2 - 0.5
            body.append(
                f'<path d="M{xs:.1f},{cy - 6:.1f} L{xs + 6:.1f},{cy:.1f} L{xs:.1f},{cy + 6:.1f} L{xs - 6:.1f},'
                f'{cy:.1f} Z" fill="{colour}"><title>{escape(f"{b.rule}: sent {b.sent_utc}")}</title></path>'
            )
    xa = axis.x(as_of)
    body.append(f'<line x1="{xa:.1f}" y1="{top - 6}" x2="{xa:.1f}" y2="{base}" stroke="{INK}" stroke-dasharray="3,2"/>')
    body.append(_text(xa, top - 9, "as of", anchor="middle", size=9))
    y = height - 10 - (14 if undated else 0)
    body += [
        '<rect x="10" y="' + f"{y - 8}" + '" width="16" height="9" fill="#cfe3f3" stroke="#0072B2"/>',
        _text(30, y + 1, "clock running, start to due", size=10),
        f'<path d="M200,{y - 8} L205,{y - 3.5} L200,{y + 1} L195,{y - 3.5} Z" fill="{ONTIME}"/>',
        _text(210, y + 1, "sent on time", size=10),
        f'<path d="M290,{y - 8} L295,{y - 3.5} L290,{y + 1} L285,{y - 3.5} Z" fill="{LATE}"/>',
        _text(300, y + 1, "sent late", size=10),
    ]
    if undated:
        note = f"{len(undated)} more clock(s) have no fixed due time or have not started; see the clocks table."
        body.append(_text(10, height - 6, note, size=9, fill=MUTED))
    sent = sum(1 for b in nc.bars if b.sent_utc)
    desc = f"{len(nc.bars)} clock(s), {sent} notice(s) sent, as of {nc.as_of_utc}."
    return _svg(height, title, desc, body)


def _hbars(bars: Sequence[RowsBar], x0: float, y0: float, width: float, heading: str) -> list[str]:
    out = [_text(x0, y0, heading, size=11)]
    peak = max((b.rows for b in bars), default=0) or 1
    label_w = 220
    for i, b in enumerate(bars):
        y = y0 + 10 + i * 18
        w = (width - label_w - 150) * b.rows / peak
        out.append(_text(x0 + label_w - 6, y + 11, _fit(b.label, 40), anchor="end", size=10))
        bar = f'<rect x="{x0 + label_w:.1f}" y="{y + 2}" width="{max(w, 1):.1f}" height="12" fill="{PALETTE[0]}"/>'
        out.append(bar)
        value = f"{b.rows:,}" + (f" + {b.unknown_reads} uncounted" if b.unknown_reads else "")
        out.append(_text(x0 + label_w + w + 4, y + 12, value, size=9))
    return out


def rows_taken_svg(rt: RowsTaken) -> str:
    title = "Rows taken per object and per user"
    if not rt.by_object:
        return _empty(title, "No reads matched by a recorded hunt")
    second = 16 + 18 * len(rt.by_object) + 34
    height = second + 18 * len(rt.by_user) + 34
    body = _hbars(rt.by_object, 6, 16, WIDTH - 12, "Per object") + _hbars(rt.by_user, 6, second, WIDTH - 12, "Per user")
    uncounted = sum(b.unknown_reads for b in rt.by_object)
    note = (
        f"{uncounted} read(s) logged without a row count: the true totals are at least the numbers shown."
        if uncounted
        else "Every matched read carries a row count."
    )
    body.append(_text(6, height - 6, note, size=9, fill=MUTED))
    total = sum(b.rows for b in rt.by_object)
    return _svg(height, title, f"{total:,} rows counted across {len(rt.by_object)} object(s). {note}", body)


def containment_svg(cs: ContainmentSeries) -> str:
    title = "Containment actions over time from detection"
    points = [p for p in cs.points if p.minutes_from_origin is not None]
    if not points:
        why = "no detection time recorded" if cs.points else "no containment action recorded"
        return _empty(title, f"Nothing to place: {why}")
    height, top, base, left = 70 + 16 * len(points), 20, 40 + 16 * len(points), 250
    hours = max(p.minutes_from_origin or 0 for p in points) / 60
    span = max(1.0, hours)
    body = [f'<line x1="{left}" y1="{base}" x2="{WIDTH - 14}" y2="{base}" stroke="{INK}"/>']
    step = next(s for s in (0.25, 0.5, 1, 2, 4, 6, 12, 24, 48, 96, 168) if span / s <= 8)
    t = 0.0
    while t <= span + 1e-9:
        x = left + (WIDTH - 14 - left) * t / span
        body.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{base}" stroke="{GRID}"/>')
        body.append(_text(x, base + 13, f"{t:g} h", anchor="middle", size=9, fill=MUTED))
        t += step
    body.append(
        _text(
            WIDTH - 14,
            base + 26,
            f"hours from {cs.origin_word} ({humane_instant(cs.origin_utc or '')})",
            anchor="end",
            size=9,
        )
    )
    for i, p in enumerate(points):
        y = top + 10 + i * 16
        x = left + (WIDTH - 14 - left) * (p.minutes_from_origin or 0) / 60 / span
        colour = ONTIME if p.status in ("done", "confirmed") else LATE
        body.append(_text(left - 6, y + 4, _fit(f"{p.action} · {p.target}", 46), anchor="end", size=10))
        body.append(f'<line x1="{left}" y1="{y}" x2="{x:.1f}" y2="{y}" stroke="{GRID}" stroke-dasharray="2,2"/>')
        body.append(
            f'<circle cx="{x:.1f}" cy="{y}" r="4.5" fill="{colour}"><title>'
            f"{escape(f'{p.action} {p.target}: {p.status} at {p.at_utc}')}</title></circle>"
        )
        label = f"{p.minutes_from_origin} min · {p.status}"
        near_end = x > WIDTH - 120
        body.append(_text(x - 8 if near_end else x + 8, y + 4, label, anchor="end" if near_end else "start", size=9))
    desc = f"{len(points)} action(s); the first {points[0].minutes_from_origin} min after {cs.origin_word}."
    return _svg(height + 10, title, desc, body)


def checklist_progress_svg(cp: ChecklistProgress) -> str:
    title = "Checklist progress by phase over time (share of items done)"
    if not cp.available:
        return _empty(title, "The incident's checklist could not be loaded")
    phases = [p for p in cp.phases if p.total]
    times = [parse_instant(pt.at_utc) for p in phases for pt in p.points]
    if not times:
        return _empty(title, "No checklist item done yet")
    top, base = 16, 170
    height = base + 44 + 14 * ((len(phases) - 1) // 4)
    as_of = parse_instant(cp.as_of_utc)
    axis = _TimeAxis(min(times), max([*times, as_of]), 40, WIDTH - 14)
    body = axis.ticks(top, base)
    for pct in (0, 50, 100):
        y = base - (base - top) * pct / 100
        body.append(f'<line x1="40" y1="{y:.1f}" x2="{WIDTH - 14}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(_text(34, y + 3, f"{pct}%", anchor="end", size=9, fill=MUTED))
    for i, p in enumerate(phases):
        colour = PALETTE[i % len(PALETTE)]
        coords: list[tuple[float, float]] = [(axis.x(axis.start), base)]
        for pt in p.points:
            x = axis.x(parse_instant(pt.at_utc))
            coords += [(x, coords[-1][1]), (x, base - (base - top) * pt.done / p.total)]
        coords.append((axis.x(as_of), coords[-1][1]))
        d = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        body.append(f'<polyline points="{d}" fill="none" stroke="{colour}" stroke-width="1.8"/>')
    names = [f"{p.title or p.phase} {p.points[-1].done if p.points else 0}/{p.total}" for p in phases]
    for row in range(0, len(names), 4):
        body += _legend(names[row : row + 4], base + 36 + 14 * (row // 4), first=row)
    desc = "; ".join(names) + f" (as of {cp.as_of_utc})."
    return _svg(height, title, desc, body)


def token_use_svg(tu: TokenUse) -> str:
    """One row per source address under each app, a cell per hour with calls (darker: more calls that hour)."""
    title = "Token use: API calls per source address per hour, by each app's token holders"
    why = tu.empty_reason()
    if why is not None:
        return _empty(title, why[:1].upper() + why[1:])
    row_h, left, right = 15, 190, WIDTH - 70
    placed = [parse_instant(h.hour_utc) for a in tu.apps for s in a.addresses for h in s.hours]
    lines: list[tuple[str, object]] = []  # what each line of the picture shows, top to bottom
    for a in tu.apps:
        shown, more, more_calls = a.top()
        lines.append(("app", a))
        lines += [("ip", s) for s in shown]
        if more:
            lines.append(("more", f"{more} more address(es): {more_calls:,} call(s)"))
        if a.undated:
            lines.append(("more", f"{a.undated} call(s) without a usable time: counted, not placed"))
        if a.shared_calls:
            lines.append(("more", f"{a.shared_calls} call(s) by holders of other apps' tokens too, counted under each"))
    top = 14
    base = top + row_h * len(lines) + 4
    height = base + 44
    body: list[str] = []
    axis = None
    if placed:
        axis = _TimeAxis(min(placed), max(placed) + timedelta(hours=1), left, right)
        body += axis.ticks(top, base)
    cell = max(1.5, (axis.x(axis.start + timedelta(hours=1)) - axis.x(axis.start)) if axis else 0)
    app_index, peak = -1, 1
    for n, (kind, item) in enumerate(lines):
        y = top + n * row_h
        if kind == "app" and isinstance(item, AppTokenUse):
            app_index += 1
            peak = max(item.busiest_hour(), 1)
            body.append(_text(6, y + 11, _fit(item.app, 28), size=11))
            detail = f"{item.calls:,} call(s) by {item.users} token holder(s); busiest hour {item.busiest_hour():,}"
            body.append(_text(left, y + 11, detail + " (the darkest cell)", size=9, fill=MUTED))
        elif kind == "ip" and isinstance(item, AddressSeries):
            colour = PALETTE[app_index % len(PALETTE)]
            body.append(_text(left - 6, y + 11, _fit(item.ip, 30), anchor="end", size=10))
            body.append(
                f'<line x1="{left}" y1="{y + row_h / 2:.1f}" x2="{right}" y2="{y + row_h / 2:.1f}" stroke="{GRID}"/>'
            )
            for h in item.hours:  # an address with dated calls implies the axis exists
                x = axis.x(parse_instant(h.hour_utc)) if axis is not None else left
                body.append(
                    f'<rect x="{x:.1f}" y="{y + 2}" width="{cell:.1f}" height="{row_h - 4}" fill="{colour}" '
                    f'fill-opacity="{0.25 + 0.75 * h.count / peak:.2f}"><title>'
                    f"{escape(f'{item.ip}, hour from {h.hour_utc}: {h.count} call(s)')}</title></rect>"
                )
            body.append(_text(right + 6, y + 11, f"{item.total:,}", size=9))
        else:
            body.append(_text(left - 6, y + 11, str(item), anchor="end", size=9, fill=LATE))
    note = "Darker cells: more calls in that hour. The API, REST and Bulk logs name the user, not the app."
    if tu.unattributed:
        note += f" {tu.unattributed:,} call(s) by users holding no app's token are not shown."
    body.append(_text(6, height - 6, note, size=9, fill=MUTED))
    calls = sum(a.calls for a in tu.apps)
    desc = f"{calls:,} call(s) of {len(tu.apps)} app(s)' token holders from " + ", ".join(tu.log_types) + " logs."
    return _svg(height, title, desc, body)
