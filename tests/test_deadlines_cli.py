"""`warroom deadlines`, `facts set` and `notify sent` end to end, on a real journal in a temporary workspace.

The incident: detected Tue 2026-11-24 15:00Z, aware Wed 25 Nov 10:30Z, breach determined Wed 25 Nov 18:00Z,
SEC materiality determined Wed 25 Nov 21:00Z (16:00 EST); residents of Germany and France (EU), the UK,
California, Texas, New York and Brazil; contact details, credentials and financial data; an SEC registrant.
The clock (conftest) reads Fri 2026-11-27 09:00Z.
"""

from __future__ import annotations

from pathlib import Path

import pytest

FACTS = [
    ("breach_determined", "2026-11-25T18:00:00Z"),
    ("determination", "2026-11-25T16:00:00-05:00"),
    ("residents.DE", "4000"),
    ("residents.FR", "1000"),
    ("residents.UK", "2500"),
    ("residents.US-CA", "1200"),
    ("residents.US-TX", "300"),
    ("residents.US-NY", "6000"),
    ("residents.BR", "800"),
    ("categories", "contact,credentials,financial"),
    ("sectors", "sec_registrant"),
]

# rule -> (state, due_utc), each worked out by hand:
EXPECTED = {
    # GDPR Art. 33 / UK GDPR: 72 hours from awareness, absolute: 25 Nov 10:30Z + 72h = 28 Nov 10:30Z.
    # 25.5 hours left at 27 Nov 09:00Z -> on track.
    "eu-gdpr-art33-sa": ("on_track", "2026-11-28T10:30:00Z"),
    "uk-gdpr-art33-ico": ("on_track", "2026-11-28T10:30:00Z"),
    # Brazil (financial and authentication data): 3 business days from awareness, 25 Nov 07:30 BRT:
    # Thu 26 (1), Fri 27 (2), Mon 30 (3); end of 30 Nov BRT (UTC-3) = 1 Dec 02:59:59Z. Same for individuals.
    "br-lgpd-anpd": ("on_track", "2026-12-01T02:59:59Z"),
    "br-lgpd-individuals": ("on_track", "2026-12-01T02:59:59Z"),
    # SEC 8-K Item 1.05: 4 business days after the materiality determination (Wed 25 Nov, EST); Thanksgiving
    # Thu 26 is a federal holiday: Fri 27 (1), Mon 30 (2), Tue 1 Dec (3), Wed 2 Dec (4); end EST = 3 Dec 04:59:59Z.
    "us-sec-8k-item105": ("on_track", "2026-12-03T04:59:59Z"),
    # California residents: 30 calendar days from discovery (24 Nov 07:00 PST) = 24 Dec; end PST = 25 Dec 07:59:59Z.
    "us-ca-individuals": ("on_track", "2026-12-25T07:59:59Z"),
    # New York residents: 30 days from discovery (24 Nov 10:00 EST) = 24 Dec; end EST = 25 Dec 04:59:59Z.
    # AG/DOS/State Police are due with the resident notice.
    "us-ny-individuals": ("on_track", "2026-12-25T04:59:59Z"),
    "us-ny-state-regulators": ("on_track", "2026-12-25T04:59:59Z"),
    # Texas AG (300 >= 250): 30 days from determination (25 Nov 12:00 CST) = 25 Dec; end CST = 26 Dec 05:59:59Z.
    "us-tx-ag": ("on_track", "2026-12-26T05:59:59Z"),
    # Texas residents: 60 days from determination = 24 Jan 2027; end CST = 25 Jan 05:59:59Z.
    "us-tx-individuals": ("on_track", "2027-01-25T05:59:59Z"),
    # Chained clocks that have not started: CA AG sample (>500 residents) 15 days after the consumer notice,
    # NY credit bureaus (>5,000) after the resident notice, ANPD supplement after the first ANPD notice,
    # 8-K/A after new information.
    "us-ca-ag": ("pending", None),
    "us-ny-cra": ("pending", None),
    "br-lgpd-anpd-supplement": ("pending", None),
    "us-sec-8k-item105-amendment": ("pending", None),
    # No fixed period: elapsed time since awareness.
    "eu-gdpr-art34-individuals": ("elapsed", None),
    "uk-gdpr-art34-individuals": ("elapsed", None),
    # Texas credit bureaus need more than 10,000.
    "us-tx-cra": ("not_applicable", None),
}


