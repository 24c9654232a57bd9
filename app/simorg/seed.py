"""Seed files: the description of one simulated org (TOML or JSON), validated strictly.

A seed names things by local keys ("drift_int", "drift") instead of record Ids; the builder (`build.py`) turns
keys into deterministic Ids. Unknown keys are refused and every error names the file, the line when the seed
is TOML, and the field path (e.g. `users[3].profile`), so a typo in a tabletop script cannot pass silently.
The `[truth]` table records what the scripted attacker did, for tests and exercise scoring; the simulator
never serves it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from app.base.errors import UsageError, WarroomError
from app.base.files import read_text_limited
from app.base.limits import MAX_TOML_BYTES, parse_json
from app.base.tomlfile import (
    TomlDocument,
    TomlFileError,
    TomlInvalid,
    did_you_mean,
    field_names,
    read_toml,
    validation_problems,
)
from app.base.tomlpos import dotted as _dotted
from app.simorg.schema import OPTIONAL_PERMISSIONS, STANDARD_PERMISSIONS, optional_field_names

DEFAULT_SEED = "chat-vendor-theft"


# Bounds on what a seed may ask for: a typo of a few zeros must end in a clear message, not in memory exhaustion.
MAX_GENERATED = 250_000  # generated records of one kind (the benchmarks use up to 100,000 tokens)
MAX_REPEAT = 100_000  # repeats of one seeded record or event
MAX_REPEAT_HOURS = 24 * 366  # an event repeated at most yearly
MAX_ROWS = 1_000_000_000  # row counts stated in events and the ground truth (numbers, not generated rows)


class SeedError(WarroomError):
    """A seed file that cannot describe an org; the message names the file and the field."""

    exit_code = 2


def _aware(v: datetime) -> datetime:
    if v.tzinfo is None:
        raise ValueError("time needs a zone offset or Z (example: 2025-08-12T10:15:00Z)")
    return v


Instant = Annotated[datetime, AfterValidator(_aware)]
ALL_PERMISSIONS = frozenset(STANDARD_PERMISSIONS + OPTIONAL_PERMISSIONS)


def _permissions(v: list[str]) -> list[str]:
    for p in v:
        if p.startswith("Permissions"):
            raise ValueError(f"write permission {p!r} without the 'Permissions' prefix")
        if p not in ALL_PERMISSIONS:
            raise ValueError(f"unknown permission {p!r}")
    return v


PermissionList = Annotated[list[str], AfterValidator(_permissions)]


def _absent(v: list[str]) -> list[str]:
    known = optional_field_names()
    for name in v:
        if name not in known:
            raise ValueError(
                f"{name!r} is not a field documented as missing from some orgs (one of: {', '.join(sorted(known))})"
            )
    return v


AbsentFields = Annotated[list[str], AfterValidator(_absent)]
CustomType = Literal[
    "string", "textarea", "boolean", "int", "double", "datetime", "date", "email", "phone", "url", "picklist"
]
SharingLevel = Literal["None", "Read", "Edit", "ReadEditTransfer", "ControlledByParent", "ReadSelect"]


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OrganizationSeed(_M):
    name: str
    id: str | None = Field(default=None, pattern=r"^00D[0-9A-Za-z]{12}([0-9A-Za-z]{3})?$")
    edition: str = "Enterprise Edition"
    my_domain: str = "acme"
    instance: str = "NA224"
    event_monitoring: bool = True
    api_limit: int = Field(default=100_000, ge=1)
    now: Instant
    extra_permissions: PermissionList = Field(default_factory=list)
    # "Object.Field" names documented as not on every org, which this org lacks (describe omits them).
    absent_fields: AbsentFields = Field(default_factory=list)
    sharing: dict[
        Literal["Account", "Contact", "Opportunity", "Lead", "Case", "Calendar", "Pricebook"], SharingLevel
    ] = Field(default_factory=dict)
    custom_fields: dict[str, dict[str, CustomType]] = Field(default_factory=dict)
    # Custom objects (Invoice__c = { Amount__c = "double" }): the documented system fields come with each one.
    custom_objects: dict[str, dict[str, CustomType]] = Field(default_factory=dict)


class ProfileSeed(_M):
    key: str
    name: str
    license: str = "Salesforce"
    user_type: str = "Standard"
    description: str | None = None
    permissions: PermissionList = Field(default_factory=list)


class PermissionSetSeed(_M):
    key: str
    name: str
    label: str | None = None
    namespace: str | None = None
    description: str | None = None
    permissions: PermissionList = Field(default_factory=list)
    created: Instant | None = None
    created_by: str | None = None


class PermissionSetGroupSeed(_M):
    """A permission set group: the permission sets it bundles (keys). The simulator gives it one aggregate
    PermissionSet (Type "Group", PermissionSetGroupId set) holding the union of their permissions, as the
    aggregate sets of real orgs appear in public recorded data; its Name is the simulator's own."""

    key: str
    name: str
    label: str | None = None
    description: str | None = None
    permission_sets: list[str] = Field(default_factory=list)


