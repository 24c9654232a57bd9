"""What collection preserves, and for how long the org keeps it: sources, objects, fields, event-log types and
retention, each with the Salesforce documentation it comes from.

Retention facts (what expires when) come from Salesforce's documentation: event log files are kept 30 days with
Event Monitoring and 1 day without it or in Developer Edition (using_resources_event_log_files); the Setup Audit
Trail at least 180 days (SetupAuditTrail object reference); Login History about 6 months in Setup; real-time
event storage up to 6 months (real_time_event_monitoring_storage); debug logs roughly a day.

What an attacker leaves beyond the API logs (sources checked December 2026):
- Threat Detection stores ApiAnomalyEventStore, CredentialStuffingEventStore, ReportAnomalyEventStore and
  SessionHijackingEventStore (Platform Events Developer Guide): "Accessing this object requires either the
  Salesforce Shield or Event Monitoring add-on subscription and the View Real-Time Event Monitoring Data user
  permission". They are big objects like the real-time events, so they are queried with the fields describe
  lists and filtered on EventDate only.
- Event log types used in data theft (EventLogFile supported event types): ContentTransfer (file downloads,
  uploads and previews), ContentDistribution (content shared by link), DocumentAttachmentDownloads,
  AsyncReportRun (scheduled and asynchronous report runs), Search, URI, Report and ReportExport. An org lists
  the types it has in EventLogFile.EventType; every file of the range is preserved, these names only decide
  which missing types are reported.
- Health Check (Tooling API): SecurityHealthCheck (CustomBaselineId, DurableId, Score) and
  SecurityHealthCheckRisks (DurableId, OrgValue, OrgValueRaw, RiskType, SecurityHealthCheckId, Setting,
  SettingGroup, SettingRiskCategory, StandardValue, StandardValueRaw); "Only users with the View Setup and
  Configuration user permission can retrieve data" from them. It is the settings as they are now, with no
  history: a snapshot to preserve early.
"""

from __future__ import annotations

from dataclasses import dataclass

from app import __version__

SOURCES: tuple[str, ...] = ("audit", "logins", "eventlogs", "apexlogs", "events", "healthcheck")
EVENT_OBJECTS: tuple[str, ...] = ("ApiEvent", "LoginEvent", "ReportEvent", "BulkApiResultEventStore")
# Shield Threat Detection: stored with the real-time events, same licence and retention.
THREAT_OBJECTS: tuple[str, ...] = (
    "ApiAnomalyEventStore",
    "CredentialStuffingEventStore",
    "ReportAnomalyEventStore",
    "SessionHijackingEventStore",
)
HEALTH_CHECK_OBJECTS: tuple[str, ...] = ("SecurityHealthCheck", "SecurityHealthCheckRisks")
# The event-log types a responder needs for an integration leak (which API calls, bulk jobs, reports, logins),
# and those that show data leaving by other ways (files, shared links, attachments, report runs, search).
WANTED_LOG_TYPES: tuple[str, ...] = (
    "API",
    "RestApi",
    "BulkApi",
    "BulkApi2",
    "Report",
    "ReportExport",
    "URI",
    "Login",
    "LoginAs",
    "ApiTotalUsage",
    "ContentTransfer",
    "ContentDistribution",
    "DocumentAttachmentDownloads",
    "AsyncReportRun",
    "Search",
)

# Types an org without Event Monitoring still gets (1-day retention).
FREE_LOG_TYPES: tuple[str, ...] = (
    "Login",
    "Logout",
    "ApiTotalUsage",
    "CspViolation",
    "HostnameRedirects",
    "InsecureExternalAssets",
)
TOOL = f"warroom {__version__}"

# Fields asked for per object; the org's describe decides which of them exist (orgs and versions differ).
QUERY_FIELDS: dict[str, tuple[str, ...]] = {
    "Organization": ("Id", "Name", "OrganizationType", "InstanceName", "IsSandbox"),
    "User": ("Id", "Username", "Name", "UserType", "IsActive", "ProfileId"),
    "ConnectedApplication": ("Id", "Name", "CreatedDate"),
    "SetupAuditTrail": (
        "Id",
        "Action",
        "Section",
        "Display",
        "CreatedDate",
        "CreatedById",
        "CreatedBy.Username",
        "DelegateUser",
        "CreatedByContext",
        "CreatedByIssuer",
        "ResponsibleNamespacePrefix",
    ),
    "LoginHistory": (
        "Id",
        "UserId",
        "LoginTime",
        "LoginType",
        "LoginSubType",
        "SourceIp",
        "Status",
        "Application",
        "Browser",
        "Platform",
        "ApiType",
        "ApiVersion",
        "ClientVersion",
        "LoginUrl",
        "CountryIso",
        "TlsProtocol",
        "AuthenticationServiceId",
    ),
    "EventLogFile": (
        "Id",
        "EventType",
        "LogDate",
        "Interval",
        "Sequence",
        "LogFileLength",
        "LogFileFieldNames",
        "LogFileFieldTypes",
        "CreatedDate",
    ),
    "ApexLog": (
        "Id",
        "LogUserId",
        "LogUser.Username",
        "LogLength",
        "Operation",
        "Request",
        "Status",
        "StartTime",
        "Application",
        "Location",
        "DurationMilliseconds",
    ),
    "SecurityHealthCheck": ("Id", "CustomBaselineId", "DurableId", "Score"),
    "SecurityHealthCheckRisks": (
        "Id",
        "DurableId",
        "SecurityHealthCheckId",
        "Setting",
        "SettingGroup",
        "SettingRiskCategory",
        "RiskType",
        "OrgValue",
        "OrgValueRaw",
        "StandardValue",
        "StandardValueRaw",
    ),
}
TIME_FIELD: dict[str, str] = {
    "SetupAuditTrail": "CreatedDate",
    "LoginHistory": "LoginTime",
    "EventLogFile": "LogDate",
    "ApexLog": "StartTime",
    **{name: "EventDate" for name in (*EVENT_OBJECTS, *THREAT_OBJECTS)},
}
# Big objects: filtered on EventDate only and never sorted freely.
BIG_OBJECTS: frozenset[str] = frozenset((*EVENT_OBJECTS, *THREAT_OBJECTS))


@dataclass(frozen=True)
class Retention:
    days: int
    text: str
    cite: str


RETENTION: dict[str, Retention] = {
    "audit": Retention(180, "180 days", "Salesforce Object Reference, SetupAuditTrail: at least 180 days"),
    "logins": Retention(
        183, "about 6 months", "Setup shows about 6 months of Login History (Salesforce Help; not an API guarantee)"
    ),
    "eventlogs": Retention(
        30,
        "30 days with Event Monitoring",
        "Salesforce REST API guide, using_resources_event_log_files: 30 days licensed, "
        "1 day in Developer Edition or without the add-on",
    ),
    "apexlogs": Retention(
        1,
        "about 24 hours",
        "Apex Developer Guide, Debug Log: system logs about 24 hours (7 days for monitoring logs); check in the org",
    ),
    "events": Retention(
        183,
        "up to 6 months",
        "Salesforce Security Guide, real_time_event_monitoring_storage: stored events up to 6 months",
    ),
    "healthcheck": Retention(
        0,
        "current settings only (no history)",
        "Tooling API reference, SecurityHealthCheck and SecurityHealthCheckRisks: the org's settings now",
    ),
}
FREE_RETENTION = Retention(
    1, "1 day without Event Monitoring", "Salesforce REST API guide, using_resources_event_log_files"
)
