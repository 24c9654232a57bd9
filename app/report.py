"""The audit report: one model built from the journal alone, rendered as Markdown, self-contained HTML or JSON.

An auditor samples from it: every entry with who, when and what (before/after where the entry carries them),
each SOC 2 and ISO 27001 control with the checklist items, actions and evidence that served it, the
notification clocks and when each notice went, containment, evidence with hashes and custody, what is still
open, and the journal's size and Merkle root with a fresh verification, so the report itself can be anchored.
The report's own hash (`report_sha256`) covers the canonical JSON of everything else in it; the bytes of the
rendered file are hashed again when `report.generated` is journaled. `export_population` gives the population
an auditor samples from as CSV, with the SQL that produced it.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import rfc8785
from pydantic import BaseModel

from app import __version__
from app import controls as catalogue
from app.clock import format_instant, parse_instant
from app.errors import UsageError, WarroomError

if TYPE_CHECKING:
    from app.incident import Incident
    from app.journal import Entry

FORMAT = "warroom.report"
FORMAT_VERSION = 1
REPORT_KIND = "report.generated"
FORMATS = ("md", "html", "json")
CONTROL_FRAMEWORKS = ("soc2", "iso27001")
SUMMARY_CHARS = 240


# -- model ----------------------------------------------------------------------------------------------------


class TimelineEntry(BaseModel):
    seq: int
    recorded_utc: str
    actor: str
    kind: str
    summary: str
    before: str | None = None
    after: str | None = None
    entry_hash: str


class ControlItem(BaseModel):
    id: str
    title: str
    state: str
    done_utc: str | None = None
    evidence: list[str] = []


class ControlRow(BaseModel):
    framework: str
    control: str
    title: str
    served: bool
    items: list[ControlItem]
    entries: list[int]  # journal seqs of the actions and state changes that served it
    evidence: list[str]


class DraftRef(BaseModel):
    seq: int
    at: str
    evidence_id: str
    sha256: str
    gaps: list[str]


class ClockRow(BaseModel):
    rule: str
    jurisdiction: str
    recipient: str
    citation: str
    state: str
    start_utc: str | None = None
    due_utc: str | None = None
    notified_utc: str | None = None
    evidence_id: str | None = None
    late: bool | None = None
    reason: str
    draft: DraftRef | None = None


class ContainmentRow(BaseModel):
    action_id: str | None = None
    org_alias: str | None = None
    plan_seq: int | None = None
    intent_seq: int | None = None
    result_seq: int | None = None
    action: str
    status: str
    actor: str
    approver: str | None = None
    ticket: str | None = None
    decided_utc: str | None = None
    executed_utc: str | None = None
    target_summary: str = ""
    pre_state_digest: str | None = None
    post_state_digest: str | None = None
    detail: str = ""


class CustodyRow(BaseModel):
    seq: int
    at: str
    actor: str
    action: str
    to_party: str | None = None
    match: bool | None = None


class EvidenceRow(BaseModel):
    evidence_id: str
    sha256: str
    size: int
    name: str | None = None
    note: str | None = None
    acquired_by: str
    acquired_utc: str
    seq: int
    source: str = ""
    custody: list[CustodyRow] = []


class ExfilRowOut(BaseModel):
    actor: str
    app: str | None = None
    username: str | None = None
    object: str
    rows: int
    queries: int
    first_seen: str | None = None
    last_seen: str | None = None
    source_ips: list[str] = []
    evidence: list[str] = []


class OpenItem(BaseModel):
    kind: Literal["checklist", "clock", "alert", "draft"]
    id: str
    title: str
    detail: str = ""
    overdue: bool = False


class JournalSummary(BaseModel):
    path: str
    journal_id: str
    size: int
    root: str
    short_root: str
    head_hash: str
    anchor: str  # SIZE:ROOT, to read aloud or write down
    verified: bool
    verify_message: str
    checkpoints_checked: int = 0
    last_checkpoint: dict[str, Any] | None = None
    last_anchor: dict[str, Any] | None = None


class Report(BaseModel):
    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    incident_id: str
    title: str
    demo: bool
    generated_utc: str
    generated_by: str
    software: str
    declared_utc: str | None = None
    as_of_utc: str  # clocks, checklist and open items are evaluated at this time
    checklist: str | None = None
    journal: JournalSummary
    timeline: list[TimelineEntry]
    controls: list[ControlRow]
    clocks: list[ClockRow]
    containment: list[ContainmentRow]
    evidence: list[EvidenceRow]
    exfiltration: list[ExfilRowOut]
    open_items: list[OpenItem]
    exercise: dict[str, Any] | None = None
    # SHA-256 of the canonical JSON (RFC 8785) of this report with this field empty.
    report_sha256: str = ""

    def content_hash(self) -> str:
        doc = self.model_dump(mode="json")
        doc["report_sha256"] = ""
        return hashlib.sha256(rfc8785.dumps(doc)).hexdigest()


# -- reading the journal ----------------------------------------------------------------------------------------


def _short(value: Any, n: int = SUMMARY_CHARS) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _opt(value: Any) -> str | None:
    if value is None:
        return None
    return _short(value, 120)


def summarise(entry: Entry) -> tuple[str, str | None, str | None]:
    """One line per entry for the timeline, with before/after when the entry records them."""
    d = entry.data
    k = entry.kind
    if k == "genesis":
        return f"journal created for {d.get('incident_id')}: {d.get('title')}", None, None
    if k == "incident.update":
        return "incident " + ", ".join(f"{key}={_short(v, 60)}" for key, v in d.items()), None, None
    if k == "note":
        return f"note: {_short(d.get('text', ''))}", None, None
    if k == "checklist.state":
        extra = f" ({_short(d['note'], 120)})" if d.get("note") else ""
        ev = f" evidence {', '.join(d['evidence'])}" if d.get("evidence") else ""
        return f"checklist {d.get('item')}: {d.get('state')}{extra}{ev}", _opt(d.get("previous")), _opt(d.get("state"))
    if k == "facts.set" or k == "notice.detail":
        return f"{k} {d.get('key')}", _opt(d.get("previous")), _opt(d.get("value"))
    if k == "notification.sent":
        return f"notice {d.get('rule')} sent {d.get('at')} (evidence {d.get('evidence_id')})", None, None
    if k == "evidence.acquired":
        name = d.get("name") or ""
        return f"evidence {d.get('evidence_id')} {name} ({d.get('size')} bytes) sha256 {d.get('sha256')}", None, None
    if k == "custody.event":
        match = "" if "match" not in d else (" re-hash matches" if d["match"] else " RE-HASH MISMATCH")
        return f"custody {d.get('action')} {d.get('evidence_id')}{match}", None, None
    if k.startswith("action."):
        what = f"{k.split('.', 1)[1]} {d.get('action_id', '')} {d.get('action', d.get('kind', ''))}".strip()
        if k == "action.plan":
            what += f" ({_selectors_text(d.get('selectors'))}; {d.get('steps_total', 0)} record(s))"
            return what, None, None
        if k == "action.result":
            counts = ", ".join(f"{n} {c}" for c, n in (d.get("counts") or {}).items() if n)
            what += f": {d.get('status')} ({counts})"
            return what, _opt(d.get("before_sha256")), _opt(d.get("after_sha256"))
        if k == "action.approval":
            what += f" approved by {d.get('approver')} ({d.get('role')})"
        return what, _opt(d.get("before_sha256")), None
    if k == "exercise.inject":
        return f"exercise inject {d.get('inject')} [{d.get('kind')}] {d.get('title')}", None, None
    if k == "exercise.end":
        score = d.get("score", {})
        return f"exercise ended: score {score.get('total')}/100", None, None
    if k == "notify.drafted":
        return f"notice draft {d.get('rule')} ({len(d.get('gaps', []))} gap(s)) evidence {d.get('evidence_id')}", \
            None, None
    if k == "report.generated":
        return f"report generated ({d.get('format')}) sha256 {d.get('sha256')} at journal size {d.get('tree_size')}", \
            None, None
    if k == "inventory.snapshot":
        counts = d.get("counts", {})
        return f"inventory snapshot {d.get('evidence_id')}: " + ", ".join(f"{n} {c}" for c, n in counts.items() if n), \
            None, None
    if k == "hunt.hit":
        return f"hunt hit at {d.get('at') or '?'}: {d.get('title')} (evidence {d.get('evidence_id')} line " \
               f"{d.get('line')})", None, None
    if k == "hunt.run":
        return f"hunt {', '.join(d.get('indicator_sets', []))}: {d.get('hits')} hit(s), {d.get('new_hits')} new", \
            None, None
    if k == "collect.run":
        if d.get("phase") == "started":
            return f"collect from org {d.get('org')} started ({', '.join(d.get('what', []))})", None, None
        counts = ", ".join(f"{n} {c}" for c, n in (d.get("counts") or {}).items() if n)
        return f"collect {d.get('status')}: {counts}", None, None
    if k == "collect.progress":
        return f"collect preserved {d.get('item')} as evidence {d.get('evidence_id')}", None, None
    if k in ("checkpoint", "anchor.made"):
        return f"{k}: size {d.get('tree_size')} root {d.get('root')}", None, None
    before = d.get("previous", d.get("before"))
    after = d.get("value", d.get("after"))
    return f"{k}: {_short(d)}", _opt(before), _opt(after)


def _selectors_text(sel: dict[str, Any] | None) -> str:
    sel = sel or {}
    parts = []
    if sel.get("app"):
        parts.append(f"app {sel['app']}")
    if sel.get("user"):
        parts.append(f"user {sel['user']}")
    if sel.get("integration_users"):
        parts.append("integration users")
    return ", ".join(parts)


def containment_actions(incident: Incident) -> list[dict[str, Any]]:
    """One row per containment run (plan, approval, intent and result joined), plus plans never applied
    and manual tasks. Field names follow app/containment.py's entries."""
    plans: dict[str, Entry] = {}
    intents: dict[int, Entry] = {}
    applied: set[str] = set()
    rows: list[dict[str, Any]] = []
    for entry in incident.journal.entries(prefix="action."):
        d = entry.data
        if entry.kind == "action.plan":
            plans[d["action_id"]] = entry
        elif entry.kind == "action.intent":
            intents[entry.seq] = entry
        elif entry.kind == "action.result":
            plan = plans.get(d.get("action_id", ""))
            intent = intents.get(d.get("intent_seq", -1))
            applied.add(d.get("action_id", ""))
            pd = plan.data if plan else {}
            rows.append({
                "action_id": d.get("action_id"), "plan_seq": plan.seq if plan else None,
                "intent_seq": d.get("intent_seq"), "result_seq": entry.seq, "seq": entry.seq,
                "org_alias": d.get("org_alias") or pd.get("org_alias"),
                "action": d.get("action", "action"), "status": d.get("status", "recorded"),
                "actor": d.get("executor") or entry.actor, "approver": d.get("approver"),
                "ticket": pd.get("ticket"), "decided_utc": pd.get("created_utc"),
                "executed_utc": intent.recorded_utc if intent else None, "recorded_utc": entry.recorded_utc,
                "target_summary": _selectors_text(pd.get("selectors")),
                "selectors": pd.get("selectors") or {},
                "pre_state_digest": d.get("before_sha256"), "post_state_digest": d.get("after_sha256"),
                "counts": d.get("counts", {}), "verification": d.get("verification", {}),
                "detail": ", ".join(f"{n} {k}" for k, n in (d.get("counts") or {}).items() if n),
            })
    for action_id, plan in plans.items():
        if action_id in applied:
            continue
        pd = plan.data
        rows.append({
            "action_id": action_id, "plan_seq": plan.seq, "intent_seq": None, "result_seq": None, "seq": plan.seq,
            "org_alias": pd.get("org_alias"),
            "action": pd.get("action", "action"), "status": "planned, not applied", "actor": plan.actor,
            "approver": None, "ticket": None, "decided_utc": pd.get("created_utc"), "executed_utc": None,
            "recorded_utc": plan.recorded_utc, "target_summary": _selectors_text(pd.get("selectors")),
            "selectors": pd.get("selectors") or {}, "pre_state_digest": pd.get("before_sha256"),
            "post_state_digest": None, "counts": pd.get("counts", {}), "verification": {},
            "detail": f"{pd.get('steps_total', 0)} record(s) planned",
        })
    for entry in incident.journal.entries(kind="action.task_confirmed"):
        d = entry.data
        rows.append({
            "action_id": d.get("action_id"), "plan_seq": None, "intent_seq": None, "result_seq": entry.seq,
            "seq": entry.seq, "action": f"manual task {d.get('kind')}", "status": "confirmed", "actor": entry.actor,
            "approver": None, "ticket": None, "decided_utc": None, "executed_utc": entry.recorded_utc,
            "recorded_utc": entry.recorded_utc, "target_summary": d.get("task_id", ""), "selectors": {},
            "pre_state_digest": None, "post_state_digest": d.get("evidence_sha256"), "counts": {},
            "verification": {}, "detail": f"evidence {d.get('evidence_id')}",
        })
    rows.sort(key=lambda r: r["seq"])
    return rows


