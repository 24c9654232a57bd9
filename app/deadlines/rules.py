"""The jurisdiction rule file: its model, loading with FILE:LINE:COL errors, and lookup by id."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, timedelta
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from app.base.errors import NotFoundError, WarroomError
from app.base.files import read_text_limited
from app.base.limits import MAX_TOML_BYTES
from app.base.tomlfile import TomlDocument, TomlFileError, TomlInvalid, parse_toml
from app.deadlines.days import check_calendar, parse_duration
from app.deadlines.vocab import CATEGORIES, SECTORS, START_EVENTS

RULES_PATH = Path(__file__).resolve().parent.parent / "data" / "rules.toml"


class RuleFileError(WarroomError):
    """The rule file is malformed; the message is FILE:LINE:COL: what is wrong."""


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
    """Sector and data-category gates (any listed value matches); `unless_categories`: a recorded one of these
    means another rule takes this one's place; `residents`: residence decides."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sectors: list[Annotated[str, AfterValidator(_check_sector)]] = []
    categories: list[Annotated[str, AfterValidator(_check_category)]] = []
    unless_categories: list[Annotated[str, AfterValidator(_check_category)]] = []
    residents: bool = True


class RuleVersion(BaseModel):
    """An earlier text of a rule: what differed, the period it was in force, and its own citation and source.

    Fields not given are the later version's. The timing fields go together: a version that gives `day_kind`
    gives its `period` too (none when absent)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    effective_from: date | None = None
    effective_to: date
    amended_by: str | None = None
    citation: str
    source: str = Field(pattern=r"^https?://")
    confidence: Literal["high", "medium", "low"]
    notes: str = ""
    regime: str | None = None
    standard: (
        Literal["fixed", "without_undue_delay", "as_soon_as_practicable", "most_expedient", "not_stated"] | None
    ) = None
    period: int | None = Field(default=None, gt=0)
    day_kind: Literal["hours", "calendar", "business", "months", "none"] | None = None
    starts: Annotated[str, AfterValidator(_check_starts)] | None = None
    relation: Literal["after", "with", "before"] | None = None
    starts_note: str | None = None
    threshold: Threshold | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> RuleVersion:
        if self.effective_from is not None and self.effective_from > self.effective_to:
            raise ValueError(f"effective_from {self.effective_from} is after effective_to {self.effective_to}")
        if self.period is not None and self.day_kind is None:
            raise ValueError("a period needs its day_kind")
        return self


class Rule(BaseModel):
    """One notice a jurisdiction requires, as its text stands in the version this object holds.

    `effective_from`/`effective_to` bound the days this version is in force (inclusive; None = open). A rule
    that changed keeps its earlier texts in `earlier` (oldest first); `versions()` gives every text as a Rule
    and `version_on(day)` the one in force on a day."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    jurisdiction: str
    code: str = Field(pattern=r"^(GLOBAL|EU|[A-Z]{2}(-[A-Z0-9]{1,3})?)$")
    regime: str
    citation: str
    recipient: Literal["individuals", "regulator", "attorney_general", "consumer_reporting_agencies", "other"]
    standard: Literal["fixed", "without_undue_delay", "as_soon_as_practicable", "most_expedient", "not_stated"]
    period: int | None = Field(default=None, gt=0)
    day_kind: Literal["hours", "calendar", "business", "months", "none"]
    starts: Annotated[str, AfterValidator(_check_starts)]
    relation: Literal["after", "with", "before"] = "after"
    starts_note: str | None = None
    timezone: Annotated[str, AfterValidator(_check_timezone)]
    calendar: Annotated[str, AfterValidator(check_calendar)]
    target: Annotated[str, AfterValidator(_check_duration)] | None = None
    law_enforcement_delay: bool = False
    effective_from: date | None = None
    effective_to: date | None = None
    amended_by: str | None = None
    in_force: bool = True
    in_force_note: str | None = None
    confidence: Literal["high", "medium", "low"]
    source: str = Field(pattern=r"^https?://")
    notes: str = ""
    threshold: Threshold
    applies_when: AppliesWhen = AppliesWhen()
    earlier: list[RuleVersion] = []

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
        if self.effective_from and self.effective_to and self.effective_from > self.effective_to:
            raise ValueError(f"effective_from {self.effective_from} is after effective_to {self.effective_to}")
        later_from = self.effective_from
        for i, old in enumerate(reversed(self.earlier)):
            if later_from is None:
                raise ValueError("an earlier version needs the later one to say when it took effect (effective_from)")
            if old.effective_to + timedelta(days=1) != later_from:
                raise ValueError(
                    f"earlier[{len(self.earlier) - 1 - i}] ends {old.effective_to} but the next version starts "
                    f"{later_from}; versions must follow each other day by day, oldest first"
                )
            later_from = old.effective_from
        return self

    @cached_property
    def _versions(self) -> tuple[Rule, ...]:
        out: list[Rule] = []
        base = self.model_dump(exclude={"earlier"})
        for old in self.earlier:
            data = {**base, **old.model_dump(exclude_none=True)}
            if old.day_kind is not None:
                data["period"] = old.period
            if old.starts is not None:
                data["relation"] = old.relation or "after"
                data["starts_note"] = old.starts_note
            if old.threshold is None:
                data["threshold"] = base["threshold"]
            data.setdefault("amended_by", None)
            if old.amended_by is None:
                data["amended_by"] = None
            if old.effective_from is None:
                data["effective_from"] = None
            out.append(Rule.model_validate(data))
        out.append(self.model_copy(update={"earlier": []}) if self.earlier else self)
        return tuple(out)

    def versions(self) -> tuple[Rule, ...]:
        """Every text of this rule as a Rule, oldest first; the last is the current one."""
        return self._versions

    def in_force_on(self, day: date) -> bool:
        """Whether this version's text is in force on `day` (a proposal never is)."""
        return (
            self.in_force
            and (self.effective_from is None or day >= self.effective_from)
            and (self.effective_to is None or day <= self.effective_to)
        )

    def version_on(self, day: date) -> Rule | None:
        """The version in force on `day`, or None when none of the texts is."""
        return next((v for v in reversed(self.versions()) if v.in_force_on(day)), None)

    def nearest_version(self, day: date) -> Rule:
        """The version in force on `day`, else the first one (day before it) or the last one (after)."""
        found = self.version_on(day)
        if found is not None:
            return found
        first = self.versions()[0]
        return first if first.effective_from is not None and day < first.effective_from else self.versions()[-1]

    def version_label(self) -> str:
        """'in force from 2026-01-01', 'in force 2012-01-01 to 2025-12-31', 'in force until 2025-12-31'..."""
        by = f" ({self.amended_by})" if self.amended_by else ""
        if not self.in_force:
            return f"not in force: {self.in_force_note or 'no effective date'}"
        if self.effective_from and self.effective_to:
            return f"in force {self.effective_from} to {self.effective_to}{by}"
        if self.effective_from:
            return f"in force from {self.effective_from}{by}"
        if self.effective_to:
            return f"in force until {self.effective_to} (earlier history not recorded){by}"
        return "in force (no amendment recorded)"

    @property
    def anchors(self) -> tuple[str, ...]:
        return tuple(self.starts[7:].split("|")) if self.starts.startswith("notice:") else ()

    @property
    def fixed(self) -> bool:
        return self.period is not None

    def period_text(self) -> str:
        if self.period is None:
            return "no time stated" if self.standard == "not_stated" else self.standard.replace("_", " ")
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
        text = read_text_limited(path, MAX_TOML_BYTES, "rule file")
    except WarroomError as exc:
        raise RuleFileError(f"cannot read rule file: {exc}") from None
    return parse_rules(text, str(path))


