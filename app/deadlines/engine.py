"""Which rules apply to an incident, and the timers a responder watches (most urgent first)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from app.base.clock import SystemClock, ensure_utc, format_instant
from app.deadlines.days import (
    Place,
    compute_due,
    due_with_basis,
    duration_text,
    format_duration,
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
from app.deadlines.rules import Rule, load_rules
from app.deadlines.starts import VersionChoice, choose_versions, fact_start

TimerState = Literal[
    "overdue", "due_4h", "due_24h", "on_track", "paused", "pending", "elapsed", "notified", "not_applicable"
]
STATE_ORDER: dict[str, int] = {s: i for i, s in enumerate(TimerState.__args__)}  # type: ignore[attr-defined]
DUE_4H = timedelta(hours=4)
DUE_24H = timedelta(hours=24)


# -- applicability --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Verdict:
    in_play: bool  # worth showing at all (residence, sector, category for no-residence rules)
    applicable: bool
    reason: str


def _verdict(
    rule: Rule, facts: IncidentFacts, overrides: Mapping[str, Override], choice: VersionChoice | None
) -> _Verdict:
    ov = overrides.get(rule.id)
    if ov is not None:
        who = f" by {ov.actor}" if ov.actor else ""
        if ov.action == "exclude":
            return _Verdict(True, False, f"excluded{who}: {ov.justification}")
        return _Verdict(True, True, f"included{who}: {ov.justification}")
    gate = rule.applies_when
    reasons: list[str] = []
    if gate.sectors:
        hit = sorted(set(gate.sectors) & set(facts.sectors))
        if not hit:
            return _Verdict(False, False, f"organisation is not {' / '.join(gate.sectors)}")
        reasons.append(f"sector {', '.join(hit)}")
    if gate.residents:
        n = facts.residents_in(rule.code)
        if n <= 0:
            return _Verdict(False, False, f"no residents of {rule.code} affected")
        reasons.append(f"{n:,} residents of {rule.code}")
    if gate.categories:
        hit = sorted(set(gate.categories) & set(facts.categories))
        if not hit:
            in_play = gate.residents or bool(gate.sectors)
            return _Verdict(in_play, False, f"none of the data categories {', '.join(gate.categories)} recorded")
        reasons.append(f"data {', '.join(hit)}")
    instead = sorted(set(gate.unless_categories) & set(facts.categories))
    if instead:
        return _Verdict(True, False, f"{', '.join(instead)} recorded: a rule for that case applies instead")
    if not rule.in_force:
        return _Verdict(True, False, f"not in force: {rule.in_force_note or 'no effective date'}")
    if choice is not None and not choice.in_force:
        return _Verdict(True, False, f"not in force on {choice.day} ({choice.on}): {rule.version_label()}")
    if rule.starts == "payment" and facts.ransom_paid is None:
        return _Verdict(True, False, "no extortion payment recorded")
    th = rule.threshold
    if th.numeric:
        if th.count == "total":
            n, who = facts.total_affected(), "affected in total"
        elif th.count == "state_max":
            state, n = facts.max_us_state()
            who = f"residents of {state}" if state else "residents of any one state"
        else:
            n, who = facts.residents_in(rule.code), f"residents of {rule.code}"
        ok = th.met(n)
        if not ok and th.mode == "required":
            return _Verdict(True, False, f"threshold not met: {n:,} {who}, needs {th.describe()} ({th.text})")
        if ok:
            reasons.append(f"threshold met: {n:,} {who} {th.describe()}")
        else:
            reasons.append(
                f"{n:,} {who} is below {th.describe()}, but the other limbs may apply ({th.text}); "
                "assumed met, exclude with a justification if not"
            )
    elif th.text:
        reasons.append(f"test assumed met: {th.text}")
    return _Verdict(True, True, "; ".join(reasons) or "applies")


def _verdicts(
    facts: IncidentFacts,
    rules: Sequence[Rule],
    overrides: Mapping[str, Override],
    choices: Mapping[str, VersionChoice] | None = None,
) -> dict[str, _Verdict]:
    """Per-rule verdicts, with chained rules applicable only while one of their anchors is."""
    choices = choices or {}
    out = {r.id: _verdict(r, facts, overrides, choices.get(r.id)) for r in rules}
    by_id = {r.id: r for r in rules}

    def resolve(rid: str, seen: frozenset[str]) -> _Verdict:
        v, rule = out[rid], by_id[rid]
        if not v.applicable or not rule.anchors or rid in overrides or rid in seen:
            return v
        live = [a for a in rule.anchors if a in out and resolve(a, seen | {rid}).applicable]
        if not live:
            return _Verdict(
                v.in_play, False, f"follows the notice under {' or '.join(rule.anchors)}, which does not apply"
            )
        return v

    return {rid: resolve(rid, frozenset()) for rid in out}


def in_force_versions(
    facts: IncidentFacts, rules: Sequence[Rule], notifications: Mapping[str, Notification] | None, now: datetime
) -> tuple[list[Rule], dict[str, VersionChoice]]:
    """Each rule as the text that judges this incident (see app/deadlines/starts.py), with the choices."""
    choices = choose_versions(facts, rules, notifications, ensure_utc(now))
    return [choices[r.id].rule for r in rules], choices


def applicable_rules(
    facts: IncidentFacts,
    rules: Sequence[Rule],
    overrides: Mapping[str, Override] | None = None,
    notifications: Mapping[str, Notification] | None = None,
    now: datetime | None = None,
) -> list[tuple[Rule, str]]:
    """The rules whose clocks run for this incident (each as the version that applies), with the reason.

    `now` only matters for an incident with no recorded time; without it the system clock stands in."""
    resolved, choices = in_force_versions(facts, rules, notifications, now or SystemClock().now())
    verdicts = _verdicts(facts, resolved, overrides or {}, choices)
    return [(r, verdicts[r.id].reason) for r in resolved if verdicts[r.id].applicable]


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
    verdicts: Mapping[str, _Verdict],
    notifications: Mapping[str, Notification],
    now: datetime,
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
        place = rule_place(rule, facts.eu_member_state)
        c = _Clock()
        if depth > len(by_id):  # a cycle in the rule file; the loader refuses self-chains, this is a backstop
            c.pending = "chained rules form a cycle"
            out[rid] = c
            return c
        if rule.anchors:
            anchors = [a for a in rule.anchors if a in by_id and verdicts.get(a, _Verdict(False, False, "")).applicable]
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
                        c.start, c.start_basis = lead.start, lead.start_basis
                        c.due, c.basis = (
                            lead.due,
                            f"due {verb} the {label} notice, itself due {format_instant(lead.due)}",
                        )  # type: ignore[arg-type]
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
) -> list[Timer]:
    """Every clock in play for the incident, most urgent first (not-applicable ones last, with reasons)."""
    now = ensure_utc(now)
    overrides = overrides or {}
    notifications = notifications or {}
    rules, choices = in_force_versions(facts, rules, notifications, now)
    verdicts = _verdicts(facts, rules, overrides, choices)
    clocks = _clocks(facts, rules, verdicts, notifications, now)
    result: list[Timer] = []
    for rule in rules:
        v = verdicts[rule.id]
        if not v.in_play and rule.id not in notifications:
            continue
        place = rule_place(rule, facts.eu_member_state)
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
    return timers(incident_facts(journal), rules, incident_overrides(journal), incident_notifications(journal), now)
