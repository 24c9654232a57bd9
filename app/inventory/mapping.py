"""Mapping Salesforce fields (API records and Data Loader CSV columns alike) onto snapshot records.

One table (`OBJECTS`) says where each sObject's fields land, so a live pull and an offline CSV import build
the same records; the converters differ only in how much they trust the values.
"""

from __future__ import annotations

import hashlib
import math
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.base.sensitive import scan_debug_log
from app.inventory.models import (
    Assignment,
    AuditEvent,
    ConnectedApp,
    DebugLevel,
    DebugLog,
    ExternalCredential,
    ExternalDataSource,
    FieldClassification,
    FieldPermission,
    Login,
    NamedCredential,
    OAuthToken,
    ObjectPermission,
    Package,
    PermissionSet,
    Profile,
    RemoteSite,
    SensitiveHit,
    TraceFlag,
    User,
)

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
            "ConnectedApplication",
            "connected_apps",
            ConnectedApp,
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
            "OauthToken",
            "oauth_tokens",
            OAuthToken,
            _fields(
                "ref=DeleteToken:x app_name=AppName app_menu_item_id=AppMenuItemId user_id=UserId "
                "created=CreatedDate last_used=LastUsedDate use_count=UseCount:i"
            ),
            required=("AppName",),
        ),
        _Obj(
            "User",
            "users",
            User,
            _fields(
                "id=Id username=Username name=Name email=Email user_type=UserType active=IsActive:b "
                "last_login=LastLoginDate created=CreatedDate profile_id=ProfileId profile_name=Profile.Name "
                "license=Profile.UserLicense.Name api_only=Profile.PermissionsApiUserOnly:b"
            ),
            tail="ORDER BY Username",
            required=("Id", "Username"),
        ),
        _Obj(
            "Profile",
            "profiles",
            Profile,
            _fields("id=Id name=Name license=UserLicense.Name user_type=UserType"),
            tail="ORDER BY Name",
            required=("Id", "Name"),
        ),
        _Obj(
            "PermissionSet",
            "permission_sets",
            PermissionSet,
            _fields(
                "id=Id name=Name label=Label type=Type profile_owned=IsOwnedByProfile:b profile_id=ProfileId "
                "profile_name=Profile.Name namespace=NamespacePrefix"
            ),
            tail="ORDER BY Name",
            required=("Id", "Name"),
        ),
        _Obj(
            "PermissionSetAssignment",
            "assignments",
            Assignment,
            _fields(
                "id=Id user_id=AssigneeId permission_set_id=PermissionSetId group_id=PermissionSetGroupId "
                "expires=ExpirationDate active=IsActive:b"
            ),
            required=("Id", "AssigneeId", "PermissionSetId"),
        ),
        _Obj(
            "ObjectPermissions",
            "object_permissions",
            ObjectPermission,
            _fields(
                "parent_id=ParentId object=SobjectType read=PermissionsRead:b create=PermissionsCreate:b "
                "edit=PermissionsEdit:b delete=PermissionsDelete:b view_all=PermissionsViewAllRecords:b "
                "modify_all=PermissionsModifyAllRecords:b"
            ),
            required=("ParentId", "SobjectType"),
        ),
        _Obj(
            "FieldPermissions",
            "field_permissions",
            FieldPermission,
            _fields(
                "parent_id=ParentId object=SobjectType field=Field:x read=PermissionsRead:b edit=PermissionsEdit:b"
            ),
            required=("ParentId", "SobjectType", "Field"),
        ),
        _Obj(
            "FieldDefinition",
            "field_classifications",
            FieldClassification,
            _fields(
                "object=EntityDefinition.QualifiedApiName:x field=QualifiedApiName label=Label data_type=DataType "
                "classification=SecurityClassification compliance=ComplianceGroup"
            ),
            tooling=False,
            required=("QualifiedApiName",),
        ),
        _Obj(
            "InstalledSubscriberPackage",
            "packages",
            Package,
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
            "NamedCredential",
            "named_credentials",
            NamedCredential,
            _fields(
                "id=Id name=DeveloperName label=MasterLabel endpoint=Endpoint principal_type=PrincipalType "
                "namespace=NamespacePrefix auth_provider_id=AuthProviderId "
                "merge_fields_in_header=CalloutOptionsAllowMergeFieldsInHeader:b "
                "merge_fields_in_body=CalloutOptionsAllowMergeFieldsInBody:b"
            ),
            required=("Id", "DeveloperName"),
        ),
        _Obj(
            "ExternalCredential",
            "external_credentials",
            ExternalCredential,
            _fields(
                "id=Id name=DeveloperName label=MasterLabel protocol=AuthenticationProtocol namespace=NamespacePrefix"
            ),
            required=("Id", "DeveloperName"),
        ),
        _Obj(
            "ExternalDataSource",
            "external_data_sources",
            ExternalDataSource,
            _fields(
                "id=Id name=DeveloperName label=MasterLabel type=Type endpoint=Endpoint principal_type=PrincipalType "
                "protocol=Protocol writable=IsWritable:b auth_provider_id=AuthProviderId "
                "named_credential_id=NamedCredentialId repository=Repository namespace=NamespacePrefix"
            ),
            required=("Id", "DeveloperName"),
        ),
        _Obj(
            "RemoteProxy",
            "remote_sites",
            RemoteSite,
            _fields(
                "id=Id name=SiteName url=EndpointUrl active=IsActive:b "
                "disable_protocol_security=DisableProtocolSecurity:b protocol_mismatch=ProtocolMismatch:b "
                "namespace=NamespacePrefix description=Description"
            ),
            tooling=True,
            required=("Id", "SiteName"),
        ),
        _Obj(
            "TraceFlag",
            "trace_flags",
            TraceFlag,
            _fields(
                "id=Id traced_entity_id=TracedEntityId log_type=LogType debug_level_id=DebugLevelId "
                "start=StartDate expires=ExpirationDate created_by_id=CreatedById"
            ),
            tooling=True,
        ),
        _Obj(
            "DebugLevel",
            "debug_levels",
            DebugLevel,
            _fields(
                "id=Id name=DeveloperName apex_code=ApexCode callout=Callout database=Database system=System "
                "validation=Validation workflow=Workflow"
            ),
            tooling=True,
            required=("Id", "DeveloperName"),
        ),
        _Obj(
            "ApexLog",
            "debug_logs",
            DebugLog,
            _fields(
                "id=Id user_id=LogUserId length=LogLength:i operation=Operation request=Request status=Status "
                "start=StartTime application=Application location=Location"
            ),
            tail="ORDER BY StartTime DESC",
        ),
        _Obj(
            "SetupAuditTrail",
            "audit_trail",
            AuditEvent,
            _fields(
                "id=Id created=CreatedDate action=Action section=Section display=Display "
                "created_by=CreatedBy.Username delegate_user=DelegateUser context=CreatedByContext "
                "namespace=ResponsibleNamespacePrefix"
            ),
            tail="ORDER BY CreatedDate DESC",
        ),
        _Obj(
            "LoginHistory",
            "login_history",
            Login,
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

# Organization fields holding the org-wide sharing defaults, field -> object (pull and CSV import alike).
SHARING_FIELDS = {
    "DefaultAccountAccess": "Account",
    "DefaultContactAccess": "Contact",
    "DefaultOpportunityAccess": "Opportunity",
    "DefaultLeadAccess": "Lead",
    "DefaultCaseAccess": "Case",
    "DefaultCalendarAccess": "Calendar",
    "DefaultPricebookAccess": "Pricebook",
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
        if not math.isfinite(number):  # inf, nan, or 1E310 (too large for a float)
            raise _BadValue(f"{text!r} is not a finite number")
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


DEBUG_LOG_MAX_BYTES = 25 * 1024 * 1024  # a debug log is at most 20 MB


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
