"""`warroom journal verify|head|show|export|checkpoint`."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from app.base.errors import UsageError, WarroomError
from app.composition.context import Context
from app.composition.verification import verify
from app.journal.chain import JournalUnreadable
from app.journal.merkle import short_root
from app.journal.verify import Anchor

if TYPE_CHECKING:
    from app.team.checking import TeamCheck


def _anchor(text: str) -> Anchor:
    try:
        return Anchor.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(sub: argparse._SubParsersAction) -> None:
    journal = sub.add_parser("journal", help="verify, inspect and export the evidence journal")
    jsub = journal.add_subparsers(dest="journal_command", metavar="SUBCOMMAND", required=True)

    p = jsub.add_parser("verify", help="check the hash chain, checkpoints, anchors and derived state")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--incident")
    src.add_argument("--db", type=Path, help="a journal file (e.g. an exported copy)")
    p.add_argument("--anchor", type=_anchor, action="append", default=[], metavar="SIZE:ROOTHEX")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_verify)

    p = jsub.add_parser("head", help="print size and root, and record that an anchor was taken")
    p.add_argument("--incident")
    p.add_argument("--method", default="printed by journal head", help="where the anchor was written down")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_head)

    p = jsub.add_parser("show", help="list journal entries")
    p.add_argument("--incident")
    p.add_argument("--kind", help="only entries of this kind (a trailing * matches a prefix)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_show)

    p = jsub.add_parser("export", help="consistent copy (SQLite backup API) plus its verification")
    p.add_argument("--incident")
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(handler=_run_export)

    p = jsub.add_parser("checkpoint", help="sign the current root (Ed25519, C2SP note) and journal it")
    p.add_argument("--incident")
    p.set_defaults(handler=_run_checkpoint)


def _run_verify(ctx: Context, args: argparse.Namespace) -> int:
    if args.db:
        path = args.db
    else:
        ws = ctx.workspace
        path = ws.journal_path(ws.resolve(args.incident))
    report = verify(path, args.anchor, ctx.get_keyring())
    team: TeamCheck | None = None
    if not args.db and (path.parent / "team").is_dir():
        from app.team.checking import verify_team

        with ctx.workspace.open(path.parent.name) as incident:
            team = verify_team(incident)
    if args.json:
        if team is None:
            ctx.print_json(report)
        else:
            ctx.print_json({**report.model_dump(mode="json"), "team": {**team.__dict__, "ok": team.ok}})
    else:
        ctx.print(report.message)
        ordered = sorted(report.problems, key=lambda p: (p.seq is None, p.seq or 0))
        for problem in ordered[1:]:  # the first is the message above
            where = f"seq {problem.seq}" if problem.seq is not None else "journal"
            ctx.print(f"  also at {where}: {problem.reason}: {problem.detail}")
        for warning in report.warnings:
            ctx.print(f"  warning at seq {warning.seq}: {warning.reason}: {warning.detail}")
        if report.ok:
            ctx.print(f"  anchor: {report.size}:{report.root}")
        if team is not None:
            ctx.print(
                f"team: {team.origins} other origin(s), {team.entries} entries in {team.segments} segment(s) checked "
                "with their keys" + ("" if team.ok else f"; TEAM INTEGRITY FAILURE ({len(team.problems)})")
            )
            for line in team.problems:
                ctx.print(f"  {line}")
            ctx.print(f"  merged view: {team.merged_size}:{team.merged_root}")
    if team is not None and not team.ok:
        return max(report.exit_code, 1)
    return report.exit_code


def _run_head(ctx: Context, args: argparse.Namespace) -> int:
    with ctx.open_incident(args.incident) as incident:
        head, entry = incident.anchor(ctx.actor, args.method)
        if args.json:
            ctx.print_json(
                {
                    "incident": incident.id,
                    "size": head.size,
                    "root": head.root_hex,
                    "short": head.short,
                    "anchor": head.anchor,
                    "recorded_seq": entry.seq,
                }
            )
        else:
            ctx.print(f"{incident.id}  size {head.size}  root {head.short}")
            ctx.print(f"full: {head.anchor}")
            ctx.print(f"(anchor recorded as entry {entry.seq})")
    return 0


def _run_show(ctx: Context, args: argparse.Namespace) -> int:
    kind, prefix = args.kind, None
    if kind and kind.endswith("*"):
        prefix = kind[:-1]
        kind = None
    from app.team.merged import origin_of

    with ctx.open_incident(args.incident) as incident:
        journal = incident.journal
        entries = journal.entries(kind=kind, prefix=prefix)
        team = (journal.path.parent / "team").is_dir()  # a team incident: each entry names its responder
        if args.json:
            rows = []
            for e in entries:
                row = {
                    "seq": e.seq,
                    "kind": e.kind,
                    "actor": e.actor,
                    "recorded_utc": e.recorded_utc,
                    "data": e.data,
                    "entry_hash": e.entry_hash,
                }
                found = origin_of(journal, e.seq) if team else None
                if found is not None:
                    row |= {"origin": found[0], "origin_id": found[1].origin, "origin_seq": found[1].origin_seq}
                rows.append(row)
            ctx.print_json(rows)
            return 0
        for e in entries:
            found = origin_of(journal, e.seq) if team else None
            origin = f"{found[0]:<10}  " if found else ""
            ctx.print(f"{e.seq:>6}  {e.recorded_utc}  {origin}{e.actor:<12}  {e.kind:<22}  {_summary(e.data)}")
    return 0


def _summary(data: dict) -> str:
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return text if len(text) <= 100 else text[:97] + "..."


def _run_export(ctx: Context, args: argparse.Namespace) -> int:
    out: Path = args.out
    if not str(out).strip():
        raise UsageError("--out needs a directory name")
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise UsageError(f"{out} is not a directory; export needs an empty or new directory")
    if out.exists() and any(out.iterdir()):
        raise UsageError(f"{out} is not empty; export needs an empty or new directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WarroomError(f"cannot create {out}: {exc.strerror or exc}") from None
    with ctx.open_incident(args.incident) as incident:
        target = out / "journal.db"
        try:
            incident.journal.backup_to(target)
        except OSError as exc:
            raise WarroomError(f"export to {out} failed: {exc}") from None
        head = incident.journal.head()
        evidence_dir = incident.dir / "evidence" / "sha256"
        if evidence_dir.is_dir():
            shutil.copytree(evidence_dir, out / "evidence" / "sha256")
    report = verify(target)
    if report.size < head.size:
        raise JournalUnreadable(f"export {target} holds {report.size} entries, the journal {head.size}")
    (out / "VERIFY.json").write_text(report.model_dump_json(indent=2) + "\n")
    (out / "ANCHOR.txt").write_text(
        f"incident {report.incident_id}\njournal {report.journal_id}\nsize {report.size}\n"
        f"root {report.root}\nshort {short_root(bytes.fromhex(report.root or '00' * 32))}\n"
        f"verify: warroom journal verify --db journal.db --anchor {report.size}:{report.root}\n"
    )
    ctx.print(f"exported {report.size} entries to {out}: {report.message}")
    return report.exit_code


def _run_checkpoint(ctx: Context, args: argparse.Namespace) -> int:
    with ctx.open_incident(args.incident) as incident:
        entry = incident.checkpoint(ctx.actor)
        ctx.print(
            f"checkpoint at size {entry.data['tree_size']} root {short_root(bytes.fromhex(entry.data['root']))}"
            f" signed (entry {entry.seq})"
        )
    return 0
