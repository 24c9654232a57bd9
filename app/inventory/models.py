"""Snapshot models: the typed rows of an inventory snapshot and the `Snapshot` that holds them.

`extra="forbid"` throughout: an imported file with unknown fields is rejected.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from app.base.errors import WarroomError

FORMAT = "warroom.inventory"
FORMAT_VERSION = 1


class InventoryError(WarroomError):
    """A snapshot could not be read or built; the message names the file and the field or line."""


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
    # Permission sets (profile-owned ones included) whose ObjectPermissions and FieldPermissions were read; None
    # when not recorded (older snapshots, CSV exports), so "no row" cannot be told from "not read".
    access_read_for: list[str] | None = None
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

    def partial(self, sobject: str) -> bool:
        """True when a note says `sobject` was read only in part (its count is not the org's)."""
        return any(n.object == sobject and n.status in ("partial", "no_access") for n in self.notes)

    def count_text(self, collection: str, label: str, sobject: str) -> str:
        """ "12 OAuth tokens", or "12 OAuth tokens (PARTIAL)" when the pull could not see them all."""
        n = len(getattr(self, collection))
        return f"{n} {label}" + (" (PARTIAL: see notes)" if self.partial(sobject) else "")


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


def _source_summary(source: Source) -> dict[str, Any]:
    return {k: v for k, v in source.model_dump().items() if v is not None}
