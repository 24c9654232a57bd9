"""Tabletop scenarios: the file format (seed, starting facts, timed injects, ground truth, targets), loading with
FILE:LINE:COL errors, the shipped list, and the pure schedule and truth the engine and the score use."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from app.base import tomlfile
from app.base.clock import parse_instant
from app.base.errors import NotFoundError, UsageError, WarroomError
from app.base.files import check_input_file, present, user_path
from app.base.tomlfile import TomlDocument
from app.checklist import parse_duration

SCHEMA_VERSION = 1


PRIMARY_ORG = "sim"


InjectKind = Literal[
    "advisory",
    "vendor",
    "ioc",
    "soc",
    "helpdesk",
    "legal",
    "regulator",
    "press",
    "extortion",
    "scope",
    "executive",
    "customer",
    "other",
]
INJECT_KINDS: tuple[str, ...] = get_args(InjectKind)
_OFFSET = re.compile(r"^T(?:0|(?P<sign>[+-])(?P<dur>P\S+))$")


class ScenarioError(WarroomError):
    """A scenario or script file that cannot be played; the message names FILE:LINE:COL."""

    exit_code = 2


# -- models ---------------------------------------------------------------------------------------------------


def _duration(value: str) -> str:
    parse_duration(value)
    return value


def parse_offset(text: str) -> timedelta:
    """`T0`, `T+PT2H`, `T-P1D`: a signed offset from the exercise start (ISO 8601 durations)."""
    m = _OFFSET.fullmatch(text.strip())
    if not m:
        raise ValueError(f"bad offset {text!r}: write T0, T+PT2H or T-P1D")
    if not m.group("dur"):
        return timedelta(0)
    delta = parse_duration(m.group("dur"))
    return -delta if m.group("sign") == "-" else delta


def _instant_or_offset(value: str) -> str:
    if value.strip().startswith("T"):
        parse_offset(value)
    else:
        parse_instant(value)
    return value


def resolve_time(value: str, start: datetime) -> datetime:
    """An ISO 8601 instant, or an offset from `start` (T0, T+PT2H, T-PT6H)."""
    if value.strip().startswith("T"):
        return start + parse_offset(value)
    return parse_instant(value)


Duration = Annotated[str, AfterValidator(_duration)]
When = Annotated[str, AfterValidator(_instant_or_offset)]
_ID = r"^[a-z0-9][a-z0-9_-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TruthChange(_Strict):
    """Ground truth the score measures against (never shown to the responders during the exercise)."""

    compromised_apps: list[str] = Field(default_factory=list)  # connected-app keys of the seed
    compromised_app_names: list[str] = Field(default_factory=list)  # app names (apps not installed in the org)
    compromised_users: list[str] = Field(default_factory=list)  # user keys of the seed


class AddOrg(_Strict):
    """Start another simulated org mid-exercise (a second org turns out to be affected)."""

    alias: str = Field(pattern=_ID)
    seed: str = Field(min_length=1)


class Inject(_Strict):
    id: str = Field(pattern=_ID)
    at: Duration
    kind: InjectKind
    title: str = Field(min_length=1)
    message: str = Field(min_length=1)
    sender: str | None = None
    prompts: list[str] = Field(default_factory=list)  # checklist items a good response starts now
    expect: list[str] = Field(default_factory=list)  # what a good response does (the after-action report uses it)
    facts: dict[str, str] = Field(default_factory=dict)
    org: str = PRIMARY_ORG
    sim: dict[str, Any] | None = None  # a seed fragment added to `org`
    add_org: AddOrg | None = None
    truth: TruthChange | None = None

    @property
    def offset(self) -> timedelta:
        return parse_duration(self.at)


class ScenarioIncident(_Strict):
    title: str = Field(min_length=1)
    detected: When | None = None
    aware: When | None = None


class ScoreTargets(_Strict):
    contain_within: Duration = "PT1H"  # from the moment an app is known to be compromised


class Scenario(_Strict):
    schema_version: int = Field(alias="schema")
    name: str = Field(pattern=_ID)
    title: str = Field(min_length=1)
    description: str = Field(min_length=1)
    based_on: list[str] = Field(default_factory=list)
    seed: str = Field(min_length=1)
    start: datetime | None = None
    duration: Duration
    speed: int = Field(default=60, ge=1, le=600)
    incident: ScenarioIncident
    facts: dict[str, str] = Field(default_factory=dict)
    truth: TruthChange = Field(default_factory=TruthChange)
    targets: ScoreTargets = Field(default_factory=ScoreTargets)
    injects: list[Inject] = Field(default_factory=list)

    @property
    def length(self) -> timedelta:
        return parse_duration(self.duration)


@dataclass
class LoadedScenario:
    scenario: Scenario
    path: Path
    sha256: str

    @property
    def name(self) -> str:
        return self.scenario.name

    def seed_ref(self, seed: str) -> str | Path:
        """A shipped seed name as is; a seed file path relative to the scenario file's directory."""
        return seed_ref(self.path, seed)


