"""One monitoring run, safe to start from cron, a systemd timer or the console: it takes the run lock, pulls the
inventory (journaled as a snapshot, with its findings, like any pull) and compares it with the previous
snapshot, collects what is new in the org since the last run (`warroom collect`'s sources: audit trail, logins,
event logs, real-time events...) and hunts it with every indicator set of the incident (the shipped sets and
those its hunts recorded; the hits are journaled as a hunt), checks that containment still holds, and journals
each new alert (`monitoring.alert`) and the run (`monitoring.run`). A run that fails is journaled too, so a gap
in the watch shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from app.base.clock import format_instant, parse_instant
from app.base.errors import UsageError, WarroomError
from app.containment.apply import result_records
from app.containment.models import id15
from app.containment.recovery import run_lock
from app.containment.store import load_plan
from app.forensics.collect import collect
from app.hunt.hunting import hunt, record_hunt
from app.monitoring.checks import Alert, Contained, hunt_alerts, run_checks
from app.monitoring.window import ALERT_KIND, RUN_KIND, alert_keys, monitor_status

if TYPE_CHECKING:
    from app.incident.core import Incident
    from app.salesforce.protocol import OrgClient, OrgFactory

LOCK = "MONITOR"
CONTAINING_APPS = ("revoke_tokens", "quarantine_org")


class MonitorRun(BaseModel):
    status: str  # ok | failed | window_ended
    run: int | None = None
    day: int | None = None
    since_utc: str | None = None
    until_utc: str | None = None
    alerts: list[dict[str, Any]] = []  # the new ones, as journaled
    still_true: int = 0  # conditions alerted on by an earlier run and still true
    baseline: bool = False  # no earlier snapshot: the diff-based checks start at the next run
    snapshot_evidence_id: str | None = None
    seq: int | None = None
    message: str = ""


def contained(incident: Incident) -> Contained:
    """The apps containment revoked or blocked (and when), the users it froze, the assignments grants made."""
    from app.grants import list_grants

    out = Contained()
    for entry in incident.journal.entries(prefix="action."):
        d = entry.data
        if entry.kind == "action.result" and d.get("status") in ("done", "partial", "unverified"):
            plan = load_plan(incident, d["action_id"])
            at = parse_instant(entry.recorded_utc)
            steps = {s.n: s for s in plan.steps}
            for rec in result_records(incident, entry):
                step = steps.get(int(rec["n"]))
                if step is None or rec.get("status") not in ("ok", "already"):
                    continue
                if step.op == "revoke_token" and step.before.get("AppName"):
                    out.apps.setdefault(step.before["AppName"], at)
                elif step.op == "freeze_user":
                    out.frozen[id15(step.record)] = plan.plan_id
                elif step.op == "unfreeze_user":
                    out.frozen.pop(id15(step.record), None)
            if plan.action in CONTAINING_APPS and plan.selectors.app:
                out.apps.setdefault(plan.selectors.app, at)
        elif entry.kind == "action.task_confirmed" and d.get("kind") == "block_app":
            plan = load_plan(incident, d["action_id"])
            if plan.selectors.app:
                out.apps.setdefault(plan.selectors.app, parse_instant(entry.recorded_utc))
    out.granted = {id15(g.assignment_id) for g in list_grants(incident) if g.assignment_id}
    return out


def _indicator_sets(incident: Incident) -> list[Any]:
    """The shipped indicator sets and those the incident's hunts recorded, once each by name."""
    from app import hunt as hunting

    sets = [hunting.load_indicators(p) for p in hunting.shipped_indicator_files()]
    sets += hunting.recorded_indicator_sets(incident)
    seen: dict[str, Any] = {}
    for s in sets:
        seen.setdefault(s.name, s)
    return [seen[name] for name in sorted(seen)]


