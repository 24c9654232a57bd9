"""`warroom grant plan|approve|apply|list`: just-in-time integration access, a permission set for a stated time
with a reason and a named approver, through containment's plan, approval, intent, result and verification."""

from __future__ import annotations

import argparse
from datetime import timedelta

from app.base.errors import UsageError
from app.commands._args import instant_arg
from app.commands.contain import _ask_alias, _default_alias, _opener, _org_args, _print_plan, _report
from app.composition.context import Context

MAX_HOURS = 24 * 366  # an argument bound, not a Salesforce limit (the object reference states none)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("grant", help="just-in-time access: a permission set for a stated time, approved, verified")
    gsub = p.add_subparsers(dest="grant_command", metavar="SUBCOMMAND", required=True)

    q = gsub.add_parser("plan", help="plan a grant (journaled; nothing changes in the org)")
    _org_args(q, with_alias=True)
    q.add_argument("--user", required=True, metavar="USERNAME", help="the integration user to give access to")
    what = q.add_mutually_exclusive_group(required=True)
    what.add_argument("--permission-set", metavar="NAME", help="the permission set's API name")
    what.add_argument(
        "--permission-set-group", metavar="NAME", help="a permission set group's API name (DeveloperName) instead"
    )
    until = q.add_mutually_exclusive_group(required=True)
    until.add_argument("--hours", type=float, help="how long the access lasts")
    until.add_argument("--until", type=instant_arg, metavar="INSTANT", help="when it ends (ISO 8601 with a zone)")
    q.add_argument("--reason", required=True, help="why the integration needs this access now")
    q.add_argument("--approver", required=True, metavar="NAME", help="who approves it (not the person asking)")
    q.add_argument("--ticket", metavar="REF", help="the change ticket the grant answers to")
    q.add_argument("--incident")
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=_run_plan)

    q = gsub.add_parser("approve", help="approve a planned grant (only the approver it names)")
    q.add_argument(
        "action_id", metavar="ACTION_ID", help="the grant's action id shown by `warroom grant plan` and `grant list`"
    )
    q.add_argument("--confirm", metavar="ALIAS", help="the grant's org alias (asked for when left out)")
    q.add_argument("--incident")
    q.set_defaults(handler=_run_approve)

    q = gsub.add_parser("apply", help="apply an approved grant: the assignment is created with its ExpirationDate")
    q.add_argument(
        "action_id", metavar="ACTION_ID", help="the grant's action id shown by `warroom grant plan` and `grant list`"
    )
    q.add_argument("--confirm", metavar="ALIAS", help="the grant's org alias (asked for when left out)")
    _org_args(q, with_alias=False)
    q.add_argument("--incident")
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=_run_apply)

    q = gsub.add_parser("revoke", help="remove a grant's assignment before it expires (an undo of the grant)")
    q.add_argument(
        "action_id", metavar="ACTION_ID", help="the grant's action id shown by `warroom grant plan` and `grant list`"
    )
    q.add_argument("--confirm", metavar="ALIAS", help="the grant's org alias (asked for when left out)")
    q.add_argument("--reason", help="why the access ends early (a note in the revoke plan)")
    _org_args(q, with_alias=False)
    q.add_argument("--incident")
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=_run_revoke)

    q = gsub.add_parser("list", help="what is granted and until when; with --org, checked again by query")
    _org_args(q, with_alias=True)
    q.add_argument("--incident")
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=_run_list)


def _run_plan(ctx: Context, args: argparse.Namespace) -> int:
    from app.grants import plan_grant
    from app.salesforce.orgs import open_org

    alias = _default_alias(ctx, args.org)
    with ctx.open_incident(args.incident) as incident:
        if args.hours is not None:
            if not 0 < args.hours <= MAX_HOURS:
                raise UsageError(f"--hours {args.hours:g}: between 0 and {MAX_HOURS}")
            expires = incident.clock.now() + timedelta(hours=args.hours)
        else:
            expires = args.until
        org = open_org(ctx, alias, instance_url=args.instance_url, ca=args.ca)
        plan = plan_grant(
            org,
            incident,
            user=args.user,
            permission_set=args.permission_set,
            permission_set_group=args.permission_set_group,
            expires=expires,
            reason=args.reason,
            approver=args.approver,
            actor=ctx.actor,
            org_alias=alias,
            ticket=args.ticket,
        )
    if args.json:
        ctx.print_json(plan)
        return 0
    _print_plan(ctx, plan)
    ctx.print(
        f"nothing was changed; {args.approver} approves with `warroom --actor {args.approver} grant approve "
        f"{plan.plan_id} --confirm {alias}`, then `warroom grant apply {plan.plan_id} --confirm {alias}`"
    )
    return 0


def _run_approve(ctx: Context, args: argparse.Namespace) -> int:
    from app.grants import approve_grant
    from app.grants.applying import grant_plan

    with ctx.open_incident(args.incident) as incident:
        plan = grant_plan(incident, args.action_id)
        typed = _ask_alias(ctx, plan, args.confirm, "Approve")
        entry = approve_grant(incident, args.action_id, typed, ctx.actor)
    ctx.print(f"{plan.plan_id} approved by {ctx.actor} (entry {entry.seq}); apply with `warroom grant apply`")
    return 0


def _run_apply(ctx: Context, args: argparse.Namespace) -> int:
    from app.grants import apply_grant
    from app.grants.applying import grant_plan

    with ctx.open_incident(args.incident) as incident:
        plan = grant_plan(incident, args.action_id)
        if not args.json:
            _print_plan(ctx, plan)
        typed = _ask_alias(ctx, plan, args.confirm, "Apply")
        run = apply_grant(incident, _opener(ctx, plan, args), args.action_id, typed, ctx.actor)
    return _report(ctx, run.result, args.json)


def _run_revoke(ctx: Context, args: argparse.Namespace) -> int:
    from app.grants import revoke_grant
    from app.grants.applying import grant_plan

    with ctx.open_incident(args.incident) as incident:
        plan = grant_plan(incident, args.action_id)
        typed = _ask_alias(ctx, plan, args.confirm, "Revoke")
        result = revoke_grant(incident, _opener(ctx, plan, args), args.action_id, typed, ctx.actor, args.reason)
    return _report(ctx, result, args.json)


def _run_list(ctx: Context, args: argparse.Namespace) -> int:
    from app.grants import check_grants, list_grants
    from app.salesforce.orgs import open_org

    entry = None
    with ctx.open_incident(args.incident) as incident:
        if args.org:
            org = open_org(ctx, args.org, instance_url=args.instance_url, ca=args.ca)
            grants, entry = check_grants(incident, org, ctx.actor, args.org)
        else:
            grants = list_grants(incident)
    if args.json:
        ctx.print_json([{**g.model_dump(mode="json"), "state": g.state} for g in grants])
        return 0
    if not grants:
        ctx.print("No grants (`warroom grant plan`).")
    for g in grants:
        checked = f" (checked {g.check.checked_utc}, entry {g.check.seq})" if g.check else ""
        ctx.print(
            f"{g.action_id}  {'group ' if g.is_group else ''}{g.permission_set} to {g.assignee} on {g.org_alias} "
            f"until {g.expires_utc}: "
            f"{g.state}{checked}"
        )
        ctx.print(f"    reason: {g.reason}; asked by {g.requested_by}, approver {g.approver}; action {g.status}")
    if entry is not None:
        ctx.print(f"checked by query (entry {entry.seq}): {entry.data['queries'][0]}")
    elif not args.org and any(g.assignment_id for g in grants):
        ctx.print("not checked against the org: add --org ALIAS to query the assignments")
    return 0
