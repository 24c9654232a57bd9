"""`warroom simorg serve|check`: run the simulated Salesforce org in the foreground, or validate a seed.

The simulated org lets a team rehearse (demo, tabletop exercises, training) against the same API the console
uses on a real org, with faults that can be switched on mid-exercise (see `app/simorg/server.py`).
"""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

from app.composition.context import Context


def register(sub: argparse._SubParsersAction) -> None:
    p_sim = sub.add_parser("simorg", help="the simulated Salesforce org (demo, tests, tabletop exercises)")
    ssub = p_sim.add_subparsers(dest="simorg_command", metavar="SUBCOMMAND", required=True)

    p = ssub.add_parser("serve", help="serve a simulated org on 127.0.0.1 until Ctrl-C")
    p.add_argument("--seed", help="seed file (.toml/.json) or shipped seed name (default: chat-vendor-theft)")
    p.add_argument("--port", type=int, default=0, help="port to listen on (default 0: any free port)")
    p.add_argument("--cert-dir", type=Path, help="where to write the PEM certificate (default: a temporary dir)")
    p.add_argument("--verbose", action="store_true", help="log each request to stderr")
    p.set_defaults(handler=_run_serve)

    p = ssub.add_parser("check", help="validate a seed file and print what it would create")
    p.add_argument("seed", help="seed file (.toml/.json) or shipped seed name")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_check)


def _run_serve(ctx: Context, args: argparse.Namespace) -> int:
    from app.simorg import SimOrg

    if not 0 <= args.port <= 65535:
        from app.base.errors import UsageError

        raise UsageError(f"--port {args.port}: expected 0-65535")
    sim = SimOrg.create(args.seed, port=args.port, cert_dir=args.cert_dir, verbose=args.verbose)
    demo = sim.demo_login
    ctx.print(f"simulated org {sim.store.org.name!r} from {sim.seed.path}")
    ctx.print(f"url:         {sim.url}")
    ctx.print(f"certificate: {sim.ca_path}")
    if demo is not None:
        ctx.print(f"demo user:   {demo.username} (password and security token are in the seed file)")
    ctx.print(f"admin:       {sim.url}/__sim/info, POST {sim.url}/__sim/faults, POST {sim.url}/__sim/inject")
    ctx.print("Ctrl-C stops it.")
    try:
        sim.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        with contextlib.suppress(Exception):
            sim.stop()
    ctx.print("simulated org stopped")
    return 0


def _run_check(ctx: Context, args: argparse.Namespace) -> int:
    from app.base.clock import FrozenClock
    from app.simorg.build import build_store
    from app.simorg.seed import load_seed

    loaded = load_seed(args.seed)
    store = build_store(loaded, FrozenClock(loaded.seed.organization.now))
    counts = {name: len(table.rows) for name, table in sorted(store.tables.items()) if table.rows}
    if args.json:
        ctx.print_json({"seed": str(loaded.path), "org": store.org.name, "org_id": store.org.id, "rows": counts})
        return 0
    ctx.print(f"{loaded.path}: ok ({store.org.name}, org id {store.org.id})")
    for name, table in sorted(store.tables.items()):
        if table.rows:
            ctx.print(f"  {name:<28} {len(table.rows):>8}")
    return 0
