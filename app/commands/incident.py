"""`warroom new`, `list`, `note`: declaring incidents and writing free notes."""

from __future__ import annotations

import argparse

from app.base.errors import UsageError
from app.cli_conventions import made
from app.commands._args import instant_arg
from app.composition.context import Context


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("new", help="declare a new incident and print its id")
    p.add_argument("title")
    p.add_argument("--detected", type=instant_arg, help="when the leak was detected (ISO 8601)")
    p.add_argument("--aware", type=instant_arg, help="when the organisation became aware (ISO 8601)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_new)

    p = sub.add_parser("list", help="list incidents in the workspace")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_list)

    p = sub.add_parser("note", help="add a note to the incident's journal")
    p.add_argument("text")
    p.add_argument("--incident")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_note)


def _run_new(ctx: Context, args: argparse.Namespace) -> int:
    if args.detected and args.aware and args.aware < args.detected:
        raise UsageError("--aware is earlier than --detected; awareness cannot precede detection")
    with ctx.workspace.create(args.title, ctx.actor, detected=args.detected, aware=args.aware) as incident:
        head = incident.journal.head()
        if args.json:
            ctx.print_json(
                {
                    "id": incident.id,
                    "title": incident.title,
                    "journal": str(incident.journal.path),
                    "key_store": incident.journal.genesis["key_store"],
                    "size": head.size,
                    "root": head.root_hex,
                }
            )
        else:
            ctx.print(incident.id)
    return 0


def _run_list(ctx: Context, args: argparse.Namespace) -> int:
    items = ctx.workspace.list()
    if args.json:
        ctx.print_json([i.model_dump() for i in items])
        return 0
    if not items:
        ctx.print(f"no incidents in {ctx.home}")
    for item in items:
        ctx.print(f"{item.id}  {item.declared}  {item.title}{'  (demo)' if item.demo else ''}")
    return 0


def _run_note(ctx: Context, args: argparse.Namespace) -> int:
    with ctx.open_incident(args.incident) as incident:
        entry = incident.note(args.text, ctx.actor)
        if args.json:
            ctx.print_json(made(incident, entry.seq))
        else:
            ctx.print(f"noted as entry {entry.seq} in {incident.id}")
    return 0