def exfiltration_rows(incident: Incident) -> list[Any]:
    """The exfiltration table of the recorded hunts ([] when no hunt was run or the store cannot be read)."""
    try:
        from app.hunt import exfiltration_table
    except ImportError:  # pragma: no cover - the forensics area is part of every build
        return []
    try:
        return exfiltration_table(incident)
    except WarroomError:
        return []


def _evidence_rows(incident: Incident) -> list[EvidenceRow]:
    custody: dict[str, list[CustodyRow]] = {}
    for e in incident.journal.entries(kind="custody.event"):
        d = e.data
        custody.setdefault(d["evidence_id"], []).append(CustodyRow(
            seq=e.seq, at=e.recorded_utc, actor=e.actor, action=d.get("action", ""), to_party=d.get("to_party"),
            match=d.get("match")))
    rows: list[EvidenceRow] = []
    for e in incident.journal.entries(kind="evidence.acquired"):
        d = e.data
        src = d.get("source") or {}
        rows.append(EvidenceRow(
            evidence_id=d["evidence_id"], sha256=d["sha256"], size=d["size"], name=d.get("name"), note=d.get("note"),
            acquired_by=e.actor, acquired_utc=e.recorded_utc, seq=e.seq,
            source=_short(src, 160) if src else "", custody=custody.get(d["evidence_id"], [])))
    return rows


