"""The integration-exposure inventory: one typed snapshot of an org's apps, tokens, users and their reach.

A snapshot is evidence: it is pulled once through the Salesforce adapter (or imported from a file written
earlier or from Data Loader CSV exports when the org is out of reach), stored byte for byte in the evidence
store and journaled by its SHA-256, so findings can always be re-derived from exactly what was seen.
Token values are never kept: each OAuth token is known by `ref`, a one-way fingerprint of its DeleteToken.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from app.errors import NotFoundError, UsageError
from app.inventory.access import (
    INTEGRATION_LICENSES,
    INTEGRATION_PROFILES,
    held_permission_sets,
    integration_users,
)
from app.inventory.mapping import (
    _TRUE,
    DEBUG_LOG_MAX_BYTES,
    OBJECTS,
    SHARING_FIELDS,
    Getter,
    _BadValue,
    _loose,
    _nested_getter,
    _Obj,
    _permission_flags,
    _special,
    _strict,
    scan_body,
    token_ref,
)
from app.inventory.models import (
    COLLECTIONS,
    FORMAT,
    FORMAT_VERSION,
    Assignment,
    AuditEvent,
    ConnectedApp,
    DebugLevel,
    DebugLog,
    ExternalCredential,
    ExternalDataSource,
    FieldClassification,
    FieldPermission,
    InventoryError,
    Login,
    NamedCredential,
    Note,
    OAuthToken,
    ObjectPermission,
    Organization,
    Package,
    PermissionSet,
    Profile,
    RemoteSite,
    SensitiveHit,
    SharingRule,
    Snapshot,
    Source,
    TraceFlag,
    User,
    _source_summary,
)
from app.journal import Entry, Lookup

Progress = Callable[[str], None]


# --------------------------------------------------------------------------------------------------
# Pulling a snapshot through the Salesforce adapter.
# --------------------------------------------------------------------------------------------------

OAUTH_TOKEN_CAP = 2500  # rows one OauthToken query can return in total (queryMore included)
ID_CHUNK = 200  # Ids per `IN (...)` list, well under the SOQL length limit
LOGIN_LIMIT = 50_000
AUDIT_LIMIT = 5_000
DEBUG_LOG_LIMIT = 200
CLASSIFIED_OBJECTS = ("Account", "Contact", "Lead", "Case", "Opportunity")
SUPPORT_PROFILE_WORDS = ("support", "service", "agent", "helpdesk", "help desk", "call center", "contact center")


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _chunks(items: list[str], size: int = ID_CHUNK) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# --------------------------------------------------------------------------------------------------
# Importing: a snapshot file, or a directory of Data Loader CSV exports (one file per object).
# --------------------------------------------------------------------------------------------------

# Permission flags by lower-case name, to restore their case from upper-case Data Loader headers.
KNOWN_PERMISSIONS = (
    "ModifyAllData", "ViewAllData", "ApiEnabled", "ApiUserOnly", "ManageUsers", "ManageInternalUsers", "AuthorApex",
    "CustomizeApplication", "ViewSetup", "ModifyMetadata", "AssignPermissionSets", "ManageProfilesPermissionsets",
    "ResetPasswords", "ViewAllUsers", "ExportReport", "ViewEventLogFiles", "BulkApiHardDelete", "UseAnyApiClient",
    "CanApproveUninstalledApps", "ManageConnectedApps", "ViewDataLeakageEvents", "ManageSharing", "ManageRoles",
    "ManageIpAddresses", "ManageAuthProviders", "ManageNamedCredentials", "ManageRemoteAccess", "ViewAllProfiles",
    "InstallPackaging", "TransferAnyEntity", "ManageDataIntegrations", "PasswordNeverExpires",
)
_PERMISSION_CASE = {p.lower(): p for p in KNOWN_PERMISSIONS}

# Extra CSV files the importer understands besides OBJECTS.
CSV_EXTRA = ("Organization", "UserLogin")
MAX_SNAPSHOT_BYTES = 2 * 1024 * 1024 * 1024


def _validation_message(exc: ValidationError, data: Any) -> str:
    """`oauth_tokens[3].use_count (record 0CQ...): Input should be a valid integer` for the first error."""
    err = exc.errors()[0]
    loc = err["loc"]
    parts: list[str] = []
    for p in loc:
        if isinstance(p, int):
            parts[-1:] = [f"{parts[-1]}[{p}]"] if parts else [f"[{p}]"]
        else:
            parts.append(str(p))
    where = ".".join(parts) or "(top level)"
    record = ""
    if len(loc) >= 2 and isinstance(loc[0], str) and isinstance(loc[1], int) and isinstance(data, dict):
        try:
            item = data[loc[0]][loc[1]]
            ident = item.get("id") or item.get("ref") or item.get("name")
            if ident:
                record = f" (record {ident})"
        except (KeyError, IndexError, TypeError, AttributeError):
            pass
    more = f" (and {len(exc.errors()) - 1} more problem(s))" if len(exc.errors()) > 1 else ""
    return f"{where}{record}: {err['msg']}{more}"


def parse_snapshot(data: bytes, origin: str) -> Snapshot:
    """Full validation of snapshot JSON; errors name `origin` and the field or record."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InventoryError(f"{origin}: not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise InventoryError(f"{origin}: a snapshot is a JSON object")
    if doc.get("format") != FORMAT:
        raise InventoryError(f"{origin}: not a warroom inventory snapshot (format is {doc.get('format')!r}, "
                             f"expected {FORMAT!r})")
    version = doc.get("format_version")
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise InventoryError(f"{origin}: snapshot format_version {version} is newer than this warroom reads "
                             f"({FORMAT_VERSION}); upgrade warroom")
    try:
        return Snapshot.model_validate(doc)
    except ValidationError as exc:
        raise InventoryError(f"{origin}: {_validation_message(exc, doc)}") from None


