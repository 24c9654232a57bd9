"""Building the report from the journal alone: a readable line per entry, the control table, clocks, containment
runs, evidence with custody and the journal's fresh verification."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app import __version__
from app.base.clock import format_instant, humane_instant, parse_instant
from app.base.errors import WarroomError
from app.base.text import one_line
from app.checklist import controls as catalogue
from app.containment.history import containment_actions, selectors_text
from app.exercise.runner import current_exercise
from app.hunt import exfiltration_rows
from app.incident import record
from app.report.model import (
    CONTROL_FRAMEWORKS,
    SUMMARY_CHARS,
    ClockRow,
    ContainmentRow,
    ControlItem,
    ControlRow,
    CustodyRow,
    DraftRef,
    EvidenceRow,
    ExfilRowOut,
    JournalSummary,
    OpenItem,
    Report,
    TimelineEntry,
)
from app.report.recovery import recovery_section
from app.report.series import applicable_timers, compute_series

if TYPE_CHECKING:
    from app.incident.core import Incident
    from app.journal.chain import Entry


# -- reading the journal ----------------------------------------------------------------------------------------


def short_text(value: Any, n: int = SUMMARY_CHARS) -> str:
    return one_line(value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False), n)


def _opt(value: Any) -> str | None:
    if value is None:
        return None
    return short_text(value, 120)


def summarise(entry: Entry) -> tuple[str, str | None, str | None]:
    """One line per entry for the timeline, with before/after when the entry records them."""
    d = entry.data
    k = entry.kind
    if k == "genesis":
        return f"journal created for {d.get('incident_id')}: {d.get('title')}", None, None
    if k == "incident.update":
        return "incident " + ", ".join(f"{key}={short_text(v, 60)}" for key, v in d.items()), None, None
    if k == "note":
        return f"note: {short_text(d.get('text', ''))}", None, None
    if k == "checklist.state":
        extra = f" ({short_text(d['note'], 120)})" if d.get("note") else ""
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
            what += f" ({selectors_text(d.get('selectors'))}; {d.get('steps_total', 0)} record(s))"
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
        if d.get("aborted"):
            return f"exercise aborted ({d['aborted']}): not scored", None, None
        return f"exercise ended: score {score.get('total')}/100", None, None
    if k == "notify.drafted":
        return (
            f"notice draft {d.get('rule')} ({len(d.get('gaps', []))} gap(s)) evidence {d.get('evidence_id')}",
            None,
            None,
        )
    if k == "report.generated":
        return (
            f"report generated ({d.get('format')}) sha256 {d.get('sha256')} at journal size {d.get('tree_size')}",
            None,
            None,
        )
    if k == "inventory.snapshot":
        counts = d.get("counts", {})
        return (
            f"inventory snapshot {d.get('evidence_id')}: " + ", ".join(f"{n} {c}" for c, n in counts.items() if n),
            None,
            None,
        )
    if k == "hunt.hit":
        return (
            f"hunt hit at {d.get('at') or '?'}: {d.get('title')} (evidence {d.get('evidence_id')} line "
            f"{d.get('line')})",
            None,
            None,
        )
    if k == "hunt.run":
        return (
            f"hunt {', '.join(d.get('indicator_sets', []))}: {d.get('hits')} hit(s), {d.get('new_hits')} new",
            None,
            None,
        )
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
    return f"{k}: {short_text(d)}", _opt(before), _opt(after)


def _evidence_rows(incident: Incident) -> list[EvidenceRow]:
    custody: dict[str, list[CustodyRow]] = {}
    for e in incident.journal.entries(kind="custody.event"):
        d = e.data
        custody.setdefault(d["evidence_id"], []).append(
            CustodyRow(
                seq=e.seq,
                at=e.recorded_utc,
                actor=e.actor,
                action=d.get("action", ""),
                to_party=d.get("to_party"),
                match=d.get("match"),
            )
        )
    rows: list[EvidenceRow] = []
    for e in incident.journal.entries(kind="evidence.acquired"):
        d = e.data
        src = d.get("source") or {}
        rows.append(
            EvidenceRow(
                evidence_id=d["evidence_id"],
                sha256=d["sha256"],
                size=d["size"],
                name=d.get("name"),
                note=d.get("note"),
                acquired_by=e.actor,
                acquired_utc=e.recorded_utc,
                seq=e.seq,
                source=short_text(src, 160) if src else "",
                custody=custody.get(d["evidence_id"], []),
            )
        )
    return rows


def _control_table(
    incident: Incident, status: Any, checklist: Any, kinds: dict[str, list[int]], actions: list[dict[str, Any]]
) -> list[ControlRow]:
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
        ci = ControlItem(
            id=st.id, title=st.title, state=st.state.value, done_utc=st.done_utc, evidence=list(st.evidence)
        )
        for framework, control in item.controls.pairs():
            if framework not in CONTROL_FRAMEWORKS:
                continue
            row = rows.get((framework, control))
            if row is None:
                row = rows[(framework, control)] = ControlRow(
                    framework=framework,
                    control=control,
                    title=catalogue.control_title(framework, control) or "",
                    served=False,
                    items=[],
                    entries=[],
                    evidence=[],
                )
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
    from app.notify.drafting import latest_drafts

    drafts = latest_drafts(incident.journal)
    out: list[ClockRow] = []
    for t in applicable_timers(incident, now):
        d = drafts.get(t.rule)
        out.append(
            ClockRow(
                rule=t.rule,
                jurisdiction=t.jurisdiction,
                recipient=t.recipient,
                citation=t.citation,
                state=t.state,
                start_utc=t.start_utc,
                due_utc=t.due_utc,
                notified_utc=t.notified_utc,
                evidence_id=t.evidence_id,
                late=t.late,
                reason=t.reason,
                version=t.version,
                calendar_note=t.calendar_note,
                draft=DraftRef(
                    seq=d["seq"], at=d["at"], evidence_id=d["evidence_id"], sha256=d["sha256"], gaps=d.get("gaps", [])
                )
                if d
                else None,
            )
        )
    return out


def _journal_summary(incident: Incident) -> JournalSummary:
    from app.journal.verify import verify_journal

    head = incident.journal.head()
    verdict = verify_journal(incident.journal.path, (), incident.journal.registry)
    verified = verdict.ok and verdict.size == head.size and verdict.root == head.root_hex
    message = verdict.message
    if verdict.ok and not verified:
        message = f"verify read {verdict.size} entries, the report {head.size}: the journal grew while reading"
    return JournalSummary(
        path=str(incident.journal.path),
        journal_id=incident.journal.journal_id,
        size=head.size,
        root=head.root_hex,
        short_root=head.short,
        head_hash=head.head_hash,
        anchor=head.anchor,
        verified=verified,
        verify_message=message,
        checkpoints_checked=verdict.checkpoints_checked,
        last_checkpoint=record.last_checkpoint(incident.journal),
        last_anchor=record.last_anchor(incident.journal),
    )


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def build_report(incident: Incident, actor: str, *, now: datetime | None = None) -> Report:
    """Everything from the journal (and the evidence store for the exfiltration table); nothing is recorded."""
    from app import checklist as cl

    now = now or incident.journal.clock.now()
    journal = incident.journal
    summary = _journal_summary(incident)  # first: the report covers exactly these entries
    exercise_state = current_exercise(journal) or {}
    # A finished exercise is judged as of its end (scenario time), not as of the day the report is printed.
    as_of = parse_instant(exercise_state["end_utc"]) if exercise_state.get("end_utc") else now
    timeline: list[TimelineEntry] = []
    covered = summary.size
    merged_head = getattr(journal, "merged_head", None)
    origin_name = getattr(journal, "origin_name", None)
    if merged_head is not None:  # a team incident: the timeline is the merged view of every responder's chain
        covered = merged_head()[0]
    for entry in journal.entries():
        if entry.seq > covered:
            break
        text, before, after = summarise(entry)
        timeline.append(
            TimelineEntry(
                seq=entry.seq,
                recorded_utc=entry.recorded_utc,
                actor=entry.actor,
                kind=entry.kind,
                summary=text,
                before=before,
                after=after,
                entry_hash=entry.entry_hash,
                origin=origin_name(entry.seq) if origin_name else None,
            )
        )
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
                detail = f"{st.state.value}, due {humane_instant(st.due_utc)}" + (
                    f" ({st.reason})" if st.reason else ""
                )
                open_items.append(
                    OpenItem(kind="checklist", id=st.id, title=st.title, detail=detail, overdue=st.overdue)
                )
    except WarroomError as exc:
        open_items.append(OpenItem(kind="checklist", id="checklist", title="checklist unavailable", detail=str(exc)))
    clocks = _clocks(incident, as_of)
    for c in clocks:
        if c.state in ("overdue", "due_4h", "due_24h", "on_track", "pending", "elapsed", "paused"):
            open_items.append(
                OpenItem(
                    kind="clock",
                    id=c.rule,
                    title=f"notice to {c.recipient} ({c.jurisdiction})",
                    detail=c.state.replace("_", " ") + (f", due {humane_instant(c.due_utc)}" if c.due_utc else ""),
                    overdue=c.state == "overdue",
                )
            )
        if c.draft and c.draft.gaps and c.notified_utc is None:
            open_items.append(
                OpenItem(
                    kind="draft", id=c.rule, title=f"notice draft {c.rule} has gaps", detail=", ".join(c.draft.gaps)
                )
            )
    try:
        from app.exercise.runner import pending_alerts

        for alert in pending_alerts(incident):
            open_items.append(
                OpenItem(kind="alert", id=alert.inject, title=alert.title, detail=f"unacknowledged since {alert.at}")
            )
    except ImportError:  # pragma: no cover
        pass
    exercise = None
    end = journal.last("exercise.end")
    if end is not None:
        exercise = {"scenario": end.data.get("scenario"), "score": end.data.get("score"), "seq": end.seq}
        if end.data.get("aborted"):
            exercise["aborted"] = end.data["aborted"]
    fields = record.incident_fields(journal)
    exfil = exfiltration_rows(incident)
    report = Report(
        incident_id=incident.id,
        title=incident.title,
        demo=bool(journal.genesis.get("demo")),
        generated_utc=format_instant(now),
        generated_by=actor,
        software=f"warroom {__version__}",
        declared_utc=record.declared_utc(journal),
        detected_utc=_text_or_none(fields.get("detected")),
        status=_text_or_none(fields.get("status")),
        severity=_text_or_none(fields.get("severity")),
        commander=_text_or_none(fields.get("commander")),
        as_of_utc=format_instant(as_of),
        checklist=checklist_label,
        journal=summary,
        timeline=timeline,
        controls=controls,
        clocks=clocks,
        containment=[
            ContainmentRow(**{k: v for k, v in a.items() if k in ContainmentRow.model_fields}) for a in actions
        ],
        evidence=_evidence_rows(incident),
        exfiltration=[ExfilRowOut.model_validate(r.model_dump()) for r in exfil],
        open_items=open_items,
        exercise=exercise,
        series=compute_series(incident, as_of, exfil=exfil),
        recovery=recovery_section(incident, as_of),
    )
    report.report_sha256 = report.content_hash()
    return report