def seed_ref(scenario_path: Path, seed: str) -> str | Path:
    p = Path(seed)
    if p.suffix.lower() in (".toml", ".json") and not p.is_absolute():
        return (scenario_path.parent / p).resolve()
    return seed


class ScenarioSummary(BaseModel):
    name: str
    title: str
    description: str
    seed: str
    duration: str
    injects: int
    path: str
    script: str | None = None


# -- loading --------------------------------------------------------------------------------------------------


def scenarios_dir() -> Path:
    return Path(str(resources.files("app") / "data" / "scenarios"))


def resolve_scenario(name: str | Path) -> Path:
    """A path as given, or the name of a shipped scenario (`chat-vendor-theft`)."""
    p = user_path(name)
    if p.suffix == ".toml" or present(p):
        check_input_file(p, "scenario file")  # missing, or a device, FIFO or directory, named as such
        return p
    shipped = scenarios_dir() / f"{name}.toml"
    if present(shipped, file=True):
        return shipped
    names = ", ".join(s.name for s in list_scenarios())
    raise NotFoundError(f"no scenario named {str(name)!r} (shipped: {names}; or give a .toml path)")


def read_toml(path: Path) -> TomlDocument:
    """Read and parse a scenario or script file; problems are ScenarioError at FILE:LINE:COL."""
    try:
        return tomlfile.read_toml(path)
    except tomlfile.TomlFileError as exc:
        raise ScenarioError(str(exc)) from None


def located(doc: TomlDocument, loc: Sequence[Any], message: str, *, key: bool = False) -> ScenarioError:
    return ScenarioError(str(doc.problem(tuple(loc), message, key=key)))


def validation_error(
    doc: TomlDocument, model: type[BaseModel], exc: ValidationError, prefix: Sequence[Any] = ()
) -> ScenarioError:
    return ScenarioError(str(tomlfile.TomlInvalid(tomlfile.validation_problems(doc, model, exc, tuple(prefix)))))


def load_scenario(name: str | Path) -> LoadedScenario:
    """Read and validate a scenario: schema, inject fragments, facts, seed; errors name FILE:LINE:COL."""
    from app import deadlines as dl
    from app.exercise.references import check_references
    from app.simorg.seed import Fragment, SeedError, resolve_seed

    path = resolve_scenario(name)
    doc = read_toml(path)
    try:
        scenario = Scenario.model_validate(doc.data)
    except ValidationError as exc:
        raise validation_error(doc, Scenario, exc) from None
    if scenario.schema_version != SCHEMA_VERSION:
        raise located(
            doc,
            ("schema",),
            f"schema {scenario.schema_version} is not supported (this warroom reads {SCHEMA_VERSION})",
        )
    try:
        resolve_seed(seed_ref(path, scenario.seed))
    except SeedError as exc:
        raise located(doc, ("seed",), str(exc)) from None
    rules = dl.load_rules()
    for key, value in scenario.facts.items():
        try:
            dl.parse_fact(key, _fact_probe(key, value), rules)
        except (UsageError, ValueError) as exc:
            raise located(doc, ("facts", key), str(exc)) from None
    seen: dict[str, int] = {}
    for i, inject in enumerate(scenario.injects):
        if inject.id in seen:
            raise located(
                doc,
                ("injects", i, "id"),
                f"inject id {inject.id!r} is also used by inject #{seen[inject.id] + 1}",
            )
        seen[inject.id] = i
        if inject.offset > scenario.length:
            raise located(
                doc,
                ("injects", i, "at"),
                f"T+{inject.at} is after the end of the exercise ({scenario.duration})",
            )
        for key, value in inject.facts.items():
            try:
                dl.parse_fact(key, _fact_probe(key, value), rules)
            except (UsageError, ValueError) as exc:
                raise located(doc, ("injects", i, "facts", key), str(exc)) from None
        if inject.add_org is not None:
            try:
                resolve_seed(seed_ref(path, inject.add_org.seed))
            except SeedError as exc:
                raise located(doc, ("injects", i, "add_org", "seed"), str(exc)) from None
        if inject.sim is not None:
            try:
                Fragment.model_validate(inject.sim)
            except ValidationError as exc:
                raise validation_error(doc, Fragment, exc, ("injects", i, "sim")) from None
    check_references(doc, scenario, path, PRIMARY_ORG)
    return LoadedScenario(scenario, path.resolve(), doc.sha256)


