"""The incident's findings: a snapshot's findings followed with what the incident already knew and did.

Findings judge a snapshot; containment (another area, which never reads findings) records what was done. This
module joins them for every front end, the exercise player included: it reads the containment the journal holds
as verified (confirmed manual tasks, actions that finished) and hands it, with the incident findings recorded
before, to `findings.follow`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app import findings as fd
from app.containment import execute as containment
from app.containment.store import load_plan
from app.incident.core import Incident

# Actions whose finished run closes something, and the plan steps that name whom.
_USER_OPS = {"delete_session": "UsersId", "freeze_user": "UserId", "delete_assignment": "AssigneeId"}


def closures(incident: Incident) -> list[fd.Closure]:
    """Containment the journal holds as done: manual tasks confirmed with evidence, and actions that finished
    (status done) with the apps and users their plans named."""
    out: list[fd.Closure] = []
    for action in containment.status(incident):
        for task in action.tasks:
            if task.status == "confirmed":
                ref = f"{task.task_id} confirmed by {task.confirmed_by} with evidence {task.evidence_id}"
                out.append(fd.Closure(task.kind, task.target, ref, task.confirmed_utc))
        if action.status != "done" or action.undone_by or action.undoes:
            continue
        plan = load_plan(incident, action.action_id)
        ref = f"{action.action_id} ({action.action}) done, {action.done}/{action.total} record(s)"
        targets: set[str] = set()
        if plan.selectors.app:
            targets.add(plan.selectors.app)
        targets.update(u for u in [plan.selectors.user, *plan.selectors.users] if u)
        for step in plan.steps:
            field = _USER_OPS.get(step.op)
            if field and step.before.get(field):
                targets.add(str(step.before[field]))
            if step.before.get("Username"):
                targets.add(str(step.before["Username"]))
        kinds = [action.action] + (["end_sessions"] if action.action == "quarantine_org" else [])
        out += [fd.Closure(kind, target, ref) for kind in kinds for target in sorted(targets)]
    return out


def incident_findings(
    incident: Incident,
    snap: Any,
    *,
    indicators: fd.Indicators | None = None,
    exported: Sequence[str] = (),
    extra: Sequence[fd.Finding] = (),
) -> list[fd.Finding]:
    """The snapshot's findings (plus `extra`, e.g. a repository scan's) with the incident findings followed:
    open until their containment is verified, closed with what closed them."""
    found = list(fd.evaluate(snap, indicators=indicators, exported=exported)) if snap is not None else []
    found += list(extra)
    if snap is None:
        return fd.ordered(found)
    return fd.ordered(fd.follow(found, fd.followed(incident), snap, closures(incident)))


def record_findings(
    incident: Incident,
    snap: Any,
    actor: str,
    *,
    evidence_id: str | None,
    indicators: fd.Indicators | None = None,
    exported: Sequence[str] = (),
    extra: Sequence[fd.Finding] = (),
) -> list[fd.Finding]:
    """The incident's findings for `snap` (see `incident_findings`), journaled when they changed."""
    found = incident_findings(incident, snap, indicators=indicators, exported=exported, extra=extra)
    fd.record(incident, found, evidence_id, actor)
    return found