def snapshot_bytes(snap: Snapshot) -> bytes:
    """The stored form: compact UTF-8 JSON in field order (the same snapshot always gives the same bytes)."""
    return snap.model_dump_json().encode("utf-8")


def _csv_files(directory: Path) -> dict[str, Path]:
    """Object name (canonical case) -> CSV file, matching file names case-insensitively."""
    known = {name.lower(): name for name in (*OBJECTS, *CSV_EXTRA)}
    out: dict[str, Path] = {}
    for path in sorted(directory.iterdir()):
        if path.is_file() and path.suffix.lower() == ".csv":
            name = known.get(path.stem.lower())
            if name:
                out[name] = path
    return out


def _read_csv(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row keyed by lower-cased header) for each data row; Data Loader headers are upper case."""
    try:
        fh = path.open("r", encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InventoryError(f"{path}: cannot read ({exc.strerror or exc})") from None
    with fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            return
        except (csv.Error, UnicodeDecodeError) as exc:
            raise InventoryError(f"{path}: line 1: not CSV ({exc})") from None
        keys = [h.strip().lower() for h in header]
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError) as exc:
                raise InventoryError(f"{path}: line {reader.line_num}: not CSV ({exc})") from None
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) > len(keys):
                raise InventoryError(f"{path}: line {reader.line_num}: {len(row)} columns but the header has "
                                     f"{len(keys)}")
            yield reader.line_num, dict(zip(keys, row, strict=False))


def _csv_records(obj: _Obj, path: Path, permission_fields: list[str] | None = None) -> list[Any]:
    out: list[Any] = []
    header_checked = False
    for line, row in _read_csv(path):
        if not header_checked:
            missing = [r for r in obj.required if r.lower() not in row]
            if missing:
                raise InventoryError(f"{path}: line 1: missing column {missing[0]} (needed for {obj.sobject})")
            header_checked = True

        def get(p: str, row: dict[str, str] = row) -> Any:
            return row.get(p.lower())

        current = ""
        try:
            values: dict[str, Any] = {}
            for attr, api_path, kind in obj.fields:
                current = api_path
                values[attr] = _special(obj, attr, api_path, get, _strict) if kind == "x" else _strict(
                    get(api_path), kind)
            for required in obj.required:
                current = required
                if _strict(get(required), "s") is None:
                    raise _BadValue("is empty")
            if permission_fields is not None:
                current = "Permissions*"
                values["permissions"] = _permission_flags(get, permission_fields, _strict)
        except _BadValue as exc:
            raise InventoryError(f"{path}: line {line}: column {current}: {exc}") from None
        out.append(obj.record(**{k: v for k, v in values.items() if v is not None}))
    return out


def import_csv_dir(directory: Path) -> Snapshot:
    """A snapshot from Data Loader exports named by object (OauthToken.csv, User.csv, PermissionSet.csv...)."""
    files = _csv_files(directory)
    if not files:
        expected = ", ".join(f"{n}.csv" for n in ("OauthToken", "User", "PermissionSet", "PermissionSetAssignment"))
        raise InventoryError(f"{directory}: no Data Loader exports found (expected files such as {expected})")
    notes: list[Note] = []
    collections: dict[str, list[Any]] = {}
    permission_fields: list[str] = []
    if "PermissionSet" in files:
        header = next(_read_csv(files["PermissionSet"]), (0, {}))[1]
        permission_fields = sorted(_PERMISSION_CASE.get(k[len("permissions"):], k[len("permissions"):])
                                   for k in header if k.startswith("permissions"))
    for name, obj in OBJECTS.items():
        path = files.get(name)
        if path is None:
            notes.append(Note(object=name, status="not_available", message=f"no {name}.csv in the export"))
            continue
        collections[obj.collection] = _csv_records(
            obj, path, permission_fields if name == "PermissionSet" else None
        )
    for log in collections.get("debug_logs", []):
        body = directory / "ApexLog" / f"{log.id}.log"
        if body.is_file():
            log.body_scanned = True
            log.hits = scan_body(body.read_bytes()[:DEBUG_LOG_MAX_BYTES])
    organization = None
    if "Organization" in files:
        rows = list(_read_csv(files["Organization"]))
        if rows:
            line, row = rows[0]
            ident = (row.get("id") or "").strip()
            if not ident:
                raise InventoryError(f"{files['Organization']}: line {line}: column Id: is empty")
            organization = Organization(
                id=ident, name=row.get("name") or None, edition=row.get("organizationtype") or None,
                is_sandbox=_strict(row.get("issandbox"), "b") if row.get("issandbox") else None,
                sharing_defaults={obj: row[f.lower()] for f, obj in SHARING_FIELDS.items() if row.get(f.lower())},
            )
    if "UserLogin" in files:
        frozen = {}
        for line, row in _read_csv(files["UserLogin"]):
            try:
                frozen[row.get("userid", "")] = _strict(row.get("isfrozen"), "b")
            except _BadValue as exc:
                raise InventoryError(f"{files['UserLogin']}: line {line}: column IsFrozen: {exc}") from None
        for u in collections.get("users", []):
            if u.id in frozen:
                u.frozen = frozen[u.id]
    snap = Snapshot(
        taken_utc=_latest_export_time(files),
        source=Source(kind="csv_export", path=str(directory.resolve())),
        permission_fields=permission_fields,
        notes=notes,
        organization=organization,
        **collections,
    )
    # The rows were checked cell by cell above; a round trip through the snapshot format checks the whole.
    return parse_snapshot(snapshot_bytes(snap), str(directory))


def _latest_export_time(files: dict[str, Path]) -> str:
    from datetime import UTC, datetime

    newest = max(p.stat().st_mtime for p in files.values())
    return datetime.fromtimestamp(newest, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def import_path(path: Path) -> Snapshot:
    """A snapshot file written by `inventory pull --out`, or a directory of Data Loader CSV exports."""
    path = path.expanduser()
    if path.is_dir():
        return import_csv_dir(path)
    if not path.is_file():
        raise NotFoundError(f"{path}: no such file or directory")
    if path.suffix.lower() == ".csv":
        raise UsageError(f"{path}: import the directory holding the Data Loader CSV files, not one file")
    if path.stat().st_size > MAX_SNAPSHOT_BYTES:
        raise InventoryError(f"{path}: too large for a snapshot ({path.stat().st_size} bytes)")
    snap = parse_snapshot(path.read_bytes(), str(path))
    return snap


# --------------------------------------------------------------------------------------------------
# Journal and evidence: a snapshot is stored whole in the evidence store and journaled by its hash.
# --------------------------------------------------------------------------------------------------

SNAPSHOT_KIND = "inventory.snapshot"


class SavedSnapshot(BaseModel):
    evidence_id: str
    sha256: str
    size: int
    seq: int
    taken_utc: str
    source: dict[str, Any]
    counts: dict[str, int]


def save_snapshot(incident: Any, snap: Snapshot, actor: str, *, imported_from: str | None = None) -> SavedSnapshot:
    """Store the snapshot bytes as evidence, then journal `inventory.snapshot` with its SHA-256 and counts.

    `source` says what the snapshot describes (org alias and instance, or the export it was built from);
    `imported_from` names the file or directory it was read from when it did not come from a live pull.
    """
    data = snapshot_bytes(snap)
    taken = snap.taken_utc.replace(":", "").replace("-", "")
    source = _source_summary(snap.source)
    if imported_from:
        source["imported_from"] = imported_from
    rec = incident.add_evidence_bytes(
        data, f"inventory-{taken}.json", actor, note="inventory snapshot", source={"inventory": source}
    )
    counts = snap.counts()
    entry = incident.journal.append(
        SNAPSHOT_KIND,
        {
            "evidence_id": rec.evidence_id,
            "sha256": rec.sha256,
            "size": rec.size,
            "taken_utc": snap.taken_utc,
            "format_version": snap.format_version,
            "source": source,
            "counts": counts,
            "integration_users": len(integration_users(snap)),
            "notes": [f"{n.object}: {n.status}" for n in snap.notes],
        },
        actor,
    )
    return SavedSnapshot(evidence_id=rec.evidence_id, sha256=rec.sha256, size=rec.size, seq=entry.seq,
                         taken_utc=snap.taken_utc, source=source, counts=counts)


def project_snapshot(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    """`inventory/current` is the latest snapshot; `inventory/history` lists every snapshot in journal order."""
    d = entry.data
    summary = {
        "seq": entry.seq,
        "evidence_id": d["evidence_id"],
        "sha256": d["sha256"],
        "taken_utc": d["taken_utc"],
        "recorded_utc": entry.recorded_utc,
        "actor": entry.actor,
        "source": d.get("source", {}),
        "counts": d.get("counts", {}),
    }
    history = get("inventory", "history") or []
    yield "inventory", "current", summary
    yield "inventory", "history", [*history, summary]


def history(incident: Any) -> list[dict[str, Any]]:
    return incident.journal.get_state("inventory", "history") or []


def load_saved(incident: Any, ref: str) -> Snapshot:
    """A stored snapshot by evidence id (or SHA-256 prefix); its bytes are re-hashed before they are trusted."""
    item = incident.resolve_evidence(ref)
    path = incident.evidence.path_for(item["sha256"])
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InventoryError(f"snapshot {item['evidence_id']} is missing from the evidence store ({path}: "
                             f"{exc.strerror or exc})") from None
    if hashlib.sha256(data).hexdigest() != item["sha256"]:
        raise InventoryError(f"snapshot {item['evidence_id']} does not match its journaled SHA-256: the evidence "
                             f"file {path} was changed; run `warroom evidence verify`")
    return parse_snapshot(data, f"evidence {item['evidence_id']}")


def load_current(incident: Any) -> Snapshot | None:
    current = incident.journal.get_state("inventory", "current")
    if current is None:
        return None
    return load_saved(incident, current["evidence_id"])


# --------------------------------------------------------------------------------------------------
# Diff
# --------------------------------------------------------------------------------------------------


class Change(BaseModel):
    collection: str
    change: Literal["added", "removed", "changed"]
    id: str
    name: str
    fields: dict[str, list[Any]] = Field(default_factory=dict)  # field -> [before, after]


class SnapshotDiff(BaseModel):
    a: dict[str, Any]
    b: dict[str, Any]
    summary: dict[str, dict[str, int]]
    changes: list[Change]

    def of(self, collection: str, change: str | None = None) -> list[Change]:
        return [c for c in self.changes if c.collection == collection and (change is None or c.change == change)]


def _record_dict(rec: Any) -> dict[str, Any]:
    return {f: getattr(rec, f) for f in rec.__dataclass_fields__}


def _describe(snap: Snapshot, label: str | None) -> dict[str, Any]:
    return {"label": label, "taken_utc": snap.taken_utc, **_source_summary(snap.source)}


def diff(a: Snapshot, b: Snapshot, *, label_a: str | None = None, label_b: str | None = None) -> SnapshotDiff:
    """What changed from `a` to `b`: records added, removed or changed, per collection (tokens by ref)."""
    changes: list[Change] = []
    summary: dict[str, dict[str, int]] = {}
    for name, (key, label) in COLLECTIONS.items():
        before = {key(r): r for r in getattr(a, name)}
        after = {key(r): r for r in getattr(b, name)}
        counts = {"added": 0, "removed": 0, "changed": 0}
        for k in sorted(after.keys() - before.keys()):
            changes.append(Change(collection=name, change="added", id=k, name=label(after[k])))
            counts["added"] += 1
        for k in sorted(before.keys() - after.keys()):
            changes.append(Change(collection=name, change="removed", id=k, name=label(before[k])))
            counts["removed"] += 1
        for k in sorted(before.keys() & after.keys()):
            x, y = before[k], after[k]
            if x == y:
                continue
            dx, dy = _record_dict(x), _record_dict(y)
            delta: dict[str, list[Any]] = {}
            for f in dx:
                if dx[f] != dy[f]:
                    if isinstance(dx[f], list) and all(isinstance(v, str) for v in [*dx[f], *dy[f]]):
                        gone = sorted(set(dx[f]) - set(dy[f]))
                        new = sorted(set(dy[f]) - set(dx[f]))
                        delta[f] = [gone, new]  # for permission lists: [removed, added]
                    else:
                        delta[f] = [_plain(dx[f]), _plain(dy[f])]
            if delta:
                changes.append(Change(collection=name, change="changed", id=k, name=label(y), fields=delta))
                counts["changed"] += 1
        if any(counts.values()):
            summary[name] = counts
    org_a = _plain(a.organization) if a.organization else None
    org_b = _plain(b.organization) if b.organization else None
    names = {u.id: u.username for u in (*a.users, *b.users)}
    names.update({p.id: p.label or p.name for p in (*a.permission_sets, *b.permission_sets)})
    for c in changes:
        c.name = _ID_RE.sub(lambda m: names.get(m.group(0), m.group(0)), c.name)
    if org_a != org_b:
        changes.append(Change(collection="organization", change="changed", id=(b.organization or a.organization).id,
                              name="organization", fields={"organization": [org_a, org_b]}))
        summary["organization"] = {"added": 0, "removed": 0, "changed": 1}
    return SnapshotDiff(a=_describe(a, label_a), b=_describe(b, label_b), summary=summary, changes=changes)


_ID_RE = re.compile(r"\b[0-9A-Za-z]{18}\b|\b[0-9A-Za-z]{15}\b")


def _plain(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return {f: _plain(getattr(value, f)) for f in value.__dataclass_fields__}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# --------------------------------------------------------------------------------------------------
# Pull
# --------------------------------------------------------------------------------------------------

def _soft_kind(exc: BaseException) -> Literal["not_available", "no_access"] | None:
    """Which adapter errors mean "this org or login does not have that" (a note), not a failed pull."""
    from app.salesforce import InsufficientAccess, ObjectUnavailable, QueryFailed

    if isinstance(exc, ObjectUnavailable):
        return "not_available"
    if isinstance(exc, InsufficientAccess):
        return "no_access"
    if isinstance(exc, QueryFailed) and getattr(exc, "code", "") == "INVALID_FIELD":
        return "not_available"
    return None


def _names(described: Any) -> set[str]:
    if isinstance(described, Mapping):
        described = described.get("fields", [])
    out: set[str] = set()
    for f in described or ():
        out.add(f if isinstance(f, str) else str(f.get("name")))
    return out


def _records(result: Any) -> Iterable[Mapping[str, Any]]:
    if isinstance(result, Mapping):
        return result.get("records", [])
    return result


class _Puller:
    """One pull: describes before it selects, notes what the org lacks, and reports progress as it goes."""

    def __init__(self, org: Any, progress: Progress | None) -> None:
        self.org = org
        self.say = progress or (lambda _msg: None)
        self.notes: list[Note] = []
        self._described: dict[str, set[str] | None] = {}

    def note(self, sobject: str, status: Literal["not_available", "no_access", "partial"], message: str) -> None:
        self.notes.append(Note(object=sobject, status=status, message=message))
        self.say(f"  {sobject}: {message}")

    def _soft(self, sobject: str, exc: BaseException) -> bool:
        """Record an org-side "you cannot have this" as a note; anything else (session, limits, network) raises."""
        kind = _soft_kind(exc)
        if kind == "not_available":
            self.note(sobject, kind, f"not available to this org or login ({_first_line(exc)})")
        elif kind == "no_access":
            self.note(sobject, kind, f"the login cannot read it ({_first_line(exc)})")
        return kind is not None

    def fields(self, sobject: str, tooling: bool = False) -> set[str] | None:
        if sobject in self._described:
            return self._described[sobject]
        from app.salesforce import OrgError

        try:
            names: set[str] | None = _names(self.org.describe_fields(sobject, tooling=tooling))
        except OrgError as exc:
            if not self._soft(sobject, exc):
                raise
            names = None
        self._described[sobject] = names
        return names

    def select(self, obj: _Obj, have: set[str], extra: Iterable[str] = ()) -> list[str] | None:
        """The obj's API paths this org has (a relationship path needs its reference field)."""
        paths: list[str] = []
        for path in [*(p for _, p, _ in obj.fields), *extra]:
            head = path.split(".", 1)[0]
            if "." in path:
                ok = f"{head}Id" in have or head in have or (head.endswith("__r") and f"{head[:-3]}__c" in have)
            else:
                ok = path in have
            if ok and path not in paths:
                paths.append(path)
        missing = [r for r in obj.required if r not in paths]
        if missing:
            self.note(obj.sobject, "not_available", f"this org's {obj.sobject} lacks {', '.join(missing)}")
            return None
        if obj.sobject == "InstalledSubscriberPackage":
            for part in ("MajorVersion", "MinorVersion", "PatchVersion", "BuildNumber"):
                if f"SubscriberPackageVersion.{part}" not in paths:
                    paths.append(f"SubscriberPackageVersion.{part}")
        return paths

    def query(self, obj: _Obj, soql: str, make: Callable[[Mapping[str, Any]], Any] | None = None) -> list[Any] | None:
        """Rows of `soql` (built into records by `make` as each page arrives, so raw pages are not all held);
        None when the org does not have the object (noted)."""
        from app.salesforce import OrgError

        build = make or (lambda rec: rec)
        try:
            if obj.tooling:
                rows: Iterable[Mapping[str, Any]] = self.org.tooling_query(soql)
            elif hasattr(self.org, "query_iter"):
                rows = self.org.query_iter(soql)
            else:
                rows = _records(self.org.query(soql))
            return [build(rec) for rec in rows]
        except OrgError as exc:
            if not self._soft(obj.sobject, exc):
                raise
            return None

    def truncated(self) -> bool:
        return getattr(self.org, "last_truncation", None) is not None

    def collect(self, obj: _Obj, *, where: str = "", tail: str | None = None, extra: Iterable[str] = (),
                build: Callable[[Mapping[str, Any]], Any] | None = None) -> list[Any] | None:
        have = self.fields(obj.sobject, obj.tooling)
        if have is None:
            return None
        paths = self.select(obj, have, extra)
        if paths is None:
            return None
        soql = f"SELECT {', '.join(paths)} FROM {obj.sobject}"
        if where:
            soql += f" WHERE {where}"
        if tail if tail is not None else obj.tail:
            soql += f" {tail if tail is not None else obj.tail}"
        make = build or _record_builder(obj)
        return self.query(obj, soql, make)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _as_str(value: Any) -> Any:
    text = value if isinstance(value, str) else str(value)
    return sys.intern(text) if len(text) <= 64 else text


