"""The built-in demo: a tabletop of the 2025 chat-vendor OAuth token theft, clocks already running.

`start_demo` creates a fresh demo incident (aware two hours ago, affected residents in several jurisdictions so
notification clocks run) and starts the simulated org, seeded like the theft, for the life of the console. The
console's Salesforce client factory points at it under the alias `sim`. Nothing here touches a real org.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from app import deadlines as dl
from app.base.clock import format_instant
from app.incident.core import Incident
from app.salesforce.protocol import OrgClient, OrgFactory

if TYPE_CHECKING:
    from app.composition.context import Context
    from app.simorg import SimOrg

DEMO_TITLE = "DEMO: chat-vendor OAuth token theft (tabletop)"
DEMO_ALIAS = "sim"
DEMO_SEED = "chat-vendor-theft"
# Where the exported contacts live: enough for GDPR, UK GDPR, LGPD and several US state clocks to run.
DEMO_RESIDENTS: dict[str, int] = {
    "US-CA": 48_200,
    "US-TX": 21_750,
    "US-NY": 12_400,
    "US-MA": 3_100,
    "DE": 9_800,
    "FR": 6_300,
    "GB": 7_900,
    "BR": 2_450,
}
DEMO_CATEGORIES = "contact,credentials"


@dataclass
class ConsoleSession:
    """An open incident plus what runs beside it (the simulated org); `close()` stops everything."""

    incident: Incident
    org_factory: OrgFactory | None = None
    exercise: bool = False
    _stops: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for stop in reversed(self._stops):
            with contextlib.suppress(Exception):
                stop()
        self._stops.clear()
        self.incident.close()


def create_demo_incident(ctx: Context) -> Incident:
    now = ctx.clock.now()
    incident = ctx.workspace.create(
        DEMO_TITLE,
        ctx.actor,
        detected=now - timedelta(hours=6),
        aware=now - timedelta(hours=2),
        demo=True,
    )
    # The tabletop starts mid-incident: declared 90 minutes ago, so the first checklist items are already due.
    incident.journal.append("incident.update", {"declared": format_instant(now - timedelta(minutes=90))}, ctx.actor)
    incident.note(
        "Demo incident: a chat vendor's OAuth tokens were stolen and used to export Salesforce data. "
        "Nothing here touches a real org.",
        ctx.actor,
    )
    rules = dl.load_rules()
    facts = [(f"residents.{code}", str(n)) for code, n in DEMO_RESIDENTS.items()]
    facts.append(("categories", DEMO_CATEGORIES))
    for key, value in facts:
        dl.set_fact(incident.journal, key, value, ctx.actor, rules)
    return incident


def sim_factory(sim: SimOrg, alias: str = DEMO_ALIAS) -> OrgFactory:
    """A client factory for a running simulated org: each call logs in afresh as the seed's demo responder,
    so every worker holds its own client."""
    from app.salesforce.client import Org
    from app.salesforce.simlogin import sim_credentials

    def factory() -> OrgClient:
        return Org.login(sim_credentials(sim.url, sim.ca_path).model_copy(update={"alias": alias}))

    return factory


def start_org(seed: str = DEMO_SEED) -> tuple[OrgFactory, Callable[[], None]]:
    """Serve the simulated org from a background thread; returns (client factory, stop)."""
    from app.simorg import SimOrg

    sim = SimOrg.start(seed)
    return sim_factory(sim), sim.stop


def start_demo(ctx: Context) -> ConsoleSession:
    incident = create_demo_incident(ctx)
    return _session(ctx, incident)


@dataclass(frozen=True)
class DemoCheck:
    """What a headless demo made and saw: the incident, its journal head, and the simulated org it reached."""

    incident: str
    title: str
    journal_size: int
    journal_root: str
    org_alias: str
    org_url: str
    org_users: int


def check_demo(ctx: Context) -> DemoCheck:
    """`warroom demo` without a terminal: create the demo incident, start the simulated org, log in to it over
    HTTPS and count its users, then stop. It shows an installation works end to end without opening the console."""
    session = start_demo(ctx)
    try:
        assert session.org_factory is not None  # a demo incident always runs beside the simulated org
        with session.org_factory() as org:
            users = org.count("User")
            alias, url = org.alias, org.instance_url
        head = session.incident.journal.head()
        return DemoCheck(session.incident.id, session.incident.title, head.size, head.root_hex, alias, url, users)
    finally:
        session.close()


def open_session(ctx: Context, incident_id: str | None) -> ConsoleSession:
    incident = ctx.open_incident(incident_id)
    return _session(ctx, incident)


def exercise_session(ctx: Context, incident_id: str | None = None) -> ConsoleSession:
    """The console on a live tabletop (`ctx.exercise`): its simulated orgs belong to the runner, which the CLI
    stops, so the console logs in to them and starts nothing of its own."""
    runner = ctx.exercise
    incident = ctx.open_incident(incident_id or runner.incident.id)
    return ConsoleSession(incident, org_factory=runner.org_factory(), exercise=True)


def _session(ctx: Context, incident: Incident) -> ConsoleSession:
    session = ConsoleSession(incident, exercise=bool(incident.journal.genesis.get("demo")))
    if session.exercise:
        factory, stop = start_org()
        session.org_factory = factory
        session._stops.append(stop)
    return session
