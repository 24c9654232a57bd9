"""Indicators a finding can use: known-bad addresses, user agents and app names from hunt indicator files
(shipped, recorded by the incident's hunts, or given), and the ranges the integrations are expected to call from."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from app import hunt
from app.base.errors import UsageError
from app.base.files import read_text_limited
from app.base.limits import MAX_TOML_BYTES
from app.hunt import IndicatorSet
from app.incident.core import Incident


@dataclass(frozen=True)
class BadAddress:
    net: ipaddress.IPv4Network | ipaddress.IPv6Network
    strong: bool  # high/medium confidence; Tor exits and the like are weak (frequent false positives)
    source: str
    start: datetime | None = None
    end: datetime | None = None

    def matches(self, addr: ipaddress.IPv4Address | ipaddress.IPv6Address, at: datetime | None) -> bool:
        if addr.version != self.net.version or addr not in self.net:
            return False
        return at is None or ((self.start is None or at >= self.start) and (self.end is None or at < self.end))


@dataclass
class Indicators:
    """Known-bad addresses, user agents and app names (from hunt indicator files) and the expected ranges."""

    addresses: list[BadAddress] = field(default_factory=list)
    user_agents: list[tuple[str, bool, str]] = field(default_factory=list)  # (lower-case text, strong, source)
    apps: list[tuple[str, bool, str]] = field(default_factory=list)  # (lower-case app name, strong, source)
    expected: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = field(default_factory=list)

    def bad(self, ip: str | None, at: datetime | None) -> BadAddress | None:
        try:
            addr = ipaddress.ip_address((ip or "").strip())
        except ValueError:
            return None
        hits = [b for b in self.addresses if b.matches(addr, at)]
        return max(hits, key=lambda b: b.strong) if hits else None

    def agent(self, text: str) -> tuple[str, bool, str] | None:
        low = text.lower()
        hits = [a for a in self.user_agents if a[0] and a[0] in low]
        return max(hits, key=lambda a: a[1]) if hits else None


def _ip_file(path: Path) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    nets = []
    for line in read_text_limited(path, MAX_TOML_BYTES, "address list").splitlines():
        text = line.split("#", 1)[0].strip()
        if text:
            nets.append(ipaddress.ip_network(text, strict=False))
    return nets


def indicators_from_sets(sets: Iterable[IndicatorSet], expected_ips: Iterable[str] = ()) -> Indicators:
    """The parts of hunt indicator sets a finding can use: "hit" addresses, user agents and app names."""
    ind = Indicators()
    for s in sets:
        window = s.window
        start, end = (window.start, window.end) if window else (None, None)
        for i in s.indicator:
            if i.role != "hit":
                continue
            strong = i.confidence != "low"
            label = f"{s.name}: {i.note or i.kind}"
            if i.kind == "ip":
                nets = [ipaddress.ip_network(v.strip(), strict=False) for v in i.values]
            elif i.kind == "ip_list" and i.file and s.path is not None:
                f = Path(i.file).expanduser()
                nets = _ip_file(f if f.is_absolute() else s.path.parent / f)
            else:
                nets = []
            ind.addresses += [BadAddress(n, strong, label, start, end) for n in nets]
            if i.kind == "user_agent" and (i.match or "exact") != "regex":
                ind.user_agents += [(v.strip().lower(), strong, label) for v in i.values]
            if i.kind == "connected_app" and (i.match or "exact") == "exact":
                ind.apps += [(v.strip().lower(), strong, label) for v in i.values]
    for value in expected_ips:
        try:
            ind.expected.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise UsageError(f"--expected-ips: {value!r} is not an IP address or CIDR range") from None
    return ind


def load_indicators(
    paths: Iterable[Path] = (),
    *,
    incident: Incident | None = None,
    shipped: bool = True,
    expected_ips: Iterable[str] = (),
) -> Indicators:
    """Shipped indicator files, those preserved by the incident's recorded hunts, and any given `paths`."""
    sets: list[IndicatorSet] = []
    if shipped:
        sets += [hunt.load_indicators(p) for p in hunt.shipped_indicator_files()]
    if incident is not None:
        sets += hunt.recorded_indicator_sets(incident)
    sets += [hunt.load_indicators(hunt.find_indicator_file(str(p))) for p in paths]
    return indicators_from_sets(sets, expected_ips)
