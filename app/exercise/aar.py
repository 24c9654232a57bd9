"""The after-action report of a tabletop: what happened when, how each measure went, and what to practise next.

Its lessons come from everything the score found missing: compromised apps and users left uncontained or contained
late, notification clocks missed or met late, checklist items missed or done late, evidence gaps, injects never
acknowledged, and an exercise that was aborted. "Nothing outstanding" is said only when none of these remain.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.base.clock import parse_instant
from app.checklist import format_duration
from app.exercise.score import WEIGHTS, Score

if TYPE_CHECKING:
    from app.exercise.scenario import LoadedScenario
    from app.incident.core import Incident

LISTED = 8  # checklist items named per phase in a lesson


def _md_row(cells: list[Any]) -> str:
    return (
        "| " + " | ".join(str(c if c is not None else "").replace("|", "\\|").replace("\n", " ") for c in cells) + " |"
    )


def after_action_report(incident: Incident, loaded: LoadedScenario, result: Score) -> str:
    """Markdown for the debrief: what happened when, how each measure went, and what to practise next."""
    sc = loaded.scenario
    start = parse_instant(result.started_utc)
    out = [f"# After-action report: {sc.title}", ""]
    out += [
        f"- Scenario: `{sc.name}` (sha256 {loaded.sha256[:16]}), seed `{sc.seed}`",
        f"- Incident: {incident.id} (an exercise; nothing touched a real org)",
        f"- Played: {result.started_utc} to {result.ended_utc} scenario time ({result.elapsed})",
        (
            f"- ABORTED ({result.aborted}): not scored; the sections below show how far it got"
            if result.status == "aborted"
            else f"- Score: **{result.total}/100** (deadlines {result.parts['deadlines']}, checklist "
            f"{result.parts['checklist']}, containment {result.parts['containment']}, evidence "
            f"{result.parts['evidence']}; weights {', '.join(f'{k} {w}' for k, w in WEIGHTS.items())})"
        ),
        "",
    ]
    if sc.based_on:
        out += ["Based on: " + "; ".join(sc.based_on), ""]

    out += ["## Injects and the response", ""]
    fired = {e.data["inject"]: e for e in incident.journal.entries(kind="exercise.inject")}
    acks = {e.data["inject"]: e for e in incident.journal.entries(kind="exercise.ack")}
    state_changes = list(incident.journal.entries(kind="checklist.state"))
    for inject in sc.injects:
        entry = fired.get(inject.id)
        if entry is None:
            out += [f"### T+{inject.at} {inject.title} (not reached)", ""]
            continue
        out.append(f"### T+{inject.at} [{inject.kind}] {inject.title}")
        out.append("")
        ack = acks.get(inject.id)
        out.append(
            f"Fired {entry.recorded_utc} (entry {entry.seq}); "
            + (f"acknowledged by {ack.actor} at {ack.recorded_utc}." if ack else "never acknowledged.")
        )
        if inject.prompts:
            out.append("")
            for item_id in inject.prompts:
                done = [e for e in state_changes if e.data.get("item") == item_id and e.data.get("state") == "done"]
                before = [e for e in done if e.seq < entry.seq]
                after = [e for e in done if e.seq > entry.seq]
                if before:
                    ahead = parse_instant(entry.recorded_utc) - parse_instant(before[0].recorded_utc)
                    out.append(
                        f"- {item_id}: already done, {format_duration(ahead)} before this inject, by {before[0].actor}"
                    )
                elif after:
                    took = parse_instant(after[0].recorded_utc) - parse_instant(entry.recorded_utc)
                    out.append(f"- {item_id}: done {format_duration(took)} later by {after[0].actor}")
                else:
                    out.append(f"- {item_id}: not done by the end")
        if inject.expect:
            out += ["", "Expected: " + "; ".join(inject.expect)]
        out.append("")

    out += ["## Containment", ""]
    if result.containment:
        out.append(
            _md_row(
                ["Org", "Compromised", "Known from", "Contained", "Time to contain", "Target", "Tokens left", "Points"]
            )
        )
        out.append("|---|---|---|---|---|---|---|---|")
        for c in result.containment:
            minutes = f"{c.minutes_to_contain} min" if c.minutes_to_contain is not None else ""
            out.append(
                _md_row(
                    [
                        c.org,
                        f"{c.kind} {c.name}",
                        c.known_from_utc,
                        c.contained_utc or "no",
                        minutes,
                        f"{c.target_minutes} min",
                        "" if c.tokens_left is None else c.tokens_left,
                        c.points,
                    ]
                )
            )
    else:
        out.append("No compromised app or user in the scenario's truth.")
    out.append("")

    out += ["## Notification deadlines", ""]
    scored = [d for d in result.deadlines if d.outcome != "open"]
    if scored:
        out.append(_md_row(["Rule", "Recipient", "Due", "Notified", "Outcome"]))
        out.append("|---|---|---|---|---|")
        for d in scored:
            out.append(_md_row([d.rule, d.recipient, d.due_utc, d.notified_utc or "", d.outcome]))
    else:
        out.append("No notification deadline came due during the exercise.")
    still = [d.rule for d in result.deadlines if d.outcome == "open"]
    if still:
        out += ["", f"Still running at the end (not scored): {', '.join(still)}."]
    out.append("")

    out += [
        "## Checklist",
        "",
        f"{result.items_on_time} on time, {result.items_late} late, {result.items_missed} missed, "
        f"{result.items_open} not yet due.",
        "",
    ]
    missed = [i for i in result.items if i.outcome in ("missed", "late")]
    for i in missed:
        due = parse_instant(i.due_utc) - start
        what = f"done {i.done_utc}" if i.done_utc else "not done"
        out.append(f"- {i.outcome}: {i.id} ({i.title}), due T+{format_duration(due)}, {what}")
    if missed:
        out.append("")

    out += ["## Evidence gaps", ""]
    out += [f"- {g.detail}" for g in result.evidence_gaps] or ["None."]
    out.append("")

    out += ["## To practise next", ""]
    todo = lessons(result, incident)
    out += [f"- {line}" for line in todo] or ["- Nothing outstanding; raise the difficulty (higher speed)."]
    out.append("")
    out.append(f"Journal: {incident.journal.head().size} entries, root {incident.journal.head().short}.")
    out.append("")
    return "\n".join(out)


def lessons(result: Score, incident: Incident | None = None) -> list[str]:
    """One line per thing to practise, from everything the score found missing (empty: nothing outstanding)."""
    out: list[str] = []
    if result.status == "aborted":
        out.append(f"The exercise was aborted ({result.aborted}): fix the cause and play it to the end.")
    for c in result.containment:
        if not c.contained:
            out.append(f"Contain {c.kind} {c.name}: revoke its tokens and confirm zero remain.")
        elif c.minutes_to_contain is not None and c.minutes_to_contain > c.target_minutes:
            out.append(
                f"{c.name} took {c.minutes_to_contain} min to contain against a {c.target_minutes} min "
                "target: pre-approve the revoke plan."
            )
    out += [
        f"Notice {d.rule} was {d.outcome}: prepare its template and owner in advance."
        for d in result.deadlines
        if d.outcome in ("missed", "late")
    ]
    for outcome, advice in (("missed", "work them in order from the checklist"), ("late", "start them sooner")):
        rows = [i for i in result.items if i.outcome == outcome]
        by_phase: dict[str, list[str]] = {}
        for item in rows:
            by_phase.setdefault(item.id.split(".", 1)[0], []).append(item.id)
        for phase, ids in by_phase.items():
            named = ", ".join(ids[:LISTED]) + (f" and {len(ids) - LISTED} more" if len(ids) > LISTED else "")
            out.append(f"Checklist {phase}: {len(ids)} item(s) {outcome} ({named}): {advice}.")
    if any(g.kind == "source_not_collected" for g in result.evidence_gaps):
        out.append("Collect every forensic source early; event logs expire (1 day without Event Monitoring).")
    if any(g.kind == "item_without_evidence" for g in result.evidence_gaps):
        out.append("Attach evidence when closing checklist items; an auditor samples exactly those.")
    if incident is not None:
        from app.exercise.journaled import pending_alerts

        unread = [a.inject for a in pending_alerts(incident)]
        if unread:
            out.append(f"Injects never acknowledged ({', '.join(unread)}): assign someone to watch the alerts.")
    return out
