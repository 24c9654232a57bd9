"""`warroom exercise list|run|score|alerts|ack`: tabletop exercises against the simulated org.

`run SCENARIO --script FILE` plays a scripted response headless (virtual clock unless --speed) and prints the
score and the after-action report; `run SCENARIO` alone opens the console on the drill incident while injects
arrive on an accelerated clock.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from app.base.errors import UsageError
from app.composition.context import Context

if TYPE_CHECKING:
    from app.exercise.scenario import LoadedScenario
    from app.incident.core import Incident


def register(sub: argparse._SubParsersAction) -> None:
    ex = sub.add_parser("exercise", help="tabletop exercises: scenarios with timed injects, scored")
    esub = ex.add_subparsers(dest="exercise_command", metavar="SUBCOMMAND", required=True)

    p = esub.add_parser("list", help="shipped scenarios with their descriptions")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_list)

    p = esub.add_parser(
        "run",
        help="play a scenario (console, or headless with --script)",
        description="Create a drill incident, start the scenario's simulated org and play the injects. With "
        "--script the responders' actions come from FILE and the run is headless: a virtual clock jumps "
        "from event to event unless --speed is given. Without --script the console opens and the "
        "injects arrive as alerts on a clock running --speed times faster than real time.",
    )
    p.add_argument("scenario", metavar="SCENARIO", help="a shipped scenario name or a .toml file")
    p.add_argument("--speed", type=int, metavar="N", help="clock acceleration, 1-600 (default: the scenario's)")
    p.add_argument(
        "--script",
        metavar="FILE",
        help="scripted responder actions (a .script.toml file or the name of a shipped scenario whose script to play)",
    )
    p.add_argument("--aar", type=Path, metavar="FILE", help="also write the after-action report to FILE")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument("--json", action="store_true", help="print the result (score included) as JSON")
    p.set_defaults(handler=_run_run)

    p = esub.add_parser("score", help="score an exercise incident again from its journal")
    p.add_argument("--incident")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_score)

    p = esub.add_parser("alerts", help="injects fired in an exercise incident and not yet acknowledged")
    p.add_argument("--all", action="store_true", help="acknowledged ones too")
    p.add_argument("--incident")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run_alerts)

    p = esub.add_parser("ack", help="acknowledge an inject (journaled)")
    p.add_argument("inject", metavar="INJECT_ID")
    p.add_argument("--note")
    p.add_argument("--incident")
    p.set_defaults(handler=_run_ack)


def _run_list(ctx: Context, args: argparse.Namespace) -> int:
    from app.exercise.scenario import list_scenarios

    items = list_scenarios()
    if args.json:
        ctx.print_json(items)
        return 0
    for s in items:
        ctx.print(
            f"{s.name}  ({s.duration}, {s.injects} injects, seed {s.seed}"
            + (", scripted response shipped" if s.script else "")
            + ")"
        )
        ctx.print(f"    {s.title}: {s.description}")
    return 0


def _say(ctx: Context, quiet: bool):
    if quiet:
        return None

    def say(line: str) -> None:
        ctx.print(line)

    return say


def _run_run(ctx: Context, args: argparse.Namespace) -> int:
    from app.exercise.scenario import load_scenario

    loaded = load_scenario(args.scenario)
    if args.speed is not None and not 1 <= args.speed <= 600:
        raise UsageError(f"--speed {args.speed}: choose between 1 and 600")
    if args.script:
        return _scripted(ctx, args, loaded)
    return _interactive(ctx, args, loaded)


def _scripted(ctx: Context, args: argparse.Namespace, loaded) -> int:
    from app.exercise.script import run_scripted
    from app.exercise.scriptfile import load_script

    script = load_script(args.script, loaded)
    result = run_scripted(ctx.workspace, ctx, loaded, script, speed=args.speed, say=_say(ctx, args.quiet or args.json))
    if args.aar:
        from app.report import write_output

        write_output(args.aar, result.after_action.encode("utf-8"))
    if args.json:
        ctx.print_json(result)
    else:
        _print_summary(ctx, result.incident_id, result.score, len(result.failures))
        for f in result.failures:
            ctx.print(f"  failed: action {f.index + 1} at T+{f.at} ({f.do}): {f.error}")
        if not args.aar:
            ctx.print("")
            ctx.print(result.after_action)
    return 1 if result.failures else 0


def _print_summary(ctx: Context, incident_id: str, score, failures: int = 0) -> None:
    from app.exercise.tabletop import summary_lines

    for line in summary_lines(incident_id, score, failures):
        ctx.print(line)


def _interactive(ctx: Context, args: argparse.Namespace, loaded) -> int:
    """Console on the drill incident; injects fire from the runner's thread on the accelerated clock."""
    from app.composition.workspace import Workspace
    from app.exercise.runner import ExerciseRunner
    from app.exercise.tabletop import aborting, end_exercise
    from app.exercise.timing import make_clock

    clock = make_clock(loaded, args.speed, virtual=False)
    runner = ExerciseRunner(Workspace(ctx.home, clock, ctx.get_keyring()), loaded, clock)
    try:
        incident = runner.start(mode="interactive")
        incident_id = incident.id
        runner.run_in_background()
        ctx.print(
            f"exercise {loaded.name}: incident {incident_id}, clock x{clock.speed} from "
            f"{runner.start_utc:%Y-%m-%d %H:%M}Z; simulated org at {runner.orgs['sim'].url}"
        )
        from app.cli import open_console

        # The console reads the exercise clock from ctx.clock and drives the runner (pause, speed, org logins,
        # end); the alerts come from the journal (app.exercise.pending_alerts).
        with aborting(runner, ctx.actor):
            code = open_console(replace(ctx, clock=clock, exercise=runner), incident_id=incident_id)
        ending = end_exercise(runner, ctx.actor)  # the console's own end, if it ended the exercise
    finally:
        runner.close()
    if args.aar:
        from app.report import write_output

        write_output(args.aar, ending.after_action.encode("utf-8"))
    if args.json:
        ctx.print_json(ending.score)
    else:
        _print_summary(ctx, incident_id, ending.score)
    return int(code or 0)