@pytest.fixture
def incident(cli) -> str:
    inc = cli.new(
        "Salesforce integration leak", "--detected", "2026-11-24T15:00:00Z", "--aware", "2026-11-25T10:30:00Z"
    )
    for key, value in FACTS:
        result = cli("facts", "set", key, value, "--incident", inc)
        assert result.code == 0, result.err
    return inc


def timers_by_rule(cli, inc: str) -> dict[str, dict]:
    result = cli("deadlines", "--incident", inc, "--json")
    assert result.code == 0, result.err
    doc = result.json()
    assert doc["incident"] == inc and doc["now"] == "2026-11-27T09:00:00Z"
    return {t["rule"]: t for t in doc["timers"]}


def test_done_when_incident_lists_the_right_clocks(cli, incident: str) -> None:
    timers = timers_by_rule(cli, incident)
    assert {rid: (t["state"], t["due_utc"]) for rid, t in timers.items()} == EXPECTED
    gdpr = timers["eu-gdpr-art33-sa"]
    assert gdpr["due_local"] == "2026-11-28T11:30:00+01:00" and gdpr["timezone"] == "Europe/Brussels"
    assert gdpr["remaining_seconds"] == 25 * 3600 + 1800
    assert "5,000 residents of EU" in gdpr["reason"]
    sec = timers["us-sec-8k-item105"]
    assert sec["due_local"] == "2026-12-02T23:59:59-05:00"
    assert "Thanksgiving" in sec["basis"]
    # 3 Dec 04:59:59Z - 27 Nov 09:00Z = 5d 19h 59m 59s.
    assert sec["remaining_seconds"] == 5 * 86400 + 19 * 3600 + 59 * 60 + 59
    # The CA AG sample, at the latest: consumer notice on its last day (24 Dec PST) + 15 days = 8 Jan 2027.
    assert timers["us-ca-ag"]["projected_due_utc"] == "2027-01-09T07:59:59Z"
    # Elapsed since awareness: 27 Nov 09:00Z - 25 Nov 10:30Z = 46.5 hours.
    assert timers["eu-gdpr-art34-individuals"]["elapsed_seconds"] == 46 * 3600 + 1800
    assert "10,000" in timers["us-tx-cra"]["reason"]


def test_text_listing(cli, incident: str) -> None:
    result = cli("deadlines", "--incident", incident)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith(f"{incident}: notification clocks at 2026-11-27T09:00:00Z")
    gdpr = next(line for line in lines if "eu-gdpr-art33-sa" in line)
    assert "due 2026-11-28 10:30Z (2026-11-28 11:30 local)" in gdpr and "left 1d 01h" in gdpr
    assert any("us-ca-ag" in line and "not started" in line for line in lines)
    assert any("us-tx-cra" in line and "not applicable" in line for line in lines)


def test_fact_change_moves_the_deadline_and_is_journaled(cli, incident: str) -> None:
    # Awareness corrected to 25 Nov 08:00Z: GDPR/ICO due 28 Nov 08:00Z. Brazil is unchanged (05:00 BRT is still
    # 25 Nov locally).
    result = cli("facts", "set", "aware", "2026-11-25T08:00:00Z", "--incident", incident)
    assert result.code == 0, result.err
    assert "aware = 2026-11-25T08:00:00Z (was 2026-11-25T10:30:00Z)" in result.out
    assert "~ eu-gdpr-art33-sa: due 2026-11-28T10:30:00Z -> 2026-11-28T08:00:00Z" in result.out
    timers = timers_by_rule(cli, incident)
    assert timers["eu-gdpr-art33-sa"]["due_utc"] == "2026-11-28T08:00:00Z"
    assert timers["uk-gdpr-art33-ico"]["due_utc"] == "2026-11-28T08:00:00Z"
    assert timers["br-lgpd-anpd"]["due_utc"] == "2026-12-01T02:59:59Z"
    shown = cli("journal", "show", "--incident", incident, "--kind", "facts.set", "--json")
    assert shown.code == 0, shown.err
    last = shown.json()[-1]
    assert last["data"] == {"key": "aware", "value": "2026-11-25T08:00:00Z", "previous": "2026-11-25T10:30:00Z"}
    # Texas falls below the AG threshold when the count is corrected.
    result = cli("facts", "set", "residents.US-TX", "249", "--incident", incident)
    assert "- us-tx-ag: no longer applies" in result.out
    assert timers_by_rule(cli, incident)["us-tx-ag"]["state"] == "not_applicable"
    assert cli("journal", "verify", "--incident", incident).code == 0


