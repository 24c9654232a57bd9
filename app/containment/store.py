"""Containment plans kept three ways: journaled (`action.plan`) with their canonical bytes in the evidence store,
read back by action id, and exported as a plan file with its runbook for an offline machine."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from app.base.errors import NotFoundError, UsageError
from app.base.files import atomic_write, check_output_path, present, read_limited
from app.base.limits import parse_json
from app.containment.models import FAILED_IN_STATE, NAMESPACE, PLAN_FORMAT, ContainmentError, Plan, digest
from app.journal.entries import Entry

if TYPE_CHECKING:
    from app.incident.core import Incident


# --------------------------------------------------------------------------------------------------
# Plans in the journal, in the evidence store and in files
# --------------------------------------------------------------------------------------------------


def journal_plan(
    incident: Incident, plan: Plan, actor: str, *, origin: str = "planned", file: Path | None = None
) -> Entry:
    """Store the plan's canonical bytes as evidence (their SHA-256 is the plan hash) and journal `action.plan`."""
    plan.check_hash(f"plan {plan.plan_id}")
    current = incident.journal.get_state(NAMESPACE, plan.plan_id)
    if current is not None:
        if current["plan_sha256"] != plan.sha256:
            raise ContainmentError(
                f"plan {plan.plan_id} is already journaled with a different hash "
                f"({current['plan_sha256'][:16]}…); this one hashes to {plan.sha256[:16]}…"
            )
        entry = incident.journal.entry(current["plan_seq"])
        assert entry is not None
        return entry
    record = incident.add_evidence_bytes(
        plan.body(),
        f"containment-plan-{plan.plan_id}.json",
        actor,
        note=f"containment plan {plan.plan_id}: {plan.action} on {plan.org_alias}",
        source={"kind": "containment.plan", "action_id": plan.plan_id},
    )
    assert record.sha256 == plan.sha256
    data: dict[str, Any] = {
        "action_id": plan.plan_id,
        "action": plan.action,
        "plan_sha256": plan.sha256,
        "plan_evidence_id": record.evidence_id,
        "origin": origin,
        "org_alias": plan.org_alias,
        "instance_url": plan.instance_url,
        "org_id": plan.org_id,
        "selectors": plan.selectors.model_dump(),
        "counts": plan.counts,
        "steps_total": len(plan.steps),
        "before_sha256": digest([s.before for s in plan.steps]),
        "refused": [r.model_dump() for r in plan.refused[:FAILED_IN_STATE]],
        "refused_count": len(plan.refused),
        "manual_tasks": [t.model_dump() for t in plan.manual_tasks],
        "created_by": plan.created_by,
        "created_utc": plan.created_utc,
    }
    if plan.undoes:
        data["undoes"] = plan.undoes
    if plan.ticket:
        data["ticket"] = plan.ticket
    if plan.grant is not None:
        data["grant"] = plan.grant.model_dump()
    if file is not None:
        data["file"] = str(file)
    return incident.journal.append("action.plan", data, actor)


def plan_from_bytes(raw: bytes, where: str) -> Plan:
    try:
        doc = parse_json(raw, where)
    except UsageError as exc:
        raise ContainmentError(str(exc)) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ContainmentError(f"{where}: not a plan file (JSON: {exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != PLAN_FORMAT:
        raise ContainmentError(f"{where}: not a warroom containment plan (format {PLAN_FORMAT!r} expected)")
    try:
        plan = Plan.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ContainmentError(f"{where}: {loc}: {first['msg']}") from None
    if not plan.sha256:
        plan = plan.model_copy(update={"sha256": hashlib.sha256(raw).hexdigest()}) if raw == plan.body() else plan
    plan.check_hash(where)
    return plan


def load_plan(incident: Incident, ref: str | Path) -> Plan:
    """A plan file (verified against its own hash) or a journaled action id (read back from the evidence store)."""
    path = Path(ref)
    if present(path) and not path.is_dir():
        return plan_from_bytes(read_limited(path, what="plan file"), str(path))
    action_id = str(ref).strip().upper()
    current = incident.journal.get_state(NAMESPACE, action_id)
    if current is None:
        raise NotFoundError(
            f"no containment plan {ref!r}: neither a file nor an action id in {incident.id} "
            "(`warroom contain status` lists them)"
        )
    sha = current["plan_sha256"]
    try:
        raw = incident.evidence.path_for(sha).read_bytes()
    except OSError:
        raise ContainmentError(
            f"plan {action_id}: its stored copy sha256:{sha[:16]}… is missing from the evidence store"
        ) from None
    if hashlib.sha256(raw).hexdigest() != sha:
        raise ContainmentError(f"plan {action_id}: the stored copy no longer matches sha256:{sha[:16]}…")
    plan = plan_from_bytes(raw, f"plan {action_id}")
    return plan


def export_plan(plan: Plan, out: Path) -> tuple[Path, Path]:
    """Write the executable plan file and its runbook (Markdown, same name with .md) beside it."""
    from app.containment.runbook import render_runbook

    plan.check_hash(f"plan {plan.plan_id}")
    out = check_output_path(out)
    runbook = out.with_suffix(".md") if out.suffix.lower() != ".md" else out.with_suffix(".runbook.md")
    check_output_path(runbook)
    atomic_write(out, (plan.model_dump_json(indent=2) + "\n").encode("utf-8"))
    atomic_write(runbook, render_runbook(plan, plan_file=out.name).encode("utf-8"))
    return out, runbook
