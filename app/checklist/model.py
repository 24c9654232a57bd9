"""The checklist's vocabulary and models: item states, durations, the TOML schema (pydantic), the merged
`Checklist` and the located problems a broken file reports."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.base.clock import MAX_DURATION, check_duration
from app.base.errors import NotFoundError, UsageError, WarroomError
from app.base.tomlfile import TomlProblem
from app.checklist import controls as catalogue

BUILTIN = "builtin"
SCHEMA_VERSION = 1
STATE_KIND = "checklist.state"
SOURCE_KIND = "checklist.source"
NAMESPACE = "checklist"
SOURCE_NAMESPACE = "checklist_source"

# Containment actions an item may trigger; app/containment/execute.py implements them under these names.
CONTAINMENT_ACTIONS: tuple[str, ...] = (
    "revoke_tokens",
    "end_sessions",
    "freeze_users",
    "deactivate_users",
    "strip_permissions",
    "quarantine_org",
)

# What may close an item: an entry the console journals, a file in the evidence store, a person's statement.
EVIDENCE_KINDS: tuple[str, ...] = ("journal", "file", "attestation")


class ItemState(StrEnum):
    TODO = "todo"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    BLOCKED = "blocked"
    NOT_APPLICABLE = "not_applicable"


OPEN_STATES = frozenset({ItemState.TODO, ItemState.IN_PROGRESS, ItemState.BLOCKED})
_STATE_ALIASES = {"n/a": ItemState.NOT_APPLICABLE, "na": ItemState.NOT_APPLICABLE}


def parse_state(text: str | ItemState) -> ItemState:
    """Accept `in-progress`, `in_progress`, `n/a` ...; the error lists the states."""
    if isinstance(text, ItemState):
        return text
    norm = text.strip().lower()
    if norm in _STATE_ALIASES:
        return _STATE_ALIASES[norm]
    try:
        return ItemState(re.sub(r"[\s-]+", "_", norm))
    except ValueError:
        raise UsageError(f"unknown state {text!r}; use one of: " + ", ".join(s.value for s in ItemState)) from None


# -- durations ------------------------------------------------------------------------------------------

_DURATION = re.compile(
    r"P(?:(?P<weeks>\d+)W|(?:(?P<days>\d+)D)?(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?"
    r"(?:(?P<seconds>\d+)S)?)?)"
)


def parse_duration(text: str) -> timedelta:
    """An ISO 8601 duration of weeks, days, hours, minutes, seconds (PT15M, PT1H, P2D, P1DT12H, P4W).

    Years and months are refused: they have no fixed length, and a due time must not depend on the calendar.
    """
    m = _DURATION.fullmatch(text) if len(text) <= 40 else None
    if m and any(v is not None for v in m.groupdict().values()):
        g = {k: int(v) for k, v in m.groupdict().items() if v is not None}
        try:
            return check_duration(
                timedelta(
                    weeks=g.get("weeks", 0),
                    days=g.get("days", 0),
                    hours=g.get("hours", 0),
                    minutes=g.get("minutes", 0),
                    seconds=g.get("seconds", 0),
                )
            )
        except (OverflowError, ValueError):
            raise ValueError(f"duration {text!r} is longer than the {MAX_DURATION.days} days allowed") from None
    date_part = text.split("T", 1)[0]
    if text.startswith("P") and ("Y" in date_part or "M" in date_part):
        raise ValueError(
            f"bad duration {text!r}: years and months have no fixed length; write days or weeks (e.g. P30D)"
        )
    raise ValueError(f"bad duration {text!r}: expected ISO 8601 such as PT15M, PT1H, P2D, P1DT12H or P4W")


def format_duration(delta: timedelta) -> str:
    """Short human form for the console: 45m, 2h, 1d 4h, -30m."""
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{minutes}m" if minutes else ""]
    text = " ".join(p for p in parts if p) or "0m"
    return sign + text


# -- models ---------------------------------------------------------------------------------------------

_ID_RE = re.compile(r"[a-z][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*")


def _check_id(value: str) -> str:
    if not _ID_RE.fullmatch(value):
        raise ValueError(
            f"bad id {value!r}: use lowercase letters, digits, '-' and '_' in dot-separated parts "
            "(e.g. contain.revoke-tokens)"
        )
    return value


def _check_text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _check_duration(value: str) -> str:
    parse_duration(value)
    return value


def _control_check(framework: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not catalogue.is_known(framework, value):
            raise ValueError(catalogue.unknown_control_message(framework, value))
        return value

    return check


def _check_evidence(value: str) -> str:
    kind, sep, what = value.partition(":")
    if not sep or kind.strip() not in EVIDENCE_KINDS or not what.strip():
        raise ValueError(
            f"bad evidence {value!r}: write KIND: WHAT with KIND one of {', '.join(EVIDENCE_KINDS)} "
            "(e.g. 'journal: action.result revoke_tokens')"
        )
    return value


def _check_action(value: str) -> str:
    if value not in CONTAINMENT_ACTIONS:
        raise ValueError(f"unknown containment action {value!r} (known: {', '.join(CONTAINMENT_ACTIONS)})")
    return value


def _check_schema(value: int) -> int:
    if value != SCHEMA_VERSION:
        raise ValueError(f"schema {value} is not supported; this warroom reads checklist schema {SCHEMA_VERSION}")
    return value


Id = Annotated[str, AfterValidator(_check_id)]
Text = Annotated[str, AfterValidator(_check_text)]
Duration = Annotated[str, AfterValidator(_check_duration)]
EvidenceSpec = Annotated[str, AfterValidator(_check_evidence)]
ActionName = Annotated[str, AfterValidator(_check_action)]
Soc2Id = Annotated[str, AfterValidator(_control_check("soc2"))]
Iso2022Id = Annotated[str, AfterValidator(_control_check("iso27001"))]
Iso2013Id = Annotated[str, AfterValidator(_control_check("iso27001_2013"))]
CsfId = Annotated[str, AfterValidator(_control_check("nist_csf"))]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Controls(_Strict):
    """Which controls an item serves. `iso27001_2013` is only for policies still citing the 2013 ids."""

    soc2: list[Soc2Id] = Field(min_length=1)
    iso27001: list[Iso2022Id] = Field(min_length=1)
    iso27001_2013: list[Iso2013Id] = Field(default_factory=list)
    nist_csf: list[CsfId] = Field(min_length=1)

    def pairs(self) -> list[tuple[str, str]]:
        """(framework, id) for every mapping, for reports."""
        return [
            *(("soc2", c) for c in self.soc2),
            *(("iso27001", c) for c in self.iso27001),
            *(("iso27001_2013", c) for c in self.iso27001_2013),
            *(("nist_csf", c) for c in self.nist_csf),
        ]


class Phase(_Strict):
    id: Id
    title: Text
    goal: str = ""


class Item(_Strict):
    id: Id
    phase: Id
    title: Text
    why: Text
    owner: Id
    due: Duration
    depends_on: list[Id] = Field(default_factory=list)
    steps: list[Text] = Field(min_length=1)
    evidence: list[EvidenceSpec] = Field(min_length=1)
    controls: Controls
    triggers: list[ActionName] = Field(default_factory=list)

    @property
    def due_offset(self) -> timedelta:
        return parse_duration(self.due)


class ItemOverride(_Strict):
    """Keys to change on an item defined by the file this one extends."""

    id: Id
    phase: Id | None = None
    title: Text | None = None
    why: Text | None = None
    owner: Id | None = None
    due: Duration | None = None
    depends_on: list[Id] | None = None
    steps: list[Text] | None = Field(default=None, min_length=1)
    evidence: list[EvidenceSpec] | None = Field(default=None, min_length=1)
    controls: Controls | None = None
    triggers: list[ActionName] | None = None


class ChecklistFile(_Strict):
    """One TOML file as written; `Checklist` is the merged, validated result."""

    schema_version: Annotated[int, AfterValidator(_check_schema)] = Field(alias="schema")
    title: Text
    version: Text
    extends: Text | None = None
    roles: dict[Id, Text] = Field(default_factory=dict)
    phases: list[Phase] = Field(default_factory=list)
    items: list[Item] = Field(default_factory=list)
    overrides: list[ItemOverride] = Field(default_factory=list)


@dataclass(frozen=True)
class ChecklistSource:
    """One file of a (possibly layered) checklist, as read."""

    path: str  # BUILTIN for the shipped file, else the resolved path
    sha256: str
    text: str = field(repr=False)


@dataclass
class Checklist:
    title: str
    version: str
    roles: dict[str, str]
    phases: list[Phase]
    items: list[Item]
    sources: list[ChecklistSource]  # the base first, the file named by the user last

    @property
    def path(self) -> str:
        return self.sources[-1].path

    @property
    def sha256(self) -> str:
        return self.sources[-1].sha256

    def item(self, item_id: str) -> Item:
        for item in self.items:
            if item.id == item_id:
                return item
        close = difflib.get_close_matches(item_id, [i.id for i in self.items], n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else "; `warroom checklist status` lists them"
        raise NotFoundError(f"no checklist item {item_id!r}{hint}")

    def phase_items(self) -> list[tuple[Phase, list[Item]]]:
        return [(phase, [i for i in self.items if i.phase == phase.id]) for phase in self.phases]

    def control_count(self) -> int:
        return sum(len(i.controls.pairs()) for i in self.items)


# -- problems -------------------------------------------------------------------------------------------


ChecklistProblem = TomlProblem  # FILE:LINE:COL: field: message, as for every file format


class ChecklistInvalid(WarroomError):
    """A checklist file that cannot be used; `problems` holds one located message each."""

    def __init__(self, problems: Sequence[ChecklistProblem]) -> None:
        self.problems = list(problems)
        files = sorted({p.file for p in self.problems})
        count = f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}"
        super().__init__(
            f"checklist {', '.join(files)} is not usable ({count}):\n" + "\n".join(str(p) for p in self.problems)
        )