def test_same_value_is_not_journaled(cli, incident: str) -> None:
    result = cli("facts", "set", "residents.US-TX", "300", "--incident", incident)
    assert result.code == 0 and "nothing recorded" in result.out


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("awareness", "2026-11-25T08:00:00Z", "unknown fact 'awareness'"),
        ("aware", "yesterday", "not an ISO 8601 time"),
        ("aware", "2026-12-25T08:00:00Z", "in the future"),
        ("residents.US-TX", "lots", "whole number"),
        ("categories", "health,rumours", "unknown rumours"),
        ("target.eu-gdpr-art33-sa", "2d", "fixed period"),
        ("target.no-such-rule", "2d", "no deadline rule"),
        ("aware", "none", "comes from the incident record"),
    ],
)
def test_facts_set_rejects_bad_input(cli, incident: str, key: str, value: str, message: str) -> None:
    result = cli("facts", "set", key, value, "--incident", incident)
    assert result.code == 2
    assert message in result.err


def test_notify_sent_starts_the_chained_clock(cli, incident: str, tmp_path: Path) -> None:
    proof = tmp_path / "ca-consumer-notice.pdf"
    proof.write_bytes(b"%PDF-1.7 consumer notice as mailed\n")
    added = cli("evidence", "add", str(proof), "--incident", incident)
    assert added.code == 0, added.err
    evidence_id = added.out.split()[0]
    # Sent 27 Nov 07:30Z = Thu 26 Nov 23:30 PST: the AG sample is due 15 days after 26 Nov = 11 Dec, end PST.
    result = cli(
        "notify",
        "sent",
        "us-ca-individuals",
        "--at",
        "2026-11-27T07:30:00Z",
        "--evidence",
        evidence_id,
        "--incident",
        incident,
    )
    assert result.code == 0, result.err
    assert "us-ca-ag: now due 2026-12-12T07:59:59Z" in result.out
    timers = timers_by_rule(cli, incident)
    sent = timers["us-ca-individuals"]
    assert (sent["state"], sent["evidence_id"], sent["notified_utc"], sent["late"]) == (
        "notified",
        evidence_id,
        "2026-11-27T07:30:00Z",
        False,
    )
    assert (timers["us-ca-ag"]["state"], timers["us-ca-ag"]["due_utc"]) == ("on_track", "2026-12-12T07:59:59Z")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["us-ca-individuals", "--at", "2026-11-27T07:30:00Z", "--evidence", "0123456789ab"], "no evidence"),
        (["us-ca-nothing", "--at", "2026-11-27T07:30:00Z", "--evidence", "0123456789ab"], "no deadline rule"),
        (["us-ca-individuals", "--at", "2026-12-27T07:30:00Z", "--evidence", "0123456789ab"], "in the future"),
    ],
)
def test_notify_sent_rejects(cli, incident: str, args: list[str], message: str) -> None:
    result = cli("notify", "sent", *args, "--incident", incident)
    assert result.code == 2
    assert message in result.err


def test_include_and_exclude_are_journaled_with_justification(cli, incident: str) -> None:
    result = cli(
        "deadlines",
        "exclude",
        "uk-gdpr-art34-individuals",
        "-j",
        "data encrypted at rest; no high risk",
        "--incident",
        incident,
    )
    assert result.code == 0, result.err
    result = cli("deadlines", "include", "us-tx-cra", "-j", "counsel: notify bureaus anyway", "--incident", incident)
    assert result.code == 0, result.err
    timers = timers_by_rule(cli, incident)
    assert timers["uk-gdpr-art34-individuals"]["state"] == "not_applicable"
    assert "excluded by tester: data encrypted at rest" in timers["uk-gdpr-art34-individuals"]["reason"]
    assert timers["us-tx-cra"]["state"] == "pending"  # follows the Texas resident notice
    assert cli("deadlines", "reset", "us-tx-cra", "-j", "counsel withdrew", "--incident", incident).code == 0
    assert timers_by_rule(cli, incident)["us-tx-cra"]["state"] == "not_applicable"
    missing = cli("deadlines", "exclude", "uk-gdpr-art34-individuals", "--incident", incident)
    assert missing.code == 2  # argparse: --justification is required


