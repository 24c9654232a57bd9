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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.errors import NotFoundError, UsageError, WarroomError
from app.journal import Entry, Lookup
from app.sensitive import scan_debug_log

FORMAT = "warroom.inventory"
FORMAT_VERSION = 1

Progress = Callable[[str], None]


class InventoryError(WarroomError):
    """A snapshot could not be read or built; the message names the file and the field or line."""


# --------------------------------------------------------------------------------------------------
# Snapshot models. `extra="forbid"` throughout: an imported file with unknown fields is rejected.
# --------------------------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


_T = TypeVar("_T")


def _record(cls: type[_T]) -> type[_T]:
    """A slotted dataclass validated by pydantic inside `Snapshot`: ~10x less memory than a BaseModel per row,
    which matters at 100k tokens; unknown fields in an imported file are still refused (extra="forbid")."""
    out = dataclass(slots=True)(cls)
    out.__pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[attr-defined]
    return out


class Note(_Model):
    """Something the pull could not see: an object this org's edition lacks, or one the login cannot read."""

    object: str
    status: Literal["not_available", "no_access", "partial"]
    message: str


class Source(_Model):
    kind: Literal["org", "snapshot_file", "csv_export"]
    org_alias: str | None = None
    instance_url: str | None = None
    org_id: str | None = None
    username: str | None = None
    path: str | None = None


@_record
class Organization:
    id: str
    name: str | None = None
    edition: str | None = None
    is_sandbox: bool | None = None
    # Org-wide sharing defaults, object name -> access level ("Private", "Read", "Edit", "ReadEditTransfer"...).
    sharing_defaults: dict[str, str] = field(default_factory=dict)


@_record
class ConnectedApp:
    id: str
    name: str
    created: str | None = None
    created_by_id: str | None = None
    admin_approved_only: bool | None = None
    refresh_token_validity: int | None = None
    refresh_token_validity_metric: bool | None = None
    session_policy: bool | None = None
    start_url: str | None = None


@_record
class OAuthToken:
    ref: str
    app_name: str
    app_menu_item_id: str | None = None
    user_id: str | None = None
    created: str | None = None
    last_used: str | None = None
    use_count: int | None = None


@_record
class User:
    id: str
    username: str
    name: str | None = None
    email: str | None = None
    user_type: str | None = None
    active: bool = True
    last_login: str | None = None
    created: str | None = None
    profile_id: str | None = None
    profile_name: str | None = None
    license: str | None = None
    api_only: bool | None = None
    frozen: bool | None = None


@_record
class Profile:
    id: str
    name: str
    license: str | None = None
    user_type: str | None = None


@_record
class PermissionSet:
    id: str
    name: str
    label: str | None = None
    type: str | None = None
    profile_owned: bool = False
    profile_id: str | None = None
    profile_name: str | None = None
    namespace: str | None = None
    # Enabled permission flags, without the "Permissions" prefix (e.g. "ViewAllData").
    permissions: list[str] = field(default_factory=list)


@_record
class Assignment:
    id: str
    user_id: str
    permission_set_id: str
    group_id: str | None = None
    expires: str | None = None
    active: bool | None = None


@_record
class ObjectPermission:
    parent_id: str
    object: str
    read: bool = False
    create: bool = False
    edit: bool = False
    delete: bool = False
    view_all: bool = False
    modify_all: bool = False


@_record
class FieldPermission:
    parent_id: str
    object: str
    field: str
    read: bool = False
    edit: bool = False


@_record
class FieldClassification:
    """A field's data classification as the org records it; missing classification is itself a finding."""

    object: str
    field: str
    label: str | None = None
    data_type: str | None = None
    classification: str | None = None
    compliance: str | None = None


@_record
class Package:
    id: str
    package_id: str | None = None
    namespace: str | None = None
    name: str | None = None
    version_id: str | None = None
    version_name: str | None = None
    version: str | None = None
    security_reviewed: bool | None = None
    managed: bool | None = None
    publisher: str | None = None


