"""Reading preserved evidence back as rows: event-log CSV, JSON query results and debug-log text.

Hunting and the exfiltration table work offline on the evidence store, never on live answers, so a finding
can always be re-derived from exactly what was preserved. Each row knows the evidence it came from and its
line in that file. Field names differ by source (ApiEvent `SourceIp`, EventLogFile `CLIENT_IP`...), so the
accessors below look through the known spellings instead of every caller guessing.
"""

from __future__ import annotations

import csv
import ipaddress
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from app.incident.core import Incident

# What collection writes into `evidence.acquired` source.format; other files are recognised by content.
FMT_RECORDS = "json-records"  # {"object":..., "soql":..., "records": [ one record per line ]}
FMT_ELF = "elf-csv"  # an EventLogFile LogFile body, byte for byte
FMT_APEXLOG = "apexlog"  # an ApexLog body, byte for byte
FMT_INDICATORS = "indicators"  # an indicator file used by a recorded hunt (not searched)

# Reference data used to name users and apps; searched for nothing, since it is not activity.
DIRECTORY_OBJECTS = frozenset({"User", "ConnectedApplication"})

_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6 = re.compile(r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{1,4}:){2,7}[0-9A-Fa-f]{1,4}(?![0-9A-Fa-f:])")

SALESFORCE_IP = "Salesforce.com IP"  # CLIENT_IP of requests Salesforce itself relays (documented)

# Known spellings of each attribute, in order of preference (real-time events, objects, event-log CSV).
_IP = ("SourceIp", "CLIENT_IP", "SOURCE_IP")
_UA = ("UserAgent", "USER_AGENT", "Browser", "BROWSER_TYPE", "Client", "CLIENT_NAME")
_APP = ("Application", "AppName", "CONNECTED_APP_NAME")
_APP_ID = ("ConnectedAppId", "CONNECTED_APP_ID", "ApplicationId")
_USERNAME = ("Username", "USER_NAME", "CreatedBy.Username", "LogUser.Username", "DelegateUser")
_USER_ID = ("UserId", "USER_ID", "USER_ID_DERIVED", "LogUserId", "CreatedById", "UsersId")
_QUERY = ("Query",)
_ENTITY = ("QueriedEntities", "ENTITY_NAME", "ENTITY_TYPE", "SobjectType")
_ROWS = ("RowsProcessed", "ROWS_PROCESSED", "RowsReturned", "RECORDS_PROCESSED", "ROW_COUNT")
_OPERATION = ("Operation", "OPERATION_TYPE", "METHOD_NAME", "METHOD", "Action")
_API = ("ApiType", "API_TYPE", "EVENT_TYPE")
_TIME = ("EventDate", "LoginTime", "CreatedDate", "TIMESTAMP_DERIVED", "TIMESTAMP", "StartTime", "LogDate")
_ID = ("EventIdentifier", "Id", "REQUEST_ID", "JOB_ID")


