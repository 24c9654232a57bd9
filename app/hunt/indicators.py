"""Indicator files: the TOML format (addresses, ranges, user agents, apps, usernames, SOQL patterns, each with
its sources and window), located errors, and the compiled tests a preserved row is matched against."""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from app.base.clock import format_instant
from app.base.errors import NotFoundError, UsageError, WarroomError
from app.base.files import present, read_text_limited, user_path
from app.base.guarded_regex import RegexRefused, compile_guarded
from app.base.limits import MAX_TOML_BYTES
from app.base.text import one_line
from app.base.tomlfile import load_as
from app.evidence.rows import Row, id_key

DATA_DIR = Path(__file__).parent.parent / "data" / "indicators"
FORMAT_VERSION = 1
QUERY_CHARS = 400  # how much of a query a hit keeps (the evidence file holds all of it)

Kind = Literal["ip", "ip_list", "user_agent", "connected_app", "username", "soql"]
MatchMode = Literal["exact", "contains", "regex"]
ApiFamily = Literal["bulk", "rest", "soap"]
DEFAULT_MATCH: dict[str, MatchMode] = {
    "user_agent": "exact",
    "connected_app": "exact",
    "username": "exact",
    "soql": "regex",
}
READ_OPERATIONS = ("query", "count", "retrieve", "export", "search", "select", "get")


class IndicatorError(UsageError):
    """An indicator file that cannot be used; the message names the file and line of each problem."""


# ---------------------------------------------------------------------------------------------------------
# The indicator file
# ---------------------------------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Source(_Model):
    id: str
    title: str
    url: str | None = None


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("give the zone (for example 2025-08-08T00:00:00Z); a local time is ambiguous")
    return value


class Window(_Model):
    start: datetime | None = None
    end: datetime | None = None  # exclusive

    _check = field_validator("start", "end")(_aware)

    def contains(self, at: datetime | None) -> bool:
        if at is None:
            return True
        return (self.start is None or at >= self.start) and (self.end is None or at < self.end)

    def describe(self) -> str:
        start = format_instant(self.start) if self.start else "the beginning"
        end = format_instant(self.end) if self.end else "now"
        return f"{start} to {end}"


class Indicator(_Model):
    kind: Kind
    id: str | None = None
    values: list[str] = Field(default_factory=list)
    file: str | None = None
    match: MatchMode | None = None
    objects: list[str] = Field(default_factory=list)
    api: list[ApiFamily] = Field(default_factory=list)
    role: Literal["hit", "context"] = "hit"
    confidence: Literal["high", "medium", "low"] = "medium"
    note: str = ""
    sources: list[str] = Field(default_factory=list)


class IndicatorSet(_Model):
    format: Literal[1] = 1
    name: str = Field(min_length=1)
    title: str = ""
    description: str = ""
    window: Window | None = None
    source: list[Source] = Field(default_factory=list)
    indicator: list[Indicator] = Field(min_length=1)

    _path: Path | None = PrivateAttr(default=None)
    _compiled: list[Compiled] = PrivateAttr(default_factory=list)
    _ip_lists: dict[int, list[Any]] = PrivateAttr(default_factory=dict)  # ip_list indicator -> its networks

    @property
    def path(self) -> Path | None:
        return self._path

    def files(self) -> list[Path]:
        """The indicator file and the address lists it names (what a recorded hunt preserves)."""
        if self._path is None:
            return []
        base = self._path.parent
        return [self._path] + [_resolve(base, i.file) for i in self.indicator if i.kind == "ip_list" and i.file]

    @property
    def compiled(self) -> list[Compiled]:
        return self._compiled

    def ip_list(self, n: int) -> list[Any]:
        """The networks of ip_list indicator `n`, as read when the set was loaded (the file may be gone since:
        a recorded hunt's set is loaded from a temporary copy of the evidence)."""
        return self._ip_lists.get(n, [])


def _resolve(base: Path, name: str) -> Path:
    p = Path(name).expanduser()
    return p if p.is_absolute() else base / p


