"""`warroom inventory pull|import|show|diff` and `warroom findings`: what the org exposes, and what to do.

`--org ALIAS` opens through app.orgs.open_org, shared with containment, forensics and the exercises.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any

from app import findings as findings_mod
from app import inventory as inv
from app.base.errors import NotFoundError, UsageError, WarroomError
from app.base.files import present, user_path
from app.base.progress import messages
from app.composition.context import Context
from app.findings.incident import record_findings
from app.findings.intake import Intake, import_and_record, pull_and_record
from app.findings.reposcan import scan_repo
from app.salesforce.orgs import open_org

RECORDS_SHOWN = 6
ID_SHOWN = frozenset({"OauthToken", "ApexLog"})  # records whose names repeat; the id tells them apart


def register(sub: argparse._SubParsersAction) -> None:
    inventory = sub.add_parser("inventory", help="snapshot the org's apps, tokens, users and permissions")
    isub = inventory.add_subparsers(dest="inventory_command", metavar="SUBCOMMAND", required=True)

    p = isub.add_parser("pull", help="read the inventory from an org and journal the snapshot")
    p.add_argument("--org", required=True, metavar="ALIAS", help="credential alias, or `sim` for the simulated org")
    p.add_argument("--out", type=Path, help="also write the snapshot to FILE (for `inventory import` offline)")
    p.add_argument("--instance-url", help="with --org sim: the simulated org's URL (https://127.0.0.1:PORT)")
    p.add_argument("--ca", type=Path, help="with --org sim: the PEM certificate to trust")
    p.add_argument("--incident")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_pull)

    p = isub.add_parser("import", help="journal a snapshot file or a directory of Data Loader CSV exports")
    p.add_argument("path", type=Path, metavar="FILE_OR_DIR")
    p.add_argument("--incident")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_import)

    p = isub.add_parser("show", help="the current snapshot: apps, tokens, integration users, notes")
    p.add_argument("--incident")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_show)

    p = isub.add_parser("diff", help="what changed between two snapshots (default: the last two)")
    p.add_argument("refs", nargs="*", metavar="A B", help="snapshot evidence ids or snapshot files")
    p.add_argument("--incident")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_diff)

    p = sub.add_parser("findings", help="failure patterns and compromise signals in the current snapshot")
    p.add_argument(
        "--scan-repo",
        type=Path,
        metavar="DIR",
        action="append",
        default=[],
        help="also scan DIR and its git history for hard-coded Salesforce credentials",
    )
    p.add_argument(
        "--indicators",
        action="append",
        default=[],
        metavar="IOC_FILE",
        help="indicator file (hunt format) beyond the shipped ones and the incident's recorded hunts",
    )
    p.add_argument(
        "--expected-ips",
        default="",
        metavar="CIDR[,CIDR]",
        help="ranges the integrations call from; token logins from elsewhere are flagged",
    )
    p.add_argument(
        "--objects",
        default="",
        metavar="OBJ,OBJ",
        help="objects known to have been exported: a compromised user's read on them counts as export access",
    )
    p.add_argument("--incident")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_findings)


# --------------------------------------------------------------------------------------------------
# Opening an org
# --------------------------------------------------------------------------------------------------


def _org_failure(exc: WarroomError) -> WarroomError:
    """Add the way forward to an org error: offline means import a snapshot instead."""
    from app.salesforce.client import Offline

    text = str(exc)
    if isinstance(exc, Offline) and "inventory import" not in text:
        text += " To work offline, import a snapshot written earlier: `warroom inventory import FILE_OR_DIR`."
    return WarroomError(text, exit_code=exc.exit_code)


# --------------------------------------------------------------------------------------------------
# Handlers
# --------------------------------------------------------------------------------------------------


def _progress(ctx: Context, quiet: bool) -> inv.Progress | None:
    """Each step of the pull as a line on stderr, and on a terminal a bar counting them (a pull has no known total)."""
    bar = ctx.progress(quiet=quiet)
    bar.start("inventory")
    return None if quiet else messages(bar)


def _incident_or_none(ctx: Context, incident_id: str | None) -> Any:
    if incident_id is not None:
        return ctx.open_incident(incident_id)
    try:
        return ctx.open_incident(None)
    except NotFoundError:
        return None


def _run_pull(ctx: Context, args: argparse.Namespace) -> int:
    from app.salesforce.client import OrgError

    incident = _incident_or_none(ctx, args.incident)
    if incident is None and args.out is None:
        raise NotFoundError(
            f"no incidents in {ctx.home} to record the snapshot in; create one with "
            "`warroom new TITLE`, or write it to a file with --out"
        )
    try:
        say = _progress(ctx, False)
        if say:
            say(f"inventory: logging in to {args.org}")
        try:
            intake = pull_and_record(
                incident,
                lambda: open_org(ctx, args.org, instance_url=args.instance_url, ca=args.ca),
                ctx.actor,
                alias=args.org,
                now=ctx.clock.now(),
                say=say,
                out=args.out,
            )
        except OrgError as exc:
            raise _org_failure(exc) from None
    finally:
        if incident is not None:
            incident.close()
    _report_saved(ctx, args, intake)
    return 0


def _report_saved(ctx: Context, args: argparse.Namespace, intake: Intake, imported: str | None = None) -> None:
    snap, saved = intake.snapshot, intake.saved
    integ = inv.integration_users(snap)
    if args.json:
        ctx.print_json(
            {
                "saved": saved.model_dump() if saved else None,
                "out": str(args.out) if getattr(args, "out", None) else None,
                "imported_from": imported,
                "taken_utc": snap.taken_utc,
                "source": snap.source.model_dump(exclude_none=True),
                "counts": snap.counts(),
                "integration_users": len(integ),
                "notes": [n.model_dump() for n in snap.notes],
                "findings": len(intake.findings) if saved else None,
            }
        )
        return
    counts = snap.counts()
    where = f"evidence {saved.evidence_id} (entry {saved.seq}, sha256:{saved.sha256})" if saved else "not journaled"
    ctx.print(f"inventory snapshot {snap.taken_utc}: {where}")
    if getattr(args, "out", None):
        ctx.print(f"written to {args.out}")
    ctx.print(
        f"  {counts['connected_apps']} connected apps, "
        f"{snap.count_text('oauth_tokens', 'OAuth tokens', 'OauthToken')}, "
        f"{counts['users']} users ({len(integ)} integration), {counts['permission_sets']} permission sets, "
        f"{counts['assignments']} assignments"
    )
    for note in snap.notes:
        ctx.print(f"  note: {note.object}: {note.message}")
    if saved:
        same = "" if intake.findings_recorded else " (the same set as recorded before)"
        ctx.print(f"  {len(intake.findings)} findings{same}: `warroom findings` lists them")


def _run_import(ctx: Context, args: argparse.Namespace) -> int:
    with ctx.open_incident(args.incident) as incident:
        intake = import_and_record(incident, args.path, ctx.actor)
    _report_saved(ctx, args, intake, imported=str(args.path))
    return 0


def _current(ctx: Context, incident_id: str | None) -> tuple[inv.Snapshot, dict[str, Any]]:
    with ctx.open_incident(incident_id) as incident:
        meta = inv.current_summary(incident)
        snap = inv.load_current(incident)
    if snap is None or meta is None:
        raise NotFoundError(
            "no inventory snapshot in this incident yet; run `warroom inventory pull --org ALIAS` "
            "or `warroom inventory import FILE_OR_DIR`"
        )
    return snap, meta


def _run_show(ctx: Context, args: argparse.Namespace) -> int:
    snap, meta = _current(ctx, args.incident)
    summary = inv.summarize(snap, evidence_id=meta["evidence_id"])
    if args.json:
        ctx.print_json(summary)
        return 0
    ctx.print(f"snapshot {meta['evidence_id']} taken {snap.taken_utc} from {_source_text(snap.source)}")
    counts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in summary.counts.items() if n)
    ctx.print(f"  {counts}")
    if snap.partial("OauthToken"):
        ctx.print("  OAuth tokens: PARTIAL (this login could not see every user's tokens; see the notes)")
    ctx.print("connected apps and tokens:")
    for app in summary.apps:
        flag = "" if app.admin_approved_only is not False else "  [all users may self-authorize]"
        installed = "" if app.installed is not False else "  [not installed]"
        ctx.print(
            f"  {app.name:<32} {app.tokens:>6} tokens  {app.users:>5} users  last used {app.last_used or '-'}"
            f"{flag}{installed}"
        )
    ctx.print("integration users:")
    for u in summary.integration_users:
        perms = ", ".join(u.high_risk_permissions) or "-"
        state = "" if u.active else " (inactive)"
        state += " (frozen)" if u.frozen else ""
        ctx.print(f"  {u.username}{state}: {u.reason}; {u.tokens} tokens; high-risk: {perms}")
    for note in snap.notes:
        ctx.print(f"note: {note.object}: {note.message}")
    return 0


def _source_text(source: inv.Source) -> str:
    if source.kind == "org":
        return f"org {source.org_alias or '?'} ({source.instance_url or source.org_id or '?'})"
    return f"{source.kind.replace('_', ' ')} {source.path or ''}".strip()


def _load_ref(incident: Any, ref: str) -> tuple[inv.Snapshot, str]:
    path = user_path(ref)
    if present(path):
        return inv.import_path(path), str(path)
    return inv.load_saved(incident, ref), ref


def _run_diff(ctx: Context, args: argparse.Namespace) -> int:
    if len(args.refs) not in (0, 2):
        raise UsageError("inventory diff takes two snapshots (A B), or none for the last two")
    with ctx.open_incident(args.incident) as incident:
        if args.refs:
            (a, la), (b, lb) = _load_ref(incident, args.refs[0]), _load_ref(incident, args.refs[1])
        else:
            hist = inv.history(incident)
            if len(hist) < 2:
                raise NotFoundError(f"inventory diff needs two snapshots; this incident has {len(hist)}")
            la, lb = hist[-2]["evidence_id"], hist[-1]["evidence_id"]
            a, b = inv.load_saved(incident, la), inv.load_saved(incident, lb)
    result = inv.diff(a, b, label_a=la, label_b=lb)
    if args.json:
        ctx.print_json(result)
        return 0
    ctx.print(f"{la} ({a.taken_utc}) -> {lb} ({b.taken_utc})")
    if not result.changes:
        ctx.print("  no changes")
    for c in result.changes:
        mark = {"added": "+", "removed": "-", "changed": "~"}[c.change]
        extra = ""
        if c.fields:
            extra = "  " + "; ".join(f"{k}: {v[0]} -> {v[1]}" for k, v in list(c.fields.items())[:4])
        ctx.print(f"  {mark} {c.collection}: {c.name}{extra}")
    return 0


def _record_text(r: findings_mod.RecordRef) -> str:
    if r.type == "File":
        return f"{r.id} ({r.name})"
    suffix = f" ({r.id})" if r.type in ID_SHOWN and r.name else ""
    return f"{r.type} {r.name or r.id}{suffix}"


def _run_findings(ctx: Context, args: argparse.Namespace) -> int:
    expected = [v for v in args.expected_ips.split(",") if v.strip()]
    scans = [scan_repo(d) for d in args.scan_repo]
    for d, scan in zip(args.scan_repo, scans, strict=True):
        if not Path(d).expanduser().is_dir():
            raise NotFoundError(f"--scan-repo {d}: no such directory")
        for note in scan.notes:
            ctx.error(note)
    with ctx.open_incident(args.incident) as incident:
        meta = inv.current_summary(incident)
        snap = inv.load_current(incident)
        if snap is None and not scans:
            raise NotFoundError(
                "no inventory snapshot in this incident yet; run `warroom inventory pull --org "
                "ALIAS` or `warroom inventory import FILE_OR_DIR` (or pass --scan-repo DIR)"
            )
        indicators = findings_mod.load_indicators(args.indicators, incident=incident, expected_ips=expected)
        repo_found = [f for scan in scans for f in findings_mod.evaluate_repo(scan)]
        found = record_findings(
            incident,
            snap,
            ctx.actor,
            evidence_id=meta["evidence_id"] if meta else None,
            indicators=indicators,
            exported=[o.strip() for o in args.objects.split(",") if o.strip()],
            extra=repo_found,
        )
    result = findings_mod.report(found, snapshot=meta, scans=scans)
    if args.json:
        ctx.print_json(result)
        return 0
    if not found:
        ctx.print("no findings")
    for f in found:
        ctx.print(f"[{'CLOSED' if f.status == 'closed' else f.severity.upper()}] {f.title}")
        ctx.print(
            f"    id {f.id}  pattern {f.pattern}  checklist {f.checklist_item or '-'}  "
            f"containment {f.containment or '-'}"
        )
        shown = ", ".join(_record_text(r) for r in f.records[:RECORDS_SHOWN])
        more = len(f.records) - RECORDS_SHOWN
        kinds = ", ".join(f"{n} {t}" for t, n in Counter(r.type for r in f.records).items())
        ctx.print(f"    records ({kinds}): {shown}" + (f", and {more} more (--json lists all)" if more > 0 else ""))
        for d in f.details[:6]:
            ctx.print(f"    - {d}")
        for d in f.still_open:
            ctx.print(f"    still open: {d}")
        for d in f.history[-3:]:
            ctx.print(f"    history: {d}")
        ctx.print(f"    why: {f.why}")
        ctx.print(f"    do: {f.action}")
    counts = result.counts
    closed = f"{result.closed} closed" if result.closed else ""
    ctx.print(", ".join([*(f"{n} {s}" for s, n in counts.items() if n), *([closed] if closed else [])]) or "")
    return 0
