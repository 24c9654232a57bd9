"""A notice draft: the template filled from the incident with every unknown marked as a gap, stored as evidence
and journaled (`notify.drafted`), and the record that a notice was sent."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from app import deadlines as dl
from app.base.clock import format_instant
from app.notify.facts import NoticeFacts, gather
from app.notify.fields import FIELDS
from app.notify.templates import Template, field_context, load_templates, notice_environment, template_for

if TYPE_CHECKING:
    from app.incident.core import Incident
    from app.journal.chain import Journal
    from app.journal.entries import Entry

DRAFT_KIND = "notify.drafted"
GAP_OPEN = "[[GAP: "


# -- drafting -------------------------------------------------------------------------------------------------


class Gap(BaseModel):
    field: str
    label: str
    sections: list[str]


class NoticeDraft(BaseModel):
    incident_id: str
    rule: str
    template: str
    title: str
    law: str
    citation: str
    jurisdiction: str
    recipient: str
    generated_utc: str
    due_utc: str | None = None
    timer_state: str | None = None
    text: str
    gaps: list[Gap]
    sources: list[str]
    sha256: str = ""
    evidence_id: str | None = None
    seq: int | None = None

    @property
    def complete(self) -> bool:
        return not self.gaps


def _gap(label: str) -> str:
    return f"{GAP_OPEN}{label}]]"


def render(template: Template, nf: NoticeFacts) -> tuple[str, list[Gap]]:
    """Fill `template`; returns the Markdown text and every gap (field, label, where)."""
    gaps: dict[str, Gap] = {}
    cache: dict[str, str | None] = {}

    from app.base.templating import render_string

    env = notice_environment()
    current = {"where": ""}

    def resolve(key: str) -> str:
        if key not in cache:
            cache[key] = FIELDS[key].fill(nf)
        value = cache[key]
        if FIELDS[key].optional and not value:
            return ""
        if value is None or (isinstance(value, str) and not value.strip() and key != "exercise.banner"):
            where = current["where"]
            g = gaps.setdefault(key, Gap(field=key, label=FIELDS[key].label, sections=[]))
            if where not in g.sections:
                g.sections.append(where)
            return _gap(FIELDS[key].label)
        return value

    context = field_context(resolve)

    def fill(text: str, where: str) -> str:
        current["where"] = where
        return render_string(env, text, context, where=f"notice template {template.id} ({where})")

    out: list[str] = []
    banner = fill("{{exercise.banner}}", "header")
    out.append(f"# {template.title}")
    out.append("")
    if banner:
        out += [f"**{banner}**", ""]
    t = nf.timer
    out.append(f"DRAFT generated {format_instant(nf.now)} for incident {nf.incident_id}. Not sent.")
    out.append("")
    out.append(f"- Rule: {nf.rule.id} ({nf.rule.jurisdiction})")
    out.append(f"- Law: {template.law}; {nf.rule.citation}")
    out.append(f"- Recipient: {template.recipient}")
    if t is not None:
        out.append(f"- Deadline: {t.due_utc or t.period} (clock state: {t.state})")
    out.append("")
    if template.preamble:
        out += [fill(template.preamble.strip(), "preamble"), ""]
    for section in template.sections:
        heading = fill(section.heading, section.heading)
        out.append(f"## {heading}")
        if section.requirement:
            out.append(f"*Required by {section.requirement}.*")
        out.append("")
        out.append(fill(section.text.strip(), section.heading))
        out.append("")
    if template.closing:
        out += [fill(template.closing.strip(), "closing"), ""]
    gap_list = list(gaps.values())
    out.append("## Gaps to fill before sending")
    out.append("")
    if gap_list:
        for g in gap_list:
            out.append(f"- {g.label} (field `{g.field}`; in: {', '.join(g.sections)})")
    else:
        out.append("None: every required element is filled. Review the wording before sending.")
    out.append("")
    return "\n".join(out), gap_list


def draft_notice(
    incident: Incident,
    rule_id: str,
    *,
    now: datetime | None = None,
    rules: Sequence[dl.Rule] | None = None,
    templates: Sequence[Template] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> NoticeDraft:
    """The draft for `rule_id` as the journal stands (nothing recorded; see `record_draft`)."""
    import hashlib

    rules = list(rules) if rules is not None else dl.load_rules()
    rule = dl.find_rule(rules, rule_id)
    templates = list(templates) if templates is not None else load_templates()
    template = template_for(rule.id, templates)
    now = now or incident.journal.clock.now()
    nf = gather(incident, rule, rules=rules, now=now, defaults=defaults)
    text, gaps = render(template, nf)
    sources = list(dict.fromkeys(nf.sources))
    timer = nf.timer
    return NoticeDraft(
        incident_id=incident.id,
        rule=rule.id,
        template=template.id,
        title=template.title,
        law=template.law,
        citation=timer.citation if timer else rule.citation,  # the text in force when the clock started
        jurisdiction=rule.jurisdiction,
        recipient=template.recipient,
        generated_utc=format_instant(now),
        due_utc=timer.due_utc if timer else None,
        timer_state=timer.state if timer else None,
        text=text,
        gaps=gaps,
        sources=sources,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def record_draft(incident: Incident, draft: NoticeDraft, actor: str) -> NoticeDraft:
    """Store the draft's bytes as evidence and journal `notify.drafted` with its SHA-256 and open gaps."""
    stamp = draft.generated_utc.replace(":", "").replace("-", "")
    rec = incident.add_evidence_bytes(
        draft.text.encode("utf-8"),
        f"notice-draft-{draft.rule}-{stamp}.md",
        actor,
        note=f"notice draft for {draft.rule} ({len(draft.gaps)} gap(s))",
        source={"notice_template": draft.template, "rule": draft.rule},
    )
    entry = incident.journal.append(
        DRAFT_KIND,
        {
            "rule": draft.rule,
            "template": draft.template,
            "sha256": rec.sha256,
            "evidence_id": rec.evidence_id,
            "size": rec.size,
            "gaps": [g.field for g in draft.gaps],
            "due_utc": draft.due_utc,
        },
        actor,
    )
    return draft.model_copy(update={"evidence_id": rec.evidence_id, "seq": entry.seq, "sha256": rec.sha256})


