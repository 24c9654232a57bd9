"""The deadline engine: day counting, applicability, chained clocks and timer states.

Expected due times are worked out by hand from the law and the stated conventions (the comment above each
expectation shows the counting), never by calling the engine.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app import deadlines as dl


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.fixture(scope="module")
def rules() -> list[dl.Rule]:
    return dl.load_rules()


@pytest.fixture(scope="module")
def rule(rules: list[dl.Rule]):
    return lambda rid: dl.find_rule(rules, rid)


def timer(ts: list[dl.Timer], rid: str) -> dl.Timer:
    found = [t for t in ts if t.rule == rid]
    assert found, f"{rid} not among {[t.rule for t in ts]}"
    return found[0]


# -- business days ------------------------------------------------------------------------------------------------


def test_brazil_anpd_skips_good_friday_and_the_weekend(rule) -> None:
    # Aware Thu 2026-04-02 10:00 BRT. Day 0 = Thu 2 Apr. Fri 3 Apr is Good Friday (Paixão de Cristo, a
    # national holiday), Sat 4 / Sun 5 are weekend: business day 1 = Mon 6, 2 = Tue 7, 3 = Wed 8 Apr.
    # Due at the end of Wed 8 Apr in Brasília time (UTC-3, no DST since 2019) = 2026-04-09T02:59:59Z.
    due = dl.compute_due(rule("br-lgpd-anpd"), at("2026-04-02T10:00:00-03:00"))
    assert due == at("2026-04-09T02:59:59Z")


def test_brazil_anpd_skips_a_midweek_holiday(rule) -> None:
    # Aware Fri 2026-04-17 18:00 BRT. Mon 20 = 1; Tue 21 Apr is Tiradentes (national holiday); Wed 22 = 2;
    # Thu 23 = 3. End of Thu 23 Apr BRT = 2026-04-24T02:59:59Z.
    due = dl.compute_due(rule("br-lgpd-anpd"), at("2026-04-17T18:00:00-03:00"))
    assert due == at("2026-04-24T02:59:59Z")


def test_brazil_start_on_a_weekend_counts_from_the_next_business_day(rule) -> None:
    # Aware Sat 2026-05-02 (UTC 02:00 Sunday is still Saturday 23:00 in Brasília). Mon 4 = 1, Tue 5 = 2,
    # Wed 6 = 3 (1 May, Labour Day, is before the start). Due end of Wed 6 May BRT = 2026-05-07T02:59:59Z.
    due = dl.compute_due(rule("br-lgpd-anpd"), at("2026-05-03T02:00:00Z"))
    assert due == at("2026-05-07T02:59:59Z")


def test_brazil_supplement_is_twenty_business_days_after_the_first_notice(rule) -> None:
    # First ANPD notice Mon 2026-11-09 (BRT). 20 business days, skipping weekends, Sun 15 Nov (Republic day,
    # a Sunday anyway) and Fri 20 Nov (Black Awareness Day, national since 2024):
    # Nov 10,11,12,13 (4), 16,17,18,19 (8), 23..27 (13), 30 (14), Dec 1,2,3,4 (18), 7 (19), 8 (20).
    due = dl.compute_due(rule("br-lgpd-anpd-supplement"), at("2026-11-09T12:00:00-03:00"))
    assert due == at("2026-12-09T02:59:59Z")


def test_sec_8k_skips_thanksgiving(rule) -> None:
    # Materiality determined Wed 2026-11-25 16:00 EST. Item 1.05: within four business days. Thu 26 Nov is
    # Thanksgiving (federal holiday): Fri 27 = 1, Mon 30 = 2, Tue 1 Dec = 3, Wed 2 Dec = 4.
    # End of Wed 2 Dec Eastern (EST, UTC-5) = 2026-12-03T04:59:59Z.
    due = dl.compute_due(rule("us-sec-8k-item105"), at("2026-11-25T16:00:00-05:00"))
    assert due == at("2026-12-03T04:59:59Z")


def test_sec_8k_counts_good_friday_as_a_business_day(rule) -> None:
    # The SEC calendar is the federal one (Rule 0-3: Saturdays, Sundays, federal holidays). Good Friday closes
    # the NYSE but not the SEC: determined Wed 2026-04-01 -> Thu 2 = 1, Fri 3 = 2, Mon 6 = 3, Tue 7 = 4.
    # End of Tue 7 Apr EDT (UTC-4) = 2026-04-08T03:59:59Z.
    due = dl.compute_due(rule("us-sec-8k-item105"), at("2026-04-01T11:00:00-04:00"))
    assert due == at("2026-04-08T03:59:59Z")


def test_vermont_counts_its_own_state_holiday(rule) -> None:
    # Vermont AG preliminary notice: 14 business days from discovery. Discovered Mon 2026-02-23. Town Meeting
    # Day (Tue 3 Mar 2026) is a Vermont holiday, not a federal one. Feb 24,25,26,27 (4), Mar 2 (5), [3 skipped],
    # 4,5,6 (8), 9..13 (13), 16 (14). End of Mon 16 Mar EDT (DST began 8 Mar, UTC-4) = 2026-03-17T03:59:59Z.
    due = dl.compute_due(rule("us-vt-ag-preliminary"), at("2026-02-23T09:00:00-05:00"))
    assert due == at("2026-03-17T03:59:59Z")


# -- hours, calendar days and months ------------------------------------------------------------------------------


def test_72_hours_across_the_eu_spring_dst_change(rule) -> None:
    # Aware Fri 2026-03-27 09:00 CET (08:00Z). Europe springs forward at 01:00Z on Sun 29 Mar. 72 hours are
    # absolute: 08:00Z + 72h = Mon 30 Mar 08:00Z, which is 10:00 CEST on the wall clock (not 09:00).
    r = rule("eu-gdpr-art33-sa")
    due = dl.compute_due(r, at("2026-03-27T09:00:00+01:00"))
    assert due == at("2026-03-30T08:00:00Z")
    facts = dl.IncidentFacts(aware=at("2026-03-27T09:00:00+01:00"), residents={"DE": 10})
    t = timer(dl.timers(facts, [r], {}, {}, at("2026-03-28T00:00:00Z")), r.id)
    assert t.due_local == "2026-03-30T10:00:00+02:00"


def test_72_hours_across_the_us_autumn_dst_change(rule) -> None:
    # NYDFS 500.17(a): 72 hours from the determination. Determined Sat 2026-10-31 12:00 EDT (16:00Z); the US
    # falls back on Sun 1 Nov. Due 16:00Z on Tue 3 Nov = 11:00 EST on the wall clock.
    due = dl.compute_due(rule("us-nydfs-500-17a"), at("2026-10-31T12:00:00-04:00"))
    assert due == at("2026-11-03T16:00:00Z")


def test_hours_run_through_weekends(rule) -> None:
    # UK ICO: aware Fri 2026-06-05 17:00 BST (16:00Z) -> due Mon 8 Jun 16:00Z, weekend included.
    assert dl.compute_due(rule("uk-gdpr-art33-ico"), at("2026-06-05T17:00:00+01:00")) == at("2026-06-08T16:00:00Z")


def test_calendar_days_end_at_the_end_of_the_local_day(rule) -> None:
    # Texas individuals: 60 days after determination. Determined 2026-11-26 03:00Z = Wed 25 Nov 21:00 CST, so
    # day 0 is 25 Nov (local), day 60 is Sun 24 Jan 2027; due 23:59:59 CST = 2027-01-25T05:59:59Z.
    due = dl.compute_due(rule("us-tx-individuals"), at("2026-11-26T03:00:00Z"))
    assert due == at("2027-01-25T05:59:59Z")


def test_one_month_is_the_same_date_next_month_clamped(rule) -> None:
    # NIS2 final report: one month after the incident notification. Notified 2026-01-31 10:00 CET: there is no
    # 31 February, so the last day is Sat 28 Feb 2026; end of that day CET = 2026-02-28T22:59:59Z.
    due = dl.compute_due(rule("eu-nis2-final"), at("2026-01-31T10:00:00+01:00"))
    assert due == at("2026-02-28T22:59:59Z")


def test_no_fixed_period_has_no_due_time(rule) -> None:
    assert dl.compute_due(rule("eu-gdpr-art34-individuals"), at("2026-03-01T00:00:00Z")) is None


def test_eu_member_state_moves_the_local_day(rule) -> None:
    # DORA final report (one month) counted in Dublin time instead of Brussels when the incident names Ireland:
    # notified 2026-06-30 23:30 UTC = 1 Jul 00:30 IST, so the last day is 1 Aug (Dublin), ending 22:59:59Z;
    # in Brussels it is 1 Jul 01:30 CEST as well -> 1 Aug 23:59:59 CEST = 21:59:59Z.
    r = rule("eu-dora-final")
    start = at("2026-06-30T23:30:00Z")
    assert dl.compute_due(r, start, dl.rule_place(r, "IE")) == at("2026-08-01T22:59:59Z")
    assert dl.compute_due(r, start) == at("2026-08-01T21:59:59Z")


# -- applicability and thresholds ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("residents", "applies"), [(249, False), (250, True)])
def test_texas_ag_threshold_is_at_least_250(rules, residents: int, applies: bool) -> None:
    facts = dl.IncidentFacts(detected=at("2026-11-20T12:00:00Z"), residents={"US-TX": residents})
    ids = {r.id for r, _ in dl.applicable_rules(facts, rules)}
    assert ("us-tx-ag" in ids) is applies
    assert "us-tx-individuals" in ids


@pytest.mark.parametrize(("residents", "applies"), [(500, False), (501, True)])
def test_california_ag_threshold_is_more_than_500(rules, residents: int, applies: bool) -> None:
    facts = dl.IncidentFacts(detected=at("2026-11-20T12:00:00Z"), residents={"US-CA": residents})
    ids = {r.id for r, _ in dl.applicable_rules(facts, rules)}
    assert ("us-ca-ag" in ids) is applies


@pytest.mark.parametrize(("total", "hhs500", "annual"), [(499, False, True), (500, True, False)])
def test_hipaa_hhs_500_counts_everyone_affected(rules, total: int, hhs500: bool, annual: bool) -> None:
    facts = dl.IncidentFacts(
        detected=at("2026-11-20T12:00:00Z"),
        residents={"US-NY": total - 100, "US-NJ": 100},
        sectors=["hipaa_entity"],
        categories=["health"],
    )
    ids = {r.id for r, _ in dl.applicable_rules(facts, rules)}
    assert ("us-hipaa-hhs-500plus" in ids) is hhs500
    assert ("us-hipaa-hhs-under500" in ids) is annual
    assert "us-hipaa-media" not in ids  # needs more than 500 residents of one state


def test_sector_and_category_gates(rules) -> None:
    base = dl.IncidentFacts(detected=at("2026-11-20T12:00:00Z"), residents={"US-NY": 10, "BR": 10})
    ids = {r.id for r, _ in dl.applicable_rules(base, rules)}
    assert "us-sec-8k-item105" not in ids and "us-hipaa-individuals" not in ids and "br-lgpd-anpd" not in ids
    with_facts = base.model_copy(update={"sectors": ["sec_registrant", "nydfs_licensee"], "categories": ["financial"]})
    reasons = dict((r.id, why) for r, why in dl.applicable_rules(with_facts, rules))
    assert "sector sec_registrant" in reasons["us-sec-8k-item105"]
    assert "us-nydfs-500-17a" in reasons and "us-ny-dfs-899aa" in reasons
    assert "data financial" in reasons["br-lgpd-anpd"]


def test_eu_member_states_count_toward_the_eu_and_uk_is_gb(rules) -> None:
    facts = dl.IncidentFacts(aware=at("2026-11-20T12:00:00Z"), residents={"DE": 3, "IE": 4, "GB": 2})
    reasons = dict((r.id, why) for r, why in dl.applicable_rules(facts, rules))
    assert "7 residents of EU" in reasons["eu-gdpr-art33-sa"]
    assert "uk-gdpr-art33-ico" in reasons
    assert dl.normalise_code("uk") == "GB"


def test_overrides_include_and_exclude(rules) -> None:
    facts = dl.IncidentFacts(detected=at("2026-11-20T12:00:00Z"), residents={"US-CT": 40})
    overrides = {
        "us-ct-individuals": dl.Override(
            rule="us-ct-individuals",
            action="exclude",
            justification="no-harm determination after consulting the FBI",
            actor="ann",
        ),
        "us-bank-36h": dl.Override(rule="us-bank-36h", action="include", justification="bank affiliate", actor="bo"),
    }
    ts = dl.timers(facts, rules, overrides, {}, at("2026-11-21T00:00:00Z"))
    ct = timer(ts, "us-ct-individuals")
    assert ct.state == "not_applicable" and "excluded by ann: no-harm" in ct.reason
    # The AG notice rides on the resident notice, so it falls away with it.
    assert timer(ts, "us-ct-ag").state == "not_applicable"
    bank = timer(ts, "us-bank-36h")
    # 36 hours from determination; none recorded, so counted from detection (earlier, conservative).
    assert bank.due_utc == "2026-11-22T00:00:00Z" and "included by bo" in bank.reason


def test_proposed_and_not_yet_effective_rules_do_not_apply(rules) -> None:
    facts = dl.IncidentFacts(
        detected=at("2026-11-20T12:00:00Z"), residents={"IN": 5, "US-OK": 600}, sectors=["us_critical_infrastructure"]
    )
    ts = {t.rule: t for t in dl.timers(facts, rules, {}, {}, at("2026-11-21T00:00:00Z"))}
    assert ts["us-circia-incident-proposed"].state == "not_applicable"
    assert "2027-05-14" in ts["in-dpdp-board-detailed"].reason
    assert ts["in-certin-6h"].state != "not_applicable"
    # Oklahoma SB 626 applies from 1 Jan 2026: this incident qualifies.
    assert ts["us-ok-ag"].state == "pending"


# -- clock starts: determination and notice chains ----------------------------------------------------------------


def test_determination_clock_waits_for_the_materiality_determination(rules) -> None:
    facts = dl.IncidentFacts(detected=at("2026-11-24T15:00:00Z"), sectors=["sec_registrant"])
    sec = timer(dl.timers(facts, rules, {}, {}, at("2026-11-25T00:00:00Z")), "us-sec-8k-item105")
    assert sec.state == "pending" and sec.due_utc is None
    assert "materiality" in (sec.basis or "")
    # Determined Wed 25 Nov 16:00 EST: 4 business days skipping Thanksgiving -> end of Wed 2 Dec EST.
    facts = facts.model_copy(update={"determination": at("2026-11-25T21:00:00Z")})
    sec = timer(dl.timers(facts, rules, {}, {}, at("2026-11-25T22:00:00Z")), "us-sec-8k-item105")
    assert sec.due_utc == "2026-12-03T04:59:59Z" and sec.state == "on_track"


def test_state_determination_falls_back_to_awareness_until_recorded(rules) -> None:
    # Texas AG: 30 days from determining the breach. Without a recorded determination the clock is counted
    # from awareness (Tue 24 Nov 10:00 CST): day 30 = Thu 24 Dec, end CST = 2026-12-25T05:59:59Z.
    facts = dl.IncidentFacts(aware=at("2026-11-24T16:00:00Z"), residents={"US-TX": 300})
    tx = timer(dl.timers(facts, rules, {}, {}, at("2026-11-25T00:00:00Z")), "us-tx-ag")
    assert tx.due_utc == "2026-12-25T05:59:59Z"
    assert "breach_determined not recorded" in (tx.start_basis or "")
    # Recording the determination (Thu 26 Nov 09:00 CST) moves it: day 30 = Sat 26 Dec -> 2026-12-27T05:59:59Z.
    facts = facts.model_copy(update={"breach_determined": at("2026-11-26T15:00:00Z")})
    tx = timer(dl.timers(facts, rules, {}, {}, at("2026-11-27T00:00:00Z")), "us-tx-ag")
    assert tx.due_utc == "2026-12-27T05:59:59Z"


def test_california_ag_sample_runs_15_days_from_the_consumer_notice(rules) -> None:
    facts = dl.IncidentFacts(detected=at("2026-11-24T15:00:00Z"), residents={"US-CA": 1200})
    now = at("2026-11-27T09:00:00Z")
    ag = timer(dl.timers(facts, rules, {}, {}, now), "us-ca-ag")
    # Not started; at the latest: consumer notice due end of 24 Dec PST (30 days from 24 Nov), + 15 days = 8 Jan.
    assert ag.state == "pending" and ag.due_utc is None
    assert ag.projected_due_utc == "2027-01-09T07:59:59Z"
    # Consumer notice sent 2026-11-27T07:30Z = Thu 26 Nov 23:30 PST: day 0 = 26 Nov, day 15 = Fri 11 Dec;
    # end of 11 Dec PST = 2026-12-12T07:59:59Z.
    sent = {
        "us-ca-individuals": dl.Notification(
            rule="us-ca-individuals", at=at("2026-11-27T07:30:00Z"), evidence_id="aaaaaaaaaaaa"
        )
    }
    ts = dl.timers(facts, rules, {}, sent, now)
    ag = timer(ts, "us-ca-ag")
    assert ag.state == "on_track" and ag.due_utc == "2026-12-12T07:59:59Z"
    ind = timer(ts, "us-ca-individuals")
    assert ind.state == "notified" and ind.evidence_id == "aaaaaaaaaaaa" and ind.late is False


def test_notice_with_the_resident_notice(rules) -> None:
    # New York: AG/DOS/State Police are notified with the resident notice, so they share its due time
    # (30 days from discovery on 24 Nov EST: end of 24 Dec EST = 2026-12-25T04:59:59Z) until it is sent,
    # and then they are due at the moment it was sent.
    facts = dl.IncidentFacts(detected=at("2026-11-24T15:00:00Z"), residents={"US-NY": 100})
    ts = dl.timers(facts, rules, {}, {}, at("2026-11-27T09:00:00Z"))
    assert (
        timer(ts, "us-ny-state-regulators").due_utc == timer(ts, "us-ny-individuals").due_utc == "2026-12-25T04:59:59Z"
    )
    sent = {
        "us-ny-individuals": dl.Notification(
            rule="us-ny-individuals", at=at("2026-11-27T08:00:00Z"), evidence_id="bbbbbbbbbbbb"
        )
    }
    regs = timer(dl.timers(facts, rules, {}, sent, at("2026-11-27T09:00:00Z")), "us-ny-state-regulators")
    assert regs.due_utc == "2026-11-27T08:00:00Z" and regs.state == "overdue"


def test_iowa_ag_business_days_after_consumer_notice(rule) -> None:
    # Iowa AG: 5 business days after the consumer notice. Notice Fri 2026-12-18 (CST): Mon 21 = 1, Tue 22 = 2,
    # Wed 23 = 3, Thu 24 = 4, Fri 25 is Christmas, Mon 28 = 5. End of 28 Dec CST = 2026-12-29T05:59:59Z.
    due = dl.compute_due(rule("us-ia-ag"), at("2026-12-18T10:00:00-06:00"))
    assert due == at("2026-12-29T05:59:59Z")


def test_hipaa_annual_log_is_60_days_after_year_end(rule, rules) -> None:
    # Fewer than 500: log to HHS within 60 days after the end of the calendar year of discovery. 2026 ends
    # 31 Dec; day 60 counted from 31 Dec is 1 Mar 2027 (31 + 28 + 1); end of 1 Mar EST = 2027-03-02T04:59:59Z.
    facts = dl.IncidentFacts(
        detected=at("2026-06-01T12:00:00Z"), residents={"US-NY": 20}, sectors=["hipaa_entity"], categories=["health"]
    )
    t = timer(dl.timers(facts, rules, {}, {}, at("2026-06-02T00:00:00Z")), "us-hipaa-hhs-under500")
    assert t.due_utc == "2027-03-02T04:59:59Z"


# -- timer states -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "state"),
    [
        ("2026-11-27T10:29:59Z", "on_track"),  # 24h 00m 01s left
        ("2026-11-27T10:30:00Z", "due_24h"),  # exactly 24h left
        ("2026-11-28T06:29:59Z", "due_24h"),  # 4h 00m 01s left
        ("2026-11-28T06:30:00Z", "due_4h"),  # exactly 4h left
        ("2026-11-28T10:30:00Z", "due_4h"),  # due this second
        ("2026-11-28T10:30:01Z", "overdue"),
    ],
)
def test_states_by_time_left(rules, now: str, state: str) -> None:
    # GDPR Art. 33: aware 25 Nov 10:30Z + 72h = due 2026-11-28T10:30:00Z.
    facts = dl.IncidentFacts(aware=at("2026-11-25T10:30:00Z"), residents={"FR": 1})
    assert timer(dl.timers(facts, rules, {}, {}, at(now)), "eu-gdpr-art33-sa").state == state


def test_elapsed_rules_show_elapsed_time_and_the_org_target(rules) -> None:
    facts = dl.IncidentFacts(
        aware=at("2026-11-25T10:30:00Z"),
        residents={"FR": 1},
        targets={"eu-gdpr-art34-individuals": timedelta(hours=96)},
    )
    t = timer(dl.timers(facts, rules, {}, {}, at("2026-11-26T10:30:00Z")), "eu-gdpr-art34-individuals")
    assert t.state == "elapsed" and t.due_utc is None
    assert t.elapsed_seconds == 86400
    assert t.target == "4d" and t.target_due_utc == "2026-11-29T10:30:00Z"
    # A guidance target from the rule file is used when the organisation set none.
    facts = dl.IncidentFacts(aware=at("2026-11-25T10:30:00Z"), residents={"SG": 1})
    t = timer(dl.timers(facts, rules, {}, {}, at("2026-11-26T10:30:00Z")), "sg-pdpa-assessment")
    assert t.target == "30d"


def test_law_enforcement_hold_pauses_and_extends(rules) -> None:
    # NY residents: 30 days from discovery (24 Nov EST) -> due end of 24 Dec EST = 2026-12-25T04:59:59Z.
    # A hold from 1 Dec 00:00Z to 11 Dec 00:00Z (10 days) stops the clock: the start moves to 4 Dec 15:00Z,
    # day 30 = 3 Jan 2027, end EST = 2027-01-04T04:59:59Z. The GDPR clock does not allow a hold and keeps running.
    hold = dl.LawEnforcementHold(
        hold_id="hold-1",
        start=at("2026-12-01T00:00:00Z"),
        requested_by="FBI SA Doe",
        justification="active investigation",
    )
    facts = dl.IncidentFacts(
        detected=at("2026-11-24T15:00:00Z"),
        aware=at("2026-11-24T15:00:00Z"),
        residents={"US-NY": 100, "FR": 1},
        holds=[hold],
    )
    ts = dl.timers(facts, rules, {}, {}, at("2026-12-05T00:00:00Z"))
    ny = timer(ts, "us-ny-individuals")
    assert ny.state == "paused" and "FBI SA Doe" in (ny.hold or "")
    # Time left frozen at the start of the hold: 2026-12-25T04:59:59Z - 2026-12-01T00:00:00Z.
    assert ny.remaining_seconds == int(timedelta(days=24, hours=4, minutes=59, seconds=59).total_seconds())
    assert timer(ts, "eu-gdpr-art33-sa").state == "overdue"
    ended = hold.model_copy(update={"end": at("2026-12-11T00:00:00Z")})
    facts = facts.model_copy(update={"holds": [ended]})
    ny = timer(dl.timers(facts, rules, {}, {}, at("2026-12-12T00:00:00Z")), "us-ny-individuals")
    assert ny.state == "on_track" and ny.due_utc == "2027-01-04T04:59:59Z"


def test_timers_are_sorted_most_urgent_first(rules) -> None:
    facts = dl.IncidentFacts(
        detected=at("2026-11-24T15:00:00Z"),
        aware=at("2026-11-25T10:30:00Z"),
        residents={"FR": 1, "US-TX": 10, "US-NY": 6000},
    )
    ts = dl.timers(facts, rules, {}, {}, at("2026-11-28T08:00:00Z"))
    order = [dl.STATE_ORDER[t.state] for t in ts]
    assert order == sorted(order)
    assert ts[0].rule == "eu-gdpr-art33-sa" and ts[0].state == "due_4h"


# -- durations and facts ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"), [("72h", 259200), ("3d", 259200), ("PT72H", 259200), ("P1W", 604800), ("90m", 5400)]
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert dl.parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "3", "soon", "P", "PT", "-3d"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        dl.parse_duration(text)


def test_parse_fact_keys(rules) -> None:
    assert dl.parse_fact("aware", "2026-11-25T11:30:00+01:00") == ("aware", "2026-11-25T10:30:00Z")
    assert dl.parse_fact("residents.uk", "1,200") == ("residents.GB", 1200)
    assert dl.parse_fact("residents.US-TX", "0") == ("residents.US-TX", None)
    assert dl.parse_fact("categories", "health, payment-card") == ("categories", ["health", "payment_card"])
    assert dl.parse_fact("target.eu-gdpr-art34-individuals", "4d", rules) == (
        "target.eu-gdpr-art34-individuals",
        345600,
    )
    assert dl.parse_fact("aware", "none") == ("aware", None)
    for key, value, msg in [
        ("awareness", "2026-11-25T10:30:00Z", "unknown fact"),
        ("aware", "2026-11-25 10:30", "zone offset"),
        ("residents.US-TX", "many", "whole number"),
        ("residents.Texas", "5", "jurisdiction code"),
        ("categories", "health,gossip", "unknown gossip"),
        ("sectors", "bank,pirate", "unknown pirate"),
        ("target.eu-gdpr-art33-sa", "1d", "fixed period"),
        ("target.default", "soon", "not a duration"),
        ("eu_member_state", "GB", "not an EU member state"),
    ]:
        with pytest.raises(dl.WarroomError, match=msg):
            dl.parse_fact(key, value, rules)


def test_holiday_lookup() -> None:
    assert dl.holiday_name("BR", date(2026, 11, 20)) is not None
    assert dl.holiday_name("US", date(2026, 4, 3)) is None
    assert not dl.is_business_day("US-VT", date(2026, 3, 3))


# -- properties ---------------------------------------------------------------------------------------------------

_instants = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31)).map(
    lambda d: d.replace(tzinfo=UTC)
)
_BUSINESS = [
    "br-lgpd-anpd",
    "br-lgpd-anpd-supplement",
    "us-sec-8k-item105",
    "us-vt-ag-preliminary",
    "us-ia-ag",
    "pci-visa-account-numbers",
]


@settings(max_examples=150, deadline=None)
@given(start=_instants, rid=st.sampled_from(_BUSINESS))
def test_business_day_due_is_the_end_of_the_nth_business_day(rule, start: datetime, rid: str) -> None:
    r = rule(rid)
    due = dl.compute_due(r, start)
    assert due is not None
    tz = ZoneInfo(r.timezone)
    local_due = due.astimezone(tz)
    assert local_due.time().isoformat() == "23:59:59"
    assert dl.is_business_day(r.calendar, local_due.date())
    day, counted = start.astimezone(tz).date(), 0
    while day < local_due.date():
        day += timedelta(days=1)
        counted += dl.is_business_day(r.calendar, day)
    assert counted == r.period


@settings(max_examples=100, deadline=None)
@given(start=_instants, rid=st.sampled_from(["eu-gdpr-art33-sa", "us-nydfs-500-17a", "us-bank-36h", "in-certin-6h"]))
def test_hour_rules_are_exact_elapsed_time(rule, start: datetime, rid: str) -> None:
    r = rule(rid)
    assert dl.compute_due(r, start) - start == timedelta(hours=r.period)
