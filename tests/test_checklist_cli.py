"""`warroom checklist status|set` against real incident journals: state survives a restart, shows in the journal,
replays in verify; refusals record nothing; an incident remembers the checklist file it follows."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from app import checklist as ck
from tests.conftest import CLI

ORG = """\
schema = 1
title = "Acme runbook"
version = "acme-1"
extends = "builtin"

[[items]]
id = "contain.page-mssp"
phase = "contain"
title = "Page the managed SOC"
why = "The MSSP holds the SIEM."
owner = "security_engineer"
due = "PT30M"
steps = ["Call the MSSP hotline and quote the incident id."]
evidence = ["journal: note with the MSSP ticket number"]
[items.controls]
soc2 = ["CC7.2"]
iso27001 = ["A.8.16"]
nist_csf = ["DE.CM-03"]
"""


def journal_size(cli: CLI) -> int:
    return len(cli("journal", "show", "--json").json())


def test_state_change_survives_restart_and_shows_in_the_journal(cli: CLI) -> None:
    incident = cli.new()
    result = cli("checklist", "set", "contain.revoke-tokens", "in-progress", "--note", "revoking Drift tokens")
    assert result.code == 0, result.err
    assert "contain.revoke-tokens: todo -> in_progress" in result.out

    # a fresh process-equivalent: new CLI object, same workspace, journal reopened from disk
    again = CLI(cli.home, cli.clock, cli.keyring)
    status = again("checklist", "status", "--incident", incident, "--json").json()
    row = next(i for i in status["items"] if i["id"] == "contain.revoke-tokens")
    assert row["state"] == "in_progress" and row["note"] == "revoking Drift tokens"
    assert row["updated_by"] == "tester"

    shown = again("journal", "show", "--kind", "checklist.*")
    assert shown.code == 0
    assert "checklist.state" in shown.out and "checklist.source" in shown.out
    entries = again("journal", "show", "--kind", "checklist.state", "--json").json()
    assert entries[-1]["data"] == {
        "item": "contain.revoke-tokens",
        "state": "in_progress",
        "previous": "todo",
        "note": "revoking Drift tokens",
        "evidence": [],
        "reason": None,
    }
    verify = again("journal", "verify", "--incident", incident)
    assert verify.code == 0, verify.out + verify.err


def test_set_records_previous_state_and_accumulates_evidence(cli: CLI, tmp_path: Path) -> None:
    cli.new()
    shot = tmp_path / "oauth-usage-blocked.png"
    shot.write_bytes(b"\x89PNG fake screenshot")
    added = cli("evidence", "add", str(shot), "--note", "Connected Apps OAuth Usage: Drift blocked")
    assert added.code == 0, added.err
    evidence_id = added.out.split()[0]
    assert cli("checklist", "set", "contain.block-apps", "in_progress").code == 0
    result = cli("checklist", "set", "contain.block-apps", "done", "--evidence", evidence_id, "--note", "blocked")
    assert result.code == 0, result.err
    assert "in_progress -> done" in result.out
    # full sha256 prefixes are accepted and normalised to the evidence id
    more = cli("checklist", "set", "contain.block-apps", "done", "--note", "re-checked")
    assert more.code == 0
    row = next(i for i in cli("checklist", "status", "--json").json()["items"] if i["id"] == "contain.block-apps")
    assert row["state"] == "done" and row["evidence"] == [evidence_id] and row["note"] == "re-checked"
    assert row["done_utc"] == "2026-11-27T09:00:00Z"


def test_refusals_record_nothing(cli: CLI) -> None:
    cli.new()
    cli("checklist", "status")  # records checklist.source once
    before = journal_size(cli)

    result = cli("checklist", "set", "contain.revoke-tokens", "not_applicable")
    assert result.code == 2 and "not_applicable needs a reason" in result.err

    result = cli("checklist", "set", "contain.revoke-token", "done")
    assert result.code == 2 and "no checklist item 'contain.revoke-token'" in result.err

    result = cli("checklist", "set", "contain.revoke-tokens", "done", "--evidence", "0123456789ab")
    assert result.code == 2 and "0123456789ab" in result.err

    result = cli("checklist", "set", "contain.revoke-tokens", "finished")
    assert result.code == 2 and "unknown state 'finished'" in result.err

    result = cli("checklist", "set", "contain.revoke-tokens", "todo")
    assert result.code == 2 and "already todo" in result.err

    assert journal_size(cli) == before


def test_not_applicable_with_reason(cli: CLI) -> None:
    cli.new()
    result = cli("checklist", "set", "scope.pattern-salesforce-connect", "n/a", "--note", "no external data sources")
    assert result.code == 0, result.err
    status = cli("checklist", "status", "--json").json()
    row = next(i for i in status["items"] if i["id"] == "scope.pattern-salesforce-connect")
    assert row["state"] == "not_applicable" and row["reason"] == "no external data sources"
    assert status["not_applicable"] == 1


def test_overdue_and_progress_follow_the_clock(cli: CLI) -> None:
    cli.new()  # declared at the frozen T0, 09:00Z
    assert cli("checklist", "set", "detect.commander", "done").code == 0
    status = cli("checklist", "status", "--json").json()
    assert status["overdue"] == [] and status["done"] == 1
    assert status["next_due"] == "detect.awareness"  # PT30M; detect.commander (PT15M) is done

    cli.clock.advance(timedelta(minutes=61))
    status = cli("checklist", "status", "--json").json()
    assert "detect.awareness" in status["overdue"] and "escalate.legal" in status["overdue"]
    assert "detect.commander" not in status["overdue"]
    detect = next(p for p in status["phases"] if p["id"] == "detect")
    # awareness (PT30M), affected orgs and severity (PT1H) are late; indicators (PT2H) are not yet
    assert detect["done"] == 1 and detect["total"] == 5 and detect["overdue"] == 3

    text = cli("checklist", "status")
    assert text.code == 0
    assert "OVERDUE" in text.out and "Detect and declare  1/5, 3 overdue" in text.out
    assert "[x] detect.commander" in text.out


def test_incident_remembers_its_checklist_file(cli: CLI, tmp_path: Path) -> None:
    cli.new()
    org = tmp_path / "acme.toml"
    org.write_text(ORG, encoding="utf-8")
    result = cli("checklist", "set", "contain.page-mssp", "done", "--checklist", str(org))
    assert result.code == 0, result.err

    sources = cli("journal", "show", "--kind", "checklist.source", "--json").json()
    assert len(sources) == 1
    data = sources[0]["data"]
    assert data["path"] == str(org.resolve()) and data["version"] == "acme-1"
    assert data["layers"][0]["path"] == ck.BUILTIN and len(data["sha256"]) == 64

    # no --checklist: the recorded file is used, and nothing new is journaled
    status = cli("checklist", "status", "--json").json()
    assert status["checklist_path"] == str(org.resolve())
    assert any(i["id"] == "contain.page-mssp" and i["state"] == "done" for i in status["items"])
    assert len(cli("journal", "show", "--kind", "checklist.source", "--json").json()) == 1

    # the file changes: the new content is used and recorded again
    org.write_text(ORG.replace('due = "PT30M"', 'due = "PT20M"'), encoding="utf-8")
    assert cli("checklist", "status").code == 0
    sources = cli("journal", "show", "--kind", "checklist.source", "--json").json()
    assert len(sources) == 2 and sources[1]["data"]["sha256"] != sources[0]["data"]["sha256"]

    # the file disappears: the copy kept in the incident is used
    org.unlink()
    status = cli("checklist", "status", "--json")
    assert status.code == 0, status.err
    row = next(i for i in status.json()["items"] if i["id"] == "contain.page-mssp")
    assert row["due"] == "PT20M"


def test_status_with_an_invalid_checklist_names_the_problem(cli: CLI, tmp_path: Path) -> None:
    cli.new()
    bad = tmp_path / "bad.toml"
    text = ORG.replace('due = "PT30M"', 'due = "half an hour"')
    bad.write_text(text, encoding="utf-8")
    line = text.splitlines().index('due = "half an hour"') + 1
    result = cli("checklist", "status", "--checklist", str(bad))
    assert result.code == 1
    lines = result.err.splitlines()
    assert lines[0] == f"warroom: checklist {bad} is not usable (1 problem):"
    assert lines[1].startswith(f"{bad}:{line}:7: items[0].due: bad duration")
    assert cli("journal", "show", "--kind", "checklist.source", "--json").json() == []


def test_status_text_lists_every_phase(cli: CLI) -> None:
    cli.new("Drift token theft")
    result = cli("checklist", "status")
    assert result.code == 0, result.err
    for title in (
        "Detect and declare",
        "Immediate containment",
        "Escalation",
        "Forensics and preservation",
        "Scope",
        "Technical remediation",
        "Compliance alignment",
        "Notification",
        "Recovery",
        "Review",
    ):
        assert f"\n{title}  0/" in result.out
    assert "Drift token theft" in result.out and "built-in" in result.out
