"""`warroom contain plan|approve|apply|status|undo|confirm|withdraw`: containment actions, previewed and journaled.

A plan is a dry run: it reads the org and says what would change. Nothing changes until `apply` gets the
org alias typed back; `confirm` closes a manual task (Setup steps with no API) with evidence.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from app.base.config import load_config
from app.base.errors import UsageError
from app.base.files import present
from app.base.progress import records
from app.composition.context import Context
from app.containment import execute as cm
from app.containment.run import run_plan
from app.salesforce.protocol import OrgFactory

LISTED_PER_OP = 20


def register(sub: argparse._SubParsersAction) -> None:
    contain = sub.add_parser("contain", help="containment actions: plan, approve, apply, undo, track manual tasks")
    csub = contain.add_subparsers(dest="contain_command", metavar="SUBCOMMAND", required=True)

    p = csub.add_parser("plan", help="list what an action would change, record by record (changes nothing)")
    p.add_argument("action", choices=cm.ACTIONS, metavar="ACTION", help=", ".join(cm.ACTIONS))
    p.add_argument("--app", metavar="NAME", help="the connected app (exact OauthToken AppName)")
    p.add_argument("--user", metavar="USERNAME", help="one user, by username")
    p.add_argument(
        "--integration-users",
        action="store_true",
        help="every integration user (licence, API-only profile or permission)",
    )
    p.add_argument(
        "--objects",
        metavar="OBJ,OBJ",
        default="",
        help="strip_permissions: objects known to have been exported (read on them is removed too), e.g. Contact,Case",
    )
    p.add_argument("--ticket", metavar="REF", help="the change or incident ticket this action answers to")
    p.add_argument(
        "--from-snapshot",
        action="store_true",
        help="plan from the incident's inventory snapshot (no network); apply later where the org is reachable",
    )
    _org_args(p, with_alias=True)
    p.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="also write the executable plan FILE and a runbook (FILE with .md) for a connected machine",
    )
    p.add_argument("--incident")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_plan)

    p = csub.add_parser("approve", help="approve a plan as someone other than its executor (typed org alias)")
    p.add_argument("plan", metavar="PLAN_FILE_OR_ID")
    p.add_argument("--confirm", metavar="ALIAS", help="the plan's org alias (asked for when left out)")
    p.add_argument("--incident")
    p.set_defaults(handler=_run_approve)

    p = csub.add_parser("apply", help="run a plan: typed alias, intent journaled first, per-record results")
    p.add_argument("plan", metavar="PLAN_FILE_OR_ID")
    p.add_argument("--confirm", metavar="ALIAS", help="the plan's org alias (asked for when left out)")
    _org_args(p, with_alias=False)
    p.add_argument("--incident")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_apply)

    p = csub.add_parser("status", help="every containment action with its counts, and the open manual tasks")
    p.add_argument("--incident")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_status)

    p = csub.add_parser("undo", help="reverse an action (unfreeze, reactivate, re-assign), journaled the same way")
    p.add_argument("action_id", metavar="ACTION_ID")
    p.add_argument("--confirm", metavar="ALIAS", help="the org alias (asked for when left out)")
    _org_args(p, with_alias=False)
    p.add_argument("--incident")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_undo)

    p = csub.add_parser("withdraw", help="withdraw a plan that will not be applied, with the reason (journaled)")
    p.add_argument("plan", metavar="PLAN")
    p.add_argument("--reason", required=True, metavar="TEXT", help="why it will not be applied")
    p.add_argument("--incident")
    p.set_defaults(handler=_run_withdraw)

    p = csub.add_parser("confirm", help="close a manual task with evidence (added with `warroom evidence add`)")
    p.add_argument("task_id", metavar="TASK_ID")
    p.add_argument("--evidence", required=True, metavar="EVIDENCE_ID")
    p.add_argument("--note")
    p.add_argument("--incident")
    p.set_defaults(handler=_run_confirm)


def _org_args(p: argparse.ArgumentParser, *, with_alias: bool) -> None:
    if with_alias:
        p.add_argument(
            "--org",
            metavar="ALIAS",
            help="credential alias, or `sim` for the simulated org (default: the only alias stored)",
        )
    p.add_argument("--instance-url", help="with the `sim` org: the simulated org's URL (https://127.0.0.1:PORT)")
    p.add_argument("--ca", type=Path, help="with the `sim` org: the PEM certificate to trust")


def _default_alias(ctx: Context, given: str | None) -> str:
    if given:
        return given
    aliases = sorted(load_config(ctx.home).orgs)
    if len(aliases) == 1:
        return aliases[0]
    known = f" (stored: {', '.join(aliases)})" if aliases else " (none stored: `warroom creds set ALIAS`)"
    raise UsageError(f"name the org with --org ALIAS{known}")


def _opener(ctx: Context, plan: cm.Plan | str, args: argparse.Namespace) -> OrgFactory:
    """Log in only when the run needs it, after the intent is journaled. A simulated-org plan records the org's
    URL and certificate, so --instance-url and --ca are needed only to reach a different one. Given an alias
    instead of a plan (a monitoring run), the org is reached with --instance-url and --ca as given."""
    from app.salesforce.orgs import open_org
    from app.salesforce.simlogin import SIM_ALIAS

    alias = plan if isinstance(plan, str) else plan.org_alias
    url, ca = args.instance_url, args.ca
    if alias == SIM_ALIAS and not isinstance(plan, str):
        url = url or plan.instance_url
        ca = ca or (Path(plan.basis["ca"]) if plan.basis.get("ca") else None)
        if not (url and ca):
            raise UsageError(
                "the plan is for the simulated org: add --instance-url https://127.0.0.1:PORT and --ca FILE "
                "(printed by `warroom simorg serve`)"
            )
    return lambda: open_org(ctx, alias, instance_url=url, ca=ca)


def _ask_alias(ctx: Context, plan: cm.Plan, given: str | None, verb: str) -> str:
    if given is not None:
        return given
    ctx.stderr.write(
        f"{verb} {plan.plan_id} ({plan.action}, {len(plan.steps)} record(s)) on {plan.org_alias}: "
        "type the org alias to confirm: "
    )
    ctx.stderr.flush()
    return ctx.stdin.readline().strip()


# --------------------------------------------------------------------------------------------------
# Handlers
# --------------------------------------------------------------------------------------------------


def _run_plan(ctx: Context, args: argparse.Namespace) -> int:
    alias = args.org if args.from_snapshot else _default_alias(ctx, args.org)
    with ctx.open_incident(args.incident) as incident:
        plan = cm.make_plan(
            ctx,
            incident,
            args.action,
            app=args.app,
            user=args.user,
            integration_users=args.integration_users,
            org_alias=alias,
            instance_url=args.instance_url,
            ca=args.ca,
            from_snapshot=args.from_snapshot,
            ticket=args.ticket,
            out=args.out,
            objects=[o for o in args.objects.split(",") if o.strip()],
        )
        written = cm.export_plan(plan, args.out) if args.out else None
    if args.json:
        ctx.print_json(plan)
        return 0
    _print_plan(ctx, plan)
    if written:
        ctx.print(
            f"wrote {written[0]} (plan) and {written[1]} (runbook); its sha256 is journaled, so "
            f"`warroom contain apply {written[0].name}` on a connected machine is tied to this plan"
        )
    ctx.print(
        f"nothing was changed (dry run); to run it: warroom contain apply {plan.plan_id} --confirm {plan.org_alias}"
    )
    return 0


def _print_plan(ctx: Context, plan: cm.Plan) -> None:
    where = ", ".join(x for x in (plan.instance_url, f"org {plan.org_id}" if plan.org_id else None) if x)
    ctx.print(f"plan {plan.plan_id}: {plan.action} on {plan.org_alias}" + (f" ({where})" if where else ""))
    ctx.print(f"sha256 {plan.sha256}" + (f"  ticket {plan.ticket}" if plan.ticket else ""))
    if plan.basis.get("kind") == "snapshot":
        ctx.print(
            f"before-state from inventory snapshot {plan.basis.get('evidence_id')} taken "
            f"{plan.basis.get('taken_utc')}: every record is read again before it is changed"
        )
    if not plan.steps:
        ctx.print("no record changes through the API")
    for op, n in plan.counts.items():
        ctx.print(f"  {cm.OP_LABELS.get(op, op)}: {n}")
        steps = [s for s in plan.steps if s.op == op]
        for s in steps[:LISTED_PER_OP]:
            ctx.print(f"    {s.n:>4}  {s.record}  {s.label}")
        if len(steps) > LISTED_PER_OP:
            ctx.print(f"    ... and {len(steps) - LISTED_PER_OP} more (--json or --out lists them all)")
    if plan.refused:
        ctx.print(f"not touched ({len(plan.refused)}):")
        for r in plan.refused:
            ctx.print(f"  {r.sobject} {r.label}: {r.reason}")
    if plan.manual_tasks:
        ctx.print("manual tasks (no API; tracked until `warroom contain confirm TASK_ID --evidence ID`):")
        for t in plan.manual_tasks:
            ctx.print(f"  {t.task_id}  {t.title}")
            for i, step in enumerate(t.steps, start=1):
                ctx.print(f"      {i}. {step}")
    for note in plan.notes:
        ctx.print(f"note: {note}")


def _run_approve(ctx: Context, args: argparse.Namespace) -> int:
    with ctx.open_incident(args.incident) as incident:
        plan = cm.load_plan(incident, args.plan)
        typed = _ask_alias(ctx, plan, args.confirm, "Approve")
        plan_file = Path(args.plan) if present(Path(args.plan), file=True) else None
        entry = cm.approve(incident, plan, typed, ctx.actor, plan_file=plan_file)
    ctx.print(
        f"{plan.plan_id} approved by {ctx.actor} (entry {entry.seq}); the executor runs "
        f"`warroom contain apply {plan.plan_id}`"
    )
    return 0


def _run_apply(ctx: Context, args: argparse.Namespace) -> int:
    with ctx.open_incident(args.incident) as incident:
        plan = cm.load_plan(incident, args.plan)
        plan_file = Path(args.plan) if present(Path(args.plan), file=True) else None
        if not args.json:
            _print_plan(ctx, plan)
        opener = _opener(ctx, plan, args) if plan.steps else None
        typed = _ask_alias(ctx, plan, args.confirm, "Apply")
        run = run_plan(
            incident, opener, plan, typed, ctx.actor, _progress(ctx, len(plan.steps), args.json), plan_file=plan_file
        )
    code = _report(ctx, run.result, args.json)
    if not args.json:
        for move in run.checklist:
            ctx.print(f"checklist {move.item}: {move.previous} -> {move.state} (entry {move.seq})")
        if run.checklist_error:
            ctx.print(f"warning: checklist not moved: {run.checklist_error}")
    return code


def _progress(ctx: Context, total: int, quiet: bool) -> cm.Progress:
    """Records done of `total`, with rate and ETA on a terminal; each record's result as a line up to 200."""
    bar = ctx.progress(quiet=quiet)
    bar.start("containment", total, "records")

    def show(i: int, n: int, rec: cm.RecordResult) -> str | None:
        extra = f": {rec.error}" if rec.error else ""
        return None if n > 200 else f"  [{i}/{n}] {rec.status:<7} {cm.OP_LABELS.get(rec.op, rec.op)} {rec.label}{extra}"

    return records(bar, show)


