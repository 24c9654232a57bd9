"""Start-up: `warroom CMD` imports only CMD's command module, `warroom --help` none, and writing a note or
listing incidents loads neither the Salesforce client stack nor the UI nor every area. (How long start-up
takes is measured in scripts/bench, not here.)"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
from pathlib import Path

from app import cli
from tests.conftest import subprocess_env

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("simple_salesforce", "zeep", "lxml", "textual", "requests", "keyring", "holidays", "sqlite_utils")


def test_the_command_table_matches_what_the_modules_register():
    registered: dict[str, tuple[str, str]] = {}
    for module in cli.COMMAND_MODULES:
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(f"app.commands.{module}").register(sub)
        for action in sub._choices_actions:
            registered[action.dest] = (module, str(action.help))
    assert list(registered) == list(cli.COMMANDS)
    assert registered == cli.COMMANDS


def test_the_command_word_is_found_after_the_global_options():
    assert cli.command_word(["--home", "/x", "--actor", "a", "note", "hi"]) == "note"
    assert cli.command_word(["--home=/x", "list"]) == "list"
    assert cli.command_word(["--help"]) is None
    assert cli.command_word([]) is None


def _loaded_by(tmp_path: Path, *argv: str) -> tuple[int, list[str]]:
    """Run `warroom ARGV` in a fresh interpreter; the exit code and the modules it loaded."""
    code = (
        "import json, sys\n"
        "from screens.entry import main\n"
        "try:\n"
        f"    rc = main({list(argv)!r})\n"
        "except SystemExit as exc:\n"
        "    rc = exc.code or 0\n"
        "print(json.dumps([rc, sorted(sys.modules)]), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=subprocess_env(tmp_path), capture_output=True, text=True
    )
    rc, modules = json.loads(done.stderr.strip().splitlines()[-1])
    return rc, modules


def _commands(modules: list[str]) -> list[str]:
    return [m for m in modules if m.startswith("app.commands.") and m != "app.commands._args"]


def test_help_imports_no_command_module(tmp_path: Path):
    rc, modules = _loaded_by(tmp_path, "--help")
    assert rc == 0
    assert _commands(modules) == []
    assert not [m for m in modules if m.split(".")[0] in HEAVY]


def test_note_and_list_load_only_their_command_and_no_heavy_dependency(tmp_path: Path):
    rc, _ = _loaded_by(tmp_path, "new", "Leak")
    assert rc == 0
    for argv in (("note", "first look"), ("list",)):
        rc, modules = _loaded_by(tmp_path, *argv)
        assert rc == 0, argv
        assert _commands(modules) == ["app.commands.incident"], argv
        assert not [m for m in modules if m.split(".")[0] in (*HEAVY, "pydantic", "cryptography")], argv
        areas = ("checklist", "containment", "deadlines", "exercise", "findings", "forensics", "hunt", "inventory")
        assert not [m for m in modules if m.split(".")[:2] in [["app", a] for a in areas]], argv
