"""The incident's indicators and observed activity as a STIX 2.1 bundle, built and checked with the `stix2`
library (OASIS STIX 2.1: Indicator, Observed Data, Sighting, Identity; patterns in the STIX patterning language,
SOQL regular expressions as `pcre`).

Only indicators that make hits (`role = "hit"`) become STIX Indicators: a context indicator (the abused app's
own name, a COUNT() query) describes normal traffic too, and a receiver would alert on it. Each recorded hunt hit
becomes Observed Data (the source address and the Salesforce user it names) with one Sighting per indicator it
matched. Identifiers are UUIDv5 of the incident and the item, so exporting twice gives the same ids.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from app.base.clock import format_instant
from app.report.observed import CONFIDENCE, HitRecord, IndicatorRecord, Observed, ip_kind

NAMESPACE = uuid.UUID("5f0f6a0e-3c1b-5d55-9a7e-0b0e1f7c2a11")  # this project's namespace for UUIDv5 ids
SPEC = "2.1"


def _id(kind: str, incident_id: str, key: str) -> str:
    return f"{kind}--{uuid.uuid5(NAMESPACE, f'{incident_id}/{kind}/{key}')}"


def _quote(value: str) -> str:
    """A STIX pattern string literal: backslash and single quote escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _comparison(path: str, value: str, match: str) -> str:
    if match == "contains":
        like = value.replace("%", "\\%").replace("_", "\\_")
        return f"{path} LIKE {_quote('%' + like + '%')}"
    if match == "regex":
        return f"{path} MATCHES {_quote(value)}"
    return f"{path} = {_quote(value)}"


_PATHS = {
    "user_agent": "network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'",
    "username": "user-account:account_login",
    "connected_app": "software:name",
}


def pattern(ind: IndicatorRecord) -> tuple[str, str] | None:
    """(pattern_type, pattern) for an indicator, or None when it has no value to match."""
    if not ind.values:
        return None
    if ind.kind in ("ip", "ip_list"):
        parts = []
        for v in ind.values:
            kind = ip_kind(v)
            op = "ISSUBSET" if "/" in v else "="
            parts.append(f"[{kind}:value {op} {_quote(v)}]")
        return "stix", " OR ".join(parts)
    if ind.kind == "soql":
        regexes = [v if ind.match == "regex" else re.escape(v) for v in ind.values]
        if ind.match == "exact":
            regexes = [f"^{r}$" for r in regexes]
        return "pcre", regexes[0] if len(regexes) == 1 else "|".join(f"(?:{r})" for r in regexes)
    path = _PATHS[ind.kind]
    return "stix", " OR ".join(f"[{_comparison(path, v, ind.match)}]" for v in ind.values)


def build_bundle(incident_id: str, title: str, obs: Observed, now: datetime) -> Any:
    """The bundle (a `stix2.Bundle`); every object is constructed, and so checked, by the library."""
    import stix2

    stamp = format_instant(now)
    identity = stix2.Identity(
        id=_id("identity", incident_id, "responder"),
        name=f"Incident response team ({incident_id})",
        identity_class="group",
        created=stamp,
        modified=stamp,
    )
    objects: list[Any] = [identity]
    indicator_ids: dict[str, str] = {}
    for ind in obs.indicators:
        pat = pattern(ind)
        if ind.role != "hit" or pat is None:
            continue
        valid_from = ind.window_start or now
        # STIX 2.1 (3.3) wants a url, an external_id or a description beside the name; a source cited without an
        # address says so instead of failing the export.
        refs = [
            {"source_name": s.title, **({"url": s.url} if s.url else {"description": "cited without an address"})}
            for s in ind.sources
        ]
        kwargs: dict[str, Any] = {}
        if ind.window_end is not None:
            kwargs["valid_until"] = format_instant(ind.window_end)
        if refs:
            kwargs["external_references"] = refs
        obj = stix2.Indicator(
            id=_id("indicator", incident_id, ind.key),
            created_by_ref=identity.id,
            created=stamp,
            modified=stamp,
            name=f"{ind.set_name}: {ind.label}",
            description=(ind.note or f"{ind.kind} indicator") + f" (indicator set {ind.set_name})",
            # Low-confidence indicators (Tor exits) mark unusual activity, not proof of the actor.
            indicator_types=["anomalous-activity" if ind.confidence == "low" else "malicious-activity"],
            pattern_type=pat[0],
            pattern=pat[1],
            valid_from=format_instant(valid_from),
            confidence=CONFIDENCE.get(ind.confidence, 50),
            labels=[ind.kind],
            **kwargs,
        )
        indicator_ids[ind.key] = obj.id
        objects.append(obj)
    for hit in obs.hits:
        objects += _observed(incident_id, identity.id, hit, indicator_ids, stamp)
    return stix2.Bundle(objects=objects, id=_id("bundle", incident_id, stamp))


def _observed(
    incident_id: str, identity_id: str, hit: HitRecord, indicator_ids: dict[str, str], stamp: str
) -> list[Any]:
    import stix2

    scos: list[Any] = []
    if hit.ip:
        cls = stix2.IPv6Address if ip_kind(hit.ip) == "ipv6-addr" else stix2.IPv4Address
        scos.append(cls(value=hit.ip))
    if hit.username:
        scos.append(stix2.UserAccount(account_login=hit.username))
    matched = [indicator_ids[k] for k in hit.indicators if k in indicator_ids]
    if not scos or hit.at is None or not matched:
        return []  # nothing a receiver could place: no address or user, no event time, or no exported indicator
    at = format_instant(hit.at)
    observed_data = stix2.ObservedData(
        id=_id("observed-data", incident_id, hit.key),
        created_by_ref=identity_id,
        created=stamp,
        modified=stamp,
        first_observed=at,
        last_observed=at,
        number_observed=1,
        object_refs=[s.id for s in scos],
    )
    sightings = [
        stix2.Sighting(
            id=_id("sighting", incident_id, f"{hit.key}/{ref}"),
            created_by_ref=identity_id,
            created=stamp,
            modified=stamp,
            sighting_of_ref=ref,
            observed_data_refs=[observed_data.id],
            where_sighted_refs=[identity_id],
            first_seen=at,
            last_seen=at,
            count=1,
            description=f"{hit.source} row, evidence {hit.evidence_id} line {hit.line}: {hit.action}"[:500],
        )
        for ref in matched
    ]
    return [*scos, observed_data, *sightings]


def serialize(bundle: Any) -> str:
    return str(bundle.serialize(pretty=True)) + "\n"


def validate(text: str) -> Any:
    """Parse the JSON back with `stix2.parse` (strict: no custom properties or objects); raises on anything the
    library rejects."""
    import stix2

    return stix2.parse(text, allow_custom=False, version=SPEC)
