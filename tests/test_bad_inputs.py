"""The inputs that crashed (exit 70, a traceback) or hung the tool, kept as regression cases: each must now end in
a clear message and a usage or data exit code, and nothing may block."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from app.base.guarded_regex import RegexRefused, compile_guarded
from app.hunt.indicators import load_indicators
from app.simorg.seed import SeedError, load_seed
from tests.simorg_helpers import mini_seed

DEEP = 5000


def _no_crash(r: Any) -> None:
    assert r.code not in (0, 70), (r.code, r.err)
    assert "internal error" not in r.err and "Traceback" not in r.err


# -- crashes ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "items = 3\n",
        "phases = 'x'\n",
        "overrides = {a = 1}\n",
        "a = " + "[" * DEEP + "]" * DEEP + "\n",
        "a = " + "{b = " * 400 + "1" + "}" * 400 + "\n",
    ],
    ids=["items-int", "phases-string", "overrides-table", "deep-array", "deep-table"],
)
def test_checklist_inputs_that_crashed(text: str, cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    r = cli("checklist", "validate", str(path))
    assert r.code == 1 and str(path) in r.out + r.err


def test_dev_zero_as_a_checklist(cli: Any) -> None:
    _no_crash(cli("checklist", "validate", "/dev/zero"))


def test_deep_json_snapshot(cli: Any, tmp_path: Path) -> None:
    cli.new()
    path = tmp_path / "snap.json"
    path.write_text("[" * DEEP + "]" * DEEP)
    r = cli("inventory", "import", str(path))
    _no_crash(r)
    assert "nested" in r.err


@pytest.mark.parametrize(
    "args",
    [
        ("deadlines", "pause", "--at", "0001-01-01T00:00:00+01:00", "--requested-by", "x", "--justification", "y"),
        ("notify", "sent", "GDPR-33", "--at", "9999-12-31T23:59:59-01:00", "--evidence", "x"),
        ("new", "typo", "--detected", "0205-08-12T10:00:00Z"),
        ("facts", "set", "target.default", "P99999999D"),
        ("facts", "set", "detected", "0001-01-01T00:30:00+01:00"),
        ("hunt", "chat-vendor-theft", "--since", "2025-02-01T00:00:00Z", "--until", "2025-01-01T00:00:00Z"),
        ("exfil", "--all", "--since", "2025-02-01T00:00:00Z", "--until", "2025-01-01T00:00:00Z"),
        ("report", "--out", ""),
        ("notify", "draft", "GDPR-33", "--out", "/dev/null"),
    ],
    ids=lambda a: " ".join(a)[:40],
)
def test_arguments_that_crashed(args: tuple[str, ...], cli: Any) -> None:
    cli.new()
    r = cli(*args)
    _no_crash(r)


def test_a_value_starting_with_a_dash_gets_a_hint(cli: Any) -> None:
    cli.new()
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        r = cli("facts", "set", "target.default", "-1h")
    assert r.code == 2 and "goes after `--`" in err.getvalue()
    r = cli("facts", "set", "target.default", "--", "-1h")
    assert r.code == 2 and "not a duration" in r.err


@pytest.mark.parametrize(
    "generate",
    [{"users": 10**9}, {"tokens": 10**12}, {"login_history": 10**7}],
    ids=["users", "tokens", "login_history"],
)
def test_seed_counts_are_capped(generate: dict[str, int], tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(mini_seed(generate=generate))
    with pytest.raises(SeedError, match="less than or equal"):
        load_seed(path)


def test_seed_repeat_hours_and_counts_are_capped(tmp_path: Path) -> None:
    text = mini_seed()
    assert text.count("[[login_history]]") >= 1
    for extra, field in (("repeat_hours = 100000000\ncount = 2\n", "repeat_hours"), ("count = 10000000000\n", "count")):
        bad = text.replace("[[login_history]]\n", "[[login_history]]\n" + extra, 1)
        path = tmp_path / "s.toml"
        path.write_text(bad)
        with pytest.raises(SeedError, match=field):
            load_seed(path)


def test_an_unknown_user_in_an_audit_trail_display(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from app.base.clock import FrozenClock
    from app.simorg.build import build_store

    extra = (
        '[[audit_trail]]\nat = 2025-03-02T15:10:00Z\naction = "x"\nsection = "y"\n'
        'display = "Changed {username:nobody}"\nby = "me"\n'
    )
    path = tmp_path / "s.toml"
    path.write_text(mini_seed(extra=extra))
    with pytest.raises(SeedError, match="display"):
        build_store(load_seed(path), FrozenClock(datetime(2025, 8, 1, tzinfo=UTC)))


# -- hangs -----------------------------------------------------------------------------------------------------


def test_catastrophic_backtracking_cannot_hang_a_hunt(tmp_path: Path) -> None:
    path = tmp_path / "ioc.toml"
    path.write_text(
        'format = 1\nname = "t"\ntitle = "t"\n[[indicator]]\nkind = "user_agent"\nmatch = "regex"\n'
        'values = ["(\\\\w+\\\\s?)+$"]\nconfidence = "low"\n'
    )
    sets = load_indicators(path)
    from app.evidence.rows import Row

    hostile = "a" * 200_000 + "!"
    row = Row("e1", "f.log", 1, "ApexLog", {"UserAgent": hostile}, text=hostile)
    assert sets.compiled[0].test(row) is None  # the loaded indicator itself matches in linear time
    rx = compile_guarded(r"(\w+\s?)+$")
    assert rx.search("a" * 200_000 + "!") is None  # linear time: returns at once (re would run for hours)
    assert re.compile(r"(\w+\s?)+$").pattern == rx.pattern


@pytest.mark.parametrize("pattern", [r"(a)\1", r"foo(?=bar)", r"(?<!x)y"])
def test_patterns_that_need_backtracking_are_refused_at_load(pattern: str, tmp_path: Path) -> None:
    with pytest.raises(RegexRefused, match="exponential"):
        compile_guarded(pattern)
    path = tmp_path / "ioc.toml"
    escaped = pattern.replace("\\", "\\\\")
    path.write_text(
        f'format = 1\nname = "t"\ntitle = "t"\n[[indicator]]\nkind = "user_agent"\nmatch = "regex"\n'
        f'values = ["{escaped}"]\nconfidence = "low"\n'
    )
    with pytest.raises(Exception, match="not a valid regular expression"):
        load_indicators(path)


# -- found by the fuzz campaign (tests/test_fuzz_formats.py) ---------------------------------------------------

LONG_NAME = "[" * 300  # longer than a file name may be (ENAMETOOLONG), where a path or an id is accepted


@pytest.mark.parametrize(
    "args",
    [
        ("contain", "approve", LONG_NAME),
        ("contain", "apply", LONG_NAME),
        ("hunt", LONG_NAME),
        ("hunt", "~no-such-user-here/iocs.toml"),
        ("exercise", "run", LONG_NAME, "--script", LONG_NAME),
        ("exercise", "run", "~no-such-user-here/x.toml"),
        ("inventory", "diff", LONG_NAME, "~no-such-user-here/x.json"),
    ],
    ids=lambda a: " ".join(a)[:30],
)
def test_names_that_cannot_be_files_are_looked_up_as_ids(args: tuple[str, ...], cli: Any) -> None:
    """A name too long to be a file, or `~user` for an unknown user, crashed the lookup (OSError, RuntimeError)."""
    cli.new()
    _no_crash(cli(*args))
