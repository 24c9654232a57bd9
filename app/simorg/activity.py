"""Activity rows of a seed: login history, Event Log Files, real-time events, permissions and business records.

Split from the builder (`build.py`), which makes the org's users, apps and configuration first; these rows refer
to them by seed key. Real-time event rows carry only the fields the documented objects have (app/data/salesforce).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

from app.base.clock import parse_instant
from app.simorg.eventlogs import field_types, log_day_and_created, render_log, timestamps
from app.simorg.schema import BUSINESS_OBJECTS, ObjectDef, Schema
from app.simorg.seed import Fragment


def apply_activity(b: Any, frag: Fragment) -> None:
    """Add the fragment's activity rows through builder `b` (its store, keys and placeholders)."""
    s = b.store
    for lh in frag.login_history:
        for n in range(lh.count):
            at = lh.at + timedelta(hours=(lh.repeat_hours or 0) * n)
            s.insert(
                "LoginHistory",
                {
                    "UserId": b.keys["users"][lh.user],
                    "LoginTime": at,
                    "LoginType": lh.login_type,
                    "LoginSubType": lh.login_sub_type,
                    "SourceIp": lh.ip,
                    "Status": lh.status,
                    "Application": lh.application,
                    "Browser": lh.browser,
                    "Platform": lh.platform,
                    "ApiType": lh.api_type,
                    "ApiVersion": lh.api_version,
                    "ClientVersion": lh.client_version,
                    "CountryIso": lh.country,
                    "LoginUrl": lh.login_url or f"{s.org.my_domain}.my.salesforce.com",
                    "TlsProtocol": lh.tls,
                },
            )
    for i, elf in enumerate(frag.event_log_files):
        add_event_log(b, elf, i)
    for i, ev in enumerate(frag.api_events):
        s.insert(
            "ApiEvent",
            {
                "EventDate": ev.at,
                "EventIdentifier": event_id(b, "api", ev.at, i),
                "UserId": b.keys["users"][ev.user],
                "Username": b.username(ev.user),
                "SourceIp": ev.ip,
                "Application": ev.application or b.app_name(ev.app),
                "Client": ev.client,
                "ConnectedAppId": b.id_of("connected_apps", ev.app),
                "ApiType": ev.api_type,
                "Operation": ev.operation,
                "Query": ev.query,
                "QueriedEntities": ev.entities,
                "RowsProcessed": ev.rows,
                "RowsReturned": ev.rows,
                "UserAgent": ev.user_agent,
                "SessionKey": ev.session_key,
                "LoginKey": ev.login_key,
                "ApiVersion": "58.0",
            },
        )
    for i, le in enumerate(frag.login_events):
        s.insert(
            "LoginEvent",
            {
                "EventDate": le.at,
                "EventIdentifier": event_id(b, "login", le.at, i),
                "UserId": b.keys["users"][le.user],
                "Username": b.username(le.user),
                "SourceIp": le.ip,
                "Application": le.application,
                "Browser": le.browser,
                "Platform": le.platform,
                "LoginType": le.login_type,
                "Status": le.status,
                "CountryIso": le.country,
                "LoginUrl": le.login_url,
            },
        )
    for i, re_ in enumerate(frag.report_events):
        s.insert(
            "ReportEvent",
            {
                "EventDate": re_.at,
                "EventIdentifier": event_id(b, "report", re_.at, i),
                "UserId": b.keys["users"][re_.user],
                "Username": b.username(re_.user),
                "SourceIp": re_.ip,
                "Name": re_.report,
                "Operation": re_.operation,
                "RowsProcessed": re_.rows,
                "QueriedEntities": re_.entities,
                "ExportFileFormat": re_.format,
            },
        )
    for i, be in enumerate(frag.bulk_result_events):
        s.insert(
            "BulkApiResultEventStore",
            {
                "EventDate": be.at,
                "EventIdentifier": event_id(b, "bulk", be.at, i),
                "UserId": b.keys["users"][be.user],
                "Username": b.username(be.user),
                "SourceIp": be.ip,
                "Query": be.query,
                "SessionKey": be.session_key,
                "LoginKey": be.login_key,
            },
        )
    for fp in frag.field_permissions:
        parent = b.parent_of(fp.permission_set, fp.profile)
        for name in fp.fields:
            fd = s.schema.objects[_canon(s.schema, fp.object)].field(name)
            assert fd is not None
            s.insert(
                "FieldPermissions",
                {
                    "ParentId": parent,
                    "SobjectType": _canon(s.schema, fp.object),
                    "Field": f"{_canon(s.schema, fp.object)}.{fd.name}",
                    "PermissionsRead": fp.read,
                    "PermissionsEdit": fp.edit,
                    "SystemModstamp": b.now - timedelta(days=180),
                },
            )
    for op in frag.object_permissions:
        s.insert(
            "ObjectPermissions",
            {
                "ParentId": b.parent_of(op.permission_set, op.profile),
                "SobjectType": _canon(s.schema, op.object),
                "PermissionsRead": op.read,
                "PermissionsCreate": op.create,
                "PermissionsEdit": op.edit,
                "PermissionsDelete": op.delete,
                "PermissionsViewAllRecords": op.view_all,
                "PermissionsModifyAllRecords": op.modify_all,
                "CreatedDate": b.now - timedelta(days=180),
            },
        )
    b.classifications.extend(frag.field_classifications)
    for rec in frag.records:
        add_record(b, rec.sobject, dict(rec.fields))


