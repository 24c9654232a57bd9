"""Packaging: every third-party module that app/ and screens/ import is a declared dependency, and the lock files
in requirements/ still match pyproject.toml (scripts/_venv.sh refuses them otherwise)."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
sys.path.insert(0, str(ROOT / "scripts"))
import lockfile  # noqa: E402


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(spec: str) -> str:
    return _canonical(re.split(r"[\s<>=!~;\[]", spec, maxsplit=1)[0])


def _imported_top_level(package: str) -> dict[str, str]:
    """Top-level names imported anywhere under `package` (absolute imports), each with one file that does."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def test_every_imported_third_party_module_is_a_declared_dependency():
    declared = {_requirement_name(d) for d in PYPROJECT["project"]["dependencies"]}
    distributions = importlib.metadata.packages_distributions()
    undeclared = []
    for package in ("app", "screens"):
        for module, where in _imported_top_level(package).items():
            if module in sys.stdlib_module_names or module in ("app", "screens", "__future__"):
                continue
            dists = {_canonical(d) for d in distributions.get(module, [])}
            assert dists, f"{module} (imported in {where}) belongs to no installed distribution"
            if not dists & declared:
                undeclared.append(f"{module} ({', '.join(sorted(dists))}) imported in {where}")
    assert undeclared == [], "imported but not in [project].dependencies: " + "; ".join(undeclared)


@pytest.mark.parametrize("extras", lockfile.LOCKED_EXTRAS)
def test_each_lock_matches_pyproject_and_pins_every_declared_dependency_with_hashes(extras: str):
    assert lockfile.check(extras) is None, f"{lockfile.check(extras)}: run scripts/lock"
    pins = {_canonical(p.name): p for p in lockfile.read_pins(lockfile.lock_path(extras))}
    names = [e for e in extras.split(",") if e]
    optional = PYPROJECT["project"]["optional-dependencies"]
    wanted = [] if names == ["tools"] else list(PYPROJECT["project"]["dependencies"])
    for name in names:
        wanted += optional[name]
    missing = sorted({_requirement_name(spec) for spec in wanted} - set(pins))
    assert missing == []
    assert all(p.hashes for p in pins.values()), [p.name for p in pins.values() if not p.hashes]


def test_a_changed_dependency_list_makes_the_lock_stale(tmp_path: Path):
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    changed = text.replace("dependencies = [\n", 'dependencies = [\n    "jinja2>=3",\n', 1)
    assert changed != text
    (tmp_path / "pyproject.toml").write_text(changed, encoding="utf-8")
    assert lockfile.digest("test", tmp_path / "pyproject.toml") != lockfile.digest("test")
    unrelated = text.replace("line-length = 120", "line-length = 100")
    (tmp_path / "pyproject.toml").write_text(unrelated, encoding="utf-8")
    assert lockfile.digest("test", tmp_path / "pyproject.toml") == lockfile.digest("test")


def test_venv_setup_refuses_a_stale_lock_and_says_to_run_scripts_lock(tmp_path: Path):
    for part in ("scripts/_venv.sh", "scripts/lockfile.py"):
        (tmp_path / part).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / part).write_text((ROOT / part).read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "runtime.txt").write_text(lockfile.lock_path("").read_text(encoding="utf-8"))
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(
        pyproject.replace("dependencies = [\n", 'dependencies = [\n    "jinja2>=3",\n', 1)
    )
    done = subprocess.run(
        ["bash", "-c", f". {tmp_path}/scripts/_venv.sh ''"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable},
    )
    assert done.returncode == 1
    assert "run scripts/lock" in done.stderr
    assert not (tmp_path / ".venv").exists()
