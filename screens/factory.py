"""Builds the console from injected parts, so the demo, an exercise and a real incident run the same code."""

from __future__ import annotations

from app.context import Context
from app.demo import create_demo_incident


def build_app(ctx: Context, incident_id: str | None = None, demo: bool = False):
    from screens.app import WarroomApp

    if demo or (incident_id is None and not ctx.workspace.list()):
        incident = create_demo_incident(ctx)
    else:
        incident = ctx.open_incident(incident_id)
    return WarroomApp(ctx=ctx, incident=incident)


def run_console(ctx: Context, incident_id: str | None = None, demo: bool = False) -> int:
    app = build_app(ctx, incident_id=incident_id, demo=demo)
    try:
        app.run()
    finally:
        app.incident.close()
    return app.return_code or 0
