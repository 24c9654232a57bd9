"""The cost ledger end to end through `warroom costs`: each booking and budget journaled (amounts as exact decimal
text, ISO 4217 codes), totals per category and currency from the projector, bad input refused with nothing
journaled, fine ranges only where a cited source gives a figure, and the report's recovery tables."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from app import report as report_mod
from app.composition.workspace import Workspace
from app.costs import read_ledger
from app.costs.fines import NO_FIGURE, load_fines
from app.journal.failures import JournalError


def _open(cli: Any) -> Any:
    return Workspace(cli.home, cli.clock, cli.keyring).open(None)


def _size(cli: Any) -> int:
    with _open(cli) as incident:
        return incident.journal.head().size


def _evidence(cli: Any, tmp_path: Path) -> str:
    invoice = tmp_path / "invoice.pdf"
    invoice.write_bytes(b"%PDF-1.4 invoice 2026-117\n")
    added = cli("evidence", "add", str(invoice), "--note", "forensic firm's first invoice")
    assert added.code == 0, added.err
    return re.search(r"\b[0-9a-f]{12}\b", added.out).group(0)


def test_add_journals_the_cost_with_its_evidence_and_keeps_totals_exact(cli: Any, tmp_path: Path) -> None:
    cli.new()
    evidence_id = _evidence(cli, tmp_path)
    first = cli(
        "costs", "add", "forensic-services", "12,500.10", "eur", "--vendor", "Acme DFIR", "--evidence", evidence_id
    )
    assert first.code == 0, first.err
    assert "12,500.10 EUR" in first.out and "Acme DFIR" in first.out
    # 0.1 + 0.2 is 0.30000000000000004 in floating point: the ledger adds decimals.
    assert cli("costs", "add", "forensic-services", "0.1", "EUR").code == 0
    assert cli("costs", "add", "forensic-services", "0.2", "EUR").code == 0
    assert cli("costs", "add", "legal", "4000", "USD").code == 0
    with _open(cli) as incident:
        entries = list(incident.journal.entries(kind="cost.added"))
        ledger = read_ledger(incident.journal)
    assert [e.data["amount"] for e in entries] == ["12500.10", "0.1", "0.2", "4000"]
    assert entries[0].data == {
        "category": "forensic-services",
        "amount": "12500.10",
        "currency": "EUR",
        "vendor": "Acme DFIR",
        "evidence_id": evidence_id,
    }
    assert entries[0].actor == "tester"
    totals = {(t.category, t.currency): (str(t.amount), t.count) for t in ledger.totals}
    assert totals == {("forensic-services", "EUR"): ("12500.40", 3), ("legal", "USD"): ("4000", 1)}
    assert {k: str(v) for k, v in ledger.by_currency.items()} == {"EUR": "12500.40", "USD": "4000"}
    assert [i.seq for i in ledger.items] == [e.seq for e in entries]
    # The derived totals are what a replay of the journal computes.
    verified = cli("journal", "verify", "--json")
    assert verified.code == 0 and verified.json()["ok"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("forensic-services", "100", "EURO"), "three letters"),
        (("forensic-services", "100", "ABC"), "not an ISO 4217 currency code"),
        (("forensic-services", "100", "XTS"), "testing"),
        (("forensic-services", "-100", "EUR"), "digits"),
        (("forensic-services", "0", "EUR"), "more than zero"),
        (("forensic-services", "1e5", "EUR"), "digits"),
        (("forensic-services", "NaN", "EUR"), "digits"),
        (("forensic-services", "1.23456", "EUR"), "at most 4 decimal places"),
        (("forensic-services", "12,50", "EUR"), "digits"),
        (("lunch", "100", "EUR"), "one of forensic-services"),
        (("legal", "100", "EUR", "--evidence", "0123456789ab"), "no evidence"),
    ],
)
def test_bad_input_is_refused_with_nothing_journaled(cli: Any, args: tuple[str, ...], message: str) -> None:
    cli.new()
    before = _size(cli)
    result = cli("costs", "add", *args)
    assert result.code == 2 and message in result.err, result.err
    assert _size(cli) == before


def test_the_journal_refuses_a_float_or_an_unknown_currency_from_any_front_end(cli: Any) -> None:
    cli.new()
    with _open(cli) as incident:
        for data in (
            {"category": "legal", "amount": 12.5, "currency": "EUR"},
            {"category": "legal", "amount": "12.5", "currency": "ZZZ"},
            {"category": "legal", "amount": "12.5", "currency": "eur"},
            {"category": "snacks", "amount": "12.5", "currency": "EUR"},
        ):
            with pytest.raises(JournalError):
                incident.journal.append("cost.added", data, "tester")
        assert list(incident.journal.entries(kind="cost.added")) == []


def test_budget_is_journaled_and_spending_is_measured_against_it(cli: Any) -> None:
    cli.new()
    assert cli("costs", "budget", "50000", "EUR").code == 0
    assert cli("costs", "budget", "20000", "EUR", "--category", "legal").code == 0
    raised = cli("costs", "budget", "60000", "EUR")
    assert raised.code == 0 and "was 50000 EUR" in raised.out
    assert cli("costs", "add", "forensic-services", "45000", "EUR").code == 0
    over = cli("costs", "add", "legal", "21000.50", "EUR")
    assert over.code == 0
    assert "over budget: the legal budget 20,000.00 EUR, spent 21,000.50 EUR" in over.err
    assert "the response budget" in over.err  # 66,000.50 of 60,000
    assert cli("costs", "add", "legal", "100", "USD").code == 0  # another currency: never counted against EUR
    with _open(cli) as incident:
        budgets = list(incident.journal.entries(kind="cost.budget"))
        ledger = read_ledger(incident.journal)
    assert [(b.data["category"], b.data["amount"], b.data["previous"]) for b in budgets] == [
        ("*", "50000", None),
        ("legal", "20000", None),
        ("*", "60000", "50000"),
    ]
    rows = {(b.category, b.currency): (str(b.spent), str(b.remaining), b.over) for b in ledger.budgets}
    assert rows == {("*", "EUR"): ("66000.50", "-6000.50", True), ("legal", "EUR"): ("21000.50", "-1000.50", True)}
    listed = cli("costs", "list", "--json").json()
    assert listed["by_currency"] == {"EUR": "66000.50", "USD": "100"}
    assert {(t["category"], t["currency"]) for t in listed["totals"]} == {
        ("forensic-services", "EUR"),
        ("legal", "EUR"),
        ("legal", "USD"),
    }
    text = cli("costs", "list").out
    assert "OVER BUDGET" in text and "66,000.50 EUR" in text and "100.00 USD" in text


def test_fine_ranges_come_only_from_a_cited_source(cli: Any) -> None:
    cli.new()
    assert cli("costs", "list", "--json").json()["fines"] == []  # no facts: no regime applies yet
    for fact in (("aware", "2026-11-27T08:00:00Z"), ("residents.DE", "900"), ("residents.US-FL", "800")):
        assert cli("facts", "set", *fact).code == 0
    assert cli("facts", "set", "residents.US-CA", "700").code == 0
    assert cli("facts", "set", "residents.GB", "600").code == 0
    fines = {f["regime"]: f for f in cli("costs", "list", "--json").json()["fines"]}
    gdpr = fines["GDPR"]
    shipped = next(f for f in load_fines() if f.regime == "GDPR")
    assert (
        gdpr["basis"] == "fine table"
        and gdpr["citation"] == shipped.citation == "Regulation (EU) 2016/679 Art. 83(4)(a)"
    )
    assert "EUR 10,000,000" in gdpr["figure"] and gdpr["source"].startswith("https://eur-lex.europa.eu/")
    uk = fines["UK GDPR + Data Protection Act 2018"]
    assert uk["basis"] == "fine table" and "GBP 8,700,000" in uk["figure"] and uk["citation"] == "UK GDPR Art. 83(4)(a)"
    florida = fines["Florida Information Protection Act (FIPA)"]
    assert florida["basis"] == "rule table notes" and "USD 1,000/day" in florida["figure"]
    assert florida["citation"] == "Fla. Stat. § 501.171(3)"
    california = [f for name, f in fines.items() if name.startswith("California")]
    assert california and all(f["figure"] == NO_FIGURE and f["citation"] is None for f in california)
    printed = cli("costs", "list").out
    assert "no figure in the rule table" in printed and "Art. 83(4)(a)" in printed


def test_report_has_the_recovery_tables(cli: Any, tmp_path: Path) -> None:
    cli.new()
    assert cli("costs", "budget", "200000", "USD").code == 0
    assert cli("costs", "add", "forensic-services", "75000", "USD", "--vendor", "Acme DFIR").code == 0
    assert cli("costs", "add", "staff-time", "3200", "EUR").code == 0
    out = tmp_path / "r.json"
    assert cli("report", "--format", "json", "--out", str(out)).code == 0
    report = report_mod.Report.model_validate_json(out.read_text(encoding="utf-8"))
    totals = {(t.category, t.currency): t.amount for t in report.recovery.cost_totals}
    assert totals == {
        ("forensic-services", "USD"): "75000",
        ("staff-time", "EUR"): "3200",
        ("all categories", "EUR"): "3200",
        ("all categories", "USD"): "75000",
    }
    assert report.recovery.costs_booked == 2
    assert [(b.category, b.remaining, b.over) for b in report.recovery.budgets] == [("*", "125000", False)]
    md = tmp_path / "r.md"
    assert cli("report", "--format", "md", "--out", str(md)).code == 0
    text = md.read_text(encoding="utf-8")
    assert "## Remediation and recovery: costs" in text and "| forensic-services | 75,000.00 USD | 1 |" in text
    assert "## Remediation and recovery: budget" in text and "125,000.00 USD" in text
    assert "## Remediation and recovery: fine ranges per applicable regime" in text
    html = tmp_path / "r.html"
    assert cli("report", "--format", "html", "--out", str(html)).code == 0
    page = html.read_text(encoding="utf-8")
    section = page[page.index('<section id="recovery">') :]
    text = " ".join(re.sub(r"<[^>]+>", " ", section[: section.index("</section>")]).split())  # what a reader sees
    assert "Costs" in text and "75,000.00 USD" in text and "125,000.00 USD" in text
    assert "Just-in-time grants" in text


def test_every_fine_in_the_table_names_a_regime_of_the_rule_table() -> None:
    from app.deadlines import load_rules

    regimes = {r.regime for r in load_rules()}
    assert {f.regime for f in load_fines()} <= regimes
