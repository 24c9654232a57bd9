"""`warroom harden plan|check`: hardening a connected app, Transaction Security and debug logs as planned manual
tasks (applied and confirmed with `warroom contain apply` and `contain confirm`), checked again by query."""

from __future__ import annotations

import argparse

from app.commands.contain import _default_alias, _org_args, _print_plan
from app.composition.context import Context


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "harden", help="harden a connected app, Transaction Security and debug logs as tasks, checked by query"
    )
    hsub = p.add_subparsers(dest="harden_command", metavar="SUBCOMMAND", required=True)

    q = hsub.add_parser("plan", help="plan the hardening tasks of a connected app (journaled)")
    q.add_argument("--app", required=True, metavar="NAME", help="the connected app")
    q.add_argument("--offline", action="store_true", help="plan without reading the org (trace flags not listed)")
    q.add_argument(
        "--full-name",
        metavar="API_NAME",
        help="the app's ConnectedApp API name for the Metadata API (default: its name with '_' for spaces)",
    )
    q.add_argument(
        "--refresh-days",
        type=int,
        default=1,
        metavar="N",
        help="refresh tokens expire after N days (deployed as the app's refresh token policy; default 1)",
    )
    _org_args(q, with_alias=True)
    q.add_argument("--incident")
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=_run_plan)

    q = hsub.add_parser("check", help="read the app's policies and the trace flags back; journal what was found")
    q.add_argument("--app", required=True, metavar="NAME", help="the connected app")
    q.add_argument("--full-name", metavar="API_NAME", help="the app's ConnectedApp API name (as for plan)")
    _org_args(q, with_alias=True)
    q.add_argument("--incident")
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=_run_check)


def _run_plan(ctx: Context, args: argparse.Namespace) -> int:
    from app.hardening import plan_hardening
    from app.salesforce.orgs import open_org

    alias = _default_alias(ctx, args.org)
    with ctx.open_incident(args.incident) as incident:
        org = None if args.offline else open_org(ctx, alias, instance_url=args.instance_url, ca=args.ca)
        plan = plan_hardening(
            org, incident, args.app, ctx.actor, alias, full_name=args.full_name, refresh_days=args.refresh_days
        )
    if args.json:
        ctx.print_json(plan)
        return 0
    _print_plan(ctx, plan)
    ctx.print(
        f"next: `warroom contain apply {plan.plan_id} --confirm {alias}` deploys the steps (if any) and opens the "
        "tasks; close each with "
        "`warroom contain confirm TASK_ID --evidence ID`; `warroom harden check` verifies by query"
    )
    return 0


def _run_check(ctx: Context, args: argparse.Namespace) -> int:
    from app.hardening import CHECKS, check_detail, check_hardening
    from app.salesforce.orgs import open_org

    alias = _default_alias(ctx, args.org)
    with ctx.open_incident(args.incident) as incident:
        org = open_org(ctx, alias, instance_url=args.instance_url, ca=args.ca)
        entry = check_hardening(incident, org, args.app, ctx.actor, alias, full_name=args.full_name)
    d = entry.data
    if args.json:
        ctx.print_json({**d, "seq": entry.seq})
        return 0
    for name in CHECKS:
        r = d[name]
        detail = check_detail(r)
        ctx.print(f"{r['state']:<8} {name}" + (f": {detail}" if detail else ""))
        ctx.print(f"         {r.get('query') or r.get('call')}")
    ctx.print(f"journaled as entry {entry.seq}")
    return 0 if d["passed"] else 1
