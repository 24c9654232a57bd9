"""`warroom checklist validate|status|set`: check a runbook file, see progress, record item state changes."""

from __future__ import annotations

import argparse
from pathlib import Path

from app import checklist as ck
from app.base.clock import parse_instant
from app.base.redaction import redact
from app.cli_conventions import made
from app.composition.context import Context


def register(sub: argparse._SubParsersAction) -> None:
    checklist = sub.add_parser("checklist", help="the response checklist: validate, status, set item state")
    csub = checklist.add_subparsers(dest="checklist_command", metavar="ACTION", required=True)

    p = csub.add_parser("validate", help="check a checklist file; FILE:LINE:COL for each problem")
    p.add_argument("file", nargs="?", type=Path, help="checklist TOML (default: the built-in checklist)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_validate)

    p = csub.add_parser("status", help="progress per phase, each item's state and due time")
    p.add_argument("--incident")
    p.add_argument("--checklist", type=Path, metavar="FILE", help="follow this checklist (recorded)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_status)

    p = csub.add_parser("set", help="record an item's new state in the journal")
    p.add_argument("item")
    p.add_argument("state", help="todo, in_progress, done, blocked or not_applicable (needs --note)")
    p.add_argument("--note", help="what was done, or the reason (required for not_applicable)")
    p.add_argument(
        "--evidence",
        action="append",
        default=[],
        metavar="EVIDENCE_ID",
        help="an evidence id from `warroom evidence add` (repeatable)",
    )
    p.add_argument("--incident")
    p.add_argument("--checklist", type=Path, metavar="FILE", help="follow this checklist (recorded)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_set)


def _run_validate(ctx: Context, args: argparse.Namespace) -> int:
    path: Path | None = args.file
    display = str(path) if path is not None else str(ck.builtin_checklist_path())
    checklist, problems = ck.check_checklist(path, display=display)
    if args.json:
        ctx.print_json(
            {
                "file": display,
                "ok": checklist is not None,
                "problems": [redact(str(p)) for p in problems],
                **({} if checklist is None else _summary(checklist)),
            }
        )
        return 0 if checklist is not None else 1
    if checklist is None:
        for problem in problems:
            ctx.stderr.write(redact(str(problem)) + "\n")
        ctx.stderr.flush()
        return 1
    layers = f" (extends {', '.join(s.path for s in checklist.sources[:-1])})" if len(checklist.sources) > 1 else ""
    triggers = sum(len(i.triggers) for i in checklist.items)
    ctx.print(
        f"{display}: ok: {checklist.title} {checklist.version}{layers}: {len(checklist.phases)} phases, "
        f"{len(checklist.items)} items, {checklist.control_count()} control mappings, "
        f"{triggers} containment triggers"
    )
    return 0


def _summary(checklist: ck.Checklist) -> dict[str, object]:
    return {
        "title": checklist.title,
        "version": checklist.version,
        "extends": [s.path for s in checklist.sources[:-1]],
        "phases": len(checklist.phases),
        "items": len(checklist.items),
        "control_mappings": checklist.control_count(),
        "containment_triggers": sum(len(i.triggers) for i in checklist.items),
    }


def _run_status(ctx: Context, args: argparse.Namespace) -> int:
    with ctx.open_incident(args.incident) as incident:
        checklist = ck.use_checklist(incident, ctx.actor, args.checklist)
        status = ck.checklist_status(incident, checklist, ctx.clock.now())
        title = incident.title
    if args.json:
        ctx.print_json(status)
        return 0
    for line in render_status(status, title):
        ctx.print(line)
    return 0


def _run_set(ctx: Context, args: argparse.Namespace) -> int:
    with ctx.open_incident(args.incident) as incident:
        change = ck.set_item_state(
            incident,
            args.item,
            args.state,
            ctx.actor,
            note=args.note,
            evidence=args.evidence,
            checklist_path=args.checklist,
        )
        if args.json:
            ctx.print_json(made(incident, change.seq, **change.model_dump(mode="json", exclude={"seq"})))
        else:
            ctx.print(f"{change.item}: {change.previous} -> {change.state} (entry {change.seq} in {incident.id})")
    return 0


def _short(instant: str) -> str:
    """Minute precision for the table; the JSON output keeps the exact instant."""
    return parse_instant(instant).strftime("%Y-%m-%d %H:%MZ")


_MARK = {
    ck.ItemState.TODO: "[ ]",
    ck.ItemState.IN_PROGRESS: "[~]",
    ck.ItemState.DONE: "[x]",
    ck.ItemState.BLOCKED: "[!]",
    ck.ItemState.NOT_APPLICABLE: "[-]",
}


def render_status(status: ck.ChecklistStatus, title: str = "") -> list[str]:
    """Plain-text status, one item a line; also what the report prints."""
    now = parse_instant(status.now_utc)
    source = "built-in" if status.checklist_path == ck.BUILTIN else status.checklist_path
    lines = [
        f"{status.incident_id or ''}  {title}".rstrip(),
        f"checklist: {status.checklist_title} {status.checklist_version} ({source}, sha256 "
        f"{status.checklist_sha256[:12]})",
        f"declared {_short(status.declared_utc)}   now {_short(status.now_utc)}",
    ]
    summary = f"overall {status.done}/{status.total - status.not_applicable} done ({status.percent}%)"
    if status.not_applicable:
        summary += f", {status.not_applicable} not applicable"
    summary += f", {len(status.overdue)} overdue" if status.overdue else ", none overdue"
    if status.next_due:
        nxt = next(i for i in status.items if i.id == status.next_due)
        left = ck.format_duration(parse_instant(nxt.due_utc) - now)
        summary += f"; next due: {nxt.id} at {_short(nxt.due_utc)} (in {left})"
    lines.append(summary)
    width = max((len(i.id) for i in status.items), default=10)
    by_phase = {p.id: [i for i in status.items if i.phase == p.id] for p in status.phases}
    for phase in status.phases:
        applicable = phase.total - phase.not_applicable
        extra = f", {phase.overdue} overdue" if phase.overdue else ""
        lines += ["", f"{phase.title}  {phase.done}/{applicable}{extra}"]
        for item in by_phase[phase.id]:
            flag = "  OVERDUE" if item.overdue else ""
            waiting = (
                f"  (waiting on {', '.join(item.waiting_on)})"
                if item.waiting_on and item.state in ck.OPEN_STATES
                else ""
            )
            lines.append(
                f"  {_MARK[item.state]} {item.id:<{width}}  {item.state.value:<14} due {_short(item.due_utc)}"
                f"{flag}  {item.title}{waiting}"
            )
    if status.orphans:
        lines += ["", "recorded states for items this checklist no longer has: " + ", ".join(status.orphans)]
    return lines
