"""Notification deadlines: the jurisdiction rules, the clocks they start, and the timers a responder watches.

Rules are data (`app/data/rules.toml`, generated from the research table by `scripts/build-rules`). The engine
is plain functions over three inputs: the incident's facts, responder overrides, and the notices already sent.

Counting conventions (stated once, used everywhere):
- hours run continuously in UTC: a DST change or a weekend does not move a 72-hour deadline;
- "N calendar days" and "N business days" end at 23:59:59 on the Nth day after the start day, in the rule's
  time zone; the start day itself is day 0. A business day is Monday-Friday and not a public holiday of the
  rule's calendar (the `holidays` package), so a start on a weekend makes the next business day day 1;
- "one month" ends at 23:59:59 on the same date the next month (the last day when that date does not exist);
- calendars: each rule names one (US state rules their state, US federal rules the federal holidays, the SEC
  the federal holidays because Rule 0-3 and EDGAR close on federal holidays, not on NYSE-only days such as
  Good Friday; Brazil the national holidays; the EU Belgian holidays and Brussels time unless the incident
  names its lead member state; card brands the US federal calendar);
- a law-enforcement hold stops a rule's clock for its duration; on release the clock resumes with the time
  that was left.
"""

from __future__ import annotations

import calendar as _calendar
import re
import threading
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.clock import ensure_utc, format_instant, parse_instant
from app.errors import NotFoundError, UsageError, WarroomError

RULES_PATH = Path(__file__).resolve().parent / "data" / "rules.toml"

# -- vocabularies ---------------------------------------------------------------------------------------------

SECTORS: dict[str, str] = {
    "sec_registrant": "files reports with the SEC (Form 8-K Item 1.05)",
    "nydfs_licensee": "covered entity under 23 NYCRR 500 (NYDFS)",
    "hipaa_entity": "HIPAA covered entity",
    "hipaa_business_associate": "HIPAA business associate",
    "bank": "US banking organisation (OCC, Federal Reserve, FDIC)",
    "bank_service_provider": "service provider to a US bank",
    "ftc_financial_institution": "non-bank financial institution under the FTC Safeguards Rule",
    "phr_vendor": "personal health record vendor (FTC Health Breach Notification Rule)",
    "telecom_carrier": "telecom carrier, interconnected VoIP or TRS provider (FCC CPNI)",
    "us_critical_infrastructure": "CIRCIA covered entity",
    "nis2_entity": "NIS2 essential or important entity",
    "dora_financial_entity": "EU financial entity under DORA",
    "ch_critical_infrastructure": "operator listed in Swiss ISA Art. 74b",
    "cn_cii_operator": "Chinese critical information infrastructure operator",
    "difc_entity": "established in the DIFC",
    "adgm_entity": "established in the ADGM",
    "processor": "processes the data for another controller (vendor, service provider)",
    "health_facility": "California licensed clinic, health facility, home health or hospice",
    "public_agency": "public agency (city, county, state)",
}
CATEGORIES: dict[str, str] = {
    "health": "health or medical information, PHI",
    "payment_card": "payment card numbers or card data",
    "financial": "bank accounts, financial records",
    "credentials": "authentication data: passwords, tokens, security questions",
    "government_id": "SSN, passport, driver's licence, tax id",
    "sensitive": "special-category data (race, religion, politics, sex life, union membership...)",
    "biometric": "biometric data",
    "genetic": "genetic data",
    "children": "data of children or adolescents",
    "contact": "names, emails, phone numbers, addresses",
    "cpni": "telecom customer proprietary network information",
    "large_scale": "the breach is large scale (a flag used by the Brazilian rules)",
}
FACT_TIMES: dict[str, str] = {
    "detected": "first detection: the earliest plausible discovery time",
    "aware": "reasonable certainty that personal data was compromised (GDPR 'aware')",
    "breach_determined": "the organisation concluded a breach occurred (state laws, NYDFS, bank 36h)",
    "determination": "SEC materiality determination (starts the Form 8-K clock)",
    "confirmed": "breach confirmed and the required information ascertainable (Rhode Island)",
    "scoped": "scope identified (Maine, Utah)",
    "classified": "incident classified as major (DORA)",
    "ransom_paid": "extortion payment made (NYDFS, CIRCIA)",
    "new_information": "information missing from the initial 8-K became available (8-K/A)",
}
START_EVENTS = (
    "awareness", "discovery", "determination", "materiality", "confirmation", "classification", "payment",
    "scope", "new_information", "year_end",
)
EU_MEMBER_STATES: dict[str, str] = {
    "AT": "Europe/Vienna", "BE": "Europe/Brussels", "BG": "Europe/Sofia", "HR": "Europe/Zagreb",
    "CY": "Asia/Nicosia", "CZ": "Europe/Prague", "DK": "Europe/Copenhagen", "EE": "Europe/Tallinn",
    "FI": "Europe/Helsinki", "FR": "Europe/Paris", "DE": "Europe/Berlin", "GR": "Europe/Athens",
    "HU": "Europe/Budapest", "IE": "Europe/Dublin", "IT": "Europe/Rome", "LV": "Europe/Riga",
    "LT": "Europe/Vilnius", "LU": "Europe/Luxembourg", "MT": "Europe/Malta", "NL": "Europe/Amsterdam",
    "PL": "Europe/Warsaw", "PT": "Europe/Lisbon", "RO": "Europe/Bucharest", "SK": "Europe/Bratislava",
    "SI": "Europe/Ljubljana", "ES": "Europe/Madrid", "SE": "Europe/Stockholm",
}
# Residents of these codes also count toward the rule's code (the Norway row covers the whole EEA-EFTA).
REGION_MEMBERS: dict[str, frozenset[str]] = {
    "EU": frozenset(EU_MEMBER_STATES),
    "NO": frozenset({"IS", "LI"}),
}
CODE_ALIASES = {"UK": "GB"}
# Two-letter codes that are both a country and a US state: a reminder is printed when one is set.
US_STATE_LOOKALIKES = frozenset({"AL", "AR", "AZ", "CA", "CO", "DE", "GA", "ID", "IL", "IN", "LA", "MA", "MD",
                                 "ME", "MN", "MO", "MS", "MT", "NC", "NE", "PA", "SC", "TN", "VA"})

