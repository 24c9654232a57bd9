"""Values are validated once, at the edge, and whatever is journaled can always be read back.

Every fact, setting and time argument is written by its parser and re-read by the same parser (round trip);
instants outside 1970-2100 and durations beyond the stated maximum are refused with a clear message; a bad
value already in an old journal shows as unusable (never a crash) and a later correction wins.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app import deadlines as dl
from app.base.clock import MAX_DURATION, format_instant, parse_instant, read_instant
from app.checklist import parse_duration as checklist_duration
from app.composition.workspace import Workspace
from app.incident import settings as incident_settings

# -- round trips ----------------------------------------------------------------------------------------------

FACT_SAMPLES: dict[str, list[str]] = {
    **{
        key: ["2025-08-12T10:00:00Z", "2025-08-12T12:30:15+02:00", "2025-08-12T10:00:00.123456Z"]
        for key in dl.FACT_TIMES
    },
    "residents.US-TX": ["1", "12,345", "9007199254740991"],
    "residents.GB": ["0", "500"],
    "categories": ["contact", "health, payment_card", "credentials,contact"],
    "sectors": ["bank", "processor, nis2_entity"],
    "target.default": ["72h", "3d", "PT72H", "P2W", "90m"],
    "eu_member_state": ["DE", "ie"],
}


@pytest.mark.parametrize("key", sorted(FACT_SAMPLES))
def test_every_fact_reads_back_as_it_was_written(key: str) -> None:
    for raw in FACT_SAMPLES[key]:
        state_key, value = dl.parse_fact(key, raw)
        facts = dl.facts_from_state({state_key: value})
        assert not facts.unusable, (key, raw, facts.unusable)
        if key in dl.FACT_TIMES:
            assert getattr(facts, key) == parse_instant(raw)
            assert dl.parse_fact(key, value) == (state_key, value), "the stored text parses to itself"
        elif key.startswith("target."):
            assert facts.targets["default"] == dl.parse_duration(raw)
        elif key.startswith("residents."):
            assert facts.residents_in(state_key.split(".", 1)[1]) == (value or 0)


def test_every_fact_key_is_covered() -> None:
    documented = {k.replace("<CODE>", "US-TX").replace("<RULE_ID>", "default") for k in dl.FACT_KEYS}
    assert documented - {"residents.US-TX", "target.default"} <= set(FACT_SAMPLES)


@pytest.mark.parametrize("key", sorted(incident_settings.SETTINGS))
def test_every_setting_reads_back(key: str, cli: Any) -> None:
    cli.new()
    ws = Workspace(cli.home, cli.clock, cli.keyring)
    with ws.open() as incident:
        for raw in ("on", "off", "true", "0"):
            incident_settings.set_setting(incident, key, raw, "tester")
            assert incident_settings.get_setting(incident.journal, key) == incident_settings.parse_value(key, raw)


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2099, 12, 30), timezones=st.timezones()))
def test_any_instant_in_range_round_trips(at: datetime) -> None:
    try:
        text = at.isoformat()
    except ValueError:  # pragma: no cover - a zone hypothesis cannot print
        return
    parsed = parse_instant(text)
    assert parse_instant(format_instant(parsed)) == parsed
    assert read_instant(format_instant(parsed)) == parsed


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_text_is_an_instant_or_a_clear_error(text: str) -> None:
    try:
        at = parse_instant(text)
    except ValueError as exc:
        assert str(exc).startswith(("not an ISO 8601 time", "time ")), str(exc)
        return
    assert 1970 <= at.year <= 2100 and at.tzinfo is UTC


# -- the edge refuses what cannot be used ----------------------------------------------------------------------

BAD_INSTANTS = [
    "0205-08-12T10:00:00Z",  # the typo from the field: year 205
    "0001-01-01T00:00:00+01:00",  # offset below year 1
    "9999-12-31T23:59:59-01:00",  # offset beyond year 9999
    "0001-01-01T00:00:00Z",
    "2101-01-01T00:00:00Z",
    "1969-12-31T23:59:59Z",
]


@pytest.mark.parametrize("text", BAD_INSTANTS)
def test_out_of_range_instants_are_refused_clearly(text: str, cli: Any) -> None:
    with pytest.raises(ValueError, match="outside the years 1970-2100"):
        parse_instant(text)
    r = cli("new", "typo", "--detected", text)
    assert r.code == 2 and "Traceback" not in r.err
    cli.new()
    r = cli("facts", "set", "detected", text)
    assert r.code == 2 and "outside the years 1970-2100" in r.err


@pytest.mark.parametrize("text", ["P99999999D", "100000000000000000000h", "PT100000000000000000000H", "P3661D"])
def test_durations_beyond_the_maximum_are_refused(text: str, cli: Any) -> None:
    with pytest.raises(ValueError, match=f"{MAX_DURATION.days} days"):
        dl.parse_duration(text)
    cli.new()
    r = cli("facts", "set", "target.default", text)
    assert r.code == 2 and f"{MAX_DURATION.days} days" in r.err
    assert cli("deadlines").code == 0


@pytest.mark.parametrize("text", ["P99999999D", "PT100000000000000000000H", "P99999W"])
def test_checklist_durations_beyond_the_maximum_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="days allowed"):
        checklist_duration(text)


# -- an old journal with a bad value stays usable and can be corrected -----------------------------------------


def _journal_old_values(cli: Any) -> None:
    """Values an older version journaled without validating them (what the field reports found)."""
    ws = Workspace(cli.home, cli.clock, cli.keyring)
    with ws.open() as incident:
        incident.journal.append("incident.update", {"detected": "205-08-12T10:00:00Z"}, "tester")
        incident.journal.append(
            "facts.set", {"key": "target.default", "value": 8639999913600, "previous": None}, "tester"
        )
        incident.journal.append("facts.set", {"key": "residents.GB", "value": 1200, "previous": None}, "tester")
        incident.journal.append("facts.set", {"key": "categories", "value": ["contact"], "previous": None}, "tester")


def test_a_bad_journaled_value_shows_as_unusable_and_a_correction_wins(cli: Any) -> None:
    cli.new()
    _journal_old_values(cli)
    for args in (("deadlines",), ("deadlines", "--json"), ("facts", "show"), ("report",), ("facts", "show", "--json")):
        r = cli(*args)
        assert r.code == 0, (args, r.err)
    shown = cli("facts", "show").out
    assert "unusable: detected holds '205-08-12T10:00:00Z'" in shown and "unusable: target.default" in shown
    assert cli("deadlines", "--json").json()["unusable_facts"]["detected"] == "205-08-12T10:00:00Z"

    r = cli("facts", "set", "detected", "2026-11-27T08:00:00Z")
    assert r.code == 0, r.err
    r = cli("facts", "set", "target.default", "72h")
    assert r.code == 0, r.err
    facts = cli("facts", "show", "--json").json()
    assert facts["detected"].startswith("2026-11-27T08:00:00") and facts["unusable"] == {}
    assert cli("deadlines").code == 0


def test_unusable_holds_and_notices_are_skipped_not_fatal() -> None:
    facts = dl.facts_from_state(
        {"detected": "2025-08-12T10:00:00Z"},
        holds={
            "H1": {
                "hold_id": "H1",
                "start": "0001-01-01T00:00:00Z",
                "end": None,
                "requested_by": "x",
                "justification": "y",
            }
        },
    )
    assert facts.holds == [] and "hold.H1" in facts.unusable
    assert facts.detected == datetime(2025, 8, 12, 10, tzinfo=UTC)
    assert facts.detected + MAX_DURATION < datetime(2100, 1, 1, tzinfo=UTC) + timedelta(days=3661)