class UserSeed(_M):
    key: str
    username: str
    first_name: str | None = None
    last_name: str
    email: str | None = None
    profile: str
    active: bool = True
    frozen: bool = False
    user_type: str = "Standard"
    title: str | None = None
    department: str | None = None
    company: str | None = None
    phone: str | None = None
    created: Instant | None = None
    last_login: Instant | None = None
    password: str | None = None
    security_token: str = ""
    permission_sets: list[str] = Field(default_factory=list)


class ConnectedAppSeed(_M):
    key: str
    name: str
    admin_approved_only: bool = False
    refresh_token_validity_days: int | None = None
    session_policy: bool = False
    installed: bool = True
    namespace: str | None = None
    start_url: str | None = None
    description: str | None = None
    consumer_key: str | None = None
    consumer_secret: str | None = None
    jwt_public_key: str | None = None
    run_as: str | None = None
    created: Instant | None = None


class OauthTokenSeed(_M):
    app: str | None = None  # connected app key
    app_name: str | None = None  # for an app with no connected-app record in this org (not installed)
    user: str
    created: Instant
    last_used: Instant | None = None
    use_count: int = Field(default=0, ge=0, le=2**31 - 1)
    count: int = Field(default=1, ge=1, le=MAX_REPEAT)


class SessionSeed(_M):
    user: str
    created: Instant
    source_ip: str
    app: str | None = None
    session_type: str = "Oauth2"
    login_type: str = "Remote Access 2.0"
    seconds_valid: int = 7200


class PackageSeed(_M):
    namespace: str
    name: str
    version_name: str
    version: str = Field(default="1.0.0.1", pattern=r"^\d+\.\d+\.\d+\.\d+$")
    security_reviewed: bool = True
    publisher: str | None = None
    managed: bool = True
    release_state: Literal["Released", "Beta"] = "Released"
    description: str | None = None


class NamedCredentialSeed(_M):
    developer_name: str
    label: str
    endpoint: str
    principal_type: str = "NamedUser"
    namespace: str | None = None
    allow_merge_fields_in_header: bool = False
    allow_merge_fields_in_body: bool = False
    generate_auth_header: bool = True


class ExternalCredentialSeed(_M):
    developer_name: str
    label: str
    protocol: str


class ExternalDataSourceSeed(_M):
    developer_name: str
    label: str
    type: str
    endpoint: str
    principal_type: Literal["Anonymous", "NamedUser", "PerUser"]
    protocol: Literal["NoAuthentication", "Password", "Oauth", "AwsSv4", "Jwt", "JwtExchange"]
    writable: bool = False
    repository: str | None = None
    namespace: str | None = None


class RemoteSiteSeed(_M):
    name: str
    url: str
    active: bool = True
    description: str | None = None
    disable_protocol_security: bool = False
    namespace: str | None = None


class DebugLevelSeed(_M):
    key: str
    name: str
    apex_code: str = "DEBUG"
    callout: str = "INFO"
    database: str = "INFO"
    system: str = "DEBUG"
    validation: str = "INFO"
    visualforce: str = "INFO"
    workflow: str = "INFO"


class TraceFlagSeed(_M):
    user: str
    debug_level: str
    log_type: Literal["USER_DEBUG", "DEVELOPER_LOG", "CLASS_TRACING"] = "USER_DEBUG"
    start: Instant
    expires: Instant
    created_by: str | None = None


