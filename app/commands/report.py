"""`warroom report` (the audit report) and `warroom export-population` (the entries an auditor samples from)."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from app.base.errors import UsageError
from app.composition.context import Context

NO_PDF_EXIT = 3  # --format pdf without a browser: the HTML was written instead


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="the audit report: timeline, controls, clocks, containment, evidence, journal root",
        description="Build the audit report from the incident's journal and print it (or write it to --out). "
        "The rendered bytes' SHA-256 is journaled as report.generated; the report carries the "
        "journal's size and Merkle root with a fresh verification, so it can itself be anchored.",
    )
    p.add_argument(
        "--format",
        choices=("md", "html", "json", "pdf", "stix", "misp"),
        default="md",
        help="pdf prints the HTML with a headless Chromium or Chrome on PATH (needs --out); without one it writes "
        "the HTML next to FILE instead and exits 3. stix (a STIX 2.1 bundle) and misp (a MISP event) export the "
        "indicators and observed activity, preserved as evidence and journaled as report.exported",
    )
    p.add_argument("--out", type=Path, metavar="FILE")
    p.add_argument(
        "--template",
        type=Path,
        metavar="FILE",
        help="the HTML/PDF layout: a Jinja2 template replacing the shipped one (docs/report.md lists its context; "
        "config.toml [report] template sets a workspace default)",
    )
    p.add_argument(
        "--paper", choices=("a4", "letter"), help="paper size for HTML/PDF printing (default: config.toml [report])"
    )
    p.add_argument("--browser", metavar="PATH", help="the Chromium or Chrome to print with (default: found on PATH)")
    p.add_argument("--incident")
    p.set_defaults(handler=_run_report)

    p = sub.add_parser(
        "export-population",
        help="journal entries as CSV for an auditor's sample, with the query that made it",
        description="Write the entries matching --kind/--prefix/--from/--to as CSV (seq, time, kind, actor, entry "
        "id, entry hash, data). The SQL, the count, the journal size and root and a verification "
        "result go to stderr, so the auditor can re-run the query and check completeness.",
    )
    p.add_argument("--kind", help="exact entry kind (e.g. action.result)")
    p.add_argument("--prefix", help="kind prefix (e.g. action.)")
    p.add_argument("--from", dest="since", metavar="ISO8601", help="recorded at or after")
    p.add_argument("--to", dest="until", metavar="ISO8601", help="recorded before")
    p.add_argument("--out", type=Path, metavar="FILE", help="CSV file (default: stdout)")
    p.add_argument("--incident")
    p.set_defaults(handler=_run_population)


def _run_report(ctx: Context, args: argparse.Namespace) -> int:
    from app import report

    if args.template is not None and args.format not in ("html", "pdf"):
        raise UsageError("--template sets the HTML/PDF layout; use it with --format html or pdf")
    if args.format in ("html", "pdf"):
        from app.report.layout import workspace_layout

        layout = workspace_layout(ctx.home)
        args.template = args.template or layout.template
        args.paper = args.paper or layout.paper
    if args.format in report.EXPORT_FORMATS:
        return _run_export(ctx, args)
    if args.format == "pdf" and args.out is None:
        raise UsageError("--format pdf needs --out FILE")
    if args.template is not None and not args.template.is_file():
        raise UsageError(f"{args.template}: no such template file")
    with ctx.open_incident(args.incident) as incident:
        rep, data, entry = report.generate(
            incident, ctx.actor, args.format, template=args.template, paper=args.paper or "a4", browser=args.browser
        )
    fell_back = entry.data["format"] != args.format
    if args.out is not None:
        out = args.out.with_suffix(".html") if fell_back else args.out
        report.write_output(out, data)
        if fell_back:
            ctx.stderr.write(f"no PDF: {entry.data['fallback']}. Wrote the HTML to {out} instead.\n")
            ctx.stderr.flush()
        ctx.print(
            f"report {out} ({entry.data['format']}, {len(data)} bytes, sha256 {entry.data['sha256']}); journal "
            f"{rep.journal.size} entries, root {rep.journal.short_root}, "
            + ("verified" if rep.journal.verified else "VERIFICATION FAILED")
            + f"; recorded as entry {entry.seq}"
        )
    else:
        ctx.print(data.decode("utf-8").rstrip("\n"))
    if not rep.journal.verified:
        return 1
    return NO_PDF_EXIT if fell_back else 0


def _run_export(ctx: Context, args: argparse.Namespace) -> int:
    from app import report

    with ctx.open_incident(args.incident) as incident:
        done = report.export_indicators(incident, ctx.actor, args.format)
    summary = (
        f"{args.format} export: {done.indicators} indicator(s), {done.hits} recorded hit(s); preserved as evidence "
        f"{done.evidence_id} (sha256 {done.sha256}); recorded as entry {done.entry.seq}"
    )
    if args.out is not None:
        report.write_output(args.out, done.data)
        ctx.print(f"wrote {args.out}; {summary}")
    else:
        ctx.print(done.data.decode("utf-8").rstrip("\n"))
        ctx.stderr.write(summary + "\n")
        ctx.stderr.flush()
    return 0


def _instant(text: str | None) -> str | None:
    if text is None:
        return None
    from app.base.clock import format_instant, parse_instant

    try:
        return format_instant(parse_instant(text))
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _run_population(ctx: Context, args: argparse.Namespace) -> int:
    from app import report

    if args.kind and args.prefix:
        raise UsageError("give --kind or --prefix, not both")
    buf = io.StringIO()
    with ctx.open_incident(args.incident) as incident:
        pop = report.export_population(
            incident, buf, kind=args.kind, prefix=args.prefix, since=_instant(args.since), until=_instant(args.until)
        )
    params = ", ".join(repr(p) for p in pop.params)
    summary = [
        f"rows: {pop.count}",
        f"query: {pop.sql}" + (f"  -- parameters: {params}" if params else ""),
        f"journal: {pop.tree_size} entries, root {pop.root}",
        f"verify: {'intact' if pop.verified else 'FAILED'}: {pop.verify_message}",
    ]
    if args.out is not None:
        report.write_output(args.out, buf.getvalue().encode("utf-8"))
        for line in [f"wrote {args.out}", *summary]:
            ctx.print(line)
    else:
        ctx.print(buf.getvalue().rstrip("\n"))
        from app.base.redaction import redact

        ctx.stderr.write(redact("\n".join(summary)) + "\n")
        ctx.stderr.flush()
    return 0 if pop.verified else 1
