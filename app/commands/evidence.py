"""`warroom evidence add|list|custody|verify`: the evidence store and its chain of custody."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from app.base.progress import hashing
from app.base.text import printable
from app.cli_conventions import made
from app.composition.context import Context
from app.incident.core import CUSTODY_ACTIONS


def register(sub: argparse._SubParsersAction) -> None:
    evidence = sub.add_parser("evidence", help="add evidence files and record custody")
    esub = evidence.add_subparsers(dest="evidence_command", metavar="SUBCOMMAND", required=True)

    p = esub.add_parser("add", help="stream a file into the evidence store and journal its hash")
    p.add_argument("file", type=Path)
    p.add_argument("--note")
    p.add_argument("--incident")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_add)

    p = esub.add_parser("list", help="evidence items with hashes and custody events")
    p.add_argument("--incident")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_list)

    p = esub.add_parser("custody", help="record a custody event (verified/accessed re-hash the file)")
    p.add_argument("evidence_id")
    p.add_argument("action", choices=CUSTODY_ACTIONS)
    p.add_argument("--to", dest="to_party")
    p.add_argument("--purpose")
    p.add_argument("--note")
    p.add_argument("--incident")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_custody)

    p = esub.add_parser("verify", help="re-hash every stored file and record the result")
    p.add_argument("--incident")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_verify)


def _run_add(ctx: Context, args: argparse.Namespace) -> int:
    with ctx.open_incident(args.incident) as incident:
        hashed = hashing(ctx.progress(quiet=True), f"hashing {args.file.name}")
        rec = incident.add_evidence(args.file, ctx.actor, note=args.note, progress=hashed)
        if args.json:
            ctx.print_json(made(incident, rec.seq, **asdict(rec)))
        else:
            ctx.print(f"{rec.evidence_id}  sha256:{rec.sha256}  {rec.size} bytes  (entry {rec.seq})")
    return 0


def _run_list(ctx: Context, args: argparse.Namespace) -> int:
    with ctx.open_incident(args.incident) as incident:
        items = incident.journal.state("evidence")
    if args.json:
        ctx.print_json([{"evidence_id": k, **v} for k, v in items.items()])
        return 0
    for key, item in sorted(items.items(), key=lambda kv: kv[1]["seq"]):
        custody = ", ".join(c["action"] for c in item.get("custody", [])) or "-"
        ctx.print(f"{key}  {item['size']:>12}  {printable(item.get('name') or '')}  custody: {custody}")
    return 0


def _run_custody(ctx: Context, args: argparse.Namespace) -> int:
    with ctx.open_incident(args.incident) as incident:
        entry = incident.custody(
            args.evidence_id,
            args.action,
            ctx.actor,
            to_party=args.to_party,
            purpose=args.purpose,
            note=args.note,
            progress=_rehashing(ctx, args.evidence_id),
        )
        result = made(incident, entry.seq, evidence_id=args.evidence_id, action=args.action)
    match = entry.data.get("match")
    if args.json:
        ctx.print_json({**result, "match": match})
        return 0 if match in (None, True) else 1
    ctx.print(
        f"custody {args.action} recorded (entry {entry.seq})"
        + ("" if match is None else f"; re-hash {'matches' if match else 'DOES NOT MATCH'}")
    )
    return 0 if match in (None, True) else 1


def _run_verify(ctx: Context, args: argparse.Namespace) -> int:
    bad = 0
    checked = []
    with ctx.open_incident(args.incident) as incident:
        for key in incident.journal.state("evidence"):
            entry = incident.custody(key, "verified", ctx.actor, progress=_rehashing(ctx, key))
            ok = entry.data["match"]
            bad += not ok
            checked.append(made(incident, entry.seq, evidence_id=key, match=ok))
            if not args.json:
                ctx.print(f"{key}  {'ok' if ok else 'MISMATCH'}")
    if args.json:
        ctx.print_json({"incident": incident.id, "checked": len(checked), "mismatches": bad, "items": checked})
    return 1 if bad else 0


def _rehashing(ctx: Context, evidence_ref: str) -> Callable[[int, int], None]:
    """Bytes re-hashed of the stored file, with rate and ETA, when stderr is a terminal (for the custody events
    that re-hash; the others show nothing)."""
    return hashing(ctx.progress(quiet=True), f"re-hashing {evidence_ref}")
