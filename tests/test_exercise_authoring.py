"""Writing a scenario and its script: every reference checked when the files load (FILE:LINE:COL naming the field),
paths resolved relative to the file that names them, an exercise that cannot go on ends journaled as aborted and
scores as such, and the after-action report's lessons follow everything that was missed."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from app.base.clock import FrozenClock, parse_instant
from app.composition.workspace import Workspace
from app.exercise.aar import lessons
from app.exercise.runner import ScenarioError, load_scenario
from app.exercise.scriptfile import load_script
from tests.conftest import CLI, MemoryKeyring
from tests.test_exercise import run_cli

SCENARIOS = load_scenario("chat-vendor-theft").path.parent


def _copy(tmp_path: Path, name: str, old: str = "", new: str = "", *, script: bool = False) -> tuple[Path, int]:
    """A copy of a shipped scenario (or its script) in tmp_path with `old` replaced by `new`; the line changed."""
    source = SCENARIOS / (f"{name}.script.toml" if script else f"{name}.toml")
    text = source.read_text(encoding="utf-8")
    line = 0
    if old:
        assert old in text, old
        line = text[: text.index(old)].count("\n") + 1
        text = text.replace(old, new, 1)
    target = tmp_path / source.name
    target.write_text(text, encoding="utf-8")
    if (SCENARIOS / "seeds").is_dir() and not (tmp_path / "seeds").exists():
        shutil.copytree(SCENARIOS / "seeds", tmp_path / "seeds")
    return target, line


# -- the scenario: references -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        (
            '{ user = "drift_int", at = 2025-08-20T09:25:00Z',
            '{ user = "drift_itn", at = 2025-08-20T09:25:00Z',
            "injects[1].sim.login_history[0].user: unknown user key 'drift_itn' (did you mean 'drift_int'?)",
        ),
        (
            '{ user = "drift_int", at = 2025-08-20T09:25:00Z',
            '{ user = "drift_int", at = 2025-08-20T19:25:00Z',
            "injects[1].sim.login_history[0].at: 2025-08-20T19:25:00Z is after the inject fires",
        ),
        (
            'compromised_users = ["alice_sales"]',
            'compromised_users = ["alice_sale"]',
            "injects[5].truth.compromised_users[0]: unknown user key 'alice_sale' (did you mean 'alice_sales'?)",
        ),
        (
            'prompts = ["forensics.debug-logs"',
            'prompts = ["forensics.debug-log"',
            "prompts[0]: no checklist item 'forensics.debug-log' (did you mean 'forensics.debug-logs'?)",
        ),
    ],
)
def test_a_wrong_reference_fails_at_load_naming_file_line_and_field(
    tmp_path: Path, old: str, new: str, needle: str
) -> None:
    path, line = _copy(tmp_path, "chat-vendor-theft", old, new)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}:"), message
    assert needle in message, message


def test_a_sim_fragment_may_name_what_an_earlier_inject_added(tmp_path: Path) -> None:
    """Keys grow as injects fire: an inject may use a user an earlier one created, never the reverse."""
    path, _ = _copy(tmp_path, "chat-vendor-theft")
    text = path.read_text(encoding="utf-8")
    # The helpdesk inject (T+2h30m) creates a user and logs it in.
    anchor = "[injects.sim]\noauth_tokens = [\n"
    assert anchor in text
    text = text.replace(
        anchor,
        '[injects.sim]\nusers = [{ key = "temp_admin", username = "temp@acme.example", last_name = "Temp", '
        'profile = "sysadmin" }]\noauth_tokens = [\n',
        1,
    ).replace('{ user = "alice_sales", at = 2025-08-20T14:40:00Z', '{ user = "temp_admin", at = 2025-08-20T14:40:00Z')
    path.write_text(text, encoding="utf-8")
    load_scenario(path)
    # The SOC inject (T+30m) fires before that user exists.
    text = text.replace(
        '{ user = "drift_int", at = 2025-08-20T09:25:00Z', '{ user = "temp_admin", at = 2025-08-20T09:25:00Z'
    )
    path.write_text(text, encoding="utf-8")
    with pytest.raises(
        ScenarioError, match=r"injects\[1\]\.sim\.login_history\[0\]\.user: unknown user key 'temp_admin'"
    ):
        load_scenario(path)


# -- the script: every action, every time, every reference ----------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ('action = "revoke_tokens"', 'action = "revoke_token"', "no containment action 'revoke_token'"),
        (
            'do = "inventory.pull"',
            'do = "inventory.pul"',
            "do: unknown action 'inventory.pul' (did you mean 'inventory.pull'?)",
        ),
        ('item = "detect.commander"', 'item = "detect.comander"', "(did you mean 'detect.commander'?)"),
        ('indicators = ["chat-vendor-theft"]', 'indicators = ["iocs/missing.toml"]', "no such indicator file"),
        ('evidence = "@', 'evidence = "@nolabel-', "no earlier action is labelled 'nolabel-"),
        ('"token_regranted",', '"token_re_granted",', "(did you mean 'token_regranted'?)"),
    ],
)
def test_a_wrong_script_action_fails_at_load(tmp_path: Path, old: str, new: str, needle: str) -> None:
    loaded = load_scenario("chat-vendor-theft")
    path, line = _copy(tmp_path, "chat-vendor-theft", old, new, script=True)
    with pytest.raises(ScenarioError) as info:
        load_script(path, loaded)
    message = str(info.value)
    assert message.startswith(f"{path}:"), message
    reported = int(message.split(f"{path}:", 1)[1].split(":", 1)[0])
    assert line - 4 <= reported <= line, (line, message)
    assert needle in message, message


def _script(tmp_path: Path, body: str, scenario: str = "chat-vendor-theft", name: str = "s.script.toml") -> Path:
    path = tmp_path / name
    path.write_text(f'schema = 1\nscenario = "{scenario}"\ntitle = "t"\nactor = "alex.ic"\n{body}', encoding="utf-8")
    return path


def test_script_times_org_aliases_and_injects_are_checked_against_the_scenario(tmp_path: Path) -> None:
    loaded = load_scenario("fake-data-loader")
    cases = [
        ('[[actions]]\nat = "PT1H"\ndo = "inventory.pull"\norg = "sim-eu"\n', "starts at T+5h, after this action"),
        ('[[actions]]\nat = "PT6H"\ndo = "inventory.pull"\norg = "sim-us"\n', "no simulated org 'sim-us'"),
        ('[[actions]]\nat = "PT1H"\ndo = "collect"\nsince = "yesterday"\n', "actions[0].since"),
        ('[[actions]]\nat = "PT1M"\ndo = "exercise.ack"\ninject = "press"\n', "after this action"),
        ('[[actions]]\nat = "PT1M"\ndo = "deadlines.include"\nrule = "gdpr-art33x"\njustification = "j"\n', "gdpr"),
    ]
    for body, needle in cases:
        path = _script(tmp_path, body, "fake-data-loader")
        with pytest.raises(ScenarioError) as info:
            load_script(path, loaded)
        assert str(info.value).startswith(f"{path}:8:"), str(info.value)
        assert needle in str(info.value), str(info.value)


def test_a_monitoring_run_needs_a_window_opened_earlier_in_the_script(tmp_path: Path) -> None:
    loaded = load_scenario("chat-vendor-theft")
    body = (
        '[[actions]]\nat = "PT2H"\ndo = "monitor.run"\nexpect_alerts = ["login_from_indicator"]\n\n'
        '[[actions]]\nat = "PT3H"\ndo = "monitor.start"\ndays = 14\n'
    )
    path = _script(tmp_path, body)
    with pytest.raises(ScenarioError) as info:
        load_script(path, loaded)
    assert str(info.value).startswith(f"{path}:7:") and "monitor.start action must come before" in str(info.value)
    path = _script(tmp_path, body.replace('at = "PT3H"', 'at = "PT1H"'))
    script = load_script(path, loaded)  # opened at T+1h, run at T+2h: accepted
    assert [a.do for a in script.script.actions] == ["monitor.run", "monitor.start"]


# -- paths relative to their own file ------------------------------------------------------------------------------


def test_hunt_paths_resolve_from_the_script_file_not_the_current_directory(
    tmp_path: Path, mem_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.hunt import find_indicator_file

    folder = tmp_path / "drill"
    folder.mkdir()
    scenario, _ = _copy(folder, "chat-vendor-theft")
    shutil.copytree(find_indicator_file("chat-vendor-theft").parent, folder / "iocs")
    (folder / "iocs" / "chat-vendor-theft.toml").rename(folder / "iocs" / "drift.toml")
    script = _script(
        folder,
        '[[actions]]\nat = "PT5M"\ndo = "hunt"\nindicators = ["iocs/drift.toml"]\n',
        name="chat-vendor-theft.script.toml",
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, out, err = run_cli(
        tmp_path / "home", mem_keyring, "exercise", "run", str(scenario), "--script", str(script), "--json"
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["failures"] == []
    ws = Workspace(tmp_path / "home", FrozenClock(parse_instant("2030-01-01T00:00:00Z")), mem_keyring)
    with ws.open(result["incident_id"]) as incident:
        hunts = [e for e in incident.journal.entries() if e.kind.startswith("hunt")]
        assert [e.kind for e in hunts] == ["hunt.run"]


# -- an exercise that cannot go on ---------------------------------------------------------------------------------


def test_an_exercise_that_aborts_records_its_end_and_scores_as_aborted(
    tmp_path: Path, mem_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The simulated org refuses the T+30m inject's rows: the run stops there, journaled as aborted, and every
    later look at the score says so (never "deadlines 100")."""
    from app.simorg import SimOrg
    from app.simorg.seed import SeedError

    def refuse(self: SimOrg, fragment: object, origin: str = "inject") -> None:
        raise SeedError(f"{origin}: the simulated org refused the rows")

    monkeypatch.setattr(SimOrg, "inject", refuse)
    script = _script(tmp_path, '[[actions]]\nat = "PT10M"\ndo = "note"\ntext = "on it"\n')
    code, _, err = run_cli(tmp_path, mem_keyring, "exercise", "run", "chat-vendor-theft", "--script", str(script))
    assert code == 1
    assert "aborted at T+30m: inject soc-tokens-live: the simulated org refused the rows" in err, err
    incident_id = err.split("exercise ", 1)[1].split()[0]
    ws = Workspace(tmp_path, FrozenClock(parse_instant("2030-01-01T00:00:00Z")), mem_keyring)
    with ws.open(incident_id) as incident:
        end = incident.journal.last("exercise.end")
        assert end is not None and "refused the rows" in end.data["aborted"]
        assert end.data["score"]["status"] == "aborted" and end.data["score"]["total"] == 0
        from app.exercise.aar import after_action_report
        from app.exercise.score import score

        loaded = load_scenario("chat-vendor-theft")
        head = after_action_report(incident, loaded, score(incident, loaded)).split("## Injects", 1)[0]
        assert "- ABORTED (T+30m: inject soc-tokens-live" in head and "deadlines 100" not in head
        assert "/100" not in head
    cli = CLI(tmp_path, FrozenClock(parse_instant("2030-01-01T00:00:00Z")), mem_keyring)
    shown = cli("exercise", "score", "--incident", incident_id)
    assert shown.code == 0, shown.err
    assert "ABORTED (T+30m: inject soc-tokens-live" in shown.out and "not scored" in shown.out
    assert "score " not in shown.out.split("\n")[0] and "deadlines 100" not in shown.out
    data = cli("exercise", "score", "--incident", incident_id, "--json").json()
    assert data["status"] == "aborted" and data["total"] == 0