def shipped_indicator_files() -> list[Path]:
    return sorted(DATA_DIR.glob("*.toml"))


def find_indicator_file(name: str) -> Path:
    """A path, or the name of a shipped file (`chat-vendor-theft`)."""
    p = user_path(name)
    if present(p):
        return p
    for candidate in (DATA_DIR / name, DATA_DIR / f"{name}.toml"):
        if present(candidate, file=True):
            return candidate
    shipped = ", ".join(f.stem for f in shipped_indicator_files())
    raise NotFoundError(f"{name}: no such indicator file (shipped: {shipped})")


def load_indicators(path: Path) -> IndicatorSet:
    """Read, validate and compile an indicator file; every problem is reported as FILE:LINE:COL: field: message."""
    if not present(path):
        raise NotFoundError(f"{path}: no such indicator file")
    doc, model = load_as(path, IndicatorSet, IndicatorError)
    model._path = path
    problems: list[str] = []

    def report(loc: tuple[str | int, ...], message: str) -> None:
        problems.append(str(doc.problem(loc, message)))

    model._compiled = _compile(model, path.parent, report)
    if problems:
        raise IndicatorError("\n".join(problems))
    return model


# ---------------------------------------------------------------------------------------------------------
# Compiled indicators
# ---------------------------------------------------------------------------------------------------------


@dataclass
class Compiled:
    set_name: str
    label: str
    indicator: Indicator
    test: Callable[[Row], str | None]

    @property
    def role(self) -> str:
        return self.indicator.role


def _compile(model: IndicatorSet, base: Path, report: Callable[[tuple[str | int, ...], str], None]) -> list[Compiled]:
    source_ids = {s.id for s in model.source}
    if model.window and model.window.start and model.window.end and model.window.start >= model.window.end:
        report(("window", "end"), "window.end must be after window.start")
    out: list[Compiled] = []
    for n, ind in enumerate(model.indicator):
        at = ("indicator", n)
        for j, ref in enumerate(ind.sources):
            if ref not in source_ids:
                report((*at, "sources", j), f"source {ref!r} is not defined in a [[source]] table")
        label = ind.id or f"{ind.kind}#{n + 1}"
        if ind.kind != "soql" and (ind.objects or ind.api):
            report(at, '`objects` and `api` apply only to kind = "soql"')
        if ind.kind == "ip_list":
            if not ind.file or ind.values:
                report(
                    at,
                    'kind = "ip_list" takes `file` (one address or range per line), not `values`',
                )
                continue
            file_loc = (*at, "file")
            nets = _read_ip_list(_resolve(base, ind.file), functools.partial(report, file_loc))
            if nets is None:
                continue
            model._ip_lists[n] = nets
            out.append(Compiled(model.name, label, ind, _ip_test(nets)))
            continue
        if ind.file:
            report((*at, "file"), '`file` is only for kind = "ip_list"')
        if not ind.values and not (ind.kind == "soql" and (ind.objects or ind.api)):
            report((*at, "values"), "`values` is empty")
            continue
        if ind.kind == "ip":
            if ind.match:
                report((*at, "match"), "`match` does not apply to addresses")
            nets = []
            for j, value in enumerate(ind.values):
                try:
                    nets.append(ipaddress.ip_network(value.strip(), strict=False))
                except ValueError:
                    report((*at, "values", j), f"{value!r} is not an IP address or CIDR range")
            out.append(Compiled(model.name, label, ind, _ip_test(nets)))
            continue
        mode = ind.match or DEFAULT_MATCH[ind.kind]
        patterns: list[_Pattern] = []
        for j, value in enumerate(ind.values):
            if not value.strip():
                report((*at, "values", j), "empty value")
                continue
            try:
                patterns.append(_pattern(value, mode))
            except (re.error, RegexRefused) as exc:
                report((*at, "values", j), f"{value!r} is not a valid regular expression ({exc})")
        if ind.kind == "user_agent":
            test = _text_test(patterns, Row.user_agents)
        elif ind.kind == "connected_app":
            test = _named_test(patterns, ind.values, Row.app, Row.app_id)
        elif ind.kind == "username":
            test = _named_test(patterns, ind.values, Row.username, Row.user_id)
        else:
            test = _soql_test(patterns, ind.objects, ind.api)
        out.append(Compiled(model.name, label, ind, test))
    return out


