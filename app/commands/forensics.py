"""`warroom collect`, `hunt` and `exfil`: preserve the org's logs, hunt indicators in them, say what was taken."""

from __future__ import annotations

import argparse
import dataclasses
from datetime import datetime
from pathlib import Path

from app import hunt
from app.base.clock import format_instant
from app.base.errors import UsageError
from app.commands._args import check_window, instant_arg
from app.composition.context import Context
from app.forensics import collect as forensics
from app.forensics.results import sources_progress
from app.salesforce.orgs import open_org


def _what(text: str) -> list[str]:
    items = [w.strip() for w in text.split(",") if w.strip()]
    bad = [w for w in items if w not in forensics.SOURCES]
    if bad or not items:
        raise argparse.ArgumentTypeError(
            f"unknown source {', '.join(bad) or '(none)'}; choose from {','.join(forensics.SOURCES)}"
        )
    return items


def _org_args(p: argparse.ArgumentParser, *, required: bool) -> None:
    p.add_argument("--org", required=required, metavar="ALIAS", help="credential alias, or `sim` for the simulated org")
    p.add_argument("--instance-url", help="with --org sim: the simulated org's URL (https://127.0.0.1:PORT)")
    p.add_argument("--ca", type=Path, help="with --org sim: the PEM certificate to trust")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("collect", help="preserve the org's audit trail, logins, event logs, debug logs and events")
    _org_args(p, required=True)
    p.add_argument("--since", type=instant_arg, help="oldest record to fetch (ISO 8601; default: all the org keeps)")
    p.add_argument(
        "--what",
        type=_what,
        default=list(forensics.SOURCES),
        help=f"comma-separated sources (default: {','.join(forensics.SOURCES)})",
    )
    p.add_argument("--incident")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_collect)

    p = sub.add_parser("hunt", help="search the preserved evidence for indicators of compromise")
    p.add_argument(
        "ioc_files",
        nargs="+",
        metavar="IOC_FILE",
        help="indicator TOML file, or a shipped set: " + ", ".join(f.stem for f in hunt.shipped_indicator_files()),
    )
    _org_args(p, required=False)
    p.add_argument("--since", type=instant_arg, help="override the window start of the indicator files")
    p.add_argument("--until", type=instant_arg, help="override the window end (exclusive)")
    p.add_argument(
        "--record",
        action="store_true",
        help="journal the hits as hunt.hit timeline entries (and preserve the indicator files)",
    )
    p.add_argument("--leads", action="store_true", help="also list rows that match only context indicators")
    p.add_argument("--incident")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_hunt)

    p = sub.add_parser(
        "hunt-index", help="bring the analysis database up to date with the evidence store, or --rebuild it"
    )
    p.add_argument(
        "--rebuild", action="store_true", help="delete and rebuild it from the evidence store (it is derived data)"
    )
    p.add_argument("--incident")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_hunt_index)

    p = sub.add_parser("exfil", help="what did they take: rows read per app/user and object, from the API logs")
    p.add_argument(
        "ioc_files",
        nargs="*",
        metavar="IOC_FILE",
        help="attribute by these indicators (default: the indicator files of recorded hunts)",
    )
    p.add_argument(
        "--all", action="store_true", dest="all_activity", help="every API read in the window, attributed or not"
    )
    p.add_argument("--since", type=instant_arg)
    p.add_argument("--until", type=instant_arg)
    p.add_argument("--incident")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_exfil)


def _load_sets(names: list[str]) -> list[hunt.IndicatorSet]:
    return [hunt.load_indicators(hunt.find_indicator_file(n)) for n in names]


def _progress(ctx: Context, quiet: bool, what: list[str] | None = None) -> forensics.ProgressFn:
    """Sources done of those chosen, with an ETA on a terminal; each item preserved, failed or unavailable a line."""
    chosen = list(what or forensics.SOURCES)
    bar = ctx.progress(quiet=quiet)
    bar.start("collect", len(chosen), "sources")
    return sources_progress(bar, chosen)


def _command(name: str, args: argparse.Namespace, since: datetime | None, what: list[str] | None) -> str:
    """The command line as the custody record keeps it (the org alias and range; never a secret)."""
    parts = [f"warroom {name}", *(args.ioc_files if name == "hunt" else [])]
    parts.append(f"--org {args.org}")
    if args.instance_url:
        parts.append(f"--instance-url {args.instance_url}")
    if since:
        parts.append(f"--since {format_instant(since)}")
    if what:
        parts.append(f"--what {','.join(what)}")
    return " ".join(parts)


def _run_collect(ctx: Context, args: argparse.Namespace) -> int:
    with (
        ctx.open_incident(args.incident) as incident,
        open_org(ctx, args.org, instance_url=args.instance_url, ca=args.ca) as org,
    ):
        result = forensics.collect(
            incident,
            org,
            ctx.actor,
            since=args.since,
            what=args.what,
            progress=_progress(ctx, args.json, args.what),
            command=_command("collect", args, args.since, args.what),
        )
    if args.json:
        ctx.print_json(result)
    else:
        for line in forensics.render_collect(result, ctx.clock.now()):
            ctx.print(line)
    # Not complete (partial, interrupted, cancelled): the collection error's exit code, 1.
    return 0 if result.status == "complete" else forensics.CollectError.exit_code