class ApexLogSeed(_M):
    user: str
    start: Instant
    operation: str = "/services/data/v59.0/sobjects/Contact"
    request: str = "API"
    status: str = "Success"
    application: str = "Unknown"
    location: str = "Monitoring"
    duration_ms: int = 120
    body: str


class AuditTrailSeed(_M):
    at: Instant
    action: str
    section: str
    display: str
    by: str
    delegate_user: str | None = None
    context: str | None = None
    namespace: str | None = None


def _no_user_agent(value: str | None) -> None:
    if value is not None:
        raise ValueError(
            "LoginHistory has no user-agent field (the object documents Browser, Platform and Application); "
            "write the browser or client name in `browser`, and a full agent string on an `api_events` row "
            "(ApiEvent.UserAgent) or an event log file row"
        )
    return None


class LoginHistorySeed(_M):
    # Object Reference, LoginHistory: Application, Browser, Platform, ApiType, ... and no UserAgent field. Named
    # here only to say so when a seed writes one (a typed agent used to vanish into `browser`).
    user_agent: Annotated[None, BeforeValidator(_no_user_agent)] = Field(default=None, exclude=True)
    user: str
    at: Instant
    ip: str
    status: str = "Success"
    login_type: str = "Remote Access 2.0"
    login_sub_type: str | None = None
    application: str | None = None
    browser: str = "Unknown"
    platform: str = "Unknown"
    api_type: str | None = None
    api_version: str | None = None
    client_version: str | None = None
    country: str | None = None
    login_url: str | None = None
    tls: str = "TLS 1.2"
    repeat_hours: int | None = Field(default=None, ge=1, le=MAX_REPEAT_HOURS)  # with `count`, one row every N hours
    count: int = Field(default=1, ge=1, le=MAX_REPEAT)


class EventLogFileSeed(_M):
    event_type: str
    log_date: Instant
    interval: Literal["Daily", "Hourly"] = "Daily"
    sequence: int = 0
    rows: list[dict[str, str | int | float | bool | datetime]] = Field(default_factory=list)


class ApiEventSeed(_M):
    at: Instant
    user: str
    ip: str
    app: str | None = None
    application: str | None = None
    client: str | None = None
    api_type: str = "REST API"
    operation: str = "Query"
    query: str | None = None
    entities: str | None = None
    rows: int = Field(default=0, ge=0, le=MAX_ROWS)
    user_agent: str | None = None
    session_key: str | None = None
    login_key: str | None = None


class LoginEventSeed(_M):
    at: Instant
    user: str
    ip: str
    application: str | None = None
    browser: str = "Unknown"
    platform: str = "Unknown"
    login_type: str = "Remote Access 2.0"
    status: str = "Success"
    country: str | None = None
    login_url: str | None = None


class ReportEventSeed(_M):
    at: Instant
    user: str
    ip: str
    report: str
    operation: str = "ReportExported"
    rows: int = Field(default=0, ge=0, le=MAX_ROWS)
    entities: str | None = None
    format: str | None = None


class BulkResultEventSeed(_M):
    """A Bulk API result download (BulkApiResultEventStore): the object documents no job id, row count or agent."""

    at: Instant
    user: str
    ip: str
    query: str | None = None
    session_key: str | None = None
    login_key: str | None = None


class FieldPermissionSeed(_M):
    permission_set: str | None = None
    profile: str | None = None
    object: str
    fields: list[str]
    read: bool = True
    edit: bool = False


class ObjectPermissionSeed(_M):
    permission_set: str | None = None
    profile: str | None = None
    object: str
    read: bool = True
    create: bool = False
    edit: bool = False
    delete: bool = False
    view_all: bool = False
    modify_all: bool = False


class FieldClassificationSeed(_M):
    object: str
    field: str
    classification: str | None = None
    compliance: str | None = None
    status: str | None = None


class RecordSeed(_M):
    sobject: str
    fields: dict[str, str | int | float | bool | datetime | None]


