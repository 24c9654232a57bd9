"""One path for every action: the same action through the three front ends writes the same journal.

Each front end gets its own drill incident, started the same way (the chat-vendor-theft scenario on its own
simulated org, virtual clock at T0): the `warroom` commands run in-process through `main(argv)`, the console
through App.run_test() and the Pilot, and the exercise player through one script step. What an action writes
(entry kinds in order, and the derived state it leaves, ids and times left out) must be identical.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.composition.workspace import Workspace
from app.exercise import scriptfile
from app.exercise.player import ScriptPlayer
from app.exercise.runner import ExerciseRunner
from app.exercise.scenario import load_scenario
from app.exercise.timing import make_clock
from app.journal.entries import Entry
from tests.conftest import CLI, MemoryKeyring
from tests.console_helpers import Console, make_context, settle, until

SCENARIO = "chat-vendor-theft"
ACTOR = "tester"
WIDE = (160, 48)


@dataclass
class Drill:
    """One front end's incident: a running exercise with its simulated org, nothing played yet."""

    runner: ExerciseRunner
    home: Path
    keyring: MemoryKeyring

    @property
    def incident(self) -> Any:
        return self.runner.incident

    @property
    def sim(self) -> Any:
        return self.runner.orgs["sim"]

    def mark(self) -> int:
        return int(self.incident.journal.head().size)

    def written(self, mark: int) -> list[Entry]:
        return [e for e in self.incident.journal.entries() if e.seq > mark]

    def cli(self, *args: str) -> str:
        cli = CLI(self.home, self.runner.clock, self.keyring)
        cli.actor = ACTOR
        result = cli(*args, "--incident", self.incident.id)
        assert result.code == 0, result.err + result.out
        return result.out

    def sim_args(self) -> tuple[str, ...]:
        return ("--instance-url", self.sim.url, "--ca", str(self.sim.ca_path))

    def console(self) -> Any:
        ctx = make_context(self.home, self.runner.clock, self.keyring)
        return Console(ctx, self.incident, self.runner.clock).app(org_factory=self.runner.org_factory())

    def step(self, action: dict[str, Any]) -> str:
        """One script action, played by the exercise player as a script's step."""
        script = scriptfile.Script.model_validate(
            {"schema": 1, "scenario": SCENARIO, "title": "one step", "actor": ACTOR, "actions": [action]}
        )
        loaded = scriptfile.LoadedScript(script, self.home / "step.script.toml", "0" * 64)
        player = ScriptPlayer(self.runner, loaded, None)
        try:
            return player.run(script.actions[0])
        finally:
            player.close()


@pytest.fixture
def drills(tmp_path: Path, mem_keyring: MemoryKeyring) -> Iterator[Callable[[], Drill]]:
    started: list[ExerciseRunner] = []

    def start() -> Drill:
        loaded = load_scenario(SCENARIO)
        clock = make_clock(loaded, None, virtual=True)
        home = tmp_path / f"home-{len(started)}"
        home.mkdir()
        runner = ExerciseRunner(Workspace(home, clock, mem_keyring), loaded, clock)
        started.append(runner)
        runner.start(mode="scripted")
        runner.fire_due()
        return Drill(runner, home, mem_keyring)

    yield start
    for runner in started:
        runner.close()


# -- what an action leaves in the journal ---------------------------------------------------------------------

# Ids, sequence numbers and hashes differ between incidents; times do not (the same virtual clock everywhere).
VOLATILE = {"action_id", "plan_id", "plan_seq", "intent_seq", "result_seq", "checkpoint_seq", "seq", "last_result_seq"}
VOLATILE |= {"evidence_id", "plan_evidence_id", "evidence", "note", "plan_sha256", "sha256", "digest", "snapshot"}
VOLATILE |= {"instance_url", "org_id"}  # each incident has its own simulated org
VOLATILE |= {"reconnect_id"}  # random, like a plan id


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in sorted(value.items()) if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def footprint(drill: Drill, mark: int, namespaces: dict[str, tuple[str, ...] | None]) -> tuple[Any, ...]:
    """(entry kinds written since `mark`, the derived state of `namespaces` afterwards, volatile fields out).

    `namespaces` maps a namespace to the keys to compare (None: every key, compared as a sorted list)."""
    kinds = [e.kind for e in drill.written(mark)]
    journal = drill.incident.journal
    states: dict[str, Any] = {}
    for ns, keys in namespaces.items():
        state = journal.state(ns)
        if keys is None:
            states[ns] = sorted(repr(_stable(v)) for v in state.values())
        else:
            states[ns] = {k: _stable(state.get(k)) for k in keys}
    return tuple(kinds), states