def run_monitor(incident: Incident, org: OrgClient | OrgFactory, actor: str, *, trigger: str = "command") -> MonitorRun:
    """Run the checks once (see the module's docstring); the alerts and the run are journaled.

    `trigger` says what started the run, kept in its `monitoring.run` entry: "command" (`warroom monitor run`,
    by hand or from cron), "console schedule" (the console's timer), "console" (run now from the console) or
    "exercise script" (a scripted responder's `monitor.run`)."""
    status = monitor_status(incident)
    if status is None:
        raise UsageError("no monitoring window: `warroom monitor start --days 28 --org ALIAS` first")
    if status.ended:
        return MonitorRun(
            status="window_ended",
            message=f"the monitoring window ended {status.closed_utc or status.end_utc}; nothing was run "
            "(`monitor start` opens another)",
        )
    busy = "another monitoring run of this incident is under way; this one did nothing"
    with run_lock(incident, LOCK, wait_message=busy):
        return _run(incident, org, actor, trigger)


def _run(incident: Incident, org: OrgClient | OrgFactory, actor: str, trigger: str) -> MonitorRun:
    from app import inventory as inv
    from app.findings.intake import pull_and_record

    status = monitor_status(incident)
    assert status is not None
    now = incident.clock.now()
    since_text = status.last_until_utc or status.start_utc
    since = parse_instant(since_text)
    run_no = status.runs + 1
    base = {"run": run_no, "day": status.day, "since_utc": since_text, "trigger": trigger}
    previous = inv.load_current(incident)
    sets = _indicator_sets(incident)
    client: OrgClient | None = None
    try:
        client = org() if callable(org) else org
        intake = pull_and_record(incident, client, actor, alias=status.org_alias, now=now)
        collected = collect(incident, client, actor, since=since, command="monitor run")
    except WarroomError as exc:
        entry = incident.journal.append(
            RUN_KIND, {**base, "until_utc": since_text, "status": "failed", "error": str(exc)}, actor
        )
        raise WarroomError(f"monitoring run {run_no} failed (journaled as entry {entry.seq}): {exc}") from None
    finally:
        if callable(org) and client is not None:
            client.close()
    known_hits = set(incident.journal.state("hunt"))
    hunted = hunt(incident, sets, since=since, until=now)
    record_hunt(incident, hunted, sets, actor)
    hit_alerts = hunt_alerts([h for h in hunted.hits if h.key not in known_hits])
    new = intake.snapshot
    evidence_id = intake.saved.evidence_id if intake.saved else ""
    diff = inv.diff(previous, new) if previous is not None else None
    compiled = [c for x in sets for c in x.compiled]
    found = run_checks(previous, new, diff, since, contained(incident), compiled, evidence_id) + hit_alerts
    known = alert_keys(incident)
    fresh: dict[str, Alert] = {}
    for alert in found:
        if alert.key not in known:
            fresh.setdefault(alert.key, alert)
    still_true = len({a.key for a in found if a.key in known})  # once each (two checks may find one condition)
    until = format_instant(now)
    entries = incident.journal.append_many(
        [(ALERT_KIND, {**a.data(), "run": run_no, "day": status.day}, actor) for a in fresh.values()]
    )
    run_entry = incident.journal.append(
        RUN_KIND,
        {
            **base,
            "until_utc": until,
            "status": "ok",
            "snapshot_evidence_id": evidence_id,
            "indicator_sets": [x.name for x in sets],
            "collect_run": collected.run_id,
            "collect_status": collected.status,
            "hunt_hits": len(hunted.hits),
            "alerts": len(fresh),
            "still_true": still_true,
            "baseline": previous is None,
        },
        actor,
    )
    return MonitorRun(
        status="ok",
        run=run_no,
        day=status.day,
        since_utc=since_text,
        until_utc=until,
        alerts=[{**e.data, "seq": e.seq} for e in entries],
        still_true=still_true,
        baseline=previous is None,
        snapshot_evidence_id=evidence_id,
        seq=run_entry.seq,
    )