@_record
class NamedCredential:
    id: str
    name: str
    label: str | None = None
    endpoint: str | None = None
    principal_type: str | None = None
    namespace: str | None = None
    auth_provider_id: str | None = None
    merge_fields_in_header: bool | None = None
    merge_fields_in_body: bool | None = None


@_record
class ExternalCredential:
    id: str
    name: str
    label: str | None = None
    protocol: str | None = None
    namespace: str | None = None


@_record
class ExternalDataSource:
    id: str
    name: str
    label: str | None = None
    type: str | None = None
    endpoint: str | None = None
    principal_type: str | None = None
    protocol: str | None = None
    writable: bool | None = None
    auth_provider_id: str | None = None
    named_credential_id: str | None = None
    repository: str | None = None
    namespace: str | None = None


@_record
class RemoteSite:
    id: str
    name: str
    url: str | None = None
    active: bool | None = None
    disable_protocol_security: bool | None = None
    protocol_mismatch: bool | None = None
    namespace: str | None = None
    description: str | None = None


@_record
class TraceFlag:
    id: str
    traced_entity_id: str | None = None
    log_type: str | None = None
    debug_level_id: str | None = None
    start: str | None = None
    expires: str | None = None
    created_by_id: str | None = None


@_record
class DebugLevel:
    id: str
    name: str
    apex_code: str | None = None
    callout: str | None = None
    database: str | None = None
    system: str | None = None
    validation: str | None = None
    workflow: str | None = None


@_record
class SensitiveHit:
    """What a debug-log body holds, counted and masked: the values themselves stay in the org."""

    kind: str
    count: int
    first_line: int
    samples: list[str] = field(default_factory=list)


@_record
class DebugLog:
    id: str
    user_id: str | None = None
    length: int | None = None
    operation: str | None = None
    request: str | None = None
    status: str | None = None
    start: str | None = None
    application: str | None = None
    location: str | None = None
    body_scanned: bool = False
    hits: list[SensitiveHit] = field(default_factory=list)


@_record
class AuditEvent:
    id: str
    created: str | None = None
    action: str | None = None
    section: str | None = None
    display: str | None = None
    created_by: str | None = None
    delegate_user: str | None = None
    context: str | None = None
    namespace: str | None = None


@_record
class Login:
    id: str
    user_id: str | None = None
    time: str | None = None
    login_type: str | None = None
    sub_type: str | None = None
    source_ip: str | None = None
    status: str | None = None
    application: str | None = None
    browser: str | None = None
    platform: str | None = None
    api_type: str | None = None
    api_version: str | None = None
    client_version: str | None = None
    login_url: str | None = None
    country: str | None = None
    tls: str | None = None


@_record
class SharingRule:
    """A criteria- or owner-based sharing rule; `shared_with` names the group or role it opens records to."""

    id: str
    name: str
    object: str
    access: str | None = None
    shared_with: str | None = None
    shared_with_type: str | None = None


