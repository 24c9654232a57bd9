"""Indicators of compromise as data, hunted through the preserved evidence, and "what did they take?".

Indicator files are TOML (docs/forensics.md): published addresses, ranges, user agents, connected apps,
usernames and SOQL patterns, each with its sources and a time window. The hunt reads only the evidence store
(offline; `--org` collects first, then hunts the same way), so every hit names a preserved file, a line and a
record and can be re-derived later. Indicators that also describe normal traffic (the abused app's name, a
COUNT() query) are `role = "context"`: they annotate hits but never make one alone, so the normal
integrations stay out of the findings.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import tempfile
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from app.clock import format_instant
from app.errors import NotFoundError, UsageError
from app.evidence import ID_LEN, hash_file
from app.evidence_rows import (
    FMT_INDICATORS,
    EvidenceFile,
    Row,
    directory,
    evidence_files,
    id_key,
    iter_rows,
)
from app.incident import Incident
from app.journal import Entry, Lookup
from app.redaction import redact
from app.tomlpos import TomlPositions, decode_error

DATA_DIR = Path(__file__).parent / "data" / "indicators"
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


def _resolve(base: Path, name: str) -> Path:
    p = Path(name).expanduser()
    return p if p.is_absolute() else base / p


def shipped_indicator_files() -> list[Path]:
    return sorted(DATA_DIR.glob("*.toml"))


def find_indicator_file(name: str) -> Path:
    """A path, or the name of a shipped file (`chat-vendor-theft`)."""
    p = Path(name).expanduser()
    if p.exists():
        return p
    for candidate in (DATA_DIR / name, DATA_DIR / f"{name}.toml"):
        if candidate.is_file():
            return candidate
    shipped = ", ".join(f.stem for f in shipped_indicator_files())
    raise NotFoundError(f"{name}: no such indicator file (shipped: {shipped})")


def _where(loc: tuple[str | int, ...]) -> str:
    """("indicator", 2, "kind") -> "indicator 3: kind" (tables counted from 1, as a reader counts them)."""
    parts: list[str] = []
    for p in loc:
        if isinstance(p, int) and parts:
            parts[-1] = f"{parts[-1]} {p + 1}"
        else:
            parts.append(str(p))
    return ": ".join(parts) or "document"


def load_indicators(path: Path) -> IndicatorSet:
    """Read, validate and compile an indicator file; every problem is reported as FILE:LINE: message."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFoundError(f"{path}: no such indicator file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise IndicatorError(f"{path}: unreadable ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        pos, message = decode_error(exc, text)
        raise IndicatorError(f"{path}:{pos.line}: {message}") from None
    positions = TomlPositions(text)
    try:
        model = IndicatorSet.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            pos = positions.enclosing(loc) if err["type"] == "missing" else positions.locate(loc)
            problems.append(f"{path}:{pos.line}: {_where(loc)}: {err['msg']}")
        raise IndicatorError("\n".join(problems)) from None
    model._path = path
    problems: list[str] = []

    def report(loc: tuple[str | int, ...], message: str) -> None:
        problems.append(f"{path}:{positions.locate(loc).line}: {message}")

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
                report((*at, "sources", j), f"indicator {n + 1}: source {ref!r} is not defined in a [[source]] table")
        label = ind.id or f"{ind.kind}#{n + 1}"
        if ind.kind != "soql" and (ind.objects or ind.api):
            report(at, f"indicator {n + 1}: `objects` and `api` apply only to kind = \"soql\"")
        if ind.kind == "ip_list":
            if not ind.file or ind.values:
                report(at, f"indicator {n + 1}: kind = \"ip_list\" takes `file` (one address or range per line), "
                           "not `values`")
                continue
            file_loc = (*at, "file")
            nets = _read_ip_list(_resolve(base, ind.file), lambda msg, loc=file_loc: report(loc, msg))
            if nets is None:
                continue
            out.append(Compiled(model.name, label, ind, _ip_test(nets)))
            continue
        if ind.file:
            report((*at, "file"), f"indicator {n + 1}: `file` is only for kind = \"ip_list\"")
        if not ind.values and not (ind.kind == "soql" and (ind.objects or ind.api)):
            report((*at, "values"), f"indicator {n + 1}: `values` is empty")
            continue
        if ind.kind == "ip":
            if ind.match:
                report((*at, "match"), f"indicator {n + 1}: `match` does not apply to addresses")
            nets = []
            for j, value in enumerate(ind.values):
                try:
                    nets.append(ipaddress.ip_network(value.strip(), strict=False))
                except ValueError:
                    report((*at, "values", j), f"indicator {n + 1}: {value!r} is not an IP address or CIDR range")
            out.append(Compiled(model.name, label, ind, _ip_test(nets)))
            continue
        mode = ind.match or DEFAULT_MATCH[ind.kind]
        patterns: list[_Pattern] = []
        for j, value in enumerate(ind.values):
            if not value.strip():
                report((*at, "values", j), f"indicator {n + 1}: empty value")
                continue
            try:
                patterns.append(_pattern(value, mode))
            except re.error as exc:
                report((*at, "values", j), f"indicator {n + 1}: {value!r} is not a valid regular expression ({exc})")
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
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        report(f"address list {path}: {exc.strerror or exc}")
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

    field: re.Pattern[str]
    text: re.Pattern[str]
    exact: bool
    literal: str = ""

    def on_field(self, value: str) -> bool:
        return bool(self.field.fullmatch(value.strip()) if self.exact else self.field.search(value))


def _pattern(value: str, mode: MatchMode) -> _Pattern:
    if mode == "regex":
        rx = re.compile(value)
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


def _named_test(patterns: list[_Pattern], raw: list[str], name: Callable[[Row], str | None],
                ident: Callable[[Row], str | None]) -> Callable[[Row], str | None]:
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


def _soql_test(patterns: list[_Pattern], objects: list[str], api: list[str]) -> Callable[[Row], str | None]:
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
            return _short(query)
        return _short(query) if query else ", ".join(row.entities())

    return test


def _short(text: str, n: int = QUERY_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


# ---------------------------------------------------------------------------------------------------------
# Hunting
# ---------------------------------------------------------------------------------------------------------


class Hit(BaseModel):
    key: str
    evidence_id: str
    file: str
    line: int
    record_id: str | None
    source: str
    at: str | None
    indicators: list[str]
    context: list[str] = Field(default_factory=list)
    ip: str | None = None
    user_agent: str | None = None
    app: str | None = None
    username: str | None = None
    objects: list[str] = Field(default_factory=list)
    rows: int | None = None
    query: str | None = None
    action: str = ""

    def title(self) -> str:
        who = self.username or self.app or "?"
        return _short(f"{self.source} by {who} from {self.ip or '?'}: {self.action}", 200)


class HuntResult(BaseModel):
    indicator_sets: list[str]
    window: str
    files_searched: int
    rows_searched: int
    hits: list[Hit]
    leads: list[Hit] = Field(default_factory=list)  # context-only matches (not findings)
    recorded: int | None = None


def window_of(sets: list[IndicatorSet], since: datetime | None = None, until: datetime | None = None) -> Window:
    """The union of the sets' windows, narrowed or replaced by --since/--until."""
    starts = [s.window.start if s.window else None for s in sets]
    ends = [s.window.end if s.window else None for s in sets]
    start = None if any(x is None for x in starts) else min(x for x in starts if x is not None)
    end = None if any(x is None for x in ends) else max(x for x in ends if x is not None)
    return Window(start=since or start, end=until or end)


def match_row(row: Row, compiled: Iterable[Compiled]) -> tuple[list[str], list[str]]:
    hits: list[str] = []
    context: list[str] = []
    for c in compiled:
        found = c.test(row)
        if found:
            (hits if c.role == "hit" else context).append(f"{c.set_name}/{c.label}: {found}")
    return hits, context


def _hit(row: Row, indicators: list[str], context: list[str]) -> Hit:
    query = row.query()
    if query is None and row.text:
        query = row.text
    uas = row.user_agents()
    return Hit(
        key=f"{row.evidence_id}:{row.line}",
        evidence_id=row.evidence_id,
        file=row.file,
        line=row.line,
        record_id=row.record_id,
        source=row.source,
        at=format_instant(row.at) if row.at else None,
        indicators=[redact(i) for i in indicators],
        context=[redact(i) for i in context],
        ip=next((ip for ip in row.ips()), None),
        user_agent=uas[0] if uas else None,
        app=row.app(),
        username=row.username(),
        objects=row.entities(),
        rows=row.rows(),
        query=redact(_short(query)) if query else None,
        action=redact(_short(_action(row, query), 160)),
    )


def _action(row: Row, query: str | None) -> str:
    """What the row records, in a few words: the query, else the operation, object, resource and outcome."""
    if query:
        return query
    parts = [p for p in (row.operation() or row.first(("HTTP_METHOD",)), ", ".join(row.entities())) if p]
    if not parts and "login" in row.source.lower():
        parts.append(row.first(("LoginType", "LOGIN_TYPE")) or "login")
        if sub := row.first(("LoginSubType",)):
            parts.append(f"({sub})")
    uri = row.first(("URI", "API_RESOURCE"))
    if uri and (not row.entities() or "API_RESOURCE" in row.fields):
        parts.append(uri)
    state = row.first(("JOB_STATE", "Status", "LOGIN_STATUS"))
    if state:
        parts.append(f"[{state}]")
    return " ".join(parts) or row.source


def scan(incident: Incident, sets: list[IndicatorSet], window: Window,
         progress: Callable[[int], None] | None = None) -> Iterator[tuple[Row, list[str], list[str]]]:
    """Every preserved row with the indicators it matched (hit-role, context-role); none outside the window.

    A record preserved more than once (the same Id in two collections) is yielded once, from the file that
    preserved it first."""
    compiled = [c for s in sets for c in s.compiled]
    users, apps = directory(incident)
    seen: set[int] = set()  # hashes, not tuples: a hunt may cover millions of rows
    for n, row in enumerate(iter_rows(incident), 1):
        if progress and n % 5000 == 0:
            progress(n)
        if row.record_id:  # one record preserved twice (two collections) is one finding, from its first copy
            identity = hash((row.source, row.record_id, row.line if row.text else 0))
            if identity in seen:
                continue
            seen.add(identity)
        if not window.contains(row.at):
            yield row, [], []
            continue
        row.name_from(users, apps)
        hits, context = match_row(row, compiled)
        yield row, hits, context


def hunt(
    incident: Incident,
    sets: list[IndicatorSet],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    leads: bool = False,
    progress: Callable[[int], None] | None = None,
) -> HuntResult:
    """Search every preserved file (offline) for the indicators of `sets`."""
    if not sets:
        raise UsageError("hunt needs at least one indicator file")
    window = window_of(sets, since, until)
    hits: list[Hit] = []
    lead_list: list[Hit] = []
    rows = 0
    files: set[str] = set()
    for row, matched, context in scan(incident, sets, window, progress):
        rows += 1
        files.add(row.evidence_id)
        if matched:
            hits.append(_hit(row, matched, context))
        elif context and leads:
            lead_list.append(_hit(row, [], context))
    hits.sort(key=lambda h: (h.at or "", h.key))
    return HuntResult(
        indicator_sets=[s.name for s in sets],
        window=window.describe(),
        files_searched=len(files),
        rows_searched=rows,
        hits=hits,
        leads=lead_list,
    )


def record_hunt(incident: Incident, result: HuntResult, sets: list[IndicatorSet], actor: str) -> int:
    """Preserve the indicator files, journal the run and each hit not recorded before; returns the new hits."""
    known = incident.journal.state("evidence")
    indicator_evidence: list[str] = []
    for s in sets:
        for path in s.files():
            sha, _ = hash_file(path)
            if sha[:ID_LEN] not in known:
                incident.add_evidence(path, actor, note=f"indicators used by hunt ({s.name})",
                                      source={"format": FMT_INDICATORS, "indicator_set": s.name})
            indicator_evidence.append(sha[:ID_LEN])
    recorded = incident.journal.state("hunt")
    new = [h for h in result.hits if h.key not in recorded]
    items: list[tuple[str, dict[str, Any], str]] = [(
        "hunt.run",
        {
            "indicator_sets": result.indicator_sets,
            "indicator_evidence": indicator_evidence,
            "window": result.window,
            "files_searched": result.files_searched,
            "rows_searched": result.rows_searched,
            "hits": len(result.hits),
            "new_hits": len(new),
        },
        actor,
    )]
    for h in new:
        data = h.model_dump(exclude_none=True, exclude={"context"} if not h.context else set())
        data["title"] = h.title()
        items.append(("hunt.hit", _masked(data), actor))
    incident.journal.append_many(items)
    result.recorded = len(new)
    return len(new)


def _masked(value: Any) -> Any:
    """Credential-shaped text masked before journaling (the evidence file keeps the original)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def project_hit(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    d = entry.data
    yield "hunt", d["key"], {
        "seq": entry.seq,
        "at": d.get("at"),
        "evidence_id": d["evidence_id"],
        "line": d["line"],
        "record_id": d.get("record_id"),
        "indicators": d["indicators"],
        "title": d.get("title"),
    }


def recorded_indicator_sets(incident: Incident) -> list[IndicatorSet]:
    """The indicator files preserved by recorded hunts, loaded from the evidence store (offline)."""
    files = {ev.evidence_id: ev for ev in evidence_files(incident)}
    out: dict[str, IndicatorSet] = {}
    for entry in incident.journal.entries(kind="hunt.run"):
        used = [files[eid] for eid in entry.data.get("indicator_evidence", []) if eid in files]
        lists = [ev for ev in used if not ev.name.endswith(".toml")]
        for ev in used:
            if ev.name.endswith(".toml") and ev.evidence_id not in out:
                out[ev.evidence_id] = _load_preserved(incident, ev, lists)
    return list(out.values())


def _load_preserved(incident: Incident, toml: EvidenceFile, lists: list[EvidenceFile]) -> IndicatorSet:
    """An indicator file from the store, beside the address lists preserved by the same hunt run."""
    with tempfile.TemporaryDirectory(prefix="warroom-ioc-") as tmp:
        for ev in [*lists, toml]:
            shutil.copyfile(incident.evidence.path_for(ev.sha256), Path(tmp) / ev.name)
        return load_indicators(Path(tmp) / toml.name)


# ---------------------------------------------------------------------------------------------------------
# What did they take?
# ---------------------------------------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Rows that record data leaving through the API: real-time events and the API, REST and Bulk event logs.
EXFIL_SOURCES = ("ApiEvent", "BulkApiResultEventStore", "EventLogFile/API", "EventLogFile/RestApi",
                 "EventLogFile/BulkApi", "EventLogFile/BulkApi2")
SAME_REQUEST = timedelta(seconds=2)  # an ApiEvent and an event-log row this close are one request


EXFIL_LOG_TYPES = ("API", "RestApi", "BulkApi", "BulkApi2")


def api_logs_preserved(incident: Incident) -> bool:
    """Whether any preserved file can say what was read (real-time API events or API event log files)."""
    for ev in evidence_files(incident):
        if ev.source.get("object") in ("ApiEvent", "BulkApiResultEventStore"):
            return True
        if ev.source.get("event_type") in EXFIL_LOG_TYPES:
            return True
        if not ev.source.get("format"):
            return True  # added by hand: it may hold API logs, so do not claim otherwise
    return False


class ExfilRow(BaseModel):
    """Per user (and the apps it used) and object: rows read and queries or jobs run in the window."""

    actor: str
    app: str | None
    username: str | None
    object: str
    rows: int
    queries: int
    first_seen: str | None
    last_seen: str | None
    source_ips: list[str]
    sources: list[str]
    evidence: list[str]


def _is_read(row: Row) -> bool:
    """A query, an export or a bulk result download (describe, limits and writes are not data leaving)."""
    if row.source == "BulkApiResultEventStore":
        return True
    if _is_count_only(row):
        return True
    if row.query():
        return True
    op = (row.operation() or "").lower()
    if op:
        return any(word in op for word in ("query", "export", "retrieve", "search"))
    uri = str(row.fields.get("URI") or "")
    return bool(re.search(r"/query(All)?\b", uri))


def _is_count_only(row: Row) -> bool:
    q = row.query()
    return bool(q and re.match(r"(?i)\s*SELECT\s+COUNT\(\s*\)\s+FROM\b", q))


def _job_id(row: Row) -> str | None:
    return row.first(("JOB_ID", "JobId"))


def _user_key(row: Row) -> str:
    uid = row.user_id()
    return id_key(uid) if uid else (row.username() or "?").lower()


@dataclass
class _Acc:
    username: str | None
    object: str
    rows: int = 0
    queries: int = 0
    first: datetime | None = None
    last: datetime | None = None

    def __post_init__(self) -> None:
        self.apps: set[str] = set()
        self.ips: set[str] = set()
        self.sources: set[str] = set()
        self.evidence: set[str] = set()

    def add(self, row: Row, rows: int, queries: int) -> None:
        self.username = self.username or row.username()
        if row.app():
            self.apps.add(str(row.app()))
        self.rows += rows
        self.queries += queries
        if row.at:
            self.first = min(self.first, row.at) if self.first else row.at
            self.last = max(self.last, row.at) if self.last else row.at
        self.ips.update(row.ips()[:1])
        self.sources.add(row.source)
        self.evidence.add(row.evidence_id)


def exfiltration_table(
    incident: Incident,
    indicator_sets: list[IndicatorSet] | None = None,
    *,
    all_activity: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[ExfilRow]:
    """What was read, per user and object, from ApiEvent, BulkApiResultEventStore and the API, RestApi and
    Bulk event logs.

    Scope: rows matching `indicator_sets`; without them, the indicator files of the recorded hunts (the
    report's view); `all_activity` takes every API read in the window, attributed or not. Counting rules:
    COUNT() queries take no rows; a bulk job counts once, with its largest row count, however many state
    rows and result downloads it has; a request seen both as an ApiEvent and in an event log file counts once.
    """
    if all_activity:
        sets: list[IndicatorSet] = []
        window = Window(start=since, end=until)
    else:
        sets = indicator_sets if indicator_sets is not None else recorded_indicator_sets(incident)
        if not sets:
            return []
        window = window_of(sets, since, until)
    selected = [row for row, matched, _context in scan(incident, sets, window)
                if row.source in EXFIL_SOURCES and window.contains(row.at) and (all_activity or matched)
                and _is_read(row)]
    selected.sort(key=lambda r: (r.source != "ApiEvent", r.at or _EPOCH))
    accs: dict[tuple[str, str], _Acc] = {}
    jobs: dict[str, tuple[_Acc, int]] = {}
    api_events: dict[tuple[str, str, int], list[datetime]] = {}

    def acc_for(row: Row) -> _Acc:
        obj = (row.entities() or ["?"])[0]
        key = (_user_key(row), obj.lower())
        if key not in accs:
            accs[key] = _Acc(row.username(), obj)
        return accs[key]

    for row in selected:
        rows = 0 if _is_count_only(row) else (row.rows() or 0)
        job = _job_id(row)
        if job:  # several state rows and downloads per job: count it once, with its largest row count
            if job in jobs:
                acc, counted = jobs[job]
                acc.add(row, max(0, rows - counted), 0)
                jobs[job] = (acc, max(counted, rows))
            else:
                acc = acc_for(row)
                acc.add(row, rows, 1)
                jobs[job] = (acc, rows)
            continue
        key = (_user_key(row), ",".join(e.lower() for e in row.entities()), rows)
        if row.source == "ApiEvent":
            if row.at:
                api_events.setdefault(key, []).append(row.at)
        elif row.at and any(abs(row.at - t) <= SAME_REQUEST for t in api_events.get(key, [])):
            continue
        acc_for(row).add(row, rows, 1)
    out = []
    for acc in accs.values():
        apps = ", ".join(sorted(acc.apps))
        out.append(ExfilRow(
            actor=f"{acc.username} ({apps})" if apps and acc.username else apps or acc.username or "?",
            app=apps or None,
            username=acc.username,
            object=acc.object,
            rows=acc.rows,
            queries=acc.queries,
            first_seen=format_instant(acc.first) if acc.first else None,
            last_seen=format_instant(acc.last) if acc.last else None,
            source_ips=sorted(acc.ips),
            sources=sorted(acc.sources),
            evidence=sorted(acc.evidence),
        ))
    out.sort(key=lambda r: (r.actor, -r.rows, r.object))
    return out
