"""Token use by address over time: API calls per source address per hour, for each connected app's token holders.
One of the report's series (`app.report.series`), drawn in the console's pictures and as SVG in the HTML report.

The API, RestApi and Bulk event logs name the calling user, never the connected app (no such column in their
documented headers: `app.hunt.calls`). A call is therefore counted for an app when its user held OAuth tokens of
that app in any inventory snapshot of the incident (the tokens revoked during containment are the ones that
matter, and the latest snapshot no longer lists them); an ApiTotalUsage row, which documents CONNECTED_APP_ID and
CONNECTED_APP_NAME, is counted for the app it names. A user holding tokens of several apps has its calls counted
under each (`shared_calls` says how many), since the logs cannot tell which token made them. Calls whose row has
no usable time are counted but never placed on the axis; calls logged without a caller address
(empty CLIENT_IP, or Salesforce's own hop) stay in a row of their own.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from app.base.clock import format_instant
from app.evidence.rows import id_key
from app.report.hourly import HourCount, hour_of

if TYPE_CHECKING:
    from app.hunt.calls import ApiCalls
    from app.incident.core import Incident

NO_ADDRESS = "(no address logged)"
TOP_ADDRESSES = 8  # addresses drawn per app; the rest are folded into one line


@dataclass(frozen=True)
class AddressSeries:
    ip: str  # CLIENT_IP as logged, or NO_ADDRESS
    hours: tuple[HourCount, ...]  # only hours with calls, ascending
    total: int  # dated and undated


@dataclass(frozen=True)
class AppTokenUse:
    app: str
    users: int  # users whose calls are counted here
    addresses: tuple[AddressSeries, ...]  # most calls first
    calls: int
    undated: int  # calls whose row carries no usable time: counted, never placed on the axis
    shared_calls: int  # calls of users holding tokens of several apps, counted under each of them
    first_utc: str | None
    last_utc: str | None

    def busiest_hour(self) -> int:
        """The most calls from one address in one hour: the full height of this app's blocks (0: none dated)."""
        return max((h.count for s in self.addresses for h in s.hours), default=0)

    def top(self, n: int = TOP_ADDRESSES) -> tuple[tuple[AddressSeries, ...], int, int]:
        """(the `n` busiest addresses, how many more addresses, their calls) for a picture of bounded height."""
        shown, rest = self.addresses[:n], self.addresses[n:]
        return shown, len(rest), sum(a.total for a in rest)


@dataclass(frozen=True)
class TokenUse:
    apps: tuple[AppTokenUse, ...]  # most calls first
    log_types: tuple[str, ...]  # event log types whose rows were counted
    snapshots: int  # inventory snapshots read for the token holders; 0: only ApiTotalUsage rows could be attributed
    unattributed: int  # calls of users holding no token of any app (and naming no app)

    def empty_reason(self) -> str | None:
        """Why there is nothing to draw (None when there is): which of the logs or the inventory is missing."""
        if self.apps:
            return None
        if not self.log_types:
            return "no API event log file preserved (EventLogFile API, RestApi, BulkApi, BulkApi2, ApiTotalUsage)"
        if not self.snapshots:
            return "no preserved call names an app, and no inventory snapshot names the apps' token holders"
        return "no preserved API call was made by a user holding an app's tokens"


def token_use_from(
    calls: Sequence[ApiCalls], holders: Iterable[tuple[str, str]], app_names: Mapping[str, str], snapshots: int
) -> TokenUse:
    """The series from calls already read (`app.hunt.api_calls`), the (user id, app name) of every OAuth token the
    incident's inventory snapshots list, connected app id -> name, and the number of snapshots read."""
    apps_of: dict[str, set[str]] = defaultdict(set)
    for user_id, app_name in holders:
        apps_of[id_key(user_id)].add(app_name)
    app_by_id = {id_key(i): name for i, name in app_names.items()}
    counts: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    totals: dict[str, Counter[str]] = defaultdict(Counter)
    undated: Counter[str] = Counter()
    shared: Counter[str] = Counter()
    users: dict[str, set[str]] = defaultdict(set)
    first: dict[str, datetime] = {}
    last: dict[str, datetime] = {}
    unattributed = 0
    for c in calls:
        named = app_by_id.get(c.app_id or "") or c.app_name
        targets = {named} if named else apps_of.get(c.user_id or "", set())
        if not targets:
            unattributed += c.count
            continue
        ip = c.ip or NO_ADDRESS
        for app in targets:
            totals[app][ip] += c.count
            if len(targets) > 1:
                shared[app] += c.count
            if c.user_id:
                users[app].add(c.user_id)
            if c.hour is None:
                undated[app] += c.count
                continue
            counts[app][ip][hour_of(c.hour)] += c.count
            if c.first is not None and (app not in first or c.first < first[app]):
                first[app] = c.first
            if c.last is not None and (app not in last or c.last > last[app]):
                last[app] = c.last
    out = []
    for app, per_ip in totals.items():
        addresses = tuple(
            AddressSeries(ip, tuple(HourCount(h, n) for h, n in sorted(counts[app][ip].items())), total)
            for ip, total in sorted(per_ip.items(), key=lambda kv: (-kv[1], kv[0]))
        )
        out.append(
            AppTokenUse(
                app=app,
                users=len(users[app]),
                addresses=addresses,
                calls=sum(per_ip.values()),
                undated=undated[app],
                shared_calls=shared[app],
                first_utc=format_instant(first[app]) if app in first else None,
                last_utc=format_instant(last[app]) if app in last else None,
            )
        )
    out.sort(key=lambda a: (-a.calls, a.app.lower()))
    return TokenUse(
        apps=tuple(out),
        log_types=tuple(sorted({c.log_type for c in calls})),
        snapshots=snapshots,
        unattributed=unattributed,
    )


def token_use(incident: Incident) -> TokenUse:
    """API calls per address per hour for each app's token holders, from the preserved event log files and every
    inventory snapshot the incident recorded."""
    from app import inventory as inv
    from app.hunt.calls import api_calls

    holders, app_names, snapshots = inv.token_holders(incident)
    return token_use_from(api_calls(incident), holders, app_names, snapshots)