def event_id(b: Any, kind: str, at: datetime, i: int) -> str:
    h = hashlib.blake2b(f"{b.store.org.id}:{kind}:{at.isoformat()}:{i}".encode(), digest_size=16).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def add_event_log(b: Any, elf: Any, i: int) -> None:
    """One EventLogFile row and its LogFile body, with the type's documented header."""
    s = b.store

    def resolve(name: str, value: Any) -> dict[str, Any]:
        if name == "at":
            at = instant(value)
            assert at is not None  # cross-checked
            return timestamps(at)
        if name == "user":
            uid = b.keys["users"][str(value)]
            return {"USER_ID": uid[:15], "USER_ID_DERIVED": uid, "USER_NAME": b.username(str(value))}
        if name == "app":
            return {"CONNECTED_APP_ID": b.keys["connected_apps"][str(value)][:15]}
        return {name: b.expand(value) if isinstance(value, str) else value}

    data, columns = render_log(elf.event_type, s.org.id, i, list(elf.rows), resolve)
    log_day, created = log_day_and_created(elf.log_date, elf.interval)
    row = s.insert(
        "EventLogFile",
        {
            "EventType": elf.event_type,
            "LogDate": log_day,
            "Interval": elf.interval,
            "Sequence": elf.sequence,
            "LogFileLength": float(len(data)),
            "LogFileFieldNames": ",".join(columns),
            "LogFileFieldTypes": field_types(columns),
            "LogFileContentType": "CSV",
            "CreatedDate": created,
        },
    )
    s.blobs[("EventLogFile", row["Id"], "LogFile")] = data


def add_record(b: Any, sobject: str, fields: dict[str, Any]) -> dict[str, Any]:
    s = b.store
    obj = s.schema.get(sobject)
    assert obj is not None
    clean: dict[str, Any] = {}
    for name, value in fields.items():
        fd = obj.field(name)
        assert fd is not None
        if isinstance(value, str):
            value = b.expand(value)
            if fd.type == "datetime":
                value = datetime.fromisoformat(value.replace("Z", "+00:00"))
            elif fd.type == "date":
                value = date.fromisoformat(value)
        elif isinstance(value, datetime) and fd.type == "date":
            value = value.date()
        clean[fd.name] = value
    if obj.name == "Contact" and "Name" not in clean:
        clean["Name"] = " ".join(str(p) for p in (clean.get("FirstName"), clean.get("LastName")) if p)
    if obj.name == "Case" and "CaseNumber" not in clean:
        clean["CaseNumber"] = f"{s.count('Case') + 1:08d}"
    if "CreatedDate" in obj.fields and "CreatedDate" not in clean:
        clean["CreatedDate"] = b.now - timedelta(days=30)
    return s.insert(obj.name, clean)


def metadata_rows(b: Any) -> None:
    """EntityDefinition/FieldDefinition rows for the business objects, with any data classification."""
    s = b.store
    classes = {(_canon(s.schema, c.object), c.field.lower()): c for c in b.classifications}
    for name in [*BUSINESS_OBJECTS, *(o.name for o in s.schema.objects.values() if o.custom)]:
        obj = s.schema.objects[name]
        s.insert(
            "EntityDefinition",
            {"Id": name, "DurableId": name, "QualifiedApiName": name, "Label": obj.label, "IsCustomizable": True},
        )
        for fd in obj.fields.values():
            c = classes.get((name, fd.name.lower()))
            s.insert(
                "FieldDefinition",
                {
                    "DurableId": f"{name}.{fd.name}",
                    "QualifiedApiName": fd.name,
                    "EntityDefinitionId": name,
                    "Label": fd.name,
                    "DataType": fd.type,
                    "SecurityClassification": c.classification if c else None,
                    "ComplianceGroup": c.compliance if c else None,
                    "BusinessStatus": c.status if c else None,
                },
            )


def instant(value: Any) -> datetime | None:
    """An aware UTC datetime from a TOML date-time or (JSON seeds, injects) an ISO 8601 string with a zone."""
    if isinstance(value, str):
        try:
            value = parse_instant(value)
        except ValueError:
            return None
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    return None


def _canon(schema: Schema, name: str) -> str:
    obj: ObjectDef | None = schema.get(name)
    return obj.name if obj else name