def same_everywhere(prints: dict[str, tuple[Any, ...]]) -> None:
    cli = prints["cli"]
    for name, other in prints.items():
        assert other == cli, f"{name} differs from the CLI:\n{other}\n!=\n{cli}"


# -- containment, with the checklist link ------------------------------------------------------------------------

CONTAIN_STATE = {
    "containment": None,
    "checklist": ("contain.revoke-tokens",),
}


def _pulled(drill: Drill) -> None:
    from app import inventory as inv

    org = drill.runner.org_factory()()
    try:
        snap = inv.pull(org, None, alias="sim", taken_utc="2025-08-20T09:00:00Z")
    finally:
        org.close()
    inv.save_snapshot(drill.incident, snap, ACTOR)


async def test_containment_writes_the_same_journal_from_every_front_end(drills: Callable[[], Drill]) -> None:
    from textual.widgets import Input

    from screens.modals.containment import ContainmentModal
    from screens.widgets.inventory_pane import InventoryPane

    prints: dict[str, tuple[Any, ...]] = {}

    drill = drills()
    _pulled(drill)
    mark = drill.mark()
    out = drill.cli("contain", "plan", "revoke_tokens", "--app", "Drift", "--org", "sim", *drill.sim_args())
    plan_id = out.split()[1].rstrip(":")
    out = drill.cli("contain", "apply", plan_id, "--confirm", "sim", *drill.sim_args())
    assert "checklist contain.revoke-tokens: todo -> done" in out
    prints["cli"] = footprint(drill, mark, CONTAIN_STATE)

    drill = drills()
    _pulled(drill)
    mark = drill.mark()
    line = drill.step({"at": "PT1M", "do": "contain", "action": "revoke_tokens", "app": "Drift", "confirm": "sim"})
    assert "checklist contain.revoke-tokens done" in line
    prints["script"] = footprint(drill, mark, CONTAIN_STATE)

    drill = drills()
    _pulled(drill)
    mark = drill.mark()
    app = drill.console()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("3")
        pane = app.screen.query_one(InventoryPane)
        await until(pilot, lambda: any(r.key == "app:Drift" for r in pane.rows))
        pane.select("app:Drift")
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ContainmentModal) and bool(app.screen.query("#alias")))
        app.screen.query_one("#alias", Input).value = "sim"
        await pilot.press("enter")
        await until(pilot, lambda: drill.incident.journal.last("action.result") is not None)
        await settle(pilot)
    prints["console"] = footprint(drill, mark, CONTAIN_STATE)

    kinds, states = prints["cli"]
    assert "action.result" in kinds and kinds[-1] == "checklist.state"
    assert states["checklist"]["contain.revoke-tokens"]["state"] == "done"
    same_everywhere(prints)


# -- inventory pull, with its findings -------------------------------------------------------------------------

PULL_STATE: dict[str, tuple[str, ...] | None] = {"inventory": None}


async def test_pull_records_the_snapshot_and_its_findings_from_every_front_end(drills: Callable[[], Drill]) -> None:
    prints: dict[str, tuple[Any, ...]] = {}

    drill = drills()
    mark = drill.mark()
    out = drill.cli("inventory", "pull", "--org", "sim", *drill.sim_args())
    assert "findings" in out
    prints["cli"] = footprint(drill, mark, PULL_STATE)

    drill = drills()
    mark = drill.mark()
    assert "findings" in drill.step({"at": "PT1M", "do": "inventory.pull"})
    prints["script"] = footprint(drill, mark, PULL_STATE)

    drill = drills()
    mark = drill.mark()
    app = drill.console()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await until(pilot, lambda: drill.incident.journal.last("inventory.findings") is not None)
        await settle(pilot)
    prints["console"] = footprint(drill, mark, PULL_STATE)

    kinds, states = prints["cli"]
    assert kinds == ("evidence.acquired", "inventory.snapshot", "inventory.findings")
    assert any("items" in s for s in states["inventory"])
    same_everywhere(prints)


# -- a fact, and the one time rule -------------------------------------------------------------------------------

