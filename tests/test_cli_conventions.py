"""The command line follows its ecosystem's conventions: `--version`, shell completion from the parser, help for
every option, examples under every command (each one parses), `--json` on every command with write commands
returning what they made, and failures under `--json` as a JSON object on stderr with the exit code."""

from __future__ import annotations

import hashlib
import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from app import cli as cli_module
from app import cli_conventions as conventions
from tests.conftest import subprocess_env

ROOT = Path(__file__).resolve().parent.parent


def _leaves() -> list[tuple[str, object]]:
    return list(conventions.leaves(cli_module.build_parser()))


def test_every_command_accepts_json_has_help_for_every_option_and_examples():
    leaves = _leaves()
    assert len(leaves) > 50
    for path, parser in leaves:
        options = {s for a in parser._actions for s in a.option_strings}  # type: ignore[attr-defined]
        assert "--json" in options, path
        missing = [a.dest for a in parser._actions if a.help is None]  # type: ignore[attr-defined]
        assert missing == [], f"{path}: no help for {missing}"
        assert "examples:\n  warroom " in (parser.epilog or ""), path  # type: ignore[attr-defined]


def test_every_written_example_names_a_command_and_parses():
    parser = cli_module.build_parser()
    paths = {path for path, _ in conventions.leaves(parser)}
    assert set(conventions.EXAMPLES) <= paths
    for path, lines in conventions.EXAMPLES.items():
        for line in lines:
            words = shlex.split(line, comments=True)
            words = words[: words.index(">")] if ">" in words else words  # the shell's redirection
            assert words[0] == "warroom" and " ".join(words[1:]).startswith(path), line
            try:
                parser.parse_args(words[1:])
            except SystemExit as exc:
                pytest.fail(f"example does not parse ({exc.code}): {line}")


