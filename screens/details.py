"""The detail strip's text for the selected row of each pane, in sentences: a checklist item's full title, why, steps,
evidence needed, controls and history; a clock's rule, citation, basis and version; an inventory record's findings
with what to do (and for a permission set, who holds it, how, and what it lets out). Pure functions of what the panes
already hold (no journal reads)."""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo

from rich.text import Text

from screens import fmt
from screens.widgets.checklist_pane import ItemRow
from screens.widgets.inventory_pane import SEVERITY_MARK, InventoryRow

STATE_WORDS = {
    "todo": "to do",
    "in_progress": "in progress",
    "done": "done",
    "blocked": "blocked",
    "not_applicable": "not applicable",
}


ISO_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)")


def humane(text: str) -> str:
    """Recorded instants inside a sentence written for reading: seconds and the zone, no microseconds."""
    return ISO_INSTANT.sub(lambda m: fmt.stamp(m.group(0)), text)


def _section(out: Text, label: str, body: str) -> None:
    out.append(f"\n{label}: ", style="bold")
    out.append(humane(body))


def item_detail(row: ItemRow, item: Any | None, state: dict[str, Any] | None, zone: ZoneInfo | None) -> Text:
    """A checklist item (`item` is the checklist's Item, `state` its journaled state)."""
    out = Text()
    out.append(f"{row.id}  ", style="dim")
    out.append(row.title, style="bold")
    status = STATE_WORDS.get(row.state, row.state)
    due = f"; due {fmt.stamp(row.due)}" + (" (OVERDUE)" if row.overdue else "") if row.due else ""
    owner = f"; owner {row.owner}" if row.owner else ""
    out.append(f"\nState: {status}{owner}{due}" + ("; the next item due" if row.is_next else ""))
    if row.waiting_on:
        out.append(f"; waits on {', '.join(row.waiting_on)}")
    if item is not None:
        _section(out, "Why", item.why)
        _section(out, "Steps", " ".join(f"({i}) {s}" for i, s in enumerate(item.steps, 1)))
        _section(out, "Evidence needed", "; ".join(item.evidence))
        controls = item.controls
        _section(
            out,
            "Controls",
            f"SOC 2 {', '.join(controls.soc2)}; ISO 27001 {', '.join(controls.iso27001)}; "
            f"NIST CSF {', '.join(controls.nist_csf)}",
        )
    if state:
        note = f": {state['note']}" if state.get("note") else ""
        ev = f"; evidence {', '.join(state['evidence'])}" if state.get("evidence") else ""
        _section(
            out,
            "History",
            f"{state.get('changes', 1)} change(s); last set {STATE_WORDS.get(state['state'], state['state'])} by "
            f"{state.get('by', '?')} at {fmt.stamp(state.get('at'), zone)}{note}{ev}",
        )
    else:
        _section(out, "History", "no change recorded yet")
    return out


def clock_detail(timer: Any, zone: ZoneInfo | None) -> Text:
    """A notification clock (`timer` is an app.deadlines Timer)."""
    out = Text()
    out.append(
        f"{timer.jurisdiction}: notify the {timer.recipient.replace('_', ' ')} within {timer.period}", style="bold"
    )
    state = timer.state.replace("_", " ")
    if timer.due_utc:
        due, here = fmt.stamp(timer.due_utc), fmt.stamp(timer.due_utc, zone)
        out.append(f"\nDue {due}" + (f" ({here})" if here != due else "") + f"; now {state}")
    else:
        out.append(f"\nNo due time yet; now {state}")
    if timer.notified_utc:
        out.append(f"; notice sent {fmt.stamp(timer.notified_utc)}" + (" (late)" if timer.late else ""))
    _section(out, "Why it applies", timer.reason)
    if timer.start_utc:
        _section(out, "Clock started", f"{fmt.stamp(timer.start_utc)} ({timer.start_basis or timer.starts})")
    _section(out, "Rule", f"{timer.rule}; {timer.citation}")
    if timer.basis:
        _section(out, "Basis", timer.basis)
    version = timer.version or "unversioned"
    basis = timer.version_basis
    _section(out, "Version", basis if basis.startswith(version) else version + (f" ({basis})" if basis else ""))
    if timer.source:
        _section(out, "Source", timer.source)
    if timer.hold:
        _section(out, "Hold", timer.hold)
    if timer.calendar_note:
        _section(out, "Calendar", timer.calendar_note)
    _section(out, "Confidence", timer.confidence)
    return out


