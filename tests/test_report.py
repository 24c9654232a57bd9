"""The audit report in all three formats: HTML parses and loads nothing from outside, escapes what responders
wrote; JSON validates against the model and carries its own hash; the root in the report is the one `journal
verify` accepts as an anchor; report.generated journals the file's hash; the population export re-runs."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from app import checklist as cl
from app import report as report_mod
from app.checklist import controls as catalogue
from app.composition.workspace import Workspace

HOSTILE = '<script>alert("x")</script> & <img src=http://evil.example/x.png>'


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.stack: list[str] = []
        self.text: list[str] = []
        self.style = ""
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs
        if tag not in ("meta", "br", "img", "link", "input", "hr"):
            self.stack.append(tag)
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        self.stack.pop()
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.style += data
        else:
            self.text.append(data)


@pytest.fixture
def incident_id(cli: Any, tmp_path: Path) -> str:
    """An incident with facts, checklist work with evidence, custody, a draft, a sent notice and a hostile note."""
    iid = cli.new("Drift token theft")
    assert cli("facts", "set", "aware", "2026-11-27T09:00:00Z").code == 0
    assert cli("facts", "set", "residents.DE", "9800").code == 0
    vendor = tmp_path / "vendor-email.eml"
    vendor.write_text("From: vendor\nSubject: tokens revoked\n", encoding="utf-8")
    added = cli("evidence", "add", str(vendor), "--note", "the vendor's email")
    assert added.code == 0, added.err
    evidence_id = re.search(r"\b[0-9a-f]{12}\b", added.out).group(0)
    assert cli("checklist", "set", "detect.awareness", "done", "--evidence", evidence_id).code == 0
    assert cli("checklist", "set", "detect.commander", "done", "--note", "alex commands").code == 0
    assert cli("evidence", "custody", evidence_id, "verified").code == 0
    assert cli("note", HOSTILE).code == 0
    assert cli("notify", "draft", "eu-gdpr-art33-sa").code == 0
    assert (
        cli("notify", "sent", "eu-gdpr-art33-sa", "--at", "2026-11-27T09:00:00Z", "--evidence", evidence_id).code == 0
    )
    return iid


def _open(cli: Any, incident_id: str) -> Any:
    return Workspace(cli.home, cli.clock, cli.keyring).open(incident_id)


def _report(cli: Any, fmt: str, out: Path) -> str:
    result = cli("report", "--format", fmt, "--out", str(out))
    assert result.code == 0, result.err
    return out.read_text(encoding="utf-8")


def test_html_is_one_self_contained_printable_file(cli: Any, incident_id: str, tmp_path: Path) -> None:
    text = _report(cli, "html", tmp_path / "r.html")
    parser = _Collector()
    parser.feed(text)
    parser.close()
    assert parser.stack == ["html"] or parser.stack == []  # every element closed (html may stay open to EOF)
    assert {"html", "head", "style", "body", "table"} <= set(parser.tags)
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(parser.tags)
    for name, value in parser.attrs:
        assert name not in ("src", "href", "srcset", "action"), (name, value)
    assert "@import" not in parser.style and "url(" not in parser.style
    assert "@media print" in parser.style and "@page" in parser.style
    assert not re.search(r"(?i)<[^>]*\b(src|href)\s*=", text)
    # The hostile note is shown as text, escaped, never as markup.
    assert HOSTILE in "".join(parser.text)
    assert "&lt;script&gt;" in text and "<script>" not in text


def test_json_validates_against_the_model_and_carries_its_hash(cli: Any, incident_id: str, tmp_path: Path) -> None:
    text = _report(cli, "json", tmp_path / "r.json")
    report = report_mod.Report.model_validate_json(text)
    assert report.incident_id == incident_id
    assert report.report_sha256 == report.content_hash()
    tampered = report.model_copy(update={"title": "something else"})
    assert tampered.content_hash() != report.report_sha256
    kinds = [t.kind for t in report.timeline]
    assert kinds[0] == "genesis" and "checklist.state" in kinds and "notification.sent" in kinds
    assert [t.seq for t in report.timeline] == list(range(1, report.journal.size + 1))
    facts = [t for t in report.timeline if t.kind == "facts.set"]
    assert facts[0].after == "2026-11-27T09:00:00Z"
    states = [t for t in report.timeline if t.kind == "checklist.state"]
    assert states[0].before == "todo" and states[0].after == "done"


def test_report_root_matches_journal_verify(cli: Any, incident_id: str, tmp_path: Path) -> None:
    text = _report(cli, "json", tmp_path / "r.json")
    report = json.loads(text)
    j = report["journal"]
    assert j["verified"] is True and j["anchor"] == f"{j['size']}:{j['root']}"
    verified = cli("journal", "verify", "--anchor", j["anchor"], "--json")
    assert verified.code == 0, verified.out
    assert verified.json()["ok"] is True and verified.json()["anchors_checked"] == 1
    wrong = j["root"][:-1] + ("0" if j["root"][-1] != "0" else "1")
    assert cli("journal", "verify", "--anchor", f"{j['size']}:{wrong}").code == 1
    with _open(cli, incident_id) as incident:
        entry = incident.journal.last("report.generated")
    assert entry is not None and entry.seq == j["size"] + 1  # the report covers everything before its own entry
    assert entry.data["sha256"] == hashlib.sha256((tmp_path / "r.json").read_bytes()).hexdigest()
    assert entry.data["root"] == j["root"] and entry.data["report_sha256"] == report["report_sha256"]


def test_markdown_has_every_section(cli: Any, incident_id: str, tmp_path: Path) -> None:
    text = _report(cli, "md", tmp_path / "r.md")
    for heading in (
        "Journal integrity",
        "Notification clocks and notices",
        "Containment",
        "Control table (SOC 2 and ISO/IEC 27001:2022)",
        "Evidence and custody",
        "What was read (exfiltration table)",
        "Open items",
        "Timeline (every journal entry)",
    ):
        assert f"## {heading}" in text
    assert "\\<script" not in text and HOSTILE.replace("|", "\\|") in text
    printed = cli("report")
    assert printed.code == 0 and printed.out.startswith(f"# Incident report: {incident_id}")


def test_control_table_maps_items_actions_and_evidence(cli: Any, incident_id: str) -> None:
    with _open(cli, incident_id) as incident:
        report = report_mod.build_report(incident, "auditor")
        checklist = cl.incident_checklist(incident)
    rows = {(r.framework, r.control): r for r in report.controls}
    assert {fw for fw, _ in rows} == {"soc2", "iso27001"}
    awareness = checklist.item("detect.awareness")
    evidence = next(e.evidence_id for e in report.evidence if e.name == "vendor-email.eml")
    for framework, control in awareness.controls.pairs():
        if framework not in ("soc2", "iso27001"):
            continue
        row = rows[(framework, control)]
        assert row.title == catalogue.control_title(framework, control)
        assert row.served and any(i.id == "detect.awareness" and i.state == "done" for i in row.items)
        assert evidence in row.evidence
    served = {r.control for r in report.controls if r.served}
    unserved = [r for r in report.controls if not r.served]
    assert served and unserved  # items not yet done leave their controls open
    # Evidence rows carry hashes and custody; the verified custody event re-hashed and matched.
    row = next(e for e in report.evidence if e.evidence_id == evidence)
    assert len(row.sha256) == 64 and [c.action for c in row.custody] == ["verified"] and row.custody[0].match
    clock = next(c for c in report.clocks if c.rule == "eu-gdpr-art33-sa")
    assert clock.notified_utc == "2026-11-27T09:00:00Z" and clock.late is False and clock.draft is not None
    assert any(o.kind == "checklist" and o.id == "contain.revoke-tokens" for o in report.open_items)


def test_population_export_is_the_query_it_prints(cli: Any, incident_id: str, tmp_path: Path) -> None:
    out = tmp_path / "population.csv"
    result = cli("export-population", "--prefix", "checklist.", "--out", str(out))
    assert result.code == 0, result.err
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert list(rows[0]) == list(report_mod.POPULATION_COLUMNS)
    with _open(cli, incident_id) as incident:
        expected = [e for e in incident.journal.entries(prefix="checklist.")]
    assert [int(r["seq"]) for r in rows] == [e.seq for e in expected]
    assert [r["entry_hash"] for r in rows] == [e.entry_hash for e in expected]
    assert json.loads(rows[-1]["data"]) == expected[-1].data
    assert f"rows: {len(rows)}" in result.out and "query: SELECT" in result.out and "verify: intact" in result.out
    to_stdout = cli("export-population", "--kind", "note")
    assert to_stdout.code == 0 and to_stdout.out.startswith("seq,recorded_utc,kind")
    assert "rows: 1" in to_stdout.err
    assert cli("export-population", "--kind", "note", "--prefix", "x").code == 2


def test_report_on_a_damaged_journal_says_so(cli: Any, incident_id: str, tmp_path: Path) -> None:
    import sqlite3

    with _open(cli, incident_id) as incident:
        path = incident.journal.path
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER entries_no_update")
    conn.execute("UPDATE entries SET actor = 'someone else' WHERE seq = 3")
    conn.commit()
    conn.close()
    result = cli("report", "--format", "json", "--out", str(tmp_path / "r.json"))
    assert result.code == 1 and "VERIFICATION FAILED" in result.out
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert report["journal"]["verified"] is False and "INTEGRITY FAILURE" in report["journal"]["verify_message"]


def test_pdf_without_a_browser_writes_the_html_and_says_how_to_install_one(
    cli: Any, incident_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-browser-here"))
    target = tmp_path / "r.pdf"
    result = cli("report", "--format", "pdf", "--out", str(target))
    assert result.code == 3, result.err
    assert not target.exists()
    assert target.with_suffix(".html").read_text("utf-8").startswith("<!DOCTYPE html>")
    assert "no headless browser" in result.err and "apt-get install chromium" in result.err
    with _open(cli, incident_id) as incident:
        entry = incident.journal.last("report.generated")
    assert entry is not None and entry.data["format"] == "html" and entry.data["requested"] == "pdf"
    assert cli("report", "--format", "pdf").code == 2  # a PDF needs --out


def test_a_custom_template_replaces_the_layout(cli: Any, incident_id: str, tmp_path: Path) -> None:
    own = tmp_path / "acme.html.j2"
    own.write_text(
        "<!DOCTYPE html><html><head><title>ACME {{ report.incident_id }}</title></head><body>"
        "<h1>ACME breach file {{ report.incident_id }}</h1><p>{{ journal.root }}</p>"
        "{% for n in report.timeline %}<i>{{ n.summary }}</i>{% endfor %}{{ pictures.clocks }}</body></html>\n",
        encoding="utf-8",
    )
    out = tmp_path / "r.html"
    result = cli("report", "--format", "html", "--template", str(own), "--out", str(out))
    assert result.code == 0, result.err
    text = out.read_text("utf-8")
    assert text.startswith("<!DOCTYPE html><html><head><title>ACME ") and "Executive summary" not in text
    assert "<svg" in text and "Notification clocks" in text
    assert "&lt;script&gt;" in text and "<script>" not in text  # still escaped: the hostile note
    with _open(cli, incident_id) as incident:
        entry = incident.journal.last("report.generated")
    assert entry is not None and entry.data["template"] == str(own)
    assert hashlib.sha256(out.read_bytes()).hexdigest() == entry.data["sha256"]


def test_a_custom_template_can_extend_the_shipped_one(cli: Any, incident_id: str, tmp_path: Path) -> None:
    own = tmp_path / "branded.html.j2"
    own.write_text(
        '{% extends "report.html.j2" %}{% block cover %}<div class="cover"><h1>ACME Corp</h1>{{ journal.short_root }}'
        "</div>{% endblock %}\n",
        encoding="utf-8",
    )
    result = cli("report", "--format", "html", "--template", str(own))
    assert result.code == 0, result.err
    assert "ACME Corp" in result.out and "Executive summary" in result.out and "Root, to read aloud" not in result.out
    assert cli("report", "--format", "md", "--template", str(own)).code == 2  # a layout is for HTML and PDF


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{{ report.no_such_field }}", "bad.html.j2:1: "),
        ("{% for x in report.timeline %}", "bad.html.j2:1: "),
        ("{{ report.__class__.__mro__ }}", "unsafe"),
    ],
)
def test_a_bad_template_is_refused_with_its_name(
    cli: Any, incident_id: str, tmp_path: Path, body: str, message: str
) -> None:
    own = tmp_path / "bad.html.j2"
    own.write_text(body + "\n", encoding="utf-8")
    result = cli("report", "--format", "html", "--template", str(own), "--out", str(tmp_path / "r.html"))
    assert result.code == 2
    assert "bad.html.j2" in result.err and message in result.err
    assert not (tmp_path / "r.html").exists()


def test_a_template_that_is_not_text_is_refused(cli: Any, incident_id: str, tmp_path: Path) -> None:
    own = tmp_path / "latin1.html.j2"
    own.write_bytes("<p>caf\xe9</p>".encode("latin-1"))
    result = cli("report", "--format", "html", "--template", str(own))
    assert result.code == 2 and "latin1.html.j2" in result.err and "UTF-8" in result.err


def test_the_workspace_config_sets_the_layout(cli: Any, incident_id: str, tmp_path: Path) -> None:
    (cli.home / "layouts").mkdir()
    (cli.home / "layouts" / "org.html.j2").write_text(
        '{% extends "report.html.j2" %}{% block cover %}<h1>Org layout on {{ paper }}</h1>{% endblock %}\n',
        encoding="utf-8",
    )
    (cli.home / "config.toml").write_text(
        '[report]\ntemplate = "layouts/org.html.j2"\npaper = "letter"\n', encoding="utf-8"
    )
    result = cli("report", "--format", "html")
    assert result.code == 0, result.err
    assert "Org layout on letter" in result.out and "size: letter landscape" in result.out
    assert "Org layout on a4" in cli("report", "--format", "html", "--paper", "a4").out
    (cli.home / "config.toml").write_text('[report]\npaper = "tabloid"\n', encoding="utf-8")
    bad = cli("report", "--format", "html")
    assert bad.code == 2 and "[report] paper" in bad.err


def test_html_carries_the_remediation_and_recovery_tables(cli: Any, incident_id: str) -> None:
    assert cli("costs", "budget", "200000", "USD").code == 0
    assert cli("costs", "add", "forensic-services", "75000", "USD", "--vendor", "Acme DFIR").code == 0
    result = cli("report", "--format", "html")
    assert result.code == 0, result.err
    section = re.sub(r"<[^>]+>", "", result.out.split('<section id="recovery">', 1)[1].split("</section>", 1)[0])
    assert "Costs" in section and "forensic-services" in section and "75,000.00 USD" in section
    assert "125,000.00 USD" in section and "Fine ranges per applicable regime" in section
