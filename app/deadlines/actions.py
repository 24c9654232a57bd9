"""What a responder does to the clocks, as whole actions with their rules: set a fact, include, exclude or reset
a rule, pause the clocks for a law-enforcement hold and resume them.

`warroom facts set` / `warroom deadlines include|exclude|reset|pause|resume`, the console and the exercise
player call these, so the eligibility rules (a hold only for rules that allow a delay, a justification for
every override, a reset only of an existing override) and the time rule are the same everywhere. Each returns
what it recorded; the front ends only present it. Each change is followed by the record of the clocks it
started or moved (`deadline.clock`, app/deadlines/recorded.py).

The time rule: a time a responder records (a fact such as `aware`, when a hold began or ended, when a notice
was sent) may not lie in the future. `FUTURE_SKEW` allows for a clock a few minutes apart from this one (a
time read off a phone or another laptop); beyond that the time is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from app.base.clock import format_instant, parse_instant
from app.base.errors import NotFoundError, UsageError
from app.deadlines.days import format_duration
from app.deadlines.engine import Timer, incident_timers, record_clocks
from app.deadlines.facts import IncidentFacts, incident_facts, parse_fact
from app.deadlines.rules import Rule, find_rule, load_rules
from app.deadlines.vocab import FACT_TIMES, US_STATE_LOOKALIKES
from app.incident.record import incident_fields

if TYPE_CHECKING:
    from app.incident.core import Incident

FUTURE_SKEW = timedelta(minutes=5)  # how far ahead of this machine's clock a recorded time may lie
OVERRIDES = "deadline.overrides"
HOLDS = "deadline.holds"


def not_in_future(at: datetime, now: datetime, what: str) -> None:
    """The one time rule: refuse `at` when it lies more than FUTURE_SKEW after `now`."""
    if at > now + FUTURE_SKEW:
        raise UsageError(f"{what} {format_instant(at)} is in the future")


def _rules(rules: Sequence[Rule] | None) -> list[Rule]:
    return list(rules) if rules is not None else load_rules()


def _required(text: str | None, what: str) -> str:
    value = (text or "").strip()
    if not value:
        raise UsageError(f"{what} is required")
    return value


# -- facts --------------------------------------------------------------------------------------------------------


class FactRecorded(BaseModel):
    """A fact set: its value before and after; `seq` None when the value was already so (nothing recorded)."""

    model_config = ConfigDict(extra="forbid")

    key: str
    value: Any
    previous: Any = None
    seq: int | None = None
    warnings: list[str] = []
    changes: list[str] = []  # the clocks it moved, one line each


def set_fact(journal: Any, key: str, value: str, actor: str, rules: Sequence[Rule] | None = None) -> Any | None:
    """Validate and journal one `facts.set` (with its previous value); None when the value is unchanged.

    What `warroom facts set KEY VALUE` and exercise injects record. A `detected` or `aware` time taken from the
    incident record is corrected, never cleared. The clocks the change starts or moves are journaled after it
    (`deadline.clock`, see app/deadlines/recorded.py).
    """
    state_key, parsed = parse_fact(key, value, rules)
    previous = journal.get_state("facts", state_key)
    if previous is None and state_key in ("detected", "aware"):
        previous = incident_fields(journal).get(state_key)  # set when the incident was declared
        if parsed is None and previous is not None:
            raise UsageError(
                f"{state_key} comes from the incident record ({previous}); set a corrected time instead of clearing it"
            )
    if previous == parsed:
        return None
    entry = journal.append("facts.set", {"key": state_key, "value": parsed, "previous": previous}, actor)
    record_clocks(journal, actor, rules)
    return entry


def record_fact(
    incident: Incident,
    key: str,
    value: str,
    actor: str,
    *,
    now: datetime,
    rules: Sequence[Rule] | None = None,
) -> FactRecorded:
    """Validate `key VALUE` (as `warroom facts set`), refuse a time in the future, journal `facts.set`, and say
    which clocks moved."""
    rules = _rules(rules)
    state_key, parsed = parse_fact(key, value, rules)
    if state_key in FACT_TIMES and parsed is not None:
        not_in_future(parse_instant(parsed), now, f"facts {state_key}:")
    journal = incident.journal
    before = {t.rule: t for t in incident_timers(journal, now, rules)}
    entry = set_fact(journal, key, value, actor, rules)
    if entry is None:
        return FactRecorded(key=state_key, value=parsed, previous=parsed)
    after = incident_timers(journal, now, rules)
    return FactRecorded(
        key=state_key,
        value=parsed,
        previous=entry.data["previous"],
        seq=entry.seq,
        warnings=fact_warnings(state_key, incident_facts(journal)) + determination_fallbacks(state_key, after),
        changes=timer_changes(before, after),
    )


def fact_text(key: str, value: Any) -> str:
    """A fact's value as a responder reads it."""
    if value is None:
        return "unset"
    if key.startswith("target."):
        return format_duration(timedelta(seconds=int(value)))
    if isinstance(value, list):
        return ",".join(value) or "(empty)"
    return str(value)


