"""`warroom monitor start|run|status|ack|close`: the enhanced monitoring window after containment (two to four
weeks), its runs (safe from cron or a systemd timer) and their alerts, journaled."""

from __future__ import annotations

import argparse

from app.base.errors import UsageError
from app.commands.contain import _default_alias, _opener, _org_args
from app.composition.context import Context


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("monitor", help="enhanced monitoring after containment: a window of days, runs and alerts")
    msub = p.add_subparsers(dest="monitor_command", metavar="SUBCOMMAND", required=True)

    q = msub.add_parser("start", help="open the monitoring window from now (journaled)")
    q.add_argument("--days", type=int, default=28, help="how long the window runs (default 28)")
    q.add_argument("--org", metavar="ALIAS", help="the org it watches (default: the only alias stored)")
    q.add_argument("--incident")
    q.set_defaults(handler=_run_start)

    q = msub.add_parser(
        "run", help="take in what is new since the last run and raise alerts (cron-safe: exit 0 unless it failed)"
    )
    _org_args(q, with_alias=False)
    q.add_argument("--incident")
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=_run_run)

    q = msub.add_parser("close", help="close the window with the decision on the temporary rules (journaled)")
    q.add_argument("--decision", required=True, help="which temporary rules are kept or retired, and why")
    q.add_argument("--incident")
    q.set_defaults(handler=_run_close)

    q = msub.add_parser("ack", help="acknowledge a monitoring alert: read, not resolved (journaled)")
    q.add_argument("key", metavar="KEY", help="the alert's key, as `monitor status` lists it")
    q.add_argument("--note", help="who looks into it, what happens next")
    q.add_argument("--incident")
    q.set_defaults(handler=_run_ack)

    q = msub.add_parser("status", help="the window: day N of M, runs per day, alerts by type")
    q.add_argument("--incident")
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=_run_status)


def _run_start(ctx: Context, args: argparse.Namespace) -> int:
    from app.monitoring import start_window

    alias = _default_alias(ctx, args.org)
    with ctx.open_incident(args.incident) as incident:
        entry = start_window(incident, args.days, alias, ctx.actor)
    d = entry.data
    again = f" (replaces the window of entry {d['replaces_seq']})" if d.get("replaces_seq") else ""
    ctx.print(
        f"monitoring window of {d['days']} day(s) on {d['org_alias']}: {d['start_utc']} to {d['end_utc']}; "
        f"entry {entry.seq}{again}. Run `warroom monitor run` on a schedule (cron, a systemd timer)."
    )
    return 0


def _run_run(ctx: Context, args: argparse.Namespace) -> int:
    from app.monitoring import monitor_status, run_monitor

    with ctx.open_incident(args.incident) as incident:
        status = monitor_status(incident)
        if status is None:
            raise UsageError("no monitoring window: `warroom monitor start --days 28 --org ALIAS` first")
        run = run_monitor(incident, _opener(ctx, status.org_alias, args), ctx.actor)
    if args.json:
        ctx.print_json(run)
        return 0
    if run.status != "ok":
        ctx.print(run.message)
        return 0
    ctx.print(
        f"run {run.run} (day {run.day}) covered {run.since_utc} to {run.until_utc}: {len(run.alerts)} new alert(s), "
        f"{run.still_true} still true from earlier runs; snapshot {run.snapshot_evidence_id}; entry {run.seq}"
    )
    if run.baseline:
        ctx.print("baseline: no earlier snapshot to compare with; new apps, packages and grants show from the next run")
    for a in run.alerts:
        ctx.print(f"ALERT {a['type']}: {a['title']}" + (f" ({a['detail']})" if a.get("detail") else ""))
    return 0


def _run_close(ctx: Context, args: argparse.Namespace) -> int:
    from app.monitoring import close_window

    with ctx.open_incident(args.incident) as incident:
        entry = close_window(incident, args.decision, ctx.actor)
    ctx.print(f"monitoring window closed {entry.data['closed_utc']} (entry {entry.seq}): {entry.data['decision']}")
    return 0


def _run_ack(ctx: Context, args: argparse.Namespace) -> int:
    from app.monitoring import acknowledge_alert

    with ctx.open_incident(args.incident) as incident:
        entry = acknowledge_alert(incident, args.key, ctx.actor, args.note)
    ctx.print(f"monitoring alert {args.key} acknowledged (entry {entry.seq})")
    return 0


def _run_status(ctx: Context, args: argparse.Namespace) -> int:
    from app.monitoring import monitor_status, pending_monitor_alerts

    with ctx.open_incident(args.incident) as incident:
        status = monitor_status(incident)
        pending = pending_monitor_alerts(incident)
    if status is None:
        if args.json:
            ctx.print_json(None)
        else:
            ctx.print("No monitoring window (`warroom monitor start --days 28`).")
        return 0
    if args.json:
        ctx.print_json(status)
        return 0
    state = "ended" if status.ended else f"day {status.day} of {status.days}, {status.days_left} day(s) left"
    if status.closed_utc:
        state = f"closed {status.closed_utc} by {status.closed_by}: {status.decision}"
    ctx.print(f"monitoring {status.org_alias}: {status.start_utc} to {status.end_utc} ({state})")
    ctx.print(
        f"runs: {status.runs}" + (f", last {status.last_run_utc} ({status.last_status})" if status.last_run_utc else "")
    )
    watched = [d for d in range(1, status.day + 1) if status.runs_by_day.get(d)]
    gaps = [d for d in range(1, status.day + 1) if not status.runs_by_day.get(d)]
    ctx.print(f"days with a run: {len(watched)} of {status.day}" + (f"; none on day(s) {gaps}" if gaps else ""))
    ctx.print(f"alerts: {status.alerts}")
    for kind, n in status.alerts_by_type.items():
        ctx.print(f"  {kind}: {n}")
    if pending:
        ctx.print(f"not acknowledged ({len(pending)}; `warroom monitor ack KEY`):")
    for a in pending:
        ctx.print(f"  {a.key}  [{a.type}] {a.title}")
    return 0