FACT_STATE: dict[str, tuple[str, ...] | None] = {"facts": ("aware",)}
AWARE = "2025-08-20T09:04:00Z"  # T0 + 4 min: ahead of the clock, within FUTURE_SKEW
TOO_LATE = "2025-08-20T09:06:00Z"  # beyond it: refused everywhere


async def _console_fact(drill: Drill, value: str) -> list[str]:
    from screens.modals.form import FormModal
    from tests.console_helpers import fill, press_for

    app = drill.console()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await press_for(pilot, "f", FormModal)
        await fill(pilot, {"key": "aware", "value": value})
        await settle(pilot)
        kept_open = [app.screen.error] if isinstance(app.screen, FormModal) else []  # a refusal keeps the form
        return [str(n.message) for n in app._notifications] + kept_open


async def test_a_fact_and_its_time_rule_are_the_same_from_every_front_end(drills: Callable[[], Drill]) -> None:
    from app.deadlines.actions import FUTURE_SKEW

    assert FUTURE_SKEW.total_seconds() == 300
    prints: dict[str, tuple[Any, ...]] = {}

    drill = drills()
    mark = drill.mark()
    cli = CLI(drill.home, drill.runner.clock, drill.keyring)
    refused = cli("facts", "set", "aware", TOO_LATE, "--incident", drill.incident.id)
    assert refused.code != 0 and "in the future" in refused.err and drill.written(mark) == []
    drill.cli("facts", "set", "aware", AWARE)
    prints["cli"] = footprint(drill, mark, FACT_STATE)

    drill = drills()
    mark = drill.mark()
    with pytest.raises(Exception, match="in the future"):
        drill.step({"at": "PT1M", "do": "facts.set", "key": "aware", "value": TOO_LATE})
    assert drill.written(mark) == []
    drill.step({"at": "PT1M", "do": "facts.set", "key": "aware", "value": AWARE})
    prints["script"] = footprint(drill, mark, FACT_STATE)

    drill = drills()
    mark = drill.mark()
    said = await _console_fact(drill, TOO_LATE)
    assert any("in the future" in m for m in said) and drill.written(mark) == []
    await _console_fact(drill, AWARE)
    prints["console"] = footprint(drill, mark, FACT_STATE)

    kinds, states = prints["cli"]
    # The fact, then the clocks it started or moved (each journaled with its rule text and holiday dates).
    assert kinds[0] == "facts.set" and set(kinds[1:]) <= {"deadline.clock"} and states["facts"]["aware"] == AWARE
    same_everywhere(prints)


# -- a rule excluded, the clocks paused ----------------------------------------------------------------------------

EXCLUDED = "uk-gdpr-art34-individuals"
HOLD_STATE: dict[str, tuple[str, ...] | None] = {"deadline.overrides": None, "deadline.holds": None}


async def test_an_override_and_a_hold_are_the_same_from_every_front_end(drills: Callable[[], Drill]) -> None:
    from screens.modals.form import FormModal
    from tests.console_helpers import fill, press_for

    prints: dict[str, tuple[Any, ...]] = {}
    why = "counsel: no high risk to individuals"

    drill = drills()
    mark = drill.mark()
    drill.cli("deadlines", "exclude", EXCLUDED, "-j", why)
    drill.cli("deadlines", "pause", "--requested-by", "FBI SA Doe", "-j", "active investigation")
    prints["cli"] = footprint(drill, mark, HOLD_STATE)

    drill = drills()
    mark = drill.mark()
    drill.step(
        {"at": "PT1M", "do": "deadlines.override", "rule": EXCLUDED, "decision": "exclude", "justification": why}
    )
    drill.step(
        {"at": "PT1M", "do": "deadlines.pause", "requested_by": "FBI SA Doe", "justification": "active investigation"}
    )
    prints["script"] = footprint(drill, mark, HOLD_STATE)

    drill = drills()
    mark = drill.mark()
    app = drill.console()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await press_for(pilot, "d", FormModal)
        await fill(pilot, {"rule": EXCLUDED, "action": "exclude", "justification": why})
        await press_for(pilot, "h", FormModal)
        await fill(pilot, {"requested_by": "FBI SA Doe", "justification": "active investigation"})
        await settle(pilot)
    prints["console"] = footprint(drill, mark, HOLD_STATE)

    kinds, states = prints["cli"]
    assert tuple(k for k in kinds if k != "deadline.clock") == ("deadline.override", "deadline.pause")
    assert len(states["deadline.overrides"]) == 1 and len(states["deadline.holds"]) == 1
    same_everywhere(prints)