TimerState = Literal[
    "overdue", "due_4h", "due_24h", "on_track", "paused", "pending", "elapsed", "notified", "not_applicable"
]
STATE_ORDER: dict[str, int] = {s: i for i, s in enumerate(TimerState.__args__)}  # type: ignore[attr-defined]
DUE_4H = timedelta(hours=4)
DUE_24H = timedelta(hours=24)


class RuleFileError(WarroomError):
    """The rule file is malformed; the message is FILE:LINE:COL: what is wrong."""


# -- durations --------------------------------------------------------------------------------------------------

_DURATION = re.compile(r"^\s*(\d+)\s*([wdhm])\s*$", re.I)
_ISO_DURATION = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$", re.I)
_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60}


def parse_duration(text: str) -> timedelta:
    """'72h', '3d', '2w', '90m' or ISO 8601 'P3D' / 'PT72H'; the error names the value."""
    raw = text.strip()
    m = _DURATION.match(raw)
    if m:
        return timedelta(seconds=int(m.group(1)) * _UNIT_SECONDS[m.group(2).lower()])
    m = _ISO_DURATION.match(raw)
    if m and raw.upper() not in ("P", "PT") and any(m.groups()):
        w, d, h, mins = (int(g or 0) for g in m.groups())
        return timedelta(weeks=w, days=d, hours=h, minutes=mins)
    raise ValueError(f"not a duration: {text!r} (examples: 72h, 3d, 2w, PT72H)")


def format_duration(td: timedelta) -> str:
    """Compact, signed: '2d 03h', '4h 05m', '-1h 30m'."""
    secs = int(td.total_seconds())
    sign = "-" if secs < 0 else ""
    secs = abs(secs)
    days, rem = divmod(secs, 86400)
    hours, rem = divmod(rem, 3600)
    minutes = rem // 60
    if days:
        return f"{sign}{days}d {hours:02d}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    return f"{sign}{minutes}m"


