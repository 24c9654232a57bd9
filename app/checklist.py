"""The response checklist: a TOML runbook validated into pydantic models, with per-incident state in the journal.

The runbook is data (`checklist.toml` at the repo top, shipped as `app/data/checklist.toml`); this module
loads it, says exactly where a broken file is broken (FILE:LINE:COL), and projects `checklist.state`
journal entries into each item's current state, so progress survives restarts and is re-derivable by
`journal verify`.

An organisation's own checklist either stands alone (a complete file) or layers onto another one:

    extends = "builtin"          # or a path relative to this file
    [[items]]                    # a new id adds an item (appended to its phase);
    ...                          # an existing id replaces that item wholesale
    [[overrides]]                # changes only the keys given (controls, if given, is replaced whole)
    id = "contain.block-apps"
    owner = "integration_owner"

`[roles]` and `[[phases]]` merge by key and id the same way (same id replaces, new id appends). The merged
result is validated as one checklist: a dependency may point into the base, and a cycle may span files.

An incident remembers the checklist it follows: the first use records `checklist.source` (path, SHA-256
of every layer) and keeps a copy of each file in the incident directory; a later change of file or
content is recorded again, so the journal always says which runbook each state change referred to.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from app import controls as catalogue
from app.clock import format_instant, parse_instant
from app.errors import NotFoundError, UsageError, WarroomError
from app.tomlpos import Path as TomlPath
from app.tomlpos import TomlPositions, decode_error

if TYPE_CHECKING:
    from app.incident import Incident
    from app.journal import Entry

BUILTIN = "builtin"
SCHEMA_VERSION = 1
STATE_KIND = "checklist.state"
SOURCE_KIND = "checklist.source"
NAMESPACE = "checklist"
SOURCE_NAMESPACE = "checklist_source"

# Containment actions an item may trigger; app/containment.py implements them under these names.
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
        raise UsageError(
            f"unknown state {text!r}; use one of: " + ", ".join(s.value for s in ItemState)
        ) from None


# -- durations ------------------------------------------------------------------------------------------

_DURATION = re.compile(
    r"P(?:(?P<weeks>\d+)W|(?:(?P<days>\d+)D)?(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?"
    r"(?:(?P<seconds>\d+)S)?)?)"
)


def parse_duration(text: str) -> timedelta:
    """An ISO 8601 duration of weeks, days, hours, minutes, seconds (PT15M, PT1H, P2D, P1DT12H, P4W).

    Years and months are refused: they have no fixed length, and a due time must not depend on the calendar.
    """
    m = _DURATION.fullmatch(text)
    if m and any(v is not None for v in m.groupdict().values()):
        g = {k: int(v) for k, v in m.groupdict().items() if v is not None}
        return timedelta(
            weeks=g.get("weeks", 0), days=g.get("days", 0), hours=g.get("hours", 0),
            minutes=g.get("minutes", 0), seconds=g.get("seconds", 0),
        )
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


@dataclass(frozen=True, order=True)
class ChecklistProblem:
    file: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.message}"


class ChecklistInvalid(WarroomError):
    """A checklist file that cannot be used; `problems` holds one located message each."""

    def __init__(self, problems: Sequence[ChecklistProblem]) -> None:
        self.problems = list(problems)
        files = sorted({p.file for p in self.problems})
        count = f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}"
        super().__init__(f"checklist {', '.join(files)} is not usable ({count}):\n"
                         + "\n".join(str(p) for p in self.problems))


# -- loading --------------------------------------------------------------------------------------------


def builtin_checklist_path() -> Path:
    """The shipped checklist: app/data/checklist.toml in an installed wheel, the repo-top file in a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "data" / "checklist.toml", here.parent / "checklist.toml"):
        if candidate.is_file():
            return candidate
    raise WarroomError("the built-in checklist.toml is missing from this installation")


@dataclass
class _Layer:
    display: str  # how problems name the file
    record_path: str  # what checklist.source records
    text: str
    sha256: str
    data: dict[str, Any]
    positions: TomlPositions
    base_dir: Path

    def at(self, path: TomlPath, message: str, *, key: bool = False) -> ChecklistProblem:
        pos = self.positions.locate(path, prefer_key=key)
        return ChecklistProblem(self.display, pos.line, pos.col, message)

    def at_table(self, path: TomlPath, message: str) -> ChecklistProblem:
        pos = self.positions.locate(path, prefer_key=True)
        return ChecklistProblem(self.display, pos.line, pos.col, message)