def inventory_detail(row: InventoryRow, findings: list[Any]) -> Text:
    """An inventory record with its findings in words: why each matters and what to do about it."""
    out = Text()
    out.append(f"{row.kind}: ", style="dim")
    out.append(row.name, style="bold")
    if row.detail:
        out.append(f"  {row.detail}", style="dim")
    if row.kind == "permset":  # what it lets out first: the strip may be too short for every finding
        _permission_set(out, row.record)
    mine = [f for f in findings if (f.severity, f.title) in set(row.findings)]
    if not row.findings:
        out.append("\nNo findings: none of the six failure patterns matched this record.")
    for f in mine:
        out.append(f"\n{SEVERITY_MARK.get(f.severity, '')} {f.severity} risk: ", style="bold")
        out.append(f.title)
        out.append(f"\n  Why: {f.why}")
        out.append(f"\n  What to do: {f.action}")
        if f.checklist_item:
            out.append(f" (checklist {f.checklist_item})")
    for severity, title in row.findings:
        if not any((f.severity, f.title) == (severity, title) for f in mine):
            out.append(f"\n{severity} risk: {title}")
    out.append(f"\nContainment: {row.containment or 'none yet'}")
    return out


def _holder(h: dict[str, Any]) -> str:
    how = []
    if not h.get("assignment_id"):
        how.append("through its profile")
    if h.get("group_id"):
        how.append(f"through permission set group {h['group_id']}")
    if h.get("expires"):
        how.append(f"until {fmt.stamp(h['expires'])}")
    return str(h.get("username")) + (f" ({', '.join(how)})" if how else "")


def _permission_set(out: Text, rec: dict[str, Any]) -> None:
    """Who of the app's users holds the set and how, what it lets out, and how it can be taken away."""
    holders = rec.get("holders") or []
    count = int(rec.get("holder_count") or len(holders))
    more = f"; and {count - len(holders)} more" if count > len(holders) else ""
    _section(
        out,
        "Held by",
        f"{count} of the {rec.get('app')} app's {rec.get('app_users')} token holder(s): "
        + "; ".join(_holder(h) for h in holders)
        + more,
    )
    if rec.get("through_group"):
        _section(out, "Through a permission set group", f"{rec['through_group']} of them")
    if expiring := rec.get("expiring"):
        _section(out, "Assignments expire", f"{len(expiring)} expiry time(s), the first {fmt.stamp(expiring[0])}")
    grants, off, unknown = rec.get("grants") or [], rec.get("not_granted") or [], rec.get("unknown") or []
    parts = [f"grants {', '.join(grants)}"] if grants else []
    if off:
        parts.append(f"does not grant {', '.join(off)}")
    if unknown:
        parts.append(f"unknown for {', '.join(unknown)} (not in this org's describe or not recorded)")
    lets_out = "; ".join(parts)
    _section(out, "Lets data out", lets_out)
    if rec.get("high_risk"):
        _section(out, "Other powerful permissions", ", ".join(rec["high_risk"]))
    if rec.get("profile_owned"):
        todo = (
            f"the profile {rec.get('profile_name') or rec.get('label') or rec.get('name')} grants it, and a "
            "profile's own set cannot be unassigned (Salesforce refuses to delete its assignment): move the users "
            "to a smaller profile, or freeze them"
        )
    else:
        label, name = rec.get("label") or rec.get("name") or "?", rec.get("name")
        todo = f"remove {label}" + (f" ({name})" if name and name != label else "")
        todo += " from the holders (containment: strip permissions) or freeze them"
    _section(out, "To take it away", todo)
