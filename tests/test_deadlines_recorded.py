"""Reproducible clocks: each clock that starts or moves is journaled with the rule text and the holiday dates
it was counted with, and is counted again from them on a machine whose holiday calendar differs."""

from __future__ import annotations

from datetime import date

import pytest

from app.deadlines import days

# SEC registrant; materiality determined Wed 25 Nov 2026 16:00 EST. 8-K Item 1.05: 4 business days; Thu 26 Nov
# is Thanksgiving: Fri 27 (1), Mon 30 (2), Tue 1 Dec (3), Wed 2 Dec (4); end EST = 2026-12-03T04:59:59Z.
SEC_DUE = "2026-12-03T04:59:59Z"
# A calendar without Thanksgiving counts Thu 26 (1), Fri 27 (2), Mon 30 (3), Tue 1 Dec (4): end EST = 2 Dec 04:59:59Z.
SEC_DUE_WITHOUT_THANKSGIVING = "2026-12-02T04:59:59Z"


@pytest.fixture
def incident(cli) -> str:
    inc = cli.new("leak", "--detected", "2026-11-24T15:00:00Z", "--aware", "2026-11-25T10:30:00Z")
    for key, value in (("sectors", "sec_registrant"), ("determination", "2026-11-25T16:00:00-05:00")):
        assert cli("facts", "set", key, value, "--incident", inc).code == 0
    return inc


def clock_entries(cli, inc: str, rule: str) -> list[dict]:
    shown = cli("journal", "show", "--incident", inc, "--kind", "deadline.clock", "--json")
    assert shown.code == 0, shown.err
    return [e["data"] for e in shown.json() if e["data"]["rule"] == rule]


def sec_timer(cli, inc: str) -> dict:
    doc = cli("deadlines", "--incident", inc, "--json").json()
    return next(t for t in doc["timers"] if t["rule"] == "us-sec-8k-item105")


def test_a_started_clock_is_journaled_with_its_text_and_holiday_dates(cli, incident: str) -> None:
    [entry] = clock_entries(cli, incident, "us-sec-8k-item105")
    assert entry["due_utc"] == SEC_DUE and entry["start_utc"] == "2026-11-25T21:00:00Z"
    assert entry["calendar"] == "US" and entry["timezone"] == "America/New_York"
    assert entry["holidays_from"] == "2026-11-25" and entry["holidays_to"] == "2026-12-02"
    assert entry["holidays"] == [["2026-11-26", "Thanksgiving Day"]]
    assert entry["version"] == "in force from 2023-12-18" and entry["holidays_release"]
    # A change that does not move this clock records nothing more for it; one that moves it records again.
    assert cli("facts", "set", "target.default", "72h", "--incident", incident).code == 0
    assert len(clock_entries(cli, incident, "us-sec-8k-item105")) == 1
    assert cli("facts", "set", "determination", "2026-11-24T16:00:00-05:00", "--incident", incident).code == 0
    entries = clock_entries(cli, incident, "us-sec-8k-item105")
    # Tue 24 Nov: Wed 25 (1), Thanksgiving skipped, Fri 27 (2), Mon 30 (3), Tue 1 Dec (4); end EST = 2 Dec 04:59:59Z.
    assert len(entries) == 2 and entries[-1]["due_utc"] == "2026-12-02T04:59:59Z"
    assert entries[-1]["holidays_from"] == "2026-11-24" and entries[-1]["holidays"] == [
        ["2026-11-26", "Thanksgiving Day"]
    ]
    assert cli("journal", "verify", "--incident", incident).code == 0


def test_another_calendar_counts_the_recorded_holidays_and_says_what_differs(
    cli, incident: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed = days.holiday_name

    def without_thanksgiving(code: str, day: date) -> str | None:
        return None if day == date(2026, 11, 26) else installed(code, day)

    monkeypatch.setattr(days, "holiday_name", without_thanksgiving)
    t = sec_timer(cli, incident)
    assert t["due_utc"] == SEC_DUE and t["recorded_seq"] is not None
    assert f"would give {SEC_DUE_WITHOUT_THANKSGIVING}" in t["calendar_note"]
    assert "2026-11-26 recorded Thanksgiving Day, not a holiday now" in t["calendar_note"]
    # An incident recorded on this machine counts with its own calendar.
    other = cli.new("leak", "--detected", "2026-11-24T15:00:00Z")
    for key, value in (("sectors", "sec_registrant"), ("determination", "2026-11-25T16:00:00-05:00")):
        assert cli("facts", "set", key, value, "--incident", other).code == 0
    assert sec_timer(cli, other)["due_utc"] == SEC_DUE_WITHOUT_THANKSGIVING
    assert clock_entries(cli, other, "us-sec-8k-item105")[0]["holidays"] == []


def test_same_calendar_shows_no_note(cli, incident: str) -> None:
    t = sec_timer(cli, incident)
    assert t["due_utc"] == SEC_DUE and t["calendar_note"] is None and t["calendar"] == "US"
