"""The data behind the report's pictures, computed once from the journal for every front end that draws them.

The HTML/PDF report draws these as SVG (`app.report.svg`); the console can draw the same series in the terminal.
Nothing here renders or formats for display: each function takes the open incident (and the instant the state is
judged at, where it matters) and returns frozen, typed dataclasses. Times are RFC 3339 UTC strings as the journal
writes them. Where the journal cannot say (a hit without an event time, an export without a row count, no
detection time recorded), the series says so in a field of its own instead of inventing a number.

- `attack_timeline(incident)`: recorded hunt hits per hour of *event* time, one series per indicator set.
- `notice_clocks(incident, as_of)`: each notification clock's start, due time and sent time.
- `rows_taken(incident, table=None)`: rows read per object and per user, with the reads whose count is unknown.
- `containment_over_time(incident)`: each containment run's time, measured from detection.
- `checklist_progress(incident, as_of)`: items done per phase after each recorded state change.
- `token_use(incident)` (in `app.report.token_use`): API calls per source address per hour for each app's token
  holders, from the preserved event log files.
- `compute_series(incident, as_of, exfil=None)`: all six.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from app.base.clock import format_instant, parse_instant, read_instant
from app.report.hourly import HourCount, hour_of
from app.report.token_use import TokenUse, token_use

if TYPE_CHECKING:
    from app.deadlines.engine import Timer
    from app.hunt.exfil import ExfilRow
    from app.incident.core import Incident


# -- attack timeline ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HitSeries:
    indicator_set: str
    hours: tuple[HourCount, ...]  # only hours with hits, ascending
    total: int


@dataclass(frozen=True)
class AttackTimeline:
    """Hunt hits by the time the logged event happened (not when the hunt ran)."""

    sets: tuple[HitSeries, ...]  # a hit matched by indicators of several sets counts in each of them
    hits: int  # distinct dated hits
    first_utc: str | None
    last_utc: str | None
    undated: int  # hits whose log row carries no (usable) event time: counted here, never placed on the axis


def _indicator_set(indicator: str) -> str:
    # Indicator ids are "SET/kind#n: value" (app/hunt/indicators.py).
    return indicator.split("/", 1)[0] if "/" in indicator else "(unnamed set)"


def attack_timeline(incident: Incident) -> AttackTimeline:
    """Recorded `hunt.hit` entries per hour of event time, one series per indicator set that made the hit."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    undated = 0
    times: list[str] = []
    for entry in incident.journal.entries(kind="hunt.hit"):
        at = read_instant(entry.data.get("at"))  # a log row's time that is not an instant: counted, never placed
        if at is None:
            undated += 1
            continue
        hour = hour_of(at)
        times.append(format_instant(at))
        for name in sorted({_indicator_set(str(i)) for i in entry.data.get("indicators") or ["(unnamed set)"]}):
            counts[name][hour] += 1
    sets = tuple(
        HitSeries(
            indicator_set=name,
            hours=tuple(HourCount(h, n) for h, n in sorted(c.items())),
            total=sum(c.values()),
        )
        for name, c in sorted(counts.items())
    )
    return AttackTimeline(
        sets=sets,
        hits=len(times),
        first_utc=min(times) if times else None,
        last_utc=max(times) if times else None,
        undated=undated,
    )


# -- notification clocks --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClockBar:
    rule: str
    jurisdiction: str
    recipient: str
    state: str
    start_utc: str | None
    due_utc: str | None  # None: the rule sets no fixed period, or the clock has not started
    sent_utc: str | None
    late: bool | None  # None: not sent, or no due time to compare with


@dataclass(frozen=True)
class NoticeClocks:
    as_of_utc: str
    bars: tuple[ClockBar, ...]


def applicable_timers(incident: Incident, as_of: datetime) -> list[Timer]:
    """The incident's clocks at `as_of` that apply, or whose notice was sent anyway."""
    from app import deadlines as dl

    return [
        t
        for t in dl.incident_timers(incident.journal, as_of)
        if not (t.state == "not_applicable" and t.notified_utc is None)
    ]


def notice_clocks(incident: Incident, as_of: datetime) -> NoticeClocks:
    """Every clock that applies (or was notified anyway) at `as_of`, ordered by due time (undated last)."""
    bars = [
        ClockBar(
            rule=t.rule,
            jurisdiction=t.jurisdiction,
            recipient=t.recipient,
            state=t.state,
            start_utc=t.start_utc,
            due_utc=t.due_utc,
            sent_utc=t.notified_utc,
            late=t.late,
        )
        for t in applicable_timers(incident, as_of)
    ]
    bars.sort(key=lambda b: (b.due_utc is None, b.due_utc or "", b.rule))
    return NoticeClocks(as_of_utc=format_instant(as_of), bars=tuple(bars))


# -- rows taken -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowsBar:
    label: str
    rows: int  # rows the logs count
    unknown_reads: int  # reads Salesforce logs without a row count: the true total is at least `rows`


@dataclass(frozen=True)
class RowsTaken:
    by_object: tuple[RowsBar, ...]  # most rows first
    by_user: tuple[RowsBar, ...]


def _bars(groups: dict[str, list[tuple[int | None, int]]]) -> tuple[RowsBar, ...]:
    bars = [
        RowsBar(label, sum(r or 0 for r, _ in parts), sum(u + (1 if r is None else 0) for r, u in parts))
        for label, parts in groups.items()
    ]
    return tuple(sorted(bars, key=lambda b: (-b.rows, -b.unknown_reads, b.label)))


