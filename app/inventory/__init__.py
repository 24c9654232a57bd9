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
from collections.abc import Iterable, Iterator
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
    DEBUG_LOG_MAX_BYTES,
    OBJECTS,
    SHARING_FIELDS,
    Getter,
    _BadValue,
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
from app.inventory.pulling import (
    AUDIT_LIMIT,
    CLASSIFIED_OBJECTS,
    DEBUG_LOG_LIMIT,
    LOGIN_LIMIT,
    OAUTH_TOKEN_CAP,
    SUPPORT_PROFILE_WORDS,
    pull,
)
from app.inventory.query import (
    ID_CHUNK,
    Progress,
)
from app.journal import Entry, Lookup

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
