"""docs/exercises.md "Write your own scenario", followed literally: the files it shows are this test's fixtures
(byte for byte), its command runs them from the folder it names and from anywhere else, and the mistake it shows
fails at load with the message it shows."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest

from app.exercise.scenario import ScenarioError, load_scenario
from tests.conftest import MemoryKeyring
from tests.test_exercise import run_cli

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
GUIDE_DIR = FIXTURES / "exercise-guide"


def _guide() -> str:
    text = (ROOT / "docs" / "exercises.md").read_text(encoding="utf-8")
    start = text.index("### Write your own scenario")
    return text[start : text.index("\n### ", start + 1)]


def test_the_guide_shows_every_fixture_file_exactly() -> None:
    shown = dict(re.findall(r"File `exercise-guide/([^`]+)`:\n\n```toml\n(.*?)```\n", _guide(), re.S))
    files = {p.relative_to(GUIDE_DIR).as_posix(): p for p in GUIDE_DIR.rglob("*") if p.is_file()}
    assert set(shown) == set(files)
    for rel, path in files.items():
        assert shown[rel] == path.read_text(encoding="utf-8"), rel


def _command() -> list[str]:
    lines = [line for line in _guide().splitlines() if line.startswith("warroom exercise run ")]
    assert len(lines) == 1
    return shlex.split(lines[0])[1:]


@pytest.mark.parametrize("where", ["the folder the guide names", "another directory"])
def test_the_guides_command_runs_the_scenario(
    where: str, tmp_path: Path, mem_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = _command()
    if where == "the folder the guide names":
        monkeypatch.chdir(FIXTURES)
    else:
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        monkeypatch.chdir(elsewhere)
        args = [str(FIXTURES / a) if a.startswith("exercise-guide/") else a for a in args]
    code, out, err = run_cli(tmp_path / "home", mem_keyring, *[a for a in args if a != "--quiet"], "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["failures"] == [] and result["actions_run"] == 9
    assert result["injects_fired"] == ["vendor-warning", "soc-new-login", "counsel"]
    score = result["score"]
    assert score["status"] == "completed"
    assert [(c["kind"], c["name"], c["contained"]) for c in score["containment"]] == [
        ("app", "Pathwise Success", True),
        ("user", "cs-sync@northwind.example", True),
    ]


def test_the_guides_mistake_fails_at_load_as_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    guide = _guide()
    old, new = re.search(r"`(user = \"cs_int\")` to `(user = \"cs_itn\")`", guide).groups()  # type: ignore[union-attr]
    shown = re.search(r"```\n(exercise-guide/cs-vendor\.toml:\d+:\d+: .*)\n```", guide).group(1)  # type: ignore[union-attr]
    shutil.copytree(GUIDE_DIR, tmp_path / "exercise-guide")
    scenario = tmp_path / "exercise-guide" / "cs-vendor.toml"
    text = scenario.read_text(encoding="utf-8")
    soc = text.index('id = "soc-new-login"')
    scenario.write_text(text[:soc] + text[soc:].replace(old, new, 1), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ScenarioError) as info:
        load_scenario("exercise-guide/cs-vendor.toml")
    assert str(info.value) == shown
