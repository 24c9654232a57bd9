"""Rendering a report: Markdown, self-contained HTML (nothing loaded from elsewhere, every value escaped) or JSON."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.base.errors import UsageError
from app.checklist import controls as catalogue
from app.hunt.exfil import rows_text
from app.report.contents import short_text
from app.report.model import FORMATS, Report
from app.report.recovery import recovery_tables

if TYPE_CHECKING:
    pass


# -- rendering --------------------------------------------------------------------------------------------------


def render(report: Report, fmt: str, *, template: Path | None = None, paper: str = "a4") -> str:
    """The report as text: JSON, Markdown or HTML (`template` and `paper` apply to HTML)."""
    if fmt == "json":
        return report.model_dump_json(indent=2) + "\n"
    if fmt == "md":
        return render_markdown(report)
    if fmt == "html":
        return render_html(report, template=template, paper=paper)
    raise UsageError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")


def _md_cell(value: Any) -> str:
    """A Markdown table cell: pipes escaped, one line, an instant as people read it (no microseconds)."""
    from app.report.layout import when

    text = when(value, "")
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(headers: list[str], rows: Iterable[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return out


def _sections(r: Report) -> Iterator[tuple[str, list[str], list[list[Any]], str]]:
    """(title, headers, rows, note) for each tabular section, shared by Markdown and HTML."""
    j = r.journal
    yield (
        "Journal integrity",
        ["Field", "Value"],
        [
            ["Journal", j.path],
            ["Journal id", j.journal_id],
            ["Entries (tree size)", j.size],
            ["Merkle root", j.root],
            ["Root (read aloud)", j.short_root],
            ["Anchor", j.anchor],
            ["Head entry hash", j.head_hash],
            ["Verification", ("PASSED: " if j.verified else "FAILED: ") + j.verify_message],
            ["Checkpoints checked", j.checkpoints_checked],
            ["Last checkpoint", _mark(j.last_checkpoint)],
            ["Last anchor", _mark(j.last_anchor)],
            ["Report sha256 (content)", r.report_sha256],
        ],
        "Re-run `warroom journal verify --anchor SIZE:ROOT` against the anchor above to check this report's base.",
    )
    if r.exercise:
        score = r.exercise.get("score") or {}
        rows = [[k, short_text(v, 200)] for k, v in score.items() if not isinstance(v, list | dict)]
        aborted = r.exercise.get("aborted")
        note = f"Scenario {r.exercise.get('scenario')}." + (f" ABORTED ({aborted}): not scored." if aborted else "")
        yield ("Exercise score", ["Measure", "Value"], rows, note)
    yield (
        "Notification clocks and notices",
        ["Rule", "Jurisdiction", "Recipient", "State", "Due (UTC)", "Notified (UTC)", "Evidence", "Late", "Draft"],
        [
            [
                c.rule,
                c.jurisdiction,
                c.recipient,
                c.state,
                c.due_utc or "",
                c.notified_utc or "",
                c.evidence_id or "",
                "" if c.late is None else ("yes" if c.late else "no"),
                (f"{c.draft.evidence_id} ({len(c.draft.gaps)} gaps)" if c.draft else ""),
            ]
            for c in r.clocks
        ],
        f"Clocks recomputed from the journal's facts, overrides and sent notices as of {r.as_of_utc}, each under the "
        "rule text in force when it started and with the holiday dates recorded when it started.",
    )
    yield (
        "Containment",
        [
            "Action id",
            "Org",
            "Plan",
            "Intent",
            "Result",
            "Action",
            "Targets",
            "Status",
            "Records",
            "Executor",
            "Approver",
            "Planned",
            "Executed",
            "Before digest",
            "After digest",
        ],
        [
            [
                a.action_id or "",
                a.org_alias or "",
                a.plan_seq or "",
                a.intent_seq or "",
                a.result_seq or "",
                a.action,
                a.target_summary,
                a.status,
                a.detail,
                a.actor,
                a.approver or "",
                a.decided_utc or "",
                a.executed_utc or "",
                a.pre_state_digest or "",
                a.post_state_digest or "",
            ]
            for a in r.containment
        ],
        "Each run: the plan (records and state before), the approval, the intent journaled before anything was "
        "sent, and the result with the state after re-read from the org.",
    )
    yield from recovery_tables(r)
    yield (
        "Control table (SOC 2 and ISO/IEC 27001:2022)",
        ["Framework", "Control", "Title", "Served", "Checklist items", "Journal entries", "Evidence"],
        [
            [
                catalogue.FRAMEWORK_SHORT.get(c.framework, c.framework),
                c.control,
                c.title,
                "yes" if c.served else "no",
                "; ".join(f"{i.id} ({i.state}{', ' + i.done_utc if i.done_utc else ''})" for i in c.items),
                ", ".join(str(s) for s in c.entries[:40]) + (" …" if len(c.entries) > 40 else ""),
                ", ".join(c.evidence),
            ]
            for c in r.controls
        ],
        "Each control lists the checklist items mapped to it, the journal entries (by seq) that record the work, "
        "and the evidence items attached.",
    )
    yield (
        "Evidence and custody",
        ["Evidence id", "Name", "SHA-256", "Bytes", "Acquired by", "Acquired (UTC)", "Entry", "Custody"],
        [
            [
                e.evidence_id,
                e.name or "",
                e.sha256,
                e.size,
                e.acquired_by,
                e.acquired_utc,
                e.seq,
                "; ".join(
                    f"{c.action} by {c.actor} {c.at} (entry {c.seq})"
                    + ("" if c.match is None else (" match" if c.match else " MISMATCH"))
                    for c in e.custody
                ),
            ]
            for e in r.evidence
        ],
        "",
    )
    yield (
        "What was read (exfiltration table)",
        ["Actor", "App", "User", "Object", "Rows", "Queries", "First seen", "Last seen", "Source IPs", "Evidence"],
        [
            [
                x.actor,
                x.app or "",
                x.username or "",
                x.object,
                rows_text(x.rows, x.rows_unknown),
                x.queries,
                x.first_seen or "",
                x.last_seen or "",
                ", ".join(x.source_ips),
                ", ".join(x.evidence),
            ]
            for x in r.exfiltration
        ],
        "From the preserved API logs matched by the recorded hunts.",
    )
    yield (
        "Open items",
        ["Kind", "Id", "Title", "Detail", "Overdue"],
        [[o.kind, o.id, o.title, o.detail, "yes" if o.overdue else ""] for o in r.open_items],
        "",
    )
    yield (
        "Timeline (every journal entry)",
        ["Seq", "Recorded (UTC)", "Actor", "Kind", "What", "Before", "After", "Entry hash"],
        [
            [t.seq, t.recorded_utc, _actor(t), t.kind, t.summary, t.before or "", t.after or "", t.entry_hash]
            for t in r.timeline
        ],
        "",
    )


def _actor(t: Any) -> str:
    """Who, and in a team incident on whose laptop's chain the entry is."""
    return f"{t.actor} (on {t.origin}'s laptop)" if t.origin else t.actor


