"""Tabletop exercises: each shipped scenario played headless with its shipped script, through the CLI, ends with a
score and an after-action report; assertions are derived from the scenario's own truth and injects. Also the pure
inject schedule, the accelerated clock's pause and speed (driven by a frozen base clock: no waiting), a poor
response scoring low, bad scenario and script files rejected at their line, and the interactive path."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from app import deadlines as dl
from app.base.clock import AcceleratedClock, FrozenClock, parse_instant
from app.composition.verification import verify as verify_journal
from app.composition.workspace import Workspace
from app.exercise.runner import (
    ExerciseRunner,
    ScenarioError,
    due_injects,
    exercise_start,
    list_scenarios,
    load_scenario,
    make_clock,
    pending_alerts,
    truth_of,
)
from app.exercise.score import WEIGHTS
from app.exercise.scriptfile import load_script
from tests.conftest import MemoryKeyring, isolated

SHIPPED = ("chat-vendor-theft", "fake-data-loader")


def run_cli(home: Path, keyring_backend: Any, *args: str) -> tuple[int, str, str]:
    from app import cli
    from app.base.clock import SystemClock
    from app.composition.context import Context

    out, err = io.StringIO(), io.StringIO()
    ns = cli.build_parser().parse_args(["--home", str(home), *args])
    ctx = Context.from_args(
        ns, clock=SystemClock(), keyring=keyring_backend, stdout=out, stderr=err, stdin=io.StringIO()
    )
    ctx.actor = "facilitator"
    code = cli.dispatch(ctx, ns)
    return code, out.getvalue(), err.getvalue()


@dataclass
class Played:
    name: str
    home: Path
    keyring: MemoryKeyring
    result: dict[str, Any]
    aar: str
    incident_id: str

    def workspace(self) -> Workspace:
        return Workspace(self.home, FrozenClock(parse_instant("2030-01-01T00:00:00Z")), self.keyring)


@pytest.fixture(scope="module", params=SHIPPED)
def played(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Played:
    """Each shipped scenario, scripted, through `warroom exercise run SCENARIO --script FILE --json`."""
    name = request.param
    home = tmp_path_factory.mktemp(f"ex-{name}")
    backend = MemoryKeyring()
    aar_path = home / "aar.md"
    with isolated(home, backend):
        code, out, err = run_cli(
            home, backend, "exercise", "run", name, "--script", name, "--json", "--aar", str(aar_path)
        )
    assert code == 0, err + out[-2000:]
    result = json.loads(out)
    return Played(name, home, backend, result, aar_path.read_text(encoding="utf-8"), result["incident_id"])


# -- the shipped scenarios, played --------------------------------------------------------------------------


def test_scripted_run_completes_without_failures(played: Played) -> None:
    r = played.result
    assert r["failures"] == []
    assert r["clock"] == "virtual"
    assert r["actions_run"] == len(load_script(played.name).script.actions)


def test_every_inject_fired_in_order_at_its_time(played: Played) -> None:
    loaded = load_scenario(played.name)
    start = exercise_start(loaded)
    with played.workspace().open(played.incident_id) as incident:
        fired = list(incident.journal.entries(kind="exercise.inject"))
    assert [e.data["inject"] for e in fired] == [i.id for i in due_injects(loaded.scenario, loaded.scenario.length)]
    for entry, inject in zip(fired, loaded.scenario.injects, strict=True):
        assert parse_instant(entry.recorded_utc) == start + inject.offset
        assert entry.actor == "facilitator"


def test_journal_has_start_and_end_with_the_score(played: Played) -> None:
    with played.workspace().open(played.incident_id) as incident:
        start = incident.journal.last("exercise.start")
        end = incident.journal.last("exercise.end")
        assert incident.journal.genesis["demo"] is True
    assert start is not None and end is not None
    assert start.data["scenario"] == played.name and start.data["clock"] == "virtual"
    assert start.data["script"]["sha256"] == load_script(played.name).sha256
    assert end.data["score"]["total"] == played.result["score"]["total"]
    assert end.seq > start.seq


def test_score_fields_follow_from_the_scenario_truth(played: Played) -> None:
    loaded = load_scenario(played.name)
    score = played.result["score"]
    truth = truth_of(loaded)
    assert {(c["org"], c["kind"], c["name"]) for c in score["containment"]} == {(k.org, k.kind, k.name) for k in truth}
    start = exercise_start(loaded)
    target = int(loaded.scenario.targets.contain_within.removeprefix("PT").removesuffix("H")) * 60
    for c, known in zip(
        sorted(score["containment"], key=lambda c: (c["org"], c["kind"], c["name"])),
        sorted(truth, key=lambda k: (k.org, k.kind, k.name)),
        strict=True,
    ):
        assert c["contained"] is True
        assert parse_instant(c["known_from_utc"]) == start + known.known_from
        assert parse_instant(c["contained_utc"]) >= parse_instant(c["known_from_utc"])
        assert c["minutes_to_contain"] <= target
        if c["kind"] == "app":
            assert c["tokens_left"] == 0  # the simulated org itself says no token of the app is left
    assert score["apps_compromised"] == sum(1 for k in truth if k.kind == "app")
    assert score["apps_contained"] == score["apps_compromised"]
    # Deadlines: every clock due before the end was met by a notice recorded before it was due.
    due = [d for d in score["deadlines"] if d["outcome"] != "open"]
    assert due, "the scenario is long enough for at least one notification deadline to come due"
    for d in due:
        assert d["outcome"] == "met"
        if d["due_utc"]:  # a rule without a fixed deadline ("without undue delay") is met by the notice itself
            assert parse_instant(d["notified_utc"]) <= parse_instant(d["due_utc"])
    assert score["deadlines_met"] == len(due)
    assert score["items_missed"] == 0 and score["evidence_gaps_count"] == 0
    parts = score["parts"]
    assert set(parts) == set(WEIGHTS)
    assert all(0 <= v <= 100 for v in parts.values())
    assert score["total"] == sum(parts[k] * w for k, w in WEIGHTS.items()) // sum(WEIGHTS.values())


def test_notices_were_drafted_complete_before_they_were_sent(played: Played) -> None:
    with played.workspace().open(played.incident_id) as incident:
        drafts = {e.data["rule"]: e for e in incident.journal.entries(kind="notify.drafted")}
        sent = list(incident.journal.entries(kind="notification.sent"))
    assert drafts and sent
    for entry in drafts.values():
        assert entry.data["gaps"] == [], (entry.data["rule"], entry.data["gaps"])
    for s in sent:
        if s.data["rule"] in drafts:
            assert drafts[s.data["rule"]].seq < s.seq


def test_checklist_outcomes_match_the_journal(played: Played) -> None:
    from app import checklist as cl

    score = played.result["score"]
    end = parse_instant(score["ended_utc"])
    with played.workspace().open(played.incident_id) as incident:
        status = cl.checklist_status(incident, cl.incident_checklist(incident), end)
    by_id = {i["id"]: i for i in score["items"]}
    for item in status.items:
        row = by_id[item.id]
        if item.state == cl.ItemState.DONE:
            assert row["outcome"] == (
                "on_time" if parse_instant(item.done_utc) <= parse_instant(item.due_utc) else "late"
            )
        elif item.state == cl.ItemState.NOT_APPLICABLE:
            assert row["outcome"] == "not_applicable"
        else:
            assert row["outcome"] == ("missed" if parse_instant(item.due_utc) <= end else "open")


def test_after_action_report_covers_each_inject_and_is_kept_as_evidence(played: Played) -> None:
    loaded = load_scenario(played.name)
    aar = played.aar
    assert aar == played.result["after_action"]
    assert loaded.scenario.title in aar
    for inject in loaded.scenario.injects:
        assert inject.title in aar
    assert f"**{played.result['score']['total']}/100**" in aar
    with played.workspace().open(played.incident_id) as incident:
        names = [v.get("name") for v in incident.journal.state("evidence").values()]
        assert "after-action-report.md" in names
        assert pending_alerts(incident) == []  # the scripted responders acknowledged every inject


def test_journal_verifies_and_report_is_auditable(played: Played) -> None:
    with played.workspace().open(played.incident_id) as incident:
        path = incident.journal.path
    verdict = verify_journal(path)
    assert verdict.ok, verdict.message
    out = played.home / "report.json"
    code, _, err = run_cli(
        played.home, played.keyring, "report", "--format", "json", "--out", str(out), "--incident", played.incident_id
    )
    assert code == 0, err
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["journal"]["verified"] is True and report["journal"]["size"] == verdict.size
    assert report["exercise"]["score"]["total"] == played.result["score"]["total"]
    applied = [c for c in report["containment"] if c["result_seq"] and c["status"] == "done"]
    assert applied and all(c["approver"] and c["pre_state_digest"] for c in applied)
    notified = {c["rule"] for c in report["clocks"] if c["notified_utc"]}
    assert notified >= {d["rule"] for d in played.result["score"]["deadlines"] if d["outcome"] == "met"}
    assert any(r["served"] and r["framework"] == "soc2" and r["control"] == "CC7.4" for r in report["controls"])


def test_the_monitoring_runs_raise_the_alerts_the_script_expects(played: Played) -> None:
    """The monitoring period: each scripted `monitor.run` is journaled on its day of the window and raised at least
    the alert types it expects (the attacker trying again on day 9); no alert twice."""
    from app.monitoring import ALERT_TYPES

    actions = load_script(played.name).script.actions
    runs = [a for a in actions if a.do == "monitor.run"]
    opened = next(a for a in actions if a.do == "monitor.start")
    start = exercise_start(load_scenario(played.name))
    with played.workspace().open(played.incident_id) as incident:
        entries = {parse_instant(e.recorded_utc): e.data for e in incident.journal.entries(kind="monitoring.run")}
        alerts = [e.data for e in incident.journal.entries(kind="monitoring.alert")]
    assert len(entries) == len(runs) and any(a.expect_alerts for a in runs)
    for action in runs:
        run = entries[start + action.offset]
        assert run["status"] == "ok" and run["trigger"] == "exercise script"
        assert run["day"] == (action.offset - opened.offset) // timedelta(days=1) + 1
        raised = {a["type"] for a in alerts if a["run"] == run["run"]}
        assert set(action.expect_alerts) <= raised, (action.at, raised)
        assert run["alerts"] == sum(1 for a in alerts if a["run"] == run["run"])
    assert len({a["key"] for a in alerts}) == len(alerts) and {a["type"] for a in alerts} <= set(ALERT_TYPES)


# -- the engine without a script -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", SHIPPED)
def test_due_injects_is_a_pure_schedule(name: str) -> None:
    sc = load_scenario(name).scenario
    offsets = sorted({i.offset for i in sc.injects})
    assert [i.id for i in due_injects(sc, timedelta(0))] == [i.id for i in sc.injects if i.offset == timedelta(0)]
    for cut in offsets:
        due = due_injects(sc, cut)
        assert [i.id for i in due] == [i.id for i in sc.injects if i.offset <= cut]
        assert [i.offset for i in due] == sorted(i.offset for i in due)
    first = sc.injects[0].id
    assert first not in [i.id for i in due_injects(sc, sc.length, fired={first})]
    assert due_injects(sc, sc.length, fired={i.id for i in sc.injects}) == []


def _runner(home: Path, backend: Any, name: str, clock: Any) -> ExerciseRunner:
    return ExerciseRunner(Workspace(home, clock, backend), load_scenario(name), clock, start_orgs=False)


def test_accelerated_clock_pause_and_speed_drive_the_injects(tmp_path: Path, mem_keyring: MemoryKeyring) -> None:
    loaded = load_scenario("chat-vendor-theft")
    base = FrozenClock(parse_instant("2030-01-01T00:00:00Z"))  # stands in for the wall clock
    clock = AcceleratedClock(exercise_start(loaded), speed=60, base=base)
    runner = _runner(tmp_path, mem_keyring, "chat-vendor-theft", clock)
    with runner:
        runner.start()
        at_zero = [i.id for i in loaded.scenario.injects if i.offset == timedelta(0)]
        assert [e.data["inject"] for e in runner.fire_due()] == at_zero
        base.advance(timedelta(seconds=30))  # 30 s wall at x60 = 30 min scenario time
        assert runner.elapsed() == timedelta(minutes=30)
        fired = [e.data["inject"] for e in runner.fire_due()]
        assert fired == [i.id for i in loaded.scenario.injects if timedelta(0) < i.offset <= timedelta(minutes=30)]
        runner.pause()
        assert runner.paused
        base.advance(timedelta(hours=10))  # nothing moves while paused
        assert runner.elapsed() == timedelta(minutes=30)
        assert runner.fire_due() == []
        runner.resume()
        runner.set_speed(600)
        base.advance(timedelta(seconds=6))  # 6 s at x600 = 1 h
        assert runner.elapsed() == timedelta(minutes=90)
        assert [e.data["inject"] for e in runner.fire_due()] == [
            i.id for i in loaded.scenario.injects if timedelta(minutes=30) < i.offset <= timedelta(minutes=90)
        ]
        with pytest.raises(ValueError):
            runner.set_speed(601)
        alerts = pending_alerts(runner.incident)
        assert [a.inject for a in alerts] == runner.fired
        # Entries carry scenario time (when the inject was fired), not the wall clock; the offset says when due.
        assert alerts[-1].at == "2025-08-20T10:30:00Z" and alerts[-1].offset == "T+PT1H"


def test_make_clock_virtual_and_accelerated() -> None:
    loaded = load_scenario("fake-data-loader")
    assert isinstance(make_clock(loaded, None, virtual=True), FrozenClock)
    accel = make_clock(loaded, 300, virtual=False)
    assert isinstance(accel, AcceleratedClock) and accel.speed == 300
    assert make_clock(loaded, None, virtual=False).speed == loaded.scenario.speed
    with pytest.raises(Exception, match="between 1 and 600"):
        make_clock(loaded, 0, virtual=False)


def test_a_response_that_does_nothing_scores_low(tmp_path: Path, mem_keyring: MemoryKeyring) -> None:
    loaded = load_scenario("chat-vendor-theft")
    clock = make_clock(loaded, None, virtual=True)
    with _runner(tmp_path, mem_keyring, "chat-vendor-theft", clock) as runner:
        incident = runner.start(mode="scripted")
        clock.advance(loaded.scenario.length)
        runner.fire_due()
        score = runner.finish()
        timers = dl.incident_timers(incident.journal, clock.now())
    expected_missed = [t.rule for t in timers if t.due_utc and parse_instant(t.due_utc) <= clock.now()]
    assert sorted(d.rule for d in score.deadlines if d.outcome == "missed") == sorted(expected_missed)
    assert score.parts["deadlines"] == 0 and score.parts["containment"] == 0 and score.parts["checklist"] == 0
    assert all(not c.contained for c in score.containment)
    assert {g.id for g in score.evidence_gaps if g.kind == "source_not_collected"} >= {"audit", "logins"}
    assert score.total < 20


# -- files that cannot be played ------------------------------------------------------------------------------


def _broken_copy(tmp_path: Path, name: str, old: str, new: str) -> tuple[Path, int]:
    text = load_scenario(name).path.read_text(encoding="utf-8")
    assert old in text
    fixed = text.replace(old, new, 1)
    line = text[: text.index(old)].count("\n") + 1
    path = tmp_path / f"{name}.toml"
    path.write_text(fixed, encoding="utf-8")
    # Seeds given as paths are resolved next to the scenario file.
    (tmp_path / "seeds").mkdir(exist_ok=True)
    for seed in (load_scenario(name).path.parent / "seeds").glob("*.toml"):
        (tmp_path / "seeds" / seed.name).write_text(seed.read_text(encoding="utf-8"), encoding="utf-8")
    return path, line


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ('title = "SOC: Drift tokens may still work"', 'titel = "SOC: Drift tokens may still work"', "unknown key"),
        ('at = "PT30M"', 'at = "PT30X"', "bad duration"),
        ('kind = "soc"', 'kind = "gossip"', "kind"),
        ('"residents.US-TX" = "21750"', '"residents.US-TX" = "many"', "whole number"),
        ('application = "Drift", browser', 'applicaton = "Drift", browser', "unknown key"),
        ('at = "P11DT3H"', 'at = "P13D"', "after the end"),
    ],
)
def test_bad_scenario_rejected_at_its_line(tmp_path: Path, old: str, new: str, needle: str) -> None:
    path, line = _broken_copy(tmp_path, "chat-vendor-theft", old, new)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert f"{path}:{line}:" in message, message
    assert needle in message


def test_duplicate_inject_id_and_unknown_seed_are_refused(tmp_path: Path) -> None:
    path, line = _broken_copy(tmp_path, "chat-vendor-theft", 'id = "hunt-request"', 'id = "soc-tokens-live"')
    with pytest.raises(ScenarioError, match=rf":{line}:.*also used by inject #2"):
        load_scenario(path)
    path, line = _broken_copy(
        tmp_path, "fake-data-loader", 'seed = "seeds/globex-eu.toml"', 'seed = "seeds/nowhere.toml"'
    )
    with pytest.raises(ScenarioError, match=rf":{line}:.*add_org.seed"):
        load_scenario(path)


def test_bad_script_rejected_at_its_line(tmp_path: Path) -> None:
    loaded = load_scenario("chat-vendor-theft")
    text = load_script("chat-vendor-theft").path.read_text(encoding="utf-8")
    bad = text.replace('do = "inventory.pull"', 'do = "inventory.pul"', 1)
    path = tmp_path / "bad.script.toml"
    path.write_text(bad, encoding="utf-8")
    line = bad[: bad.index('do = "inventory.pul"')].count("\n") + 1
    with pytest.raises(ScenarioError) as info:
        load_script(path, loaded)
    assert f"{path}:" in str(info.value) and "actions" in str(info.value)
    reported = int(str(info.value).split(f"{path}:", 1)[1].split(":", 1)[0])
    assert line - 3 <= reported <= line  # the action's table or its `do` key
    with pytest.raises(ScenarioError, match="plays scenario 'chat-vendor-theft', not 'fake-data-loader'"):
        load_script("chat-vendor-theft", load_scenario("fake-data-loader"))


def test_a_failing_scripted_action_is_journaled_and_the_run_goes_on(tmp_path: Path, mem_keyring: MemoryKeyring) -> None:
    script = tmp_path / "s.script.toml"
    script.write_text(
        """
