"""The incident's indicators and observed activity as a MISP event in the MISP core format (JSON, the shape MISP's
event import and feeds read: draft-dulaunoy-misp-core-format, https://www.misp-project.org/datamodels/).

Every indicator value is an Attribute with a category/type pair from MISP's defaults: addresses and ranges
`Network activity`/`ip-src`, user agents `Network activity`/`user-agent`, Salesforce usernames `Targeting
data`/`target-user`, connected app names and SOQL patterns `Other`/`text`. Only indicators that make hits,
with high or medium confidence, are flagged `to_ids`; context and low-confidence values (Tor exits) travel with
`to_ids: false` so a receiver does not alert on normal traffic. Each recorded hit is a Sighting (type "0":
seen) on the attribute of the value it matched. The event is unpublished and distributed to "your organisation
only" (0): sharing further is the organisation's decision.
"""

from __future__ import annotations

import ipaddress
import uuid
from datetime import datetime
from typing import Any

from app.base.clock import format_instant
from app.base.guarded_regex import RegexRefused, compile_guarded
from app.report.observed import HitRecord, IndicatorRecord, Observed

NAMESPACE = uuid.UUID("0c5e3cbb-8a1e-5b7e-8d5f-6a0d2f3e4b21")  # this project's namespace for UUIDv5 ids
# (category, type) per indicator kind: MISP default categories and types.
TYPES = {
    "ip": ("Network activity", "ip-src"),
    "ip_list": ("Network activity", "ip-src"),
    "user_agent": ("Network activity", "user-agent"),
    "username": ("Targeting data", "target-user"),
    "connected_app": ("Other", "text"),
    "soql": ("Other", "text"),
}
THREAT_LEVEL_UNDEFINED = "4"
ANALYSIS_ONGOING = "1"
DISTRIBUTION_ORG_ONLY = "0"


def _uuid(incident_id: str, key: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{incident_id}/{key}"))


def _epoch(at: datetime) -> str:
    return str(int(at.timestamp()))


def _matches(ind: IndicatorRecord, value: str, hit: HitRecord) -> bool:
    """Which value of an indicator a hit matched, where the hit says (its address, user, agent, app)."""
    if ind.kind in ("ip", "ip_list") and hit.ip:
        try:
            return ipaddress.ip_address(hit.ip) in ipaddress.ip_network(value, strict=False)
        except ValueError:
            return False
    if len(ind.values) == 1:
        return True  # the hit names the indicator, and it has one value
    seen = {"username": hit.username, "user_agent": hit.user_agent, "connected_app": hit.app}.get(ind.kind)
    if seen is None:
        return False  # a SOQL pattern of several: the hit's query text is not kept here, so which one is unknown
    if ind.match == "exact":
        return seen == value
    if ind.match == "contains":
        return value.lower() in seen.lower()
    try:
        return compile_guarded(value).search(seen) is not None
    except RegexRefused:
        return False


def build_event(
    incident_id: str, title: str, obs: Observed, now: datetime, *, date: datetime | None = None
) -> dict[str, Any]:
    """{"Event": {...}}: the event with its Attributes, each with its Sightings."""
    stamp = _epoch(now)
    attributes: list[dict[str, Any]] = []
    for ind in obs.indicators:
        category, type_ = TYPES[ind.kind]
        for value in ind.values:
            hits = [h for h in obs.hits if ind.key in h.indicators and _matches(ind, value, h)]
            seen = sorted(h.at for h in hits if h.at is not None)
            comment = f"{ind.set_name}/{ind.label}" + (f": {ind.note}" if ind.note else "")
            if ind.kind == "soql":
                comment += f" (SOQL {'regular expression' if ind.match == 'regex' else ind.match + ' match'})"
            if ind.role != "hit":
                comment += " [context: also describes normal traffic]"
            elif ind.confidence == "low":
                comment += " [low confidence: not for IDS]"
            attribute: dict[str, Any] = {
                "uuid": _uuid(incident_id, f"attribute/{ind.key}/{value}"),
                "category": category,
                "type": type_,
                "value": value,
                "to_ids": ind.role == "hit" and ind.confidence != "low",
                "comment": comment[:1000],
                "timestamp": stamp,
                "distribution": "5",  # inherit the event's
                "disable_correlation": False,
                "Sighting": [
                    {
                        "uuid": _uuid(incident_id, f"sighting/{ind.key}/{value}/{h.key}"),
                        "type": "0",
                        "date_sighting": _epoch(h.at),
                        "source": f"warroom hunt: {h.source} evidence {h.evidence_id} line {h.line}",
                    }
                    for h in hits
                    if h.at is not None
                ],
            }
            if seen:
                attribute["first_seen"] = format_instant(seen[0])
                attribute["last_seen"] = format_instant(seen[-1])
            attributes.append(attribute)
    when = date or now
    return {
        "Event": {
            "uuid": _uuid(incident_id, "event"),
            "info": f"{incident_id}: {title}"[:1000],
            "date": when.strftime("%Y-%m-%d"),
            "threat_level_id": THREAT_LEVEL_UNDEFINED,
            "analysis": ANALYSIS_ONGOING,
            "distribution": DISTRIBUTION_ORG_ONLY,
            "published": False,
            "timestamp": stamp,
            "Attribute": attributes,
        }
    }
