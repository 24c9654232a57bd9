"""The timers a responder watches, most urgent first: each applicable rule's clock, counted."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from app.base.clock import ensure_utc, format_instant
from app.deadlines.applicability import Verdict, in_force_versions, verdicts_for
from app.deadlines.days import (
    Place,
    compute_due,
    due_with_basis,
    duration_text,
    format_duration,
    holidays_release,
    parse_duration,
    rule_place,
)
from app.deadlines.facts import (
    IncidentFacts,
    LawEnforcementHold,
    Notification,
    Override,
    incident_facts,
    incident_notifications,
    incident_overrides,
)
from app.deadlines.recorded import (
    RecordedClock,
    calendar_difference,
    clock_entries,
    incident_recorded,
    recorded_place,
)
from app.deadlines.rules import Rule, load_rules
from app.deadlines.starts import fact_start

TimerState = Literal[
    "overdue", "due_4h", "due_24h", "on_track", "paused", "pending", "elapsed", "notified", "not_applicable"
]
STATE_ORDER: dict[str, int] = {s: i for i, s in enumerate(get_args(TimerState))}
DUE_4H = timedelta(hours=4)
DUE_24H = timedelta(hours=24)


# -- timers -------------------------------------------------------------------------------------------------------


class Timer(BaseModel):
    """One clock as a responder sees it. Seconds are whole; times are RFC 3339 (due_local with offset)."""

    rule: str
    jurisdiction: str
    code: str
    recipient: str
    citation: str
    source: str = ""
    version: str = ""
    version_basis: str = ""
    state: TimerState
    due_utc: str | None = None
    due_local: str | None = None
    timezone: str
    remaining_seconds: int | None = None
    period: str
    starts: str
    start_utc: str | None = None
    start_basis: str | None = None
    basis: str | None = None
    reason: str
    elapsed_seconds: int | None = None
    target: str | None = None
    target_due_utc: str | None = None
    projected_due_utc: str | None = None
    notified_utc: str | None = None
    evidence_id: str | None = None
    late: bool | None = None
    hold: str | None = None
    confidence: str
    calendar: str = ""
    holidays_release: str = ""
    recorded_seq: int | None = None
    calendar_note: str | None = None


@dataclass(slots=True)
class _Clock:
    start: datetime | None = None
    start_basis: str = ""
    due: datetime | None = None
    basis: str = ""
    pending: str | None = None
    projected: datetime | None = None
    held: LawEnforcementHold | None = None
    frozen_remaining: timedelta | None = None


def _apply_holds(
    rule: Rule, start: datetime, place: Place, holds: Sequence[LawEnforcementHold], now: datetime
) -> tuple[datetime | None, str, LawEnforcementHold | None, timedelta | None]:
    """Stop the clock for each hold that began before the deadline; report an active hold."""
    due, basis = due_with_basis(rule, start, place)
    shift = timedelta(0)
    active: LawEnforcementHold | None = None
    frozen: timedelta | None = None
    for hold in sorted((h for h in holds if h.covers(rule)), key=lambda h: h.start):
        if hold.start > now or (due is not None and hold.start >= due):
            continue
        begin = max(hold.start, start)
        end = hold.end if hold.end is not None and hold.end <= now else now
        if hold.end is None or hold.end > now:
            active = hold
            frozen = (due - hold.start) if due is not None else None
        if end > begin:
            shift += end - begin
            due, basis = due_with_basis(rule, start + shift, place)
    if shift:
        basis += f"; clock stopped {format_duration(shift)} for law-enforcement hold"
    return due, basis, active, frozen


def _clocks(
    facts: IncidentFacts,
    rules: Sequence[Rule],
    verdicts: Mapping[str, Verdict],
    notifications: Mapping[str, Notification],
    now: datetime,
    recorded: Mapping[str, RecordedClock],
) -> dict[str, _Clock]:
    by_id = {r.id: r for r in rules}
    out: dict[str, _Clock] = {}

    def sent(rule_ids: Iterable[str]) -> Notification | None:
        sends = [notifications[a] for a in rule_ids if a in notifications]
        return min(sends, key=lambda n: n.at) if sends else None

    def clock(rid: str, depth: int = 0) -> _Clock:
        if rid in out:
            return out[rid]
        rule = by_id[rid]
        place = _place(rule, facts, recorded)
        c = _Clock()
        if depth > len(by_id):  # a cycle in the rule file; the loader refuses self-chains, this is a backstop
            c.pending = "chained rules form a cycle"
            out[rid] = c
            return c
        if rule.anchors:
            anchors = [a for a in rule.anchors if a in by_id and verdicts.get(a, Verdict(False, False, "")).applicable]
            anchors = anchors or [a for a in rule.anchors if a in by_id]
            first = sent(anchors)
            label = " or ".join(anchors)
            if rule.relation == "after":
                if first is not None:
                    c.start, c.start_basis = first.at, f"{first.rule} notice sent {format_instant(first.at)}"
                    c.due, c.basis, c.held, c.frozen_remaining = _apply_holds(rule, first.at, place, facts.holds, now)
                else:
                    c.pending = f"starts when the {label} notice is sent"
                    anchor_dues = [d for d in (clock(a, depth + 1).due for a in anchors) if d is not None]
                    if anchor_dues and rule.fixed:
                        c.projected = compute_due(rule, min(anchor_dues), place)
            else:
                verb = "before" if rule.relation == "before" else "no later than"
                if first is not None:
                    c.start, c.start_basis = first.at, f"{first.rule} notice sent {format_instant(first.at)}"
                    c.due, c.basis = first.at, f"due {verb} the {first.rule} notice, sent {format_instant(first.at)}"
                else:
                    base = [clock(a, depth + 1) for a in anchors]
                    dated = [b for b in base if b.due is not None]
                    started = [b for b in base if b.start is not None]
                    if dated:
                        lead = min(dated, key=lambda b: b.due or now)
                        assert lead.due is not None  # `dated` holds only clocks with a due time
                        c.start, c.start_basis = lead.start, lead.start_basis
                        c.due, c.basis = (
                            lead.due,
                            f"due {verb} the {label} notice, itself due {format_instant(lead.due)}",
                        )
                        c.held, c.frozen_remaining = lead.held, lead.frozen_remaining
                    elif started:
                        lead = min(started, key=lambda b: b.start or now)
                        c.start, c.start_basis = lead.start, lead.start_basis
                        c.basis = f"due {verb} the {label} notice, which has no fixed period"
                    else:
                        c.pending = f"due {verb} the {label} notice, whose clock has not started"
        else:
            start, start_basis = fact_start(rule, facts)
            c.start_basis = start_basis
            if start is None:
                c.pending = start_basis
            else:
                c.start = start
                c.due, c.basis, c.held, c.frozen_remaining = _apply_holds(rule, start, place, facts.holds, now)
        out[rid] = c
        return c

    for r in rules:
        if verdicts[r.id].applicable:
            clock(r.id)
    return out


def _place(rule: Rule, facts: IncidentFacts, recorded: Mapping[str, RecordedClock]) -> Place:
    """Where the rule's days are counted, with the holiday dates recorded for this clock when they apply."""
    return recorded_place(rule_place(rule, facts.eu_member_state), rule.version_label(), recorded.get(rule.id))