def parse_rules(text: str, name: str = "<rules>") -> list[Rule]:
    try:
        doc = parse_toml(text, name)
        rules = doc.validate(RuleFile).rule
    except (TomlFileError, TomlInvalid) as exc:
        raise RuleFileError(str(exc)) from None
    _cross_check(rules, doc)
    return rules


def _cross_check(rules: list[Rule], doc: TomlDocument) -> None:
    seen: dict[str, int] = {}
    for i, rule in enumerate(rules):
        if rule.id in seen:
            raise RuleFileError(
                str(doc.problem(("rule", i, "id"), f"duplicate id {rule.id!r} (first at rule #{seen[rule.id] + 1})"))
            )
        seen[rule.id] = i
    for i, rule in enumerate(rules):
        for anchor in rule.anchors:
            if anchor not in seen:
                raise RuleFileError(
                    str(doc.problem(("rule", i, "starts"), f"starts at the notice of unknown rule {anchor!r}"))
                )
            if anchor == rule.id:
                raise RuleFileError(str(doc.problem(("rule", i, "starts"), f"rule {rule.id!r} is chained to itself")))


def find_rule(rules: Sequence[Rule], rule_id: str) -> Rule:
    for rule in rules:
        if rule.id == rule_id:
            return rule
    close = [r.id for r in rules if rule_id.lower() in r.id]
    hint = f"; did you mean {', '.join(close[:5])}?" if close else "; `warroom deadlines rules` lists them"
    raise NotFoundError(f"no deadline rule {rule_id!r}{hint}")