def fact_warnings(key: str, facts: IncidentFacts) -> list[str]:
    """What looks wrong after setting `key`: a country code that is likely a US state, a late determination."""
    out = []
    if key.startswith("residents."):
        code = key.split(".", 1)[1]
        if code in US_STATE_LOOKALIKES:
            out.append(f"{code} is read as a country code; a US state is written US-{code}")
    if facts.detected and facts.determination:
        gap = facts.determination - facts.detected
        if gap > timedelta(days=7):
            out.append(
                f"the SEC materiality determination came {format_duration(gap)} after detection; "
                "regulators test the determination itself for unreasonable delay"
            )
    if facts.detected and facts.aware and facts.aware < facts.detected:
        out.append("aware is earlier than detected")
    return out


def determination_fallbacks(key: str, timers: Sequence[Timer]) -> list[str]:
    """After a time fact is set: clocks that start at a breach determination (`starts = "determination"`: state
    laws, NYDFS, the bank 36-hour rule) while `breach_determined` is not recorded count from an earlier fact
    (aware, else detected). Said out loud, because `determination` is the SEC materiality determination, a
    different fact that starts only the Form 8-K clock, and the two are easy to confuse."""
    if key not in FACT_TIMES:
        return []
    fallen = [
        t for t in timers if t.starts == "determination" and t.state != "not_applicable" and t.start_utc is not None
    ]
    fallen = [t for t in fallen if (t.start_basis or "").startswith("breach_determined not recorded")]
    if not fallen:
        return []
    source = (fallen[0].start_basis or "").split("counted from ", 1)[-1].split(" (", 1)[0]
    ids = ", ".join(t.rule for t in fallen[:6]) + (f" and {len(fallen) - 6} more" if len(fallen) > 6 else "")
    hint = (
        " (`determination` is the SEC materiality determination; it does not start these)"
        if key == "determination"
        else ""
    )
    return [
        f"{len(fallen)} clock(s) start when the breach is determined ({ids}), but breach_determined is not "
        f"recorded: they count from {source} instead; record it with `warroom facts set breach_determined TIME`{hint}"
    ]


def timer_changes(before: dict[str, Timer], after: list[Timer]) -> list[str]:
    """The clocks that started, stopped applying or moved between two computations, one line each."""
    lines = []
    for t in after:
        old = before.get(t.rule)
        if old is None:
            if t.state != "not_applicable":
                lines.append(f"+ {t.rule}: {t.state}" + (f", due {t.due_utc}" if t.due_utc else ""))
            continue
        if old.state == "not_applicable" and t.state != "not_applicable":
            lines.append(f"+ {t.rule}: now applies ({t.reason})")
        elif t.state == "not_applicable" and old.state != "not_applicable":
            lines.append(f"- {t.rule}: no longer applies ({t.reason})")
        elif old.due_utc != t.due_utc:
            lines.append(f"~ {t.rule}: due {old.due_utc or '-'} -> {t.due_utc or '-'}")
    gone = set(before) - {t.rule for t in after}
    lines += [f"- {rid}: no longer in play" for rid in sorted(gone)]
    return lines


# -- overrides -----------------------------------------------------------------------------------------------------


