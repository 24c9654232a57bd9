"""Importing: a snapshot file written earlier, or a directory of Data Loader CSV exports (one file per object).

Both are checked in full, and every error names the file and the field, record or line, since the responder
importing them is working without the org and needs to fix the export by hand.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from app.base.errors import UsageError
from app.base.files import check_input_file, read_limited, user_path
from app.base.limits import parse_json
from app.inventory.mapping import (
    DEBUG_LOG_MAX_BYTES,
    OBJECTS,
    SHARING_FIELDS,
    _BadValue,
    _Obj,
    _permission_flags,
    _special,
    _strict,
    scan_body,
)
from app.inventory.models import FORMAT, FORMAT_VERSION, InventoryError, Note, Organization, Snapshot, Source
from app.inventory.pulling import OAUTH_TOKEN_CAP

# Permission flags by lower-case name, to restore their case from upper-case Data Loader headers.
KNOWN_PERMISSIONS = (
    "ModifyAllData",
    "ViewAllData",
    "ApiEnabled",
    "ApiUserOnly",
    "ManageUsers",
    "ManageInternalUsers",
    "AuthorApex",
    "CustomizeApplication",
    "ViewSetup",
    "ModifyMetadata",
    "AssignPermissionSets",
    "ManageProfilesPermissionsets",
    "ResetPasswords",
    "ViewAllUsers",
    "ExportReport",
    "ViewEventLogFiles",
    "BulkApiHardDelete",
    "UseAnyApiClient",
    "CanApproveUninstalledApps",
    "ManageConnectedApps",
    "ViewDataLeakageEvents",
    "ManageSharing",
    "ManageRoles",
    "ManageIpAddresses",
    "ManageAuthProviders",
    "ManageNamedCredentials",
    "ManageRemoteAccess",
    "ViewAllProfiles",
    "InstallPackaging",
    "TransferAnyEntity",
    "ManageDataIntegrations",
    "PasswordNeverExpires",
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
        # The snapshot's own bound, not parse_json's default: an org of 1M OAuth tokens is a 340 MB snapshot.
        doc = parse_json(data, origin, limit=MAX_SNAPSHOT_BYTES)
    except UsageError as exc:
        raise InventoryError(str(exc)) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InventoryError(f"{origin}: not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise InventoryError(f"{origin}: a snapshot is a JSON object")
    if doc.get("format") != FORMAT:
        raise InventoryError(
            f"{origin}: not a warroom inventory snapshot (format is {doc.get('format')!r}, expected {FORMAT!r})"
        )
    version = doc.get("format_version")
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise InventoryError(
            f"{origin}: snapshot format_version {version} is newer than this warroom reads "
            f"({FORMAT_VERSION}); upgrade warroom"
        )
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
        check_input_file(path, "CSV file")
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
                raise InventoryError(
                    f"{path}: line {reader.line_num}: {len(row)} columns but the header has {len(keys)}"
                )
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
                values[attr] = (
                    _special(obj, attr, api_path, get, _strict) if kind == "x" else _strict(get(api_path), kind)
                )
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
        permission_fields = sorted(
            _PERMISSION_CASE.get(k[len("permissions") :], k[len("permissions") :])
            for k in header
            if k.startswith("permissions")
        )
    for name, obj in OBJECTS.items():
        path = files.get(name)
        if path is None:
            notes.append(Note(object=name, status="not_available", message=f"no {name}.csv in the export"))
            continue
        collections[obj.collection] = _csv_records(obj, path, permission_fields if name == "PermissionSet" else None)
        if name == "OauthToken" and len(collections[obj.collection]) == OAUTH_TOKEN_CAP:
            notes.append(
                Note(
                    object=name,
                    status="partial",
                    message=f"{path.name} holds exactly {OAUTH_TOKEN_CAP:,} rows, the most one OauthToken query "
                    "returns: the export may be capped; export the tokens again in parts (by UserId) and import "
                    "those",
                )
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
                id=ident,
                name=row.get("name") or None,
                edition=row.get("organizationtype") or None,
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
    path = user_path(path)
    if path.is_dir():
        return import_csv_dir(path)
    check_input_file(path, "snapshot file")  # names a device, a FIFO or a missing file as such
    if path.suffix.lower() == ".csv":
        raise UsageError(f"{path}: import the directory holding the Data Loader CSV files, not one file")
    if path.stat().st_size > MAX_SNAPSHOT_BYTES:
        raise InventoryError(f"{path}: too large for a snapshot ({path.stat().st_size} bytes)")
    snap = parse_snapshot(read_limited(path, MAX_SNAPSHOT_BYTES, "snapshot"), str(path))
    return snap