def _run_hunt(ctx: Context, args: argparse.Namespace) -> int:
    check_window(args.since, args.until)
    if (args.instance_url or args.ca) and not args.org:
        raise UsageError("--instance-url and --ca go with --org")
    sets = _load_sets(args.ioc_files)
    with ctx.open_incident(args.incident) as incident:
        if args.org:
            since = args.since or hunt.window_of(sets).start
            with open_org(ctx, args.org, instance_url=args.instance_url, ca=args.ca) as org:
                collected = forensics.collect(
                    incident,
                    org,
                    ctx.actor,
                    since=since,
                    progress=_progress(ctx, args.json),
                    command=_command("hunt", args, since, None),
                )
            if collected.status != "complete" and not args.json:
                ctx.error(f"collection {collected.status}: {collected.message}; hunting what is preserved")
        scanning = ctx.progress(quiet=True)
        scanning.start("hunt: preserved rows scanned", None, "records")
        result = hunt.hunt(
            incident, sets, since=args.since, until=args.until, leads=args.leads, progress=scanning.progress
        )
        if args.record:
            hunt.record_hunt(incident, result, sets, ctx.actor)
    if args.json:
        ctx.print_json(result)
        return 0
    for line in render_hunt(result):
        ctx.print(line)
    return 0


def _run_hunt_index(ctx: Context, args: argparse.Namespace) -> int:
    with ctx.open_incident(args.incident) as incident:
        status = hunt.refresh_index(incident, rebuild=args.rebuild)
    if args.json:
        ctx.print_json(dataclasses.asdict(status))
        return 0
    done = "rebuilt" if status.rebuilt else f"{status.indexed_now} new files indexed"
    ctx.print(f"analysis database {status.path}: {done}; {status.files} files, {status.rows} rows")
    ctx.print("derived from the evidence store (not evidence); open it with `sqlite-utils` or `datasette`")
    return 0


def render_hunt(result: hunt.HuntResult) -> list[str]:
    lines = [
        f"hunt {', '.join(result.indicator_sets)}: window {result.window}; searched {result.files_searched} files, "
        f"{result.rows_searched} rows: {len(result.hits)} hits"
        + (f", {result.recorded} newly recorded" if result.recorded is not None else "")
    ]
    if result.files_searched == 0:
        lines.append(
            "nothing is preserved in this incident yet: run `warroom collect --org ALIAS`, add exported "
            "logs with `warroom evidence add FILE`, or hunt with --org"
        )
    for h in result.hits:
        lines.append(
            f"{h.at or '-':<20}  {h.source:<27} {h.username or h.app or '-':<26} {h.ip or '-':<15}  {h.action}"
        )
        where = f"evidence {h.evidence_id} ({h.file}) line {h.line}" + (
            f", record {h.record_id}" if h.record_id else ""
        )
        lines.append(f"    {where}: {'; '.join(h.indicators + h.context)}")
    if result.leads:
        lines.append(f"leads (context indicators only, not findings): {len(result.leads)}")
        for h in result.leads:
            lines.append(
                f"    {h.at or '-'}  {h.source}  evidence {h.evidence_id} line {h.line}: {'; '.join(h.context)}"
            )
    return lines


def _run_exfil(ctx: Context, args: argparse.Namespace) -> int:
    check_window(args.since, args.until)
    sets = _load_sets(args.ioc_files) if args.ioc_files else None
    with ctx.open_incident(args.incident) as incident:
        taken = hunt.what_was_taken(incident, sets, all_activity=args.all_activity, since=args.since, until=args.until)
    rows, have_logs = taken.rows, taken.have_logs
    if args.json:
        ctx.print_json([r.model_dump(mode="json") for r in rows])
        return 0
    for line in render_exfil(rows, have_logs):
        ctx.print(line)
    return 0


def render_exfil(rows: list[hunt.ExfilRow], have_logs: bool = True) -> list[str]:
    if not rows and not have_logs:
        return [
            "no API logs are preserved (ApiEvent, BulkApiResultEventStore, or API, RestApi, BulkApi, BulkApi2 "
            "event log files), so row counts cannot be known from the evidence: they need Event Monitoring. "
            "Ask Salesforce for the Historical Event Logs Process, or run `warroom collect` if the org has "
            "them."
        ]
    if not rows:
        return ["no API reads attributed in the preserved logs"]
    width = max(10, *(len(r.actor) for r in rows))
    out = [
        f"{'USER (APP)':<{width}}  {'OBJECT':<16} {'ROWS':>9} {'QUERIES':>7}  {'FIRST SEEN':<20}  "
        f"{'LAST SEEN':<20}  SOURCE IPS"
    ]
    unknown: list[str] = []
    for r in rows:
        count = str(r.rows) + ("+?" if r.rows_unknown else "") if r.rows is not None else "unknown"
        out.append(
            f"{r.actor:<{width}}  {r.object[:16]:<16} {count:>9} {r.queries:>7}  {r.first_seen or '-':<20}  "
            f"{r.last_seen or '-':<20}  {', '.join(r.source_ips)}"
        )
        unknown += [f"  {r.actor} / {r.object}: {e}" for e in r.rows_unknown]
    out.append(
        f"total rows: {sum(r.rows or 0 for r in rows)} counted (COUNT() queries take none; a bulk job counts once)"
    )
    if unknown:
        out.append(f"rows unknown for {len(unknown)} event(s) Salesforce records without a row count:")
        out += unknown
    return out
