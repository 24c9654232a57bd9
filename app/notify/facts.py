"""What a notice draws on: the details a responder records (`notify detail`, journaled, with workspace defaults)
and everything else read once from the incident (deadline facts, clock, containment, checklist, exfiltration)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app import deadlines as dl
from app.base.errors import UsageError, WarroomError
from app.incident.record import evidence_raw

if TYPE_CHECKING:
    from app.incident.core import Incident
    from app.journal.entries import Entry


DETAIL_KIND = "notice.detail"
DETAIL_NAMESPACE = "notice"

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
    from app.base.config import load_config

    extra = load_config(home).model_extra or {}
    table = extra.get("notice")
    return dict(table) if isinstance(table, dict) else {}


def gather(
    incident: Incident,
    rule: dl.Rule,
    *,
    rules: Sequence[dl.Rule],
    now: datetime,
    defaults: Mapping[str, Any] | None = None,
) -> NoticeFacts:
    from app import checklist as cl
    from app.containment.history import containment_actions
    from app.hunt import exfiltration_rows

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
        evidence=evidence_raw(journal),
    )


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
