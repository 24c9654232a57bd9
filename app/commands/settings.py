"""`warroom settings show|set`: incident settings that change how controls work, journaled."""

from __future__ import annotations

import argparse

from app.composition.context import Context
from app.incident import settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("settings", help="incident settings (journaled), e.g. an approver other than the executor")
    ssub = p.add_subparsers(dest="settings_command", metavar="SUBCOMMAND", required=True)

    q = ssub.add_parser("show", help="every setting, its value and who set it")
    q.add_argument("--incident")
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=_run_show)

    q = ssub.add_parser("set", help="change a setting (journaled as settings.set)")
    q.add_argument("key", choices=sorted(settings.SETTINGS), metavar="KEY", help=", ".join(sorted(settings.SETTINGS)))
    q.add_argument("value")
    q.add_argument("--incident")
    q.set_defaults(handler=_run_set)


def _run_show(ctx: Context, args: argparse.Namespace) -> int:
    with ctx.open_incident(args.incident) as incident:
        values = settings.all_settings(incident.journal)
    if args.json:
        ctx.print_json(values)
        return 0
    for key, v in values.items():
        who = f"set by {v['set_by']} (entry {v['seq']})" if v["set_by"] else "default"
        ctx.print(f"{key} = {str(v['value']).lower()}  [{who}]  {v['help']}")
    return 0


def _run_set(ctx: Context, args: argparse.Namespace) -> int:
    with ctx.open_incident(args.incident) as incident:
        entry = settings.set_setting(incident, args.key, args.value, ctx.actor)
    ctx.print(
        f"{args.key} = {str(entry.data['value']).lower()} (was {str(entry.data['previous']).lower()}; "
        f"entry {entry.seq})"
    )
    return 0