@dataclass(slots=True)
class Row:
    """One record of one preserved file. `fields` holds the values exactly as stored (flattened)."""

    evidence_id: str
    file: str
    line: int
    source: str
    fields: dict[str, Any]
    at: datetime | None = None
    record_id: str | None = None
    text: str | None = None  # a line of free text (debug logs); fields then carry the log's metadata
    directory: bool = False
    _names: dict[str, str] = field(default_factory=dict, repr=False)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)  # each indicator asks again

    def first(self, names: tuple[str, ...]) -> str | None:
        for name in names:
            value = self.fields.get(name)
            if value not in (None, ""):
                return str(value)
        return None

    def every(self, names: tuple[str, ...]) -> list[str]:
        return [str(v) for n in names if (v := self.fields.get(n)) not in (None, "")]

    # -- the attributes indicators and the exfiltration table use ------------------------------------------

    def ips(self) -> list[str]:
        """Addresses the row names. Salesforce writes the literal "Salesforce.com IP" in CLIENT_IP for its own
        hops (an OAuth token-endpoint login); the caller's address is then in SOURCE_IP."""
        found = self._cache.get("ips")
        if found is None:
            found = [ip for ip in self.every(_IP) if ip != SALESFORCE_IP]
            if self.text:
                found += _IPV4.findall(self.text) + _IPV6.findall(self.text)
            self._cache["ips"] = found
        return found

    def user_agents(self) -> list[str]:
        found = self._cache.get("ua")
        if found is None:
            found = self._cache["ua"] = self.every(_UA)
        return found

    def app(self) -> str | None:
        return self.first(_APP) or self._names.get("app")

    def app_id(self) -> str | None:
        return self.first(_APP_ID)

    def username(self) -> str | None:
        return self.first(_USERNAME) or self._names.get("username")

    def user_id(self) -> str | None:
        return self.first(_USER_ID)

    def query(self) -> str | None:
        if "query" not in self._cache:
            self._cache["query"] = self._query()
        return self._cache["query"]

    def _query(self) -> str | None:
        q = self.first(_QUERY)
        if q:
            return q
        uri = self.fields.get("URI") or self.fields.get("Uri")
        if uri and "q=" in str(uri):
            values = parse_qs(urlsplit(str(uri)).query).get("q")
            if values:
                return values[0]
        return None

    def entities(self) -> list[str]:
        if "entities" not in self._cache:
            raw = self.first(_ENTITY)
            if not raw:
                q = self.query()
                m = re.search(r"(?i)\bFROM\s+([A-Za-z0-9_]+)", q) if q else None
                found = [m.group(1)] if m else []
            else:
                found = [e.strip() for e in re.split(r"[,;]", raw) if e.strip()]
            self._cache["entities"] = found
        return self._cache["entities"]

    def rows(self) -> int | None:
        raw = self.first(_ROWS)
        if raw is None:
            return None
        try:
            return int(float(raw))
        except ValueError:
            return None

    def operation(self) -> str | None:
        return self.first(_OPERATION)

    def api(self) -> str | None:
        """The API family: bulk, rest, soap, or None when the row does not say."""
        raw = " ".join(self.every(_API)) + " " + self.source
        low = raw.lower().replace(" ", "")
        if "bulk" in low:
            return "bulk"
        if "rest" in low or re.search(r"(?:^|\s)R(?:\s|$)", raw):
            return "rest"
        if "soap" in low or "/api" in low or re.search(r"(?:^|\s)[EP](?:\s|$)", raw):
            return "soap"
        return None

    def name_from(self, users: dict[str, str], apps: dict[str, str]) -> None:
        """Fill in username/app names from the preserved directory when the row carries only ids."""
        if not self.first(_USERNAME):
            uid = self.user_id()
            if uid and (name := users.get(id_key(uid))):
                self._names["username"] = name
        if not self.first(_APP):
            aid = self.app_id()
            if aid and (name := apps.get(id_key(aid))):
                self._names["app"] = name


def id_key(value: str) -> str:
    """15- and 18-character forms of one Salesforce Id compare equal."""
    value = value.strip()
    return value[:15] if len(value) in (15, 18) and value.isalnum() else value