_FAST = {"s": _as_str, "i": int, "b": lambda v: v if isinstance(v, bool) else str(v).lower() in _TRUE}


def _record_builder(obj: _Obj, perms: list[str] | None = None) -> Callable[[Mapping[str, Any]], Any]:
    """A per-object converter for trusted adapter rows (no per-row validation): the field spec is read once,
    not for each of 100k rows (this loop is most of a large pull's own CPU time)."""
    flat = [(attr, path, _FAST[kind]) for attr, path, kind in obj.fields if kind != "x" and "." not in path]
    nested = [(attr, tuple(path.split(".")), _FAST[kind]) for attr, path, kind in obj.fields
              if kind != "x" and "." in path]
    special = [(attr, path) for attr, path, kind in obj.fields if kind == "x"]
    flags = [(p, f"Permissions{p}") for p in perms or ()]
    make = obj.record

    def build(rec: Mapping[str, Any]) -> Any:
        values: dict[str, Any] = {}
        for attr, key, conv in flat:
            v = rec.get(key)
            if v is not None and v != "":
                values[attr] = conv(v)
        for attr, keys, conv in nested:
            v: Any = rec
            for k in keys:
                v = v.get(k) if isinstance(v, Mapping) else None
            if v is not None and v != "":
                values[attr] = conv(v)
        if special:
            get = _nested_getter(rec)
            for attr, path in special:
                v = _special(obj, attr, path, get, _loose)
                if v is not None:
                    values[attr] = v
        if perms is not None:
            values["permissions"] = [p for p, key in flags if rec.get(key) is True]
        return make(**values)

    return build