class Snapshot(_Model):
    format: Literal["warroom.inventory"] = FORMAT
    format_version: Literal[1] = FORMAT_VERSION
    taken_utc: str
    source: Source
    # Permission flags this org has (describe), so "absent" and "off" are told apart.
    permission_fields: list[str] = Field(default_factory=list)
    notes: list[Note] = Field(default_factory=list)
    organization: Organization | None = None
    connected_apps: list[ConnectedApp] = Field(default_factory=list)
    oauth_tokens: list[OAuthToken] = Field(default_factory=list)
    users: list[User] = Field(default_factory=list)
    profiles: list[Profile] = Field(default_factory=list)
    permission_sets: list[PermissionSet] = Field(default_factory=list)
    assignments: list[Assignment] = Field(default_factory=list)
    object_permissions: list[ObjectPermission] = Field(default_factory=list)
    field_permissions: list[FieldPermission] = Field(default_factory=list)
    field_classifications: list[FieldClassification] = Field(default_factory=list)
    sharing_rules: list[SharingRule] = Field(default_factory=list)
    packages: list[Package] = Field(default_factory=list)
    named_credentials: list[NamedCredential] = Field(default_factory=list)
    external_credentials: list[ExternalCredential] = Field(default_factory=list)
    external_data_sources: list[ExternalDataSource] = Field(default_factory=list)
    remote_sites: list[RemoteSite] = Field(default_factory=list)
    trace_flags: list[TraceFlag] = Field(default_factory=list)
    debug_levels: list[DebugLevel] = Field(default_factory=list)
    debug_logs: list[DebugLog] = Field(default_factory=list)
    audit_trail: list[AuditEvent] = Field(default_factory=list)
    login_history: list[Login] = Field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in COLLECTIONS}


# Collections in a snapshot, each with the function giving a record's identity (for diffs) and its label.
COLLECTIONS: dict[str, tuple[Callable[[Any], str], Callable[[Any], str]]] = {
    "connected_apps": (lambda r: r.id, lambda r: r.name),
    "oauth_tokens": (lambda r: r.ref, lambda r: f"{r.app_name} token of {r.user_id}"),
    "users": (lambda r: r.id, lambda r: r.username),
    "profiles": (lambda r: r.id, lambda r: r.name),
    "permission_sets": (lambda r: r.id, lambda r: r.name),
    "assignments": (lambda r: r.id, lambda r: f"{r.permission_set_id} -> {r.user_id}"),
    "object_permissions": (lambda r: f"{r.parent_id}/{r.object}", lambda r: f"{r.object} on {r.parent_id}"),
    "field_permissions": (
        lambda r: f"{r.parent_id}/{r.object}.{r.field}",
        lambda r: f"{r.object}.{r.field} on {r.parent_id}",
    ),
    "field_classifications": (lambda r: f"{r.object}.{r.field}", lambda r: f"{r.object}.{r.field}"),
    "sharing_rules": (lambda r: r.id, lambda r: f"{r.object}: {r.name}"),
    "packages": (lambda r: r.id, lambda r: r.name or r.namespace or r.id),
    "named_credentials": (lambda r: r.id, lambda r: r.name),
    "external_credentials": (lambda r: r.id, lambda r: r.name),
    "external_data_sources": (lambda r: r.id, lambda r: r.name),
    "remote_sites": (lambda r: r.id, lambda r: r.name),
    "trace_flags": (lambda r: r.id, lambda r: f"trace on {r.traced_entity_id}"),
    "debug_levels": (lambda r: r.id, lambda r: r.name),
    "debug_logs": (lambda r: r.id, lambda r: f"{r.operation or 'log'} by {r.user_id}"),
    "audit_trail": (lambda r: r.id, lambda r: r.display or r.action or r.id),
    "login_history": (lambda r: r.id, lambda r: f"{r.user_id} from {r.source_ip}"),
}


# --------------------------------------------------------------------------------------------------
# Mapping Salesforce fields (API records and Data Loader CSV columns alike) onto snapshot records.
# --------------------------------------------------------------------------------------------------

Getter = Callable[[str], Any]


@dataclass(frozen=True)
class _Obj:
    """One sObject as the inventory reads it: where it lives, which fields map to which record attribute."""

    sobject: str
    collection: str
    record: type
    fields: tuple[tuple[str, str, str], ...]  # (attribute, API path, kind: s str | b bool | i int | x special)
    tooling: bool = False
    tail: str = ""  # WHERE / ORDER BY / LIMIT
    required: tuple[str, ...] = ("Id",)


def _fields(spec: str) -> tuple[tuple[str, str, str], ...]:
    """`attr=Api.Path:kind` tokens; kind defaults to s."""
    out = []
    for token in spec.split():
        attr, _, rest = token.partition("=")
        path, _, kind = rest.partition(":")
        out.append((attr, path, kind or "s"))
    return tuple(out)