def parse_time(value: Any) -> datetime | None:
    """Salesforce times: ISO 8601 (`2025-08-17T11:11:00.000+0000`, `...Z`) or event-log `20250817111100.123`."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    if len(text) > 10 and text[4:5] == "-" and text[10:11] == "T":
        try:  # the common case (ISO 8601 with Z or an offset): no regex
            dt = datetime.fromisoformat(text)
            return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
        except ValueError:
            pass
    try:
        if re.fullmatch(r"\d{14}(\.\d+)?", text):
            return datetime.strptime(text[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return datetime.fromisoformat(text).replace(tzinfo=UTC)
        text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text.replace("Z", "+00:00"))
        dt = datetime.fromisoformat(text)
        return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    except ValueError:
        return None


def valid_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------------------------------------------------
# The evidence an incident holds, and how to read each file
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EvidenceFile:
    evidence_id: str
    sha256: str
    name: str
    source: dict[str, Any]
    seq: int


def evidence_files(incident: Incident, since: int = 0) -> list[EvidenceFile]:
    """Every preserved file once (the first acquisition of each content), in journal order; with `since`, only
    acquisitions journaled after that entry (a content acquired before may then appear again)."""
    seen: set[str] = set()
    out: list[EvidenceFile] = []
    for entry in incident.journal.entries(kind="evidence.acquired", since=since):
        d = entry.data
        if d["evidence_id"] in seen:
            continue
        seen.add(d["evidence_id"])
        out.append(
            EvidenceFile(
                d["evidence_id"], d["sha256"], d.get("name") or d["evidence_id"], d.get("source") or {}, entry.seq
            )
        )
    return out


def sniff(path: Path) -> str | None:
    """What a file holds, judged by its first bytes, for files added by hand (`evidence add`)."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text[:1] in (b"{", b"["):
        return FMT_RECORDS
    first = text.split(b"\n", 1)[0].upper()
    if b"EVENT_TYPE" in first and b"," in first:
        return FMT_ELF
    if b"APEX_CODE" in head or b"|EXECUTION_STARTED" in head or b"|USER_DEBUG|" in head:
        return FMT_APEXLOG
    return None


def iter_rows(incident: Incident, *, include_directory: bool = False) -> Iterator[Row]:
    """Rows of every searchable file in the evidence store, streamed file by file."""
    for ev in evidence_files(incident):
        yield from read_file(incident, ev, include_directory=include_directory)


def read_file(incident: Incident, ev: EvidenceFile, *, include_directory: bool = False) -> Iterator[Row]:
    path = incident.evidence.path_for(ev.sha256)
    if not path.exists():
        return
    fmt = ev.source.get("format") or sniff(path)
    if fmt == FMT_ELF:
        yield from _read_csv(path, ev)
    elif fmt == FMT_APEXLOG:
        yield from _read_apexlog(path, ev)
    elif fmt == FMT_RECORDS:
        for row in _read_json(path, ev):
            if include_directory or not row.directory:
                yield row


def _read_csv(path: Path, ev: EvidenceFile) -> Iterator[Row]:
    event_type = ev.source.get("event_type")
    with path.open("r", encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None:  # reads the header row
            return
        start = reader.line_num + 1
        for rec in reader:
            line = start
            start = reader.line_num + 1
            source = f"EventLogFile/{rec.get('EVENT_TYPE') or event_type or '?'}"
            row = Row(ev.evidence_id, ev.name, line, source, dict(rec))
            row.at = parse_time(rec.get("TIMESTAMP_DERIVED")) or parse_time(rec.get("TIMESTAMP"))
            row.record_id = row.first(("REQUEST_ID", "JOB_ID", "BATCH_ID"))
            yield row


def _read_apexlog(path: Path, ev: EvidenceFile) -> Iterator[Row]:
    meta = {k: v for k, v in (ev.source.get("record") or {}).items() if not isinstance(v, dict | list)}
    at = parse_time(meta.get("StartTime"))
    record_id = meta.get("Id") or ev.source.get("record_id")
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for n, text in enumerate(fh, 1):
            text = text.rstrip("\r\n")
            if text.strip():
                yield Row(ev.evidence_id, ev.name, n, "ApexLog", meta, at=at, record_id=record_id, text=text)


def flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """`{"CreatedBy": {"Username": "x"}}` -> `{"CreatedBy.Username": "x"}`; drops `attributes`."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key == "attributes":
            continue
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _record_row(ev: EvidenceFile, line: int, obj: str, record: dict[str, Any]) -> Row:
    attrs = record.get("attributes")
    if not isinstance(attrs, dict):
        attrs = {}
    obj = attrs.get("type") or obj
    fields = flatten(record)
    row = Row(ev.evidence_id, ev.name, line, obj, fields, directory=obj in DIRECTORY_OBJECTS)
    for name in _TIME:
        if (at := parse_time(fields.get(name))) is not None:
            row.at = at
            break
    row.record_id = row.first(_ID)
    if not row.record_id and attrs.get("url"):
        row.record_id = str(attrs["url"]).rstrip("/").rsplit("/", 1)[-1]
    return row


def _read_json(path: Path, ev: EvidenceFile) -> Iterator[Row]:
    obj = ev.source.get("object") or ""
    if ev.source.get("format") == FMT_RECORDS:
        yield from _read_json_lines(path, ev, obj)
        return
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    for line, label, record in _json_records(text):
        yield _record_row(ev, line, label or obj, record)


def _read_json_lines(path: Path, ev: EvidenceFile, obj: str) -> Iterator[Row]:
    """The collection layout: a header line, then one record per line (each after the first starts with the
    separating comma), then a closing line; valid JSON overall, and readable one line at a time."""
    with path.open("r", encoding="utf-8") as fh:
        for n, text in enumerate(fh, 1):
            text = text.strip().lstrip(",").rstrip(",")
            if not text.startswith("{") or n == 1:
                continue
            try:
                record = json.loads(text)
            except ValueError:
                continue
            if isinstance(record, dict):
                yield _record_row(ev, n, obj, record)


_WS = re.compile(r"\s*")


def _skip_ws(text: str, i: int) -> int:
    """The index of the first non-blank character at or after `i`."""
    m = _WS.match(text, i)  # `\s*` always matches
    return m.end() if m else i


def _json_records(text: str) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """(line, list name, record) for each object in the document's top-level arrays (any JSON layout)."""
    decoder = json.JSONDecoder()
    line_at = _LineIndex(text)

    def array(i: int, label: str) -> Iterator[tuple[int, str, dict[str, Any]]]:
        i = _skip_ws(text, i + 1)
        while i < len(text) and text[i] != "]":
            value, end = decoder.raw_decode(text, i)
            if isinstance(value, dict):
                yield line_at(i), label, value
            i = _skip_ws(text, end)
            if i < len(text) and text[i] == ",":
                i = _skip_ws(text, i + 1)

    try:
        i = _skip_ws(text, 0)
        if text[i : i + 1] == "[":
            yield from array(i, "")
        elif text[i : i + 1] == "{":
            i = _skip_ws(text, i + 1)
            while i < len(text) and text[i] != "}":
                key, i = decoder.raw_decode(text, i)
                i = _skip_ws(text, i) + 1  # ':'
                i = _skip_ws(text, i)
                if text[i : i + 1] == "[":
                    label = "" if key == "records" else str(key)
                    yield from array(i, label)
                    depth_end = _skip_value(decoder, text, i)
                else:
                    depth_end = _skip_value(decoder, text, i)
                i = _skip_ws(text, depth_end)
                if i < len(text) and text[i] == ",":
                    i = _skip_ws(text, i + 1)
    except (ValueError, IndexError):
        return


def _skip_value(decoder: json.JSONDecoder, text: str, i: int) -> int:
    return decoder.raw_decode(text, i)[1]


class _LineIndex:
    def __init__(self, text: str) -> None:
        self._starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def __call__(self, offset: int) -> int:
        import bisect

        return bisect.bisect_right(self._starts, offset)


def directory(incident: Incident) -> tuple[dict[str, str], dict[str, str]]:
    """User id -> username and connected-app id -> name, from every preserved User/ConnectedApplication row."""
    users: dict[str, str] = {}
    apps: dict[str, str] = {}
    for ev in evidence_files(incident):
        if ev.source.get("format"):
            if ev.source.get("object") not in DIRECTORY_OBJECTS:
                continue
        elif (path := incident.evidence.path_for(ev.sha256)).exists() and sniff(path) != FMT_RECORDS:
            continue
        for row in read_file(incident, ev, include_directory=True):
            if row.source == "User" and row.fields.get("Id") and row.fields.get("Username"):
                users[id_key(str(row.fields["Id"]))] = str(row.fields["Username"])
            elif row.source == "ConnectedApplication" and row.fields.get("Id") and row.fields.get("Name"):
                apps[id_key(str(row.fields["Id"]))] = str(row.fields["Name"])
    return users, apps