def record_sent(
    incident: Incident,
    rule_id: str,
    at: datetime,
    evidence_ref: str,
    actor: str,
    rules: Sequence[dl.Rule] | None = None,
) -> Entry:
    """Journal `notification.sent` as `warroom notify sent` does: the rule, when, and the evidence proving it."""
    rules = list(rules) if rules is not None else dl.load_rules()
    rule = dl.find_rule(rules, rule_id)
    evidence = incident.resolve_evidence(evidence_ref)
    entry = incident.journal.append(
        "notification.sent",
        {
            "rule": rule.id,
            "at": format_instant(at),
            "evidence_id": evidence["evidence_id"],
            "sha256": evidence["sha256"],
        },
        actor,
    )
    dl.record_clocks(incident.journal, actor, rules)  # the clocks this notice starts (chained notices)
    return entry


def latest_drafts(journal: Journal) -> dict[str, dict[str, Any]]:
    """The latest notice draft per rule id (seq, when, who, evidence id, SHA-256...)."""
    return journal.state("notice.drafts")


def project_draft(entry: Entry, get: Callable[[str, str], Any]) -> Iterable[tuple[str, str, Any]]:
    """`notice.drafts/<rule>`: the latest draft per rule (the report lists them next to the clocks)."""
    d = entry.data
    yield (
        "notice.drafts",
        d["rule"],
        {
            "seq": entry.seq,
            "at": entry.recorded_utc,
            "actor": entry.actor,
            "evidence_id": d["evidence_id"],
            "sha256": d["sha256"],
            "template": d["template"],
            "gaps": d.get("gaps", []),
        },
    )