def _duration_text(td: timedelta) -> str:
    secs = int(td.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if secs and secs % size == 0:
            return f"{secs // size}{unit}"
    return f"{secs // 60}m"


# -- calendars ----------------------------------------------------------------------------------------------------

_holiday_lock = threading.Lock()


@cache
def _holiday_table(code: str) -> Any:
    import holidays  # imported on first use: most commands never count business days

    country, _, subdiv = code.partition("-")
    return holidays.country_holidays(country, subdiv=subdiv or None)


def holiday_name(code: str, day: date) -> str | None:
    """The public holiday on `day` in calendar `code` ('BR', 'US', 'US-VT', 'GB'...), or None."""
    table = _holiday_table(code)
    with _holiday_lock:  # the table grows lazily by year; not safe to grow from two threads at once
        return table.get(day)


def is_business_day(code: str, day: date) -> bool:
    return day.weekday() < 5 and holiday_name(code, day) is None


def _check_calendar(code: str) -> str:
    try:
        _holiday_table(code)
    except (NotImplementedError, KeyError, ValueError) as exc:
        raise ValueError(f"unknown holiday calendar {code!r} (use ISO codes such as BR, US, US-VT): {exc}") from None
    return code


def _check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None
    return name


def _check_duration(text: str) -> str:
    parse_duration(text)
    return text


def _check_sector(name: str) -> str:
    if name not in SECTORS:
        raise ValueError(f"unknown sector {name!r}; known: {', '.join(SECTORS)}")
    return name


def _check_category(name: str) -> str:
    if name not in CATEGORIES:
        raise ValueError(f"unknown data category {name!r}; known: {', '.join(CATEGORIES)}")
    return name


def _check_starts(text: str) -> str:
    if text in START_EVENTS:
        return text
    if text.startswith("notice:") and all(re.fullmatch(r"[a-z0-9][a-z0-9-]*", a) for a in text[7:].split("|")):
        return text
    raise ValueError(f"unknown clock start {text!r}; use one of {', '.join(START_EVENTS)} or notice:<rule id>")


# -- the rule file ------------------------------------------------------------------------------------------------


class Threshold(BaseModel):
    """Who must be affected for this recipient to be owed a notice. `text` is the law's own wording."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str
    count: Literal["residents", "total", "state_max"] | None = None
    op: Literal[">=", ">", "<"] | None = None
    value: int | None = Field(default=None, ge=0)
    mode: Literal["required", "sufficient"] = "required"

    @model_validator(mode="after")
    def _all_or_none(self) -> Threshold:
        parts = (self.count, self.op, self.value)
        if any(p is not None for p in parts) and any(p is None for p in parts):
            raise ValueError("a numeric threshold needs count, op and value together")
        return self

    @property
    def numeric(self) -> bool:
        return self.value is not None

    def met(self, n: int) -> bool:
        if self.value is None:
            return True
        return {">=": n >= self.value, ">": n > self.value, "<": n < self.value}[self.op or ">="]

    def describe(self) -> str:
        return f"{self.op} {self.value:,}" if self.numeric else self.text


class AppliesWhen(BaseModel):
    """Sector and data-category gates (any listed value matches); `residents`: residence decides."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sectors: list[Annotated[str, AfterValidator(_check_sector)]] = []
    categories: list[Annotated[str, AfterValidator(_check_category)]] = []
    residents: bool = True


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    jurisdiction: str
    code: str = Field(pattern=r"^(GLOBAL|EU|[A-Z]{2}(-[A-Z0-9]{1,3})?)$")
    regime: str
    citation: str
    recipient: Literal["individuals", "regulator", "attorney_general", "consumer_reporting_agencies", "other"]
    standard: Literal["fixed", "without_undue_delay", "as_soon_as_practicable", "most_expedient"]
    period: int | None = Field(default=None, gt=0)
    day_kind: Literal["hours", "calendar", "business", "months", "none"]
    starts: Annotated[str, AfterValidator(_check_starts)]
    relation: Literal["after", "with", "before"] = "after"
    starts_note: str | None = None
    timezone: Annotated[str, AfterValidator(_check_timezone)]
    calendar: Annotated[str, AfterValidator(_check_calendar)]
    target: Annotated[str, AfterValidator(_check_duration)] | None = None
    law_enforcement_delay: bool = False
    effective_from: date | None = None
    in_force: bool = True
    in_force_note: str | None = None
    confidence: Literal["high", "medium", "low"]
    source: str = Field(pattern=r"^https?://")
    notes: str = ""
    threshold: Threshold
    applies_when: AppliesWhen = AppliesWhen()

    @model_validator(mode="after")
    def _period_matches_kind(self) -> Rule:
        if self.day_kind == "none" and self.period is not None:
            raise ValueError("period is set but day_kind is 'none'")
        if self.day_kind != "none" and self.period is None:
            raise ValueError(f"day_kind {self.day_kind!r} needs a period")
        if self.relation != "after" and not self.starts.startswith("notice:"):
            raise ValueError(f"relation {self.relation!r} only makes sense for starts = 'notice:<rule id>'")
        if self.relation != "after" and self.period is not None:
            raise ValueError(f"relation {self.relation!r} is due with the other notice; it takes no period")
        return self

    @property
    def anchors(self) -> tuple[str, ...]:
        return tuple(self.starts[7:].split("|")) if self.starts.startswith("notice:") else ()

    @property
    def fixed(self) -> bool:
        return self.period is not None

    def period_text(self) -> str:
        if self.period is None:
            return self.standard.replace("_", " ")
        unit = {"hours": "hour", "calendar": "calendar day", "business": "business day", "months": "month"}
        return f"{self.period} {unit[self.day_kind]}{'s' if self.period != 1 else ''}"


class RuleFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal[1]
    source: str
    rule: list[Rule]


def load_rules(path: Path | None = None) -> list[Rule]:
    """Parse and validate a rule file; any problem raises RuleFileError as FILE:LINE:COL: message."""
    path = path or RULES_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleFileError(f"{path}: cannot read rule file ({exc.strerror or exc})") from None
    return parse_rules(text, str(path))


def parse_rules(text: str, name: str = "<rules>") -> list[Rule]:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line, col = (m.group(1), m.group(2)) if m else ("1", "1")
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc)) or "invalid TOML"
        raise RuleFileError(f"{name}:{line}:{col}: {msg}") from None
    try:
        rules = RuleFile.model_validate(doc).rule
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        line, col = _locate(text, loc)
        what = _describe_loc(doc, loc)
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise RuleFileError(f"{name}:{line}:{col}: {what}{msg}{more}") from None
    _cross_check(rules, text, name)
    return rules