def _mark(mark: dict[str, Any] | None) -> str:
    """A checkpoint or anchor as a sentence: where it is in the journal, the size and root it fixed, and how."""
    if not mark:
        return "none"
    text = f"entry {mark.get('seq')}: size {mark.get('tree_size')}, root {mark.get('root')}"
    return text + (f" ({mark['method']})" if mark.get("method") else "")


def _header_lines(r: Report) -> list[tuple[str, str]]:
    return [
        ("Incident", f"{r.incident_id}: {r.title}"),
        ("Declared", r.declared_utc or "not recorded"),
        ("State as of", r.as_of_utc + (" (end of the exercise)" if r.exercise else "")),
        ("Generated", f"{r.generated_utc} by {r.generated_by} ({r.software})"),
        ("Checklist", r.checklist or "none"),
        (
            "Journal",
            f"{r.journal.size} entries, root {r.journal.short_root}, "
            + ("verified" if r.journal.verified else "VERIFICATION FAILED"),
        ),
    ]


def render_markdown(r: Report) -> str:
    out = [f"# Incident report: {r.incident_id}", ""]
    if r.demo:
        out += ["**EXERCISE / DEMO INCIDENT: not a real incident.**", ""]
    out += [f"- **{k}:** {_md_cell(v)}" for k, v in _header_lines(r)]
    out.append("")
    for title, headers, rows, note in _sections(r):
        out += [f"## {title}", ""]
        if note:
            out += [note, ""]
        out += _md_table(headers, rows) if rows else ["None."]
        out.append("")
    return "\n".join(out)


def render_html(r: Report, *, template: Path | None = None, paper: str = "a4") -> str:
    """Self-contained HTML through the report template (`app.report.layout`): the shipped one or `template`."""
    from app.report.layout import render_report_html
    from app.report.series import Series

    series = r.series
    if series is None:
        raise UsageError("this report has no series for its pictures; build it with build_report")
    assert isinstance(series, Series)
    return render_report_html(r, series, template=template, paper=paper)