def _pull_organization(p: _Puller) -> Organization | None:
    have = p.fields("Organization")
    if have is None:
        return None
    wanted = ["Id", "Name", "OrganizationType", "IsSandbox", *SHARING_FIELDS]
    paths = [f for f in wanted if f in have]
    rows = p.query(_Obj("Organization", "", Organization, ()), f"SELECT {', '.join(paths)} FROM Organization")
    rec = next(iter(rows or ()), None)
    if rec is None:
        return None
    return Organization(
        id=str(rec.get("Id")), name=rec.get("Name"), edition=rec.get("OrganizationType"),
        is_sandbox=rec.get("IsSandbox"),
        sharing_defaults={obj: rec[f] for f, obj in SHARING_FIELDS.items() if rec.get(f)},
    )


def _pull_tokens(p: _Puller, user_ids: list[str]) -> list[OAuthToken] | None:
    """OauthToken returns at most 2,500 rows per query in total: partition by UserId when the cap is hit."""
    from app.salesforce import OrgError

    obj = OBJECTS["OauthToken"]
    total: int | None = None
    if hasattr(p.org, "count") and p.fields(obj.sobject) is not None:
        try:
            total = p.org.count("OauthToken")
        except OrgError as exc:
            if not p._soft(obj.sobject, exc):
                raise
            return None
    if total is None or total < OAUTH_TOKEN_CAP:
        first = p.collect(obj)
        if first is None or (len(first) < OAUTH_TOKEN_CAP and not p.truncated()):
            return first
        total = len(first)
    p.say(f"  OauthToken: {total} tokens, more than one query returns ({OAUTH_TOKEN_CAP}); partitioning by user")
    tokens: dict[str, OAuthToken] = {}
    stack = list(reversed(list(_chunks(user_ids))))
    done = 0
    while stack:
        chunk = stack.pop()
        where = "UserId IN (" + ", ".join(_quote(u) for u in chunk) + ")"
        rows = p.collect(obj, where=where) or []
        if len(rows) >= OAUTH_TOKEN_CAP or p.truncated():
            if len(chunk) > 1:
                half = len(chunk) // 2
                stack += [chunk[half:], chunk[:half]]
                continue
            p.note("OauthToken", "partial", f"user {chunk[0]} holds more than {OAUTH_TOKEN_CAP} tokens; only "
                                            f"{len(rows)} could be listed")
        for t in rows:
            tokens[t.ref] = t
        done += len(chunk)
        if done % 2000 < len(chunk):
            p.say(f"  OauthToken: {len(tokens)} tokens for {done}/{len(user_ids)} users")
    return list(tokens.values())


