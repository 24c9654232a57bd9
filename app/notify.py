"""Notice drafts: the text a regulator or the people affected must receive, filled from what the journal knows.

Templates are data (`app/data/notices/*.toml`, one per regime or rule family). Each section answers one element
the law requires (GDPR Art. 33(3)(a)-(d), the California model-form headings, LGPD Art. 48 §1 ...) and holds
`{{field}}` placeholders. A field is filled from the incident's deadline facts, the notice details a responder
recorded (`notify detail KEY VALUE`, with workspace defaults in config.toml `[notice]`), the containment actions
and checklist state in the journal, and the exfiltration table. A field nobody knows yet becomes a visible
`[[GAP: what is missing]]` in the text and is listed again at the end, so a draft can never look complete when
it is not. A draft is evidence: its bytes go to the evidence store and `notify.drafted` journals its SHA-256.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from app import deadlines as dl
from app.clock import format_instant, parse_instant
from app.errors import NotFoundError, UsageError, WarroomError
from app.tomlpos import TomlPositions, decode_error

if TYPE_CHECKING:
    from app.incident import Incident
    from app.journal import Entry

DRAFT_KIND = "notify.drafted"
DETAIL_KIND = "notice.detail"
DETAIL_NAMESPACE = "notice"
GAP_OPEN = "[[GAP: "
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z][a-z0-9_.]*)\s*\}\}")

# What a responder can state for notices (journaled with `notify detail`; config.toml [notice] gives defaults).
DETAIL_KEYS: dict[str, str] = {
    "controller.name": "legal name of the organisation responsible for the data (controller / data owner)",
    "controller.address": "postal address of the organisation",
    "controller.contact": "contact point for the authority (name, role, email, phone)",
    "controller.registration": "registration or licence numbers (company number, DFS licence, SEC CIK ...)",
    "dpo.name": "data protection officer (or encarregado) name",
    "dpo.contact": "data protection officer contact details (email, phone, address)",
    "nature": "plain description of what happened (overrides the summary built from the journal)",
    "period": "when the unauthorised access began and ended (overrides the exfiltration table's first/last seen)",
    "subjects.categories": "categories of people affected (customers, prospects, employees, patients ...)",
    "records.count": "approximate number of personal data records (overrides the exfiltration table total)",
    "consequences": "likely consequences for the people affected",
    "measures.proposed": "measures proposed to address the breach and mitigate its effects",
    "security.measures": "technical and organisational measures that protected the data before the breach",
    "delay.reasons": "reasons the notice is later than the legal deadline",
    "individuals.steps": "what the people affected can do to protect themselves",
    "support.offer": "services offered to the people affected (identity monitoring, helpline ...)",
    "contact.phone": "toll-free number for the people affected",
    "contact.web": "web page with information about the breach",
    "contact.email": "email address for questions about the breach",
    "law_enforcement": "whether law enforcement was informed, and any delay they asked for",
    "material_impact": "material impact or reasonably likely material impact on the company (SEC Item 1.05)",
    "third_party": "the third-party service provider involved, if any (NYDFS, vendor notices)",
    "credit_bureaus": "toll-free numbers and addresses of the major credit reporting agencies (checked before use)",
}


class NoticeError(WarroomError):
    """A notice template that cannot be used; the message names FILE:LINE:COL."""

    exit_code = 2


# -- templates ------------------------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Section(_Strict):
    heading: str = Field(min_length=1)
    requirement: str = ""  # the element of the law this section answers, e.g. "Art. 33(3)(a)"
    text: str = Field(min_length=1)


class Template(_Strict):
    schema_version: int = Field(alias="schema")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str = Field(min_length=1)
    law: str = Field(min_length=1)
    recipient: str = Field(min_length=1)
    rules: list[str] = Field(min_length=1)
    description: str = ""
    preamble: str = ""
    sections: list[Section] = Field(min_length=1)
    closing: str = ""

    @field_validator("schema_version")
    @classmethod
    def _schema(cls, v: int) -> int:
        if v != 1:
            raise ValueError(f"schema {v} is not supported; notice templates are schema 1")
        return v

    def fields(self) -> list[str]:
        texts = [self.preamble, self.closing, *(s.text for s in self.sections), *(s.heading for s in self.sections)]
        out: list[str] = []
        for text in texts:
            for m in _PLACEHOLDER.finditer(text):
                if m.group(1) not in out:
                    out.append(m.group(1))
        return out

    def specificity(self, rule_id: str) -> int | None:
        """How well this template fits `rule_id`: exact id beats a pattern, a longer pattern beats a shorter."""
        best: int | None = None
        for pattern in self.rules:
            if pattern == rule_id:
                return 10_000
            if fnmatch.fnmatchcase(rule_id, pattern):
                score = len(pattern.replace("*", "").replace("?", ""))
                best = score if best is None else max(best, score)
        return best


def notices_dir() -> Path:
    return Path(str(resources.files("app") / "data" / "notices"))


def load_template(path: Path) -> Template:
    """One template file; errors name FILE:LINE:COL and the field, and unknown placeholders are refused."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise NoticeError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        pos, msg = decode_error(exc, text)
        raise NoticeError(f"{path}:{pos.line}:{pos.col}: {msg}") from None
    positions = TomlPositions(text)
    try:
        template = Template.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])  # a typo, not its echo
        loc = tuple(err["loc"])
        pos = positions.locate(loc, prefer_key=err["type"] in ("extra_forbidden", "missing"))
        what = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        raise NoticeError(f"{path}:{pos.line}:{pos.col}: {'.'.join(map(str, loc))}: {what}") from None
    for i, section in enumerate(template.sections):
        for m in _PLACEHOLDER.finditer(section.text + section.heading):
            if m.group(1) not in FIELDS:
                pos = positions.locate(("sections", i, "text"))
                raise NoticeError(f"{path}:{pos.line}:{pos.col}: sections[{i}]: unknown field {{{{{m.group(1)}}}}} "
                                  f"(known: {', '.join(sorted(FIELDS))})")
    for key in ("preamble", "closing"):
        for m in _PLACEHOLDER.finditer(getattr(template, key)):
            if m.group(1) not in FIELDS:
                pos = positions.locate((key,))
                raise NoticeError(f"{path}:{pos.line}:{pos.col}: {key}: unknown field {{{{{m.group(1)}}}}}")
    return template