class GenerateSeed(_M):
    seed: int = 1
    users: int = Field(default=0, ge=0, le=MAX_GENERATED)
    tokens: int = Field(default=0, ge=0, le=MAX_GENERATED)
    assignments: int = Field(default=0, ge=0, le=MAX_GENERATED)
    accounts: int = Field(default=0, ge=0, le=MAX_GENERATED)
    contacts: int = Field(default=0, ge=0, le=MAX_GENERATED)
    cases: int = Field(default=0, ge=0, le=MAX_GENERATED)
    opportunities: int = Field(default=0, ge=0, le=MAX_GENERATED)
    login_history: int = Field(default=0, ge=0, le=MAX_GENERATED)
    # Exactly this many of the generated users inactive (0: all active); left out, about 5% are, at random.
    inactive_users: int | None = Field(default=None, ge=0, le=MAX_GENERATED)
    user_profile: str | None = None
    token_apps: list[str] = Field(default_factory=list)
    assignment_permission_sets: list[str] = Field(default_factory=list)
    email_domain: str = "example.com"
    start: Instant | None = None  # earliest generated timestamp; default 90 days before organization.now


class ExfiltrationTruth(_M):
    app: str | None = None
    app_name: str | None = None
    user: str
    object: str
    rows: int = Field(ge=0, le=MAX_ROWS)
    via: str


class PatternTruth(_M):
    id: Literal[
        "over_permissioned_integration_user",
        "hard_coded_credentials",
        "pii_in_debug_logs",
        "unclassified_batch_sync",
        "unreviewed_appexchange_package",
        "unauthenticated_external_data_source",
    ]
    evidence: str


class TruthSeed(_M):
    scenario: str
    compromised_apps: list[str] = Field(default_factory=list)
    compromised_app_names: list[str] = Field(default_factory=list)
    compromised_users: list[str] = Field(default_factory=list)
    attacker_ips: list[str]
    attacker_user_agents: list[str] = Field(default_factory=list)
    first_seen: Instant
    last_seen: Instant
    exfiltration: list[ExfiltrationTruth] = Field(default_factory=list)
    patterns: list[PatternTruth] = Field(default_factory=list)
    benign_apps: list[str] = Field(default_factory=list)
    notes: str | None = None


class Fragment(_M):
    """The list sections of a seed; also the shape of a tabletop inject applied to a running org."""

    profiles: list[ProfileSeed] = Field(default_factory=list)
    permission_sets: list[PermissionSetSeed] = Field(default_factory=list)
    permission_set_groups: list[PermissionSetGroupSeed] = Field(default_factory=list)
    users: list[UserSeed] = Field(default_factory=list)
    connected_apps: list[ConnectedAppSeed] = Field(default_factory=list)
    oauth_tokens: list[OauthTokenSeed] = Field(default_factory=list)
    sessions: list[SessionSeed] = Field(default_factory=list)
    packages: list[PackageSeed] = Field(default_factory=list)
    named_credentials: list[NamedCredentialSeed] = Field(default_factory=list)
    external_credentials: list[ExternalCredentialSeed] = Field(default_factory=list)
    external_data_sources: list[ExternalDataSourceSeed] = Field(default_factory=list)
    remote_sites: list[RemoteSiteSeed] = Field(default_factory=list)
    debug_levels: list[DebugLevelSeed] = Field(default_factory=list)
    trace_flags: list[TraceFlagSeed] = Field(default_factory=list)
    apex_logs: list[ApexLogSeed] = Field(default_factory=list)
    audit_trail: list[AuditTrailSeed] = Field(default_factory=list)
    login_history: list[LoginHistorySeed] = Field(default_factory=list)
    event_log_files: list[EventLogFileSeed] = Field(default_factory=list)
    api_events: list[ApiEventSeed] = Field(default_factory=list)
    login_events: list[LoginEventSeed] = Field(default_factory=list)
    report_events: list[ReportEventSeed] = Field(default_factory=list)
    bulk_result_events: list[BulkResultEventSeed] = Field(default_factory=list)
    field_permissions: list[FieldPermissionSeed] = Field(default_factory=list)
    object_permissions: list[ObjectPermissionSeed] = Field(default_factory=list)
    field_classifications: list[FieldClassificationSeed] = Field(default_factory=list)
    records: list[RecordSeed] = Field(default_factory=list)


class Seed(Fragment):
    organization: OrganizationSeed
    generate: GenerateSeed = Field(default_factory=GenerateSeed)
    truth: TruthSeed | None = None
    description: str | None = None