async def test_an_include_is_the_same_from_every_front_end(drills: Callable[[], Drill]) -> None:
    """`warroom deadlines include`, the script's `deadlines.include` and the console's form: one use case."""
    from screens.modals.form import FormModal
    from tests.console_helpers import fill, press_for

    prints: dict[str, tuple[Any, ...]] = {}
    why = "counsel: notify the individuals anyway"

    drill = drills()
    mark = drill.mark()
    drill.cli("deadlines", "include", EXCLUDED, "-j", why)
    prints["cli"] = footprint(drill, mark, HOLD_STATE)

    drill = drills()
    mark = drill.mark()
    drill.step({"at": "PT1M", "do": "deadlines.include", "rule": EXCLUDED, "justification": why})
    prints["script"] = footprint(drill, mark, HOLD_STATE)

    drill = drills()
    mark = drill.mark()
    app = drill.console()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await press_for(pilot, "d", FormModal)
        await fill(pilot, {"rule": EXCLUDED, "action": "include", "justification": why})
        await settle(pilot)
    prints["console"] = footprint(drill, mark, HOLD_STATE)

    kinds, states = prints["cli"]
    assert tuple(k for k in kinds if k != "deadline.clock") == ("deadline.override",)
    assert len(states["deadline.overrides"]) == 1
    same_everywhere(prints)


# -- a notice recorded as sent -------------------------------------------------------------------------------------

SENT_RULE = "eu-gdpr-art33-sa"
SENT_AT = "2025-08-20T08:59:00Z"
SENT_STATE: dict[str, tuple[str, ...] | None] = {"notifications": None}


def _proof(drill: Drill) -> str:
    rec = drill.incident.add_evidence_bytes(b"notice as sent\n", "notice.txt", ACTOR, note="proof")
    return str(rec.evidence_id)


async def test_a_notice_sent_is_the_same_from_every_front_end(drills: Callable[[], Drill]) -> None:
    from screens.modals.form import FormModal
    from screens.widgets.countdown_pane import CountdownPane
    from tests.console_helpers import fill, press_for

    prints: dict[str, tuple[Any, ...]] = {}

    drill = drills()
    proof = _proof(drill)
    mark = drill.mark()
    drill.cli("notify", "sent", SENT_RULE, "--at", SENT_AT, "--evidence", proof)
    prints["cli"] = footprint(drill, mark, SENT_STATE)

    drill = drills()
    proof = _proof(drill)
    mark = drill.mark()
    drill.step({"at": "PT1M", "do": "notify.sent", "rule": SENT_RULE, "evidence": proof, "sent_at": SENT_AT})
    prints["script"] = footprint(drill, mark, SENT_STATE)

    drill = drills()
    proof = _proof(drill)
    mark = drill.mark()
    app = drill.console()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("2")
        pane = app.screen.query_one(CountdownPane)
        await until(pilot, lambda: any(r.rule == SENT_RULE for r in pane.rows))
        pane.select(SENT_RULE)
        await press_for(pilot, "m", FormModal)
        await fill(pilot, {"at": SENT_AT, "evidence": proof})
        await until(pilot, lambda: drill.incident.journal.last("notification.sent") is not None)
    prints["console"] = footprint(drill, mark, SENT_STATE)

    kinds, states = prints["cli"]
    assert kinds[0] == "notification.sent" and set(kinds[1:]) <= {"deadline.clock"}
    assert len(states["notifications"]) == 1
    same_everywhere(prints)


# -- the monitoring window and a run ------------------------------------------------------------------------------

MONITOR_STATE: dict[str, tuple[str, ...] | None] = {"monitor": ("window", "runs"), "monitor_alert": None}


def _monitor_kinds(drill: Drill, mark: int) -> tuple[Any, ...]:
    """The footprint, with what started each run (the CLI, the player, the console: `trigger`) left out."""
    kinds, states = footprint(drill, mark, MONITOR_STATE)
    runs = [_stable({k: v for k, v in e.data.items() if k not in ("trigger", "collect_run", "snapshot_evidence_id")})
            for e in drill.written(mark) if e.kind == "monitoring.run"]  # fmt: skip
    return kinds, states, runs