def _read_layer(path: Path, display: str, record_path: str, problems: list[ChecklistProblem]) -> _Layer | None:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        problems.append(ChecklistProblem(display, 1, 1, f"cannot read: {exc.strerror or exc}"))
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        problems.append(ChecklistProblem(display, line, col, "not UTF-8 text"))
        return None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        pos, message = decode_error(exc, text)
        problems.append(ChecklistProblem(display, pos.line, pos.col, message))
        return None
    return _Layer(display, record_path, text, hashlib.sha256(raw).hexdigest(), data, TomlPositions(text),
                  path.resolve().parent)


def _read_layers(
    path: Path, display: str, record_path: str, problems: list[ChecklistProblem], seen: frozenset[Path]
) -> list[_Layer] | None:
    layer = _read_layer(path, display, record_path, problems)
    if layer is None:
        return None
    extends = layer.data.get("extends")
    if not isinstance(extends, str) or not extends.strip():
        return [layer]
    if extends == BUILTIN:
        base_path = builtin_checklist_path()
        base_display, base_record = str(base_path), BUILTIN
    else:
        base_path = layer.base_dir / extends
        base_display = str(Path(display).parent / extends)
        base_record = str(base_path.resolve())
    if base_path.resolve() in seen:
        problems.append(layer.at(("extends",), f"extends {extends!r} loops back to a file already extended"))
        return None
    if not base_path.is_file():
        problems.append(layer.at(("extends",), f"extends {extends!r}: no such file ({base_path})"))
        return None
    base = _read_layers(base_path, base_display, base_record, problems, seen | {base_path.resolve()})
    return None if base is None else [*base, layer]


_FIELD_NAMES: dict[str, list[str]] = {
    "": [f.alias or name for name, f in ChecklistFile.model_fields.items()],
    "items": list(Item.model_fields),
    "overrides": list(ItemOverride.model_fields),
    "phases": list(Phase.model_fields),
    "controls": list(Controls.model_fields),
}