def _cross_check(rules: list[Rule], text: str, name: str) -> None:
    seen: dict[str, int] = {}
    for i, rule in enumerate(rules):
        if rule.id in seen:
            line, col = _locate(text, ("rule", i, "id"))
            raise RuleFileError(f"{name}:{line}:{col}: rule {rule.id!r}: duplicate id (first at rule "
                                f"#{seen[rule.id] + 1})")
        seen[rule.id] = i
    for i, rule in enumerate(rules):
        for anchor in rule.anchors:
            if anchor not in seen:
                line, col = _locate(text, ("rule", i, "starts"))
                raise RuleFileError(f"{name}:{line}:{col}: rule {rule.id!r}: starts at the notice of unknown "
                                    f"rule {anchor!r}")
            if anchor == rule.id:
                line, col = _locate(text, ("rule", i, "starts"))
                raise RuleFileError(f"{name}:{line}:{col}: rule {rule.id!r}: chained to itself")


def _describe_loc(doc: Any, loc: tuple[Any, ...]) -> str:
    if len(loc) >= 2 and loc[0] == "rule" and isinstance(loc[1], int):
        try:
            rid = doc["rule"][loc[1]].get("id", f"#{loc[1] + 1}")
        except (KeyError, IndexError, AttributeError, TypeError):
            rid = f"#{loc[1] + 1}"
        field = ".".join(str(p) for p in loc[2:] if not isinstance(p, int))
        return f"rule {rid!r}: " + (f"{field}: " if field else "")
    return ".".join(str(p) for p in loc) + ": " if loc else ""


