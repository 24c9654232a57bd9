"""What the panes show, read from `app/`: the core computes, this module only picks fields for the widgets.

Each function takes the core's own result (checklist status, deadline timers, inventory, containment status)
and returns the small row types the widgets draw, so a widget never reaches into the journal itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app import checklist as cl
from app import deadlines as dl
from app import findings as fd
from app import inventory as inv
from app.base.clock import parse_instant
from app.composition.incident_findings import incident_findings
from app.containment import execute as ct
from app.incident.core import Incident
from app.inventory import current_summary
from screens.widgets.checklist_pane import ItemRow, PhaseRow
from screens.widgets.countdown_pane import CountdownRow
from screens.widgets.inventory_pane import InventoryRow


def _instant(text: str | None) -> datetime | None:
    return parse_instant(text) if text else None


class ChecklistSource:
    """The incident's checklist, loaded once; status recomputed from cached states at each tick (no I/O)."""

    def __init__(self, incident: Incident) -> None:
        self.incident = incident
        self.error: str | None = None
        try:
            self.checklist: cl.Checklist | None = cl.incident_checklist(incident)
        except Exception as exc:  # a broken checklist must not take the console down: show why instead
            self.checklist, self.error = None, str(exc)
        self.reload()

    def reload(self) -> None:
        """Re-read item states and the declaration time from the journal (after an append)."""
        self.states = self.incident.journal.state(cl.NAMESPACE)
        self.declared = cl.declared_at(self.incident)

    def status(self, now: datetime) -> cl.ChecklistStatus | None:
        if self.checklist is None:
            return None
        return cl.build_status(self.checklist, self.states, self.declared, now, incident_id=self.incident.id)


def checklist_rows(status: cl.ChecklistStatus | None) -> list[PhaseRow]:
    if status is None:
        return []
    phases: list[PhaseRow] = []
    for phase in status.phases:
        items = [
            ItemRow(
                id=i.id,
                title=i.title,
                state=i.state.value,
                owner=i.owner,
                due=_instant(i.due_utc),
                overdue=i.overdue,
                is_next=i.id == status.next_due,
                evidence=len(i.evidence),
                waiting_on=tuple(i.waiting_on),
            )
            for i in status.items
            if i.phase == phase.id
        ]
        phases.append(PhaseRow(id=phase.id, title=phase.title, items=items))
    return phases


def checklist_marks(status: cl.ChecklistStatus | None) -> tuple[Any, ...]:
    """What changes with time alone: when it differs from the last tick, the pane is redrawn."""
    if status is None:
        return ()
    return (tuple(status.overdue), status.next_due)


def countdown_rows(timers: list[dl.Timer]) -> list[CountdownRow]:
    rows: list[CountdownRow] = []
    for t in timers:
        if t.state == "not_applicable":
            continue
        running = t.state in ("overdue", "due_4h", "due_24h", "on_track", "notified")
        note = {"paused": "paused", "pending": "not started", "elapsed": "no deadline"}.get(t.state, "")
        rows.append(
            CountdownRow(
                key=t.rule,
                jurisdiction=t.code,
                obligation=f"{t.recipient.replace('_', ' ')} {t.period}",
                due=_instant(t.due_utc) if running else None,
                notified=t.state == "notified",
                notified_when=t.notified_utc,
                rule=t.rule,
                note=note,
            )
        )
    return rows


# -- inventory, findings and containment -----------------------------------------------------------------------


@dataclass
class InventoryView:
    """Everything the inventory pane and the containment dialog need, built off the UI thread."""

    rows: list[InventoryRow]
    summary: str
    findings: list[Any]  # app.findings.Finding, most severe first
    evidence_id: str | None = None
    org_alias: str | None = None


def _containment_targets(incident: Incident) -> dict[str, list[Any]]:
    """Row key -> containment actions aimed at it (from each plan's journaled selectors)."""
    out: dict[str, list[Any]] = {}
    for action in ct.status(incident):
        entry = incident.journal.entry(action.plan_seq)
        sel = (entry.data.get("selectors") if entry else None) or {}
        keys: list[str] = []
        if sel.get("app"):
            keys.append(f"app:{sel['app']}")
            keys.append(f"tokapp:{sel['app']}")
        for name in [*([sel["user"]] if sel.get("user") else []), *sel.get("users", [])]:
            keys.append(f"username:{name}")
        for key in keys:
            out.setdefault(key, []).append(action)
    return out