schema = 1
scenario = "chat-vendor-theft"
title = "broken"
actor = "x"

[[actions]]
at = "PT5M"
do = "contain.task"
task = "CT-NO-SUCH-TASK"
evidence = "0123456789ab"

[[actions]]
at = "PT6M"
do = "note"
text = "still here"
""",
        encoding="utf-8",
    )
    code, out, _ = run_cli(
        tmp_path, mem_keyring, "exercise", "run", "chat-vendor-theft", "--script", str(script), "--json"
    )
    assert code == 1
    result = json.loads(out)
    assert [f["do"] for f in result["failures"]] == ["contain.task"]
    assert result["actions_run"] == 1
    ws = Workspace(tmp_path, FrozenClock(parse_instant("2030-01-01T00:00:00Z")), mem_keyring)
    with ws.open(result["incident_id"]) as incident:
        failed = list(incident.journal.entries(kind="exercise.action_failed"))
        assert len(failed) == 1 and "CT-NO-SUCH-TASK" in failed[0].data["error"]
        assert incident.journal.last("exercise.end") is not None


# -- CLI ------------------------------------------------------------------------------------------------------


def test_exercise_list_shows_scenarios_with_descriptions(cli: Any) -> None:
    result = cli("exercise", "list")
    assert result.code == 0
    for s in list_scenarios():
        assert s.name in result.out and s.title in result.out
    data = cli("exercise", "list", "--json").json()
    assert {d["name"] for d in data} >= set(SHIPPED)
    assert all(d["description"] and d["script"] for d in data if d["name"] in SHIPPED)


def test_interactive_run_opens_the_console_with_the_exercise(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake_console(ctx: Any, incident_id: str | None = None, demo: bool = False) -> int:
        seen["clock"] = ctx.clock
        seen["runner"] = getattr(ctx, "exercise", None)
        seen["runner_incident"] = seen["runner"].incident.id if seen["runner"] else None
        seen["incident"] = incident_id
        with ctx.open_incident(incident_id) as incident:
            seen["alerts"] = [a.inject for a in pending_alerts(incident)]
            seen["genesis_demo"] = incident.journal.genesis["demo"]
        return 0

    monkeypatch.setattr("app.cli.open_console", fake_console)
    result = cli("exercise", "run", "fake-data-loader", "--speed", "600")
    assert result.code == 0, result.err
    assert isinstance(seen["clock"], AcceleratedClock) and seen["clock"].speed == 600
    assert isinstance(seen["runner"], ExerciseRunner) and seen["runner_incident"] == seen["incident"]
    assert seen["genesis_demo"] is True
    assert "score" in result.out and seen["incident"] in result.out
    with Workspace(cli.home, cli.clock, cli.keyring).open(seen["incident"]) as incident:
        end = incident.journal.last("exercise.end")
        assert end is not None and end.data["score"]["total"] == int(result.out.split("score ")[1].split("/")[0])


def test_exercise_score_alerts_and_ack_commands(tmp_path: Path, mem_keyring: MemoryKeyring, cli: Any) -> None:
    loaded = load_scenario("chat-vendor-theft")
    clock = make_clock(loaded, None, virtual=True)
    with ExerciseRunner(Workspace(cli.home, clock, mem_keyring), loaded, clock, start_orgs=False) as runner:
        incident = runner.start()
        clock.advance(timedelta(hours=1))
        runner.fire_due()
        incident_id = incident.id
    listed = cli("exercise", "alerts", "--incident", incident_id, "--json").json()
    assert [a["inject"] for a in listed] == [i.id for i in due_injects(loaded.scenario, timedelta(hours=1))]
    assert cli("exercise", "ack", listed[0]["inject"], "--incident", incident_id).code == 0
    again = cli("exercise", "ack", listed[0]["inject"], "--incident", incident_id)
    assert again.code == 2 and "already acknowledged" in again.err
    assert len(cli("exercise", "alerts", "--incident", incident_id, "--json").json()) == len(listed) - 1
    scored = cli("exercise", "score", "--incident", incident_id, "--json")
    assert scored.code == 0 and scored.json()["scenario"] == "chat-vendor-theft"
