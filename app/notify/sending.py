"""Recording a notice as sent, as one user action: the time rule, the proof, the journal entry, and what it did
to the clocks (the rule's own, and others anchored on it).

`warroom notify sent`, the console's "mark sent" and a script's `do = "notify.sent"` all call `notice_sent`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from app import deadlines as dl
from app.deadlines.actions import not_in_future
from app.notify.drafting import record_sent

if TYPE_CHECKING:
    from app.incident.core import Incident


class NoticeSent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: str
    at: str
    evidence_id: str
    seq: int
    applies: bool  # False: the rule does not apply to the incident as recorded
    late_after: str | None = None  # the due time the notice was sent after
    moved: list[str] = []  # other clocks whose due time moved (anchored on this notice), one line each


def notice_sent(
    incident: Incident,
    rule_id: str,
    at: datetime,
    evidence_ref: str,
    actor: str,
    *,
    now: datetime,
    rules: Sequence[dl.Rule] | None = None,
) -> NoticeSent:
    """Journal `notification.sent` for `rule_id` at `at` with its proof (an evidence id); `at` may not lie in
    the future (`app.deadlines.actions.FUTURE_SKEW`)."""
    rules = list(rules) if rules is not None else dl.load_rules()
    rule = dl.find_rule(rules, rule_id)
    not_in_future(at, now, "sent at")
    before = {t.rule: t for t in dl.incident_timers(incident.journal, now, rules)}
    entry = record_sent(incident, rule.id, at, evidence_ref, actor, rules)
    after = dl.incident_timers(incident.journal, now, rules)
    mine = next((t for t in after if t.rule == rule.id), None)
    moved = []
    for t in after:
        old = before.get(t.rule)
        if t.rule != rule.id and old is not None and old.due_utc != t.due_utc and t.due_utc:
            moved.append(f"{t.rule}: now due {t.due_utc} ({t.basis})")
    applies = mine is not None and mine.state != "not_applicable"
    return NoticeSent(
        rule=rule.id,
        at=entry.data["at"],
        evidence_id=entry.data["evidence_id"],
        seq=entry.seq,
        applies=applies,
        late_after=mine.due_utc if applies and mine is not None and mine.late else None,
        moved=moved,
    )
