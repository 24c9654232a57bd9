"""Fuzzing every format a responder can hand the tool: each input ends in a value or in the format's own clear
error (a WarroomError, or ValueError for the small value parsers), never in any other exception.

Inputs are random text and, more usefully, shipped documents with random cuts, duplications and insertions.
The suite runs a modest number of examples per format; `WARROOM_FUZZ_EXAMPLES=10000` runs the full campaign.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.base.errors import WarroomError

EXAMPLES = int(os.environ.get("WARROOM_FUZZ_EXAMPLES", "40"))
DATA = Path(__file__).resolve().parents[1] / "app" / "data"
ROOT = Path(__file__).resolve().parents[1]

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
    database=None,
)

NOISE = st.sampled_from(
    [
        "[",
        "]",
        "[[",
        "{",
        "}",
        "=",
        '"',
        "'",
        "\n",
        "#",
        ",",
        "0",
        "-1",
        "1e999",
        "9" * 30,
        "\\",
        "\x00",
        "é",
        "true",
        "[[items]]",
        "[[indicator]]",
        "1970-01-01T00:00:00Z",
        "0205-08-12T10:00:00Z",
        "P99999999D",
        "a = ",
        "{username:nobody}",
        "(\\w+\\s?)+$",
        "\ud7ff",
        "[" * 300,
    ]
)


@st.composite
def mutated(draw: st.DrawFn, seed_text: str) -> str:
    """The text with a few random cuts, duplications and insertions (structure-aware enough to go deep)."""
    text = seed_text
    for _ in range(draw(st.integers(1, 4))):
        if not text:
            break
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 200)))
        op = draw(st.sampled_from(["cut", "dup", "insert", "replace"]))
        if op == "cut":
            text = text[:i] + text[j:]
        elif op == "dup":
            text = text[:j] + text[i:j] + text[j:]
        elif op == "insert":
            text = text[:i] + draw(st.one_of(NOISE, st.text(max_size=20))) + text[i:]
        else:
            text = text[:i] + draw(NOISE) + text[j:]
    return text


def inputs(sample: Path | str) -> st.SearchStrategy[str]:
    text = sample.read_text(encoding="utf-8") if isinstance(sample, Path) else sample
    return st.one_of(st.text(max_size=300), mutated(text))


def _write(text: str, suffix: str) -> Path:
    fd, name = tempfile.mkstemp(suffix=suffix)
    with os.fdopen(fd, "w", encoding="utf-8", errors="surrogatepass") as fh:
        fh.write(text)
    return Path(name)


@contextlib.contextmanager
def shipped_rules_once() -> Iterator[None]:
    """The shipped rule table parsed once for the whole run: loaders that consult it (scenarios check their facts
    against it, the deadline commands) are fuzzed for their own input, and the rule file has its own test."""
    from app import deadlines

    shipped = deadlines.load_rules()
    real = deadlines.load_rules

    def load_rules(path: Path | None = None) -> list[Any]:
        return list(shipped) if path is None else real(path)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(deadlines, "load_rules", load_rules)
        yield


def _through(load: Callable[[Path], Any], text: str, suffix: str = ".toml") -> None:
    path = _write(text, suffix)
    try:
        load(path)
    except WarroomError:
        pass
    finally:
        path.unlink(missing_ok=True)


# -- files -----------------------------------------------------------------------------------------------------


@FUZZ
@given(inputs(ROOT / "checklist.toml"))
def test_fuzz_checklist(text: str) -> None:
    from app.checklist.loading import check_checklist

    _through(lambda p: check_checklist(p), text)


@FUZZ
@given(inputs(DATA / "indicators" / "chat-vendor-theft.toml"))
def test_fuzz_indicator_file(text: str) -> None:
    from app.hunt.indicators import load_indicators

    _through(load_indicators, text)


@FUZZ
@given(inputs(DATA / "rules.toml"))
def test_fuzz_rule_file(text: str) -> None:
    from app.deadlines.rules import parse_rules

    with contextlib.suppress(WarroomError):
        parse_rules(text, "<fuzz>")


@FUZZ
@given(inputs(DATA / "scenarios" / "fake-data-loader.toml"))
def test_fuzz_scenario(text: str) -> None:
    from app.exercise.scenario import load_scenario

    with shipped_rules_once():
        _through(load_scenario, text)


@FUZZ
@given(inputs(DATA / "scenarios" / "fake-data-loader.script.toml"))
def test_fuzz_script(text: str) -> None:
    from app.exercise.scriptfile import load_script

    _through(lambda p: load_script(p), text)


def _seed_text() -> str:
    from tests.simorg_helpers import mini_seed

    return mini_seed()


@FUZZ
@given(inputs(_seed_text()))
def test_fuzz_seed(text: str) -> None:
    from app.simorg.build import cross_check
    from app.simorg.seed import load_seed

    _through(lambda p: cross_check(load_seed(p)), text)


@FUZZ
@given(inputs(DATA / "notices" / "gdpr-art33.toml"))
def test_fuzz_notice_template(text: str) -> None:
    from app.notify.templates import load_template

    _through(load_template, text)


_SNAPSHOT = '{"format": "warroom-inventory/1", "source": {"org_alias": "x"}, "apps": [{"name": "a"}], "tokens": []}'


@FUZZ
@given(inputs(_SNAPSHOT))
def test_fuzz_snapshot(text: str) -> None:
    from app.inventory.importing import parse_snapshot

    with contextlib.suppress(WarroomError):
        parse_snapshot(text.encode("utf-8", "surrogatepass"), "<fuzz>")


_PLAN = '{"format": "warroom-containment-plan/1", "plan_id": "CA-000001", "steps": [{"n": 1, "op": "revoke_token"}]}'


@FUZZ
@given(inputs(_PLAN))
def test_fuzz_plan_file(text: str) -> None:
    from app.containment.store import plan_from_bytes

    with contextlib.suppress(WarroomError):
        plan_from_bytes(text.encode("utf-8", "surrogatepass"), "<fuzz>")


@FUZZ
@given(
    st.binary(max_size=400) | inputs('{"action_id": "CA-1", "run": 1, "counts": {}, "intent_seq": 3, "records": []}')
)
def test_fuzz_recovery_file(raw: bytes | str) -> None:
    from app.containment import recovery

    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    for parse in (recovery._from_result_file, recovery._from_log):
        with contextlib.suppress(recovery._Corrupt):
            parse(data)


# -- values ----------------------------------------------------------------------------------------------------


@FUZZ
@given(st.one_of(st.text(max_size=60), mutated("2025-08-12T10:00:00.123456+05:30")))
def test_fuzz_instant(text: str) -> None:
    from app.base.clock import format_instant, parse_instant

    try:
        at = parse_instant(text)
    except ValueError:
        return
    assert parse_instant(format_instant(at)) == at


@FUZZ
@given(st.one_of(st.text(max_size=40), mutated("P1DT12H"), mutated("72h")))
def test_fuzz_durations(text: str) -> None:
    from app.checklist import parse_duration as checklist_duration
    from app.deadlines import parse_duration

    for parse in (parse_duration, checklist_duration):
        with contextlib.suppress(ValueError):
            parse(text)


_FACT_KEYS = [
    "detected",
    "aware",
    "residents.US-TX",
    "residents.x",
    "categories",
    "sectors",
    "target.default",
    "eu_member_state",
    "nonsense",
    "target.GDPR-33",
]


@FUZZ
@given(st.sampled_from(_FACT_KEYS), st.one_of(st.text(max_size=40), NOISE))
def test_fuzz_fact_values(key: str, value: str) -> None:
    from app import deadlines as dl

    try:
        state_key, parsed = dl.parse_fact(key, value)
    except WarroomError:
        return
    facts = dl.facts_from_state({state_key: parsed})
    assert not facts.unusable, "what the edge accepts is always usable"


@pytest.mark.parametrize("name", ["a\nb", "\x1b[2J", "\u202eexe.txt", "x" * 5000, ""])
def test_names_are_printable(name: str) -> None:
    from app.base.text import printable

    out = printable(name)
    assert "\n" not in out and "\x1b" not in out and "\u202e" not in out
