"""Talking to the org for collection: the few adapter calls it needs, what a failed call means for the run,
and the SELECT each source sends (only the fields the org's describe confirms)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from app.base.clock import format_instant
from app.base.redaction import redact
from app.forensics.catalog import BIG_OBJECTS, QUERY_FIELDS, TIME_FIELD
from app.salesforce.protocol import OrgClient


class OrgSource:
    """The few calls collection needs, over the shared Salesforce adapter (`app.salesforce.Org`)."""

    def __init__(self, org: OrgClient) -> None:
        self.org = org

    @property
    def api_version(self) -> str:
        return self.org.api_version

    @property
    def instance_url(self) -> str:
        try:
            return str(self.org.instance_url)
        except Exception:
            return ""

    def fields(self, sobject: str, *, tooling: bool = False) -> set[str] | None:
        """Field names the org has for `sobject`, or None when the org hides the object from this login
        (INVALID_TYPE or a describe NOT_FOUND); any other failure is raised for the caller to classify."""
        try:
            return set(self.org.describe_fields(sobject, tooling=tooling))
        except BaseException as exc:
            if classify(exc) == "hidden":
                return None
            raise

    def records(self, soql: str, *, tooling: bool = False) -> Iterator[dict[str, Any]]:
        if tooling:
            return iter(self.org.tooling_query(soql))
        return self.org.query_iter(soql)

    def download(self, path: str, target: Path, progress: Callable[[int], None] | None = None) -> int:
        return int(self.org.download(path, target, progress=progress))


Outcome = Literal["limit", "fatal", "hidden", "disabled", "denied", "failed"]

# Answers that say the org itself lacks the feature: an edition or licence limit. Salesforce's ExceptionCode
# list (SOAP API Developer Guide, "Core Data Types Used in API Calls", API Fault Element): API_DISABLED_FOR_ORG
# (API access is not enabled for the organization) and FUNCTIONALITY_NOT_ENABLED (the feature is not enabled for
# the organization); FEATURE_NOT_ENABLED is taken the same way. API_CURRENTLY_DISABLED is about the user (its
# profile lacks API Enabled), so it is a permission answer, not an edition one.
ORG_DISABLED_CODES = frozenset({"API_DISABLED_FOR_ORG", "FUNCTIONALITY_NOT_ENABLED", "FEATURE_NOT_ENABLED"})


def classify(exc: BaseException) -> Outcome:
    """What a failed call means for the run and what it says about the org:

    limit     the API limit: stop, resume later
    fatal     the org cannot be reached or the login no longer works: stop
    hidden    INVALID_TYPE / NOT_FOUND on an object: Salesforce hides an object the same way whether the org
              lacks the edition or licence or the login lacks the permission (EventLogFile, Special Access Rules:
              "View Event Log Files and API Enabled"; the real-time event objects: "Shield or Event Monitoring
              add-on subscription and the View Real-Time Event Monitoring Data user permission"), so it is never
              recorded as an edition limit by itself
    disabled  the org says the feature is not enabled (ORG_DISABLED_CODES): an edition or licence limit
    denied    INSUFFICIENT_ACCESS and its kin: this login lacks a permission
    failed    anything else (5xx, a malformed answer, a record gone): a fault, retried by the next run
    """
    from app.salesforce import client as sf

    if isinstance(exc, sf.RateLimited):
        return "limit"
    if isinstance(exc, sf.InsufficientAccess):
        return "denied"
    if isinstance(exc, sf.ObjectUnavailable):
        if exc.code in ORG_DISABLED_CODES:
            return "disabled"
        if exc.code == "API_CURRENTLY_DISABLED":
            return "denied"
        return "hidden"
    if isinstance(exc, sf.Offline | sf.TlsFailure | sf.AuthFailed | sf.SessionExpired | sf.OrgTimeout):
        return "fatal"
    return "failed"


def hidden_text(sobject: str) -> str:
    """What an object the org hides from this login means, without claiming which cause it is."""
    from app.salesforce.client import OBJECT_REQUIREMENTS

    need = OBJECT_REQUIREMENTS.get(sobject)
    return (
        f"{sobject} is not visible to this login"
        + (f" (it needs {need})" if need else "")
        + ": Salesforce hides an object the same way when the org lacks the edition or licence and when the "
        "login lacks the permission, so which one is not known"
    )


def soql_for(sobject: str, available: set[str] | None, since: datetime | None) -> str:
    """The SELECT for one source: the wanted fields the org has, and the time filter the object allows."""
    wanted = QUERY_FIELDS.get(sobject)
    if wanted is None:  # event objects and threat stores: every field the org describes
        fields = sorted(available or {"Id"}, key=lambda f: (f != "Id", f != "EventDate", f))
    else:
        fields = [
            f
            for f in wanted
            if available is None
            or f.split(".")[0] in available
            or (f.endswith(".Username") and f.split(".")[0] + "Id" in available)
        ]
    soql = f"SELECT {', '.join(fields)} FROM {sobject}"
    time_field = TIME_FIELD.get(sobject)
    if since is not None and time_field:
        soql += f" WHERE {time_field} >= {format_instant(since)}"
    if time_field and sobject not in BIG_OBJECTS:  # big objects cannot be sorted freely
        soql += f" ORDER BY {time_field}"
    return soql


def jsonable(value: Any) -> Any:
    """Org values as journal-safe JSON: no floats, and credential-shaped text masked (the journal refuses
    both; the file itself is preserved as received)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, float):
        return int(value) if value.is_integer() else repr(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items() if k != "attributes"}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value