class LoadedSeed:
    """A validated seed plus where it came from (for error messages from later cross-checks)."""

    def __init__(self, seed: Seed, path: Path, text: str) -> None:
        self.seed = seed
        self.path = path
        self.text = text
        self._doc: TomlDocument | None = None

    def error(self, loc: Sequence[str | int], message: str) -> SeedError:
        if self._doc is None and self.path.suffix.lower() == ".toml":
            self._doc = TomlDocument(str(self.path), self.text, {})
        return seed_error(self.path, self._doc, loc, message)


def seed_error(path: Path, doc: TomlDocument | None, loc: Sequence[str | int], message: str) -> SeedError:
    """`FILE:LINE:COL: field.path: message` (line and column only for TOML seeds)."""
    if doc is not None:
        return SeedError(str(doc.problem(tuple(loc), message)))
    return SeedError(f"{path}: {dotted(loc)}: {message}")


def dotted(loc: Sequence[Any]) -> str:
    return _dotted(tuple(loc)) or "document"


def seed_dir() -> Path:
    return Path(str(resources.files("app") / "data" / "simorg"))


def resolve_seed(name: str | Path | None) -> Path:
    """A path as given, or a bare name of a shipped seed (`chat-vendor-theft`); None means the default."""
    if name is None:
        name = DEFAULT_SEED
    path = Path(name)
    if path.suffix.lower() in (".toml", ".json") or path.exists():
        if not path.exists():
            raise SeedError(f"seed file {path} does not exist")
        return path.resolve()
    shipped = seed_dir() / f"{name}.toml"
    if shipped.exists():
        return shipped
    names = ", ".join(sorted(p.stem for p in seed_dir().glob("*.toml")))
    raise SeedError(f"no seed named {str(name)!r} (shipped seeds: {names}; or give a .toml/.json path)")


def load_seed(name: str | Path | None = None) -> LoadedSeed:
    """Read and validate a seed; SeedError names the file, line (TOML) and field of each problem."""
    path = resolve_seed(name)
    if path.suffix.lower() == ".json":
        try:
            text = read_text_limited(path, MAX_TOML_BYTES, "seed file")
        except WarroomError as exc:
            raise SeedError(f"seed file {exc}") from None
        try:
            data = parse_json(text, f"seed {path}")
        except UsageError as exc:
            raise SeedError(str(exc)) from None
        except json.JSONDecodeError as exc:
            raise SeedError(f"{path}:{exc.lineno}:{exc.colno}: JSON syntax: {exc.msg}") from None
        return validate_seed(data, path, text)
    try:
        doc = read_toml(path)
    except TomlFileError as exc:
        raise SeedError(str(exc)) from None
    return validate_seed(doc.data, path, doc.text)


def validate_seed(data: Any, path: Path, text: str = "") -> LoadedSeed:
    try:
        seed = Seed.model_validate(data)
    except ValidationError as exc:
        if path.suffix.lower() == ".toml" and text:
            doc = TomlDocument(str(path), text, data if isinstance(data, dict) else {})
            raise SeedError(str(TomlInvalid(validation_problems(doc, Seed, exc)))) from None
        loc, message = _first_error(exc, Seed)
        raise seed_error(path, None, loc, message) from None
    loaded = LoadedSeed(seed, path, text)
    from app.simorg.checks import cross_check

    cross_check(loaded)
    return loaded


def _first_error(exc: ValidationError, model: type[BaseModel]) -> tuple[tuple[str | int, ...], str]:
    err = exc.errors()[0]
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    if err["type"] == "extra_forbidden":
        message = "unknown key" + did_you_mean(str(err["loc"][-1]), field_names(model, tuple(err["loc"])[:-1]))
    elif err["type"] == "missing":
        message = "missing required key"
    elif err["type"] == "value_error" and "ctx" in err:
        message = str(err["ctx"]["error"])
    else:
        message = err["msg"]
    return tuple(err["loc"]), message + more


def validate_fragment(data: Any, origin: str = "inject") -> Fragment:
    try:
        return Fragment.model_validate(data)
    except ValidationError as exc:
        loc, message = _first_error(exc, Fragment)
        raise SeedError(f"{origin}: {dotted(loc)}: {message}") from None
