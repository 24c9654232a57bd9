"""The sObject shapes the simulated org serves, built from Salesforce's documented schema (app/salesforce/schema).

Fields, types, supported calls and access rules come from the checked-in description of Salesforce
(`app/data/salesforce`), so the simulated org serves no field the documented object lacks. What is only the
simulator's (key prefixes it mints Ids with, the indexes that keep 100k-row tables fast) is kept here. Each org
builds its own `Schema`: a seed may switch off fields that some orgs lack (`organization.absent_fields`), enable
feature-gated permission flags (`extra_permissions`), add custom fields, or lack the Event Monitoring add-on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, get_args

from app.base.sfschema import FieldType, SfObject, salesforce_schema


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: str
    reference_to: str | None = None
    relationship: str | None = None
    filterable: bool = True
    updateable: bool = False
    createable: bool = False
    nillable: bool = True


@dataclass
class ObjectDef:
    name: str
    prefix: str
    fields: dict[str, FieldDef]
    apis: frozenset[str] = frozenset({"rest"})
    createable: bool = False
    updateable: bool = False
    deletable: bool = False
    big_object: bool = False
    id_null: bool = False
    # Permission (flag name without "Permissions") a login needs to see the object at all.
    requires: str | None = None
    # Permission needed to change it (update/delete/create).
    dml_requires: str | None = None
    indexes: tuple[str, ...] = ()
    unique: tuple[str, ...] = ()
    label: str = ""
    custom: bool = False  # a custom object (Name__c) the seed declares
    _lower: dict[str, str] = field(default_factory=dict, repr=False)
    _relationships: dict[str, FieldDef] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._lower = {name.lower(): name for name in self.fields}
        self._relationships = {f.relationship.lower(): f for f in self.fields.values() if f.relationship is not None}
        if not self.label:
            self.label = self.name

    def field(self, name: str) -> FieldDef | None:
        canonical = self._lower.get(name.lower())
        return self.fields[canonical] if canonical else None

    def relationship(self, name: str) -> FieldDef | None:
        return self._relationships.get(name.lower())


@dataclass
class Schema:
    objects: dict[str, ObjectDef]
    _lower: dict[str, str] = field(default_factory=dict, repr=False)
    _by_prefix: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._lower = {name.lower(): name for name in self.objects}
        self._by_prefix = {o.prefix: o.name for o in self.objects.values()}

    def get(self, name: str) -> ObjectDef | None:
        canonical = self._lower.get(name.lower())
        return self.objects[canonical] if canonical else None

    def by_prefix(self, prefix: str) -> ObjectDef | None:
        name = self._by_prefix.get(prefix)
        return self.objects[name] if name else None


# The simulator's own details per object: the key prefix it mints Ids with, its indexes and exact-lookup fields.
_PREFIX = {
    "Organization": "00D",
    "User": "005",
    "Profile": "00e",
    "UserLicense": "100",
    "PermissionSet": "0PS",
    "PermissionSetAssignment": "0Pa",
    "PermissionSetGroup": "0PG",  # the prefix of PermissionSetGroup Ids in public recorded test data
    "UserLogin": "060",
    "AuthSession": "0Ak",
    "LoginHistory": "0Ya",
    "OauthToken": "0CQ",
    "ConnectedApplication": "0H4",
    "AppMenuItem": "0DS",
    "InstalledSubscriberPackage": "0A3",
    "SubscriberPackage": "033",
    "SubscriberPackageVersion": "04t",
    "NamedCredential": "0XA",
    "ExternalCredential": "0pt",
    "ExternalDataSource": "0XC",
    "RemoteProxy": "0rp",
    "ApexLog": "07L",
    "TraceFlag": "7tf",
    "DebugLevel": "7dl",
    "SetupAuditTrail": "0Ym",
    "EventLogFile": "0AT",
    "FieldPermissions": "01k",
    "ObjectPermissions": "110",
    "EntityDefinition": "01I",
    "FieldDefinition": "00N",
    "Account": "001",
    "Contact": "003",
    "Case": "500",
    "Opportunity": "006",
    "EmailMessage": "02s",
    "ContentVersion": "068",
    "ApiEvent": "3PT",
    "LoginEvent": "0Ld",
    "ReportEvent": "0Rv",
    "BulkApiResultEventStore": "0Bk",
}
_INDEXES = {
    "User": ("Username", "ProfileId"),
    "PermissionSet": ("ProfileId",),
    "PermissionSetAssignment": ("AssigneeId", "PermissionSetId"),
    "UserLogin": ("UserId",),
    "AuthSession": ("UsersId",),
    "LoginHistory": ("UserId",),
    "OauthToken": ("UserId", "AppName"),
    "ApexLog": ("LogUserId",),
    "FieldPermissions": ("ParentId",),
    "ObjectPermissions": ("ParentId",),
    "FieldDefinition": ("EntityDefinitionId",),
    "Contact": ("AccountId",),
}
_UNIQUE = {"OauthToken": ("DeleteToken",)}  # revoke looks a DeleteToken up exactly
# Business data is the attacker's target; its fields are the seed's to fill (insert/update allowed in the simulator).
BUSINESS_OBJECTS = ("Account", "Contact", "Case", "Opportunity", "EmailMessage", "ContentVersion")


def is_data_object(obj: ObjectDef) -> bool:
    """Business data a seed fills and grants access to: the standard objects above, and its custom objects."""
    return obj.name in BUSINESS_OBJECTS or obj.custom


def custom_object(name: str, number: int, extra: dict[str, str]) -> ObjectDef:
    """A custom object as the Object Reference's "Custom Object__c" page describes it: the system fields every
    custom object has (Id, Name, OwnerId, CreatedById, CreatedDate, LastModifiedById, LastModifiedDate,
    SystemModstamp, IsDeleted) and the supported calls create, delete, query, retrieve, update; plus the seed's
    custom fields. Optional system fields (CurrencyIsoCode, RecordTypeId, Connection*Id) are feature-gated and
    left out. Salesforce gives each custom object an org-specific key prefix starting with "a"; the simulator
    mints its own (a00, a01, ...)."""
    user = {"reference_to": "User"}
    system: list[tuple[str, str, dict[str, Any]]] = [
        ("Id", "id", {"nillable": False}),
        ("Name", "string", {"createable": True, "updateable": True}),
        ("OwnerId", "reference", {**user, "relationship": "Owner", "createable": True, "updateable": True}),
        ("CreatedById", "reference", {**user, "relationship": "CreatedBy"}),
        ("CreatedDate", "datetime", {}),
        ("LastModifiedById", "reference", {**user, "relationship": "LastModifiedBy"}),
        ("LastModifiedDate", "datetime", {}),
        ("SystemModstamp", "datetime", {}),
        ("IsDeleted", "boolean", {}),
    ]
    fields = {n: FieldDef(name=n, type=t, **kw) for n, t, kw in system}
    for field_name, kind in extra.items():
        fields[field_name] = FieldDef(
            name=field_name,
            type=kind,
            filterable=kind not in ("textarea", "base64"),
            createable=True,
            updateable=True,
        )
    prefix = f"a{number // 36:1d}{'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'[number % 36]}"
    return ObjectDef(name, prefix, fields, createable=True, updateable=True, deletable=True, custom=True)


# Describe type names (the data already uses them; kept as a table for error messages).
DESCRIBE_TYPES = {t: t for t in get_args(FieldType)}


def _permission_flags(obj: str, *, default_on: bool) -> tuple[str, ...]:
    spec = salesforce_schema().objects[obj]
    return tuple(
        f.name[len("Permissions") :]
        for f in spec.fields.values()
        if f.name.startswith("Permissions") and f.default_on == default_on
    )


# Permission flags every simulated org has, and the feature-gated ones a seed may enable (extra_permissions).
STANDARD_PERMISSIONS: tuple[str, ...] = _permission_flags("PermissionSet", default_on=True)
OPTIONAL_PERMISSIONS: tuple[str, ...] = _permission_flags("PermissionSet", default_on=False)


def _object_def(spec: SfObject, absent: set[str], enabled: set[str]) -> ObjectDef:
    fields: dict[str, FieldDef] = {}
    for f in spec.fields.values():
        key = f"{spec.name}.{f.name}"
        if f.optional and (key in absent or (not f.default_on and key not in enabled)):
            continue
        relationship = None
        if f.type == "reference":
            relationship = f.name[:-2] if f.name.endswith("Id") else f.name
        fields[f.name] = FieldDef(
            name=f.name,
            type=f.type,
            reference_to=f.reference_to,
            relationship=relationship,
            filterable=f.filterable,
            updateable=f.updateable,
            createable=f.createable,
            nillable=f.name != "Id",
        )
    calls = set(spec.calls)
    return ObjectDef(
        spec.name,
        _PREFIX[spec.name],
        fields,
        apis=frozenset(spec.api),
        createable="create" in calls,
        updateable="update" in calls,
        deletable="delete" in calls,
        big_object=spec.big_object,
        id_null=spec.name == "OauthToken",  # "reserved for future use... always null" (object reference)
        requires=spec.visible_with[0] if spec.visible_with else None,
        dml_requires=spec.dml_with[0] if spec.dml_with else None,
        indexes=_INDEXES.get(spec.name, ()),
        unique=_UNIQUE.get(spec.name, ()),
    )


def build_schema(
    *,
    permissions: Iterable[str] = (),
    custom_fields: dict[str, dict[str, str]] | None = None,
    event_monitoring: bool = True,
    absent_fields: Iterable[str] = (),
    custom_objects: dict[str, dict[str, str]] | None = None,
) -> Schema:
    """This org's schema: the documented objects, less `absent_fields` ("Object.Field", fields documented as not
    on every org), plus the feature-gated permission flags named in `permissions` and `custom_fields`
    (object -> {FieldName__c: describe type})."""
    sf = salesforce_schema()
    absent = set(absent_fields)
    enabled = {f"{o}.Permissions{p}" for p in permissions for o in ("Profile", "PermissionSet")}
    objects: dict[str, ObjectDef] = {}
    for spec in sf.objects.values():
        if spec.license == "event_monitoring" and not event_monitoring:
            continue
        objects[spec.name] = _object_def(spec, absent, enabled)
    from app.simorg.schema_security import health_check_objects, threat_objects

    extra_objects = [*(threat_objects() if event_monitoring else []), *health_check_objects()]
    for extra_obj in extra_objects:  # described with their sources in schema_security.py
        objects[extra_obj.name] = extra_obj
    for number, (obj_name, obj_fields) in enumerate((custom_objects or {}).items()):
        objects[obj_name] = custom_object(obj_name, number, obj_fields)
    for obj_name, extra in (custom_fields or {}).items():
        obj = objects.get(obj_name)
        if obj is None:
            raise ValueError(f"custom field on unknown object {obj_name!r}")
        for name, kind in extra.items():
            obj.fields[name] = FieldDef(name=name, type=kind, filterable=kind not in ("textarea", "base64"))
        obj.__post_init__()
    return Schema(objects)


def optional_field_names() -> frozenset[str]:
    """Every "Object.Field" documented as not on every org (what a seed may list in absent_fields)."""
    return frozenset(f"{o}.{f}" for o, f in salesforce_schema().optional_fields())


_SHORT_TYPES = {
    "id": "id",
    "s": "string",
    "t": "textarea",
    "p": "picklist",
    "b": "boolean",
    "i": "int",
    "f": "double",
    "dt": "datetime",
    "d": "date",
    "r": "reference",
    "b64": "base64",
    "url": "url",
    "email": "email",
    "phone": "phone",
}


def _fields(spec: str) -> dict[str, FieldDef]:
    """Parse `Name:type[=Target][!u][!c][!nf]` tokens (schema_security.py's compact field lists)."""
    out: dict[str, FieldDef] = {}
    for token in spec.split():
        name, _, rest = token.partition(":")
        flags = rest.split("!")
        kind, _, target = flags[0].partition("=")
        type_name = _SHORT_TYPES[kind]
        rel = (name[:-2] if name.endswith("Id") else name) if type_name == "reference" else None
        out[name] = FieldDef(
            name=name,
            type=type_name,
            reference_to=target or None,
            relationship=rel,
            filterable="nf" not in flags[1:] and type_name not in ("textarea", "base64"),
            updateable="u" in flags[1:],
            createable="c" in flags[1:],
            nillable=name != "Id",
        )
    return out