OBJECTS: dict[str, _Obj] = {
    o.sobject: o
    for o in (
        _Obj(
            "ConnectedApplication", "connected_apps", ConnectedApp,
            _fields(
                "id=Id name=Name created=CreatedDate created_by_id=CreatedById "
                "admin_approved_only=OptionsAllowAdminApprovedUsersOnly:b "
                "refresh_token_validity=RefreshTokenValidityPeriod:i "
                "refresh_token_validity_metric=OptionsRefreshTokenValidityMetric:b "
                "session_policy=OptionsHasSessionLevelPolicy:b start_url=StartUrl"
            ),
            tail="ORDER BY Name",
            required=("Id", "Name"),
        ),
        _Obj(
            "OauthToken", "oauth_tokens", OAuthToken,
            _fields(
                "ref=DeleteToken:x app_name=AppName app_menu_item_id=AppMenuItemId user_id=UserId "
                "created=CreatedDate last_used=LastUsedDate use_count=UseCount:i"
            ),
            required=("AppName",),
        ),
        _Obj(
            "User", "users", User,
            _fields(
                "id=Id username=Username name=Name email=Email user_type=UserType active=IsActive:b "
                "last_login=LastLoginDate created=CreatedDate profile_id=ProfileId profile_name=Profile.Name "
                "license=Profile.UserLicense.Name api_only=Profile.PermissionsApiUserOnly:b"
            ),
            tail="ORDER BY Username",
            required=("Id", "Username"),
        ),
        _Obj(
            "Profile", "profiles", Profile,
            _fields("id=Id name=Name license=UserLicense.Name user_type=UserType"),
            tail="ORDER BY Name",
            required=("Id", "Name"),
        ),
        _Obj(
            "PermissionSet", "permission_sets", PermissionSet,
            _fields(
                "id=Id name=Name label=Label type=Type profile_owned=IsOwnedByProfile:b profile_id=ProfileId "
                "profile_name=Profile.Name namespace=NamespacePrefix"
            ),
            tail="ORDER BY Name",
            required=("Id", "Name"),
        ),
        _Obj(
            "PermissionSetAssignment", "assignments", Assignment,
            _fields(
                "id=Id user_id=AssigneeId permission_set_id=PermissionSetId group_id=PermissionSetGroupId "
                "expires=ExpirationDate active=IsActive:b"
            ),
            required=("Id", "AssigneeId", "PermissionSetId"),
        ),
        _Obj(
            "ObjectPermissions", "object_permissions", ObjectPermission,
            _fields(
                "parent_id=ParentId object=SobjectType read=PermissionsRead:b create=PermissionsCreate:b "
                "edit=PermissionsEdit:b delete=PermissionsDelete:b view_all=PermissionsViewAllRecords:b "
                "modify_all=PermissionsModifyAllRecords:b"
            ),
            required=("ParentId", "SobjectType"),
        ),
        _Obj(
            "FieldPermissions", "field_permissions", FieldPermission,
            _fields(
                "parent_id=ParentId object=SobjectType field=Field:x read=PermissionsRead:b edit=PermissionsEdit:b"
            ),
            required=("ParentId", "SobjectType", "Field"),
        ),
        _Obj(
            "FieldDefinition", "field_classifications", FieldClassification,
            _fields(
                "object=EntityDefinition.QualifiedApiName:x field=QualifiedApiName label=Label data_type=DataType "
                "classification=SecurityClassification compliance=ComplianceGroup"
            ),
            tooling=False,
            required=("QualifiedApiName",),
        ),
        _Obj(
            "InstalledSubscriberPackage", "packages", Package,
            _fields(
                "id=Id package_id=SubscriberPackageId namespace=SubscriberPackage.NamespacePrefix "
                "name=SubscriberPackage.Name version_id=SubscriberPackageVersion.Id "
                "version_name=SubscriberPackageVersion.Name version=SubscriberPackageVersion.MajorVersion:x "
                "security_reviewed=SubscriberPackageVersion.IsSecurityReviewed:b "
                "managed=SubscriberPackageVersion.IsManaged:b publisher=SubscriberPackageVersion.PublisherName"
            ),
            tooling=True,
            tail="ORDER BY SubscriberPackageId",
        ),
        _Obj(
            "NamedCredential", "named_credentials", NamedCredential,
            _fields(
                "id=Id name=DeveloperName label=MasterLabel endpoint=Endpoint principal_type=PrincipalType "
                "namespace=NamespacePrefix auth_provider_id=AuthProviderId "
                "merge_fields_in_header=CalloutOptionsAllowMergeFieldsInHeader:b "
                "merge_fields_in_body=CalloutOptionsAllowMergeFieldsInBody:b"
            ),
            required=("Id", "DeveloperName"),
        ),
        _Obj(
            "ExternalCredential", "external_credentials", ExternalCredential,
            _fields(
                "id=Id name=DeveloperName label=MasterLabel protocol=AuthenticationProtocol namespace=NamespacePrefix"
            ),
            required=("Id", "DeveloperName"),
        ),
        _Obj(
            "ExternalDataSource", "external_data_sources", ExternalDataSource,
            _fields(
                "id=Id name=DeveloperName label=MasterLabel type=Type endpoint=Endpoint principal_type=PrincipalType "
                "protocol=Protocol writable=IsWritable:b auth_provider_id=AuthProviderId "
                "named_credential_id=NamedCredentialId repository=Repository namespace=NamespacePrefix"
            ),
            required=("Id", "DeveloperName"),
        ),
        _Obj(
            "RemoteProxy", "remote_sites", RemoteSite,
            _fields(
                "id=Id name=SiteName url=EndpointUrl active=IsActive:b "
                "disable_protocol_security=DisableProtocolSecurity:b protocol_mismatch=ProtocolMismatch:b "
                "namespace=NamespacePrefix description=Description"
            ),
            tooling=True,
            required=("Id", "SiteName"),
        ),
        _Obj(
            "TraceFlag", "trace_flags", TraceFlag,
            _fields(
                "id=Id traced_entity_id=TracedEntityId log_type=LogType debug_level_id=DebugLevelId "
                "start=StartDate expires=ExpirationDate created_by_id=CreatedById"
            ),
            tooling=True,
        ),
        _Obj(
            "DebugLevel", "debug_levels", DebugLevel,
            _fields(
                "id=Id name=DeveloperName apex_code=ApexCode callout=Callout database=Database system=System "
                "validation=Validation workflow=Workflow"
            ),
            tooling=True,
            required=("Id", "DeveloperName"),
        ),
        _Obj(
            "ApexLog", "debug_logs", DebugLog,
            _fields(
                "id=Id user_id=LogUserId length=LogLength:i operation=Operation request=Request status=Status "
                "start=StartTime application=Application location=Location"
            ),
            tail="ORDER BY StartTime DESC",
        ),
        _Obj(
            "SetupAuditTrail", "audit_trail", AuditEvent,
            _fields(
                "id=Id created=CreatedDate action=Action section=Section display=Display "
                "created_by=CreatedBy.Username delegate_user=DelegateUser context=CreatedByContext "
                "namespace=ResponsibleNamespacePrefix"
            ),
            tail="ORDER BY CreatedDate DESC",
        ),
        _Obj(
            "LoginHistory", "login_history", Login,
            _fields(
                "id=Id user_id=UserId time=LoginTime login_type=LoginType sub_type=LoginSubType source_ip=SourceIp "
                "status=Status application=Application browser=Browser platform=Platform api_type=ApiType "
                "api_version=ApiVersion client_version=ClientVersion login_url=LoginUrl country=CountryIso "
                "tls=TlsProtocol"
            ),
            tail="ORDER BY LoginTime DESC",
        ),
    )
}