def _control_table(incident: Incident, status: Any, checklist: Any, kinds: dict[str, list[int]],
                   actions: list[dict[str, Any]]) -> list[ControlRow]:
    state_seqs: dict[str, list[int]] = {}
    for e in incident.journal.entries(kind="checklist.state"):
        state_seqs.setdefault(e.data.get("item", ""), []).append(e.seq)
    items = {i.id: i for i in checklist.items}
    rows: dict[tuple[str, str], ControlRow] = {}
    for st in status.items:
        item = items[st.id]
        seqs = list(state_seqs.get(st.id, []))
        for spec in item.evidence:
            kind, _, _what = spec.partition(":")
            if kind.strip() == "journal":
                first_word = _what.strip().split(" ", 1)[0]
                seqs += kinds.get(first_word, [])[:10]
        seqs += [a["seq"] for a in actions if a["action"] in item.triggers]
        ci = ControlItem(id=st.id, title=st.title, state=st.state.value, done_utc=st.done_utc,
                         evidence=list(st.evidence))
        for framework, control in item.controls.pairs():
            if framework not in CONTROL_FRAMEWORKS:
                continue
            row = rows.get((framework, control))
            if row is None:
                row = rows[(framework, control)] = ControlRow(
                    framework=framework, control=control,
                    title=catalogue.control_title(framework, control) or "", served=False, items=[], entries=[],
                    evidence=[])
            row.items.append(ci)
            row.served = row.served or st.state.value == "done"
            row.entries = sorted(set(row.entries) | set(seqs))
            row.evidence = sorted(set(row.evidence) | set(st.evidence))
    order = {fw: n for n, fw in enumerate(CONTROL_FRAMEWORKS)}
    return sorted(rows.values(), key=lambda r: (order[r.framework], *_control_key(r.framework, r.control)))


