"""Builds the console from injected parts, so the demo, a tabletop exercise and tests run the same code."""

from __future__ import annotations

from typing import Any

from app.base.clock import Clock
from app.composition.context import Context
from app.incident.core import Incident
from app.salesforce.protocol import OrgFactory
from screens.settings import ConsoleSettings


def build_app(
    ctx: Context,
    incident: Incident,
    clock: Clock,
    org_factory: OrgFactory | None,
    settings: ConsoleSettings,
    **options: Any,
) -> Any:
    """The console for `incident`. `org_factory()` returns the Salesforce client (None: offline)."""
    from screens.app import WarroomApp

    return WarroomApp(ctx, incident, clock, org_factory, settings, **options)


def _empty_workspace(ctx: Context) -> bool:
    """No incidents at all; a workspace whose incidents cannot be read is not empty (opening it says why)."""
    ws = ctx.workspace
    return not ws.list() and not ws.problems


def run_console(ctx: Context, incident_id: str | None = None, demo: bool = False) -> int:
    """`warroom`, `warroom demo`, `warroom open ID`, `warroom exercise run`: pick the incident, start what it
    needs, run, clean up."""
    from app.exercise import demo as demo_mod
    from app.exercise.scenario import PRIMARY_ORG

    settings = ConsoleSettings.load(ctx.home)
    if ctx.exercise is not None:
        session = demo_mod.exercise_session(ctx, incident_id)
        settings = settings.model_copy(update={"org_alias": PRIMARY_ORG})  # the alias the runner's org answers to
    elif demo or (incident_id is None and _empty_workspace(ctx)):
        session = demo_mod.start_demo(ctx)
    else:
        session = demo_mod.open_session(ctx, incident_id)
    try:
        app = build_app(
            ctx,
            session.incident,
            ctx.clock,
            session.org_factory,
            settings,
            exercise=session.exercise,
            runner=ctx.exercise,
        )
        app.run()
        if app.crash_message:
            ctx.error(app.crash_message)  # the terminal is back to normal by now
        return app.return_code or 0
    finally:
        session.close()