_TRUE = frozenset({"true", "1", "yes", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "f"})


class _BadValue(ValueError):
    pass


def _strict(value: Any, kind: str) -> Any:
    """A CSV cell to its typed value; raises _BadValue with a message the responder can act on."""
    if value is None:
        return None
    text = str(value).strip()
    if text == "":
        return None
    if kind == "b":
        low = text.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise _BadValue(f"{text!r} is not true/false")
    if kind == "i":
        try:
            number = float(text)
        except ValueError:
            raise _BadValue(f"{text!r} is not a number") from None
        if number != int(number):
            raise _BadValue(f"{text!r} is not a whole number")
        return int(number)
    return text


def _loose(value: Any, kind: str) -> Any:
    """A value from the adapter (already JSON-typed) to the record's type. Short strings are interned: 100k
    tokens repeat a few app names, user Ids and dates, and each JSON row would otherwise hold its own copy."""
    if value is None or value == "":
        return None
    if kind == "b":
        return value if isinstance(value, bool) else str(value).lower() in _TRUE
    if kind == "i":
        return int(value)
    text = value if isinstance(value, str) else str(value)
    return sys.intern(text) if len(text) <= 64 else text


def token_ref(delete_token: str | None, app_name: str | None, user_id: str | None, created: str | None) -> str:
    """A stable handle for a token that is not the token: SHA-256 of its DeleteToken (or of what identifies it)."""
    basis = delete_token or f"{app_name}|{user_id}|{created}"
    return hashlib.sha256(basis.encode()).hexdigest()[:20]


