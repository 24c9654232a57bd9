"""The monitoring window as the journal holds it: `monitoring.window` opens it (start, planned end, days, org),
`monitoring.run` records each run, `monitoring.alert` each alert and `monitoring.ack` a responder acknowledging one.
The projector keeps the window, the runs and the alerts in derived state; `monitor_status` is the typed reader for
the command, the console and the report, and `next_run_due` says when a scheduled run (the console's) is due."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from app.base.clock import ensure_utc, format_instant, parse_instant
from app.base.errors import UsageError

if TYPE_CHECKING:
    from app.incident.core import Incident
    from app.journal.chain import Entry, Lookup

WINDOW_KIND = "monitoring.window"
RUN_KIND = "monitoring.run"
ALERT_KIND = "monitoring.alert"
ACK_KIND = "monitoring.ack"
NAMESPACE = "monitor"
ALERTS = "monitor_alert"  # derived state: alert key -> its type, title and entry
MAX_DAYS = 365


class MonitorStatus(BaseModel):
    start_utc: str
    end_utc: str
    days: int
    org_alias: str
    opened_by: str
    seq: int
    day: int  # day N of the window at `now` (1-based); 0 before it starts
    days_left: int
    ended: bool
    closed_utc: str | None = None  # closed by a responder (with a decision) rather than by its planned end
    closed_by: str | None = None
    decision: str | None = None
    runs: int = 0
    last_run_utc: str | None = None
    last_until_utc: str | None = None
    last_status: str | None = None
    alerts: int = 0
    alerts_by_type: dict[str, int] = {}
    runs_by_day: dict[int, int] = {}  # day N -> runs that day (a day without a run is a gap in the watch)


def start_window(incident: Incident, days: int, org_alias: str, actor: str) -> Entry:
    """Open (or re-open with a new length) the monitoring window from now, journaled as `monitoring.window`."""
    if not 1 <= days <= MAX_DAYS:
        raise UsageError(f"--days {days}: between 1 and {MAX_DAYS}")
    if not org_alias.strip():
        raise UsageError("name the org the window watches with --org ALIAS")
    now = incident.clock.now()
    previous = incident.journal.get_state(NAMESPACE, "window")
    data: dict[str, Any] = {
        "days": days,
        "start_utc": format_instant(now),
        "end_utc": format_instant(now + timedelta(days=days)),
        "org_alias": org_alias.strip(),
    }
    if previous:
        data["replaces_seq"] = previous["seq"]
    return incident.journal.append(WINDOW_KIND, data, actor)


def close_window(incident: Incident, decision: str, actor: str) -> Entry:
    """Close the window before (or at) its planned end with the decision taken on the temporary rules."""
    window = incident.journal.get_state(NAMESPACE, "window")
    if window is None:
        raise UsageError("no monitoring window to close")
    if window.get("closed_utc"):
        raise UsageError(f"the monitoring window was already closed {window['closed_utc']} by {window['closed_by']}")
    if not (decision or "").strip():
        raise UsageError("closing the window needs --decision: which temporary rules are kept or retired, and why")
    data = {"phase": "close", "closed_utc": format_instant(incident.clock.now()), "decision": decision.strip()}
    return incident.journal.append(WINDOW_KIND, data, actor)


def _day(start: datetime, now: datetime) -> int:
    return 0 if now < start else (now - start) // timedelta(days=1) + 1


def project(entry: Entry, get: Lookup) -> Iterable[tuple[str, str, Any]]:
    d = entry.data
    if entry.kind == WINDOW_KIND and d.get("phase") == "close":
        window = get(NAMESPACE, "window") or {}
        yield NAMESPACE, "window", {**window, "closed_utc": d["closed_utc"], "closed_by": entry.actor,
                                    "decision": d["decision"], "close_seq": entry.seq}  # fmt: skip
    elif entry.kind == WINDOW_KIND:
        yield NAMESPACE, "window", {**d, "seq": entry.seq, "by": entry.actor}
        yield NAMESPACE, "runs", {"count": 0, "by_day": {}}
    elif entry.kind == RUN_KIND:
        runs = get(NAMESPACE, "runs") or {"count": 0, "by_day": {}}
        by_day = dict(runs["by_day"])
        by_day[str(d["day"])] = by_day.get(str(d["day"]), 0) + 1
        yield (
            NAMESPACE,
            "runs",
            {
                "count": runs["count"] + 1,
                "by_day": by_day,
                "last_utc": entry.recorded_utc,
                "last_until_utc": d["until_utc"],
                "last_status": d["status"],
            },
        )
    elif entry.kind == ALERT_KIND:
        yield ALERTS, d["key"], {"type": d["type"], "title": d["title"], "seq": entry.seq, "run": d.get("run")}
    elif entry.kind == ACK_KIND:
        alert = get(ALERTS, d["key"])
        if alert is not None:
            yield (
                ALERTS,
                d["key"],
                {**alert, "ack_by": entry.actor, "ack_utc": entry.recorded_utc, "ack_seq": entry.seq},
            )


def alert_keys(incident: Incident) -> set[str]:
    return set(incident.journal.state(ALERTS))


def monitor_status(incident: Incident, now: datetime | None = None) -> MonitorStatus | None:
    """The window and what ran in it, at `now` (default: the incident's clock); None when none was opened."""
    journal = incident.journal
    window = journal.get_state(NAMESPACE, "window")
    if window is None:
        return None
    now = ensure_utc(now or incident.clock.now())
    start, end = parse_instant(window["start_utc"]), parse_instant(window["end_utc"])
    if window.get("closed_utc"):
        end = min(end, parse_instant(window["closed_utc"]))
    runs = journal.get_state(NAMESPACE, "runs") or {"count": 0, "by_day": {}}
    by_type: dict[str, int] = {}
    alerts = 0
    for value in journal.state(ALERTS).values():
        if value.get("run") is not None and value["seq"] > window["seq"]:
            by_type[value["type"]] = by_type.get(value["type"], 0) + 1
            alerts += 1
    return MonitorStatus(
        start_utc=window["start_utc"],
        end_utc=window["end_utc"],
        days=window["days"],
        org_alias=window["org_alias"],
        opened_by=window["by"],
        seq=window["seq"],
        day=min(_day(start, min(now, end)), window["days"]),
        days_left=max(0, -(-(end - now) // timedelta(days=1))) if now < end else 0,
        ended=now >= end,
        closed_utc=window.get("closed_utc"),
        closed_by=window.get("closed_by"),
        decision=window.get("decision"),
        runs=runs["count"],
        last_run_utc=runs.get("last_utc"),
        last_until_utc=runs.get("last_until_utc"),
        last_status=runs.get("last_status"),
        alerts=alerts,
        alerts_by_type=dict(sorted(by_type.items())),
        runs_by_day={int(k): v for k, v in sorted(runs["by_day"].items(), key=lambda kv: int(kv[0]))},
    )


def next_run_due(status: MonitorStatus | None, every: timedelta) -> datetime | None:
    """When the next scheduled run is due: `every` after the last run (by anyone: cron, the CLI, a console), at
    once when none ran yet; None when there is no window or it has ended."""
    if status is None or status.ended:
        return None
    last = status.last_run_utc or status.start_utc
    return parse_instant(last) + every if status.last_run_utc else parse_instant(last)
