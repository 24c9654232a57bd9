"""`warroom demo` and `warroom open INCIDENT`: start the console (`warroom` alone opens the latest incident).

Without a terminal (or with --json) `warroom demo` opens no console: it creates the demo incident, reaches the
simulated org and prints what it made, which is how an installation is checked headless."""

from __future__ import annotations

import argparse
from dataclasses import asdict

from app.composition.context import Context


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="open the console on a fresh demo incident against a simulated org")
    p.add_argument(
        "--json",
        action="store_true",
        help="open no console: create the demo incident, log in to the simulated org, print what was made as JSON "
        "(the default without a terminal, then as text)",
    )
    p.set_defaults(handler=_run_demo)
    p = sub.add_parser("open", help="open the console on an incident (id, or a unique prefix or suffix of one)")
    p.add_argument("incident", metavar="INCIDENT")
    p.set_defaults(handler=_run_open)


def _run_demo(ctx: Context, args: argparse.Namespace) -> int:
    from app.cli import open_console

    if ctx.is_terminal() and not args.json:
        return open_console(ctx, demo=True)
    from app.exercise.demo import check_demo

    made = check_demo(ctx)
    if args.json:
        ctx.print_json(asdict(made))
    else:
        ctx.print(f"demo incident {made.incident} (no terminal, so no console): journal size {made.journal_size}")
        ctx.print(f"simulated org {made.org_alias} at {made.org_url}: logged in, {made.org_users} users")
        ctx.print(f"open it at a terminal with: warroom open {made.incident}")
    return 0


def _run_open(ctx: Context, args: argparse.Namespace) -> int:
    from app.cli import open_console

    return open_console(ctx, incident_id=args.incident)
