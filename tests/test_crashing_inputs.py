"""The crashing inputs of the fault campaign, one regression case each, across every front door that takes them:
time arguments whose offset moves them out of the calendar (parsed before the error handler ran, so a raw
traceback), deep nesting in every TOML and JSON format (RecursionError), a device given where a file is read
(MemoryError on /dev/zero). Each must end in a clear refusal: a usage or data exit code, never exit 70."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.base.errors import WarroomError

EDGE_INSTANTS = ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00")
TIME_ARGUMENTS: list[tuple[str, ...]] = [
    ("new", "T", "--detected"),
    ("new", "T", "--aware"),
    ("deadlines", "compute", "--rule", "GDPR-33", "--start"),
    ("deadlines", "pause", "--requested-by", "r", "--justification", "j", "--at"),
    ("deadlines", "resume", "H-1", "--justification", "j", "--at"),
    ("notify", "sent", "GDPR-33", "--evidence", "x", "--at"),
    ("hunt", "chat-vendor-theft", "--since"),
    ("hunt", "chat-vendor-theft", "--until"),
    ("exfil", "--all", "--since"),
    ("exfil", "--all", "--until"),
    ("collect", "--org", "sim", "--since"),
]


def _refused(r: Any) -> None:
    assert r.code not in (0, 70), (r.code, r.err)
    assert "internal error" not in r.err and "Traceback" not in r.err


@pytest.mark.parametrize("value", EDGE_INSTANTS)
@pytest.mark.parametrize("command", TIME_ARGUMENTS, ids=lambda c: " ".join(c))
def test_every_time_argument_refuses_an_instant_its_offset_moves_out_of_range(
    command: tuple[str, ...], value: str, cli: Any
) -> None:
    cli.new()
    err = io.StringIO()
    with contextlib.redirect_stderr(err):  # argparse writes its refusal to the process's stderr
        r = cli(*command, value)
    assert r.code == 2, (command, value, r.err, err.getvalue())
    assert "Traceback" not in err.getvalue()


DEEP_TOML = "a = " + "[" * 5000 + "]" * 5000 + "\n"
DEEP_TABLE = "a = " + "{b = " * 400 + "1" + "}" * 400 + "\n"


def _toml_loaders() -> list[tuple[str, Callable[[Path], Any]]]:
    from app.base.config import load_config
    from app.checklist.loading import check_checklist
    from app.deadlines.rules import parse_rules
    from app.exercise.scenario import load_scenario
    from app.exercise.scriptfile import load_script
    from app.hunt.indicators import load_indicators
    from app.notify.templates import load_template
    from app.simorg.seed import load_seed

    def config(path: Path) -> Any:
        path.rename(path.with_name("config.toml"))
        return load_config(path.parent)

    def checklist(path: Path) -> Any:
        loaded, problems = check_checklist(path)
        if problems:
            raise WarroomError("; ".join(p.message for p in problems))
        return loaded

    return [
        ("checklist", checklist),
        ("indicator file", load_indicators),
        ("scenario", load_scenario),
        ("exercise script", load_script),
        ("seed", load_seed),
        ("rule file", lambda p: parse_rules(p.read_text(), str(p))),
        ("config.toml", config),
        ("notice template", load_template),
    ]


@pytest.mark.parametrize("text", [DEEP_TOML, DEEP_TABLE], ids=["deep-array", "deep-table"])
@pytest.mark.parametrize("fmt", [name for name, _ in _toml_loaders()])
def test_deep_toml_is_refused_in_every_format(fmt: str, text: str, tmp_path: Path) -> None:
    load = dict(_toml_loaders())[fmt]
    path = tmp_path / "deep.toml"
    path.write_text(text)
    with pytest.raises(WarroomError):
        load(path)


@pytest.mark.parametrize("fmt", ["snapshot", "plan file"])
def test_deep_json_is_refused_in_every_format(fmt: str) -> None:
    from app.containment.store import plan_from_bytes
    from app.inventory.importing import parse_snapshot

    load = parse_snapshot if fmt == "snapshot" else plan_from_bytes
    with pytest.raises(WarroomError):
        load(b"[" * 5000 + b"]" * 5000, "<deep>")


DEVICE_INPUTS: list[tuple[str, ...]] = [
    ("checklist", "validate", "/dev/zero"),
    ("checklist", "status", "--checklist", "/dev/zero"),
    ("hunt", "/dev/zero"),
    ("inventory", "import", "/dev/zero"),
    ("contain", "approve", "/dev/zero"),
    ("deadlines", "--rules", "/dev/zero"),
    ("evidence", "add", "/dev/zero"),
    ("exercise", "run", "/dev/zero"),
]


@pytest.mark.parametrize("args", DEVICE_INPUTS, ids=lambda a: " ".join(a))
def test_a_device_where_a_file_is_read_is_refused(args: tuple[str, ...], cli: Any) -> None:
    cli.new()
    r = cli(*args)
    _refused(r)
    assert "device" in r.err + r.out or "regular file" in r.err + r.out, r.err


@pytest.mark.parametrize("count", ["1E310", "inf", "nan"])
def test_a_csv_count_that_is_not_a_finite_number_is_named(count: str, tmp_path: Path) -> None:
    """Found by fuzzing `inventory import`: UseCount 1E310 (a float infinity) crashed with OverflowError, nan
    with ValueError; the cell is now refused with its file, line and column."""
    from app.inventory.importing import import_path

    (tmp_path / "OauthToken.csv").write_text(f'"Id","AppName","UserId","UseCount"\n"","Drift","005x",{count}\n')
    (tmp_path / "User.csv").write_text('"Id","Username"\n"005x","int@acme.example"\n')
    with pytest.raises(WarroomError, match="UseCount") as err:
        import_path(tmp_path)
    assert "finite" in str(err.value) and "OauthToken.csv" in str(err.value)


HOSTILE_TEMPLATES = {
    "divide-by-zero": "{{ 1 / 0 }}",
    "bad-format": '{{ "%d" % "x" }}',
    "huge-power": "{{ (10 ** 999) ** 999 }}",
    "huge-repeat": '{{ "x" * 10 ** 12 }}',
    "huge-output": '{% for i in range(100000) %}{{ "x" * 999999 }}{% endfor %}',
}


@pytest.mark.parametrize("source", HOSTILE_TEMPLATES.values(), ids=HOSTILE_TEMPLATES.keys())
def test_a_supplied_template_that_fails_or_explodes_is_refused(source: str) -> None:
    """A report layout or notice text is a file an organisation supplies: its own expression failing (exit 70
    before) or building something unbounded (a hang or memory exhaustion before) is a template error."""
    from app.base.templating import TemplateError, environment, render_string

    with pytest.raises(TemplateError):
        render_string(environment(html=True), source, {}, where="custom.html")


def test_a_report_layout_dividing_by_zero_is_a_clear_error(cli: Any, tmp_path: Path) -> None:
    cli.new()
    layout = tmp_path / "layout.html"
    layout.write_text("<html>{{ 1 / 0 }}</html>\n")
    r = cli("report", "--format", "html", "--template", str(layout), "--out", str(tmp_path / "r.html"))
    _refused(r)
    assert "ZeroDivisionError" in r.err and "layout.html" in r.err


@pytest.mark.parametrize("value", ["TT+PT18M", "T+P99999999D"])
def test_a_script_fact_offset_that_does_not_parse_is_the_scripts_error(value: str, tmp_path: Path) -> None:
    """Found by the fuzz run: a `facts.set` action whose offset is malformed or too long crashed the script
    check (ValueError outside it) instead of naming the action."""
    from app.exercise.scenario import scenarios_dir
    from app.exercise.scriptfile import load_script

    text = (scenarios_dir() / "fake-data-loader.script.toml").read_text(encoding="utf-8")
    assert 'value = "T+PT18M"' in text
    path = tmp_path / "fake-data-loader.script.toml"
    path.write_text(text.replace('value = "T+PT18M"', f'value = "{value}"', 1), encoding="utf-8")
    with pytest.raises(WarroomError, match="value"):
        load_script(path)


def test_a_notice_text_nested_too_deeply_is_refused(tmp_path: Path) -> None:
    """Found by the fuzz run: brackets nested thousands deep inside {{ }} in a notice text hit Jinja2's parser
    recursion (RecursionError, exit 70); the file is now refused at the field."""
    from app.notify.templates import load_template, notices_dir

    text = (notices_dir() / "gdpr-art33.toml").read_text(encoding="utf-8")
    marker = 'text = """'
    assert marker in text
    deep = "{{ " + "[" * 5000 + "]" * 5000 + " }}\n"
    path = tmp_path / "deep.toml"
    path.write_text(text.replace(marker, marker + deep, 1), encoding="utf-8")
    with pytest.raises(WarroomError, match="nested too deeply"):
        load_template(path)
