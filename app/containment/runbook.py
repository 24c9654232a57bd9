"""The human half of an exported containment plan: a Markdown runbook beside the executable plan file.

Someone on a connected machine may have to run the plan without the person who made it: the runbook says
what will change (with counts and the records), how to approve and apply it so the run is tied to the
journaled hash, what to do by hand in Setup, and how to check the result with a query of their own.
"""

from __future__ import annotations

from app.containment.models import NOT_UNDOABLE, OP_LABELS, UNDO_OP, Plan

MAX_LISTED = 200  # records listed per operation; the plan file holds all of them


def _esc(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_runbook(plan: Plan, *, plan_file: str) -> str:
    lines: list[str] = []
    add = lines.append
    add(f"# Containment runbook: {plan.action} on {plan.org_alias} ({plan.plan_id})")
    add("")
    add(f"- Plan file: `{plan_file}`")
    add(
        f"- Plan SHA-256: `{plan.sha256}` (journaled as `action.plan`; `warroom contain apply` refuses a file "
        "whose content no longer hashes to this)"
    )
    add(
        f"- Org: `{plan.org_alias}`"
        + (f", {plan.instance_url}" if plan.instance_url else "")
        + (f", org id {plan.org_id}" if plan.org_id else "")
    )
    add(f"- Made by {plan.created_by} at {plan.created_utc}" + (f", ticket {plan.ticket}" if plan.ticket else ""))
    if plan.basis.get("kind") == "snapshot":
        add(
            f"- Before-state: inventory snapshot {plan.basis.get('evidence_id')} taken {plan.basis.get('taken_utc')} "
            "(no network when planned). The run reads every record again first: records changed since are "
            "reported as already done; tokens issued since are counted and need a new plan."
        )
    elif plan.basis.get("kind") == "org":
        add(f"- Before-state: read from the org at planning time as {plan.basis.get('login')}")
    sel = [
        f"app `{plan.selectors.app}`" if plan.selectors.app else "",
        f"user `{plan.selectors.user}`" if plan.selectors.user else "",
        "all integration users" if plan.selectors.integration_users else "",
    ]
    if any(sel):
        add(f"- Scope: {', '.join(s for s in sel if s)}")
    if plan.undoes:
        add(f"- Undoes: {plan.undoes}")
    add("")
    add("## What changes")
    add("")
    if plan.steps:
        add("| Operation | Records | Can be undone |")
        add("|---|---:|---|")
        for op, n in plan.counts.items():
            undo = UNDO_OP.get(op)
            add(f"| {OP_LABELS.get(op, op)} | {n} | {'yes (`warroom contain undo`)' if undo else 'no'} |")
    else:
        add("No record changes through the API; this plan is manual tasks only.")
    if plan.refused:
        add("")
        add(f"Not touched ({len(plan.refused)}):")
        add("")
        for r in plan.refused[:MAX_LISTED]:
            add(f"- {r.sobject} {r.label}: {r.reason}")
    if plan.notes:
        add("")
        add("Notes:")
        add("")
        for note in plan.notes:
            add(f"- {note}")
    add("")
    add("## Apply it (from a machine that reaches the org)")
    add("")
    add("1. Copy the plan file to the machine holding the incident's journal (or a copy of the workspace).")
    add(
        f"2. Approve: the approver types the org alias. If the incident requires an approver other than the "
        f"executor, the approver runs `warroom --actor APPROVER contain approve {plan_file} --confirm "
        f"{plan.org_alias}` first."
    )
    add(
        f"3. Run: `warroom contain apply {plan_file} --confirm {plan.org_alias}` (without `--confirm` it asks "
        "for the alias). It journals the intent before the first call, then one result per record."
    )
    add(
        "4. If the run stops (rate limit, expired session, network), run the same command again: it sends only "
        "the records not yet done."
    )
    add("5. Check: `warroom contain status`; the journal holds the result, the state after and a checkpoint.")
    add("")
    if plan.steps:
        add("## Records")
        for op in plan.counts:
            steps = [s for s in plan.steps if s.op == op]
            add("")
            add(f"### {OP_LABELS.get(op, op)} ({len(steps)})")
            add("")
            add("| # | Record | What |")
            add("|---:|---|---|")
            for s in steps[:MAX_LISTED]:
                add(f"| {s.n} | `{_esc(s.record)}` | {_esc(s.label)} |")
            if len(steps) > MAX_LISTED:
                add(f"| | | … and {len(steps) - MAX_LISTED} more in the plan file |")
        add("")
    if plan.manual_tasks:
        add("## Manual tasks (no API: do these in Setup)")
        for t in plan.manual_tasks:
            add("")
            add(f"### {t.task_id}: {t.title}")
            add("")
            for i, step in enumerate(t.steps, start=1):
                add(f"{i}. {step}")
            add("")
            add(
                f"Evidence: {t.evidence}. Add it with `warroom evidence add FILE`, then close the task with "
                f"`warroom contain confirm {t.task_id} --evidence EVIDENCE_ID`."
            )
        add("")
    checks = _checks(plan)
    if checks:
        add("## Verify afterwards")
        add("")
        for line in checks:
            add(f"- {line}")
        add("")
    undoable = [op for op in plan.counts if op in NOT_UNDOABLE]
    if undoable:
        add("## Cannot be undone")
        add("")
        for op in undoable:
            add(f"- {OP_LABELS[op]}: {NOT_UNDOABLE[op]}.")
        add("")
    return "\n".join(lines)


def _checks(plan: Plan) -> list[str]:
    out: list[str] = []
    if plan.token_where and "revoke_token" in plan.counts:
        out.append(
            f"`SELECT COUNT() FROM OauthToken WHERE {plan.token_where}` returns 0 (tokens issued after the "
            "plan show up here too: plan again for them)."
        )
    if "delete_session" in plan.counts:
        out.append(
            "`SELECT COUNT() FROM AuthSession WHERE UsersId IN (...)` for the users above returns 0; a "
            "session that re-appears means a credential still works."
        )
    if "freeze_user" in plan.counts:
        out.append("`SELECT UserId, IsFrozen FROM UserLogin WHERE UserId IN (...)` shows IsFrozen = true.")
    if "deactivate_user" in plan.counts:
        out.append("`SELECT Id, IsActive FROM User WHERE Id IN (...)` shows IsActive = false.")
    if "delete_assignment" in plan.counts:
        out.append("`SELECT Id FROM PermissionSetAssignment WHERE Id IN (...)` returns none of the ids above.")
    if "update_metadata" in plan.counts:
        out.append("readMetadata of the components above shows the settings deployed (`warroom harden check`).")
    if "delete_trace_flag" in plan.counts:
        out.append("Tooling `SELECT Id FROM TraceFlag WHERE Id IN (...)` returns none of the ids above.")
    if "update_debug_level" in plan.counts:
        out.append("Tooling `SELECT Id, Callout, ApexCode FROM DebugLevel WHERE Id IN (...)` shows the lowered levels.")
    return out