def containment_text(actions: list[Any]) -> str:
    """The latest action on a row, as a mark that reads without colour: `✓ revoke_tokens 3/3`."""
    if not actions:
        return ""
    a = actions[-1]
    mark = {"done": "✓", "partial": "!", "failed": "!!", "undone": "↺"}.get(a.status, "·")
    return f"{mark} {a.action} {a.status} {a.done}/{a.total}"


def load_inventory(incident: Incident) -> InventoryView:
    """Read the current snapshot, evaluate findings and map containment onto rows (slow: run in a worker)."""
    meta = current_summary(incident)
    snap = inv.load_current(incident)
    if snap is None or meta is None:
        return InventoryView([], "", [])
    summary = inv.summarize(snap, evidence_id=meta["evidence_id"])
    found = incident_findings(incident, snap, indicators=fd.load_indicators(incident=incident))
    targets = _containment_targets(incident)
    by_key: dict[str, list[Any]] = {}
    users = {u.id: u for u in snap.users}
    for f in found:
        for r in f.records:
            if r.type == "ConnectedApplication":
                by_key.setdefault(f"app:{r.name}", []).append(f)
            elif r.type == "User":
                by_key.setdefault(f"user:{r.id}", []).append(f)
            elif r.type == "OauthToken":
                by_key.setdefault(f"token:{r.id}", []).append(f)

    def findings_of(*keys: str) -> tuple[tuple[str, str], ...]:
        seen: dict[str, Any] = {}
        for k in keys:
            for f in by_key.get(k, []):
                seen.setdefault(f.id, f)
        return tuple((f.severity, f.title if f.status == "open" else f"closed: {f.title}") for f in seen.values())

    rows: list[InventoryRow] = []
    for a in summary.apps:
        key = f"app:{a.name}"
        rows.append(
            InventoryRow(
                key=key,
                kind="app",
                name=a.name,
                detail=f"{a.tokens} tokens, {a.users} users",
                findings=findings_of(key),
                containment=containment_text(targets.get(key, [])),
                record={**a.model_dump(), "findings_detail": [_finding_dict(f) for f in _fs(by_key, key)]},
            )
        )
    groups: dict[tuple[str, str], list[Any]] = {}
    for t in snap.oauth_tokens:
        groups.setdefault((t.app_name, t.user_id or ""), []).append(t)
    for (app_name, uid), tokens in sorted(groups.items()):
        holder = users.get(uid)
        who = holder.username if holder else uid or "unknown user"
        token_keys = [f"token:{t.ref}" for t in tokens]
        last_used = max((t.last_used for t in tokens if t.last_used), default=None)
        rows.append(
            InventoryRow(
                key=f"tok:{app_name}|{uid}",
                kind="token",
                name=f"{app_name} → {who}",
                detail=f"{len(tokens)} token{'s' if len(tokens) != 1 else ''}"
                + (f", last used {last_used}" if last_used else ""),
                findings=findings_of(*token_keys, f"app:{app_name}"),
                containment=containment_text(
                    targets.get(f"tokapp:{app_name}", []) + targets.get(f"username:{who}", [])
                ),
                record={
                    "app": app_name,
                    "user_id": uid,
                    "username": who,
                    "tokens": [t.ref for t in tokens],
                    "last_used": last_used,
                    "use_count": sum(t.use_count or 0 for t in tokens),
                },
            )
        )
    for u in summary.integration_users:
        key = f"user:{u.id}"
        frozen = " frozen" if u.frozen else ""
        rows.append(
            InventoryRow(
                key=key,
                kind="user",
                name=u.username,
                detail=("active" if u.active else "inactive") + frozen + f", {u.tokens} tokens",
                findings=findings_of(key),
                containment=containment_text(targets.get(f"username:{u.username}", [])),
                record={**u.model_dump(), "findings_detail": [_finding_dict(f) for f in _fs(by_key, key)]},
            )
        )
    counts = summary.counts
    text = (
        f"snapshot {meta['evidence_id']} {snap.taken_utc}  {counts.get('connected_apps', 0)} apps "
        f"{snap.count_text('oauth_tokens', 'tokens', 'OauthToken')} {len(summary.integration_users)} integration users "
        f"{len(found)} findings"
    )
    return InventoryView(rows, text, found, meta["evidence_id"], snap.source.org_alias)


def _fs(by_key: dict[str, list[Any]], key: str) -> list[Any]:
    return list({f.id: f for f in by_key.get(key, [])}.values())


def _finding_dict(f: Any) -> dict[str, Any]:
    return {
        "id": f.id,
        "severity": f.severity,
        "title": f.title,
        "why": f.why,
        "do": f.action,
        "checklist_item": f.checklist_item,
        "containment": f.containment,
    }
