"""A script file: the actions a scripted responder takes at T+offsets, validated, with FILE:LINE:COL errors.

Each action names what a responder does (`do = "checklist.set"`, `"contain"`, `"notify.sent"` ...) and when;
`app/exercise/script.py` plays them. Actions may label what they produce (`label = "snapshot"`) and later
actions refer to it as `@snapshot` wherever an evidence id is expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.base.errors import NotFoundError
from app.base.files import present, user_path
from app.base.tomlfile import did_you_mean
from app.checklist import parse_duration
from app.exercise.runner import (
    PRIMARY_ORG,
    LoadedScenario,
    located,
    read_toml,
    scenarios_dir,
    validation_error,
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _dur(value: str) -> str:
    parse_duration(value)
    return value


class _Action(_Strict):
    at: Annotated[str, Field(min_length=2)]
    actor: str | None = None
    label: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_-]*$")

    @property
    def offset(self) -> timedelta:
        return parse_duration(self.at)


class Note(_Action):
    do: Literal["note"]
    text: str = Field(min_length=1)


class IncidentUpdate(_Action):
    do: Literal["incident.update"]
    fields: dict[Literal["severity", "commander", "status", "title"], str]


class ChecklistSet(_Action):
    do: Literal["checklist.set"]
    item: str
    state: str = "done"
    note: str | None = None
    evidence: list[str] = Field(default_factory=list)


class FactsSet(_Action):
    do: Literal["facts.set"]
    key: str
    value: str  # as `warroom facts set`; times may be offsets (T+PT1H)


class DeadlinesOverride(_Action):
    do: Literal["deadlines.override"]
    rule: str
    decision: Literal["include", "exclude", "reset"]  # as `warroom deadlines include|exclude|reset`
    justification: str = Field(min_length=1)


class DeadlinesDecision(_Action):
    """`deadlines.include|exclude|reset`, as the CLI commands of those names (and the console's keys)."""

    do: Literal["deadlines.include", "deadlines.exclude", "deadlines.reset"]
    rule: str
    justification: str = Field(min_length=1)

    @property
    def decision(self) -> Literal["include", "exclude", "reset"]:
        return self.do.split(".", 1)[1]  # type: ignore[return-value]


class DeadlinesPause(_Action):
    do: Literal["deadlines.pause"]
    requested_by: str = Field(min_length=1)
    justification: str = Field(min_length=1)
    rules: list[str] = Field(default_factory=list)  # empty: every rule that allows a law-enforcement delay
    began: str | None = None  # ISO 8601 or offset (T+PT2H); default: now


class DeadlinesResume(_Action):
    do: Literal["deadlines.resume"]
    hold: str  # a hold id, or @label of the pause
    justification: str = Field(min_length=1)
    ended: str | None = None  # ISO 8601 or offset; default: now


class EvidenceAdd(_Action):
    do: Literal["evidence.add"]
    name: str = Field(min_length=1)
    text: str
    note: str | None = None


class Custody(_Action):
    do: Literal["evidence.custody"]
    evidence: str
    action: str
    to_party: str | None = None
    purpose: str | None = None


class InventoryPull(_Action):
    do: Literal["inventory.pull"]
    org: str = PRIMARY_ORG


class Collect(_Action):
    do: Literal["collect"]
    org: str = PRIMARY_ORG
    sources: list[str] = Field(default_factory=list)  # empty: every source
    since: str | None = None  # ISO 8601 instant or offset (T-P30D)


class Hunt(_Action):
    do: Literal["hunt"]
    indicators: list[str] = Field(min_length=1)  # shipped names (chat-vendor-theft) or paths


class Contain(_Action):
    do: Literal["contain"]
    action: str
    org: str = PRIMARY_ORG
    app: str | None = None
    user: str | None = None
    integration_users: bool = False
    objects: list[str] = Field(default_factory=list)  # strip_permissions: objects known to have been exported
    confirm: str  # the org alias typed back, as `warroom contain apply --confirm`
    approver: str | None = None  # approval journaled by this person before the executor applies


class ContainTask(_Action):
    do: Literal["contain.task"]
    task: str = "all-open"  # a task id, or every open manual task
    evidence: str
    note: str | None = None


class NotifyDetail(_Action):
    do: Literal["notify.detail"]
    key: str
    value: str


class NotifyDraft(_Action):
    do: Literal["notify.draft"]
    rule: str


class NotifySent(_Action):
    do: Literal["notify.sent"]
    rule: str
    evidence: str
    sent_at: str | None = None  # ISO 8601 or offset; default: now


class MonitorStart(_Action):
    do: Literal["monitor.start"]
    days: int = Field(default=28, ge=1, le=365)
    org: str = PRIMARY_ORG


class MonitorRun(_Action):
    """`warroom monitor run` on the window's org; `expect_alerts` are alert types this run must raise (the action
    fails, journaled as any failed action, when one is missing)."""

    do: Literal["monitor.run"]
    expect_alerts: list[str] = Field(default_factory=list)


class Ack(_Action):
    do: Literal["exercise.ack"]
    inject: str = "all"
    note: str | None = None


class Checkpoint(_Action):
    do: Literal["journal.checkpoint"]
    reason: str = "scripted checkpoint"


class Anchor(_Action):
    do: Literal["journal.anchor"]
    method: str = "read aloud to the facilitator"


Action = Annotated[
    Note
    | IncidentUpdate
    | ChecklistSet
    | FactsSet
    | DeadlinesOverride
    | DeadlinesDecision
    | DeadlinesPause
    | DeadlinesResume
    | EvidenceAdd
    | Custody
    | InventoryPull
    | Collect
    | Hunt
    | Contain
    | ContainTask
    | NotifyDetail
    | NotifyDraft
    | NotifySent
    | MonitorStart
    | MonitorRun
    | Ack
    | Checkpoint
    | Anchor,
    Field(discriminator="do"),
]


ACTION_NAMES: tuple[str, ...] = tuple(
    name for model in get_args(get_args(Action)[0]) for name in get_args(model.model_fields["do"].annotation)
)


class Script(_Strict):
    schema_version: int = Field(alias="schema")
    scenario: str
    title: str = Field(min_length=1)
    description: str = ""
    actor: str = Field(min_length=1)
    actions: list[Action] = Field(min_length=1)


@dataclass
class LoadedScript:
    script: Script
    path: Path
    sha256: str

    def record(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "sha256": self.sha256,
            "title": self.script.title,
            "actions": len(self.script.actions),
        }

    def indicator_file(self, name: str) -> Path:
        """A `hunt` indicator file: a path relative to this script's own file, or a shipped name."""
        return indicator_file(self.path.parent, name)


def indicator_file(base: Path, name: str) -> Path:
    """`name` relative to `base` (the script's directory) when it is a path, else a shipped indicator file."""
    from app.hunt import find_indicator_file

    p = Path(name).expanduser()
    candidate = p if p.is_absolute() else base / p
    if candidate.exists() or p.suffix or len(p.parts) > 1:
        if not candidate.exists():
            raise NotFoundError(f"{candidate}: no such indicator file (a path here is relative to the script file)")
        return candidate
    return find_indicator_file(name)


def resolve_script(name: str | Path) -> Path:
    p = user_path(name)
    if present(p, file=True):
        return p
    shipped = scenarios_dir() / f"{name}.script.toml"
    if present(shipped, file=True):
        return shipped
    raise NotFoundError(f"script file {p} does not exist")


def load_script(name: str | Path, scenario: LoadedScenario | None = None) -> LoadedScript:
    """Read and validate a script; errors name FILE:LINE:COL. With `scenario`, the pairing is checked too."""
    path = resolve_script(name)
    doc = read_toml(path)
    actions = doc.data.get("actions")
    for i, raw in enumerate(actions if isinstance(actions, list) else []):
        do = raw.get("do") if isinstance(raw, dict) else None
        if isinstance(do, str) and do not in ACTION_NAMES:
            raise located(doc, ("actions", i, "do"), f"unknown action {do!r}{did_you_mean(do, ACTION_NAMES)}")
    try:
        script = Script.model_validate(doc.data)
    except ValidationError as exc:
        raise validation_error(doc, Script, exc) from None
    if script.schema_version != 1:
        raise located(doc, ("schema",), f"schema {script.schema_version} is not supported")
    for i, action in enumerate(script.actions):
        try:
            parse_duration(action.at)
        except ValueError as exc:
            raise located(doc, ("actions", i, "at"), str(exc)) from None
    if scenario is not None:
        if script.scenario != scenario.name:
            raise located(
                doc,
                ("scenario",),
                f"this script plays scenario {script.scenario!r}, not {scenario.name!r}",
            )
        length = scenario.scenario.length
        for i, action in enumerate(script.actions):
            if action.offset > length:
                raise located(
                    doc,
                    ("actions", i, "at"),
                    f"T+{action.at} is after the end of the exercise ({scenario.scenario.duration})",
                )
    from app.exercise.scriptcheck import check_actions

    loaded = LoadedScript(script, path.resolve(), doc.sha256)
    check_actions(doc, loaded, scenario)
    return loaded