def _control_key(framework: str, control: str) -> tuple[int, str]:
    """The catalogue's own order (SOC 2 CC1-CC9 before A1, C1, P; ISO Annex A in clause order)."""
    table = catalogue.SOC2 if framework == "soc2" else catalogue.ISO27001_2022
    order = {key: n for n, key in enumerate(table)}
    return order.get(control, len(order)), control


def _clocks(incident: Incident, now: datetime) -> list[ClockRow]:
    from app import deadlines as dl

    drafts = incident.journal.state("notice.drafts")
    out: list[ClockRow] = []
    for t in dl.incident_timers(incident.journal, now):
        if t.state == "not_applicable" and t.notified_utc is None:
            continue
        d = drafts.get(t.rule)
        out.append(ClockRow(
            rule=t.rule, jurisdiction=t.jurisdiction, recipient=t.recipient, citation=t.citation, state=t.state,
            start_utc=t.start_utc, due_utc=t.due_utc, notified_utc=t.notified_utc, evidence_id=t.evidence_id,
            late=t.late, reason=t.reason,
            draft=DraftRef(seq=d["seq"], at=d["at"], evidence_id=d["evidence_id"], sha256=d["sha256"],
                           gaps=d.get("gaps", [])) if d else None,
        ))
    return out


def _journal_summary(incident: Incident) -> JournalSummary:
    from app.verify import verify_journal

    head = incident.journal.head()
    verdict = verify_journal(incident.journal.path)
    verified = verdict.ok and verdict.size == head.size and verdict.root == head.root_hex
    message = verdict.message
    if verdict.ok and not verified:
        message = f"verify read {verdict.size} entries, the report {head.size}: the journal grew while reading"
    return JournalSummary(
        path=str(incident.journal.path), journal_id=incident.journal.journal_id, size=head.size, root=head.root_hex,
        short_root=head.short, head_hash=head.head_hash, anchor=head.anchor, verified=verified,
        verify_message=message, checkpoints_checked=verdict.checkpoints_checked,
        last_checkpoint=incident.journal.get_state("journal", "last_checkpoint"),
        last_anchor=incident.journal.get_state("journal", "last_anchor"),
    )


