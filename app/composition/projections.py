"""Which entry kinds change derived state, and how: the registry every journal is opened and verified with.

Each area writes its projectors (and payload models, where it has them) next to its own logic and adds one line
here; the journal itself knows no area. References are "module:attribute" and are imported on the first entry of
their kind, so writing a note does not import every area (tests/test_layers.py resolves every reference).
A projector yields (namespace, key, value) triples; a value of None deletes the key.
"""

from __future__ import annotations

from app.journal.registry import KindSpec, Registry

_INCIDENT = "app.incident.record"
_PAYLOADS = "app.incident.payloads"
_CHECKLIST = "app.checklist.progress"
_DEADLINES = "app.deadlines.facts"
_CONTAINMENT = "app.containment.execute:project"
_EXERCISE = "app.exercise.runner"
_FORENSICS = "app.forensics.collect"
_NOTIFY_FACTS = "app.notify.facts"
_COSTS = "app.costs.ledger"
_MONITOR = "app.monitoring.window:project"

KINDS: dict[str, KindSpec] = {
    "genesis": KindSpec(f"{_INCIDENT}:project_genesis"),
    "incident.update": KindSpec(f"{_INCIDENT}:project_update"),
    "evidence.acquired": KindSpec(f"{_INCIDENT}:project_evidence", f"{_PAYLOADS}:EvidencePayload"),
    "custody.event": KindSpec(f"{_INCIDENT}:project_custody", f"{_PAYLOADS}:CustodyPayload"),
    "anchor.made": KindSpec(f"{_INCIDENT}:project_anchor", f"{_PAYLOADS}:AnchorPayload"),
    "checkpoint": KindSpec(f"{_INCIDENT}:project_checkpoint", f"{_PAYLOADS}:CheckpointPayload"),
    "settings.set": KindSpec("app.incident.settings:project"),
    "checklist.state": KindSpec(f"{_CHECKLIST}:project_state"),
    "checklist.source": KindSpec(f"{_CHECKLIST}:project_source"),
    "facts.set": KindSpec(f"{_DEADLINES}:project_fact"),
    "deadline.override": KindSpec(f"{_DEADLINES}:project_override"),
    "deadline.clock": KindSpec("app.deadlines.recorded:project_clock"),
    "notification.sent": KindSpec(f"{_DEADLINES}:project_notification"),
    "deadline.pause": KindSpec(f"{_DEADLINES}:project_pause"),
    "deadline.resume": KindSpec(f"{_DEADLINES}:project_resume"),
    "collect.progress": KindSpec(f"{_FORENSICS}:project_progress"),
    "collect.run": KindSpec(f"{_FORENSICS}:project_run"),
    "hunt.hit": KindSpec("app.hunt.hunting:project_hit"),
    "inventory.snapshot": KindSpec("app.inventory.store:project_snapshot"),
    "inventory.findings": KindSpec("app.findings.store:project_findings"),
    "action.plan": KindSpec(_CONTAINMENT),
    "action.approval": KindSpec(_CONTAINMENT),
    "action.intent": KindSpec(_CONTAINMENT),
    "action.result": KindSpec(_CONTAINMENT),
    "action.task_confirmed": KindSpec(_CONTAINMENT),
    "action.withdrawn": KindSpec("app.containment.withdraw:project_withdrawn"),
    "action.recovery_failed": KindSpec(),
    "evidence.cleaned": KindSpec(),
    "notice.detail": KindSpec(f"{_NOTIFY_FACTS}:project_detail"),
    "notify.drafted": KindSpec("app.notify.drafting:project_draft"),
    "exercise.start": KindSpec(f"{_EXERCISE}:project_start"),
    "exercise.inject": KindSpec(f"{_EXERCISE}:project_inject"),
    "exercise.ack": KindSpec(f"{_EXERCISE}:project_ack"),
    "exercise.end": KindSpec(f"{_EXERCISE}:project_end"),
    "cost.added": KindSpec(f"{_COSTS}:project_cost", f"{_COSTS}:CostPayload"),
    "cost.budget": KindSpec(f"{_COSTS}:project_budget", f"{_COSTS}:BudgetPayload"),
    "grant.checked": KindSpec("app.grants.listing:project_check"),
    "monitoring.window": KindSpec(_MONITOR),
    "monitoring.run": KindSpec(_MONITOR),
    "monitoring.alert": KindSpec(_MONITOR),
    "monitoring.ack": KindSpec(_MONITOR),
    "reconnect.plan": KindSpec("app.reconnection.plans:project"),
    "reconnect.approved": KindSpec("app.reconnection.plans:project"),
    "reconnect.refused": KindSpec(),
    "harden.checked": KindSpec(),
    "team.responder": KindSpec("app.team.roster:project_responder", "app.team.payloads:ResponderPayload"),
    "team.rejected": KindSpec("app.team.roster:project_rejected"),
    "team.remote": KindSpec("app.team.roster:project_remote"),
}

REGISTRY = Registry(KINDS)
