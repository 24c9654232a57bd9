"""Containment as it happened, read back from the journal: one row per run (plan, approval, intent and result
joined), plus plans never applied (or withdrawn, with who and why) and manual tasks confirmed. The report, notice
drafting and exercise scoring all read containment through this one reader."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.incident.core import Incident
    from app.journal.entries import Entry


def selectors_text(sel: dict[str, Any] | None) -> str:
    sel = sel or {}
    parts = []
    if sel.get("app"):
        parts.append(f"app {sel['app']}")
    if sel.get("user"):
        parts.append(f"user {sel['user']}")
    if sel.get("integration_users"):
        parts.append("integration users")
    return ", ".join(parts)


def containment_actions(incident: Incident) -> list[dict[str, Any]]:
    """One row per containment run (plan, approval, intent and result joined), plus plans never applied
    and manual tasks. Field names follow app/containment/execute.py's entries."""
    plans: dict[str, Entry] = {}
    intents: dict[int, Entry] = {}
    applied: set[str] = set()
    rows: list[dict[str, Any]] = []
    for entry in incident.journal.entries(prefix="action."):
        d = entry.data
        if entry.kind == "action.plan":
            plans[d["action_id"]] = entry
        elif entry.kind == "action.intent":
            intents[entry.seq] = entry
        elif entry.kind == "action.result":
            plan = plans.get(d.get("action_id", ""))
            intent = intents.get(d.get("intent_seq", -1))
            applied.add(d.get("action_id", ""))
            pd = plan.data if plan else {}
            rows.append(
                {
                    "action_id": d.get("action_id"),
                    "plan_seq": plan.seq if plan else None,
                    "intent_seq": d.get("intent_seq"),
                    "result_seq": entry.seq,
                    "seq": entry.seq,
                    "org_alias": d.get("org_alias") or pd.get("org_alias"),
                    "action": d.get("action", "action"),
                    "status": d.get("status", "recorded"),
                    "actor": d.get("executor") or entry.actor,
                    "approver": d.get("approver"),
                    "ticket": pd.get("ticket"),
                    "decided_utc": pd.get("created_utc"),
                    "executed_utc": intent.recorded_utc if intent else None,
                    "recorded_utc": entry.recorded_utc,
                    "target_summary": selectors_text(pd.get("selectors")),
                    "selectors": pd.get("selectors") or {},
                    "pre_state_digest": d.get("before_sha256"),
                    "post_state_digest": d.get("after_sha256"),
                    "counts": d.get("counts", {}),
                    "verification": d.get("verification", {}),
                    "detail": ", ".join(f"{n} {k}" for k, n in (d.get("counts") or {}).items() if n),
                }
            )
    withdrawn = {e.data.get("action_id"): e for e in incident.journal.entries(kind="action.withdrawn")}
    for action_id, plan in plans.items():
        if action_id in applied:
            continue
        pd = plan.data
        gone = withdrawn.get(action_id)
        rows.append(
            {
                "action_id": action_id,
                "plan_seq": plan.seq,
                "intent_seq": None,
                "result_seq": None,
                "seq": plan.seq,
                "org_alias": pd.get("org_alias"),
                "action": pd.get("action", "action"),
                "status": "withdrawn" if gone else "planned, not applied",
                "actor": plan.actor,
                "approver": None,
                "ticket": None,
                "decided_utc": pd.get("created_utc"),
                "executed_utc": None,
                "recorded_utc": plan.recorded_utc,
                "target_summary": selectors_text(pd.get("selectors")),
                "selectors": pd.get("selectors") or {},
                "pre_state_digest": pd.get("before_sha256"),
                "post_state_digest": None,
                "counts": pd.get("counts", {}),
                "verification": {},
                "detail": (
                    f"withdrawn by {gone.actor} at {gone.recorded_utc}: {gone.data.get('reason')}"
                    if gone
                    else f"{pd.get('steps_total', 0)} record(s) planned"
                ),
            }
        )
    for entry in incident.journal.entries(kind="action.task_confirmed"):
        d = entry.data
        rows.append(
            {
                "action_id": d.get("action_id"),
                "plan_seq": None,
                "intent_seq": None,
                "result_seq": entry.seq,
                "seq": entry.seq,
                "action": f"manual task {d.get('kind')}",
                "status": "confirmed",
                "actor": entry.actor,
                "approver": None,
                "ticket": None,
                "decided_utc": None,
                "executed_utc": entry.recorded_utc,
                "recorded_utc": entry.recorded_utc,
                "target_summary": d.get("task_id", ""),
                "selectors": {},
                "pre_state_digest": None,
                "post_state_digest": d.get("evidence_sha256"),
                "counts": {},
                "verification": {},
                "detail": f"evidence {d.get('evidence_id')}",
            }
        )
    rows.sort(key=lambda r: r["seq"])
    return rows
