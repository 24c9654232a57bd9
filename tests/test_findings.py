"""Findings: the seeded chat-vendor theft (compromised tokens and every seeded failure pattern, checked against
the seed's truth table), hard-coded credentials in a repository's history, the text scanners, and each rule on
small hand-made snapshots."""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app import findings as fnd
from app import inventory as inv
from app.base.errors import UsageError
from app.base.sensitive import luhn_ok, scan_text
from app.findings.reposcan import scan_repo
from app.salesforce.client import Org
from app.salesforce.simlogin import sim_credentials
from app.simorg.server import SimOrg

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def sim() -> Iterator[SimOrg]:
    with SimOrg.start("chat-vendor-theft") as s:
        yield s


@pytest.fixture(scope="module")
def snap(sim: SimOrg) -> inv.Snapshot:
    with Org.login(sim_credentials(sim.url, sim.ca_path)) as org:
        return inv.pull(org, alias="sim")


@pytest.fixture(scope="module")
def found(snap: inv.Snapshot) -> list[fnd.Finding]:
    return fnd.evaluate(snap)


def _app_names(sim: SimOrg, keys: list[str]) -> set[str]:
    return {a.name for a in sim.seed.seed.connected_apps if a.key in keys}


def _usernames(sim: SimOrg, keys: list[str]) -> set[str]:
    return {u.username for u in sim.seed.seed.users if u.key in keys}


# --------------------------------------------------------------------------------------------------
# The seeded incident
# --------------------------------------------------------------------------------------------------


def test_findings_name_every_token_of_the_compromised_app(sim: SimOrg, found: list[fnd.Finding]) -> None:
    truth = sim.truth
    assert truth is not None
    compromised = _app_names(sim, truth.compromised_apps) | set(truth.compromised_app_names)
    flagged = {f.title.split(":")[0]: f for f in found if f.pattern == fnd.COMPROMISED_TOKENS}
    assert compromised <= set(flagged)
    for name in compromised:
        f = flagged[name]
        assert f.severity == "critical" and f.containment == "revoke_tokens"
        assert f.checklist_item == "contain.revoke-tokens"
        want = {
            inv.token_ref(r["DeleteToken"], None, None, None)
            for r in sim.store.rows("OauthToken")
            if r["AppName"] == name
        }
        assert {r.id for r in f.records if r.type == "OauthToken"} == want
    # Apps the truth table calls benign are not accused.
    assert not (_app_names(sim, truth.benign_apps) & set(flagged))


def test_compromised_users_get_session_and_freeze_findings(sim: SimOrg, found: list[fnd.Finding]) -> None:
    truth = sim.truth
    assert truth is not None
    for username in _usernames(sim, truth.compromised_users):
        mine = [f for f in found if f.pattern == fnd.COMPROMISED_USER and any(r.name == username for r in f.records)]
        assert {f.containment for f in mine} == {"end_sessions", "freeze_users"}
        assert {f.checklist_item for f in mine} == {"contain.end-sessions", "contain.freeze-users"}
        text = " ".join(d for f in mine for d in f.details)
        seen = [ip for ip in truth.attacker_ips if ip in text]
        assert len(seen) >= len(truth.attacker_ips) - 1  # every address the attacker logged in from


def test_every_seeded_failure_pattern_is_found(sim: SimOrg, found: list[fnd.Finding]) -> None:
    truth = sim.truth
    assert truth is not None and truth.patterns
    for pattern in truth.patterns:
        mine = [f for f in found if f.pattern == pattern.id]
        assert mine, f"no finding for seeded pattern {pattern.id}"
        # The finding points at the records the truth table names.
        names = {r.name for f in mine for r in f.records if r.name}
        assert any(n in pattern.evidence for n in names), (pattern.id, names)
        assert all(
            f.checklist_item == fnd.CHECKLIST[pattern.id]
            for f in mine
            if f.checklist_item != "remediate.debug-log-hygiene"
        )


def test_the_seeds_other_break_points_are_found(found: list[fnd.Finding]) -> None:
    tls = [f for f in found if f.pattern == fnd.NO_TLS]
    assert {r.type for f in tls for r in f.records} >= {"NamedCredential", "RemoteSiteSetting", "ExternalDataSource"}
    assert any(f.pattern == fnd.OPEN_SHARING and "Account" in f.title for f in found)
    assert any(f.pattern == fnd.FLS_EXPOSURE and any(r.id == "Contact.SSN__c" for r in f.records) for f in found)
    assert any(f.pattern == fnd.SELF_AUTHORIZED and "Drift" in f.title for f in found)
    pii = next(f for f in found if f.pattern == fnd.DEBUG_PII and "card" in f.title)
    text = " ".join(pii.details)
    assert "4111 1111 1111 1111" not in text and "1111" in text  # masked, last four only
    assert "078-05-1120" not in text