# -- the after-action report ---------------------------------------------------------------------------------------


def test_lessons_follow_missed_checklist_items(tmp_path: Path, mem_keyring: MemoryKeyring) -> None:
    """A response that only takes notes: the lessons name the missed checklist items, never 'nothing outstanding'."""
    script = _script(tmp_path, '[[actions]]\nat = "PT10M"\ndo = "note"\ntext = "watching"\n')
    code, out, err = run_cli(
        tmp_path, mem_keyring, "exercise", "run", "chat-vendor-theft", "--script", str(script), "--json"
    )
    assert code == 0, err
    result = json.loads(out)
    score = result["score"]
    assert score["items_missed"] > 0
    aar = result["after_action"]
    practise = aar.split("## To practise next", 1)[1]
    assert "Nothing outstanding" not in practise
    missed = [i["id"] for i in score["items"] if i["outcome"] == "missed"]
    assert missed[0] in practise
    assert "item(s) missed" in practise
    assert "never acknowledged" in practise  # no inject was acknowledged either


def test_nothing_outstanding_only_when_nothing_was_missed() -> None:
    from app.exercise.score import ItemScore, Score

    empty = Score(
        scenario="s",
        incident_id="i",
        started_utc="2025-01-01T00:00:00Z",
        ended_utc="2025-01-02T00:00:00Z",
        elapsed="1d",
        deadlines_met=0,
        deadlines_late=0,
        deadlines_missed=0,
        deadlines_open=0,
        items_on_time=0,
        items_late=0,
        items_missed=0,
        items_open=0,
        apps_compromised=0,
        apps_contained=0,
        evidence_gaps_count=0,
        parts={},
        total=100,
        deadlines=[],
        items=[],
        containment=[],
        evidence_gaps=[],
    )
    assert lessons(empty) == []
    late = empty.model_copy(
        update={
            "items": [
                ItemScore(
                    id="notify.decision", title="t", due_utc="2025-01-01T01:00:00Z", done_utc=None, outcome="late"
                )
            ]
        }
    )
    assert lessons(late) == ["Checklist notify: 1 item(s) late (notify.decision): start them sooner."]