def _special(obj: _Obj, attr: str, path: str, get: Getter, convert: Callable[[Any, str], Any]) -> Any:
    if obj.sobject == "OauthToken" and attr == "ref":
        return token_ref(get("DeleteToken"), get("AppName"), get("UserId"), get("CreatedDate"))
    if obj.sobject == "FieldPermissions" and attr == "field":
        value = convert(get(path), "s")
        return value.split(".", 1)[1] if value and "." in value else value
    if obj.sobject == "FieldDefinition" and attr == "object":
        return convert(get(path), "s") or convert(get("EntityDefinitionId"), "s")
    if obj.sobject == "InstalledSubscriberPackage" and attr == "version":
        parts = [convert(get(f"SubscriberPackageVersion.{p}Version"), "i") for p in ("Major", "Minor", "Patch")]
        parts.append(convert(get("SubscriberPackageVersion.BuildNumber"), "i"))
        if parts[0] is None:
            return None
        return ".".join(str(p) for p in parts if p is not None)
    raise AssertionError(f"no special conversion for {obj.sobject}.{attr}")


def scan_body(data: bytes) -> list[SensitiveHit]:
    """Personal data and credentials in a debug-log body, counted per kind with a few masked samples."""
    found: dict[str, SensitiveHit] = {}
    for hit in scan_debug_log(data.decode("utf-8", errors="replace")):
        agg = found.get(hit.kind)
        if agg is None:
            found[hit.kind] = SensitiveHit(kind=hit.kind, count=1, first_line=hit.line, samples=[hit.masked])
        else:
            agg.count += 1
            if len(agg.samples) < 3 and hit.masked not in agg.samples:
                agg.samples.append(hit.masked)
    return [found[k] for k in sorted(found)]


def _nested_getter(rec: Mapping[str, Any]) -> Getter:
    def get(path: str) -> Any:
        if "." not in path:
            return rec.get(path)
        cur: Any = rec
        for part in path.split("."):
            if not isinstance(cur, Mapping):
                return None
            cur = cur.get(part)
        return cur

    return get


def _permission_flags(get: Getter, permission_fields: Iterable[str], convert: Callable[[Any, str], Any]) -> list[str]:
    return [name for name in permission_fields if convert(get(f"Permissions{name}"), "b")]