class OverrideRecorded(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: str
    action: Literal["include", "exclude", "reset"]
    seq: int
    timer: Timer | None = None  # the rule's clock afterwards (None: not in play)


def override_rule(
    incident: Incident,
    rule_id: str,
    action: Literal["include", "exclude", "reset"],
    justification: str,
    actor: str,
    *,
    now: datetime,
    rules: Sequence[Rule] | None = None,
) -> OverrideRecorded:
    """Apply a rule the facts do not select (include), stop one from applying (exclude), or drop either (reset).
    Every change needs a justification; a reset needs an include or exclude to drop."""
    rules = _rules(rules)
    rule = find_rule(rules, rule_id)
    if action not in ("include", "exclude", "reset"):
        raise UsageError(f"{action!r} is not an override (include, exclude or reset)")
    why = _required(justification, "a justification")
    if action == "reset" and incident.journal.get_state(OVERRIDES, rule.id) is None:
        raise UsageError(f"{rule.id} has no include/exclude to reset")
    entry = incident.journal.append(
        "deadline.override",
        {"rule": rule.id, "action": "clear" if action == "reset" else action, "justification": why},
        actor,
    )
    record_clocks(incident.journal, actor, rules)
    timer = next((t for t in incident_timers(incident.journal, now, rules) if t.rule == rule.id), None)
    return OverrideRecorded(rule=rule.id, action=action, seq=entry.seq, timer=timer)


# -- law-enforcement holds -----------------------------------------------------------------------------------------


class HoldRecorded(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hold_id: str
    at: str  # when the hold began (pause) or ended (resume)
    rules: list[str] | None = None  # None: every rule that allows a law-enforcement delay
    seq: int


def pause_clocks(
    incident: Incident,
    requested_by: str,
    justification: str,
    actor: str,
    *,
    now: datetime,
    at: datetime | None = None,
    rule_ids: Sequence[str] | None = None,
    rules: Sequence[Rule] | None = None,
) -> HoldRecorded:
    """Journal a law-enforcement hold from `at` (default now) for `rule_ids` (default: every rule that allows a
    delay). Refused: a rule without a law-enforcement delay, no requester or justification, a time ahead."""
    start = at or now
    not_in_future(start, now, "the hold's start")
    names: list[str] | None = None
    if rule_ids:
        rules = _rules(rules)
        names = []
        for rid in rule_ids:
            rule = find_rule(rules, rid)
            if not rule.law_enforcement_delay:
                raise UsageError(
                    f"{rule.id} does not allow a law-enforcement delay ({rule.citation}); exclude it "
                    "with a justification instead if counsel so advises"
                )
            names.append(rule.id)
    if not (requested_by or "").strip() or not (justification or "").strip():
        raise UsageError("a hold needs who requested it and a justification")
    hold_id = f"hold-{len(incident.journal.state(HOLDS)) + 1}"
    entry = incident.journal.append(
        "deadline.pause",
        {
            "hold_id": hold_id,
            "at": format_instant(start),
            "rules": names,
            "requested_by": requested_by.strip(),
            "justification": justification.strip(),
        },
        actor,
    )
    record_clocks(incident.journal, actor, rules)
    return HoldRecorded(hold_id=hold_id, at=format_instant(start), rules=names, seq=entry.seq)


def resume_clocks(
    incident: Incident,
    hold_id: str,
    justification: str,
    actor: str,
    *,
    now: datetime,
    at: datetime | None = None,
) -> HoldRecorded:
    """End a hold at `at` (default now); its clocks run again with the time that was left."""
    end = at or now
    not_in_future(end, now, "the hold's end")
    hold = incident.journal.get_state(HOLDS, hold_id)
    if hold is None:
        raise NotFoundError(f"no law-enforcement hold {hold_id!r} in {incident.id}")
    if hold.get("end"):
        raise UsageError(f"{hold_id} already ended at {hold['end']}")
    if end < parse_instant(hold["start"]):
        raise UsageError(f"{format_instant(end)} is before the hold began ({hold['start']})")
    entry = incident.journal.append(
        "deadline.resume",
        {"hold_id": hold_id, "at": format_instant(end), "justification": _required(justification, "a justification")},
        actor,
    )
    record_clocks(incident.journal, actor)
    return HoldRecorded(hold_id=hold_id, at=format_instant(end), rules=hold.get("rules"), seq=entry.seq)


class FactLine(BaseModel):
    """One current fact as `warroom facts show` and the console list it."""

    model_config = ConfigDict(frozen=True)

    key: str
    value: str  # "-" when unset
    note: str = ""  # where it came from, or why it cannot be used
    unusable: bool = False  # journaled before values were checked: the clocks ignore it


def current_facts(journal: Any) -> list[FactLine]:
    """Every deadline fact with its current value (unset ones too, so a missing fact is visible)."""
    facts = incident_facts(journal)
    state = journal.state("facts")
    out: list[FactLine] = []
    for key in FACT_TIMES:
        value = getattr(facts, key)
        note = "from the incident record" if key not in state and value is not None else ""
        out.append(FactLine(key=key, value=format_instant(value) if value else "-", note=note))
    residents = ", ".join(f"{k} {v:,}" for k, v in sorted(facts.residents.items()))
    out.append(FactLine(key="residents", value=residents or "-"))
    out.append(FactLine(key="categories", value=", ".join(facts.categories) or "-"))
    out.append(FactLine(key="sectors", value=", ".join(facts.sectors) or "-"))
    eu = facts.eu_member_state
    out.append(FactLine(key="eu_member_state", value=eu or "-", note="" if eu else "EU rules use Brussels time"))
    for rid, td in sorted(facts.targets.items()):
        out.append(FactLine(key=f"target.{rid}", value=format_duration(td)))
    for key, value in sorted(facts.unusable.items()):
        out.append(
            FactLine(
                key=key,
                value=repr(value),
                note=f"the clocks ignore it until it is corrected (`warroom facts set {key} VALUE`)",
                unusable=True,
            )
        )
    return out