def _fact_probe(key: str, value: str) -> str:
    """Fact values may be offsets (T+PT1H); validate them as the instant they will become."""
    from app import deadlines as dl

    if key in dl.FACT_TIMES and value.strip().startswith("T"):
        parse_offset(value)
        return "2026-01-01T00:00:00Z"
    return value


def list_scenarios(directory: Path | None = None) -> list[ScenarioSummary]:
    """Shipped scenarios (each with its competent-response script when one is shipped)."""
    directory = directory or scenarios_dir()
    out: list[ScenarioSummary] = []
    for path in sorted(directory.glob("*.toml")):
        if path.name.endswith(".script.toml"):
            continue
        try:
            sc = tomlfile.read_toml(path).validate(Scenario)
        except (tomlfile.TomlFileError, tomlfile.TomlInvalid):
            continue
        script = path.with_name(f"{path.stem}.script.toml")
        out.append(
            ScenarioSummary(
                name=sc.name,
                title=sc.title,
                description=" ".join(sc.description.split()),
                seed=sc.seed,
                duration=sc.duration,
                injects=len(sc.injects),
                path=str(path),
                script=str(script) if script.is_file() else None,
            )
        )
    return out


# -- the pure part of the engine --------------------------------------------------------------------------------


def due_injects(scenario: Scenario, elapsed: timedelta, fired: Collection[str] = ()) -> list[Inject]:
    """Injects whose time has come at `elapsed` (scenario time since T0) and that have not fired, in order."""
    due = [(i.offset, n, i) for n, i in enumerate(scenario.injects) if i.offset <= elapsed and i.id not in fired]
    return [i for _, _, i in sorted(due, key=lambda t: (t[0], t[1]))]


def next_inject_at(scenario: Scenario, fired: Collection[str] = ()) -> timedelta | None:
    pending = [i.offset for i in scenario.injects if i.id not in fired]
    return min(pending) if pending else None


@dataclass(frozen=True)
class KnownCompromise:
    """An app or user the score expects contained, and from when the responders could know it."""

    kind: Literal["app", "user"]
    name: str  # the app name (AppName) or the username
    known_from: timedelta
    org: str = PRIMARY_ORG  # the simulated org (alias) it lives in


def truth_of(loaded: LoadedScenario, upto: timedelta | None = None) -> list[KnownCompromise]:
    """The ground truth at `upto` (None: all of it): the seed's [truth], the scenario's, and the injects'."""
    from app.simorg.seed import load_seed

    seeds: dict[str, Any] = {PRIMARY_ORG: load_seed(loaded.seed_ref(loaded.scenario.seed)).seed}
    for inject in loaded.scenario.injects:
        if inject.add_org is not None:
            seeds[inject.add_org.alias] = load_seed(loaded.seed_ref(inject.add_org.seed)).seed
    out: dict[tuple[str, str, str], KnownCompromise] = {}

    def add(alias: str, change: TruthChange | Any, at: timedelta) -> None:
        seed = seeds.get(alias) or seeds[PRIMARY_ORG]
        app_names = {a.key: a.name for a in seed.connected_apps}
        usernames = {u.key: u.username for u in seed.users}
        for key in getattr(change, "compromised_apps", []) or []:
            name = app_names.get(key, key)
            out.setdefault((alias, "app", name), KnownCompromise("app", name, at, alias))
        for name in getattr(change, "compromised_app_names", []) or []:
            out.setdefault((alias, "app", name), KnownCompromise("app", name, at, alias))
        for key in getattr(change, "compromised_users", []) or []:
            name = usernames.get(key, key)
            out.setdefault((alias, "user", name), KnownCompromise("user", name, at, alias))

    if seeds[PRIMARY_ORG].truth is not None:
        add(PRIMARY_ORG, seeds[PRIMARY_ORG].truth, timedelta(0))
    add(PRIMARY_ORG, loaded.scenario.truth, timedelta(0))
    for inject in loaded.scenario.injects:
        if upto is not None and inject.offset > upto:
            continue
        alias = inject.add_org.alias if inject.add_org is not None else inject.org
        if inject.add_org is not None and seeds[alias].truth is not None:
            add(alias, seeds[alias].truth, inject.offset)
        if inject.truth is not None:
            add(alias, inject.truth, inject.offset)
    return sorted(out.values(), key=lambda k: (k.known_from, k.org, k.kind, k.name))
