"""`warroom notify ...`: notices to regulators, individuals and others.

The `notify` group is built here once; each subcommand is added by its own `_add_<name>(nsub)` function listed
in SUBCOMMANDS, so further subcommands (drafting, for instance) slot in without touching the others.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from app import deadlines as dl
from app.base.errors import UsageError
from app.cli_conventions import made
from app.commands._args import instant_arg
from app.composition.context import Context


def _add_sent(nsub: argparse._SubParsersAction) -> None:
    p = nsub.add_parser(
        "sent",
        help="record that a notice went out, with the evidence that proves it",
        description="Record that the notice required by RULE_ID was sent at --at, proven by an evidence item "
        "already in the incident's store (`warroom evidence add`). Clocks chained to this notice "
        "(e.g. the California AG sample 15 days after the consumer notice) start from --at.",
    )
    p.add_argument("rule", metavar="RULE_ID")
    p.add_argument("--at", type=instant_arg, required=True, metavar="ISO8601", help="when the notice was sent")
    p.add_argument("--evidence", required=True, metavar="EVIDENCE_ID", help="evidence id (or sha256 prefix)")
    p.add_argument("--incident")
    p.add_argument("--json", action="store_true")
    p.add_argument("--rules", type=Path, metavar="FILE", help=argparse.SUPPRESS)
    p.set_defaults(handler=_run_sent)


def _add_draft(nsub: argparse._SubParsersAction) -> None:
    p = nsub.add_parser(
        "draft",
        help="draft the notice a rule requires, filled from the incident, with the gaps marked",
        description="Fill the notice template for RULE_ID (GDPR Art. 33/34, ICO, US state, SEC 8-K, NYDFS, ANPD, "
        "HIPAA, or a generic one) from the incident's facts, notice details, containment actions, "
        "checklist and exfiltration table. Missing elements appear as [[GAP: ...]] and are listed at "
        "the end. The draft is stored as evidence and journaled (notify.drafted) with its SHA-256.",
    )
    p.add_argument("rule", metavar="RULE_ID")
    p.add_argument("--out", type=Path, metavar="FILE", help="also write the draft to FILE")
    p.add_argument("--json", action="store_true")
    p.add_argument("--incident")
    p.add_argument("--rules", type=Path, metavar="FILE", help=argparse.SUPPRESS)
    p.set_defaults(handler=_run_draft)


def _add_detail(nsub: argparse._SubParsersAction) -> None:
    from app.notify import DETAIL_KEYS

    keys = "\n".join(f"  {k:<24} {v}" for k, v in DETAIL_KEYS.items())
    p = nsub.add_parser(
        "detail",
        help="record a fact a notice needs (organisation, DPO contact, consequences ...)",
        description="Set (journaled) or, without KEY, list the details notice drafts draw on. Workspace-wide "
        "defaults can go in config.toml under [notice].\n\nKeys:\n" + keys,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("key", nargs="?")
    p.add_argument("value", nargs="?", help="the text ('none' clears it)")
    p.add_argument("--incident")
    p.set_defaults(handler=_run_detail)


SUBCOMMANDS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (_add_sent, _add_draft, _add_detail)


def register(sub: argparse._SubParsersAction) -> None:
    notify = sub.add_parser("notify", help="notices to regulators, individuals and others")
    nsub = notify.add_subparsers(dest="notify_command", metavar="SUBCOMMAND", required=True)
    for add in SUBCOMMANDS:
        add(nsub)


def _run_sent(ctx: Context, args: argparse.Namespace) -> int:
    from app import notify

    rules = dl.load_rules(args.rules)
    with ctx.open_incident(args.incident) as incident:
        sent = notify.notice_sent(
            incident, args.rule, args.at, args.evidence, ctx.actor, now=ctx.clock.now(), rules=rules
        )
        if args.json:
            ctx.print_json(made(incident, sent.seq, **sent.model_dump(mode="json", exclude={"seq"})))
            return 0
    status = ""
    if not sent.applies:
        status = "; note: this rule does not apply to the incident as recorded"
    elif sent.late_after:
        status = f"; sent after its due time {sent.late_after}"
    ctx.print(f"{sent.rule}: notice sent {sent.at}, evidence {sent.evidence_id} (entry {sent.seq}){status}")
    for line in sent.moved:
        ctx.print(f"  {line}")
    return 0


def _run_draft(ctx: Context, args: argparse.Namespace) -> int:
    from app import notify
    from app.report import write_output

    rules = dl.load_rules(args.rules)
    with ctx.open_incident(args.incident) as incident:
        draft = notify.draft_notice(incident, args.rule, rules=rules, defaults=notify.workspace_defaults(ctx.home))
        draft = notify.record_draft(incident, draft, ctx.actor)
    if args.out is not None:
        write_output(args.out, draft.text.encode("utf-8"))
    if args.json:
        ctx.print_json(draft)
        return 0
    if args.out is None:
        ctx.print(draft.text.rstrip("\n"))
    gaps = f"{len(draft.gaps)} gap(s): " + ", ".join(g.field for g in draft.gaps) if draft.gaps else "no gaps"
    where = f"{args.out}, " if args.out is not None else ""
    ctx.print(
        f"{draft.rule}: draft ({draft.template}) {where}evidence {draft.evidence_id}, sha256 {draft.sha256}; "
        f"{gaps} (entry {draft.seq})"
    )
    return 0


def _run_detail(ctx: Context, args: argparse.Namespace) -> int:
    from app import notify

    with ctx.open_incident(args.incident) as incident:
        if args.key is None:
            current = notify.notice_details(incident, notify.workspace_defaults(ctx.home))
            for key, what in notify.DETAIL_KEYS.items():
                ctx.print(f"{key:<24} {current.get(key) or '-'}")
                if key not in current:
                    ctx.print(f"{'':<24} ({what})")
            return 0
        if args.value is None:
            raise UsageError(f"notify detail {args.key}: give the value ('none' clears it)")
        value = None if args.value.strip().lower() in ("none", "-", "") else args.value
        entry = notify.set_detail(incident, args.key, value, ctx.actor)
    if entry is None:
        ctx.print(f"{args.key} is unchanged; nothing recorded")
    else:
        ctx.print(f"{args.key} = {value or 'unset'} (entry {entry.seq})")
    return 0