def _read_ip_list(path: Path, report: Callable[[str], None]) -> list[Any] | None:
    try:
        lines = read_text_limited(path, MAX_TOML_BYTES, "address list").splitlines()
    except WarroomError as exc:
        report(f"address list {exc}")
        return None
    nets = []
    bad = 0
    for n, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            nets.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            bad += 1
            if bad <= 5:
                report(f"{path}:{n}: {text!r} is not an IP address or CIDR range")
    return nets if not bad else None


@dataclass(frozen=True)
class _Pattern:
    """One indicator value: how it matches a field (`field`) and a line of free text (`text`)."""

    field: Any  # re.Pattern for literals, an RE2 pattern for user regexes (same search/fullmatch calls)
    text: Any
    exact: bool
    literal: str = ""

    def on_field(self, value: str) -> bool:
        return bool(self.field.fullmatch(value.strip()) if self.exact else self.field.search(value))


def _pattern(value: str, mode: MatchMode) -> _Pattern:
    if mode == "regex":
        rx = compile_guarded(value)
        return _Pattern(rx, rx, exact=False)
    literal = re.compile(re.escape(value.strip()), re.IGNORECASE)
    return _Pattern(literal, literal, exact=mode == "exact", literal=value.strip())


def _ip_test(nets: list[Any]) -> Callable[[Row], str | None]:
    """Single addresses by string (the common case, no parsing per row); ranges by parsed address."""
    exact = {str(n.network_address) for n in nets if n.num_addresses == 1}
    ranges = [n for n in nets if n.num_addresses > 1]

    def test(row: Row) -> str | None:
        for raw in row.ips():
            text = raw.strip()
            if text in exact:
                return text
            if not ranges:
                continue
            try:
                ip = ipaddress.ip_address(text)
            except ValueError:
                continue
            if str(ip) in exact or any(ip.version == net.version and ip in net for net in ranges):
                return str(ip)
        return None

    return test


def _text_test(patterns: list[_Pattern], values: Callable[[Row], list[str]]) -> Callable[[Row], str | None]:
    exact = {p.literal.lower() for p in patterns if p.exact}
    others = [p for p in patterns if not p.exact]

    def test(row: Row) -> str | None:
        for value in values(row):
            if value.strip().lower() in exact or any(p.on_field(value) for p in others):
                return value
        if row.text:
            for p in patterns:
                if m := p.text.search(row.text):
                    return m.group(0).strip()
        return None

    return test


def _named_test(
    patterns: list[_Pattern], raw: list[str], name: Callable[[Row], str | None], ident: Callable[[Row], str | None]
) -> Callable[[Row], str | None]:
    """Names match by pattern; values that look like Salesforce Ids also match the row's id (15 or 18)."""
    ids = {id_key(v) for v in raw if re.fullmatch(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?", v.strip())}
    by_name = _text_test(patterns, lambda row: [v] if (v := name(row)) else [])

    def test(row: Row) -> str | None:
        found = by_name(row)
        if found:
            return found
        rid = ident(row)
        if rid and id_key(rid) in ids:
            return rid
        return None

    return test


def _soql_test(patterns: list[_Pattern], objects: list[str], api: Sequence[str]) -> Callable[[Row], str | None]:
    wanted = {o.lower() for o in objects}

    def test(row: Row) -> str | None:
        if api and row.api() not in api:
            return None
        query = row.query() or row.text
        if wanted:
            entities = [e.lower() for e in row.entities()]
            if not wanted.intersection(entities):
                return None
            op = (row.operation() or "").lower()
            if op and not any(word in op for word in READ_OPERATIONS):
                return None
        if patterns:
            if not query or not any(p.text.search(query) for p in patterns):
                return None
            return one_line(query, QUERY_CHARS)
        return one_line(query, QUERY_CHARS) if query else ", ".join(row.entities())

    return test