def build_report(incident: Incident, actor: str, *, now: datetime | None = None) -> Report:
    """Everything from the journal (and the evidence store for the exfiltration table); nothing is recorded."""
    from app import checklist as cl

    now = now or incident.journal.clock.now()
    journal = incident.journal
    summary = _journal_summary(incident)  # first: the report covers exactly these entries
    exercise_state = journal.get_state("exercise", "current") or {}
    # A finished exercise is judged as of its end (scenario time), not as of the day the report is printed.
    as_of = parse_instant(exercise_state["end_utc"]) if exercise_state.get("end_utc") else now
    timeline: list[TimelineEntry] = []
    for entry in journal.entries():
        if entry.seq > summary.size:
            break
        text, before, after = summarise(entry)
        timeline.append(TimelineEntry(seq=entry.seq, recorded_utc=entry.recorded_utc, actor=entry.actor,
                                      kind=entry.kind, summary=text, before=before, after=after,
                                      entry_hash=entry.entry_hash))
    actions = containment_actions(incident)
    kinds: dict[str, list[int]] = {}
    for t in timeline:
        kinds.setdefault(t.kind, []).append(t.seq)
    controls: list[ControlRow] = []
    open_items: list[OpenItem] = []
    checklist_label = None
    try:
        checklist = cl.incident_checklist(incident)
        status = cl.checklist_status(incident, checklist, as_of)
        checklist_label = f"{checklist.title} {checklist.version} (sha256 {checklist.sha256[:12]})"
        controls = _control_table(incident, status, checklist, kinds, actions)
        for st in status.items:
            if st.state in cl.OPEN_STATES:
                detail = f"{st.state.value}, due {st.due_utc}" + (f" ({st.reason})" if st.reason else "")
                open_items.append(OpenItem(kind="checklist", id=st.id, title=st.title, detail=detail,
                                           overdue=st.overdue))
    except WarroomError as exc:
        open_items.append(OpenItem(kind="checklist", id="checklist", title="checklist unavailable", detail=str(exc)))
    clocks = _clocks(incident, as_of)
    for c in clocks:
        if c.state in ("overdue", "due_4h", "due_24h", "on_track", "pending", "elapsed", "paused"):
            open_items.append(OpenItem(kind="clock", id=c.rule, title=f"notice to {c.recipient} ({c.jurisdiction})",
                                       detail=f"{c.state}" + (f", due {c.due_utc}" if c.due_utc else ""),
                                       overdue=c.state == "overdue"))
        if c.draft and c.draft.gaps and c.notified_utc is None:
            open_items.append(OpenItem(kind="draft", id=c.rule, title=f"notice draft {c.rule} has gaps",
                                       detail=", ".join(c.draft.gaps)))
    try:
        from app.exercise import pending_alerts

        for alert in pending_alerts(incident):
            open_items.append(OpenItem(kind="alert", id=alert.inject, title=alert.title,
                                       detail=f"unacknowledged since {alert.at}"))
    except ImportError:  # pragma: no cover
        pass
    exercise = None
    end = journal.last("exercise.end")
    if end is not None:
        exercise = {"scenario": end.data.get("scenario"), "score": end.data.get("score"), "seq": end.seq}
    report = Report(
        incident_id=incident.id, title=incident.title, demo=bool(journal.genesis.get("demo")),
        generated_utc=format_instant(now), generated_by=actor, software=f"warroom {__version__}",
        declared_utc=journal.get_state("incident", "declared"), as_of_utc=format_instant(as_of),
        checklist=checklist_label, journal=summary,
        timeline=timeline, controls=controls, clocks=clocks,
        containment=[ContainmentRow(**{k: v for k, v in a.items() if k in ContainmentRow.model_fields})
                     for a in actions],
        evidence=_evidence_rows(incident),
        exfiltration=[ExfilRowOut.model_validate(r.model_dump()) for r in exfiltration_rows(incident)],
        open_items=open_items, exercise=exercise,
    )
    report.report_sha256 = report.content_hash()
    return report