def test_version_names_python_and_the_dependencies_that_matter():
    done = subprocess.run(
        [sys.executable, "-m", "screens.entry", "--version"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    lines = done.stdout.splitlines()
    assert lines[0].startswith("warroom ")
    assert lines[1].startswith("Python ")
    for name in ("textual", "simple-salesforce", "holidays"):
        assert any(line.startswith(f"{name} ") and line[len(name) + 1 :][0].isdigit() for line in lines), name


def test_bash_completion_completes_commands_subcommands_and_options(tmp_path: Path):
    script = tmp_path / "warroom.bash"
    done = subprocess.run(
        [sys.executable, "-m", "screens.entry", "completion", "bash"],
        cwd=ROOT,
        env=subprocess_env(tmp_path),
        capture_output=True,
        text=True,
        check=True,
    )
    script.write_text(done.stdout)

    def complete(line: str) -> list[str]:
        words = line.split(" ")
        probe = (
            f"source {shlex.quote(str(script))}; COMP_WORDS=({' '.join(shlex.quote(w) for w in words)}); "
            f"COMP_CWORD={len(words) - 1}; COMP_LINE={shlex.quote(line)}; COMP_POINT={len(line)}; "
            '_shtab_warroom; printf "%s\\n" "${COMPREPLY[@]}"'
        )
        return subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True).stdout.split()

    assert complete("warroom evid") == ["evidence"]
    assert complete("warroom evidence a") == ["add"]
    assert "--incident" in complete("warroom evidence add --")
    assert "--json" in complete("warroom note --")


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_completion_scripts_name_the_commands(cli, shell: str):
    result = cli("completion", shell)
    assert result.code == 0
    assert "warroom" in result.out and "evidence" in result.out and "checkpoint" in result.out


def test_a_failure_under_json_is_a_json_object_on_stderr_with_the_exit_code(cli):
    cli.new()
    result = cli("note", "hello", "--incident", "NOPE", "--json")
    assert result.code == 2 and result.out == ""
    error = json.loads(result.err.strip().splitlines()[-1])
    assert error["exit_code"] == 2 and error["type"] == "NotFoundError" and error["command"] == "note"
    assert "NOPE" in error["error"]
    assert cli("note", "hello", "--incident", "NOPE").err.startswith("warroom: ")  # plain without --json


def test_a_usage_error_under_json_is_a_json_object_too(tmp_path: Path):
    done = subprocess.run(
        [sys.executable, "-m", "screens.entry", "evidence", "custody", "--json"],
        cwd=ROOT,
        env=subprocess_env(tmp_path),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    error = json.loads(done.stderr.strip().splitlines()[-1])
    assert error["exit_code"] == 2 and error["type"] == "UsageError" and "required" in error["error"]


def test_a_command_without_its_own_json_returns_its_lines_in_a_json_object(cli):
    incident = cli.new()
    result = cli("journal", "checkpoint", "--incident", incident, "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert data["command"] == "journal checkpoint" and data["exit_code"] == 0
    assert data["output"] and all(isinstance(line, str) for line in data["output"])
    assert [m["kind"] for m in data["made"]] == ["checkpoint"]  # what it wrote, as the journal has it
    _entry_matches(cli, data["made"][0])
    settings = cli("settings", "set", "containment.require_distinct_approver", "true", "--json").json()
    assert [m["kind"] for m in settings["made"]] == ["settings.set"]
    _entry_matches(cli, settings["made"][0])
    listed = cli("deadlines", "rules", "--json")  # a command with its own JSON is not wrapped
    assert isinstance(listed.json(), list | dict) and "made" not in listed.json()


def _entry_matches(cli, made: dict) -> None:
    """The seq and hash a write command returned are the journal's."""
    from app.composition.workspace import Workspace

    with Workspace(cli.home, cli.clock, cli.keyring).open(made["incident"]) as incident:
        entry = incident.journal.entry(made["seq"])
        assert entry is not None and entry.entry_hash == made["entry_hash"] and entry.entry_id == made["entry_id"]
        assert incident.journal.head().root_hex == made["journal_root"]


def test_write_commands_return_what_they_made(cli, tmp_path: Path):
    incident = cli.new()
    note = cli("note", "first look", "--json").json()
    assert note["incident"] == incident
    _entry_matches(cli, note)

    proof = tmp_path / "notice.pdf"
    proof.write_bytes(b"notice to the regulator")
    added = cli("evidence", "add", str(proof), "--note", "sent copy", "--json").json()
    assert added["sha256"] == hashlib.sha256(proof.read_bytes()).hexdigest() and added["size"] == proof.stat().st_size
    _entry_matches(cli, added)

    custody = cli("evidence", "custody", added["evidence_id"], "verified", "--json").json()
    assert custody["match"] is True and custody["action"] == "verified"
    _entry_matches(cli, custody)

    verified = cli("evidence", "verify", "--json").json()
    assert verified["checked"] == 1 and verified["mismatches"] == 0
    _entry_matches(cli, verified["items"][0])

    item = cli("checklist", "set", "detect.commander", "done", "--json").json()
    assert (item["item"], item["state"]) == ("detect.commander", "done")
    _entry_matches(cli, item)

    fact = cli("facts", "set", "residents.US-CA", "48200", "--json").json()
    assert fact["key"] == "residents.US-CA" and fact["seq"] is not None
    _entry_matches(cli, fact)
    again = cli("facts", "set", "residents.US-CA", "48200", "--json").json()
    assert again["seq"] is None and again["entry_hash"] is None  # nothing recorded, and it says so

    sent = cli(
        "notify", "sent", "us-ca-individuals", "--at", cli.clock.now().isoformat(), "--evidence", added["evidence_id"],
        "--json",
    ).json()  # fmt: skip
    assert sent["rule"] == "us-ca-individuals" and sent["evidence_id"] == added["evidence_id"]
    _entry_matches(cli, sent)


def test_checklist_validate_and_simorg_check_speak_json(cli, tmp_path: Path):
    ok = cli("checklist", "validate", "--json")
    assert ok.code == 0 and ok.json()["ok"] is True and ok.json()["items"] > 10
    bad = tmp_path / "bad.toml"
    bad.write_text("[[phases]]\nid = 3\n")
    result = cli("checklist", "validate", str(bad), "--json")
    assert result.code == 1 and result.json()["ok"] is False and result.json()["problems"]
    seed = cli("simorg", "check", "chat-vendor-theft", "--json")
    assert seed.code == 0 and seed.json()["rows"]["User"] > 0


def test_demo_without_a_terminal_checks_the_demo_and_opens_no_console(cli, monkeypatch: pytest.MonkeyPatch):
    import screens.factory

    def no_console(*_args, **_kwargs) -> int:
        raise AssertionError("the console was opened without a terminal")

    monkeypatch.setattr(screens.factory, "run_console", no_console)
    result = cli("demo", "--json")
    assert result.code == 0, result.err
    made = result.json()
    assert made["org_alias"] == "sim" and made["org_users"] > 0 and made["org_url"].startswith("https://127.0.0.1:")
    assert made["incident"] in cli("list").out
    plain = cli("demo")
    assert plain.code == 0 and "no console" in plain.out
    refused = cli("open", made["incident"])
    assert refused.code == 2 and "needs a terminal" in refused.err
