"""When each clock starts, and so which text of a rule applies: an incident is judged by the law in force on
the day the rule's own clock starts (discovery, awareness, determination... as the rule says).

A chained rule (`notice:<rule id>`) starts when the earlier notice is sent; until it is, the earlier clock's
own start stands in for it, so the version is the one in force when the incident began. A clock that has not
started (no materiality determination yet) is judged on the discovery date, and an incident with no recorded
time on today's date.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from app.base.clock import format_instant
from app.deadlines.days import rule_place, year_end_start
from app.deadlines.facts import IncidentFacts, Notification
from app.deadlines.rules import Rule


def fact_start(rule: Rule, facts: IncidentFacts) -> tuple[datetime | None, str]:
    """The start instant for a fact-based clock; conservative fallbacks are named in the basis."""
    disc = facts.discovery()
    disc_basis = ("detected" if disc == facts.detected else "aware") if disc else ""

    def chain(primary: str, *fallbacks: tuple[datetime | None, str]) -> tuple[datetime | None, str]:
        value = getattr(facts, primary)
        if value is not None:
            return value, f"{primary} {format_instant(value)}"
        for at, label in fallbacks:
            if at is not None:
                return at, f"{primary} not recorded; counted from {label} {format_instant(at)} (earlier, conservative)"
        return None, f"no {primary} time recorded"

    ev = rule.starts
    if ev == "discovery":
        return (
            (disc, f"discovery = {disc_basis} {format_instant(disc)}") if disc else (None, "no detection time recorded")
        )
    if ev == "awareness":
        return chain("aware", (facts.detected, "detected"))
    if ev == "determination":
        return chain("breach_determined", (facts.aware, "aware"), (facts.detected, "detected"))
    if ev == "confirmation":
        return chain(
            "confirmed",
            (facts.breach_determined, "breach_determined"),
            (facts.aware, "aware"),
            (facts.detected, "detected"),
        )
    if ev == "scope":
        return chain("scoped", (facts.aware, "aware"), (facts.detected, "detected"))
    if ev == "materiality":
        if facts.determination is None:
            since = f" (discovery was {format_instant(disc)})" if disc else ""
            return (
                None,
                "no SEC materiality determination recorded; it must be made without unreasonable "
                f"delay after discovery{since}",
            )
        return facts.determination, f"materiality determination {format_instant(facts.determination)}"
    if ev == "classification":
        return chain("classified")
    if ev == "payment":
        return chain("ransom_paid")
    if ev == "new_information":
        return chain("new_information")
    if ev == "year_end":
        if disc is None:
            return None, "no detection time recorded"
        return year_end_start(rule, disc)
    raise ValueError(f"{rule.id}: unhandled start {ev!r}")


@dataclass(frozen=True, slots=True)
class VersionChoice:
    """The text of a rule an incident is judged by, and why: `rule` is that version (the nearest one when
    none is in force), `day` the local date it was chosen for and `on` what that date is."""

    rule: Rule
    in_force: bool
    day: date
    on: str
    start: datetime

    def basis(self) -> str:
        return f"{self.rule.version_label()}; the text in force on {self.day} ({self.on})"


def version_day(rule: Rule, at: datetime, eu_member_state: str | None = None) -> date:
    """The local date of `at` where the rule's days are counted."""
    return at.astimezone(ZoneInfo(rule_place(rule, eu_member_state).timezone)).date()


def choose_versions(
    facts: IncidentFacts,
    rules: Sequence[Rule],
    notifications: Mapping[str, Notification] | None,
    now: datetime,
) -> dict[str, VersionChoice]:
    """For each rule, the version in force on the day its clock starts (see the module docstring)."""
    notifications = notifications or {}
    by_id = {r.id: r for r in rules}
    out: dict[str, VersionChoice] = {}

    def start_of(version: Rule, depth: int) -> tuple[datetime, str]:
        if version.anchors:
            sends = [notifications[a] for a in version.anchors if a in notifications]
            if sends:
                first = min(sends, key=lambda n: n.at)
                return first.at, f"the {first.rule} notice sent"
            starts = [choose(a, depth + 1) for a in version.anchors if a in by_id]
            if starts:
                lead = min(starts, key=lambda c: c.start)
                return lead.start, f"{lead.on}, where the {' or '.join(version.anchors)} clock starts"
        elif version.starts != "year_end":
            at, _ = fact_start(version, facts)
            if at is not None:
                return at, version.starts
        disc = facts.discovery()
        if disc is not None:
            return disc, "discovery"
        return now, "today: no incident time recorded"

    def choose(rid: str, depth: int = 0) -> VersionChoice:
        if rid in out:
            return out[rid]
        rule = by_id[rid]
        if depth > len(by_id):  # a cycle; the loader refuses self-chains, this is a backstop
            return VersionChoice(rule, rule.in_force, now.date(), "today", now)
        first: tuple[datetime, str, date] | None = None
        for version in reversed(rule.versions()):
            at, on = start_of(version, depth)
            day = version_day(version, at, facts.eu_member_state)
            first = first or (at, on, day)
            if version.in_force_on(day):
                out[rid] = VersionChoice(version, True, day, on, at)
                return out[rid]
        assert first is not None
        at, on, day = first
        out[rid] = VersionChoice(rule.nearest_version(day), False, day, on, at)
        return out[rid]

    for r in rules:
        choose(r.id)
    return out