def _report(ctx: Context, result: cm.ActionResult, as_json: bool) -> int:
    code = 0 if result.status in ("done", "nothing_to_do") else 1
    if as_json:
        ctx.print_json(result)
        return code
    c = result.counts
    unverified = f", {c['unverified']} unverified" if c.get("unverified") else ""
    ctx.print(
        f"{result.action_id}: {result.status} ({c.get('ok', 0)} ok, {c.get('already', 0)} already so, "
        f"{c.get('failed', 0)} failed, {c.get('not_run', 0)} not run{unverified}), run {result.run}"
    )
    for rec in result.records:
        if rec.status in ("failed", "unverified"):
            ctx.print(f"  {rec.status:<10} {rec.n:>4}  {rec.record}  {rec.label}: {rec.code}: {rec.error}")
    if result.stopped:
        ctx.print(f"stopped: {result.stopped.reason}: {result.stopped.message}")
        ctx.print(f"run `warroom contain apply {result.action_id}` again to do only what is left")
    for line in _verification_lines(result.verification):
        ctx.print(line)
    if result.intent_seq:
        ctx.print(
            f"journal: intent {result.intent_seq}, result {result.result_seq}"
            + (f", checkpoint {result.checkpoint_seq}" if result.checkpoint_seq else "")
        )
    for task in result.open_tasks:
        ctx.print(f"open manual task {task}: close it with `warroom contain confirm {task} --evidence ID`")
    for w in result.warnings:
        ctx.print(f"warning: {w}")
    return code


