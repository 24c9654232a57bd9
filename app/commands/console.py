"""`warroom demo` and `warroom open INCIDENT`: start the console (`warroom` alone opens the latest incident)."""

from __future__ import annotations

import argparse

from app.composition.context import Context


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="open the console on a fresh demo incident against a simulated org")
    p.set_defaults(handler=_run_demo)
    p = sub.add_parser("open", help="open the console on an incident (id, or a unique prefix or suffix of one)")
    p.add_argument("incident", metavar="INCIDENT")
    p.set_defaults(handler=_run_open)


def _run_demo(ctx: Context, args: argparse.Namespace) -> int:
    from app.cli import open_console

    return open_console(ctx, demo=True)


def _run_open(ctx: Context, args: argparse.Namespace) -> int:
    from app.cli import open_console

    return open_console(ctx, incident_id=args.incident)
