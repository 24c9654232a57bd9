"""Tabletop exercises: a scenario played against the simulated org on an accelerated clock, journaled like a real
incident (in an incident flagged as a drill), then scored.

A scenario (`app/data/scenarios/<name>.toml`) names a simulated-org seed, the incident's starting facts and timed
injects (T+offset as an ISO 8601 duration): a vendor advisory, tokens used again from Tor, a regulator's call, a
journalist, a second org. An inject may add rows to a running simulated org (a seed fragment, through the
simulator's inject API), start another simulated org, change incident facts (journaled `facts.set`, as
`warroom facts set` does) and reveal more of the ground truth the score is measured against. Fired injects are
journaled as `exercise.inject` and stay "alerts" until acknowledged (`pending_alerts`, `acknowledge`).

Time is scenario time: the exercise clock starts at the seed's `organization.now` (or the scenario's `start`),
so the org's logs, the journal and every deadline agree. Interactive runs use `AcceleratedClock` (x1-x600,
pause/resume); headless scripted runs use a virtual clock that jumps straight to each next event (see
`app/exercise_script.py`). Scoring and the after-action report are in `app/exercise_score.py`.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import threading
import tomllib
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from app.checklist import format_duration, parse_duration
from app.clock import AcceleratedClock, Clock, FrozenClock, format_instant, parse_instant
from app.errors import NotFoundError, UsageError, WarroomError
from app.tomlpos import TomlPositions, decode_error

if TYPE_CHECKING:
    from app.incident import Incident
    from app.journal import Entry, Lookup
    from app.simorg import SimOrg
    from app.workspace import Workspace

SCHEMA_VERSION = 1
FACILITATOR = "facilitator"
PRIMARY_ORG = "sim"
NAMESPACE = "exercise"
ALERTS = "exercise.alerts"
INJECT_KINDS: tuple[str, ...] = (
    "advisory", "vendor", "ioc", "soc", "helpdesk", "legal", "regulator", "press", "extortion", "scope",
    "executive", "customer", "other",
)
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
    kind: Literal[INJECT_KINDS]  # type: ignore[valid-type]
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
    p = Path(name).expanduser()
    if p.suffix == ".toml" or p.exists():
        if not p.is_file():
            raise NotFoundError(f"scenario file {p} does not exist")
        return p
    shipped = scenarios_dir() / f"{name}.toml"
    if shipped.is_file():
        return shipped
    names = ", ".join(s.name for s in list_scenarios())
    raise NotFoundError(f"no scenario named {str(name)!r} (shipped: {names}; or give a .toml path)")


def read_toml(path: Path, what: str) -> tuple[dict[str, Any], str, TomlPositions]:
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except OSError as exc:
        raise ScenarioError(f"{what} {path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"{what} {path}: not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        pos, msg = decode_error(exc, text)
        raise ScenarioError(f"{what} {path}:{pos.line}:{pos.col}: {msg}") from None
    return data, text, TomlPositions(text)


def _dotted(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "document"


def located(what: str, path: Path, positions: TomlPositions, loc: Sequence[Any], message: str,
            *, key: bool = False) -> ScenarioError:
    pos = positions.locate(tuple(loc), prefer_key=key)
    return ScenarioError(f"{what} {path}:{pos.line}:{pos.col}: {_dotted(loc)}: {message}")


def validation_error(what: str, path: Path, positions: TomlPositions, exc: ValidationError,
                     prefix: Sequence[Any] = ()) -> ScenarioError:
    errors = exc.errors()
    # A misspelt key shows up as an unknown key and a missing one: name the unknown key, suggest the missing one.
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = (*prefix, *err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        missing = [str(e["loc"][-1]) for e in errors
                   if e["type"] == "missing" and tuple(e["loc"][:-1]) == tuple(err["loc"][:-1])]
        close = difflib.get_close_matches(str(err["loc"][-1]), missing, n=1)
        message = "unknown key" + (f" (did you mean {close[0]!r}?)" if close else "")
    elif kind == "missing":
        message = "missing required key"
    elif kind == "value_error" and "ctx" in err:
        message = str(err["ctx"]["error"])
    else:
        message = err["msg"]
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    if kind == "missing":
        return located(what, path, positions, loc[:-1], f"missing required key {loc[-1]!r}{more}", key=True)
    return located(what, path, positions, loc, message + more, key=kind == "extra_forbidden")


def load_scenario(name: str | Path) -> LoadedScenario:
    """Read and validate a scenario: schema, inject fragments, facts, seed; errors name FILE:LINE:COL."""
    from app import deadlines as dl
    from app.simorg.seed import Fragment, SeedError, resolve_seed

    path = resolve_scenario(name)
    data, text, positions = read_toml(path, "scenario")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise validation_error("scenario", path, positions, exc) from None
    if scenario.schema_version != SCHEMA_VERSION:
        raise located("scenario", path, positions, ("schema",),
                      f"schema {scenario.schema_version} is not supported (this warroom reads {SCHEMA_VERSION})")
    try:
        resolve_seed(seed_ref(path, scenario.seed))
    except SeedError as exc:
        raise located("scenario", path, positions, ("seed",), str(exc)) from None
    rules = dl.load_rules()
    for key, value in scenario.facts.items():
        try:
            dl.parse_fact(key, _fact_probe(key, value), rules)
        except (UsageError, ValueError) as exc:
            raise located("scenario", path, positions, ("facts", key), str(exc)) from None
    seen: dict[str, int] = {}
    orgs = {PRIMARY_ORG}
    for i, inject in enumerate(scenario.injects):
        if inject.id in seen:
            raise located("scenario", path, positions, ("injects", i, "id"),
                          f"inject id {inject.id!r} is also used by inject #{seen[inject.id] + 1}")
        seen[inject.id] = i
        if inject.offset > scenario.length:
            raise located("scenario", path, positions, ("injects", i, "at"),
                          f"T+{inject.at} is after the end of the exercise ({scenario.duration})")
        for key, value in inject.facts.items():
            try:
                dl.parse_fact(key, _fact_probe(key, value), rules)
            except (UsageError, ValueError) as exc:
                raise located("scenario", path, positions, ("injects", i, "facts", key), str(exc)) from None
        if inject.add_org is not None:
            try:
                resolve_seed(seed_ref(path, inject.add_org.seed))
            except SeedError as exc:
                raise located("scenario", path, positions, ("injects", i, "add_org", "seed"), str(exc)) from None
            orgs.add(inject.add_org.alias)
        if inject.sim is not None:
            if inject.org not in orgs:
                raise located("scenario", path, positions, ("injects", i, "org"),
                              f"no simulated org {inject.org!r} is running at T+{inject.at} (known: "
                              f"{', '.join(sorted(orgs))})")
            try:
                Fragment.model_validate(inject.sim)
            except ValidationError as exc:
                raise validation_error("scenario", path, positions, exc, ("injects", i, "sim")) from None
    return LoadedScenario(scenario, path.resolve(), hashlib.sha256(text.encode("utf-8")).hexdigest())


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
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            sc = Scenario.model_validate(data)
        except (OSError, tomllib.TOMLDecodeError, ValidationError):
            continue
        script = path.with_name(f"{path.stem}.script.toml")
        out.append(ScenarioSummary(name=sc.name, title=sc.title, description=" ".join(sc.description.split()),
                                   seed=sc.seed, duration=sc.duration, injects=len(sc.injects), path=str(path),
                                   script=str(script) if script.is_file() else None))
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


# -- alerts (what the console shows) ---------------------------------------------------------------------------


class Alert(BaseModel):
    inject: str
    seq: int
    at: str
    offset: str
    kind: str
    title: str
    message: str
    sender: str | None = None
    prompts: list[str] = []
    acknowledged: bool = False
    acknowledged_by: str | None = None
    acknowledged_utc: str | None = None


def alerts(incident: Incident) -> list[Alert]:
    """Every inject fired in this incident, oldest first."""
    rows = incident.journal.state(ALERTS).values()
    return sorted((Alert.model_validate(v) for v in rows), key=lambda a: a.seq)


def pending_alerts(incident: Incident) -> list[Alert]:
    """Injects not yet acknowledged: what the console shows as alerts (empty for a real incident)."""
    return [a for a in alerts(incident) if not a.acknowledged]


def acknowledge(incident: Incident, inject_id: str, actor: str, note: str | None = None) -> Entry:
    current = incident.journal.get_state(ALERTS, inject_id)
    if current is None:
        raise NotFoundError(f"no exercise alert {inject_id!r} in {incident.id}")
    if current.get("acknowledged"):
        raise UsageError(f"alert {inject_id} was already acknowledged by {current.get('acknowledged_by')}")
    data: dict[str, Any] = {"inject": inject_id}
    if note:
        data["note"] = note
    return incident.journal.append("exercise.ack", data, actor)


def project_start(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    d = entry.data
    yield NAMESPACE, "current", {"scenario": d["scenario"], "title": d.get("title"), "start_utc": d["start_utc"],
                                 "duration": d["duration"], "seq": entry.seq, "ended": False}


def project_inject(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    d = entry.data
    yield ALERTS, d["inject"], {
        "inject": d["inject"], "seq": entry.seq, "at": entry.recorded_utc, "offset": d["offset"], "kind": d["kind"],
        "title": d["title"], "message": d["message"], "sender": d.get("sender"), "prompts": d.get("prompts", []),
        "acknowledged": False, "acknowledged_by": None, "acknowledged_utc": None,
    }


def project_ack(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    current = get(ALERTS, entry.data["inject"])
    if current is None:
        return
    yield ALERTS, entry.data["inject"], {**current, "acknowledged": True, "acknowledged_by": entry.actor,
                                         "acknowledged_utc": entry.recorded_utc}


def project_end(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    current = get(NAMESPACE, "current") or {}
    score = entry.data.get("score") or {}
    yield NAMESPACE, "current", {**current, "ended": True, "end_utc": entry.recorded_utc, "total": score.get("total")}


# -- the runner -----------------------------------------------------------------------------------------------


def exercise_start(loaded: LoadedScenario) -> datetime:
    """T0: the scenario's `start`, else the seed's `organization.now` (so the org's data lines up)."""
    from app.clock import ensure_utc
    from app.simorg.seed import load_seed

    if loaded.scenario.start is not None:
        return ensure_utc(loaded.scenario.start)
    return ensure_utc(load_seed(loaded.seed_ref(loaded.scenario.seed)).seed.organization.now)


def make_clock(loaded: LoadedScenario, speed: int | None, *, virtual: bool) -> FrozenClock | AcceleratedClock:
    """A virtual clock (jumps to each event; headless runs) or an accelerated one (x1-x600; can pause)."""
    start = exercise_start(loaded)
    if virtual:
        return FrozenClock(start)
    chosen = loaded.scenario.speed if speed is None else speed
    if not 1 <= chosen <= 600:
        raise UsageError(f"--speed {chosen}: choose between 1 and 600")
    return AcceleratedClock(start, speed=chosen)


@dataclass
class ExerciseRunner:
    """Plays one scenario: creates the drill incident, starts the simulated org(s), fires injects on time.

    `clock` is the exercise clock (FrozenClock for virtual time, AcceleratedClock for real time sped up); the
    incident's journal and the simulated orgs share it. `start_orgs=False` plays without a simulator (injects
    that change an org are journaled but not applied; tests of the engine alone use it).
    """

    workspace: Workspace
    loaded: LoadedScenario
    clock: Clock
    actor: str = FACILITATOR
    start_orgs: bool = True
    incident: Incident | None = None
    orgs: dict[str, SimOrg] = field(default_factory=dict)
    start_utc: datetime | None = None
    fired: list[str] = field(default_factory=list)
    on_inject: Callable[[Entry], None] | None = None
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def scenario(self) -> Scenario:
        return self.loaded.scenario

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def start(self, *, mode: str = "interactive", script: Mapping[str, Any] | None = None) -> Incident:
        """Create the drill incident (journal `exercise.start`, the starting facts) and start the org(s)."""
        from app import checklist as cl
        from app import deadlines as dl

        if self.incident is not None:
            raise UsageError("this exercise has already started")
        sc = self.scenario
        self.start_utc = self.clock.now()
        start = self.start_utc
        if self.start_orgs:
            self._start_org(PRIMARY_ORG, sc.seed)
        try:
            detected = resolve_time(sc.incident.detected, start) if sc.incident.detected else None
            aware = resolve_time(sc.incident.aware, start) if sc.incident.aware else None
            incident = self.workspace.create(f"EXERCISE: {sc.incident.title}", self.actor, detected=detected,
                                             aware=aware, demo=True, extra={"exercise": sc.name})
            self.incident = incident
            speed = getattr(self.clock, "speed", None)
            data: dict[str, Any] = {
                "scenario": sc.name, "title": sc.title, "file": str(self.loaded.path),
                "sha256": self.loaded.sha256, "seed": sc.seed, "start_utc": format_instant(start),
                "duration": sc.duration, "injects": len(sc.injects), "mode": mode,
                "clock": "virtual" if isinstance(self.clock, FrozenClock) else "accelerated",
                "orgs": {alias: {"url": org.url, "org_id": org.store.org.id} for alias, org in self.orgs.items()},
            }
            if speed is not None:
                data["speed"] = str(speed)
            if script:
                data["script"] = dict(script)
            incident.journal.append("exercise.start", data, self.actor)
            cl.use_checklist(incident, self.actor)
            rules = dl.load_rules()
            for key, value in sc.facts.items():
                dl.set_fact(incident.journal, key, self._fact_value(key, value), self.actor, rules)
        except BaseException:
            self.close()
            raise
        return incident

    def _start_org(self, alias: str, seed: str) -> SimOrg:
        from app.simorg import SimOrg

        if alias in self.orgs:
            raise WarroomError(f"simulated org {alias!r} is already running")
        org = SimOrg.start(self.loaded.seed_ref(seed), clock=self.clock)
        self.orgs[alias] = org
        return org

    def _fact_value(self, key: str, value: str) -> str:
        from app import deadlines as dl

        assert self.start_utc is not None
        if key in dl.FACT_TIMES and value.strip().startswith("T"):
            return format_instant(resolve_time(value, self.start_utc))
        return value

    def org_factory(self, alias: str = PRIMARY_ORG) -> Callable[[], Any]:
        """What the console takes as its Salesforce client factory: a fresh login to a running simulated org."""

        def factory() -> Any:
            from app.demo import sim_factory

            sim = self.orgs.get(alias)
            if sim is None:
                raise WarroomError(f"no simulated org {alias!r} is running in this exercise")
            return sim_factory(sim, alias)()

        return factory

    def elapsed(self) -> timedelta:
        if self.start_utc is None:
            return timedelta(0)
        return self.clock.now() - self.start_utc

    def over(self) -> bool:
        return self.elapsed() >= self.scenario.length

    # -- injects -----------------------------------------------------------------------------------------------

    def fire_due(self) -> list[Entry]:
        """Fire every inject whose time has come (idempotent; safe from a timer thread)."""
        with self._lock:
            if self.incident is None:
                return []
            return [self.fire(i) for i in due_injects(self.scenario, self.elapsed(), self.fired)]

    def fire(self, inject: Inject) -> Entry:
        """Apply one inject (org rows, a new org, facts) and journal it as an alert."""
        from app import deadlines as dl

        assert self.incident is not None
        with self._lock:
            applied: list[str] = []
            if self.start_orgs and inject.add_org is not None:
                org = self._start_org(inject.add_org.alias, inject.add_org.seed)
                applied.append(f"simulated org {inject.add_org.alias} started at {org.url}")
            if self.start_orgs and inject.sim is not None:
                target = self.orgs.get(inject.org)
                if target is None:
                    self.errors.append(f"inject {inject.id}: no simulated org {inject.org!r}; rows not added")
                else:
                    target.inject(inject.sim, origin=f"inject {inject.id}")
                    counts = {k: len(v) for k, v in inject.sim.items() if isinstance(v, list) and v}
                    applied.append(f"{inject.org}: added " + ", ".join(f"{n} {k}" for k, n in counts.items()))
            data: dict[str, Any] = {
                "inject": inject.id, "offset": f"T+{inject.at}", "kind": inject.kind, "title": inject.title,
                "message": inject.message.strip(), "scenario": self.scenario.name,
            }
            if inject.sender:
                data["sender"] = inject.sender
            if inject.prompts:
                data["prompts"] = list(inject.prompts)
            if applied:
                data["simulation"] = applied
            if inject.facts:
                data["facts"] = sorted(inject.facts)
            entry = self.incident.journal.append("exercise.inject", data, self.actor)
            if inject.facts:
                rules = dl.load_rules()
                for key, value in inject.facts.items():
                    dl.set_fact(self.incident.journal, key, self._fact_value(key, value), self.actor, rules)
            self.fired.append(inject.id)
        if self.on_inject is not None:
            self.on_inject(entry)
        return entry

    # -- the clock (interactive runs) -------------------------------------------------------------------------

    def pause(self) -> None:
        if isinstance(self.clock, AcceleratedClock):
            self.clock.pause()

    def resume(self) -> None:
        if isinstance(self.clock, AcceleratedClock):
            self.clock.resume()

    def set_speed(self, speed: int) -> None:
        if not isinstance(self.clock, AcceleratedClock):
            raise UsageError("this exercise runs on a virtual clock; speed does not apply")
        self.clock.set_speed(speed)

    @property
    def paused(self) -> bool:
        return bool(getattr(self.clock, "paused", False))

    def run_in_background(self, interval: float = 0.25) -> None:
        """Fire injects from a daemon thread as the accelerated clock reaches them (interactive runs)."""
        if self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.fire_due()
                except Exception as exc:  # an inject that fails must not kill the exercise; it is reported
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                if self.over():
                    break

        self._thread = threading.Thread(target=loop, name="exercise-injects", daemon=True)
        self._thread.start()

    def stop_background(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    # -- the end -----------------------------------------------------------------------------------------------

    def finish(self, actor: str | None = None) -> Any:
        """Score the exercise and journal `exercise.end` with the score (returns the Score)."""
        from app.exercise_score import score as compute_score

        self.stop_background()
        assert self.incident is not None
        with self._lock:
            result = compute_score(self.incident, self.loaded, orgs=self.orgs, now=self.clock.now())
            self.incident.journal.append("exercise.end", {
                "scenario": self.scenario.name, "elapsed": format_duration(self.elapsed()),
                "fired": list(self.fired), "score": result.journal_summary(),
            }, actor or self.actor)
        return result

    def close(self) -> None:
        """Stop the background thread and the simulated orgs; close the incident."""
        self.stop_background()
        for org in list(self.orgs.values()):
            try:
                org.stop()
            except Exception as exc:  # shutting down: report, keep closing the rest
                self.errors.append(f"stopping a simulated org: {exc}")
        self.orgs.clear()
        if self.incident is not None:
            self.incident.close()
            self.incident = None

    def __enter__(self) -> ExerciseRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
