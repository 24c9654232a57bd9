"""Which rules apply to an incident, each as the text in force when its clock starts, and why (or why not)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from app.base.clock import SystemClock, ensure_utc
from app.deadlines.facts import IncidentFacts, Notification, Override
from app.deadlines.rules import Rule
from app.deadlines.starts import VersionChoice, choose_versions


@dataclass(frozen=True, slots=True)
class Verdict:
    in_play: bool  # worth showing at all (residence, sector, category for no-residence rules)
    applicable: bool
    reason: str


def _verdict(
    rule: Rule, facts: IncidentFacts, overrides: Mapping[str, Override], choice: VersionChoice | None
) -> Verdict:
    ov = overrides.get(rule.id)
    if ov is not None:
        who = f" by {ov.actor}" if ov.actor else ""
        if ov.action == "exclude":
            return Verdict(True, False, f"excluded{who}: {ov.justification}")
        return Verdict(True, True, f"included{who}: {ov.justification}")
    gate = rule.applies_when
    reasons: list[str] = []
    if gate.sectors:
        hit = sorted(set(gate.sectors) & set(facts.sectors))
        if not hit:
            return Verdict(False, False, f"organisation is not {' / '.join(gate.sectors)}")
        reasons.append(f"sector {', '.join(hit)}")
    if gate.residents:
        n = facts.residents_in(rule.code)
        if n <= 0:
            return Verdict(False, False, f"no residents of {rule.code} affected")
        reasons.append(f"{n:,} residents of {rule.code}")
    if gate.categories:
        hit = sorted(set(gate.categories) & set(facts.categories))
        if not hit:
            in_play = gate.residents or bool(gate.sectors)
            return Verdict(in_play, False, f"none of the data categories {', '.join(gate.categories)} recorded")
        reasons.append(f"data {', '.join(hit)}")
    instead = sorted(set(gate.unless_categories) & set(facts.categories))
    if instead:
        return Verdict(True, False, f"{', '.join(instead)} recorded: a rule for that case applies instead")
    if not rule.in_force:
        return Verdict(True, False, f"not in force: {rule.in_force_note or 'no effective date'}")
    if choice is not None and not choice.in_force:
        return Verdict(True, False, f"not in force on {choice.day} ({choice.on}): {rule.version_label()}")
    if rule.starts == "payment" and facts.ransom_paid is None:
        return Verdict(True, False, "no extortion payment recorded")
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
            return Verdict(True, False, f"threshold not met: {n:,} {who}, needs {th.describe()} ({th.text})")
        if ok:
            reasons.append(f"threshold met: {n:,} {who} {th.describe()}")
        else:
            reasons.append(
                f"{n:,} {who} is below {th.describe()}, but the other limbs may apply ({th.text}); "
                "assumed met, exclude with a justification if not"
            )
    elif th.text:
        reasons.append(f"test assumed met: {th.text}")
    return Verdict(True, True, "; ".join(reasons) or "applies")


def verdicts_for(
    facts: IncidentFacts,
    rules: Sequence[Rule],
    overrides: Mapping[str, Override],
    choices: Mapping[str, VersionChoice] | None = None,
) -> dict[str, Verdict]:
    """Per-rule verdicts, with chained rules applicable only while one of their anchors is."""
    choices = choices or {}
    out = {r.id: _verdict(r, facts, overrides, choices.get(r.id)) for r in rules}
    by_id = {r.id: r for r in rules}

    def resolve(rid: str, seen: frozenset[str]) -> Verdict:
        v, rule = out[rid], by_id[rid]
        if not v.applicable or not rule.anchors or rid in overrides or rid in seen:
            return v
        live = [a for a in rule.anchors if a in out and resolve(a, seen | {rid}).applicable]
        if not live:
            return Verdict(
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
    verdicts = verdicts_for(facts, resolved, overrides or {}, choices)
    return [(r, verdicts[r.id].reason) for r in resolved if verdicts[r.id].applicable]
