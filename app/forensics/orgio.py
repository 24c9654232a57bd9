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


class OrgSource:
    """The few calls collection needs, over the shared Salesforce adapter (`app.salesforce.Org`)."""

    def __init__(self, org: Any) -> None:
        self.org = org

    @property
    def api_version(self) -> str:
        return str(getattr(self.org, "api_version", "59.0"))

    @property
    def instance_url(self) -> str:
        try:
            return str(self.org.instance_url)
        except Exception:
            return ""

    def fields(self, sobject: str, *, tooling: bool = False) -> set[str] | None:
        """Field names the org has for `sobject`, or None when the object is not available to this login."""
        try:
            return set(self.org.describe_fields(sobject, tooling=tooling))
        except BaseException as exc:
            if classify(exc) == "unavailable":
                return None
            raise

    def records(self, soql: str, *, tooling: bool = False) -> Iterator[dict[str, Any]]:
        if tooling:
            return iter(self.org.tooling_query(soql))
        return self.org.query_iter(soql)

    def download(self, path: str, target: Path, progress: Callable[[int], None] | None = None) -> int:
        return int(self.org.download(path, target, progress=progress))


Outcome = Literal["limit", "unavailable", "fatal", "failed"]


def classify(exc: BaseException) -> Outcome:
    """What a failed call means for the run: stop and resume later, skip this item, or give up."""
    from app.salesforce import client as sf

    if isinstance(exc, sf.RateLimited):
        return "limit"
    if isinstance(exc, sf.ObjectUnavailable | sf.InsufficientAccess | sf.RecordNotFound):
        return "unavailable"
    if isinstance(exc, sf.Offline | sf.TlsFailure | sf.AuthFailed | sf.SessionExpired | sf.OrgTimeout):
        return "fatal"
    return "failed"


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