def _pull_debug_logs(p: _Puller, limit: int) -> list[DebugLog] | None:
    logs = p.collect(OBJECTS["ApexLog"], tail=f"ORDER BY StartTime DESC LIMIT {limit}")
    if not logs:
        return logs
    from app.salesforce import OrgError, RecordNotFound

    for i, log in enumerate(logs):
        if log.length is not None and log.length > DEBUG_LOG_MAX_BYTES:
            continue
        try:
            body = p.org.download(f"sobjects/ApexLog/{log.id}/Body")
        except RecordNotFound:
            continue  # deleted since it was listed
        except OrgError as exc:
            if p._soft("ApexLog", exc):
                break
            raise
        log.body_scanned = True
        log.hits = scan_body(body[:DEBUG_LOG_MAX_BYTES] if isinstance(body, bytes) else str(body).encode())
        if (i + 1) % 50 == 0:
            p.say(f"  ApexLog: {i + 1}/{len(logs)} bodies scanned")
    return logs


def _in_chunks(p: _Puller, obj: _Obj, field_name: str, ids: list[str]) -> list[Any] | None:
    out: list[Any] = []
    for chunk in _chunks(ids):
        rows = p.collect(obj, where=f"{field_name} IN (" + ", ".join(_quote(i) for i in chunk) + ")")
        if rows is None:
            return None
        out.extend(rows)
    return out