def test_findings_are_stable_and_serialisable(snap: inv.Snapshot, found: list[fnd.Finding]) -> None:
    again = fnd.evaluate(snap)
    assert [f.id for f in again] == [f.id for f in found]
    ranks = [fnd.SEVERITY_RANK[f.severity] for f in found]
    assert ranks == sorted(ranks)
    report = fnd.report(found)
    assert fnd.FindingsReport.model_validate_json(report.model_dump_json()).findings == found


def test_checklist_items_and_containment_actions_exist() -> None:
    data = tomllib.loads((ROOT / "checklist.toml").read_text(encoding="utf-8"))
    ids = {item["id"] for item in data.get("items", [])}
    used = set(fnd.CHECKLIST.values()) | {
        "contain.end-sessions",
        "contain.freeze-users",
        "remediate.debug-log-hygiene",
        "remediate.connected-app-hardening",
    }
    assert used <= ids, used - ids
    triggers = {t for item in data.get("items", []) for t in item.get("triggers", [])}
    assert triggers <= set(fnd.ContainmentAction.__args__)  # type: ignore[attr-defined]


def test_findings_cli_prints_records_and_journals_once(cli: Any, sim: SimOrg) -> None:
    cli.new()
    assert cli("inventory", "pull", "--org", "sim", "--instance-url", sim.url, "--ca", str(sim.ca_path)).code == 0
    r = cli("findings")
    assert r.code == 0, r.err
    assert "[CRITICAL] Drift:" in r.out and "contain.revoke-tokens" in r.out
    j = cli("findings", "--json")
    report = j.json()
    assert report["counts"]["critical"] >= 1 and report["snapshot"]["evidence_id"]
    from app.composition.workspace import Workspace

    with Workspace(cli.home, cli.clock, cli.keyring).open(None) as incident:
        entries = list(incident.journal.entries(kind="inventory.findings"))
        assert len(entries) == 1  # the same finding set is not journaled twice
        state = incident.journal.get_state("inventory", "findings")
        assert {i["id"] for i in state["items"]} == {f["id"] for f in report["findings"]}
    assert cli("journal", "verify").code == 0


def test_findings_without_a_snapshot_says_what_to_do(cli: Any) -> None:
    cli.new()
    r = cli("findings")
    assert r.code == 2 and "inventory pull" in r.err and "inventory import" in r.err


# --------------------------------------------------------------------------------------------------
# Hard-coded credentials in a repository and its history
# --------------------------------------------------------------------------------------------------

PASSWORD = "Tr0ub4dor&3-sync"
TOKEN = "AbCdEf123456GhIjKl"


