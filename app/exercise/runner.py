"""Tabletop exercises: a scenario played against the simulated org on an accelerated clock, journaled like a real
incident (in an incident flagged as a drill), then scored.

A scenario (`app/data/scenarios/<name>.toml`) names a simulated-org seed, the incident's starting facts and timed
injects (T+offset as an ISO 8601 duration): a vendor advisory, tokens used again from Tor, a regulator's call, a
journalist, a second org. An inject may add rows to a running simulated org (a seed fragment, through the
simulator's inject API), start another simulated org, change incident facts (journaled `facts.set`, as
`warroom facts set` does) and reveal more of the ground truth the score is measured against. Fired injects are
journaled as `exercise.inject` and stay "alerts" until acknowledged (`pending_alerts`, `acknowledge`).

Time is scenario time: the exercise clock starts at the seed's `organization.now` (or the scenario's `start`),
so the org's logs, the journal and every deadline agree. Interactive runs use `AcceleratedClock` (x1-x600,
pause/resume); headless scripted runs use a virtual clock that jumps straight to each next event (see
`app/exercise/script.py`, the script file in `app/exercise/scriptfile.py`). Scoring and the after-action report
are in `app/exercise/score.py`.

The scenario file, its loading and the pure schedule are in `app/exercise/scenario.py`; the exercise clock in
`app/exercise/timing.py`; what the journal records of an exercise (alerts, the current exercise) in
`app/exercise/journaled.py`. This module is the runner that plays one scenario.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from app.base.clock import AcceleratedClock, Clock, FrozenClock, format_instant
from app.base.errors import UsageError, WarroomError
from app.checklist import format_duration
from app.exercise.scenario import (
    PRIMARY_ORG,
    Inject,
    LoadedScenario,
    Scenario,
    due_injects,
    resolve_time,
)

if TYPE_CHECKING:
    from app.composition.workspace import Workspace
    from app.incident.core import Incident
    from app.journal.entries import Entry
    from app.salesforce.protocol import OrgClient, OrgFactory
    from app.simorg import SimOrg

__all__ = ["FACILITATOR", "ExerciseRunner"]


FACILITATOR = "facilitator"


@dataclass
class ExerciseRunner:
    """Plays one scenario: creates the drill incident, starts the simulated org(s), fires injects on time.

    `clock` is the exercise clock (FrozenClock for virtual time, AcceleratedClock for real time sped up); the
    incident's journal and the simulated orgs share it. `start_orgs=False` plays without a simulator (injects
    that change an org are journaled but not applied; tests of the engine alone use it).
    """

    workspace: Workspace
    loaded: LoadedScenario
    clock: Clock
    actor: str = FACILITATOR
    start_orgs: bool = True
    incident: Incident | None = None
    orgs: dict[str, SimOrg] = field(default_factory=dict)
    start_utc: datetime | None = None
    fired: list[str] = field(default_factory=list)
    on_inject: Callable[[Entry], None] | None = None
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def scenario(self) -> Scenario:
        return self.loaded.scenario

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def start(self, *, mode: str = "interactive", script: Mapping[str, Any] | None = None) -> Incident:
        """Create the drill incident (journal `exercise.start`, the starting facts) and start the org(s)."""
        from app import checklist as cl
        from app import deadlines as dl

        if self.incident is not None:
            raise UsageError("this exercise has already started")
        sc = self.scenario
        self.start_utc = self.clock.now()
        start = self.start_utc
        if self.start_orgs:
            self._start_org(PRIMARY_ORG, sc.seed)
        try:
            detected = resolve_time(sc.incident.detected, start) if sc.incident.detected else None
            aware = resolve_time(sc.incident.aware, start) if sc.incident.aware else None
            incident = self.workspace.create(
                f"EXERCISE: {sc.incident.title}",
                self.actor,
                detected=detected,
                aware=aware,
                demo=True,
                extra={"exercise": sc.name},
            )
            self.incident = incident
            speed = getattr(self.clock, "speed", None)
            data: dict[str, Any] = {
                "scenario": sc.name,
                "title": sc.title,
                "file": str(self.loaded.path),
                "sha256": self.loaded.sha256,
                "seed": sc.seed,
                "start_utc": format_instant(start),
                "duration": sc.duration,
                "injects": len(sc.injects),
                "mode": mode,
                "clock": "virtual" if isinstance(self.clock, FrozenClock) else "accelerated",
                "orgs": {alias: {"url": org.url, "org_id": org.store.org.id} for alias, org in self.orgs.items()},
            }
            if speed is not None:
                data["speed"] = str(speed)
            if script:
                data["script"] = dict(script)
            incident.journal.append("exercise.start", data, self.actor)
            cl.use_checklist(incident, self.actor)
            rules = dl.load_rules()
            for key, value in sc.facts.items():
                dl.set_fact(incident.journal, key, self.fact_value(key, value), self.actor, rules)
        except BaseException:
            self.close()
            raise
        return incident

    def _start_org(self, alias: str, seed: str) -> SimOrg:
        from app.simorg import SimOrg

        if alias in self.orgs:
            raise WarroomError(f"simulated org {alias!r} is already running")
        org = SimOrg.start(self.loaded.seed_ref(seed), clock=self.clock)
        self.orgs[alias] = org
        return org

    def fact_value(self, key: str, value: str) -> str:
        """A fact as journaled: a time given as an offset (T+PT2H) is resolved against the exercise start."""
        from app import deadlines as dl

        assert self.start_utc is not None
        if key in dl.FACT_TIMES and value.strip().startswith("T"):
            return format_instant(resolve_time(value, self.start_utc))
        return value

    def org_factory(self, alias: str = PRIMARY_ORG) -> OrgFactory:
        """What the console takes as its Salesforce client factory: a fresh login to a running simulated org."""

        def factory() -> OrgClient:
            from app.exercise.demo import sim_factory

            sim = self.orgs.get(alias)
            if sim is None:
                raise WarroomError(f"no simulated org {alias!r} is running in this exercise")
            return sim_factory(sim, alias)()

        return factory

    def elapsed(self) -> timedelta:
        if self.start_utc is None:
            return timedelta(0)
        return self.clock.now() - self.start_utc

    def over(self) -> bool:
        return self.elapsed() >= self.scenario.length

    # -- injects -----------------------------------------------------------------------------------------------

    def fire_due(self) -> list[Entry]:
        """Fire every inject whose time has come (idempotent; safe from a timer thread)."""
        with self._lock:
            if self.incident is None:
                return []
            return [self.fire(i) for i in due_injects(self.scenario, self.elapsed(), self.fired)]

    def fire(self, inject: Inject) -> Entry:
        """Apply one inject (org rows, a new org, facts) and journal it as an alert."""
        from app import deadlines as dl

        assert self.incident is not None
        with self._lock:
            applied: list[str] = []
            if self.start_orgs and inject.add_org is not None:
                org = self._start_org(inject.add_org.alias, inject.add_org.seed)
                applied.append(f"simulated org {inject.add_org.alias} started at {org.url}")
            if self.start_orgs and inject.sim is not None:
                target = self.orgs.get(inject.org)
                if target is None:
                    self.errors.append(f"inject {inject.id}: no simulated org {inject.org!r}; rows not added")
                else:
                    target.inject(inject.sim, origin=f"inject {inject.id}")
                    counts = {k: len(v) for k, v in inject.sim.items() if isinstance(v, list) and v}
                    applied.append(f"{inject.org}: added " + ", ".join(f"{n} {k}" for k, n in counts.items()))
            data: dict[str, Any] = {
                "inject": inject.id,
                "offset": f"T+{inject.at}",
                "kind": inject.kind,
                "title": inject.title,
                "message": inject.message.strip(),
                "scenario": self.scenario.name,
            }
            if inject.sender:
                data["sender"] = inject.sender
            if inject.prompts:
                data["prompts"] = list(inject.prompts)
            if applied:
                data["simulation"] = applied
            if inject.facts:
                data["facts"] = sorted(inject.facts)
            entry = self.incident.journal.append("exercise.inject", data, self.actor)
            if inject.facts:
                rules = dl.load_rules()
                for key, value in inject.facts.items():
                    dl.set_fact(self.incident.journal, key, self.fact_value(key, value), self.actor, rules)
            self.fired.append(inject.id)
        if self.on_inject is not None:
            self.on_inject(entry)
        return entry

    # -- the clock (interactive runs) -------------------------------------------------------------------------

    def pause(self) -> None:
        if isinstance(self.clock, AcceleratedClock):
            self.clock.pause()

    def resume(self) -> None:
        if isinstance(self.clock, AcceleratedClock):
            self.clock.resume()

    def set_speed(self, speed: int) -> None:
        if not isinstance(self.clock, AcceleratedClock):
            raise UsageError("this exercise runs on a virtual clock; speed does not apply")
        self.clock.set_speed(speed)

    @property
    def paused(self) -> bool:
        return bool(getattr(self.clock, "paused", False))

    def run_in_background(self, interval: float = 0.25) -> None:
        """Fire injects from a daemon thread as the accelerated clock reaches them (interactive runs)."""
        if self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.fire_due()
                except Exception as exc:  # an inject that fails must not kill the exercise; it is reported
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                if self.over():
                    break

        self._thread = threading.Thread(target=loop, name="exercise-injects", daemon=True)
        self._thread.start()

    def stop_background(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    # -- the end -----------------------------------------------------------------------------------------------

    def finish(self, actor: str | None = None) -> Any:
        """Score the exercise and journal `exercise.end` with the score (returns the Score)."""
        from app.exercise.score import score as compute_score

        self.stop_background()
        assert self.incident is not None
        with self._lock:
            result = compute_score(self.incident, self.loaded, orgs=self.orgs, now=self.clock.now())
            self.incident.journal.append(
                "exercise.end",
                {
                    "scenario": self.scenario.name,
                    "elapsed": format_duration(self.elapsed()),
                    "fired": list(self.fired),
                    "score": result.journal_summary(),
                },
                actor or self.actor,
            )
        return result

    def close(self) -> None:
        """Stop the background thread and the simulated orgs; close the incident."""
        self.stop_background()
        for org in list(self.orgs.values()):
            try:
                org.stop()
            except Exception as exc:  # shutting down: report, keep closing the rest
                self.errors.append(f"stopping a simulated org: {exc}")
        self.orgs.clear()
        if self.incident is not None:
            self.incident.close()
            self.incident = None

    def __enter__(self) -> ExerciseRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
