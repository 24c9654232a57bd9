"""How a tabletop went: a score from the journal against the scenario's ground truth, and the after-action report.

Four measures, each 0-100, derived only from the journal (plus, when the simulated orgs are still running, a
last look at whether the compromised apps still hold tokens):

- deadlines: every notification clock that came due during the exercise, met (notice recorded before its due
  time), late, or missed; clocks not yet due at the end are listed but not scored;
- checklist: items due during the exercise (or done), done on time, late, or still open when due;
- containment: for each compromised app (the seed's and scenario's truth, plus what injects revealed), the first
  successful revoke whose verification found none of its tokens left, timed from when the app was known to be
  compromised, against the scenario's target;
- evidence: items marked done with nothing to show for them, and forensic sources never preserved.

The total weights them 30 / 25 / 30 / 15. Whole numbers only (the journal refuses floats).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from app.base.clock import format_instant, parse_instant
from app.base.errors import WarroomError
from app.checklist import format_duration, parse_duration
from app.exercise.journaled import current_exercise
from app.exercise.scenario import LoadedScenario, truth_of

if TYPE_CHECKING:
    from app.incident.core import Incident
    from app.simorg import SimOrg

WEIGHTS = {"deadlines": 30, "checklist": 25, "containment": 30, "evidence": 15}
CONTAIN_ACTIONS = ("revoke_tokens", "quarantine_org")
USER_ACTIONS = ("freeze_users", "deactivate_users", "quarantine_org")


class DeadlineScore(BaseModel):
    rule: str
    jurisdiction: str
    recipient: str
    due_utc: str | None
    notified_utc: str | None
    outcome: Literal["met", "late", "missed", "open"]


class ItemScore(BaseModel):
    id: str
    title: str
    due_utc: str
    done_utc: str | None
    outcome: Literal["on_time", "late", "missed", "open", "not_applicable"]


class ContainScore(BaseModel):
    org: str
    kind: Literal["app", "user"]
    name: str
    known_from_utc: str
    contained: bool
    contained_utc: str | None = None
    minutes_to_contain: int | None = None
    target_minutes: int
    tokens_left: int | None = None  # from the simulated org at the end, when it was still running
    result_seq: int | None = None
    points: int = 0


class EvidenceGap(BaseModel):
    kind: Literal["item_without_evidence", "source_not_collected"]
    id: str
    detail: str


class Score(BaseModel):
    scenario: str
    incident_id: str
    # "aborted": the exercise stopped early (its end journaled with the reason); "unfinished": no end recorded
    status: Literal["completed", "aborted", "unfinished"] = "completed"
    aborted: str | None = None
    started_utc: str
    ended_utc: str
    elapsed: str
    deadlines_met: int
    deadlines_late: int
    deadlines_missed: int
    deadlines_open: int
    items_on_time: int
    items_late: int
    items_missed: int
    items_open: int
    apps_compromised: int
    apps_contained: int
    evidence_gaps_count: int
    parts: dict[str, int]
    total: int
    deadlines: list[DeadlineScore]
    items: list[ItemScore]
    containment: list[ContainScore]
    evidence_gaps: list[EvidenceGap]

    def journal_summary(self) -> dict[str, Any]:
        """What `exercise.end` records: the figures and the per-app containment (lists of items are long)."""
        data = self.model_dump(mode="json", exclude={"items", "deadlines", "evidence_gaps"})
        data["deadlines_missed_rules"] = [d.rule for d in self.deadlines if d.outcome in ("missed", "late")]
        data["items_missed_ids"] = [i.id for i in self.items if i.outcome == "missed"]
        data["evidence_gap_ids"] = [g.id for g in self.evidence_gaps]
        return data


def _ratio(good: int, half: int, total: int) -> int:
    """Whole-number percentage; `half` counts for half (late but done)."""
    if total <= 0:
        return 100
    return (2 * good + half) * 50 // total


# -- the four measures -----------------------------------------------------------------------------------------


def _deadlines(incident: Incident, end: datetime) -> list[DeadlineScore]:
    from app import deadlines as dl

    out: list[DeadlineScore] = []
    for t in dl.incident_timers(incident.journal, end):
        if t.state == "not_applicable":
            continue
        if t.notified_utc is not None:
            outcome: Literal["met", "late", "missed", "open"] = "late" if t.late else "met"
        elif t.due_utc is not None and parse_instant(t.due_utc) <= end:
            outcome = "missed"
        else:
            outcome = "open"
        out.append(
            DeadlineScore(
                rule=t.rule,
                jurisdiction=t.jurisdiction,
                recipient=t.recipient,
                due_utc=t.due_utc,
                notified_utc=t.notified_utc,
                outcome=outcome,
            )
        )
    return out


def _items(incident: Incident, end: datetime) -> tuple[list[ItemScore], list[EvidenceGap]]:
    from app import checklist as cl

    checklist = cl.incident_checklist(incident)
    status = cl.checklist_status(incident, checklist, end)
    kinds_seen: dict[str, int] = {}
    for kind, seq in incident.journal.connection.execute("SELECT kind, min(seq) FROM entries GROUP BY kind"):
        kinds_seen[kind] = seq
    states = incident.journal.state(cl.NAMESPACE)
    by_id = {i.id: i for i in checklist.items}
    items: list[ItemScore] = []
    gaps: list[EvidenceGap] = []
    for st in status.items:
        due = parse_instant(st.due_utc)
        if st.state == cl.ItemState.NOT_APPLICABLE:
            outcome: Literal["on_time", "late", "missed", "open", "not_applicable"] = "not_applicable"
        elif st.state == cl.ItemState.DONE:
            done = parse_instant(st.done_utc) if st.done_utc else end
            outcome = "on_time" if done <= due else "late"
            state = states.get(st.id, {})
            if not _has_evidence(by_id[st.id], state, kinds_seen):
                gaps.append(
                    EvidenceGap(
                        kind="item_without_evidence",
                        id=st.id,
                        detail=f"{st.title}: done without evidence (expected: {'; '.join(by_id[st.id].evidence)})",
                    )
                )
        elif due <= end:
            outcome = "missed"
        else:
            outcome = "open"
        items.append(ItemScore(id=st.id, title=st.title, due_utc=st.due_utc, done_utc=st.done_utc, outcome=outcome))
    return items, gaps


def _has_evidence(item: Any, state: Mapping[str, Any], kinds_seen: Mapping[str, int]) -> bool:
    """Evidence attached, or a journal entry of a kind the item names (before it was closed), or an
    attestation recorded as the state change's note."""
    if state.get("evidence"):
        return True
    closed_seq = int(state.get("seq") or 0)
    for spec in item.evidence:
        kind, _, what = spec.partition(":")
        kind, what = kind.strip(), what.strip()
        if kind == "journal":
            entry_kind = what.split(" ", 1)[0]
            first = kinds_seen.get(entry_kind)
            if first is not None and first <= closed_seq:
                return True
        elif kind == "attestation" and state.get("note"):
            return True
    return False