def _verification_lines(verification: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for op, v in verification.items():
        if op == "error" or not isinstance(v, dict):
            continue
        if op == "revoke_token":
            now = "?" if v.get("matching_now") is None else v["matching_now"]
            out.append(
                f"verified by query: {now} token(s) match the plan's filter now; "
                f"{v['planned_still_present']} of the planned still present; {v['new_since_plan']} issued "
                "since the plan" + (" (plan again for those)" if v["new_since_plan"] else "")
            )
            if v.get("query"):
                out.append(f"  {v['query']}")
        else:
            out.append(
                f"verified by query: {cm.OP_LABELS.get(op, op)}: {v['checked'] - v['not_in_target_state']} of "
                f"{v['checked']} records in the target state"
            )
    return out


def _run_status(ctx: Context, args: argparse.Namespace) -> int:
    with ctx.open_incident(args.incident) as incident:
        items = cm.status(incident)
    if args.json:
        ctx.print_json([i.model_dump(mode="json") for i in items])
        return 0
    if not items:
        ctx.print("no containment actions yet (`warroom contain plan ACTION`)")
    for s in items:
        extra = f"  undoes {s.undoes}" if s.undoes else ""
        extra += f"  undone by {s.undone_by}" if s.undone_by else ""
        extra += f"  withdrawn by {s.withdrawn_by}: {s.withdrawn_reason}" if s.withdrawn_by else ""
        ctx.print(
            f"{s.action_id}  {s.action:<18} {s.org_alias:<10} {s.status:<8} {s.done}/{s.total} done, "
            f"{s.failed} failed, {s.not_run} not run  runs {s.runs}  by {s.created_by}{extra}"
        )
        if s.stopped and s.status != "done":
            ctx.print(f"    stopped: {s.stopped}")
        for f in s.failed_records[:5]:
            ctx.print(f"    failed #{f['n']} {f['record']}: {f.get('code')}")
        for t in s.tasks:
            who = f" by {t.confirmed_by} (evidence {t.evidence_id})" if t.status == "confirmed" else ""
            ctx.print(f"    task {t.task_id} {t.status}{who}: {t.title}")
    return 0


def _run_undo(ctx: Context, args: argparse.Namespace) -> int:
    with ctx.open_incident(args.incident) as incident:
        plan = cm.plan_undo(incident, args.action_id, ctx.actor)
        opener = _opener(ctx, plan, args)
        cm.journal_plan(incident, plan, ctx.actor, origin="undo")
        if not args.json:
            _print_plan(ctx, plan)
        typed = _ask_alias(ctx, plan, args.confirm, "Undo with")
        result = cm.apply_plan(incident, opener, plan, typed, ctx.actor, _progress(ctx, len(plan.steps), args.json))
    return _report(ctx, result, args.json)


def _run_confirm(ctx: Context, args: argparse.Namespace) -> int:
    with ctx.open_incident(args.incident) as incident:
        entry = cm.confirm_task(incident, args.task_id, args.evidence, ctx.actor, note=args.note)
    ctx.print(
        f"{entry.data['task_id']} confirmed by {ctx.actor} with evidence {entry.data['evidence_id']} "
        f"(entry {entry.seq})"
    )
    return 0


def _run_withdraw(ctx: Context, args: argparse.Namespace) -> int:
    from app.containment.withdraw import withdraw_plan

    with ctx.open_incident(args.incident) as incident:
        entry = withdraw_plan(incident, args.plan, args.reason, ctx.actor)
    ctx.print(f"{entry.data['action_id']} withdrawn by {ctx.actor} (entry {entry.seq}): {entry.data['reason']}")
    return 0