def load_templates(directory: Path | None = None) -> list[Template]:
    directory = directory or notices_dir()
    templates = [load_template(p) for p in sorted(directory.glob("*.toml"))]
    seen: dict[str, Path] = {}
    for t, p in zip(templates, sorted(directory.glob("*.toml")), strict=True):
        if t.id in seen:
            raise NoticeError(f"{p}: template id {t.id!r} is also used by {seen[t.id]}")
        seen[t.id] = p
    return templates


def template_for(rule_id: str, templates: Sequence[Template]) -> Template:
    """The most specific template whose `rules` match; the generic one (`*`) matches every rule."""
    scored = [(t.specificity(rule_id), t) for t in templates]
    fitting = [(s, t) for s, t in scored if s is not None]
    if not fitting:
        raise NotFoundError(f"no notice template covers rule {rule_id!r} (and no generic '*' template is installed)")
    return max(fitting, key=lambda st: (st[0], st[1].id))[1]


# -- what the journal knows ------------------------------------------------------------------------------------


@dataclass
class NoticeFacts:
    """Everything a field may draw on, read once from the incident."""

    incident_id: str
    title: str
    demo: bool
    now: datetime
    rule: dl.Rule
    facts: dl.IncidentFacts
    details: dict[str, str]
    timer: dl.Timer | None
    notices_sent: dict[str, dl.Notification]
    containment: list[dict[str, Any]]
    checklist_done: list[tuple[str, str, str | None]]  # (item id, title, done_utc)
    checklist_open: list[tuple[str, str, str]]  # (item id, title, phase)
    exfiltration: list[Any]
    evidence: dict[str, dict[str, Any]]
    sources: list[str] = field(default_factory=list)

    def detail(self, key: str) -> str | None:
        value = self.details.get(key)
        if value is None or not str(value).strip():
            return None
        self.sources.append(f"notice detail {key}")
        return str(value).strip()