def _sources(incident: Incident) -> list[EvidenceGap]:
    from app.forensics.collect import SOURCES

    reported: dict[str, str] = {}
    preserved: dict[str, int] = {}
    for entry in incident.journal.entries(kind="collect.run"):
        for s in entry.data.get("sources", []) or []:
            name = s.get("source")
            if not name:
                continue
            reported[name] = s.get("available", "no")
            preserved[name] = max(preserved.get(name, 0), int(s.get("preserved") or 0))
    for value in incident.journal.state("collect").values():
        src = value.get("source")
        if src:
            preserved[src] = preserved.get(src, 0) + 1
    gaps: list[EvidenceGap] = []
    for source in SOURCES:
        if source not in reported:
            gaps.append(
                EvidenceGap(
                    kind="source_not_collected", id=source, detail=f"{source}: never collected (warroom collect)"
                )
            )
        elif reported[source] != "no" and preserved.get(source, 0) == 0:
            gaps.append(
                EvidenceGap(
                    kind="source_not_collected",
                    id=source,
                    detail=f"{source}: available in the org but nothing was preserved",
                )
            )
    return gaps


def _touched(a: Mapping[str, Any], name: str) -> bool:
    """Whether a containment run changed (or found already changed) a record of `name` (a username)."""
    records = (a.get("data") or {}).get("records")
    if records is None:
        return True  # per-record results stored as evidence: trust the run's status
    needle = name.lower()
    return any(r.get("status") in ("ok", "already") and needle in json.dumps(r).lower() for r in records)


def _contained_by(
    incident: Incident, name: str, kind: str, since: datetime, org: str | None = None
) -> tuple[datetime, int] | None:
    """The first successful containment run, at or after `since`, that left nothing of `name` behind: for an
    app, a revoke whose verification found none of its tokens left; for a user, a freeze, deactivation or
    quarantine whose records include that user."""
    from app.containment.history import containment_actions

    for a in containment_actions(incident):
        if a["status"] != "done" or a.get("result_seq") is None:
            continue
        sel = a.get("selectors") or {}
        when = parse_instant(a["recorded_utc"])
        if when < since or (org is not None and a.get("org_alias") not in (None, org)):
            continue
        if kind == "app" and a["action"] in CONTAIN_ACTIONS and (sel.get("app") or "").lower() == name.lower():
            check = (a.get("verification") or {}).get("revoke_token") or {}
            if check.get("matching_now") in (0, None) and not check.get("planned_still_present"):
                return when, int(a["result_seq"])
        if kind == "user" and a["action"] in USER_ACTIONS and _touched(a, name):
            return when, int(a["result_seq"])
    return None


def _user_stopped(orgs: Mapping[str, SimOrg] | None, alias: str, username: str) -> bool | None:
    """Frozen or inactive in the simulated org at the end (None: no org to ask)."""
    org = (orgs or {}).get(alias)
    if org is None:
        return None
    try:
        users = org.store.find("User", Username=username)
        if not users:
            return None
        logins = org.store.find("UserLogin", UserId=users[0]["Id"])
        return (not users[0].get("IsActive", True)) or any(bool(x.get("IsFrozen")) for x in logins)
    except Exception:  # an org that cannot answer any more says nothing either way
        return None