# -- rendering --------------------------------------------------------------------------------------------------


def render(report: Report, fmt: str) -> str:
    if fmt == "json":
        return report.model_dump_json(indent=2) + "\n"
    if fmt == "md":
        return render_markdown(report)
    if fmt == "html":
        return render_html(report)
    raise UsageError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")


def _md_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(headers: list[str], rows: Iterable[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return out


def _sections(r: Report) -> Iterator[tuple[str, list[str], list[list[Any]], str]]:
    """(title, headers, rows, note) for each tabular section, shared by Markdown and HTML."""
    j = r.journal
    yield ("Journal integrity", ["Field", "Value"], [
        ["Journal", j.path], ["Journal id", j.journal_id], ["Entries (tree size)", j.size], ["Merkle root", j.root],
        ["Root (read aloud)", j.short_root], ["Anchor", j.anchor], ["Head entry hash", j.head_hash],
        ["Verification", ("PASSED: " if j.verified else "FAILED: ") + j.verify_message],
        ["Checkpoints checked", j.checkpoints_checked],
        ["Last checkpoint", _short(j.last_checkpoint, 160) if j.last_checkpoint else "none"],
        ["Last anchor", _short(j.last_anchor, 160) if j.last_anchor else "none"],
        ["Report sha256 (content)", r.report_sha256],
    ], "Re-run `warroom journal verify --anchor SIZE:ROOT` against the anchor above to check this report's base.")
    if r.exercise:
        score = r.exercise.get("score") or {}
        rows = [[k, _short(v, 200)] for k, v in score.items() if not isinstance(v, list | dict)]
        yield ("Exercise score", ["Measure", "Value"], rows, f"Scenario {r.exercise.get('scenario')}.")
    yield ("Notification clocks and notices", ["Rule", "Jurisdiction", "Recipient", "State", "Due (UTC)",
                                               "Notified (UTC)", "Evidence", "Late", "Draft"],
           [[c.rule, c.jurisdiction, c.recipient, c.state, c.due_utc or "", c.notified_utc or "", c.evidence_id or "",
             "" if c.late is None else ("yes" if c.late else "no"),
             (f"{c.draft.evidence_id} ({len(c.draft.gaps)} gaps)" if c.draft else "")] for c in r.clocks],
           f"Clocks recomputed from the journal's facts, overrides and sent notices as of {r.as_of_utc}.")
    yield ("Containment", ["Action id", "Org", "Plan", "Intent", "Result", "Action", "Targets", "Status", "Records",
                           "Executor", "Approver", "Planned", "Executed", "Before digest", "After digest"],
           [[a.action_id or "", a.org_alias or "", a.plan_seq or "", a.intent_seq or "", a.result_seq or "", a.action,
             a.target_summary,
             a.status, a.detail, a.actor, a.approver or "", a.decided_utc or "", a.executed_utc or "",
             a.pre_state_digest or "", a.post_state_digest or ""] for a in r.containment],
           "Each run: the plan (records and state before), the approval, the intent journaled before anything was "
           "sent, and the result with the state after re-read from the org.")
    yield ("Control table (SOC 2 and ISO/IEC 27001:2022)", ["Framework", "Control", "Title", "Served",
                                                              "Checklist items", "Journal entries", "Evidence"],
           [[catalogue.FRAMEWORK_SHORT.get(c.framework, c.framework), c.control, c.title, "yes" if c.served else "no",
             "; ".join(f"{i.id} ({i.state}{', ' + i.done_utc if i.done_utc else ''})" for i in c.items),
             ", ".join(str(s) for s in c.entries[:40]) + (" …" if len(c.entries) > 40 else ""),
             ", ".join(c.evidence)] for c in r.controls],
           "Each control lists the checklist items mapped to it, the journal entries (by seq) that record the work, "
           "and the evidence items attached.")
    yield ("Evidence and custody", ["Evidence id", "Name", "SHA-256", "Bytes", "Acquired by", "Acquired (UTC)",
                                    "Entry", "Custody"],
           [[e.evidence_id, e.name or "", e.sha256, e.size, e.acquired_by, e.acquired_utc, e.seq,
             "; ".join(f"{c.action} by {c.actor} {c.at} (entry {c.seq})"
                       + ("" if c.match is None else (" match" if c.match else " MISMATCH")) for c in e.custody)]
            for e in r.evidence], "")
    yield ("What was read (exfiltration table)", ["Actor", "App", "User", "Object", "Rows", "Queries", "First seen",
                                                  "Last seen", "Source IPs", "Evidence"],
           [[x.actor, x.app or "", x.username or "", x.object, x.rows, x.queries, x.first_seen or "",
             x.last_seen or "", ", ".join(x.source_ips), ", ".join(x.evidence)] for x in r.exfiltration],
           "From the preserved API logs matched by the recorded hunts.")
    yield ("Open items", ["Kind", "Id", "Title", "Detail", "Overdue"],
           [[o.kind, o.id, o.title, o.detail, "yes" if o.overdue else ""] for o in r.open_items], "")
    yield ("Timeline (every journal entry)", ["Seq", "Recorded (UTC)", "Actor", "Kind", "What", "Before", "After",
                                              "Entry hash"],
           [[t.seq, t.recorded_utc, t.actor, t.kind, t.summary, t.before or "", t.after or "", t.entry_hash]
            for t in r.timeline], "")


def _header_lines(r: Report) -> list[tuple[str, str]]:
    return [
        ("Incident", f"{r.incident_id}: {r.title}"),
        ("Declared", r.declared_utc or "not recorded"),
        ("State as of", r.as_of_utc + (" (end of the exercise)" if r.exercise else "")),
        ("Generated", f"{r.generated_utc} by {r.generated_by} ({r.software})"),
        ("Checklist", r.checklist or "none"),
        ("Journal", f"{r.journal.size} entries, root {r.journal.short_root}, "
                    + ("verified" if r.journal.verified else "VERIFICATION FAILED")),
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


_CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;font-size:10pt;color:#111;margin:2em;}
h1{font-size:16pt;margin-bottom:.2em}h2{font-size:12pt;margin-top:1.6em;border-bottom:1px solid #999}
table{border-collapse:collapse;width:100%;margin:.4em 0 1em}
th,td{border:1px solid #bbb;padding:2px 4px;text-align:left;vertical-align:top;word-break:break-word}
th{background:#eee}tr:nth-child(even) td{background:#fafafa}
code,.hash{font-family:Menlo,Consolas,monospace;font-size:8.5pt}
.banner{border:2px solid #b00;color:#b00;padding:.4em;font-weight:bold}
.note{color:#444;font-style:italic}.meta dt{font-weight:bold;float:left;clear:left;width:8em}.meta dd{margin-left:9em}
@media print{body{margin:0;font-size:8.5pt}h2{page-break-after:avoid}tr{page-break-inside:avoid}
thead{display:table-header-group}a{color:inherit;text-decoration:none}}
@page{size:A4 landscape;margin:12mm}
"""


def render_html(r: Report) -> str:
    esc = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>{esc('Incident report ' + r.incident_id)}</title>",
           '<meta name="generator" content="' + esc(r.software) + '">',
           f"<style>{_CSS}</style></head><body>",
           f"<h1>Incident report: {esc(r.incident_id)}</h1>"]
    if r.demo:
        out.append('<p class="banner">EXERCISE / DEMO INCIDENT: not a real incident.</p>')
    out.append('<dl class="meta">')
    for k, v in _header_lines(r):
        out.append(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>")
    out.append("</dl>")
    for title, headers, rows, note in _sections(r):
        out.append(f"<h2>{esc(title)}</h2>")
        if note:
            out.append(f'<p class="note">{esc(note)}</p>')
        if not rows:
            out.append("<p>None.</p>")
            continue
        out.append("<table><thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in headers) + "</tr></thead><tbody>")
        for row in rows:
            cells = []
            for value in row:
                text = "" if value is None else str(value)
                cls = ' class="hash"' if len(text) == 64 and all(ch in "0123456789abcdef" for ch in text) else ""
                cells.append(f"<td{cls}>{esc(text)}</td>")
            out.append("<tr>" + "".join(cells) + "</tr>")
        out.append("</tbody></table>")
    out.append(f'<p class="note">Report content sha256 {esc(r.report_sha256)}.</p>')
    out.append("</body></html>")
    return "\n".join(out) + "\n"


# -- writing and journaling ----------------------------------------------------------------------------------------


def generate(incident: Incident, actor: str, fmt: str, *, now: datetime | None = None) -> tuple[Report, bytes, Entry]:
    """Build and render the report, then journal `report.generated` with the rendered bytes' SHA-256."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")
    report = build_report(incident, actor, now=now)
    data = render(report, fmt).encode("utf-8")
    entry = incident.journal.append(REPORT_KIND, {
        "format": fmt,
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "report_sha256": report.report_sha256,
        "tree_size": report.journal.size,
        "root": report.journal.root,
        "verified": report.journal.verified,
    }, actor)
    return report, data, entry


# -- population export --------------------------------------------------------------------------------------------

POPULATION_COLUMNS = ("seq", "recorded_utc", "kind", "actor", "entry_id", "entry_hash", "data")


class Population(BaseModel):
    sql: str
    params: list[Any]
    count: int
    tree_size: int
    root: str
    verified: bool
    verify_message: str


def population_query(kind: str | None = None, prefix: str | None = None, since: str | None = None,
                     until: str | None = None) -> tuple[str, list[Any]]:
    """The SQL (and parameters) an auditor re-runs to check the population is complete."""
    where, params = ["1 = 1"], []
    if kind:
        where.append("kind = ?")
        params.append(kind)
    if prefix:
        where.append("kind >= ? AND kind < ?")
        params += [prefix, prefix + "\uffff"]
    if since:
        where.append("recorded_utc >= ?")
        params.append(since)
    if until:
        where.append("recorded_utc < ?")
        params.append(until)
    sql = ("SELECT seq, recorded_utc, kind, actor, entry_id, lower(hex(entry_hash)) AS entry_hash, "
           "json_extract(CAST(body AS TEXT), '$.data') AS data FROM entries WHERE " + " AND ".join(where)
           + " ORDER BY seq")
    return sql, params


def export_population(incident: Incident, out: io.TextIOBase | Any, *, kind: str | None = None,
                      prefix: str | None = None, since: str | None = None, until: str | None = None) -> Population:
    """Write the matching entries as CSV (through sqlite-utils) and return the query, count and journal root."""
    import sqlite_utils

    from app.verify import verify_journal

    sql, params = population_query(kind, prefix, since, until)
    head = incident.journal.head()
    # A read-only connection of its own: the query an auditor re-runs against the file, run the same way.
    conn = sqlite3.connect(f"file:{incident.journal.path}?mode=ro", uri=True)
    try:
        db = sqlite_utils.Database(conn)
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(POPULATION_COLUMNS)
        count = 0
        for row in db.query(sql, params):
            if row["seq"] > head.size:
                break
            writer.writerow([row[c] for c in POPULATION_COLUMNS])
            count += 1
    finally:
        conn.close()
    verdict = verify_journal(incident.journal.path)
    return Population(sql=sql, params=params, count=count, tree_size=head.size, root=head.root_hex,
                      verified=verdict.ok, verify_message=verdict.message)


def write_output(path: Path, data: bytes) -> None:
    """Write atomically next to the target (a half-written report must never be mistaken for one)."""
    path = path.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise WarroomError(f"cannot write {path}: {exc.strerror or exc}") from None