def _locate(text: str, loc: tuple[Any, ...]) -> tuple[int, int]:
    """Line and column (1-based) of the key that `loc` names, found by scanning the TOML text."""
    lines = text.splitlines()
    header = re.compile(r"^\s*\[\[\s*rule\s*\]\]\s*(#.*)?$")
    starts = [i for i, line in enumerate(lines) if header.match(line)]
    if not loc or loc[0] != "rule" or len(loc) < 2 or not isinstance(loc[1], int):
        key = str(loc[0]) if loc else ""
        for i, line in enumerate(lines[: starts[0] if starts else len(lines)]):
            m = re.match(rf"^(\s*){re.escape(key)}\s*=", line)
            if key and m:
                return i + 1, len(m.group(1)) + 1
        return 1, 1
    idx = loc[1]
    if idx >= len(starts):
        return (starts[-1] + 1 if starts else 1), 1
    begin = starts[idx]
    end = starts[idx + 1] if idx + 1 < len(starts) else len(lines)
    keys = [str(p) for p in loc[2:] if not isinstance(p, int)]
    if not keys:
        return begin + 1, 1
    # A sub-table header ([rule.threshold]) first, then the key inside it.
    table_line = begin
    lo, hi = begin, end
    if len(keys) > 1:
        sub = re.compile(rf"^\s*\[\s*rule\s*\.\s*{re.escape(keys[0])}\s*\]")
        for i in range(begin, end):
            if sub.match(lines[i]):
                table_line, lo = i, i + 1
                hi = next((j for j in range(i + 1, end) if lines[j].lstrip().startswith("[")), end)
                keys = keys[1:]
                break
    else:
        hi = next((j for j in range(begin + 1, end) if lines[j].lstrip().startswith("[")), end)
    key_re = re.compile(rf"^(\s*){re.escape(keys[0])}\s*=")
    for i in range(lo, hi):
        m = key_re.match(lines[i])
        if m:
            return i + 1, len(m.group(1)) + 1
    return table_line + 1, 1


# -- day counting -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Place:
    """Where a rule's days are counted: an IANA time zone and a `holidays` calendar code."""

    timezone: str
    calendar: str


def rule_place(rule: Rule, eu_member_state: str | None = None) -> Place:
    if rule.code == "EU" and eu_member_state in EU_MEMBER_STATES:
        return Place(EU_MEMBER_STATES[eu_member_state], eu_member_state)
    return Place(rule.timezone, rule.calendar)


def _end_of_day(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=tz).astimezone(UTC)


def _add_months(day: date, months: int) -> date:
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))


def due_with_basis(rule: Rule, start: datetime, place: Place | None = None) -> tuple[datetime | None, str]:
    """When `rule` falls due for a clock started at `start`, and how that was counted (for the record)."""
    start = ensure_utc(start)
    place = place or rule_place(rule)
    tz = ZoneInfo(place.timezone)
    local = start.astimezone(tz)
    n = rule.period
    if n is None:
        return None, f"no fixed period ({rule.period_text()}): elapsed time is shown, not a countdown"
    if rule.day_kind == "hours":
        due = start + timedelta(hours=n)
        return due, f"{n} hours after {format_instant(start)}, counted continuously (UTC; DST and weekends " \
                    "do not move it)"
    if rule.day_kind == "calendar":
        last = local.date() + timedelta(days=n)
        return _end_of_day(last, tz), (
            f"{n} calendar days after {local.date().isoformat()} ({place.timezone}); ends 23:59:59 local "
            f"on {last.isoformat()}"
        )
    if rule.day_kind == "months":
        last = _add_months(local.date(), n)
        return _end_of_day(last, tz), (
            f"{n} month{'s' if n != 1 else ''} after {local.date().isoformat()} ({place.timezone}); ends "
            f"23:59:59 local on {last.isoformat()}"
        )
    day, counted, skipped = local.date(), 0, []
    while counted < n:
        day += timedelta(days=1)
        name = holiday_name(place.calendar, day)
        if day.weekday() >= 5:
            continue
        if name:
            skipped.append(f"{day.isoformat()} {name}")
            continue
        counted += 1
    holidays_text = f"; holidays skipped: {', '.join(skipped)}" if skipped else ""
    return _end_of_day(day, tz), (
        f"{n} business days after {local.date().isoformat()} ({place.timezone}, {place.calendar} holidays and "
        f"weekends skipped); ends 23:59:59 local on {day.isoformat()}{holidays_text}"
    )