def _calendar_note(rule: Rule, facts: IncidentFacts, c: _Clock, rec: RecordedClock, now: datetime) -> str | None:
    """Explain a due date counted with recorded holiday dates that the installed calendar would count otherwise."""
    if c.start is None or c.due is None or rule.relation != "after" or rule.day_kind not in ("business", "calendar"):
        return None
    installed = rule_place(rule, facts.eu_member_state)
    other = _apply_holds(rule, c.start, installed, facts.holds, now)[0]
    diff = calendar_difference(rec, installed)
    if other == c.due and not diff:
        return None
    outcome = f"would give {format_instant(other)}" if other and other != c.due else "gives the same due date"
    return (
        f"counted with the holiday dates recorded in entry {rec.seq} (holidays {rec.holidays_release}); this "
        f"machine's holidays {holidays_release()} {outcome}" + (f": {diff}" if diff else "")
    )


def _target(rule: Rule, facts: IncidentFacts) -> timedelta | None:
    if rule.id in facts.targets:
        return facts.targets[rule.id]
    if rule.target:
        return parse_duration(rule.target)
    return facts.targets.get("default")


def timers(
    facts: IncidentFacts,
    rules: Sequence[Rule],
    overrides: Mapping[str, Override] | None,
    notifications: Mapping[str, Notification] | None,
    now: datetime,
    recorded: Mapping[str, RecordedClock] | None = None,
) -> list[Timer]:
    """Every clock in play for the incident, most urgent first (not-applicable ones last, with reasons).

    `recorded`: the clocks journaled so far (app/deadlines/recorded.py), whose holiday dates are counted again."""
    now = ensure_utc(now)
    overrides = overrides or {}
    notifications = notifications or {}
    recorded = recorded or {}
    rules, choices = in_force_versions(facts, rules, notifications, now)
    verdicts = verdicts_for(facts, rules, overrides, choices)
    clocks = _clocks(facts, rules, verdicts, notifications, now, recorded)
    installed_release = holidays_release()
    result: list[Timer] = []
    for rule in rules:
        v = verdicts[rule.id]
        if not v.in_play and rule.id not in notifications:
            continue
        place = _place(rule, facts, recorded)
        tz = ZoneInfo(place.timezone)
        t = Timer(
            rule=rule.id,
            jurisdiction=rule.jurisdiction,
            code=rule.code,
            recipient=rule.recipient,
            citation=rule.citation,
            source=rule.source,
            version=rule.version_label(),
            version_basis=choices[rule.id].basis(),
            state="not_applicable",
            timezone=place.timezone,
            period=rule.period_text(),
            starts=rule.starts + ("" if rule.relation == "after" else f" ({rule.relation})"),
            reason=v.reason,
            confidence=rule.confidence,
            calendar=place.calendar,
            holidays_release=installed_release,
        )
        note = notifications.get(rule.id)
        if note is not None:
            t.notified_utc, t.evidence_id = format_instant(note.at), note.evidence_id
        if not v.applicable:
            if note is not None:
                t.state = "notified"
            result.append(t)
            continue
        c = clocks[rule.id]
        rec = recorded.get(rule.id)
        if rec is not None and place.recorded is not None:
            t.recorded_seq, t.holidays_release = rec.seq, rec.holidays_release
            t.calendar_note = _calendar_note(rule, facts, c, rec, now)
        t.start_utc = format_instant(c.start) if c.start else None
        t.start_basis = c.start_basis or None
        t.basis = c.basis or None
        if c.due is not None:
            t.due_utc = format_instant(c.due)
            t.due_local = c.due.astimezone(tz).isoformat()
            t.remaining_seconds = int((c.due - now).total_seconds())
        if c.projected is not None:
            t.projected_due_utc = format_instant(c.projected)
        if c.held is not None:
            t.hold = f"{c.held.hold_id}: requested by {c.held.requested_by} ({c.held.justification})"
        target = _target(rule, facts) if not rule.fixed and rule.relation == "after" else None
        if target is not None:
            t.target = duration_text(target)
            if c.start is not None:
                t.target_due_utc = format_instant(c.start + target)
        if note is not None:
            t.state = "notified"
            t.late = bool(c.due is not None and note.at > c.due)
        elif c.held is not None:
            t.state = "paused"
            if c.frozen_remaining is not None:
                t.remaining_seconds = int(c.frozen_remaining.total_seconds())
        elif c.pending is not None:
            t.state = "pending"
            t.basis = c.pending
        elif c.due is None:
            t.state = "elapsed"
            if c.start is not None:
                t.elapsed_seconds = int((now - c.start).total_seconds())
        else:
            left = c.due - now
            t.state = (
                "overdue"
                if left < timedelta(0)
                else "due_4h"
                if left <= DUE_4H
                else ("due_24h" if left <= DUE_24H else "on_track")
            )
        result.append(t)
    result.sort(key=lambda t: (STATE_ORDER[t.state], t.due_utc or t.projected_due_utc or "~", t.rule))
    return result


def incident_timers(journal: Any, now: datetime, rules: Sequence[Rule] | None = None) -> list[Timer]:
    """All timers of an incident at `now`: facts, overrides and notices read from its journal."""
    rules = rules if rules is not None else load_rules()
    return timers(
        incident_facts(journal),
        rules,
        incident_overrides(journal),
        incident_notifications(journal),
        now,
        incident_recorded(journal),
    )


def record_clocks(journal: Any, actor: str, rules: Sequence[Rule] | None = None) -> list[Any]:
    """Journal a `deadline.clock` for each clock that started or changed since it was last recorded (its
    text, start, due time and holiday dates), so the due date can be counted again the same way anywhere."""
    rules = rules if rules is not None else load_rules()
    items = [
        ("deadline.clock", data, actor)
        for data in clock_entries(incident_timers(journal, journal.clock.now(), rules), incident_recorded(journal))
    ]
    return journal.append_many(items) if items else []