def pull(
    org: Any,
    progress: Progress | None = None,
    *,
    alias: str | None = None,
    taken_utc: str | None = None,
    login_limit: int = LOGIN_LIMIT,
    audit_limit: int = AUDIT_LIMIT,
    debug_log_limit: int = DEBUG_LOG_LIMIT,
) -> Snapshot:
    """Read the whole inventory through `org` (an `app.salesforce.Org`) into a snapshot.

    Objects the org's edition or the login lacks become notes; session, limit, network and TLS failures raise
    the adapter's OrgError for the caller to report. Rows from the adapter are trusted (no per-row validation).
    """
    from datetime import UTC, datetime

    p = _Puller(org, progress)
    taken = taken_utc or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    col: dict[str, list[Any]] = {}

    def put(name: str, rows: list[Any] | None) -> None:
        col[name] = rows or []
        p.say(f"  {name.replace('_', ' ')}: {len(col[name])}")

    p.say("organization")
    organization = _pull_organization(p)
    p.say("connected apps")
    put("connected_apps", p.collect(OBJECTS["ConnectedApplication"]))
    p.say("users")
    users = p.collect(OBJECTS["User"]) or []
    frozen_rows = None
    if p.fields("UserLogin") is not None:
        frozen_rows = p.query(_Obj("UserLogin", "", User, ()),
                              "SELECT UserId, IsFrozen FROM UserLogin WHERE IsFrozen = true")
    if frozen_rows is not None:
        frozen = {r.get("UserId") for r in frozen_rows}
        for u in users:
            u.frozen = u.id in frozen
    put("users", users)
    p.say("profiles and permission sets")
    put("profiles", p.collect(OBJECTS["Profile"]))
    ps_fields = p.fields("PermissionSet") or set()
    perms = sorted(f[len("Permissions"):] for f in ps_fields if f.startswith("Permissions"))
    ps_obj = OBJECTS["PermissionSet"]
    put("permission_sets", p.collect(ps_obj, extra=[f"Permissions{x}" for x in perms],
                                     build=_record_builder(ps_obj, perms)))
    put("assignments", p.collect(OBJECTS["PermissionSetAssignment"]))
    p.say("OAuth tokens")
    put("oauth_tokens", _pull_tokens(p, [u.id for u in users]))

    # Object and field access of the sets integration users hold, and of support profiles.
    partial = Snapshot.model_construct(users=users, permission_sets=col["permission_sets"],
                                       assignments=col["assignments"])
    integ = integration_users(partial)
    held = held_permission_sets(partial)
    parents = sorted({ps.id for uid in integ for ps, _ in held.get(uid, [])} | {
        ps.id for ps in col["permission_sets"]
        if ps.profile_owned and any(w in (ps.profile_name or ps.label or "").lower() for w in SUPPORT_PROFILE_WORDS)
    })
    p.say(f"object and field access of {len(integ)} integration user(s) and support profiles")
    put("object_permissions", _in_chunks(p, OBJECTS["ObjectPermissions"], "ParentId", parents) if parents else [])
    put("field_permissions", _in_chunks(p, OBJECTS["FieldPermissions"], "ParentId", parents) if parents else [])
    objects = sorted({fp.object for fp in col["field_permissions"]} | set(CLASSIFIED_OBJECTS))
    classifications: list[FieldClassification] = []
    fd = OBJECTS["FieldDefinition"]
    if p.fields("FieldDefinition") is not None:
        for name in objects:
            rows = p.collect(fd, where=f"EntityDefinition.QualifiedApiName = {_quote(name)}",
                             extra=["EntityDefinitionId"])
            if rows is None:
                break
            for r in rows:
                r.object = r.object or name
            classifications.extend(rows)
    put("field_classifications", classifications)

    p.say("packages, credentials, external data sources, remote sites")
    put("packages", p.collect(OBJECTS["InstalledSubscriberPackage"]))
    put("named_credentials", p.collect(OBJECTS["NamedCredential"]))
    put("external_credentials", p.collect(OBJECTS["ExternalCredential"]))
    put("external_data_sources", p.collect(OBJECTS["ExternalDataSource"]))
    put("remote_sites", p.collect(OBJECTS["RemoteProxy"]))
    p.say("trace flags and debug logs")
    put("trace_flags", p.collect(OBJECTS["TraceFlag"]))
    put("debug_levels", p.collect(OBJECTS["DebugLevel"]))
    put("debug_logs", _pull_debug_logs(p, debug_log_limit))
    p.say("setup audit trail and login history")
    put("audit_trail", p.collect(OBJECTS["SetupAuditTrail"], tail=f"ORDER BY CreatedDate DESC LIMIT {audit_limit}"))
    put("login_history", p.collect(OBJECTS["LoginHistory"], tail=f"ORDER BY LoginTime DESC LIMIT {login_limit}"))
    if len(col["login_history"]) >= login_limit:
        p.note("LoginHistory", "partial", f"only the latest {login_limit} logins were read")
    p.note("SharingRules", "not_available", "sharing rules are not readable with SOQL (Metadata API only): review "
           "Setup > Sharing Settings for rules that open customer objects to All Internal Users")

    source = Source(
        kind="org", org_alias=alias, instance_url=getattr(org, "instance_url", None),
        org_id=organization.id if organization else None, username=getattr(org, "username", None),
    )
    return Snapshot.model_construct(
        format=FORMAT, format_version=FORMAT_VERSION, taken_utc=taken, source=source,
        permission_fields=perms, notes=p.notes, organization=organization, sharing_rules=[], **col,
    )