def _scenario_of(incident: Incident) -> LoadedScenario:
    from app.base.errors import WarroomError
    from app.exercise.scenario import load_scenario

    start = incident.journal.last("exercise.start")
    if start is None:
        raise WarroomError(f"{incident.id} is not an exercise incident")
    path = Path(start.data.get("file", ""))
    loaded = load_scenario(path if path.is_file() else start.data["scenario"])
    if loaded.sha256 != start.data.get("sha256"):
        raise WarroomError(
            f"{incident.id}: the scenario file changed since the exercise (sha256 "
            f"{start.data.get('sha256', '')[:12]} then, {loaded.sha256[:12]} now); cannot score "
            "against a different scenario"
        )
    return loaded


def _run_score(ctx: Context, args: argparse.Namespace) -> int:
    from app.exercise.score import score

    with ctx.open_incident(args.incident) as incident:
        loaded = _scenario_of(incident)
        from app.exercise.journaled import current_exercise

        end = current_exercise(incident.journal) or {}
        from app.base.clock import parse_instant

        now = parse_instant(end["end_utc"]) if end.get("end_utc") else None
        result = score(incident, loaded, now=now, unfinished=not end.get("ended"))
    if args.json:
        ctx.print_json(result)
    else:
        _print_summary(ctx, result.incident_id, result)
    return 0


def _run_alerts(ctx: Context, args: argparse.Namespace) -> int:
    from app.exercise.journaled import alerts, pending_alerts

    with ctx.open_incident(args.incident) as incident:
        rows = alerts(incident) if args.all else pending_alerts(incident)
    if args.json:
        ctx.print_json(rows)
        return 0
    if not rows:
        ctx.print("no alerts" if args.all else "no unacknowledged alerts")
    for a in rows:
        mark = "acknowledged" if a.acknowledged else "NEW"
        ctx.print(f"{a.at}  {a.offset:<9} [{a.kind}] {a.inject}: {a.title} ({mark})")
        if not a.acknowledged:
            ctx.print(f"    {' '.join(a.message.split())}")
    return 0


def _run_ack(ctx: Context, args: argparse.Namespace) -> int:
    from app.exercise.journaled import acknowledge

    with ctx.open_incident(args.incident) as incident:
        entry = acknowledge(incident, args.inject, ctx.actor, args.note)
    ctx.print(f"{args.inject}: acknowledged (entry {entry.seq})")
    return 0