def year_end_start(rule: Rule, discovered: datetime) -> tuple[datetime, str]:
    """Annual-log rules (HIPAA, FTC HBNR under 500) count from the end of the calendar year of discovery."""
    tz = ZoneInfo(rule.timezone)
    year = discovered.astimezone(tz).year
    return _end_of_day(date(year, 12, 31), tz), f"end of {year}, the calendar year of discovery"


def compute_due(rule: Rule, start: datetime, place: Place | None = None) -> datetime | None:
    """The UTC due time of `rule` for a clock started at `start`, or None when the law sets no period."""
    return due_with_basis(rule, start, place)[0]


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


# -- applicability --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Verdict:
    in_play: bool  # worth showing at all (residence, sector, category for no-residence rules)
    applicable: bool
    reason: str


def _verdict(rule: Rule, facts: IncidentFacts, overrides: Mapping[str, Override]) -> _Verdict:
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
    if not rule.in_force:
        return _Verdict(True, False, f"not in force: {rule.in_force_note or 'no effective date'}")
    when = facts.discovery()
    if rule.effective_from and when and when.date() < rule.effective_from:
        return _Verdict(True, False, f"applies to breaches discovered from {rule.effective_from.isoformat()}; "
                                     f"this one was discovered {when.date().isoformat()}")
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
            reasons.append(f"{n:,} {who} is below {th.describe()}, but the other limbs may apply ({th.text}); "
                           "assumed met, exclude with a justification if not")
    elif th.text:
        reasons.append(f"test assumed met: {th.text}")
    return _Verdict(True, True, "; ".join(reasons) or "applies")


def _verdicts(
    facts: IncidentFacts, rules: Sequence[Rule], overrides: Mapping[str, Override]
) -> dict[str, _Verdict]:
    """Per-rule verdicts, with chained rules applicable only while one of their anchors is."""
    out = {r.id: _verdict(r, facts, overrides) for r in rules}
    by_id = {r.id: r for r in rules}

    def resolve(rid: str, seen: frozenset[str]) -> _Verdict:
        v, rule = out[rid], by_id[rid]
        if not v.applicable or not rule.anchors or rid in overrides or rid in seen:
            return v
        live = [a for a in rule.anchors if a in out and resolve(a, seen | {rid}).applicable]
        if not live:
            return _Verdict(v.in_play, False, f"follows the notice under {' or '.join(rule.anchors)}, "
                                              "which does not apply")
        return v

    return {rid: resolve(rid, frozenset()) for rid in out}


def applicable_rules(
    facts: IncidentFacts, rules: Sequence[Rule], overrides: Mapping[str, Override] | None = None
) -> list[tuple[Rule, str]]:
    """The rules whose clocks run for this incident, each with the reason it applies."""
    verdicts = _verdicts(facts, rules, overrides or {})
    return [(r, verdicts[r.id].reason) for r in rules if verdicts[r.id].applicable]


# -- timers -------------------------------------------------------------------------------------------------------


class Timer(BaseModel):
    """One clock as a responder sees it. Seconds are whole; times are RFC 3339 (due_local with offset)."""

    rule: str
    jurisdiction: str
    code: str
    recipient: str
    citation: str
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


def _fact_start(rule: Rule, facts: IncidentFacts) -> tuple[datetime | None, str]:
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
        return (disc, f"discovery = {disc_basis} {format_instant(disc)}") if disc else (None, "no detection "
                                                                                        "time recorded")
    if ev == "awareness":
        return chain("aware", (facts.detected, "detected"))
    if ev == "determination":
        return chain("breach_determined", (facts.aware, "aware"), (facts.detected, "detected"))
    if ev == "confirmation":
        return chain("confirmed", (facts.breach_determined, "breach_determined"), (facts.aware, "aware"),
                     (facts.detected, "detected"))
    if ev == "scope":
        return chain("scoped", (facts.aware, "aware"), (facts.detected, "detected"))
    if ev == "materiality":
        if facts.determination is None:
            since = f" (discovery was {format_instant(disc)})" if disc else ""
            return None, "no SEC materiality determination recorded; it must be made without unreasonable " \
                         f"delay after discovery{since}"
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