def notice_details(incident: Incident, defaults: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Recorded details over workspace defaults (config.toml `[notice]`)."""
    out = {k: str(v) for k, v in (defaults or {}).items() if k in DETAIL_KEYS and v is not None}
    out.update({k: v for k, v in incident.journal.state(DETAIL_NAMESPACE).items() if v is not None})
    return out


def workspace_defaults(home: Path) -> dict[str, Any]:
    """The `[notice]` table of config.toml, if any (non-secret organisation facts shared by every incident)."""
    from app.config import load_config

    extra = load_config(home).model_extra or {}
    table = extra.get("notice")
    return dict(table) if isinstance(table, dict) else {}


def gather(incident: Incident, rule: dl.Rule, *, rules: Sequence[dl.Rule], now: datetime,
           defaults: Mapping[str, Any] | None = None) -> NoticeFacts:
    from app import checklist as cl
    from app.report import containment_actions, exfiltration_rows

    journal = incident.journal
    timers = {t.rule: t for t in dl.incident_timers(journal, now, rules)}
    try:
        checklist = cl.incident_checklist(incident)
        status = cl.checklist_status(incident, checklist, now)
        done = [(i.id, i.title, i.done_utc) for i in status.items if i.state == cl.ItemState.DONE]
        open_ = [(i.id, i.title, i.phase) for i in status.items if i.state in cl.OPEN_STATES]
    except WarroomError:
        done, open_ = [], []
    return NoticeFacts(
        incident_id=incident.id,
        title=incident.title,
        demo=bool(journal.genesis.get("demo")),
        now=now,
        rule=rule,
        facts=dl.incident_facts(journal),
        details=notice_details(incident, defaults),
        timer=timers.get(rule.id),
        notices_sent=dl.incident_notifications(journal),
        containment=containment_actions(incident),
        checklist_done=done,
        checklist_open=open_,
        exfiltration=exfiltration_rows(incident),
        evidence=journal.state("evidence"),
    )


# -- fields ---------------------------------------------------------------------------------------------------

FieldFn = Callable[[NoticeFacts], str | None]


@dataclass(frozen=True)
class FieldSpec:
    label: str  # what the gap says is missing
    fill: FieldFn
    optional: bool = False  # detail that supports another element: left out (no gap) when unknown


def _when(at: datetime | None) -> str | None:
    return format_instant(at) if at else None


def _bullets(lines: Iterable[str]) -> str | None:
    items = [f"- {line}" for line in lines if line]
    return "\n".join(items) if items else None


def _affected(nf: NoticeFacts) -> int:
    return nf.facts.total_affected()


def _subjects_count(nf: NoticeFacts) -> str | None:
    n = _affected(nf)
    if n <= 0:
        return None
    nf.sources.append("facts residents.*")
    return f"approximately {n:,}"


def _subjects_here(nf: NoticeFacts) -> str | None:
    n = nf.facts.residents_in(nf.rule.code)
    if n <= 0:
        return None
    nf.sources.append(f"facts residents ({nf.rule.code})")
    return f"{n:,}"


def _residents_table(nf: NoticeFacts) -> str | None:
    rows = sorted(nf.facts.residents.items(), key=lambda kv: (-kv[1], kv[0]))
    if not rows:
        return None
    nf.sources.append("facts residents.*")
    return _bullets(f"{code}: {n:,}" for code, n in rows)


def _data_categories(nf: NoticeFacts) -> str | None:
    cats = [c for c in nf.facts.categories if c != "large_scale"]
    if not cats:
        return None
    nf.sources.append("facts categories")
    return "; ".join(f"{dl.CATEGORIES.get(c, c)}" for c in cats)


def _exfil_total(nf: NoticeFacts) -> int:
    return sum(int(getattr(r, "rows", 0) or 0) for r in nf.exfiltration)


def _records_count(nf: NoticeFacts) -> str | None:
    stated = nf.detail("records.count")
    if stated:
        return stated
    total = _exfil_total(nf)
    if total <= 0:
        return None
    nf.sources.append("exfiltration table")
    return f"approximately {total:,} records read through the Salesforce API"


def _records_by_object(nf: NoticeFacts) -> str | None:
    if not nf.exfiltration:
        return None
    per: dict[str, int] = {}
    for r in nf.exfiltration:
        per[r.object] = per.get(r.object, 0) + int(r.rows or 0)
    nf.sources.append("exfiltration table")
    return _bullets(f"{obj}: {n:,} records" for obj, n in sorted(per.items(), key=lambda kv: -kv[1]) if n)


def _period(nf: NoticeFacts) -> str | None:
    stated = nf.detail("period")
    if stated:
        return stated
    firsts = [r.first_seen for r in nf.exfiltration if r.first_seen]
    lasts = [r.last_seen for r in nf.exfiltration if r.last_seen]
    if not firsts:
        return None
    nf.sources.append("exfiltration table")
    return f"from {min(firsts)} to {max(lasts or firsts)}"


def _apps(nf: NoticeFacts) -> list[str]:
    return sorted({r.app for r in nf.exfiltration if getattr(r, "app", None)})


def _nature(nf: NoticeFacts) -> str | None:
    stated = nf.detail("nature")
    if stated:
        return stated
    parts = [f"{nf.title}."]
    apps = _apps(nf)
    if nf.exfiltration:
        objects = sorted({r.object for r in nf.exfiltration})
        via = f" through the connected app(s) {', '.join(apps)}" if apps else ""
        parts.append(f"An unauthorised party read records of the organisation's Salesforce org{via} "
                     f"(objects: {', '.join(objects)}).")
        period = _period(nf)
        if period:
            parts.append(f"The unauthorised access ran {period}.")
        nf.sources.append("exfiltration table")
    else:
        return None
    return " ".join(parts)


def _detected(nf: NoticeFacts) -> str | None:
    at = nf.facts.detected
    if at:
        nf.sources.append("facts detected")
    return _when(at)


def _aware(nf: NoticeFacts) -> str | None:
    at = nf.facts.aware or nf.facts.detected
    if at:
        nf.sources.append("facts aware")
    return _when(at)


def _determined(nf: NoticeFacts) -> str | None:
    at = nf.facts.breach_determined
    if at:
        nf.sources.append("facts breach_determined")
    return _when(at)


def _materiality(nf: NoticeFacts) -> str | None:
    at = nf.facts.determination
    if at:
        nf.sources.append("facts determination")
    return _when(at)


def _measures_taken(nf: NoticeFacts) -> str | None:
    lines: list[str] = []
    for a in nf.containment:
        if a.get("status") not in ("done", "partial", "confirmed"):
            continue
        what = a.get("action") or "containment action"
        target = a.get("target_summary") or ""
        when = a.get("executed_utc") or a.get("recorded_utc") or ""
        lines.append(f"{when}: {what.replace('_', ' ')}{(' - ' + target) if target else ''} (journal entry "
                     f"{a.get('seq')})")
    for item_id, title, done_utc in nf.checklist_done:
        if item_id.split(".", 1)[0] in ("contain", "forensics", "scope", "remediate"):
            lines.append(f"{done_utc or ''}: {title} (checklist {item_id})")
    if not lines:
        return None
    nf.sources.append("journal: containment actions and checklist")
    return _bullets(sorted(lines))


def _measures_proposed(nf: NoticeFacts) -> str | None:
    stated = nf.detail("measures.proposed")
    if stated:
        return stated
    planned = [f"{title} (checklist {item_id}, open)" for item_id, title, phase in nf.checklist_open
               if phase in ("remediate", "recover", "scope")]
    if not planned:
        return None
    nf.sources.append("checklist open items")
    return _bullets(planned[:12])


def _delay(nf: NoticeFacts) -> str | None:
    t = nf.timer
    stated = nf.detail("delay.reasons")
    if t is None or t.due_utc is None:
        return stated or "No fixed deadline applies to this notice; it is given without undue delay."
    due = parse_instant(t.due_utc)
    if nf.now <= due:
        return stated or (f"Not applicable: this notice is given before its deadline ({t.due_utc}).")
    return stated  # late and no reasons recorded: a gap


def _due(nf: NoticeFacts) -> str | None:
    t = nf.timer
    if t is None:
        return None
    if t.due_utc:
        return f"{t.due_utc} ({t.period} from {t.starts}; {t.basis or t.start_basis or ''})".replace("; )", ")")
    return f"{t.period} ({t.state})"


def _notice_date(nf: NoticeFacts) -> str | None:
    return nf.now.date().isoformat()


def _individuals_notice(nf: NoticeFacts) -> str | None:
    """When the notice to individuals went (an AG sample copy is due with or after it)."""
    candidates = [*nf.rule.anchors, "-".join(nf.rule.id.split("-")[:2]) + "-individuals"]
    sent = [nf.notices_sent[rid] for rid in candidates if rid in nf.notices_sent]
    if not sent:
        return None
    first = min(sent, key=lambda n: n.at)
    nf.sources.append(f"notification.sent {first.rule}")
    return f"{format_instant(first.at)} (evidence {first.evidence_id})"


def _evidence_list(nf: NoticeFacts) -> str | None:
    if not nf.evidence:
        return None
    rows = sorted(nf.evidence.items(), key=lambda kv: kv[1].get("seq", 0))
    return _bullets(f"{eid} {v.get('name') or ''} sha256 {v['sha256']}" for eid, v in rows[:20])


def _credit_bureaus(nf: NoticeFacts) -> str | None:
    """California and several states require the credit bureaus' contacts when SSN or ID numbers leaked."""
    if "government_id" not in nf.facts.categories and "financial" not in nf.facts.categories:
        return "Not applicable: no Social Security, driver's licence, ID card or account numbers were involved."
    return nf.detail("credit_bureaus")


def _law_enforcement(nf: NoticeFacts) -> str | None:
    stated = nf.detail("law_enforcement")
    if stated:
        return stated
    if nf.facts.holds:
        h = nf.facts.holds[0]
        nf.sources.append("deadline holds")
        return (f"{h.requested_by} asked that notice be delayed ({h.justification}); hold {h.hold_id} from "
                f"{format_instant(h.start)}" + (f" to {format_instant(h.end)}" if h.end else " (still active)"))
    return None


def _exercise_banner(nf: NoticeFacts) -> str | None:
    if nf.demo:
        return "EXERCISE / DEMO INCIDENT: this draft was generated in a tabletop exercise and must not be sent."
    return ""


def _detail(key: str) -> FieldFn:
    return lambda nf: nf.detail(key)


def _contact_for_people(nf: NoticeFacts) -> str | None:
    parts = [nf.detail("contact.phone"), nf.detail("contact.email"), nf.detail("contact.web")]
    parts = [p for p in parts if p]
    return ", ".join(parts) if parts else None


def _consequences(nf: NoticeFacts) -> str | None:
    return nf.detail("consequences")


FIELDS: dict[str, FieldSpec] = {
    "incident.id": FieldSpec("incident id", lambda nf: nf.incident_id),
    "incident.title": FieldSpec("incident title", lambda nf: nf.title),
    "exercise.banner": FieldSpec("exercise banner", _exercise_banner),
    "rule.id": FieldSpec("rule id", lambda nf: nf.rule.id),
    "rule.citation": FieldSpec("citation", lambda nf: nf.rule.citation),
    "rule.jurisdiction": FieldSpec("jurisdiction", lambda nf: nf.rule.jurisdiction),
    "rule.deadline": FieldSpec("deadline", _due),
    "notice.date": FieldSpec("date of this notice", _notice_date),
    "breach.nature": FieldSpec("description of the nature of the breach (notify detail nature)", _nature),
    "breach.detected": FieldSpec("detection time (facts set detected)", _detected),
    "breach.aware": FieldSpec("time of awareness (facts set aware)", _aware),
    "breach.determined": FieldSpec("time the breach was determined (facts set breach_determined)", _determined),
    "breach.materiality": FieldSpec("SEC materiality determination time (facts set determination)", _materiality),
    "breach.period": FieldSpec("period of unauthorised access (notify detail period, or a recorded hunt)",
                               _period),
    "subjects.count": FieldSpec("approximate number of people affected (facts set residents.CODE N)",
                                _subjects_count),
    "subjects.here": FieldSpec("number of residents of this jurisdiction affected (facts set residents.CODE N)",
                               _subjects_here),
    "subjects.by_jurisdiction": FieldSpec("people affected per jurisdiction (facts set residents.CODE N)",
                                          _residents_table),
    "subjects.categories": FieldSpec("categories of people affected (notify detail subjects.categories)",
                                     _detail("subjects.categories")),
    "records.categories": FieldSpec("categories of personal data (facts set categories ...)", _data_categories),
    "records.count": FieldSpec("approximate number of records (notify detail records.count, or a hunt)",
                               _records_count),
    "records.by_object": FieldSpec("records per Salesforce object (run a hunt)", _records_by_object, optional=True),
    "consequences": FieldSpec("likely consequences (notify detail consequences)", _consequences),
    "measures.taken": FieldSpec("measures taken (containment actions, checklist)", _measures_taken),
    "measures.proposed": FieldSpec("measures proposed (notify detail measures.proposed)", _measures_proposed),
    "security.measures": FieldSpec("security measures protecting the data (notify detail security.measures)",
                                   _detail("security.measures")),
    "delay.reasons": FieldSpec("reasons for the delay (notify detail delay.reasons)", _delay),
    "controller.name": FieldSpec("organisation name (notify detail controller.name)", _detail("controller.name")),
    "controller.address": FieldSpec("organisation address (notify detail controller.address)",
                                    _detail("controller.address")),
    "controller.contact": FieldSpec("contact point (notify detail controller.contact)",
                                    _detail("controller.contact")),
    "controller.registration": FieldSpec("registration or licence number (notify detail controller.registration)",
                                         _detail("controller.registration")),
    "dpo.name": FieldSpec("DPO name (notify detail dpo.name)", _detail("dpo.name")),
    "dpo.contact": FieldSpec("DPO contact (notify detail dpo.contact)", _detail("dpo.contact")),
    "individuals.steps": FieldSpec("what people can do (notify detail individuals.steps)",
                                   _detail("individuals.steps")),
    "support.offer": FieldSpec("services offered (notify detail support.offer)", _detail("support.offer")),
    "contact.people": FieldSpec("contact for the people affected (notify detail contact.phone / contact.email / "
                                "contact.web)", _contact_for_people),
    "contact.phone": FieldSpec("toll-free number (notify detail contact.phone)", _detail("contact.phone")),
    "law_enforcement": FieldSpec("law-enforcement involvement (notify detail law_enforcement)", _law_enforcement),
    "material_impact": FieldSpec("material impact (notify detail material_impact)", _detail("material_impact")),
    "third_party": FieldSpec("third-party service provider (notify detail third_party)", _detail("third_party")),
    "individuals.notice": FieldSpec("date the individuals were notified (notify sent for the individuals rule)",
                                    _individuals_notice),
    "credit_bureaus": FieldSpec("credit reporting agencies' numbers and addresses (notify detail credit_bureaus)",
                                _credit_bureaus),
    "evidence.list": FieldSpec("evidence references", _evidence_list, optional=True),
}


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

    def fill(text: str, where: str) -> str:
        def sub(m: re.Match[str]) -> str:
            key = m.group(1)
            if key not in cache:
                cache[key] = FIELDS[key].fill(nf)
            value = cache[key]
            if FIELDS[key].optional and not value:
                return ""
            if value is None or (isinstance(value, str) and not value.strip() and key != "exercise.banner"):
                g = gaps.setdefault(key, Gap(field=key, label=FIELDS[key].label, sections=[]))
                if where not in g.sections:
                    g.sections.append(where)
                return _gap(FIELDS[key].label)
            return value

        return _PLACEHOLDER.sub(sub, text)

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
        incident_id=incident.id, rule=rule.id, template=template.id, title=template.title, law=template.law,
        citation=rule.citation, jurisdiction=rule.jurisdiction, recipient=template.recipient,
        generated_utc=format_instant(now), due_utc=timer.due_utc if timer else None,
        timer_state=timer.state if timer else None, text=text, gaps=gaps, sources=sources,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def record_draft(incident: Incident, draft: NoticeDraft, actor: str) -> NoticeDraft:
    """Store the draft's bytes as evidence and journal `notify.drafted` with its SHA-256 and open gaps."""
    stamp = draft.generated_utc.replace(":", "").replace("-", "")
    rec = incident.add_evidence_bytes(
        draft.text.encode("utf-8"), f"notice-draft-{draft.rule}-{stamp}.md", actor,
        note=f"notice draft for {draft.rule} ({len(draft.gaps)} gap(s))",
        source={"notice_template": draft.template, "rule": draft.rule},
    )
    entry = incident.journal.append(DRAFT_KIND, {
        "rule": draft.rule,
        "template": draft.template,
        "sha256": rec.sha256,
        "evidence_id": rec.evidence_id,
        "size": rec.size,
        "gaps": [g.field for g in draft.gaps],
        "due_utc": draft.due_utc,
    }, actor)
    return draft.model_copy(update={"evidence_id": rec.evidence_id, "seq": entry.seq, "sha256": rec.sha256})


def record_sent(incident: Incident, rule_id: str, at: datetime, evidence_ref: str, actor: str,
                rules: Sequence[dl.Rule] | None = None) -> Entry:
    """Journal `notification.sent` as `warroom notify sent` does: the rule, when, and the evidence proving it."""
    rule = dl.find_rule(list(rules) if rules is not None else dl.load_rules(), rule_id)
    evidence = incident.resolve_evidence(evidence_ref)
    return incident.journal.append("notification.sent", {
        "rule": rule.id, "at": format_instant(at), "evidence_id": evidence["evidence_id"],
        "sha256": evidence["sha256"],
    }, actor)


def set_detail(incident: Incident, key: str, value: str | None, actor: str) -> Entry | None:
    """Journal one notice detail (None or '' clears it); returns None when nothing changed."""
    if key not in DETAIL_KEYS:
        raise UsageError(f"unknown notice detail {key!r}; known: {', '.join(DETAIL_KEYS)}")
    clean = value.strip() if value is not None else None
    clean = clean or None
    previous = incident.journal.get_state(DETAIL_NAMESPACE, key)
    if previous == clean:
        return None
    return incident.journal.append(DETAIL_KIND, {"key": key, "value": clean, "previous": previous}, actor)


def project_detail(entry: Entry, get: Callable[[str, str], Any]) -> Iterable[tuple[str, str, Any]]:
    yield DETAIL_NAMESPACE, entry.data["key"], entry.data.get("value")


def project_draft(entry: Entry, get: Callable[[str, str], Any]) -> Iterable[tuple[str, str, Any]]:
    """`notice.drafts/<rule>`: the latest draft per rule (the report lists them next to the clocks)."""
    d = entry.data
    yield "notice.drafts", d["rule"], {"seq": entry.seq, "at": entry.recorded_utc, "actor": entry.actor,
                                       "evidence_id": d["evidence_id"], "sha256": d["sha256"],
                                       "template": d["template"], "gaps": d.get("gaps", [])}
