"""What an incident records for its clocks: facts, overrides, law-enforcement holds and notices sent, as
journal entries, the projectors that derive their state, and the models read back from it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from app.base.clock import MAX_DURATION, format_instant, parse_instant, read_instant
from app.base.errors import UsageError
from app.deadlines.codes import check_code, check_words
from app.deadlines.days import parse_duration
from app.deadlines.rules import Rule, find_rule
from app.deadlines.vocab import CATEGORIES, CODE_ALIASES, EU_MEMBER_STATES, FACT_TIMES, REGION_MEMBERS, SECTORS
from app.incident.record import incident_fields

# -- incident facts ---------------------------------------------------------------------------------------------


class LawEnforcementHold(BaseModel):
    """A law-enforcement request to delay notice; `rules` None = every rule that allows a hold."""

    model_config = ConfigDict(extra="forbid")

    hold_id: str
    start: datetime
    end: datetime | None = None
    rules: list[str] | None = None
    requested_by: str
    justification: str

    def covers(self, rule: Rule) -> bool:
        return rule.law_enforcement_delay and (self.rules is None or rule.id in self.rules)


class IncidentFacts(BaseModel):
    """What decides which clocks run and when they started. Times are aware UTC."""

    model_config = ConfigDict(extra="forbid")

    detected: datetime | None = None
    aware: datetime | None = None
    breach_determined: datetime | None = None
    determination: datetime | None = None
    confirmed: datetime | None = None
    scoped: datetime | None = None
    classified: datetime | None = None
    ransom_paid: datetime | None = None
    new_information: datetime | None = None
    residents: dict[str, int] = {}
    categories: list[str] = []
    sectors: list[str] = []
    eu_member_state: str | None = None
    targets: dict[str, timedelta] = {}
    holds: list[LawEnforcementHold] = []
    unusable: dict[str, str] = {}  # journaled values that cannot be used (from before they were validated)

    def residents_in(self, code: str) -> int:
        """Residents counted toward `code`: the code itself, its subdivisions (US-TX for US) and members."""
        if code == "GLOBAL":
            return self.total_affected()
        members = REGION_MEMBERS.get(code, frozenset())
        return sum(n for k, n in self.residents.items() if k == code or k.startswith(code + "-") or k in members)

    def total_affected(self) -> int:
        return sum(self.residents.values())

    def max_us_state(self) -> tuple[str | None, int]:
        states = [(k, n) for k, n in self.residents.items() if k.startswith("US-")]
        return max(states, key=lambda kv: kv[1]) if states else (None, 0)

    def discovery(self) -> datetime | None:
        times = [t for t in (self.detected, self.aware) if t is not None]
        return min(times) if times else None


class Override(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: str
    action: Literal["include", "exclude"]
    justification: str
    actor: str = ""
    at: str = ""


class Notification(BaseModel):
    """A notice recorded as sent: the earliest sending counts for the clock."""

    model_config = ConfigDict(extra="forbid")

    rule: str
    at: datetime
    evidence_id: str
    actor: str = ""


# -- facts as journal entries -------------------------------------------------------------------------------------

FACT_KEYS: dict[str, str] = {
    **{k: f"ISO 8601 time: {v}" for k, v in FACT_TIMES.items()},
    "residents.<CODE>": "affected residents of a jurisdiction (ISO code: US-TX, GB, BR, DE or EU...); 0 clears",
    "categories": f"comma list of data categories ({', '.join(CATEGORIES)}); replaces the list",
    "sectors": f"comma list of the organisation's sectors ({', '.join(SECTORS)}); replaces the list",
    "target.<RULE_ID>": "organisation target for a rule with no fixed period (72h, 3d, PT72H)",
    "target.default": "organisation target for every rule with no fixed period",
    "eu_member_state": "the lead EU member state (ISO code): sets the EU rules' time zone and holidays",
}
_CLEAR = {"", "-", "none", "null", "unset"}


def normalise_code(code: str) -> str:
    up = code.strip().upper()
    return CODE_ALIASES.get(up, up)


def parse_fact(key: str, value: str, rules: Sequence[Rule] | None = None) -> tuple[str, Any]:
    """Validate a `facts set KEY VALUE` pair into (state key, JSON value); None clears the fact."""
    key = key.strip()
    raw = value.strip()
    clear = raw.lower() in _CLEAR
    if key in FACT_TIMES:
        if clear:
            return key, None
        try:
            return key, format_instant(parse_instant(raw))
        except ValueError as exc:
            raise UsageError(f"facts {key}: {exc}") from None
    if key.startswith("residents."):
        code = check_code(key.split(".", 1)[1], f"facts {key}")
        if clear:
            return f"residents.{code}", None
        try:
            n = int(raw.replace(",", "").replace("_", ""))
        except ValueError:
            raise UsageError(f"facts {key}: {value!r} is not a whole number of residents") from None
        if n < 0 or n > 2**53 - 1:
            raise UsageError(f"facts {key}: {n} is out of range")
        return f"residents.{code}", (n or None)
    if key in ("categories", "sectors"):
        vocab = CATEGORIES if key == "categories" else SECTORS
        if clear:
            return key, None
        items = [i.strip().lower().replace("-", "_") for i in raw.split(",") if i.strip()]
        check_words(items, vocab, f"facts {key}")
        return key, sorted(set(items))
    if key.startswith("target."):
        rid = key.split(".", 1)[1]
        if rid != "default" and rules is not None:
            rule = find_rule(rules, rid)
            if rule.fixed:
                raise UsageError(
                    f"facts {key}: rule {rid} has a fixed period ({rule.period_text()}); targets are "
                    "for rules without one"
                )
        if clear:
            return key, None
        try:
            td = parse_duration(raw)
        except ValueError as exc:
            raise UsageError(f"facts {key}: {exc}") from None
        if td <= timedelta(0):
            raise UsageError(f"facts {key}: a target must be positive")
        return key, int(td.total_seconds())
    if key == "eu_member_state":
        if clear:
            return key, None
        code = normalise_code(raw)
        if code not in EU_MEMBER_STATES:
            raise UsageError(f"facts {key}: {raw!r} is not an EU member state code ({', '.join(EU_MEMBER_STATES)})")
        return key, code
    raise UsageError(f"unknown fact {key!r}; known keys: {', '.join(FACT_KEYS)}")


def facts_from_state(
    state: Mapping[str, Any], incident: Mapping[str, Any] | None = None, holds: Mapping[str, Any] | None = None
) -> IncidentFacts:
    """Build IncidentFacts from the derived-state namespaces ('facts', 'incident', 'deadline.holds')."""
    incident = incident or {}
    data: dict[str, Any] = {"residents": {}, "targets": {}}
    unusable: dict[str, str] = {}
    for key in FACT_TIMES:
        value = state.get(key, incident.get(key) if key in ("detected", "aware") else None)
        if value is not None:
            at = read_instant(value)
            if at is None:
                unusable[key] = str(value)
            else:
                data[key] = at
    for key, value in state.items():
        if value is None:
            continue
        if key.startswith("residents."):
            if isinstance(value, int) and 0 <= value <= 2**53 - 1:
                data["residents"][key.split(".", 1)[1]] = value
            else:
                unusable[key] = str(value)
        elif key.startswith("target."):
            if isinstance(value, int) and 0 < value <= MAX_DURATION.total_seconds():
                data["targets"][key.split(".", 1)[1]] = timedelta(seconds=value)
            else:
                unusable[key] = str(value)
    data["categories"] = list(state.get("categories") or [])
    data["sectors"] = list(state.get("sectors") or [])
    data["eu_member_state"] = state.get("eu_member_state")
    data["holds"] = []
    for hold_id, hold in (holds or {}).items():
        start, end = read_instant(hold.get("start")), read_instant(hold.get("end"))
        if start is None or (hold.get("end") is not None and end is None):
            unusable[f"hold.{hold_id}"] = f"{hold.get('start')}..{hold.get('end')}"
            continue
        data["holds"].append(LawEnforcementHold.model_validate({**hold, "start": start, "end": end}))
    data["unusable"] = unusable
    return IncidentFacts.model_validate(data)


# -- projectors (registered in app/composition/projections.py) ---------------------------------------------------


def project_fact(entry: Any, get: Any) -> Iterable[tuple[str, str, Any]]:
    yield "facts", entry.data["key"], entry.data.get("value")


def project_override(entry: Any, get: Any) -> Iterable[tuple[str, str, Any]]:
    d = entry.data
    if d["action"] == "clear":
        yield "deadline.overrides", d["rule"], None
        return
    yield (
        "deadline.overrides",
        d["rule"],
        {
            "rule": d["rule"],
            "action": d["action"],
            "justification": d["justification"],
            "actor": entry.actor,
            "at": entry.recorded_utc,
        },
    )


def project_notification(entry: Any, get: Any) -> Iterable[tuple[str, str, Any]]:
    d = entry.data
    current = get("notifications", d["rule"]) or {"rule": d["rule"], "sends": []}
    current["sends"] = [
        *current["sends"],
        {"at": d["at"], "evidence_id": d["evidence_id"], "actor": entry.actor, "seq": entry.seq},
    ]
    yield "notifications", d["rule"], current


def project_pause(entry: Any, get: Any) -> Iterable[tuple[str, str, Any]]:
    d = entry.data
    yield (
        "deadline.holds",
        d["hold_id"],
        {
            "hold_id": d["hold_id"],
            "start": d["at"],
            "end": None,
            "rules": d.get("rules"),
            "requested_by": d["requested_by"],
            "justification": d["justification"],
        },
    )


def project_resume(entry: Any, get: Any) -> Iterable[tuple[str, str, Any]]:
    d = entry.data
    current = get("deadline.holds", d["hold_id"])
    if current is None:
        return
    current["end"] = d["at"]
    yield "deadline.holds", d["hold_id"], current


# -- reading an incident's journal ------------------------------------------------------------------------------


def incident_facts(journal: Any) -> IncidentFacts:
    """The deadline facts of an incident, from its journal's derived state (the console and report reuse it)."""
    return facts_from_state(journal.state("facts"), incident_fields(journal), journal.state("deadline.holds"))


def incident_overrides(journal: Any) -> dict[str, Override]:
    return {k: Override.model_validate(v) for k, v in journal.state("deadline.overrides").items()}


def incident_notifications(journal: Any) -> dict[str, Notification]:
    out: dict[str, Notification] = {}
    for rid, value in journal.state("notifications").items():
        sends = value.get("sends") or []
        if not sends:
            continue
        usable = [(at, s) for s in sends if (at := read_instant(s.get("at"))) is not None]
        if not usable:
            continue
        at, first = min(usable, key=lambda pair: pair[0])
        out[rid] = Notification(rule=rid, at=at, evidence_id=first["evidence_id"], actor=first.get("actor", ""))
    return out
