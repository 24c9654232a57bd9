"""Running a containment plan as one user action: apply it, then move the checklist items the action triggers.

The console, `warroom contain apply` and the exercise player all call `run_plan`, so the same containment leaves
the same journal (`action.intent`, `action.result`, then `checklist.state` for each triggered item) whichever
front end started it. Linking the checklist is a parameter (`link_checklist`); an undo does not use it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from app.base.errors import WarroomError
from app.containment.apply import apply_plan
from app.containment.models import NAMESPACE, ActionResult, Plan, Progress

if TYPE_CHECKING:
    from app.incident.core import Incident
    from app.salesforce.protocol import OrgClient, OrgFactory

SETTLED = ("done", "nothing_to_do")  # every record in the target state


class ChecklistMove(BaseModel):
    """One checklist item moved by a containment result."""

    model_config = ConfigDict(extra="forbid")

    item: str
    previous: str
    state: str
    seq: int


class ContainmentRun(BaseModel):
    """What a containment run did: the action's result and the checklist items it moved."""

    model_config = ConfigDict(extra="forbid")

    result: ActionResult
    checklist: list[ChecklistMove] = Field(default_factory=list)
    checklist_error: str | None = None  # the checklist could not be read: nothing was moved

    @property
    def settled(self) -> bool:
        return self.result.status in SETTLED


def run_plan(
    incident: Incident,
    org: OrgClient | OrgFactory | None,
    plan: Plan,
    confirm_alias: str | None,
    actor: str,
    progress: Progress | None = None,
    *,
    plan_file: Path | None = None,
    link_checklist: bool = True,
    require_distinct_approver: bool = False,
) -> ContainmentRun:
    """Apply `plan` (typed alias, intent journaled first, per-record results; see `apply_plan`) and, with
    `link_checklist`, move the checklist items that trigger this action (`link_result`).
    `require_distinct_approver` is passed to `apply_plan`."""
    result = apply_plan(
        incident,
        org,
        plan,
        confirm_alias,
        actor,
        progress,
        plan_file=plan_file,
        require_distinct_approver=require_distinct_approver,
    )
    run = ContainmentRun(result=result)
    if link_checklist:
        try:
            run.checklist = link_result(incident, plan, result, actor)
        except WarroomError as exc:  # the containment itself stands; say why the checklist did not move
            run.checklist_error = str(exc)
    return run


def link_result(incident: Incident, plan: Plan, result: ActionResult, actor: str) -> list[ChecklistMove]:
    """Move each checklist item whose `triggers` name the plan's action: done when every record is in the target
    state, in progress otherwise. Items already done stay done. The note names the action and the evidence cites
    the stored plan."""
    from app import checklist as cl

    checklist = cl.incident_checklist(incident)
    if result.status in SETTLED:
        state, how = cl.ItemState.DONE, "all records in the target state"
    else:
        state, how = cl.ItemState.IN_PROGRESS, f"{result.status}: see `warroom contain status {plan.plan_id}`"
    current = incident.journal.state(cl.NAMESPACE)
    evidence = _plan_evidence(incident, plan.plan_id)
    moves: list[ChecklistMove] = []
    items = [
        item
        for item in checklist.items
        if plan.action in item.triggers and current.get(item.id, {}).get("state") != cl.ItemState.DONE.value
    ]
    if items:
        cl.record_source(incident, checklist, actor)  # the runbook these changes refer to
    for item in items:
        entry = cl.set_state(
            incident,
            checklist,
            item.id,
            state,
            actor,
            note=f"containment {plan.plan_id} {plan.action} on {plan.org_alias}: {how}",
            evidence=[evidence] if evidence else [],
        )
        moves.append(ChecklistMove(item=item.id, previous=entry.data["previous"], state=state.value, seq=entry.seq))
    return moves


def _plan_evidence(incident: Incident, plan_id: str) -> str | None:
    """The evidence id under which the plan itself is stored."""
    current = incident.journal.get_state(NAMESPACE, plan_id)
    if current is None:
        return None
    entry = incident.journal.entry(current["plan_seq"])
    return entry.data.get("plan_evidence_id") if entry else None