def _git(repo: Path, *args: str) -> None:
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.com",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.com",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_SYSTEM=os.devnull,
    )
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "integration-scripts"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "README.md").write_text("nightly sync\n")
    (repo / "sync.py").write_text(
        "from simple_salesforce import Salesforce\n"
        "\n"
        f"sf = Salesforce(username='int@acme.example', password='{PASSWORD}', security_token='{TOKEN}')\n"
    )
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "first sync script")
    (repo / "sync.py").unlink()
    (repo / "sync.py").write_text("import os\nsf = connect(os.environ['SF_PASSWORD'])\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "read the password from the environment")
    return repo


def _head(repo: Path) -> str:
    out = subprocess.run(
        ["git", "-C", str(repo), "rev-list", "--max-parents=0", "HEAD"], check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


def test_scan_repo_finds_a_deleted_password_in_history(repo: Path) -> None:
    scan = scan_repo(repo)
    assert scan.history and scan.commits_scanned == 2
    found = fnd.evaluate_repo(scan)
    pw = next(f for f in found if "password" in f.title.lower())
    assert pw.pattern == fnd.HARD_CODED and pw.severity == "critical"
    assert pw.checklist_item == "scope.pattern-hardcoded-credentials"
    first = _head(repo)[:12]
    assert any(r.id == "sync.py:3" and r.name == f"commit {first} (added)" for r in pw.records)
    assert "history only" in pw.title and "int@acme.example" in pw.title
    assert pw.containment == "freeze_users" and any(
        r.type == "User" and r.name == "int@acme.example" for r in pw.records
    )
    dumped = pw.model_dump_json()
    assert PASSWORD not in dumped and PASSWORD[:3] in dumped  # masked
    token = next(f for f in found if "security token" in f.title)
    assert token.containment is None  # no app or user to act on: the answer is rotation


def test_findings_cli_scan_repo(cli: Any, repo: Path) -> None:
    cli.new()
    r = cli("findings", "--scan-repo", str(repo))
    assert r.code == 0, r.err
    assert "Salesforce password" in r.out and "sync.py:3 (commit " in r.out
    assert PASSWORD not in r.out and TOKEN not in r.out
    j = cli("findings", "--scan-repo", str(repo), "--json").json()
    assert j["repo_scans"][0]["history"] is True
    assert any(rec["id"] == "sync.py:3" for f in j["findings"] for rec in f["records"])
    assert cli("findings", "--scan-repo", str(repo / "missing")).code == 2


def test_scan_without_git_scans_files_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = tmp_path / "scripts"
    d.mkdir()
    (d / ".env").write_text(
        "SF_USERNAME=int@acme.example\nSF_PASSWORD=Winter2025!Sync\n"
        "SF_CLIENT_SECRET=8A1B2C3D4E5F60718293A4B5C6D7E8F9\n"
        "SFDX_AUTH_URL=force://PlatformCLI::5Aep861abcdefghijklmnopqrstuvwxyz0123456789ABCD"
        "@acme.my.salesforce.com\n"
    )
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    scan = scan_repo(d)
    assert not scan.history and any("git is not installed" in n for n in scan.notes)
    kinds = {h.kind for h in scan.hits}
    assert {"password", "consumer_secret", "sfdx_auth_url"} <= kinds
    sfdx = next(h for h in scan.hits if h.kind == "sfdx_auth_url")
    assert sfdx.masked == "force://****@acme.my.salesforce.com" and sfdx.line == 4


def test_placeholders_and_unrelated_passwords_are_not_reported(tmp_path: Path) -> None:
    d = tmp_path / "app"
    d.mkdir()
    (d / "settings.py").write_text(
        "DB_PASSWORD = 'postgres-local-1'\nSF_PASSWORD = os.environ['SF_PASSWORD']\npassword = '${SF_PASSWORD}'\n"
    )
    assert scan_repo(d, history=False).hits == []


# --------------------------------------------------------------------------------------------------
# Text scanners
# --------------------------------------------------------------------------------------------------


def test_luhn() -> None:
    assert luhn_ok("4111111111111111") and luhn_ok("5555555555554444") and luhn_ok("378282246310005")
    assert not luhn_ok("4111111111111112") and not luhn_ok("1234567890123456")


def test_scan_text_kinds_and_masks() -> None:
    text = (
        'payload={"email":"maria.gonzalez@customer.example","phone":"+1 (415) 555-0142","ssn":"078-05-1120"}\n'
        "card 4111 1111 1111 1111 and order 4111 1111 1111 1112 at 2025-08-17 11:11:00\n"
        "Authorization: Bearer 00D5e0000000001!AQ4AQFakeSimulatedSessionIdForDebugLogOnly.x8Hn2\n"
    )
    hits = list(scan_text(text))
    kinds = [h.kind for h in hits]
    assert kinds.count("card_number") == 1
    assert {"email", "phone_number", "national_id", "session_id"} <= set(kinds)
    assert all("maria" not in h.masked and "078-05" not in h.masked for h in hits)
    card = next(h for h in hits if h.kind == "card_number")
    assert card.line == 2 and card.masked.endswith("1111") and card.masked.startswith("*")


# --------------------------------------------------------------------------------------------------
# Rules on small snapshots
# --------------------------------------------------------------------------------------------------

TAKEN = "2025-08-20T09:00:00Z"


def _snap(**kw: Any) -> inv.Snapshot:
    base: dict[str, Any] = {"taken_utc": TAKEN, "source": {"kind": "org"}}
    base.update(kw)
    return inv.Snapshot.model_validate(base)


INT_USER = {
    "id": "005000000000001AAA",
    "username": "int@acme.example",
    "license": "Salesforce Integration",
    "profile_id": "00e000000000001AAA",
    "profile_name": "Minimum Access - API Only Integrations",
    "last_login": "2025-08-20T08:00:00.000+0000",
}


def test_stale_uninstalled_and_self_authorised_tokens() -> None:
    s = _snap(
        users=[INT_USER, {"id": "005000000000002AAA", "username": "rep@acme.example"}],
        connected_apps=[{"id": "0H4000000000001AAA", "name": "Old Sync", "admin_approved_only": False}],
        oauth_tokens=[
            {
                "ref": "a" * 20,
                "app_name": "Old Sync",
                "app_menu_item_id": "0DS000000000001AAA",
                "user_id": "005000000000001AAA",
                "created": "2024-01-01T00:00:00.000+0000",
                "last_used": "2025-01-01T00:00:00.000+0000",
                "use_count": 5,
            },
            {
                "ref": "b" * 20,
                "app_name": "My Helper Portal",
                "user_id": "005000000000002AAA",
                "created": "2025-08-19T00:00:00.000+0000",
                "last_used": "2025-08-20T08:00:00.000+0000",
                "use_count": 50,
            },
        ],
    )
    found = fnd.evaluate(s, indicators=fnd.Indicators())
    by = {f.pattern: f for f in found}
    assert by[fnd.STALE_TOKEN].records[0].id == "a" * 20 and by[fnd.STALE_TOKEN].containment == "revoke_tokens"
    assert {r.id for r in by[fnd.UNINSTALLED_APP].records} >= {"b" * 20, "005000000000002AAA"}
    assert by[fnd.SELF_AUTHORIZED].severity == "high"  # an integration user holds its token


def test_unexpected_ip_flags_the_apps_tokens() -> None:
    s = _snap(
        users=[INT_USER],
        oauth_tokens=[
            {
                "ref": "c" * 20,
                "app_name": "Sync",
                "app_menu_item_id": "0DS000000000001AAA",
                "user_id": "005000000000001AAA",
                "created": "2025-08-01T00:00:00.000+0000",
                "last_used": "2025-08-20T08:00:00.000+0000",
                "use_count": 5,
            }
        ],
        login_history=[
            {
                "id": "0Ya000000000001AAA",
                "user_id": "005000000000001AAA",
                "time": "2025-08-19T00:00:00.000+0000",
                "source_ip": "203.0.113.10",
                "application": "Sync",
                "status": "Success",
            },
            {
                "id": "0Ya000000000002AAA",
                "user_id": "005000000000001AAA",
                "time": "2025-08-20T00:00:00.000+0000",
                "source_ip": "198.18.0.9",
                "application": "Sync",
                "status": "Success",
            },
        ],
    )
    assert not [f for f in fnd.evaluate(s, indicators=fnd.Indicators()) if f.pattern == fnd.COMPROMISED_TOKENS]
    ind = fnd.indicators_from_sets([], expected_ips=["203.0.113.0/24"])
    f = next(f for f in fnd.evaluate(s, indicators=ind) if f.pattern == fnd.COMPROMISED_TOKENS)
    assert f.severity == "high" and "198.18.0.9" in " ".join(f.details) and "203.0.113.10" not in " ".join(f.details)
    with pytest.raises(UsageError):
        fnd.indicators_from_sets([], expected_ips=["not-an-ip"])


def test_sharing_rules_tls_and_support_profile_field_exposure() -> None:
    s = _snap(
        organization={"id": "00D000000000001AAA", "sharing_defaults": {"Contact": "Private", "Account": "Private"}},
        sharing_rules=[
            {
                "id": "02c000000000001AAA",
                "name": "All_Contacts",
                "object": "Contact",
                "access": "Read",
                "shared_with": "All Internal Users",
            }
        ],
        remote_sites=[
            {"id": "0rp000000000001AAA", "name": "Old", "url": "http://old.example", "active": False},
            {"id": "0rp000000000002AAA", "name": "Pay", "url": "http://pay.example", "active": True},
        ],
        permission_sets=[
            {
                "id": "0PS000000000001AAA",
                "name": "X00e1",
                "profile_owned": True,
                "profile_id": "00e000000000009AAA",
                "profile_name": "Custom: Support Profile",
            }
        ],
        field_permissions=[
            {"parent_id": "0PS000000000001AAA", "object": "Contact", "field": "Card_Number__c", "read": True}
        ],
    )
    found = fnd.evaluate(s, indicators=fnd.Indicators())
    assert [f.title for f in found if f.pattern == fnd.OPEN_SHARING] == [
        "Sharing rule All_Contacts opens Contact to all internal users (Read)"
    ]
    assert [r.name for f in found if f.pattern == fnd.NO_TLS for r in f.records] == ["Pay"]
    fls = next(f for f in found if f.pattern == fnd.FLS_EXPOSURE)
    assert fls.severity == "high" and "support profile" in fls.title and fls.containment is None