# --------------------------------------------------------------------------------------------------
# Summary (what `inventory show` prints)
# --------------------------------------------------------------------------------------------------

HIGH_RISK_PERMISSIONS = (
    "ModifyAllData", "ViewAllData", "AuthorApex", "CustomizeApplication", "ManageUsers", "ModifyMetadata",
    "ManageProfilesPermissionsets", "AssignPermissionSets", "ResetPasswords", "ManageInternalUsers", "ViewAllUsers",
    "BulkApiHardDelete", "ExportReport", "UseAnyApiClient", "CanApproveUninstalledApps",
)


class AppSummary(BaseModel):
    name: str
    id: str | None
    tokens: int
    users: int
    last_used: str | None
    admin_approved_only: bool | None
    installed: bool | None


class IntegrationUserSummary(BaseModel):
    id: str
    username: str
    reason: str
    active: bool
    frozen: bool | None
    profile: str | None
    tokens: int
    apps: list[str]
    permission_sets: list[str]
    high_risk_permissions: list[str]


class InventorySummary(BaseModel):
    evidence_id: str | None
    taken_utc: str
    source: dict[str, Any]
    counts: dict[str, int]
    apps: list[AppSummary]
    integration_users: list[IntegrationUserSummary]
    notes: list[Note]


def summarize(snap: Snapshot, *, evidence_id: str | None = None) -> InventorySummary:
    """Apps with their token counts (including apps known only from tokens) and every integration user."""
    by_app: dict[str, list[OAuthToken]] = {}
    for t in snap.oauth_tokens:
        by_app.setdefault(t.app_name, []).append(t)
    known = {a.name: a for a in snap.connected_apps}
    apps: list[AppSummary] = []
    for name in sorted(set(by_app) | set(known), key=str.lower):
        tokens = by_app.get(name, [])
        app = known.get(name)
        menu = [t.app_menu_item_id for t in tokens]
        installed = None if not tokens else any(menu)
        apps.append(AppSummary(
            name=name, id=app.id if app else None, tokens=len(tokens), users=len({t.user_id for t in tokens}),
            last_used=max((t.last_used for t in tokens if t.last_used), default=None),
            admin_approved_only=app.admin_approved_only if app else None, installed=installed,
        ))
    held = held_permission_sets(snap)
    tokens_of: dict[str, list[OAuthToken]] = {}
    for t in snap.oauth_tokens:
        tokens_of.setdefault(t.user_id or "", []).append(t)
    users = {u.id: u for u in snap.users}
    integ: list[IntegrationUserSummary] = []
    for uid, reason in sorted(integration_users(snap).items(), key=lambda kv: users[kv[0]].username):
        u = users[uid]
        sets = held.get(uid, [])
        perms = sorted({p for ps, _ in sets for p in ps.permissions if p in HIGH_RISK_PERMISSIONS})
        mine = tokens_of.get(uid, [])
        integ.append(IntegrationUserSummary(
            id=uid, username=u.username, reason=reason, active=u.active, frozen=u.frozen, profile=u.profile_name,
            tokens=len(mine), apps=sorted({t.app_name for t in mine}),
            permission_sets=sorted(ps.label or ps.name for ps, _ in sets), high_risk_permissions=perms,
        ))
    return InventorySummary(
        evidence_id=evidence_id, taken_utc=snap.taken_utc, source=_source_summary(snap.source),
        counts=snap.counts(), apps=apps, integration_users=integ, notes=snap.notes,
    )