def _apply_holds(rule: Rule, start: datetime, place: Place, holds: Sequence[LawEnforcementHold],
                 now: datetime) -> tuple[datetime | None, str, LawEnforcementHold | None, timedelta | None]:
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
                    c.due, c.basis, c.held, c.frozen_remaining = _apply_holds(rule, first.at, place, facts.holds,
                                                                              now)
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
                        c.due, c.basis = lead.due, f"due {verb} the {label} notice, itself due " \
                                                   f"{format_instant(lead.due)}"  # type: ignore[arg-type]
                        c.held, c.frozen_remaining = lead.held, lead.frozen_remaining
                    elif started:
                        lead = min(started, key=lambda b: b.start or now)
                        c.start, c.start_basis = lead.start, lead.start_basis
                        c.basis = f"due {verb} the {label} notice, which has no fixed period"
                    else:
                        c.pending = f"due {verb} the {label} notice, whose clock has not started"
        else:
            start, start_basis = _fact_start(rule, facts)
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
    verdicts = _verdicts(facts, rules, overrides)
    clocks = _clocks(facts, rules, verdicts, notifications, now)
    result: list[Timer] = []
    for rule in rules:
        v = verdicts[rule.id]
        if not v.in_play and rule.id not in notifications:
            continue
        place = rule_place(rule, facts.eu_member_state)
        tz = ZoneInfo(place.timezone)
        t = Timer(
            rule=rule.id, jurisdiction=rule.jurisdiction, code=rule.code, recipient=rule.recipient,
            citation=rule.citation, state="not_applicable", timezone=place.timezone, period=rule.period_text(),
            starts=rule.starts + ("" if rule.relation == "after" else f" ({rule.relation})"), reason=v.reason,
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
            t.target = _duration_text(target)
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
            t.state = "overdue" if left < timedelta(0) else "due_4h" if left <= DUE_4H else (
                "due_24h" if left <= DUE_24H else "on_track")
        result.append(t)
    result.sort(key=lambda t: (STATE_ORDER[t.state], t.due_utc or t.projected_due_utc or "~", t.rule))
    return result


def find_rule(rules: Sequence[Rule], rule_id: str) -> Rule:
    for rule in rules:
        if rule.id == rule_id:
            return rule
    close = [r.id for r in rules if rule_id.lower() in r.id]
    hint = f"; did you mean {', '.join(close[:5])}?" if close else "; `warroom deadlines rules` lists them"
    raise NotFoundError(f"no deadline rule {rule_id!r}{hint}")


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
        code = normalise_code(key.split(".", 1)[1])
        if not re.fullmatch(r"(EU|[A-Z]{2}(-[A-Z0-9]{1,3})?)", code):
            raise UsageError(f"facts {key}: {code!r} is not a jurisdiction code (examples: US-TX, GB, BR, DE, EU)")
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
        unknown = [i for i in items if i not in vocab]
        if unknown:
            raise UsageError(f"facts {key}: unknown {', '.join(unknown)}; known: {', '.join(vocab)}")
        return key, sorted(set(items))
    if key.startswith("target."):
        rid = key.split(".", 1)[1]
        if rid != "default" and rules is not None:
            rule = find_rule(rules, rid)
            if rule.fixed:
                raise UsageError(f"facts {key}: rule {rid} has a fixed period ({rule.period_text()}); targets are "
                                 "for rules without one")
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


def facts_from_state(state: Mapping[str, Any], incident: Mapping[str, Any] | None = None,
                     holds: Mapping[str, Any] | None = None) -> IncidentFacts:
    """Build IncidentFacts from the derived-state namespaces ('facts', 'incident', 'deadline.holds')."""
    incident = incident or {}
    data: dict[str, Any] = {"residents": {}, "targets": {}}
    for key in FACT_TIMES:
        value = state.get(key, incident.get(key) if key in ("detected", "aware") else None)
        if value is not None:
            data[key] = parse_instant(value)
    for key, value in state.items():
        if key.startswith("residents."):
            data["residents"][key.split(".", 1)[1]] = int(value)
        elif key.startswith("target."):
            data["targets"][key.split(".", 1)[1]] = timedelta(seconds=int(value))
    data["categories"] = list(state.get("categories") or [])
    data["sectors"] = list(state.get("sectors") or [])
    data["eu_member_state"] = state.get("eu_member_state")
    data["holds"] = [LawEnforcementHold.model_validate(h) for h in (holds or {}).values()]
    return IncidentFacts.model_validate(data)


def set_fact(journal: Any, key: str, value: str, actor: str, rules: Sequence[Rule] | None = None) -> Any | None:
    """Validate and journal one `facts.set` (with its previous value); None when the value is unchanged.

    What `warroom facts set KEY VALUE` and exercise injects record. A `detected` or `aware` time taken from the
    incident record is corrected, never cleared.
    """
    state_key, parsed = parse_fact(key, value, rules)
    previous = journal.get_state("facts", state_key)
    if previous is None and state_key in ("detected", "aware"):
        previous = journal.get_state("incident", state_key)  # set when the incident was declared
        if parsed is None and previous is not None:
            raise UsageError(f"{state_key} comes from the incident record ({previous}); set a corrected time "
                             "instead of clearing it")
    if previous == parsed:
        return None
    return journal.append("facts.set", {"key": state_key, "value": parsed, "previous": previous}, actor)


# -- projectors (registered in app/projections.py) ----------------------------------------------------------------


def project_fact(entry: Any, get: Any) -> Iterable[tuple[str, str, Any]]:
    yield "facts", entry.data["key"], entry.data.get("value")


def project_override(entry: Any, get: Any) -> Iterable[tuple[str, str, Any]]:
    d = entry.data
    if d["action"] == "clear":
        yield "deadline.overrides", d["rule"], None
        return
    yield "deadline.overrides", d["rule"], {
        "rule": d["rule"], "action": d["action"], "justification": d["justification"],
        "actor": entry.actor, "at": entry.recorded_utc,
    }


def project_notification(entry: Any, get: Any) -> Iterable[tuple[str, str, Any]]:
    d = entry.data
    current = get("notifications", d["rule"]) or {"rule": d["rule"], "sends": []}
    current["sends"] = [*current["sends"], {"at": d["at"], "evidence_id": d["evidence_id"], "actor": entry.actor,
                                            "seq": entry.seq}]
    yield "notifications", d["rule"], current


def project_pause(entry: Any, get: Any) -> Iterable[tuple[str, str, Any]]:
    d = entry.data
    yield "deadline.holds", d["hold_id"], {
        "hold_id": d["hold_id"], "start": d["at"], "end": None, "rules": d.get("rules"),
        "requested_by": d["requested_by"], "justification": d["justification"],
    }


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
    return facts_from_state(journal.state("facts"), journal.state("incident"), journal.state("deadline.holds"))


def incident_overrides(journal: Any) -> dict[str, Override]:
    return {k: Override.model_validate(v) for k, v in journal.state("deadline.overrides").items()}


def incident_notifications(journal: Any) -> dict[str, Notification]:
    out: dict[str, Notification] = {}
    for rid, value in journal.state("notifications").items():
        sends = value.get("sends") or []
        if not sends:
            continue
        first = min(sends, key=lambda s: parse_instant(s["at"]))
        out[rid] = Notification(rule=rid, at=parse_instant(first["at"]), evidence_id=first["evidence_id"],
                                actor=first.get("actor", ""))
    return out


def incident_timers(journal: Any, now: datetime, rules: Sequence[Rule] | None = None) -> list[Timer]:
    """All timers of an incident at `now`: facts, overrides and notices read from its journal."""
    rules = rules if rules is not None else load_rules()
    return timers(incident_facts(journal), rules, incident_overrides(journal), incident_notifications(journal), now)