def rows_taken(incident: Incident, table: Sequence[ExfilRow] | None = None) -> RowsTaken:
    """The exfiltration table (`app.hunt.exfiltration_rows`, or `table` when the caller has it already) summed
    per object and per user."""
    from app.hunt import exfiltration_rows

    by_object: dict[str, list[tuple[int | None, int]]] = defaultdict(list)
    by_user: dict[str, list[tuple[int | None, int]]] = defaultdict(list)
    for row in table if table is not None else exfiltration_rows(incident):
        part = (row.rows, len(row.rows_unknown))
        by_object[row.object].append(part)
        by_user[row.username or row.actor].append(part)
    return RowsTaken(by_object=_bars(by_object), by_user=_bars(by_user))


# -- containment ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContainmentPoint:
    action: str
    target: str
    status: str
    at_utc: str  # when it was sent to the org (the intent), else when its result was recorded
    minutes_from_origin: int | None  # None when no origin is recorded


ORIGIN_WORDS = {"detected": "detection", "aware": "awareness", "declared": "declaration"}


@dataclass(frozen=True)
class ContainmentSeries:
    origin_utc: str | None
    origin_basis: str | None  # "detected", "aware" or "declared": the first of these the incident records usably
    points: tuple[ContainmentPoint, ...]  # in time order

    @property
    def origin_word(self) -> str:
        """ "detection", "awareness" or "declaration" (or "detection" when none is recorded), for sentences."""
        return ORIGIN_WORDS.get(self.origin_basis or "", "detection")


def containment_over_time(incident: Incident) -> ContainmentSeries:
    """Each containment run that has a result, placed in minutes from the incident's detection."""
    from app.containment.history import containment_actions
    from app.incident import record

    fields = record.incident_fields(incident.journal)
    origin_basis, origin = None, None
    for basis in ("detected", "aware", "declared"):
        origin = read_instant(fields.get(basis))  # an unusable old value is passed over, not trusted
        if origin is not None:
            origin_basis = basis
            break
    points: list[ContainmentPoint] = []
    for a in containment_actions(incident):
        at = a.get("executed_utc") or a.get("recorded_utc")
        if not at or a.get("result_seq") is None:
            continue
        when = parse_instant(str(at))
        points.append(
            ContainmentPoint(
                action=str(a.get("action", "")),
                target=str(a.get("target_summary", "")),
                status=str(a.get("status", "")),
                at_utc=format_instant(when),
                minutes_from_origin=int((when - origin).total_seconds() // 60) if origin else None,
            )
        )
    points.sort(key=lambda p: p.at_utc)
    return ContainmentSeries(
        origin_utc=format_instant(origin) if origin else None, origin_basis=origin_basis, points=tuple(points)
    )


# -- checklist ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgressPoint:
    at_utc: str
    done: int


@dataclass(frozen=True)
class PhaseProgress:
    phase: str
    title: str
    total: int
    points: tuple[ProgressPoint, ...]  # after each change of this phase's done count, in time order


@dataclass(frozen=True)
class ChecklistProgress:
    as_of_utc: str
    phases: tuple[PhaseProgress, ...]  # in the checklist's order
    available: bool  # False when the incident's checklist cannot be loaded


def checklist_progress(incident: Incident, as_of: datetime) -> ChecklistProgress:
    """Replays `checklist.state` entries up to `as_of`: items in state done, per phase, after each change."""
    from app import checklist as cl
    from app.base.errors import WarroomError

    try:
        checklist = cl.incident_checklist(incident)
    except WarroomError:
        return ChecklistProgress(as_of_utc=format_instant(as_of), phases=(), available=False)
    phase_of = {i.id: i.phase for i in checklist.items}
    totals = Counter(phase_of.values())
    state: dict[str, str] = {}
    points: dict[str, list[ProgressPoint]] = defaultdict(list)
    for entry in incident.journal.entries(kind="checklist.state"):
        item = str(entry.data.get("item", ""))
        if item not in phase_of or parse_instant(entry.recorded_utc) > as_of:
            continue
        state[item] = str(entry.data.get("state", ""))
        phase = phase_of[item]
        done = sum(1 for i, s in state.items() if s == "done" and phase_of[i] == phase)
        series = points[phase]
        if not series or series[-1].done != done:
            series.append(ProgressPoint(format_instant(parse_instant(entry.recorded_utc)), done))
    phases = tuple(
        PhaseProgress(phase=p.id, title=p.title, total=totals.get(p.id, 0), points=tuple(points.get(p.id, [])))
        for p in checklist.phases
    )
    return ChecklistProgress(as_of_utc=format_instant(as_of), phases=phases, available=True)


# -- all of them ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    attack: AttackTimeline
    clocks: NoticeClocks
    rows: RowsTaken
    containment: ContainmentSeries
    checklist: ChecklistProgress
    token_use: TokenUse


def compute_series(incident: Incident, as_of: datetime, *, exfil: Sequence[ExfilRow] | None = None) -> Series:
    """The six series, with the clocks and the checklist judged at `as_of` (`exfil`: the exfiltration table,
    when the caller has read it already)."""
    return Series(
        attack=attack_timeline(incident),
        clocks=notice_clocks(incident, as_of),
        rows=rows_taken(incident, exfil),
        containment=containment_over_time(incident),
        checklist=checklist_progress(incident, as_of),
        token_use=token_use(incident),
    )
