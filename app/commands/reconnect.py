"""`warroom reconnect plan|approve|status`: bring a contained integration back once its preconditions hold
(secret rotated, least-privilege user, policies hardened, monitoring running), approved by someone else."""

from __future__ import annotations

import argparse

from app.composition.context import Context


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reconnect", help="bring a contained integration back: preconditions checked, approved by another"
    )
    rsub = p.add_subparsers(dest="reconnect_command", metavar="SUBCOMMAND", required=True)

    q = rsub.add_parser("plan", help="check the preconditions of reconnecting one integration (journaled)")
    q.add_argument("--app", required=True, metavar="NAME", help="the connected app")
    q.add_argument("--user", required=True, metavar="USERNAME", help="its new integration user")
    q.add_argument("--incident")
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=_run_plan)

    q = rsub.add_parser("approve", help="approve bringing it back (preconditions checked again; not the planner)")
    q.add_argument(
        "reconnect_id", metavar="RECONNECT_ID", help="the id shown by `warroom reconnect plan` and `reconnect status`"
    )
    q.add_argument("--note")
    q.add_argument("--incident")
    q.set_defaults(handler=_run_approve)

    q = rsub.add_parser("status", help="every reconnect plan, its preconditions and who approved it")
    q.add_argument("--incident")
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=_run_status)


def _run_plan(ctx: Context, args: argparse.Namespace) -> int:
    from app.reconnection import plan_reconnect

    with ctx.open_incident(args.incident) as incident:
        entry = plan_reconnect(incident, args.app, args.user, ctx.actor)
    d = entry.data
    if args.json:
        ctx.print_json({**d, "seq": entry.seq})
        return 0
    ctx.print(f"{d['reconnect_id']}: reconnect {d['app']} with {d['user']} (entry {entry.seq})")
    for p in d["preconditions"]:
        ctx.print(f"  {p['state']:<8} {p['name']}: {p['basis']}")
    ctx.print(
        f"ready: someone other than {ctx.actor} approves with `warroom reconnect approve {d['reconnect_id']}`"
        if d["ready"]
        else "not ready: every precondition must be met before it can be approved"
    )
    return 0


def _run_approve(ctx: Context, args: argparse.Namespace) -> int:
    from app.reconnection import approve_reconnect

    with ctx.open_incident(args.incident) as incident:
        entry = approve_reconnect(incident, args.reconnect_id, ctx.actor, args.note)
    ctx.print(
        f"{entry.data['reconnect_id']}: bringing {entry.data['app']} back approved by {ctx.actor} (entry {entry.seq})"
    )
    return 0


def _run_status(ctx: Context, args: argparse.Namespace) -> int:
    from app.reconnection import reconnects

    with ctx.open_incident(args.incident) as incident:
        rows = reconnects(incident)
    if args.json:
        ctx.print_json(rows)
        return 0
    if not rows:
        ctx.print("No reconnect plans (`warroom reconnect plan --app NAME --user USERNAME`).")
    for r in rows:
        who = f"approved by {r.approved_by} (entry {r.approved_seq})" if r.approved_by else "not approved"
        ctx.print(f"{r.reconnect_id}  {r.app} with {r.user}: {r.status}, planned by {r.planned_by}; {who}")
        for p in r.preconditions:
            ctx.print(f"    {p.state:<8} {p.name}: {p.basis}")
    return 0
