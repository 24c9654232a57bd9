"""`warroom notify ...`: notices to regulators, individuals and others.

The `notify` group is built here once; each subcommand is added by its own `_add_<name>(nsub)` function listed
in SUBCOMMANDS, so further subcommands (drafting, for instance) slot in without touching the others.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from app import deadlines as dl
from app.clock import format_instant
from app.commands.deadlines import FUTURE_SKEW, instant_arg
from app.context import Context
from app.errors import UsageError


def _add_sent(nsub: argparse._SubParsersAction) -> None:
    p = nsub.add_parser(
        "sent", help="record that a notice went out, with the evidence that proves it",
        description="Record that the notice required by RULE_ID was sent at --at, proven by an evidence item "
                    "already in the incident's store (`warroom evidence add`). Clocks chained to this notice "
                    "(e.g. the California AG sample 15 days after the consumer notice) start from --at.",
    )
    p.add_argument("rule", metavar="RULE_ID")
    p.add_argument("--at", type=instant_arg, required=True, metavar="ISO8601", help="when the notice was sent")
    p.add_argument("--evidence", required=True, metavar="EVIDENCE_ID", help="evidence id (or sha256 prefix)")
    p.add_argument("--incident")
    p.add_argument("--rules", type=Path, metavar="FILE", help=argparse.SUPPRESS)
    p.set_defaults(handler=_run_sent)


SUBCOMMANDS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (_add_sent,)


def register(sub: argparse._SubParsersAction) -> None:
    notify = sub.add_parser("notify", help="notices to regulators, individuals and others")
    nsub = notify.add_subparsers(dest="notify_command", metavar="SUBCOMMAND", required=True)
    for add in SUBCOMMANDS:
        add(nsub)


def _run_sent(ctx: Context, args: argparse.Namespace) -> int:
    rules = dl.load_rules(args.rules)
    rule = dl.find_rule(rules, args.rule)
    now = ctx.clock.now()
    if args.at > now + FUTURE_SKEW:
        raise UsageError(f"--at {format_instant(args.at)} is in the future")
    with ctx.open_incident(args.incident) as incident:
        evidence = incident.resolve_evidence(args.evidence)
        before = {t.rule: t for t in dl.incident_timers(incident.journal, now, rules)}
        entry = incident.journal.append("notification.sent", {
            "rule": rule.id, "at": format_instant(args.at), "evidence_id": evidence["evidence_id"],
            "sha256": evidence["sha256"],
        }, ctx.actor)
        after = dl.incident_timers(incident.journal, now, rules)
    mine = next((t for t in after if t.rule == rule.id), None)
    status = ""
    if mine is None or mine.state == "not_applicable":
        status = "; note: this rule does not apply to the incident as recorded"
    elif mine.late:
        status = f"; sent after its due time {mine.due_utc}"
    ctx.print(f"{rule.id}: notice sent {format_instant(args.at)}, evidence {evidence['evidence_id']} "
              f"(entry {entry.seq}){status}")
    for t in after:
        old = before.get(t.rule)
        if t.rule != rule.id and old is not None and old.due_utc != t.due_utc and t.due_utc:
            ctx.print(f"  {t.rule}: now due {t.due_utc} ({t.basis})")
    return 0