# --------------------------------------------------------------------------------------------------
# Reading a snapshot: who is an integration user, and what each user holds.
# --------------------------------------------------------------------------------------------------

INTEGRATION_LICENSES = ("salesforce integration",)
INTEGRATION_PROFILES = ("minimum access - api only integrations",)


def integration_users(snap: Snapshot) -> dict[str, str]:
    """User id -> why it counts as an integration user (licence, API-only profile or API-only permission)."""
    api_only_sets = {p.id for p in snap.permission_sets if "ApiUserOnly" in p.permissions}
    api_only_holders = {a.user_id for a in snap.assignments if a.permission_set_id in api_only_sets}
    out: dict[str, str] = {}
    for u in snap.users:
        if u.license and u.license.lower() in INTEGRATION_LICENSES:
            out[u.id] = f"licence {u.license}"
        elif u.profile_name and u.profile_name.lower() in INTEGRATION_PROFILES:
            out[u.id] = f"profile {u.profile_name}"
        elif u.api_only:
            out[u.id] = f"API-only profile {u.profile_name or u.profile_id}"
        elif u.id in api_only_holders:
            out[u.id] = "API-only permission (Api Only User) from a permission set"
        elif (u.user_type or "").lower() in ("integration", "automatedprocess"):
            out[u.id] = f"user type {u.user_type}"
    return out


def held_permission_sets(snap: Snapshot, *, at: str | None = None) -> dict[str, list[tuple[PermissionSet, str | None]]]:
    """User id -> (permission set, assignment id or None for the profile's own set) the user holds now.

    Expired and inactive assignments are left out; the profile's own permission set is included even when
    the export carries no assignment row for it (Data Loader exports often filter those out).
    """
    by_id = {p.id: p for p in snap.permission_sets}
    by_profile = {p.profile_id: p for p in snap.permission_sets if p.profile_owned and p.profile_id}
    out: dict[str, list[tuple[PermissionSet, str | None]]] = {}
    for a in snap.assignments:
        if a.active is False or (at and a.expires and a.expires[:19] < at[:19]):
            continue
        ps = by_id.get(a.permission_set_id)
        if ps is not None:
            out.setdefault(a.user_id, []).append((ps, a.id))
    for u in snap.users:
        ps = by_profile.get(u.profile_id)
        held = out.setdefault(u.id, [])
        if ps is not None and not any(p is ps for p, _ in held):
            held.append((ps, None))
    return out


# --------------------------------------------------------------------------------------------------
# Pulling a snapshot through the Salesforce adapter.
# --------------------------------------------------------------------------------------------------

OAUTH_TOKEN_CAP = 2500  # rows one OauthToken query can return in total (queryMore included)
ID_CHUNK = 200  # Ids per `IN (...)` list, well under the SOQL length limit
LOGIN_LIMIT = 50_000
AUDIT_LIMIT = 5_000
DEBUG_LOG_LIMIT = 200
DEBUG_LOG_MAX_BYTES = 25 * 1024 * 1024  # a debug log is at most 20 MB
CLASSIFIED_OBJECTS = ("Account", "Contact", "Lead", "Case", "Opportunity")
SUPPORT_PROFILE_WORDS = ("support", "service", "agent", "helpdesk", "help desk", "call center", "contact center")
SHARING_FIELDS = {
    "DefaultAccountAccess": "Account",
    "DefaultContactAccess": "Contact",
    "DefaultOpportunityAccess": "Opportunity",
    "DefaultLeadAccess": "Lead",
    "DefaultCaseAccess": "Case",
    "DefaultCalendarAccess": "Calendar",
    "DefaultPricebookAccess": "Pricebook",
}


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


def _source_summary(source: Source) -> dict[str, Any]:
    return {k: v for k, v in source.model_dump().items() if v is not None}


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
