"""The rule file: generated from the research CSV without loss, and rejected with a line when malformed."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from app import deadlines as dl

ROOT = Path(__file__).resolve().parent.parent
CSV = ROOT.parent / "shared" / "reference" / "jurisdictions.csv"
needs_csv = pytest.mark.skipif(not CSV.is_file(), reason="research CSV not present beside the repository")

GOOD = """\
format = 1
source = "test.csv"

[[rule]]
id = "xx-first"
jurisdiction = "Testland"
code = "GB"
regime = "Test Act"
citation = "s. 1"
recipient = "regulator"
standard = "fixed"
period = 72
day_kind = "hours"
starts = "awareness"
timezone = "Europe/London"
calendar = "GB"
confidence = "high"
source = "https://example.org/a"

[rule.threshold]
text = "any breach"

[[rule]]
id = "xx-second"
jurisdiction = "Testland"
code = "GB"
regime = "Test Act"
citation = "s. 2"
recipient = "attorney_general"
standard = "fixed"
period = 10
day_kind = "calendar"
starts = "notice:xx-first"
timezone = "Europe/London"
calendar = "GB"
confidence = "medium"
source = "https://example.org/b"

[rule.threshold]
text = "more than 500 residents"
count = "residents"
op = ">"
value = 500
"""


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    seen = 0
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return i
    raise AssertionError(needle)


def test_good_file_parses() -> None:
    rules = dl.parse_rules(GOOD, "good.toml")
    assert [r.id for r in rules] == ["xx-first", "xx-second"]
    assert rules[1].anchors == ("xx-first",)


def replace_nth(text: str, old: str, new: str, n: int) -> str:
    parts = text.split(old)
    assert len(parts) > n, old
    return old.join(parts[:n]) + new + old.join(parts[n:])


@pytest.mark.parametrize(
    ("old", "new", "nth", "needle", "needle_nth", "message"),
    [
        # unknown key in the second rule -> the line of that key
        (
            "period = 10",
            "period = 10\nperiode = 10",
            1,
            "periode = 10",
            1,
            "periode: unknown key (did you mean 'period'?)",
        ),
        # bad enum value
        ('day_kind = "calendar"', 'day_kind = "fortnights"', 1, 'day_kind = "fortnights"', 1, "day_kind"),
        # a key inside a sub-table: the line inside the second rule's [rule.threshold]
        ('op = ">"', 'op = "about"', 1, 'op = "about"', 1, "threshold.op"),
        # unknown holiday calendar in the second rule
        ('calendar = "GB"', 'calendar = "XX-ZZ"', 2, 'calendar = "XX-ZZ"', 1, "unknown holiday calendar"),
        # chained to a rule that does not exist
        (
            'starts = "notice:xx-first"',
            'starts = "notice:xx-nothing"',
            1,
            "notice:xx-nothing",
            1,
            "unknown rule 'xx-nothing'",
        ),
        # duplicate id: reported at the second one
        ('id = "xx-second"', 'id = "xx-first"', 1, 'id = "xx-first"', 2, "duplicate id"),
        # period and day_kind disagree: reported at the rule's header
        ('period = 72\nday_kind = "hours"', 'day_kind = "hours"', 1, "[[rule]]", 1, "needs a period"),
    ],
)
def test_bad_rule_file_is_rejected_with_its_line(
    tmp_path: Path, old: str, new: str, nth: int, needle: str, needle_nth: int, message: str
) -> None:
    text = replace_nth(GOOD, old, new, nth)
    path = tmp_path / "rules.toml"
    path.write_text(text)
    with pytest.raises(dl.RuleFileError) as err:
        dl.load_rules(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}:{line_of(text, needle, needle_nth)}:"), msg
    assert message in msg


def test_toml_syntax_error_reports_line_and_column(tmp_path: Path) -> None:
    text = GOOD.replace('regime = "Test Act"\ncitation = "s. 2"', 'regime = "Test Act\ncitation = "s. 2"')
    path = tmp_path / "rules.toml"
    path.write_text(text)
    with pytest.raises(dl.RuleFileError) as err:
        dl.load_rules(path)
    line = line_of(text, 'regime = "Test Act', 2)
    assert str(err.value).startswith(f"{path}:{line}:"), str(err.value)


def test_bad_rule_file_through_the_cli(cli, tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace('recipient = "regulator"', 'recipient = "the press"'))
    result = cli("deadlines", "rules", "--rules", str(path))
    assert result.code == 1
    assert f"{path}:{line_of(GOOD, 'recipient = ')}:13: rule[0].recipient: Input should be" in result.err


def test_shipped_rules_load() -> None:
    rules = dl.load_rules()
    assert len(rules) == 220
    assert len({r.id for r in rules}) == 220


@needs_csv
def test_every_csv_row_is_a_rule_with_its_citation_and_source() -> None:
    with CSV.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    rules = {r.id: r for r in dl.load_rules()}
    assert set(rules) == {row["id"] for row in rows}
    for row in rows:
        r = rules[row["id"]]
        assert (r.citation, r.source, r.confidence, r.notes, r.regime, r.recipient, r.jurisdiction) == (
            row["citation"],
            row["source_url"],
            row["confidence"],
            row["notes"],
            row["regime"],
            row["recipient"],
            row["jurisdiction"],
        )
        assert r.threshold.text == row["threshold"]
        assert r.standard == row["fixed_or_standard"]
        hours = row["deadline_hours"]
        if r.day_kind == "hours":
            assert r.period == int(hours)
        elif r.day_kind in ("calendar", "business"):
            assert row["day_kind"] == r.day_kind and r.period is not None and r.period * 24 == int(hours)
        elif r.day_kind == "months":
            assert hours == "" and row["day_kind"] == "calendar"
        else:
            assert hours == "" and r.period is None
        if row["clock_starts"] != "other":
            expected = "materiality" if r.id == "us-sec-8k-item105" else row["clock_starts"]
            assert r.starts == expected, r.id


def test_structured_thresholds_from_the_text() -> None:
    rules = {r.id: r for r in dl.load_rules()}
    th = {
        rid: (rules[rid].threshold.count, rules[rid].threshold.op, rules[rid].threshold.value)
        for rid in (
            "us-tx-ag",
            "us-ca-ag",
            "us-co-ag",
            "us-ny-cra",
            "us-hipaa-hhs-under500",
            "us-hipaa-media",
            "us-dc-ag",
        )
    }
    assert th == {
        "us-tx-ag": ("residents", ">=", 250),  # "at least 250 Texas residents"
        "us-ca-ag": ("residents", ">", 500),  # ">500 California residents"
        "us-co-ag": ("residents", ">=", 500),  # "500 or more Colorado residents"
        "us-ny-cra": ("residents", ">", 5000),
        "us-hipaa-hhs-under500": ("total", "<", 500),
        "us-hipaa-media": ("state_max", ">", 500),
        "us-dc-ag": ("residents", ">=", 50),
    }
    assert not rules["us-bank-service-provider"].threshold.numeric  # "4 or more hours" is not a head count
    assert rules["us-ca-ag"].starts == "notice:us-ca-individuals"
    assert rules["us-md-ag"].relation == "before"
    assert rules["us-ct-ag"].relation == "with"
    assert rules["us-sec-8k-item105"].applies_when.sectors == ["sec_registrant"]
    assert rules["us-sec-8k-item105"].calendar == "US"
    assert rules["br-lgpd-anpd"].calendar == "BR"
    assert rules["us-vt-ag-preliminary"].calendar == "US-VT"


@needs_csv
def test_generated_file_is_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build-rules"), str(CSV), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