def _tokens_left(orgs: Mapping[str, SimOrg] | None, alias: str, name: str) -> int | None:
    org = (orgs or {}).get(alias)
    if org is None:
        return None
    try:
        return len(org.store.find("OauthToken", AppName=name))
    except Exception:  # an org that cannot answer any more says nothing either way
        return None


def _containment(
    incident: Incident, loaded: LoadedScenario, start: datetime, end: datetime, orgs: Mapping[str, SimOrg] | None
) -> list[ContainScore]:
    target = parse_duration(loaded.scenario.targets.contain_within)
    target_min = int(target.total_seconds() // 60)
    out: list[ContainScore] = []
    for known in truth_of(loaded, end - start):
        since = start + known.known_from
        found = _contained_by(incident, known.name, known.kind, since, known.org)
        left = _tokens_left(orgs, known.org, known.name) if known.kind == "app" else None
        stopped = _user_stopped(orgs, known.org, known.name) if known.kind == "user" else None
        contained = found is not None and left in (None, 0) and stopped is not False
        row = ContainScore(
            org=known.org,
            kind=known.kind,
            name=known.name,
            known_from_utc=format_instant(since),
            contained=contained,
            target_minutes=target_min,
            tokens_left=left,
        )
        if found is not None:
            at, seq = found
            row.contained_utc = format_instant(at)
            row.result_seq = seq
            row.minutes_to_contain = int((at - since).total_seconds() // 60)
        if contained and row.minutes_to_contain is not None:
            late = max(0, row.minutes_to_contain - target_min)
            row.points = max(0, 100 - (late * 100) // max(1, 3 * target_min))
        out.append(row)
    return out


def score(
    incident: Incident,
    loaded: LoadedScenario,
    *,
    orgs: Mapping[str, SimOrg] | None = None,
    now: datetime | None = None,
    aborted: str | None = None,
    unfinished: bool = False,
) -> Score:
    """Score the exercise recorded in `incident` against `loaded`'s truth, as of `now` (default: its clock).

    An aborted exercise (`aborted`: the reason, or the one its journaled end records) scores 0 with status
    "aborted"; its measures are kept for the debrief but count for nothing. `unfinished`: no end was recorded.
    """
    current = current_exercise(incident.journal)
    if current is None:
        raise WarroomError(f"{incident.id} is not an exercise (no exercise.start entry)")
    aborted = aborted or current.get("aborted")
    start = parse_instant(current["start_utc"])
    end = now or incident.journal.clock.now()
    deadlines = _deadlines(incident, end)
    items, gaps = _items(incident, end)
    gaps += _sources(incident)
    contain = _containment(incident, loaded, start, end, orgs)

    def count(rows: list[Any], outcome: str) -> int:
        return sum(1 for r in rows if r.outcome == outcome)

    met, late, missed = count(deadlines, "met"), count(deadlines, "late"), count(deadlines, "missed")
    on_time, item_late, item_missed = count(items, "on_time"), count(items, "late"), count(items, "missed")
    done_items = on_time + item_late
    item_gaps = sum(1 for g in gaps if g.kind == "item_without_evidence")
    source_gaps = sum(1 for g in gaps if g.kind == "source_not_collected")
    from app.forensics.collect import SOURCES

    evidence_total = done_items + len(SOURCES)
    parts = {
        "deadlines": _ratio(met, late, met + late + missed),
        "checklist": _ratio(on_time, item_late, on_time + item_late + item_missed),
        "containment": (sum(c.points for c in contain) // len(contain)) if contain else 100,
        "evidence": ((evidence_total - item_gaps - source_gaps) * 100 // evidence_total) if evidence_total else 100,
    }
    total = sum(parts[k] * w for k, w in WEIGHTS.items()) // sum(WEIGHTS.values())
    status: Literal["completed", "aborted", "unfinished"] = (
        "aborted" if aborted else ("unfinished" if unfinished else "completed")
    )
    return Score(
        scenario=loaded.name,
        incident_id=incident.id,
        status=status,
        aborted=aborted,
        started_utc=format_instant(start),
        ended_utc=format_instant(end),
        elapsed=format_duration(end - start),
        deadlines_met=met,
        deadlines_late=late,
        deadlines_missed=missed,
        deadlines_open=count(deadlines, "open"),
        items_on_time=on_time,
        items_late=item_late,
        items_missed=item_missed,
        items_open=count(items, "open"),
        apps_compromised=sum(1 for c in contain if c.kind == "app"),
        apps_contained=sum(1 for c in contain if c.kind == "app" and c.contained),
        evidence_gaps_count=len(gaps),
        parts=parts,
        total=0 if aborted else total,
        deadlines=deadlines,
        items=items,
        containment=contain,
        evidence_gaps=gaps,
    )
