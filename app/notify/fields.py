"""The `{{field}}` placeholders a notice template may use: each a function of the incident's notice facts that
returns the text, or None for a gap."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from app import deadlines as dl
from app.base.clock import format_instant, parse_instant
from app.notify.facts import NoticeFacts

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
        parts.append(
            f"An unauthorised party read records of the organisation's Salesforce org{via} "
            f"(objects: {', '.join(objects)})."
        )
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
        lines.append(
            f"{when}: {what.replace('_', ' ')}{(' - ' + target) if target else ''} (journal entry {a.get('seq')})"
        )
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
    planned = [
        f"{title} (checklist {item_id}, open)"
        for item_id, title, phase in nf.checklist_open
        if phase in ("remediate", "recover", "scope")
    ]
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
        return (
            f"{h.requested_by} asked that notice be delayed ({h.justification}); hold {h.hold_id} from "
            f"{format_instant(h.start)}" + (f" to {format_instant(h.end)}" if h.end else " (still active)")
        )
    return None


def _exercise_banner(nf: NoticeFacts) -> str | None:
    if nf.demo:
        return "EXERCISE / DEMO INCIDENT: this draft was generated in a tabletop exercise and must not be sent."
    return ""


def _detail(key: str) -> FieldFn:
    return lambda nf: nf.detail(key)


def _contact_for_people(nf: NoticeFacts) -> str | None:
    parts = [p for p in (nf.detail("contact.phone"), nf.detail("contact.email"), nf.detail("contact.web")) if p]
    return ", ".join(parts) if parts else None


def _consequences(nf: NoticeFacts) -> str | None:
    return nf.detail("consequences")


FIELDS: dict[str, FieldSpec] = {
    "incident.id": FieldSpec("incident id", lambda nf: nf.incident_id),
    "incident.title": FieldSpec("incident title", lambda nf: nf.title),
    "exercise.banner": FieldSpec("exercise banner", _exercise_banner),
    "rule.id": FieldSpec("rule id", lambda nf: nf.rule.id),
    "rule.citation": FieldSpec("citation", lambda nf: nf.timer.citation if nf.timer else nf.rule.citation),
    "rule.jurisdiction": FieldSpec("jurisdiction", lambda nf: nf.rule.jurisdiction),
    "rule.deadline": FieldSpec("deadline", _due),
    "notice.date": FieldSpec("date of this notice", _notice_date),
    "breach.nature": FieldSpec("description of the nature of the breach (notify detail nature)", _nature),
    "breach.detected": FieldSpec("detection time (facts set detected)", _detected),
    "breach.aware": FieldSpec("time of awareness (facts set aware)", _aware),
    "breach.determined": FieldSpec("time the breach was determined (facts set breach_determined)", _determined),
    "breach.materiality": FieldSpec("SEC materiality determination time (facts set determination)", _materiality),
    "breach.period": FieldSpec("period of unauthorised access (notify detail period, or a recorded hunt)", _period),
    "subjects.count": FieldSpec("approximate number of people affected (facts set residents.CODE N)", _subjects_count),
    "subjects.here": FieldSpec(
        "number of residents of this jurisdiction affected (facts set residents.CODE N)", _subjects_here
    ),
    "subjects.by_jurisdiction": FieldSpec(
        "people affected per jurisdiction (facts set residents.CODE N)", _residents_table
    ),
    "subjects.categories": FieldSpec(
        "categories of people affected (notify detail subjects.categories)", _detail("subjects.categories")
    ),
    "records.categories": FieldSpec("categories of personal data (facts set categories ...)", _data_categories),
    "records.count": FieldSpec(
        "approximate number of records (notify detail records.count, or a hunt)", _records_count
    ),
    "records.by_object": FieldSpec("records per Salesforce object (run a hunt)", _records_by_object, optional=True),
    "consequences": FieldSpec("likely consequences (notify detail consequences)", _consequences),
    "measures.taken": FieldSpec("measures taken (containment actions, checklist)", _measures_taken),
    "measures.proposed": FieldSpec("measures proposed (notify detail measures.proposed)", _measures_proposed),
    "security.measures": FieldSpec(
        "security measures protecting the data (notify detail security.measures)", _detail("security.measures")
    ),
    "delay.reasons": FieldSpec("reasons for the delay (notify detail delay.reasons)", _delay),
    "controller.name": FieldSpec("organisation name (notify detail controller.name)", _detail("controller.name")),
    "controller.address": FieldSpec(
        "organisation address (notify detail controller.address)", _detail("controller.address")
    ),
    "controller.contact": FieldSpec("contact point (notify detail controller.contact)", _detail("controller.contact")),
    "controller.registration": FieldSpec(
        "registration or licence number (notify detail controller.registration)", _detail("controller.registration")
    ),
    "dpo.name": FieldSpec("DPO name (notify detail dpo.name)", _detail("dpo.name")),
    "dpo.contact": FieldSpec("DPO contact (notify detail dpo.contact)", _detail("dpo.contact")),
    "individuals.steps": FieldSpec(
        "what people can do (notify detail individuals.steps)", _detail("individuals.steps")
    ),
    "support.offer": FieldSpec("services offered (notify detail support.offer)", _detail("support.offer")),
    "contact.people": FieldSpec(
        "contact for the people affected (notify detail contact.phone / contact.email / contact.web)",
        _contact_for_people,
    ),
    "contact.phone": FieldSpec("toll-free number (notify detail contact.phone)", _detail("contact.phone")),
    "law_enforcement": FieldSpec("law-enforcement involvement (notify detail law_enforcement)", _law_enforcement),
    "material_impact": FieldSpec("material impact (notify detail material_impact)", _detail("material_impact")),
    "third_party": FieldSpec("third-party service provider (notify detail third_party)", _detail("third_party")),
    "individuals.notice": FieldSpec(
        "date the individuals were notified (notify sent for the individuals rule)", _individuals_notice
    ),
    "credit_bureaus": FieldSpec(
        "credit reporting agencies' numbers and addresses (notify detail credit_bureaus)", _credit_bureaus
    ),
    "evidence.list": FieldSpec("evidence references", _evidence_list, optional=True),
}