def test_an_exercise_with_no_recorded_end_is_scored_as_unfinished(tmp_path: Path, mem_keyring: MemoryKeyring) -> None:
    """A run killed before it could record anything (no end, no abort): the score says so instead of a total."""
    from app.exercise.runner import ExerciseRunner, make_clock

    loaded = load_scenario("chat-vendor-theft")
    clock = make_clock(loaded, None, virtual=True)
    ws = Workspace(tmp_path, clock, mem_keyring)
    runner = ExerciseRunner(ws, loaded, clock, start_orgs=False)
    incident_id = runner.start(mode="scripted").id
    runner.close()
    cli = CLI(tmp_path, FrozenClock(clock.now() + timedelta(hours=1)), mem_keyring)
    shown = cli("exercise", "score", "--incident", incident_id)
    assert shown.code == 0, shown.err
    assert "UNFINISHED (no end recorded), provisional score" in shown.out
    assert cli("exercise", "score", "--incident", incident_id, "--json").json()["status"] == "unfinished"


def test_a_console_exercise_that_stops_on_an_error_is_journaled_as_aborted(
    cli: CLI, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, str] = {}

    def failing_console(ctx: object, incident_id: str | None = None, demo: bool = False) -> int:
        assert incident_id is not None
        seen["incident"] = incident_id
        from app.base.errors import WarroomError

        raise WarroomError("the terminal went away")

    monkeypatch.setattr("app.cli.open_console", failing_console)
    result = cli("exercise", "run", "fake-data-loader", "--speed", "600")
    assert result.code == 1
    assert "aborted at T+" in result.err and "the terminal went away" in result.err
    with Workspace(cli.home, cli.clock, cli.keyring).open(seen["incident"]) as incident:
        end = incident.journal.last("exercise.end")
        assert end is not None and "the terminal went away" in end.data["aborted"]
