"""Reading a checklist: the shipped file, layered files (`extends`, `[[overrides]]`) merged by id, and every problem
reported at its FILE:LINE:COL before anything is used."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from app.base.errors import WarroomError
from app.base.tomlfile import TomlDocument, TomlFileError, read_toml, validation_problems
from app.base.tomlpos import Path as TomlPath
from app.base.tomlpos import TomlPositions
from app.checklist import controls as catalogue
from app.checklist.model import (
    BUILTIN,
    Checklist,
    ChecklistFile,
    ChecklistInvalid,
    ChecklistProblem,
    ChecklistSource,
    Item,
    Phase,
)

# -- loading --------------------------------------------------------------------------------------------


def builtin_checklist_path() -> Path:
    """The shipped checklist: app/data/checklist.toml in an installed wheel, the repo-top file in a checkout."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "data" / "checklist.toml", here.parent / "checklist.toml"):
        if candidate.is_file():
            return candidate
    raise WarroomError("the built-in checklist.toml is missing from this installation")


@dataclass
class _Layer:
    record_path: str  # what checklist.source records
    doc: TomlDocument  # the parsed file; problems name it by doc.display
    base_dir: Path

    @property
    def display(self) -> str:
        return self.doc.display

    @property
    def data(self) -> dict[str, Any]:
        return self.doc.data

    @property
    def text(self) -> str:
        return self.doc.text

    @property
    def positions(self) -> TomlPositions:
        return self.doc.positions

    def at(self, path: TomlPath, message: str, *, key: bool = False) -> ChecklistProblem:
        return self.doc.problem(path, message, key=key)

    def at_table(self, path: TomlPath, message: str) -> ChecklistProblem:
        return self.doc.problem(path, message, key=True)


def _read_layer(path: Path, display: str, record_path: str, problems: list[ChecklistProblem]) -> _Layer | None:
    try:
        doc = read_toml(path, display)
    except TomlFileError as exc:
        problems.append(exc.problem)
        return None
    return _Layer(record_path, doc, path.resolve().parent)


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


def _schema_problems(layer: _Layer) -> list[ChecklistProblem]:
    try:
        ChecklistFile.model_validate(layer.data)
    except ValidationError as exc:
        return validation_problems(layer.doc, ChecklistFile, exc)
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


def _merge(
    layers: list[_Layer], problems: list[ChecklistProblem]
) -> tuple[dict[str, Any], dict[str, tuple[_Layer, TomlPath]], dict[str, _Merged]]:
    roles: dict[str, Any] = {}
    phases: dict[str, tuple[_Layer, TomlPath]] = {}
    items: dict[str, _Merged] = {}
    for n, layer in enumerate(layers):
        d = layer.data
        for key in ("phases", "items", "overrides"):
            if key in d and not isinstance(d[key], list):
                problems.append(
                    layer.at((key,), f"`{key}` must be an array of tables ([[{key}]]), not {_toml_type(d[key])}")
                )
                d = {k: v for k, v in d.items() if k != key}
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
                problems.append(
                    layer.at(("overrides", j), "overrides need `extends`: there is nothing to override", key=True)
                )
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


def _toml_type(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", dict: "a table"}
    return next((n for t, n in names.items() if isinstance(value, t)), type(value).__name__)


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
            problems.append(
                merged.at("phase", (), f"item {iid!r}: unknown phase {phase!r} (phases: " + ", ".join(phases) + ")")
            )
        owner = d.get("owner")
        if isinstance(owner, str) and owner not in roles:
            problems.append(
                merged.at("owner", (), f"item {iid!r}: unknown owner role {owner!r}; declare it under [roles]")
            )
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
                    problems.append(
                        merged.at("depends_on", (k,), f"item {iid!r}: depends on unknown item {dep!r}{hint}")
                    )
        ctrl = d.get("controls")
        if isinstance(ctrl, dict) and isinstance(ctrl.get("iso27001_2013"), list):
            current = ctrl["iso27001"] if isinstance(ctrl.get("iso27001"), list) else []
            for k, old in enumerate(ctrl["iso27001_2013"]):
                successor = catalogue.iso_2022_successor(old) if isinstance(old, str) else None
                if successor and successor not in current:
                    problems.append(
                        merged.at(
                            "controls",
                            ("iso27001_2013", k),
                            f"item {iid!r}: ISO 27001:2013 {old} is {successor} in the 2022 "
                            f"edition; list {successor} under iso27001 too",
                        )
                    )
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
        sources=[ChecklistSource(layer.record_path, layer.doc.sha256, layer.text) for layer in layers],
    )
    return checklist, []


def load_checklist(path: Path | None = None, *, display: str | None = None) -> Checklist:
    """The checklist at `path` (None: the built-in one), or ChecklistInvalid listing every problem."""
    checklist, problems = check_checklist(path, display=display)
    if checklist is None:
        raise ChecklistInvalid(problems)
    return checklist
