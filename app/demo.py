"""The built-in demo incident: a tabletop of the 2025 chat-vendor OAuth token theft, clocks already running."""

from __future__ import annotations

from datetime import timedelta

from app.context import Context
from app.incident import Incident

DEMO_TITLE = "DEMO: chat-vendor OAuth token theft (tabletop)"


def create_demo_incident(ctx: Context) -> Incident:
    now = ctx.clock.now()
    incident = ctx.workspace.create(
        DEMO_TITLE,
        ctx.actor,
        detected=now - timedelta(hours=6),
        aware=now - timedelta(hours=2),
        demo=True,
    )
    incident.note(
        "Demo incident: a chat vendor's OAuth tokens were stolen and used to export Salesforce data. "
        "Nothing here touches a real org.",
        ctx.actor,
    )
    return incident