async def test_the_monitoring_window_and_a_run_from_every_front_end(drills: Callable[[], Drill]) -> None:
    from tests.console_helpers import fill, palette

    prints: dict[str, tuple[Any, ...]] = {}
    triggers: dict[str, list[str]] = {}

    drill = drills()
    mark = drill.mark()
    drill.cli("monitor", "start", "--days", "28", "--org", "sim")
    drill.cli("monitor", "run", *drill.sim_args())
    prints["cli"] = _monitor_kinds(drill, mark)
    triggers["cli"] = [e.data["trigger"] for e in drill.written(mark) if e.kind == "monitoring.run"]

    drill = drills()
    mark = drill.mark()
    drill.step({"at": "PT1M", "do": "monitor.start", "days": 28})
    drill.step({"at": "PT2M", "do": "monitor.run"})
    prints["script"] = _monitor_kinds(drill, mark)
    triggers["script"] = [e.data["trigger"] for e in drill.written(mark) if e.kind == "monitoring.run"]

    drill = drills()
    mark = drill.mark()
    app = drill.console()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await palette(pilot, "monitor: start")
        await fill(pilot, {"days": "28", "org": "sim"})
        app._tick()  # the first run is due at once: the console's schedule starts it (if its own tick has not)
        await until(pilot, lambda: drill.incident.journal.last("monitoring.run") is not None)
        await settle(pilot)
    prints["console"] = _monitor_kinds(drill, mark)
    triggers["console"] = [e.data["trigger"] for e in drill.written(mark) if e.kind == "monitoring.run"]

    kinds, states, runs = prints["cli"]
    assert kinds[0] == "monitoring.window" and kinds[-1] == "monitoring.run" and len(runs) == 1
    assert {"inventory.snapshot", "collect.run", "hunt.run"} <= set(kinds)  # the whole run: pull, collect, hunt
    assert states["monitor"]["window"]["days"] == 28 and states["monitor"]["runs"]["count"] == 1
    assert triggers["cli"] == ["command"] and triggers["script"] == ["exercise script"]
    assert triggers["console"] == ["console schedule"]
    same_everywhere(prints)


# -- after containment: a grant, a hardening plan and a reconnect plan (the CLI and the console) --------------------

RECOVERY_STATE: dict[str, tuple[str, ...] | None] = {"containment": None, "reconnect": None}


async def test_grant_hardening_and_reconnect_plans_write_the_same_journal_from_the_cli_and_the_console(
    drills: Callable[[], Drill],
) -> None:
    from screens.modals.table import TableModal
    from tests.console_helpers import fill, palette

    prints: dict[str, tuple[Any, ...]] = {}
    drill = drills()
    mark = drill.mark()
    drill.cli(
        "grant",
        "plan",
        "--org",
        "sim",
        *drill.sim_args(),
        "--user",
        "hubspot-int@acme.example",
        "--permission-set",
        "Sales_Operations",
        "--hours",
        "8",
        "--reason",
        "re-sync",
        "--approver",
        "bob",
    )
    drill.cli("harden", "plan", "--app", "Drift", "--org", "sim", *drill.sim_args())
    drill.cli("reconnect", "plan", "--app", "Drift", "--user", "drift-int2@acme.example")  # fmt: skip
    prints["cli"] = footprint(drill, mark, RECOVERY_STATE)

    drill = drills()
    mark = drill.mark()
    app = drill.console()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await palette(pilot, "grant: plan")
        await fill(pilot, {"user": "hubspot-int@acme.example", "name": "Sales_Operations", "hours": "8",
                           "reason": "re-sync", "approver": "bob"})  # fmt: skip
        await until(pilot, lambda: drill.incident.journal.last("action.plan") is not None)
        await palette(pilot, "harden: plan")
        await fill(pilot, {"app": "Drift"})
        await until(pilot, lambda: isinstance(pilot.app.screen, TableModal))
        await pilot.press("escape")
        await palette(pilot, "reconnect: plan")
        await fill(pilot, {"app": "Drift", "user": "drift-int2@acme.example"})
        await until(pilot, lambda: isinstance(pilot.app.screen, TableModal))
    prints["console"] = footprint(drill, mark, RECOVERY_STATE)

    kinds, states = prints["cli"]
    assert [k for k in kinds if k != "evidence.acquired"] == ["action.plan", "action.plan", "reconnect.plan"]
    assert len(states["containment"]) == 2 and len(states["reconnect"]) == 1
    same_everywhere(prints)
