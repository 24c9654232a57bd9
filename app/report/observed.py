"""What the exports share (STIX 2.1 and MISP): the indicators of the sets recorded hunts used, read back from
the evidence store, and the recorded hunt hits (observed activity), each hit tied to the indicators it matched.

Only what the journal and the preserved indicator files say: a hit names its indicators by label
(`SET/LABEL: value`), and that label is looked up in the set it names; a label that no preserved set has is kept
on the hit (`unresolved`) rather than dropped.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from app.base.clock import read_instant

if TYPE_CHECKING:
    from app.incident.core import Incident

CONFIDENCE = {"high": 85, "medium": 50, "low": 15}  # STIX 2.1 confidence scale 0-100 (High/Med/Low mapping)


@dataclass(frozen=True)
class SourceRef:
    title: str
    url: str | None


@dataclass(frozen=True)
class IndicatorRecord:
    set_name: str
    label: str  # unique in its set: the indicator's id, or KIND#N
    kind: str  # ip, ip_list, user_agent, connected_app, username, soql
    values: tuple[str, ...]  # for ip_list: the networks of the list as preserved
    match: str  # exact, contains, regex (ip kinds: exact)
    role: str  # hit, or context (annotates hits, never makes one alone)
    confidence: str
    note: str
    sources: tuple[SourceRef, ...]
    window_start: datetime | None
    window_end: datetime | None

    @property
    def key(self) -> str:
        return f"{self.set_name}/{self.label}"


@dataclass(frozen=True)
class HitRecord:
    key: str  # EVIDENCE_ID:LINE, unique per hit
    at: datetime | None
    source: str  # the log the row came from (LoginHistory, ApiEvent, ...)
    evidence_id: str
    line: int
    ip: str | None
    username: str | None
    user_agent: str | None
    app: str | None
    action: str
    indicators: tuple[str, ...]  # keys of IndicatorRecord
    unresolved: tuple[str, ...]  # labels no preserved set defines


@dataclass(frozen=True)
class Observed:
    indicators: tuple[IndicatorRecord, ...]
    hits: tuple[HitRecord, ...]


def ip_kind(value: str) -> str:
    """`ipv4-addr` or `ipv6-addr` for an address or a range."""
    return "ipv6-addr" if ipaddress.ip_network(value, strict=False).version == 6 else "ipv4-addr"


def _address(net: object) -> str:
    """A single-address network as the address (`192.0.2.1`, not `192.0.2.1/32`); a range as CIDR."""
    network = ipaddress.ip_network(str(net), strict=False)
    return str(network.network_address) if network.num_addresses == 1 else str(network)


def _label_of(text: str) -> tuple[str, str]:
    """("SET", "LABEL") from a hit's "SET/LABEL: value"."""
    head = text.split(":", 1)[0].strip()
    set_name, _, label = head.partition("/")
    return set_name, label


def observed(incident: Incident) -> Observed:
    from app.hunt import recorded_indicator_sets

    records: list[IndicatorRecord] = []
    for s in recorded_indicator_sets(incident):
        sources = {src.id: SourceRef(src.title, src.url) for src in s.source}
        for n, ind in enumerate(s.indicator):
            label = ind.id or f"{ind.kind}#{n + 1}"
            values = tuple(_address(net) for net in s.ip_list(n)) if ind.kind == "ip_list" else tuple(ind.values)
            records.append(
                IndicatorRecord(
                    set_name=s.name,
                    label=label,
                    kind=ind.kind,
                    values=values,
                    match="exact" if ind.kind in ("ip", "ip_list") else (ind.match or _default_match(ind.kind)),
                    role=ind.role,
                    confidence=ind.confidence,
                    note=ind.note,
                    sources=tuple(sources[r] for r in ind.sources if r in sources),
                    window_start=s.window.start if s.window else None,
                    window_end=s.window.end if s.window else None,
                )
            )
    known = {r.key for r in records}
    hits: list[HitRecord] = []
    for entry in incident.journal.entries(kind="hunt.hit"):
        d = entry.data
        keys = ["/".join(_label_of(str(t))) for t in [*d.get("indicators", []), *d.get("context", [])]]
        at = read_instant(d.get("at"))  # not an instant: the hit is kept, without a time
        hits.append(
            HitRecord(
                key=str(d.get("key", entry.seq)),
                at=at,
                source=str(d.get("source", "")),
                evidence_id=str(d.get("evidence_id", "")),
                line=int(d.get("line", 0)),
                ip=d.get("ip"),
                username=d.get("username"),
                user_agent=d.get("user_agent"),
                app=d.get("app"),
                action=str(d.get("action", "")),
                indicators=tuple(k for k in keys if k in known),
                unresolved=tuple(k for k in keys if k not in known),
            )
        )
    return Observed(indicators=tuple(records), hits=tuple(hits))


def _default_match(kind: str) -> str:
    from app.hunt import DEFAULT_MATCH

    return DEFAULT_MATCH.get(kind, "exact")
