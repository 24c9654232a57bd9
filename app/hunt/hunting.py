"""The hunt: preserved evidence rows matched against indicator sets, hits that name their file, line and record,
and `hunt.hit` entries recorded with the indicator files they came from."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel, Field

from app.base.clock import format_instant
from app.base.errors import UsageError
from app.base.redaction import redact
from app.base.text import one_line
from app.evidence.rows import FMT_INDICATORS, EvidenceFile, Row, directory, evidence_files, iter_rows
from app.evidence.store import ID_LEN, hash_file
from app.hunt.candidates import candidate_rows
from app.hunt.index import HuntIndex, IndexUnavailable, current_index
from app.hunt.indicators import QUERY_CHARS, Compiled, IndicatorSet, Window, load_indicators
from app.incident.core import Incident
from app.incident.record import evidence_raw
from app.journal.entries import Entry
from app.journal.registry import Lookup

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
        return one_line(f"{self.source} by {who} from {self.ip or '?'}: {self.action}", 200)


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
        query=redact(one_line(query, QUERY_CHARS)) if query else None,
        action=redact(one_line(_action(row, query), 160)),
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
    state = row.first(("JOB_STATUS", "Status", "LOGIN_STATUS"))
    if state:
        parts.append(f"[{state}]")
    return " ".join(parts) or row.source


def scan(
    incident: Incident,
    sets: list[IndicatorSet],
    window: Window,
    progress: Callable[[int], None] | None = None,
    *,
    index: HuntIndex | None = None,
    sources: tuple[str, ...] | None = None,
) -> Iterator[tuple[Row, list[str], list[str]]]:
    """Preserved rows with the indicators they matched (hit-role, context-role); none outside the window.

    Without `index`, every preserved row (the plain scan: each file re-read). With the analysis database, only
    the rows some indicator could match (or, with `sources`, every row of those event types), through the same
    matchers: the matches are the plain scan's. A record preserved more than once (the same Id in two
    collections) is yielded once, from the file that preserved it first."""
    compiled = [c for s in sets for c in s.compiled]
    users, apps = directory(incident)
    if index is not None:
        for row in candidate_rows(index, sets, window, users, apps, sources):
            row.name_from(users, apps)
            hits, context = match_row(row, compiled)
            yield row, hits, context
        return
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


@contextlib.contextmanager
def analysis_index(incident: Incident, use_index: bool = True) -> Iterator[HuntIndex | None]:
    """The incident's analysis database caught up with the evidence, or None (asked for the plain scan, or the
    database cannot be written here: a read-only copy of an incident is still hunted, by the plain scan)."""
    index = None
    if use_index:
        with contextlib.suppress(IndexUnavailable):
            index = current_index(incident)
    try:
        yield index
    finally:
        if index is not None:
            index.close()


def hunt(
    incident: Incident,
    sets: list[IndicatorSet],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    leads: bool = False,
    progress: Callable[[int], None] | None = None,
    use_index: bool = True,
) -> HuntResult:
    """Search every preserved file (offline) for the indicators of `sets`: through the analysis database
    (`app.hunt.index`), or with `use_index=False` by re-reading every file; both give the same result."""
    if not sets:
        raise UsageError("hunt needs at least one indicator file")
    window = window_of(sets, since, until)
    hits: list[Hit] = []
    lead_list: list[Hit] = []
    rows = 0
    files: set[str] = set()
    with analysis_index(incident, use_index) as index:
        for row, matched, context in scan(incident, sets, window, progress, index=index):
            rows += 1
            files.add(row.evidence_id)
            if matched:
                hits.append(_hit(row, matched, context))
            elif context and leads:
                lead_list.append(_hit(row, [], context))
        files_searched, rows_searched = index.totals() if index is not None else (len(files), rows)
    hits.sort(key=lambda h: (h.at or "", h.key))
    return HuntResult(
        indicator_sets=[s.name for s in sets],
        window=window.describe(),
        files_searched=files_searched,
        rows_searched=rows_searched,
        hits=hits,
        leads=lead_list,
    )


def record_hunt(incident: Incident, result: HuntResult, sets: list[IndicatorSet], actor: str) -> int:
    """Preserve the indicator files, journal the run and each hit not recorded before; returns the new hits."""
    known = evidence_raw(incident.journal)
    indicator_evidence: list[str] = []
    for s in sets:
        for path in s.files():
            sha, _ = hash_file(path)
            if sha[:ID_LEN] not in known:
                incident.add_evidence(
                    path,
                    actor,
                    note=f"indicators used by hunt ({s.name})",
                    source={"format": FMT_INDICATORS, "indicator_set": s.name},
                )
            indicator_evidence.append(sha[:ID_LEN])
    recorded = incident.journal.state("hunt")
    new = [h for h in result.hits if h.key not in recorded]
    items: list[tuple[str, dict[str, Any], str]] = [
        (
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
        )
    ]
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
    yield (
        "hunt",
        d["key"],
        {
            "seq": entry.seq,
            "at": d.get("at"),
            "evidence_id": d["evidence_id"],
            "line": d["line"],
            "record_id": d.get("record_id"),
            "indicators": d["indicators"],
            "title": d.get("title"),
        },
    )


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
    """An indicator file from the store, beside the address lists preserved by the same hunt run.

    The copies stay in the incident directory (`indicators/<sha256>`): an address list named by the file is read
    when the indicators are used, after this returns."""
    folder = incident.dir / "indicators" / toml.sha256[:32]
    folder.mkdir(parents=True, exist_ok=True)
    for ev in [*lists, toml]:
        target = folder / _plain(ev.name)
        if not target.is_file() or hash_file(target)[0] != ev.sha256:
            tmp = folder / f".{_plain(ev.name)}.tmp"
            shutil.copyfile(incident.evidence.path_for(ev.sha256), tmp)
            tmp.replace(target)
    return load_indicators(folder / _plain(toml.name))


def _plain(name: str) -> str:
    """The last part of `name` alone ("." and ".." become "_"): a journaled name never points elsewhere."""
    last = PurePath(name).name
    return last if last not in ("", ".", "..") else "_"