def _context(layer: _Layer, loc: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    """'item 'x': ' and the rest of the loc after the item's index."""
    if len(loc) >= 2 and loc[0] in ("items", "overrides", "phases") and isinstance(loc[1], int):
        seq = layer.data.get(loc[0])
        raw = seq[loc[1]] if isinstance(seq, list) and loc[1] < len(seq) else None
        ident = raw.get("id") if isinstance(raw, dict) else None
        what = {"items": "item", "overrides": "override", "phases": "phase"}[loc[0]]
        label = f"{what} {ident!r}" if isinstance(ident, str) else f"{what} #{loc[1] + 1}"
        return f"{label}: ", loc[2:]
    return "", loc


def _dotted(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _schema_problems(layer: _Layer) -> list[ChecklistProblem]:
    try:
        ChecklistFile.model_validate(layer.data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            ctx, rest = _context(layer, loc)
            kind = err["type"]
            if kind == "missing":
                problems.append(layer.at_table(loc[:-1], f"{ctx}missing key {_dotted(rest)!r}"))
            elif kind == "extra_forbidden":
                key = str(loc[-1])
                scope = next((str(p) for p in reversed(loc[:-1]) if isinstance(p, str)), "")
                close = difflib.get_close_matches(key, _FIELD_NAMES.get(scope, []), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                problems.append(layer.at(loc, f"{ctx}unknown key {_dotted(rest)!r}{hint}", key=True))
            elif kind == "value_error":
                text = str(err["ctx"]["error"]) if "ctx" in err else err["msg"]
                problems.append(layer.at(loc, f"{ctx}{_dotted(rest) or 'document'}: {text}"))
            else:
                problems.append(layer.at(loc, f"{ctx}{_dotted(rest) or 'document'}: {err['msg']}"))
        return problems
    return []


@dataclass
class _Merged:
    """An item after layering: its raw keys, and for each key the layer and table it came from."""

    data: dict[str, Any]
    origin: dict[str, tuple[_Layer, TomlPath]]
    header: tuple[_Layer, TomlPath]

    def at(self, key: str, sub: TomlPath, message: str) -> ChecklistProblem:
        layer, table = self.origin.get(key, self.header)
        return layer.at((*table, key, *sub), message)


def _merge(layers: list[_Layer], problems: list[ChecklistProblem]) -> tuple[
    dict[str, Any], dict[str, tuple[_Layer, TomlPath]], dict[str, _Merged]
]:
    roles: dict[str, Any] = {}
    phases: dict[str, tuple[_Layer, TomlPath]] = {}
    items: dict[str, _Merged] = {}
    for n, layer in enumerate(layers):
        d = layer.data
        if isinstance(d.get("roles"), dict):
            roles.update(d["roles"])
        first_phase: dict[str, int] = {}
        for j, raw in enumerate(d.get("phases") or []):
            pid = raw.get("id") if isinstance(raw, dict) else None
            if not isinstance(pid, str):
                continue
            if pid in first_phase:
                line = layer.positions.locate(("phases", first_phase[pid])).line
                problems.append(layer.at(("phases", j, "id"), f"duplicate phase id {pid!r} (first at line {line})"))
                continue
            first_phase[pid] = j
            phases[pid] = (layer, ("phases", j))
        first_item: dict[str, int] = {}
        for j, raw in enumerate(d.get("items") or []):
            iid = raw.get("id") if isinstance(raw, dict) else None
            if not isinstance(iid, str):
                continue
            if iid in first_item:
                line = layer.positions.locate(("items", first_item[iid])).line
                problems.append(layer.at(("items", j, "id"), f"duplicate item id {iid!r} (first at line {line})"))
                continue
            first_item[iid] = j
            table = ("items", j)
            merged = _Merged(dict(raw), {k: (layer, table) for k in raw}, (layer, table))
            items[iid] = merged  # a later layer replaces an item wholesale; it keeps its place
        for j, raw in enumerate(d.get("overrides") or []):
            iid = raw.get("id") if isinstance(raw, dict) else None
            if not isinstance(iid, str):
                continue
            if n == 0:
                problems.append(layer.at(("overrides", j), "overrides need `extends`: there is nothing to override",
                                         key=True))
                continue
            if iid not in items:
                close = difflib.get_close_matches(iid, list(items), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                problems.append(layer.at(("overrides", j, "id"), f"override of unknown item {iid!r}{hint}"))
                continue
            target = items[iid]
            for key, value in raw.items():
                if key != "id":
                    target.data[key] = value
                    target.origin[key] = (layer, ("overrides", j))
    return roles, phases, items


def _cycles(graph: Mapping[str, list[str]]) -> list[list[str]]:
    """Each dependency cycle once, as a path that starts and ends at the same id (Tarjan's SCCs)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0

    def strongconnect(root: str) -> None:
        nonlocal counter
        work = [(root, iter(graph.get(root, [])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in graph:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph.get(child, []))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph.get(node, []):
                    components.append(component)

    for node in graph:
        if node not in index:
            strongconnect(node)

    order = {node: n for n, node in enumerate(graph)}
    cycles = []
    for component in components:
        members = set(component)
        start = min(component, key=order.__getitem__)
        # walk inside the component from `start` until we return to it (BFS for the shortest loop)
        paths = {start: [start]}
        queue = [start]
        found: list[str] | None = None
        while queue and found is None:
            node = queue.pop(0)
            for child in graph.get(node, []):
                if child == start:
                    found = [*paths[node], start]
                    break
                if child in members and child not in paths:
                    paths[child] = [*paths[node], child]
                    queue.append(child)
        cycles.append(found or [start, start])
    cycles.sort(key=lambda c: order[c[0]])
    return cycles


def _cross_problems(
    roles: Mapping[str, Any], phases: Mapping[str, Any], items: Mapping[str, _Merged]
) -> list[ChecklistProblem]:
    problems: list[ChecklistProblem] = []
    graph: dict[str, list[str]] = {}
    for iid, merged in items.items():
        d = merged.data
        phase = d.get("phase")
        if isinstance(phase, str) and phase not in phases:
            problems.append(merged.at("phase", (), f"item {iid!r}: unknown phase {phase!r} (phases: "
                                      + ", ".join(phases) + ")"))
        owner = d.get("owner")
        if isinstance(owner, str) and owner not in roles:
            problems.append(merged.at("owner", (), f"item {iid!r}: unknown owner role {owner!r}; "
                                      "declare it under [roles]"))
        deps = d.get("depends_on")
        graph[iid] = []
        if isinstance(deps, list):
            for k, dep in enumerate(deps):
                if not isinstance(dep, str):
                    continue
                if dep in items:
                    graph[iid].append(dep)
                else:
                    close = difflib.get_close_matches(dep, list(items), n=1)
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                    problems.append(merged.at("depends_on", (k,),
                                              f"item {iid!r}: depends on unknown item {dep!r}{hint}"))
        ctrl = d.get("controls")
        if isinstance(ctrl, dict) and isinstance(ctrl.get("iso27001_2013"), list):
            current = ctrl.get("iso27001") if isinstance(ctrl.get("iso27001"), list) else []
            for k, old in enumerate(ctrl["iso27001_2013"]):
                successor = catalogue.iso_2022_successor(old) if isinstance(old, str) else None
                if successor and successor not in current:
                    problems.append(merged.at("controls", ("iso27001_2013", k),
                                              f"item {iid!r}: ISO 27001:2013 {old} is {successor} in the 2022 "
                                              f"edition; list {successor} under iso27001 too"))
    for cycle in _cycles(graph):
        first, second = cycle[0], cycle[1]
        deps = items[first].data.get("depends_on") or []
        k = deps.index(second) if second in deps else 0
        problems.append(items[first].at("depends_on", (k,), "dependency cycle: " + " -> ".join(cycle)))
    return problems


def check_checklist(
    path: Path | None = None, *, display: str | None = None
) -> tuple[Checklist | None, list[ChecklistProblem]]:
    """Load and validate; returns the checklist or every problem found (never both)."""
    if path is None:
        path = builtin_checklist_path()
        record = BUILTIN
    else:
        record = str(path.resolve())
    shown = display or str(path)
    problems: list[ChecklistProblem] = []
    layers = _read_layers(path, shown, record, problems, frozenset({path.resolve()}))
    if layers is None:
        return None, problems
    order = {layer.display: n for n, layer in enumerate(layers)}
    for layer in layers:
        problems += _schema_problems(layer)
    roles, phases, items = _merge(layers, problems)
    problems += _cross_problems(roles, phases, items)
    if not items and not problems:
        problems.append(layers[-1].at((), "the checklist has no items"))
    if problems:
        unique = sorted(set(problems), key=lambda p: (order.get(p.file, 99), p.line, p.col, p.message))
        return None, unique
    top = layers[-1].data
    checklist = Checklist(
        title=top["title"],
        version=top["version"],
        roles=dict(roles),
        phases=[Phase.model_validate(layer.data["phases"][table[1]]) for layer, table in phases.values()],
        items=[Item.model_validate(merged.data) for merged in items.values()],
        sources=[ChecklistSource(layer.record_path, layer.sha256, layer.text) for layer in layers],
    )
    return checklist, []


def load_checklist(path: Path | None = None, *, display: str | None = None) -> Checklist:
    """The checklist at `path` (None: the built-in one), or ChecklistInvalid listing every problem."""
    checklist, problems = check_checklist(path, display=display)
    if checklist is None:
        raise ChecklistInvalid(problems)
    return checklist


# -- per-incident source --------------------------------------------------------------------------------


def source_record(checklist: Checklist) -> dict[str, Any]:
    """What `checklist.source` journals: enough to find and prove the exact runbook followed."""
    return {
        "path": checklist.path,
        "sha256": checklist.sha256,
        "title": checklist.title,
        "version": checklist.version,
        "items": len(checklist.items),
        "layers": [{"path": s.path, "sha256": s.sha256} for s in checklist.sources],
    }


def _copy_dir(incident: Incident) -> Path:
    return incident.dir / "checklists"


def incident_checklist(incident: Incident, path: Path | None = None) -> Checklist:
    """The checklist `incident` follows: `path` if given, else the one it recorded, else the built-in one.

    Read-only; the console and reports use it. A recorded file that has since disappeared is read from the
    copy kept in the incident directory.
    """
    if path is not None:
        return load_checklist(path)
    recorded = incident.journal.get_state(SOURCE_NAMESPACE, "current")
    if not recorded or recorded.get("path") == BUILTIN:
        return load_checklist(None)
    original = Path(recorded["path"])
    if original.is_file():
        return load_checklist(original)
    copy = _copy_dir(incident) / f"{recorded['sha256']}.toml"
    if copy.is_file():
        return load_checklist(copy, display=f"{original} (copy kept in the incident)")
    raise NotFoundError(
        f"the checklist incident {incident.id} follows ({original}, sha256 {recorded['sha256'][:12]}) is gone; "
        "pass --checklist FILE"
    )


def use_checklist(incident: Incident, actor: str, path: Path | None = None) -> Checklist:
    """`incident_checklist`, journaling `checklist.source` when the incident first uses it or it changed."""
    checklist = incident_checklist(incident, path)
    record = source_record(checklist)
    recorded = incident.journal.get_state(SOURCE_NAMESPACE, "current")
    if recorded is None or recorded.get("layers") != record["layers"]:
        copies = _copy_dir(incident)
        for source in checklist.sources:
            if source.path == BUILTIN:
                continue
            target = copies / f"{source.sha256}.toml"
            if not target.exists():
                copies.mkdir(parents=True, exist_ok=True)
                target.write_text(source.text, encoding="utf-8")
        incident.journal.append(SOURCE_KIND, record, actor)
    return checklist


# -- state changes --------------------------------------------------------------------------------------


def set_state(
    incident: Incident,
    checklist: Checklist,
    item_id: str,
    state: ItemState | str,
    actor: str,
    *,
    note: str | None = None,
    evidence: Iterable[str] = (),
) -> Entry:
    """Journal one state change. Refused: unknown item, unknown evidence, `not_applicable` without a reason."""
    item = checklist.item(item_id)
    new = parse_state(state)
    note = note.strip() if note and note.strip() else None
    if new is ItemState.NOT_APPLICABLE and not note:
        raise UsageError(f"{item.id}: not_applicable needs a reason (--note TEXT)")
    evidence_ids: list[str] = []
    for ref in evidence:
        found = incident.resolve_evidence(ref)["evidence_id"]
        if found not in evidence_ids:
            evidence_ids.append(found)
    current = incident.journal.get_state(NAMESPACE, item.id)
    previous = current["state"] if current else ItemState.TODO.value
    if previous == new.value and not note and not evidence_ids:
        raise UsageError(f"{item.id} is already {new.value}; add --note or --evidence to record more")
    data = {
        "item": item.id,
        "state": new.value,
        "previous": previous,
        "note": note,
        "evidence": evidence_ids,
        "reason": note if new in (ItemState.NOT_APPLICABLE, ItemState.BLOCKED) else None,
    }
    return incident.journal.append(STATE_KIND, data, actor)


def project_state(entry: Entry, get: Callable[[str, str], Any]) -> Iterable[tuple[str, str, Any]]:
    """`checklist.state` -> the item's current state; evidence accumulates across changes."""
    d = entry.data
    current = get(NAMESPACE, d["item"]) or {}
    evidence = list(current.get("evidence", []))
    evidence += [e for e in d.get("evidence", []) if e not in evidence]
    state = d["state"]
    started = current.get("started_utc")
    if state == ItemState.IN_PROGRESS and not started:
        started = entry.recorded_utc
    done = None
    if state == ItemState.DONE:
        done = current.get("done_utc") if current.get("state") == ItemState.DONE else entry.recorded_utc
    yield NAMESPACE, d["item"], {
        "state": state,
        "note": d.get("note"),
        "reason": d.get("reason"),
        "evidence": evidence,
        "by": entry.actor,
        "at": entry.recorded_utc,
        "seq": entry.seq,
        "changes": current.get("changes", 0) + 1,
        "started_utc": started,
        "done_utc": done,
    }


def project_source(entry: Entry, get: Callable[[str, str], Any]) -> Iterable[tuple[str, str, Any]]:
    yield SOURCE_NAMESPACE, "current", {**entry.data, "seq": entry.seq, "at": entry.recorded_utc}


# -- status ---------------------------------------------------------------------------------------------


class ItemStatus(BaseModel):
    id: str
    phase: str
    title: str
    owner: str
    owner_title: str
    state: ItemState
    due: str  # the ISO 8601 offset from declaration
    due_utc: str
    overdue: bool
    depends_on: list[str]
    waiting_on: list[str]  # dependencies neither done nor not applicable
    triggers: list[str]
    evidence_required: list[str]
    controls: Controls
    note: str | None = None
    reason: str | None = None
    evidence: list[str] = Field(default_factory=list)
    updated_utc: str | None = None
    updated_by: str | None = None
    done_utc: str | None = None


class PhaseStatus(BaseModel):
    id: str
    title: str
    total: int
    done: int
    not_applicable: int
    open: int
    overdue: int


class ChecklistStatus(BaseModel):
    incident_id: str | None
    checklist_path: str
    checklist_sha256: str
    checklist_title: str
    checklist_version: str
    declared_utc: str
    now_utc: str
    total: int
    done: int
    not_applicable: int
    percent: int  # done of applicable items, rounded down
    overdue: list[str]
    next_due: str | None  # the open item due soonest that is not yet overdue
    phases: list[PhaseStatus]
    items: list[ItemStatus]
    orphans: list[str]  # items with recorded state that this checklist no longer has


def build_status(
    checklist: Checklist,
    states: Mapping[str, Mapping[str, Any]],
    declared: datetime,
    now: datetime,
    incident_id: str | None = None,
) -> ChecklistStatus:
    """Pure: items with state, due time and overdue flag; progress per phase and overall."""
    state_of = {i.id: ItemState(states[i.id]["state"]) if i.id in states else ItemState.TODO
                for i in checklist.items}
    rows: list[ItemStatus] = []
    for item in checklist.items:
        st = states.get(item.id, {})
        state = state_of[item.id]
        due_at = declared + item.due_offset
        rows.append(ItemStatus(
            id=item.id, phase=item.phase, title=item.title, owner=item.owner,
            owner_title=checklist.roles.get(item.owner, item.owner), state=state, due=item.due,
            due_utc=format_instant(due_at), overdue=state in OPEN_STATES and now > due_at,
            depends_on=list(item.depends_on),
            waiting_on=[d for d in item.depends_on if state_of.get(d) in OPEN_STATES],
            triggers=list(item.triggers), evidence_required=list(item.evidence), controls=item.controls,
            note=st.get("note"), reason=st.get("reason"), evidence=list(st.get("evidence", [])),
            updated_utc=st.get("at"), updated_by=st.get("by"), done_utc=st.get("done_utc"),
        ))
    phases = []
    for phase in checklist.phases:
        mine = [r for r in rows if r.phase == phase.id]
        phases.append(PhaseStatus(
            id=phase.id, title=phase.title, total=len(mine),
            done=sum(r.state is ItemState.DONE for r in mine),
            not_applicable=sum(r.state is ItemState.NOT_APPLICABLE for r in mine),
            open=sum(r.state in OPEN_STATES for r in mine),
            overdue=sum(r.overdue for r in mine),
        ))
    done = sum(r.state is ItemState.DONE for r in rows)
    na = sum(r.state is ItemState.NOT_APPLICABLE for r in rows)
    applicable = len(rows) - na
    upcoming = [r for r in rows if r.state in OPEN_STATES and not r.overdue]
    next_due = min(upcoming, key=lambda r: r.due_utc).id if upcoming else None
    known = {i.id for i in checklist.items}
    return ChecklistStatus(
        incident_id=incident_id,
        checklist_path=checklist.path, checklist_sha256=checklist.sha256,
        checklist_title=checklist.title, checklist_version=checklist.version,
        declared_utc=format_instant(declared), now_utc=format_instant(now),
        total=len(rows), done=done, not_applicable=na,
        percent=(done * 100 // applicable) if applicable else 100,
        overdue=[r.id for r in rows if r.overdue], next_due=next_due,
        phases=phases, items=rows, orphans=sorted(k for k in states if k not in known),
    )


def declared_at(incident: Incident) -> datetime:
    """Declaration time: the incident's recorded `declared`, else its genesis entry's time."""
    declared = incident.journal.get_state("incident", "declared")
    if not declared:
        genesis = incident.journal.entry(1)
        declared = genesis.recorded_utc if genesis else format_instant(incident.journal.clock.now())
    return parse_instant(declared)


def checklist_status(incident: Incident, checklist: Checklist, now: datetime | None = None) -> ChecklistStatus:
    """The incident's checklist as the console and the report show it."""
    return build_status(
        checklist,
        incident.journal.state(NAMESPACE),
        declared_at(incident),
        now or incident.journal.clock.now(),
        incident_id=incident.id,
    )
