"""The report's model: what an auditor samples (timeline, controls, clocks, containment, evidence and custody,
exfiltration, open items) and the journal summary, with the format constants."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

import rfc8785
from pydantic import BaseModel

from app.report.series import Series

FORMAT = "warroom.report"
FORMAT_VERSION = 1
REPORT_KIND = "report.generated"
FORMATS = ("md", "html", "json", "pdf")
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
    origin: str | None = None  # a team incident: the responder whose laptop's chain holds the entry


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
    version: str = ""
    calendar_note: str | None = None
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
    rows: int | None
    rows_unknown: list[str] = []
    queries: int
    first_seen: str | None = None
    last_seen: str | None = None
    source_ips: list[str] = []
    evidence: list[str] = []


class CostTotalRow(BaseModel):
    category: str  # "all categories" for a currency's grand total
    currency: str
    amount: str  # a Decimal as text: money is never a float
    count: int


class BudgetRow(BaseModel):
    category: str  # "*" for the whole response
    currency: str
    amount: str
    spent: str
    remaining: str
    over: bool
    seq: int


class FineRow(BaseModel):
    regime: str
    jurisdictions: list[str]
    figure: str
    citation: str | None = None
    source: str | None = None
    basis: str


class GrantRow(BaseModel):
    action_id: str
    org_alias: str
    assignee: str
    permission_set: str
    reason: str
    requested_by: str
    approver: str
    expires_utc: str
    state: str  # the last check by query, or what the journal says was done
    checked_utc: str | None = None


class MonitoringAlertRow(BaseModel):
    seq: int
    recorded_utc: str
    type: str
    title: str
    detail: str = ""
    run: int | None = None
    day: int | None = None


class MonitoringSummary(BaseModel):
    start_utc: str
    end_utc: str
    days: int
    org_alias: str
    day: int
    ended: bool
    closed: str | None = None  # when, by whom and the decision, when a responder closed it
    runs: int
    days_with_a_run: int
    days_without_a_run: list[int] = []
    alerts_by_type: dict[str, int] = {}
    alerts: list[MonitoringAlertRow] = []


class ReconnectRow(BaseModel):
    reconnect_id: str
    app: str
    user: str
    planned_by: str
    status: str
    approved_by: str | None = None
    preconditions: dict[str, str] = {}  # name -> met / not met / unknown, as last checked


class Recovery(BaseModel):
    """Remediation and recovery: just-in-time grants, the cost ledger against its budget, and the fine ranges of
    the regimes that apply."""

    grants: list[GrantRow] = []
    monitoring: MonitoringSummary | None = None
    reconnects: list[ReconnectRow] = []
    cost_totals: list[CostTotalRow] = []
    costs_booked: int = 0
    budgets: list[BudgetRow] = []
    fines: list[FineRow] = []
    fines_error: str | None = None


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
    detected_utc: str | None = None
    status: str | None = None
    severity: str | None = None
    commander: str | None = None
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
    series: Series | None = None  # the data behind the pictures (app.report.series)
    recovery: Recovery = Recovery()
    # SHA-256 of the canonical JSON (RFC 8785) of this report with this field empty.
    report_sha256: str = ""

    def content_hash(self) -> str:
        doc = self.model_dump(mode="json")
        doc["report_sha256"] = ""
        return hashlib.sha256(rfc8785.dumps(doc)).hexdigest()