__all__ = [
    "AUDIT_LIMIT",
    "CLASSIFIED_OBJECTS",
    "COLLECTIONS",
    "CSV_EXTRA",
    "DEBUG_LOG_LIMIT",
    "DEBUG_LOG_MAX_BYTES",
    "FORMAT",
    "FORMAT_VERSION",
    "HIGH_RISK_PERMISSIONS",
    "ID_CHUNK",
    "INTEGRATION_LICENSES",
    "INTEGRATION_PROFILES",
    "KNOWN_PERMISSIONS",
    "LOGIN_LIMIT",
    "MAX_SNAPSHOT_BYTES",
    "OAUTH_TOKEN_CAP",
    "OBJECTS",
    "SHARING_FIELDS",
    "SNAPSHOT_KIND",
    "SUPPORT_PROFILE_WORDS",
    "AppSummary",
    "Assignment",
    "AuditEvent",
    "Change",
    "ConnectedApp",
    "DebugLevel",
    "DebugLog",
    "ExternalCredential",
    "ExternalDataSource",
    "FieldClassification",
    "FieldPermission",
    "Getter",
    "IntegrationUserSummary",
    "InventoryError",
    "InventorySummary",
    "Login",
    "NamedCredential",
    "Note",
    "OAuthToken",
    "ObjectPermission",
    "Organization",
    "Package",
    "PermissionSet",
    "Profile",
    "Progress",
    "RemoteSite",
    "SavedSnapshot",
    "SensitiveHit",
    "SharingRule",
    "Snapshot",
    "SnapshotDiff",
    "Source",
    "TraceFlag",
    "User",
    "diff",
    "held_permission_sets",
    "history",
    "import_csv_dir",
    "import_path",
    "integration_users",
    "load_current",
    "load_saved",
    "parse_snapshot",
    "project_snapshot",
    "pull",
    "save_snapshot",
    "scan_body",
    "snapshot_bytes",
    "summarize",
    "token_ref",
]
