"""`warroom deadlines` (timers, compute, rules, include/exclude/reset, pause/resume) and `warroom facts`.

Everything a responder changes here is journaled with who, when and why; the timers are recomputed from
the journal on every call, so a changed fact moves its deadlines at once.
"""

from __future__ import annotations

import argparse
from datetime import date, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel

from app import deadlines as dl
from app.base.clock import format_instant
from app.base.errors import UsageError
from app.cli_conventions import made
from app.commands._args import dash_value_hint, date_arg, instant_arg
from app.composition.context import Context
from app.deadlines import actions as dla

_ON_HELP = "judge by the text of the rule in force on this date (YYYY-MM-DD)"


def _leaf(p: argparse.ArgumentParser, *, incident: bool = True, json: bool = True, rules: bool = True) -> None:
    """Flags also accepted before the subcommand; SUPPRESS keeps a value given to the parent."""
    if incident:
        p.add_argument("--incident", default=argparse.SUPPRESS, help="incident id (default: the most recent)")
    if json:
        p.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output")
    if rules:
        p.add_argument(
            "--rules",
            type=Path,
            default=argparse.SUPPRESS,
            metavar="FILE",
            help="rule file to use instead of the shipped one",
        )


def register(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser(
        "deadlines",
        help="notification clocks for the incident (and the rule table behind them)",
        description="Every notification clock that runs for the incident: due time (UTC and local), time left "
        "and state. Subcommands compute a single deadline, list the rules, or change which rules "
        "apply.",
    )
    d.add_argument("--incident", default=None, help="incident id (default: the most recent)")
    d.add_argument("--json", action="store_true", default=False, help="machine-readable output")
    d.add_argument("--rules", type=Path, default=None, metavar="FILE", help="rule file instead of the shipped one")
    d.set_defaults(handler=_run_timers)
    dsub = d.add_subparsers(dest="deadlines_command", metavar="SUBCOMMAND")

    p = dsub.add_parser("compute", help="due time of one rule for a given start (no incident needed)")
    p.add_argument("--rule", required=True, metavar="RULE_ID")
    p.add_argument("--start", required=True, type=instant_arg, metavar="ISO8601")
    p.add_argument("--eu-member-state", metavar="CODE", help="count EU rules in this member state's zone")
    p.add_argument("--on", type=date_arg, metavar="DATE", help=_ON_HELP + " (default: the start's date)")
    _leaf(p, incident=False)
    p.set_defaults(handler=_run_compute)

    p = dsub.add_parser("rules", help="the rule table with citations and sources")
    p.add_argument("--on", type=date_arg, metavar="DATE", help=_ON_HELP + " (default: each rule's current text)")
    _leaf(p, incident=False)
    p.set_defaults(handler=_run_rules)

    for name, verb in (
        ("include", "apply a rule the facts do not select"),
        ("exclude", "stop a rule from applying (e.g. a documented no-harm determination)"),
        ("reset", "drop an include/exclude and let the facts decide again"),
    ):
        p = dsub.add_parser(name, help=verb)
        p.add_argument("rule", metavar="RULE_ID")
        p.add_argument("--justification", "-j", required=True, help="why; journaled with your name")
        _leaf(p, json=False)
        p.set_defaults(handler=_run_override, action=name)

    p = dsub.add_parser("pause", help="law-enforcement hold: stop the clocks of rules that allow a delay")
    p.add_argument(
        "--rule",
        action="append",
        dest="hold_rules",
        metavar="RULE_ID",
        help="only this rule (repeatable); default: every rule that allows a hold",
    )
    p.add_argument("--requested-by", required=True, help="the agency and officer who asked for the delay")
    p.add_argument("--justification", "-j", required=True)
    p.add_argument("--at", type=instant_arg, help="when the hold began (default: now)")
    _leaf(p, json=False)
    p.set_defaults(handler=_run_pause)

    p = dsub.add_parser("resume", help="end a law-enforcement hold; the clocks run again")
    p.add_argument("hold_id", metavar="HOLD_ID")
    p.add_argument("--justification", "-j", required=True)
    p.add_argument("--at", type=instant_arg, help="when the hold ended (default: now)")
    _leaf(p, json=False)
    p.set_defaults(handler=_run_resume)

    facts = sub.add_parser("facts", help="incident facts that decide which notification clocks run")
    fsub = facts.add_subparsers(dest="facts_command", metavar="SUBCOMMAND", required=True)
    keys = "\n".join(f"  {k:<18} {v}" for k, v in dl.FACT_KEYS.items())
    p = fsub.add_parser(
        "set",
        help="set one fact (journaled with its previous value)",
        description="Set an incident fact; the change is journaled and the deadlines recompute.\n\nKeys:\n"
        + keys
        + "\n\nA value of 'none' clears the fact.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("key")
    p.add_argument("value")
    p.add_argument("--incident")
    p.add_argument("--json", action="store_true")
    p.add_argument("--rules", type=Path, metavar="FILE", help=argparse.SUPPRESS)
    dash_value_hint(p, "value", "warroom facts set target.default -- -1h")
    p.set_defaults(handler=_run_facts_set)

    p = fsub.add_parser("show", help="the current facts")
    p.add_argument("--incident")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_facts_show)


def _rules(args: argparse.Namespace) -> list[dl.Rule]:
    return dl.load_rules(getattr(args, "rules", None))


def _now(ctx: Context) -> datetime:
    return ctx.clock.now()


# -- timers ---------------------------------------------------------------------------------------------------


class TimersReport(BaseModel):
    incident: str
    now: str
    timers: list[dl.Timer]
    unusable_facts: dict[str, str] = {}


def _run_timers(ctx: Context, args: argparse.Namespace) -> int:
    rules = _rules(args)
    now = _now(ctx)
    with ctx.open_incident(args.incident) as incident:
        timers = dl.incident_timers(incident.journal, now, rules)
        unusable = dl.incident_facts(incident.journal).unusable
        incident_id = incident.id
    if args.json:
        report = TimersReport(incident=incident_id, now=format_instant(now), timers=timers, unusable_facts=unusable)
        ctx.print_json(report)
        return 0
    ctx.print(f"{incident_id}: notification clocks at {format_instant(now)}")
    for line in _unusable_lines(dl.IncidentFacts(unusable=unusable)):
        ctx.print(line)
    if not timers:
        ctx.print("no clocks run yet: record residents, categories and sectors with `warroom facts set`")
        return 0
    for t in timers:
        ctx.print(_timer_line(t))
        if t.calendar_note:
            ctx.print(f"{'':<15}calendar: {t.calendar_note}")
    return 0


def _short(iso: str | None) -> str:
    return iso.replace("T", " ")[:16] if iso else "-"


def _timer_line(t: dl.Timer) -> str:
    head = f"{t.state:<14} {t.rule:<30} {t.recipient:<27}"
    if t.state in ("overdue", "due_4h", "due_24h", "on_track"):
        left = dl.format_duration(timedelta(seconds=t.remaining_seconds or 0))
        return f"{head} due {_short(t.due_utc)}Z ({_short(t.due_local)} local)  left {left}"
    if t.state == "paused":
        left = dl.format_duration(timedelta(seconds=t.remaining_seconds)) if t.remaining_seconds is not None else "-"
        return f"{head} paused, {left} left when held; {t.hold}"
    if t.state == "elapsed":
        since = dl.format_duration(timedelta(seconds=t.elapsed_seconds or 0)) if t.elapsed_seconds is not None else "-"
        target = f", target {t.target} (by {_short(t.target_due_utc)}Z)" if t.target else ", no target set"
        return f"{head} {t.period}: {since} elapsed{target}"
    if t.state == "pending":
        projected = f"; at the latest {_short(t.projected_due_utc)}Z" if t.projected_due_utc else ""
        return f"{head} not started: {t.basis}{projected}"
    if t.state == "notified":
        late = " (LATE)" if t.late else ""
        return f"{head} sent {_short(t.notified_utc)}Z{late}, evidence {t.evidence_id}"
    return f"{head} not applicable: {t.reason}"


# -- compute and rules --------------------------------------------------------------------------------------------


class ComputeResult(BaseModel):
    rule: str
    start: str
    due: str | None
    due_local: str | None
    day_kind: str
    period: str
    timezone: str
    calendar: str
    basis: str
    on: str
    in_force: bool
    version: str
    citation: str
    source: str


def _run_compute(ctx: Context, args: argparse.Namespace) -> int:
    rules = _rules(args)
    rule = dl.find_rule(rules, args.rule)
    member = dl.normalise_code(args.eu_member_state) if args.eu_member_state else None
    if member and member not in dl.EU_MEMBER_STATES:
        raise UsageError(f"--eu-member-state {args.eu_member_state!r} is not an EU member state code")
    on = args.on or dl.version_day(rule, args.start, member)
    rule = rule.nearest_version(on)
    place = dl.rule_place(rule, member)
    if not rule.in_force_on(on):
        return _print_compute(ctx, args, rule, place, None, f"not in force on {on}: {rule.version_label()}", on)
    note = ""
    if rule.anchors:
        note = f" (the start is the time the {' or '.join(rule.anchors)} notice was sent)"
        if rule.relation != "after":
            due, basis = args.start, f"due {rule.relation} the {' or '.join(rule.anchors)} notice, sent at start"
            return _print_compute(ctx, args, rule, place, due, basis, on)
    start = args.start
    if rule.starts == "year_end":
        start, why = dl.year_end_start(rule, args.start)
        note = f" (--start is the discovery time; the clock starts at the {why})"
    due, basis = dl.due_with_basis(rule, start, place)
    return _print_compute(ctx, args, rule, place, due, basis + note, on)


def _print_compute(
    ctx: Context,
    args: argparse.Namespace,
    rule: dl.Rule,
    place: dl.Place,
    due: datetime | None,
    basis: str,
    on: date,
) -> int:
    from zoneinfo import ZoneInfo

    result = ComputeResult(
        rule=rule.id,
        start=format_instant(args.start),
        due=format_instant(due) if due else None,
        due_local=due.astimezone(ZoneInfo(place.timezone)).isoformat() if due else None,
        day_kind=rule.day_kind,
        period=rule.period_text(),
        timezone=place.timezone,
        calendar=place.calendar,
        basis=basis,
        on=on.isoformat(),
        in_force=rule.in_force_on(on),
        version=rule.version_label(),
        citation=rule.citation,
        source=rule.source,
    )
    if getattr(args, "json", False):
        ctx.print_json(result)
        return 0
    ctx.print(f"{rule.id}: {rule.period_text()} ({rule.citation})")
    mark = "" if result.in_force else "NOT IN FORCE: "
    ctx.print(f"  text   {mark}{rule.version_label()}; judged on {on} <{rule.source}>")
    ctx.print(f"  start  {result.start}")
    ctx.print(f"  due    {result.due or 'no fixed deadline'}" + (f"  ({result.due_local})" if result.due else ""))
    ctx.print(f"  basis  {basis}")
    return 0


def _run_rules(ctx: Context, args: argparse.Namespace) -> int:
    rules = _rules(args)
    on: date | None = getattr(args, "on", None)
    if on is not None:
        rules = [r.nearest_version(on) for r in rules]
    if getattr(args, "json", False):
        ctx.print_json(
            rules if on is None else [{**r.model_dump(mode="json"), "in_force_on": r.in_force_on(on)} for r in rules]
        )
        return 0
    if on is not None:
        ctx.print(f"the rules as their texts stood on {on}")
    for r in rules:
        th = f" if {r.threshold.count} {r.threshold.describe()}" if r.threshold.numeric else ""
        gate = r.applies_when
        extra = "".join(
            [
                f" [sector {'/'.join(gate.sectors)}]" if gate.sectors else "",
                f" [data {'/'.join(gate.categories)}]" if gate.categories else "",
                "" if r.in_force else " [NOT IN FORCE]",
                f" [NOT IN FORCE on {on}: {r.version_label()}]" if on and r.in_force and not r.in_force_on(on) else "",
                f" [text {r.version_label()}]"
                if on and r.in_force_on(on) and (r.effective_from or r.effective_to)
                else "",
                f" [{len(r.earlier) + 1} versions; this one {r.version_label()}]" if on is None and r.earlier else "",
            ]
        )
        ctx.print(
            f"{r.id:<34} {r.code:<7} {r.recipient:<27} {r.period_text():<26} from {r.starts}"
            f"{'' if r.relation == 'after' else ' (' + r.relation + ')'}{th}{extra} [{r.confidence}]"
        )
        ctx.print(f"{'':<34} {r.citation} <{r.source}>")
    return 0


# -- overrides and holds ------------------------------------------------------------------------------------------


def _run_override(ctx: Context, args: argparse.Namespace) -> int:
    rules = _rules(args)
    with ctx.open_incident(args.incident) as incident:
        done = dla.override_rule(
            incident, args.rule, args.action, args.justification, ctx.actor, now=_now(ctx), rules=rules
        )
    ctx.print(
        f"{done.rule}: {done.action} recorded (entry {done.seq}); now "
        + (_timer_line(done.timer) if done.timer else "not in play")
    )
    return 0


def _run_pause(ctx: Context, args: argparse.Namespace) -> int:
    rules = _rules(args)
    with ctx.open_incident(args.incident) as incident:
        hold = dla.pause_clocks(
            incident,
            args.requested_by,
            args.justification,
            ctx.actor,
            now=_now(ctx),
            at=args.at,
            rule_ids=args.hold_rules,
            rules=rules,
        )
    scope = ", ".join(hold.rules) if hold.rules else "every rule that allows a law-enforcement delay"
    ctx.print(f"{hold.hold_id}: clocks paused from {hold.at} for {scope} (entry {hold.seq})")
    return 0


def _run_resume(ctx: Context, args: argparse.Namespace) -> int:
    with ctx.open_incident(args.incident) as incident:
        hold = dla.resume_clocks(incident, args.hold_id, args.justification, ctx.actor, now=_now(ctx), at=args.at)
    ctx.print(f"{hold.hold_id}: ended {hold.at}; clocks run again (entry {hold.seq})")
    return 0


# -- facts --------------------------------------------------------------------------------------------------------


def _run_facts_set(ctx: Context, args: argparse.Namespace) -> int:
    rules = _rules(args)
    with ctx.open_incident(args.incident) as incident:
        fact = dla.record_fact(incident, args.key, args.value, ctx.actor, now=_now(ctx), rules=rules)
        result = made(incident, fact.seq, **fact.model_dump(mode="json", exclude={"seq"})) if args.json else None
    if result is not None:
        ctx.print_json(result)
        return 0
    if fact.seq is None:
        ctx.print(f"{fact.key} is already {dla.fact_text(fact.key, fact.value)}; nothing recorded")
        return 0
    ctx.print(
        f"{fact.key} = {dla.fact_text(fact.key, fact.value)} (was {dla.fact_text(fact.key, fact.previous)}); "
        f"entry {fact.seq}"
    )
    for warning in fact.warnings:
        ctx.print(f"note: {warning}")
    for line in fact.changes:
        ctx.print(f"  {line}")
    return 0


def _run_facts_show(ctx: Context, args: argparse.Namespace) -> int:
    with ctx.open_incident(args.incident) as incident:
        facts = dl.incident_facts(incident.journal)
        lines = dla.current_facts(incident.journal)
    if args.json:
        ctx.print(facts.model_dump_json(indent=2))
        return 0
    for line in lines:
        if line.unusable:
            ctx.print(f"unusable: {line.key} holds {line.value}, which cannot be used; {line.note}")
        elif line.key == "eu_member_state" and line.note:
            ctx.print(f"{line.key:<18} - ({line.note})")
        else:
            ctx.print(f"{line.key:<18} {line.value}" + (f"  ({line.note})" if line.note else ""))
    return 0


def _unusable_lines(facts: dl.IncidentFacts) -> list[str]:
    """Journaled values that cannot be used (recorded before they were validated), with how to correct them."""
    return [
        f"unusable: {key} holds {value!r}, which cannot be used; the clocks ignore it until it is corrected "
        f"(`warroom facts set {key} VALUE`)"
        for key, value in sorted(facts.unusable.items())
    ]
