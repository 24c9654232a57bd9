"""Notice drafts: every shipped template loads and every rule finds one; the GDPR Art. 33 draft holds each
Art. 33(3) element or a visibly marked gap; details, facts and sent notices fill it; `notify draft` stores the
draft as evidence and journals its hash."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from app import deadlines as dl
from app import notify
from app.composition.workspace import Workspace

ART33_ELEMENTS = ("Art. 33(3)(a)", "Art. 33(3)(b)", "Art. 33(3)(c)", "Art. 33(3)(d)")
# What each Art. 33(3) element must carry (the fields its sections draw on).
ART33_FIELDS = {
    "Art. 33(3)(a)": ("breach.nature", "subjects.categories", "subjects.count", "records.categories", "records.count"),
    "Art. 33(3)(b)": ("dpo.contact",),
    "Art. 33(3)(c)": ("consequences",),
    "Art. 33(3)(d)": ("measures.taken", "measures.proposed"),
}


def _sections(text: str) -> dict[str, str]:
    """Markdown section heading -> body."""
    parts = re.split(r"^## ", text, flags=re.M)[1:]
    return {p.split("\n", 1)[0]: p.split("\n", 1)[1] if "\n" in p else "" for p in parts}


def _open(cli: Any, incident_id: str) -> Any:
    return Workspace(cli.home, cli.clock, cli.keyring).open(incident_id)


def test_every_template_loads_and_every_rule_has_one() -> None:
    templates = notify.load_templates()
    assert {
        "gdpr-art33",
        "gdpr-art34",
        "uk-ico",
        "us-ca-individuals",
        "us-ca-ag",
        "us-state-individuals",
        "us-state-ag",
        "sec-8k-item105",
        "nydfs-500-17",
        "br-lgpd",
        "hipaa",
        "generic",
    } <= {t.id for t in templates}
    for rule in dl.load_rules():
        assert notify.template_for(rule.id, templates).id
    expected = {
        "eu-gdpr-art33-sa": "gdpr-art33",
        "eu-gdpr-art34-individuals": "gdpr-art34",
        "uk-gdpr-art33-ico": "uk-ico",
        "uk-gdpr-art34-individuals": "gdpr-art34",
        "us-ca-individuals": "us-ca-individuals",
        "us-ca-ag": "us-ca-ag",
        "us-tx-individuals": "us-state-individuals",
        "us-tx-ag": "us-state-ag",
        "us-sec-8k-item105": "sec-8k-item105",
        "us-nydfs-500-17a": "nydfs-500-17",
        "br-lgpd-anpd": "br-lgpd",
        "us-hipaa-individuals": "hipaa",
        "us-hipaa-hhs-500plus": "hipaa",
        "ca-pipeda-opc": "generic",
    }
    for rule_id, template_id in expected.items():
        assert notify.template_for(rule_id, templates).id == template_id, rule_id


def test_gdpr_art33_draft_has_every_element_or_a_marked_gap(cli: Any) -> None:
    incident_id = cli.new("Drift token theft")
    with _open(cli, incident_id) as incident:
        draft = notify.draft_notice(incident, "eu-gdpr-art33-sa")
    template = notify.template_for("eu-gdpr-art33-sa", notify.load_templates())
    by_requirement = {s.requirement: s for s in template.sections}
    for element in ART33_ELEMENTS:
        assert element in by_requirement, element
    sections = _sections(draft.text)
    gap_fields = {g.field for g in draft.gaps}
    for element, fields in ART33_FIELDS.items():
        bodies = [sections[s.heading] for s in template.sections if s.requirement == element]
        assert bodies and all(f"Required by {element}." in b for b in bodies)
        for field in fields:
            label = notify.FIELDS[field].label
            filled = field not in gap_fields
            assert filled or any(f"[[GAP: {label}]]" in b for b in bodies), (element, field)
    # A bare incident knows none of these: each is a visible gap, listed again at the end.
    for field in ("dpo.contact", "consequences", "subjects.count", "records.categories", "breach.nature"):
        assert field in gap_fields
    listed = sections["Gaps to fill before sending"]
    for gap in draft.gaps:
        assert gap.label in listed and f"[[GAP: {gap.label}]]" in draft.text
    assert draft.sha256 == hashlib.sha256(draft.text.encode()).hexdigest()


def test_details_facts_and_actions_fill_the_art33_draft(cli: Any) -> None:
    incident_id = cli.new("Drift token theft")
    for key, value in (
        ("detected", "2026-11-27T07:30:00Z"),
        ("aware", "2026-11-27T08:00:00Z"),
        ("residents.DE", "9800"),
        ("residents.FR", "6300"),
        ("categories", "contact,credentials"),
    ):
        assert cli("facts", "set", key, value).code == 0
    details = {
        "dpo.name": "Pat Doyle",
        "dpo.contact": "dpo@acme.example",
        "controller.name": "Acme Corp",
        "controller.address": "1 Market Street, Dublin",
        "controller.contact": "privacy@acme.example",
        "controller.registration": "CRO 612345",
        "subjects.categories": "customers",
        "consequences": "phishing of the people named",
        "measures.proposed": "least-privilege integrations",
        "nature": "A vendor's OAuth tokens were used to read our CRM.",
        "records.count": "about 31,000",
    }
    for key, value in details.items():
        assert cli("notify", "detail", key, value).code == 0, key
    assert "unchanged" in cli("notify", "detail", "dpo.name", "Pat Doyle").out
    cli.clock.advance(timedelta(hours=2))
    with _open(cli, incident_id) as incident:
        incident.journal.append(
            "checklist.state",
            {
                "item": "contain.revoke-tokens",
                "state": "done",
                "previous": "todo",
                "note": None,
                "evidence": [],
                "reason": None,
            },
            "tester",
        )
        draft = notify.draft_notice(incident, "eu-gdpr-art33-sa")
    # Only the period of access is left: it comes from the exfiltration table, which needs a recorded hunt.
    assert [g.field for g in draft.gaps] == ["breach.period"]
    text = draft.text
    for value in (
        "dpo@acme.example",
        "phishing of the people named",
        "approximately 16,100",
        "DE: 9,800",
        "authentication data",
        "about 31,000",
        "Revoke every OAuth token",
        "2026-11-30T08:00:00Z",
    ):
        assert value in text, value
    assert "Not applicable: this notice is given before its deadline" in text
    assert text.count("[[GAP:") == 1  # breach.period, in the text (and named in the list of gaps)


def test_late_notice_needs_reasons_for_the_delay(cli: Any) -> None:
    cli.new("Old breach")
    assert cli("facts", "set", "aware", "2026-11-20T09:00:00Z").code == 0
    assert cli("facts", "set", "residents.DE", "10").code == 0
    with _open(cli, cli("list", "--json").json()[-1]["id"]) as incident:
        draft = notify.draft_notice(incident, "eu-gdpr-art33-sa")
        assert "delay.reasons" in {g.field for g in draft.gaps}
        notify.set_detail(incident, "delay.reasons", "forensic scoping of a multi-org breach", "tester")
        draft = notify.draft_notice(incident, "eu-gdpr-art33-sa")
    assert "delay.reasons" not in {g.field for g in draft.gaps}
    assert "forensic scoping of a multi-org breach" in draft.text


def test_california_notice_has_the_statutory_headings_and_ag_copy_refers_to_it(cli: Any) -> None:
    cli.new("Contacts exported")
    assert cli("facts", "set", "residents.US-CA", "48200").code == 0
    with _open(cli, cli("list", "--json").json()[-1]["id"]) as incident:
        consumer = notify.draft_notice(incident, "us-ca-individuals")
        ag = notify.draft_notice(incident, "us-ca-ag")
    assert consumer.title == "Notice of Data Breach"
    headings = list(_sections(consumer.text))
    assert headings[:6] == [
        "What Happened?",
        "What Information Was Involved?",
        "What We Are Doing.",
        "What You Can Do.",
        "Other Important Information.",
        "For More Information.",
    ]
    assert "individuals.notice" in {g.field for g in ag.gaps}
    assert "48,200" in ag.text


def test_notify_draft_command_stores_and_journals_the_draft(cli: Any, tmp_path: Path) -> None:
    incident_id = cli.new("Drift token theft")
    out = tmp_path / "art33.md"
    result = cli("notify", "draft", "eu-gdpr-art33-sa", "--out", str(out))
    assert result.code == 0, result.err
    data = out.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    assert sha in result.out and "gap(s)" in result.out
    with _open(cli, incident_id) as incident:
        entry = incident.journal.last("notify.drafted")
        assert entry is not None
        assert entry.data["sha256"] == sha and entry.data["rule"] == "eu-gdpr-art33-sa"
        assert entry.data["gaps"]
        stored = incident.evidence.path_for(sha)
        assert stored.read_bytes() == data
        assert incident.journal.get_state("notice.drafts", "eu-gdpr-art33-sa")["evidence_id"] == sha[:12]
    as_json = cli("notify", "draft", "uk-gdpr-art33-ico", "--json").json()
    assert as_json["template"] == "uk-ico" and as_json["evidence_id"] and as_json["gaps"]
    assert cli("notify", "draft", "no-such-rule").code == 2


def test_notice_detail_command_lists_refuses_and_clears(cli: Any) -> None:
    cli.new("x")
    listed = cli("notify", "detail")
    assert listed.code == 0 and "dpo.contact" in listed.out
    bad = cli("notify", "detail", "dpo.phone", "1")
    assert bad.code == 2 and "unknown notice detail" in bad.err
    assert cli("notify", "detail", "dpo.contact", "dpo@x.example").code == 0
    assert "dpo@x.example" in cli("notify", "detail").out
    assert "unset" in cli("notify", "detail", "dpo.contact", "none").out


def test_workspace_defaults_fill_organisation_details(cli: Any) -> None:
    (cli.home / "config.toml").write_text('[notice]\n"dpo.contact" = "dpo@defaults.example"\n', encoding="utf-8")
    cli.new("x")
    result = cli("notify", "draft", "eu-gdpr-art33-sa")
    assert result.code == 0, result.err
    assert "dpo@defaults.example" in result.out


def test_bad_template_is_refused_at_its_line(tmp_path: Path) -> None:
    good = (notify.notices_dir() / "generic.toml").read_text(encoding="utf-8")
    bad = good.replace("{{consequences}}", "{{consequence}}", 1)
    path = tmp_path / "generic.toml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(
        notify.NoticeError, match=rf"{re.escape(str(path))}:\d+:\d+: sections\[\d\]\.text: unknown field"
    ):
        notify.load_template(path)
    path.write_text(good.replace("law = ", "lawe = ", 1), encoding="utf-8")
    line = good[: good.index("law = ")].count("\n") + 1
    with pytest.raises(notify.NoticeError, match=rf":{line}:1: lawe: unknown key \(did you mean 'law'\?\)"):
        notify.load_template(path)