def test_law_enforcement_pause_and_resume(cli, incident: str) -> None:
    refused = cli(
        "deadlines", "pause", "--rule", "eu-gdpr-art33-sa", "--requested-by", "FBI", "-j", "x", "--incident", incident
    )
    assert refused.code == 2 and "does not allow a law-enforcement delay" in refused.err
    result = cli(
        "deadlines",
        "pause",
        "--requested-by",
        "FBI SA J. Doe",
        "-j",
        "written request, case 123",
        "--at",
        "2026-11-26T09:00:00Z",
        "--incident",
        incident,
    )
    assert result.code == 0, result.err
    hold_id = result.out.split(":")[0]
    timers = timers_by_rule(cli, incident)
    assert timers["us-ny-individuals"]["state"] == "paused"
    assert timers["us-ca-individuals"]["state"] == "paused"
    assert timers["eu-gdpr-art33-sa"]["state"] == "on_track"  # GDPR has no law-enforcement hold
    assert timers["us-tx-ag"]["state"] == "on_track"  # the AG clock is not held by the Texas statute
    # Released a day later: the New York clock moves by one day, 24 Dec -> 25 Dec (end EST = 26 Dec 04:59:59Z).
    result = cli(
        "deadlines",
        "resume",
        hold_id,
        "-j",
        "FBI released the hold",
        "--at",
        "2026-11-27T09:00:00Z",
        "--incident",
        incident,
    )
    assert result.code == 0, result.err
    timers = timers_by_rule(cli, incident)
    assert (timers["us-ny-individuals"]["state"], timers["us-ny-individuals"]["due_utc"]) == (
        "on_track",
        "2026-12-26T04:59:59Z",
    )
    assert cli("deadlines", "resume", hold_id, "-j", "again", "--incident", incident).code == 2
    assert cli("journal", "verify", "--incident", incident).code == 0


def test_compute_without_an_incident(cli) -> None:
    result = cli("deadlines", "compute", "--rule", "br-lgpd-anpd", "--start", "2026-04-02T10:00:00-03:00", "--json")
    assert result.code == 0, result.err
    doc = result.json()
    # Thu 2 Apr; Good Friday 3 Apr is a national holiday; Mon 6 (1), Tue 7 (2), Wed 8 (3): end BRT = 9 Apr 02:59:59Z.
    assert {k: doc[k] for k in ("rule", "start", "due", "day_kind")} == {
        "rule": "br-lgpd-anpd",
        "start": "2026-04-02T13:00:00Z",
        "due": "2026-04-09T02:59:59Z",
        "day_kind": "business",
    }
    assert "Good Friday" in doc["basis"]
    none = cli(
        "deadlines", "compute", "--rule", "eu-gdpr-art34-individuals", "--start", "2026-04-02T10:00:00Z", "--json"
    ).json()
    assert none["due"] is None and "no fixed period" in none["basis"]
    bad = cli("deadlines", "compute", "--rule", "eu-gdpr-art33-sa", "--start", "2026-04-02 10:00")
    assert bad.code == 2


def test_rules_table(cli) -> None:
    result = cli("deadlines", "rules", "--json")
    assert result.code == 0, result.err
    rules = result.json()
    assert len(rules) == 220
    tx = next(r for r in rules if r["id"] == "us-tx-ag")
    assert tx["threshold"] == {
        "text": "at least 250 Texas residents",
        "count": "residents",
        "op": ">=",
        "value": 250,
        "mode": "required",
    }
    assert tx["source"].startswith("https://")
    text = cli("deadlines", "rules")
    assert "us-tx-ag" in text.out and "if residents >= 250" in text.out
