"""Rule versions: an incident is judged by the text in force on the day the rule's clock starts; and the
checks on what an incident records. Each due time below is counted by hand in the comment above it."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app import deadlines as dl

from .test_deadlines import at
from .test_deadlines_rules import GOOD, line_of


@pytest.fixture(scope="module")
def rules() -> list[dl.Rule]:
    return dl.load_rules()


def by_rule(ts: list[dl.Timer]) -> dict[str, dl.Timer]:
    return {t.rule: t for t in ts}


# -- California: SB 446 from 1 Jan 2026 ---------------------------------------------------------------------------


def test_november_2025_california_runs_without_a_fixed_period(rules) -> None:
    # Discovered 20 Nov 2025: the text before SB 446 applies ("most expedient time possible and without
    # unreasonable delay"), so the clock shows elapsed time; the AG sample copy needs more than 500 residents.
    facts = dl.IncidentFacts(detected=at("2025-11-20T09:00:00Z"), residents={"US-CA": 40})
    ts = by_rule(dl.timers(facts, rules, {}, {}, at("2025-11-22T09:00:00Z")))
    ind = ts["us-ca-individuals"]
    assert ind.state == "elapsed" and ind.due_utc is None
    assert ind.elapsed_seconds == 2 * 86400
    assert ind.period == "most expedient" and "before SB 446" in ind.citation
    assert ind.version.startswith("in force until 2025-12-31") and "2025-11-20" in ind.version_basis
    ag = ts["us-ca-ag"]
    assert ag.state == "not_applicable" and "40 residents of US-CA, needs > 500" in ag.reason
    assert ag.version == "in force 2012-01-01 to 2025-12-31"


def test_november_2025_california_ag_sample_has_no_stated_time(rules) -> None:
    facts = dl.IncidentFacts(detected=at("2025-11-20T09:00:00Z"), residents={"US-CA": 600})
    sent = {
        "us-ca-individuals": dl.Notification(rule="us-ca-individuals", at=at("2025-12-01T17:00:00Z"), evidence_id="e")
    }
    ag = by_rule(dl.timers(facts, rules, {}, sent, at("2025-12-03T17:00:00Z")))["us-ca-ag"]
    # Sample copy owed (600 > 500) with no time limit in the statute: elapsed since the consumer notice, 2 days.
    assert ag.state == "elapsed" and ag.due_utc is None and ag.period == "no time stated"
    assert ag.elapsed_seconds == 2 * 86400
    assert "threshold met: 600 residents of US-CA > 500" in ag.reason


def test_january_2026_california_has_the_sb446_periods(rules) -> None:
    # Discovered Mon 5 Jan 2026 01:00 PST: 30 calendar days -> 4 Feb; end PST = 2026-02-05T07:59:59Z.
    facts = dl.IncidentFacts(detected=at("2026-01-05T09:00:00Z"), residents={"US-CA": 600})
    ts = by_rule(dl.timers(facts, rules, {}, {}, at("2026-01-06T00:00:00Z")))
    assert ts["us-ca-individuals"].due_utc == "2026-02-05T07:59:59Z"
    assert ts["us-ca-individuals"].version == "in force from 2026-01-01 (SB 446 (Stats. 2025))"
    # AG: 15 days after the consumer notice; at the latest 4 Feb + 15 = 19 Feb, end PST = 20 Feb 07:59:59Z.
    assert ts["us-ca-ag"].state == "pending" and ts["us-ca-ag"].projected_due_utc == "2026-02-20T07:59:59Z"


def test_the_version_follows_the_local_day_of_the_clock_start(rules) -> None:
    # 1 Jan 2026 07:59Z is still 31 Dec 2025 in California: the old text. 08:00Z is 1 Jan 00:00 PST: SB 446.
    old = dl.IncidentFacts(detected=at("2026-01-01T07:59:59Z"), residents={"US-CA": 1})
    new = dl.IncidentFacts(detected=at("2026-01-01T08:00:00Z"), residents={"US-CA": 1})
    now = at("2026-01-02T00:00:00Z")
    assert by_rule(dl.timers(old, rules, {}, {}, now))["us-ca-individuals"].state == "elapsed"
    # 30 days after 1 Jan 2026 = 31 Jan; end PST = 1 Feb 07:59:59Z.
    assert by_rule(dl.timers(new, rules, {}, {}, now))["us-ca-individuals"].due_utc == "2026-02-01T07:59:59Z"


def _instant_on(day: date, rule: dl.Rule, last_second: bool) -> datetime:
    t = time(23, 59, 59) if last_second else time(0, 0, 0)
    return datetime.combine(day, t, tzinfo=ZoneInfo(rule.timezone)).astimezone(UTC)


def _facts_at(when: datetime, code: str) -> dl.IncidentFacts:
    times = dict.fromkeys(dl.FACT_TIMES, when)
    return dl.IncidentFacts(**times, residents={code: 1})


def test_every_versioned_rule_switches_text_on_its_boundary_day(rules) -> None:
    versioned = [r for r in rules if r.earlier]
    assert {"us-ca-individuals", "us-ca-ag"} <= {r.id for r in versioned}
    for rule in versioned:
        texts = rule.versions()
        for old, new in itertools.pairwise(texts):
            assert old.effective_to is not None and new.effective_from == old.effective_to + timedelta(days=1)
            for day, last_second, expected in (
                (old.effective_to, True, old),
                (new.effective_from, False, new),
            ):
                when = _instant_on(day, rule, last_second)
                sent = {
                    a: dl.Notification(rule=a, at=when, evidence_id="e") for a in rule.anchors
                }  # a chained rule starts when the notice it follows is sent
                choice = dl.choose_versions(_facts_at(when, rule.code), rules, sent, when)[rule.id]
                assert choice.in_force and choice.day == day, (rule.id, day)
                assert choice.rule == expected, (rule.id, day, choice.rule.version_label())


def test_a_rule_before_its_first_text_is_not_in_force(rules) -> None:
    facts = dl.IncidentFacts(aware=at("2025-11-20T09:00:00Z"), residents={"IN": 5})
    t = by_rule(dl.timers(facts, rules, {}, {}, at("2025-11-21T00:00:00Z")))["in-dpdp-individuals"]
    assert t.state == "not_applicable"
    assert t.reason == "not in force on 2025-11-20 (awareness): in force from 2027-05-14"


# -- the rule file ------------------------------------------------------------------------------------------------

VERSIONED = GOOD.replace(
    'source = "https://example.org/a"\n',
    'source = "https://example.org/a"\neffective_from = 2024-01-01\n\n'
    "[[rule.earlier]]\n"
    "effective_to = 2023-12-31\n"
    'citation = "s. 1 (old)"\n'
    'source = "https://example.org/old"\n'
    'confidence = "high"\n'
    'standard = "without_undue_delay"\n'
    'day_kind = "none"\n',
    1,
)


def test_earlier_versions_load_and_are_chosen_by_day() -> None:
    first = dl.find_rule(dl.parse_rules(VERSIONED), "xx-first")
    assert [v.citation for v in first.versions()] == ["s. 1 (old)", "s. 1"]
    assert first.version_on(date(2023, 12, 31)).period_text() == "without undue delay"
    assert first.version_on(date(2024, 1, 1)).period_text() == "72 hours"
    assert first.nearest_version(date(1999, 1, 1)).citation == "s. 1 (old)"  # no start recorded: open


def test_a_gap_between_versions_is_refused_with_its_line(tmp_path: Path) -> None:
    bad = VERSIONED.replace("effective_to = 2023-12-31", "effective_to = 2023-12-30")
    path = tmp_path / "rules.toml"
    path.write_text(bad)
    with pytest.raises(dl.RuleFileError) as err:
        dl.load_rules(path)
    assert f"{path}:{line_of(bad, '[[rule]]')}:1: rule 'xx-first':" in str(err.value)
    assert "ends 2023-12-30 but the next version starts 2024-01-01" in str(err.value)


def test_an_earlier_version_needs_the_later_start(tmp_path: Path) -> None:
    bad = VERSIONED.replace("effective_from = 2024-01-01\n", "")
    with pytest.raises(dl.RuleFileError, match="needs the later one to say when it took effect"):
        dl.parse_rules(bad)


# -- Japan: one final report ----------------------------------------------------------------------------------------


def test_japan_final_report_is_one_clock(rules) -> None:
    # Aware Fri 20 Nov 2026 10:00 JST. Enforcement Rules Art. 8(2): within 30 days of knowing; day 0 is the day
    # of knowing (Civil Code Art. 140), so day 30 = Sun 20 Dec; end JST = 2026-12-20T14:59:59Z. The due date
    # is kept on the Sunday (not extended), and the basis says so.
    facts = dl.IncidentFacts(aware=at("2026-11-20T10:00:00+09:00"), residents={"JP": 40}, categories=["contact"])
    ts = by_rule(dl.timers(facts, rules, {}, {}, at("2026-11-21T00:00:00Z")))
    final = [t for t in ts.values() if t.rule.startswith("jp-appi-ppc-final") and t.state != "not_applicable"]
    assert [(t.rule, t.due_utc) for t in final] == [("jp-appi-ppc-final", "2026-12-20T14:59:59Z")]
    assert "Sunday; not moved" in (final[0].basis or "")
    # Possibly caused by unauthorized access (Art. 7(iii)): 60 days instead = Tue 19 Jan 2027; end JST =
    # 2027-01-19T14:59:59Z, and the 30-day clock stops.
    facts = facts.model_copy(update={"categories": ["contact", "wrongful_purpose"]})
    ts = by_rule(dl.timers(facts, rules, {}, {}, at("2026-11-21T00:00:00Z")))
    final = [t for t in ts.values() if t.rule.startswith("jp-appi-ppc-final") and t.state != "not_applicable"]
    assert [(t.rule, t.due_utc) for t in final] == [("jp-appi-ppc-final-wrongful", "2027-01-19T14:59:59Z")]
    assert "wrongful_purpose recorded" in ts["jp-appi-ppc-final"].reason


# -- the commands -----------------------------------------------------------------------------------------------------


def test_facts_refuse_a_bare_us_state_with_the_suggestion(cli) -> None:
    inc = cli.new("leak", "--detected", "2026-11-24T15:00:00Z")
    result = cli("facts", "set", "residents.TX", "300", "--incident", inc)
    assert result.code == 2
    assert "'TX' is not a known jurisdiction code" in result.err and "did you mean US-TX?" in result.err
    result = cli("facts", "set", "residents.XX", "5", "--incident", inc)
    assert result.code == 2 and "'XX' is not a known jurisdiction code" in result.err
    result = cli("facts", "set", "sectors", "bnak", "--incident", inc)
    assert result.code == 2 and "unknown bnak (did you mean bank?)" in result.err
    shown = cli("journal", "show", "--incident", inc, "--kind", "facts.set", "--json")
    assert shown.json() == []  # nothing recorded
    assert cli("facts", "set", "residents.CA-QC", "5", "--incident", inc).code == 0


def test_done_when_the_november_and_january_incidents(cli) -> None:
    nov = cli.new("tabletop", "--detected", "2025-11-20T09:00:00Z", "--aware", "2025-11-20T09:00:00Z")
    assert cli("facts", "set", "residents.US-CA", "40", "--incident", nov).code == 0
    timers = {t["rule"]: t for t in cli("deadlines", "--incident", nov, "--json").json()["timers"]}
    assert timers["us-ca-individuals"]["state"] == "elapsed" and timers["us-ca-individuals"]["due_utc"] is None
    assert timers["us-ca-ag"]["state"] == "not_applicable" and "needs > 500" in timers["us-ca-ag"]["reason"]
    jan = cli.new("tabletop", "--detected", "2026-01-05T09:00:00Z", "--aware", "2026-01-05T09:00:00Z")
    assert cli("facts", "set", "residents.US-CA", "600", "--incident", jan).code == 0
    timers = {t["rule"]: t for t in cli("deadlines", "--incident", jan, "--json").json()["timers"]}
    assert timers["us-ca-individuals"]["due_utc"] == "2026-02-05T07:59:59Z"
    assert timers["us-ca-ag"]["period"] == "15 calendar days"


def test_compute_says_which_text_applies(cli) -> None:
    doc = cli("deadlines", "compute", "--rule", "us-ca-individuals", "--start", "2025-11-20T09:00:00Z", "--json").json()
    assert doc["due"] is None and doc["in_force"] and doc["on"] == "2025-11-20"
    assert doc["version"].startswith("in force until 2025-12-31") and "before SB 446" in doc["citation"]
    # Judged by the SB 446 text: 30 days after 20 Nov 2025 (PST) = 20 Dec; end PST = 21 Dec 07:59:59Z.
    doc = cli(
        "deadlines",
        "compute",
        "--rule",
        "us-ca-individuals",
        "--start",
        "2025-11-20T09:00:00Z",
        "--on",
        "2026-01-02",
        "--json",
    ).json()
    assert doc["due"] == "2025-12-21T07:59:59Z" and doc["version"].startswith("in force from 2026-01-01")
    text = cli("deadlines", "compute", "--rule", "in-dpdp-individuals", "--start", "2025-11-20T09:00:00Z")
    assert text.code == 0 and "NOT IN FORCE: in force from 2027-05-14; judged on 2025-11-20" in text.out
    assert "not in force on 2025-11-20" in text.out
    assert (
        cli("deadlines", "compute", "--rule", "us-ca-ag", "--start", "2026-01-05T09:00:00Z", "--on", "5 Jan").code == 2
    )


def test_rules_on_a_date(cli) -> None:
    doc = cli("deadlines", "rules", "--on", "2025-06-01", "--json").json()
    rows = {r["id"]: r for r in doc}
    assert rows["us-ca-individuals"]["day_kind"] == "none" and rows["us-ca-individuals"]["in_force_on"]
    assert not rows["in-dpdp-individuals"]["in_force_on"]
    text = cli("deadlines", "rules", "--on", "2025-06-01").out
    assert "the rules as their texts stood on 2025-06-01" in text
    assert "NOT IN FORCE on 2025-06-01: in force from 2027-05-14" in text
    assert "[2 versions; this one in force from 2026-01-01" in cli("deadlines", "rules").out
