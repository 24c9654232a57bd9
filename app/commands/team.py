"""`warroom team add|list|key|join|conflicts` and `warroom sync [REMOTE]`: one incident kept by several
responders' journals, exchanged through git (app/team)."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.composition.context import Context


def register(sub: argparse._SubParsersAction) -> None:
    team = sub.add_parser("team", help="the responders of a team incident and this laptop's key")
    tsub = team.add_subparsers(dest="team_command", metavar="SUBCOMMAND", required=True)

    p = tsub.add_parser("add", help="add a responder (commander only): name, role and Ed25519 public key, journaled")
    p.add_argument("name", help="the responder's name as it will show beside their entries")
    p.add_argument("--role", required=True, help="commander, admin, analyst, privacy or counsel")
    p.add_argument(
        "--key", help="their public key, 64 hex digits from their `warroom team key` (default: this laptop's)"
    )
    p.add_argument("--incident")
    p.set_defaults(handler=_run_add)

    p = tsub.add_parser("list", help="the responders, their keys and the origins received from each")
    p.add_argument("--incident")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_list)

    p = tsub.add_parser("key", help="this laptop's public key for the incident, to hand to the commander")
    p.add_argument("--incident")
    p.set_defaults(handler=_run_key)

    p = tsub.add_parser("join", help="start this laptop's own journal for an incident the commander declared")
    p.add_argument("incident_id", metavar="INCIDENT_ID", help="the incident id the commander gave you")
    p.add_argument("--commander-key", required=True, help="the commander's public key (their `warroom team key`)")
    p.add_argument("--remote", help="the incident's git remote (a bare repository path or a git URL)")
    p.set_defaults(handler=_run_join)

    p = tsub.add_parser("conflicts", help="concurrent changes to the same thing, and which one the merged view keeps")
    p.add_argument("--incident")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_conflicts)

    p = sub.add_parser(
        "sync", help="send this laptop's new journal entries to the team's git remote, fetch the others'"
    )
    p.add_argument(
        "remote",
        nargs="?",
        metavar="REMOTE",
        help="a bare git repository (path or URL); remembered for the incident (default: the one set before)",
    )
    p.add_argument(
        "--bundle-out",
        type=Path,
        metavar="FILE",
        help="also write every branch held here to a git bundle file for an offline hand-over",
    )
    p.add_argument(
        "--bundle-in",
        type=Path,
        metavar="FILE",
        help="import the segments in a git bundle file written by another responder's --bundle-out",
    )
    p.add_argument("--incident")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_sync)


def _run_add(ctx: Context, args: argparse.Namespace) -> int:
    from app.journal.signing import fingerprint
    from app.team.roster import add_responder

    with ctx.open_incident(args.incident) as incident:
        entry = add_responder(incident, args.name, args.role, args.key, ctx.actor)
        ctx.print(
            f"{entry.data['name']} added as {entry.data['role']} with key {fingerprint(entry.data['public_key'])} "
            f"(entry {entry.seq})"
        )
    return 0


def _run_list(ctx: Context, args: argparse.Namespace) -> int:
    from app.team.checking import origins_summary
    from app.team.roster import rejections

    with ctx.open_incident(args.incident) as incident:
        rows = origins_summary(incident)
        if args.json:
            ctx.print_json(rows)
            return 0
        for row in rows:
            here = "  (this laptop)" if row["this_laptop"] else ""
            ctx.print(
                f"{row['name'] or '?':<16} {row['role'] or 'not listed':<10} {row['fingerprint']}  "
                f"entries {row['entries']}{here}"
            )
        for r in rejections(incident.journal):
            who = r.get("responder") or "unlisted"
            ctx.print(
                f"TAMPERING reported {r['recorded_utc']}: origin {who} ({r['origin'][:8]}) seq {r['seq']}: "
                f"{r['reason']}"
            )
    return 0


def _run_key(ctx: Context, args: argparse.Namespace) -> int:
    from app.journal.signing import fingerprint
    from app.team.roster import own_key

    with ctx.open_incident(args.incident) as incident:
        key = own_key(incident.journal)
        ctx.print(key)
        ctx.error(f"fingerprint {fingerprint(key)} (read it back to whoever adds you)")
    return 0


def _run_join(ctx: Context, args: argparse.Namespace) -> int:
    from app.journal.signing import fingerprint
    from app.team.roster import check_public_key, own_key

    commander = check_public_key(args.commander_key)
    incident = ctx.workspace.create(
        f"{args.incident_id.strip().upper()} (joined)",
        ctx.actor,
        join=(args.incident_id.strip().upper(), {"commander_key": commander}),
    )
    with incident:
        if args.remote:
            from app.team.roster import REMOTE

            incident.journal.append(REMOTE, {"url": args.remote}, ctx.actor)
        key = own_key(incident.journal)
        ctx.print(f"joined {incident.id} under commander key {fingerprint(commander)}")
        ctx.print(f"this laptop's key: {key}")
        ctx.print(f"the commander runs: warroom team add NAME --role ROLE --key {key}")
    return 0


def _run_conflicts(ctx: Context, args: argparse.Namespace) -> int:
    from app.team.checking import conflict_rows

    with ctx.open_incident(args.incident) as incident:
        rows = conflict_rows(incident.journal)
        if args.json:
            ctx.print_json(rows)
            return 0
        if not rows:
            ctx.print("no conflicting changes")
        for row in rows:
            ctx.print(
                f"{row['ns']} {row['key']}: kept {row['winner']['value']!r} from {row['winner']['responder']} "
                f"({row['winner']['recorded_utc']}) over {row['loser']['value']!r} from {row['loser']['responder']} "
                f"({row['loser']['recorded_utc']})"
            )
    return 0


def _run_sync(ctx: Context, args: argparse.Namespace) -> int:
    from app.team.sync import sync

    with ctx.open_incident(args.incident) as incident:
        report = sync(incident, ctx.actor, remote=args.remote, bundle_in=args.bundle_in, bundle_out=args.bundle_out)
        if args.json:
            ctx.print_json(report.model_dump())
        else:
            sent = f"sent seq {report.exported[0]}..{report.exported[1]}" if report.exported else "nothing new to send"
            got = sum(report.received.values())
            ctx.print(f"{incident.id}: {sent}; received {got} entries from {len(report.received)} origin(s)")
            if report.pushed_to:
                ctx.print(f"pushed to {report.pushed_to}")
            if report.bundle_out:
                ctx.print(f"bundle written: {report.bundle_out}")
            for r in report.rejected:
                ctx.print(r.line())
    return 1 if report.rejected else 0
