"""Containment against the simulated org over real TLS, seeded with the chat-vendor theft (Drift) scenario.

Every check of the org is a query (through the adapter) or a look at the simulator's own store; every check
of the record is a journal entry. Faults are injected from the progress callback, after a given record, so
"halfway" is exact and nothing depends on timing.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.base.clock import FrozenClock
from app.composition.verification import verify as verify_journal
from app.composition.workspace import Workspace
from app.containment import apply as containment_apply
from app.containment import execute as cm
from app.containment import recovery as containment_recovery
from app.incident import settings
from app.journal.failures import JournalError
from app.salesforce.client import Org
from app.simorg import SimOrg
from tests.simorg_helpers import demo_login

NOW = datetime(2025, 8, 20, 9, 0, tzinfo=UTC)
DRIFT_INT = "drift-int@acme.example"
RESPONDER = "responder@acme.example"
DRIFT_COUNT = "SELECT COUNT() FROM OauthToken WHERE AppName = 'Drift'"


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimOrg]:
    with SimOrg.start("chat-vendor-theft", clock=FrozenClock(NOW), cert_dir=tmp_path / "cert") as org:
        yield org


def _login(sim: SimOrg) -> Org:
    # No real sleeping between the adapter's bounded rate-limit retries.
    return demo_login(sim)


@pytest.fixture
def org(sim: SimOrg) -> Iterator[Org]:
    with _login(sim) as o:
        yield o


@pytest.fixture
def incident(tmp_path: Path, clock: FrozenClock, mem_keyring: Any) -> Iterator[Any]:
    ws = Workspace(tmp_path / "home", clock, mem_keyring)
    with ws.create("Drift token theft", "alice") as inc:
        yield inc


def _store_rows(sim: SimOrg, sobject: str, **equals: Any) -> list[dict[str, Any]]:
    with sim.store.lock:
        return [dict(r) for r in sim.store.find(sobject, **equals)]


def _user_id(sim: SimOrg, username: str) -> str:
    with sim.store.lock:
        return sim.store.user_by_username(username)["Id"]


def _frozen(sim: SimOrg, username: str) -> bool:
    return bool(_store_rows(sim, "UserLogin", UserId=_user_id(sim, username))[0].get("IsFrozen"))


def _entries(incident: Any, kind: str, action_id: str) -> list[Any]:
    return [e for e in incident.journal.entries(kind=kind) if e.data.get("action_id") == action_id]


def _plan(org: Org, incident: Any, action: str, **kw: Any) -> cm.Plan:
    return cm.make_plan(org, incident, action, actor="alice", org_alias="sim", **kw)


class Calls:
    """An org factory that remembers whether anyone asked for the org (nothing may be sent before intent)."""

    def __init__(self, org: Org) -> None:
        self.org = org
        self.asked = 0

    def __call__(self) -> Org:
        self.asked += 1
        return self.org


# --------------------------------------------------------------------------------------------------
# Revoke the compromised app's tokens
# --------------------------------------------------------------------------------------------------


def test_revoke_drift_tokens_leaves_none_and_journal_proves_it(sim: SimOrg, org: Org, incident: Any) -> None:
    plan = _plan(org, incident, "revoke_tokens", app="Drift")
    assert plan.counts == {"revoke_token": 4}
    assert [s.n for s in plan.steps] == [1, 2, 3, 4]
    assert all(s.before["AppName"] == "Drift" and s.before["Username"] == DRIFT_INT for s in plan.steps)
    assert org.count(DRIFT_COUNT) == 4, "planning changes nothing"
    text = plan.model_dump_json()
    tokens = [r["DeleteToken"] for r in _store_rows(sim, "OauthToken", AppName="Drift")]
    assert tokens and not any(t in text for t in tokens), "a plan never carries a token value"

    seen: list[tuple[int, str]] = []

    def progress(i: int, n: int, rec: cm.RecordResult) -> None:
        # While calls are being made, the intent is already committed and no result is.
        intent = _entries(incident, "action.intent", plan.plan_id)
        assert len(intent) == 1 and not _entries(incident, "action.result", plan.plan_id)
        seen.append((i, rec.status))

    result = cm.apply_plan(incident, org, plan, "sim", "alice", progress)
    assert result.status == "done" and result.counts == {"ok": 4, "already": 0, "failed": 0, "not_run": 0}
    assert seen == [(1, "ok"), (2, "ok"), (3, "ok"), (4, "ok")]
    assert org.count(DRIFT_COUNT) == 0, "none of the app's tokens is left in the org"
    assert result.verification["revoke_token"]["matching_now"] == 0
    assert result.verification["revoke_token"]["planned_still_present"] == 0

    j = incident.journal
    plan_e = _entries(incident, "action.plan", plan.plan_id)[0]
    approval = _entries(incident, "action.approval", plan.plan_id)[0]
    intent = _entries(incident, "action.intent", plan.plan_id)[0]
    res = _entries(incident, "action.result", plan.plan_id)[0]
    checkpoint = j.last("checkpoint")
    assert plan_e.seq < approval.seq < intent.seq < res.seq < checkpoint.seq
    assert checkpoint.seq == result.checkpoint_seq and checkpoint.data["tree_size"] == res.seq
    # The plan hash is the SHA-256 of the plan bytes kept in the evidence store.
    stored = incident.evidence.path_for(plan_e.data["plan_sha256"]).read_bytes()
    assert hashlib.sha256(stored).hexdigest() == plan.sha256 == intent.data["plan_sha256"] == res.data["plan_sha256"]
    assert approval.data["approver"] == "alice" and intent.data["executor"] == "alice"
    assert intent.data["pending"] == 4 and res.data["intent_seq"] == intent.seq
    recs = res.data["records"]
    assert [(r["n"], r["status"]) for r in recs] == [(1, "ok"), (2, "ok"), (3, "ok"), (4, "ok")]
    assert all(r["before"]["AppName"] == "Drift" and "DeleteToken" not in r["before"] for r in recs)
    assert all("after" not in r for r in recs), "after: re-queried, the token is gone"
    assert res.data["action"] == "revoke_tokens" and res.data["verification"]["revoke_token"]["matching_now"] == 0
    report = verify_journal(j.path)
    assert report.ok and report.checkpoints_checked >= 1, report.message

    state = cm.action_status(incident, plan.plan_id)
    assert (state.status, state.done, state.failed, state.not_run, state.runs) == ("done", 4, 0, 0, 1)

    again = cm.apply_plan(incident, org, plan, "sim", "alice")
    assert again.status == "nothing_to_do" and len(_entries(incident, "action.intent", plan.plan_id)) == 1


def test_revoke_records_tokens_revoked_elsewhere_as_already_done(sim: SimOrg, org: Org, incident: Any) -> None:
    plan = _plan(org, incident, "revoke_tokens", app="Drift")
    first = _store_rows(sim, "OauthToken", AppName="Drift")[0]["DeleteToken"]
    org.revoke_token(first)  # the vendor revoked one meanwhile
    result = cm.apply_plan(incident, org, plan, "sim", "alice")
    assert result.status == "done"
    assert sorted(r.status for r in result.records) == ["already", "ok", "ok", "ok"]
    assert org.count(DRIFT_COUNT) == 0


# --------------------------------------------------------------------------------------------------
# Nothing is sent without approval and a committed intent
# --------------------------------------------------------------------------------------------------


def test_wrong_alias_sends_nothing(sim: SimOrg, org: Org, incident: Any) -> None:
    plan = _plan(org, incident, "revoke_tokens", app="Drift")
    calls = Calls(org)
    used = sim.store.api_used
    with pytest.raises(cm.ApprovalRefused, match="nothing was sent"):
        cm.apply_plan(incident, calls, plan, "production", "alice")
    assert calls.asked == 0 and sim.store.api_used == used
    assert org.count(DRIFT_COUNT) == 4
    assert not _entries(incident, "action.intent", plan.plan_id)
    refused = _entries(incident, "action.refused", plan.plan_id)
    assert refused and refused[0].data["reason"] == "alias_mismatch"


@pytest.mark.parametrize("how", ["full", "locked"])
def test_intent_that_cannot_be_journaled_sends_nothing(sim: SimOrg, org: Org, incident: Any, how: str) -> None:
    plan = _plan(org, incident, "revoke_tokens", app="Drift")
    # An approval from someone else makes the intent the first write apply attempts.
    settings.set_setting(incident, settings.REQUIRE_DISTINCT_APPROVER, "on", "alice")
    cm.approve(incident, plan, "sim", "bob")
    size = incident.journal.head().size
    conn = incident.journal.connection
    other: sqlite3.Connection | None = None
    if how == "full":
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(JournalError):
            for _ in range(500):  # fill what is left of the last pages
                incident.note("filler " * 40, "alice")
        size = incident.journal.head().size
    else:
        conn.execute("PRAGMA busy_timeout = 50")
        other = sqlite3.connect(incident.journal.path, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
    calls = Calls(org)
    used = sim.store.api_used
    with pytest.raises(JournalError, match="nothing was sent"):
        cm.apply_plan(incident, calls, plan, "sim", "alice")
    assert calls.asked == 0 and sim.store.api_used == used, "no call of any kind reached the org"
    if other is not None:
        other.execute("ROLLBACK")
        other.close()
    else:
        conn.execute("PRAGMA max_page_count = 1073741823")
    assert incident.journal.head().size == size
    assert org.count(DRIFT_COUNT) == 4, "the org is untouched"
    result = cm.apply_plan(incident, calls, plan, "sim", "alice")  # once the journal takes writes, it runs
    assert result.status == "done" and org.count(DRIFT_COUNT) == 0


def test_nearly_full_disk_refuses_before_the_intent(
    sim: SimOrg, org: Org, incident: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = _plan(org, incident, "revoke_tokens", app="Drift")
    monkeypatch.setattr(containment_apply, "_free_bytes", lambda path: 1024)
    calls = Calls(org)
    with pytest.raises(cm.ContainmentError, match="MiB free"):
        cm.apply_plan(incident, calls, plan, "sim", "alice")
    assert calls.asked == 0 and not _entries(incident, "action.intent", plan.plan_id)
    assert org.count(DRIFT_COUNT) == 4


def test_approver_must_differ_from_executor_when_required(sim: SimOrg, org: Org, incident: Any) -> None:
    entry = settings.set_setting(incident, settings.REQUIRE_DISTINCT_APPROVER, "on", "carol")
    assert entry.kind == "settings.set" and entry.data == {
        "key": settings.REQUIRE_DISTINCT_APPROVER,
        "value": True,
        "previous": False,
    }
    plan = _plan(org, incident, "freeze_users", user=DRIFT_INT)
    calls = Calls(org)
    with pytest.raises(cm.ApprovalRefused, match="approver other than the executor"):
        cm.apply_plan(incident, calls, plan, "sim", "alice")
    cm.approve(incident, plan, "sim", "alice")  # the executor approving herself does not count
    with pytest.raises(cm.ApprovalRefused):
        cm.apply_plan(incident, calls, plan, "sim", "alice")
    assert calls.asked == 0 and not _frozen(sim, DRIFT_INT)
    with pytest.raises(cm.ApprovalRefused):
        cm.approve(incident, plan, "wrong-org", "bob")
    cm.approve(incident, plan, "sim", "bob")
    result = cm.apply_plan(incident, calls, plan, "sim", "alice")
    assert result.status == "done" and result.approver == "bob" and result.executor == "alice"
    assert _frozen(sim, DRIFT_INT)
    intent = _entries(incident, "action.intent", plan.plan_id)[0]
    assert intent.data["approver"] == "bob" and intent.actor == "alice"
    assert cm.action_status(incident, plan.plan_id).approvers == ["alice", "bob"]


# --------------------------------------------------------------------------------------------------
# Faults halfway: an exact record, then a retry that finishes only the rest
# --------------------------------------------------------------------------------------------------


def test_rate_limit_halfway_then_retry_finishes_the_rest(sim: SimOrg, org: Org, incident: Any) -> None:
    plan = _plan(org, incident, "freeze_users", integration_users=True)
    assert plan.counts == {"freeze_user": 4}

    def limit_after_two(i: int, n: int, rec: cm.RecordResult) -> None:
        if i == 2:
            sim.faults.set(rate_limit_after=0)  # every further API call: REQUEST_LIMIT_EXCEEDED

    first = cm.apply_plan(incident, org, plan, "sim", "alice", limit_after_two)
    assert first.status == "partial"
    # The first two were accepted, but the rate limit kept them from being read back: unverified, not done.
    statuses = [(r.n, r.status) for r in first.records]
    assert statuses == [(1, "unverified"), (2, "unverified"), (3, "failed"), (4, "not_run")]
    assert first.records[0].code == "AFTER_STATE_UNREAD"
    assert first.records[2].code == "REQUEST_LIMIT_EXCEEDED"
    assert first.stopped is not None and first.stopped.reason == "rate_limited" and first.stopped.at_step == 3
    frozen = [_frozen(sim, s.before["Username"]) for s in plan.steps]
    assert frozen == [True, True, False, False], "the record matches the org exactly"
    res = _entries(incident, "action.result", plan.plan_id)[0]
    assert res.data["counts"] == {"ok": 0, "already": 0, "failed": 1, "not_run": 1, "unverified": 2}
    assert res.data["failed"][0]["n"] == 3 and res.data["not_run"] == [4]
    assert res.data["stopped"]["reason"] == "rate_limited"
    assert "error" in res.data["verification"], "the state after could not be re-read while limited"
    state = cm.action_status(incident, plan.plan_id)
    assert (state.status, state.done, state.failed, state.not_run, state.unverified) == ("partial", 0, 1, 1, 2)
    assert incident.journal.last("checkpoint").seq > res.seq

    sim.faults.reset()
    second = cm.apply_plan(incident, org, plan, "sim", "alice")
    assert second.run == 2 and second.status == "done"
    statuses = [(r.n, r.status) for r in second.records]
    assert statuses == [(1, "already"), (2, "already"), (3, "ok"), (4, "ok")], "read back, and only the rest sent"
    assert all(_frozen(sim, s.before["Username"]) for s in plan.steps)
    intent2 = _entries(incident, "action.intent", plan.plan_id)[1]
    assert intent2.data["pending"] == 4 and intent2.data["already_done"] == 0
    assert cm.action_status(incident, plan.plan_id).status == "done"
    assert cm.apply_plan(incident, org, plan, "sim", "alice").status == "nothing_to_do"
    assert verify_journal(incident.journal.path).ok


def test_expired_session_that_relogin_cannot_fix_stops_quarantine_exactly(sim: SimOrg, org: Org, incident: Any) -> None:
    plan = _plan(org, incident, "quarantine_org", app="Drift")
    ops = [s.op for s in plan.steps]
    # Tokens first (a session can be minted from a token), then logins, then sessions, then grants.
    assert ops == sorted(ops, key=["revoke_token", "freeze_user", "delete_session", "delete_assignment"].index)
    assert plan.counts == {"revoke_token": 7, "freeze_user": 4, "delete_session": 2, "delete_assignment": 2}
    halfway = plan.counts["revoke_token"] + 2
    responder = _user_id(sim, RESPONDER)
    saved = sim.store.user_secrets[responder]

    def expire(i: int, n: int, rec: cm.RecordResult) -> None:
        if i == halfway:
            with sim.store.lock:
                sim.store.user_secrets[responder] = ("changed-by-admin", "")
            sim.expire_sessions()

    first = cm.apply_plan(incident, org, plan, "sim", "alice", expire)
    assert first.status == "partial" and first.stopped is not None
    assert first.stopped.reason == "session_expired" and first.stopped.at_step == halfway + 1
    statuses = [r.status for r in first.records]
    # Sent and accepted, but the dead session could not read them back: unverified, never "done".
    assert statuses == ["unverified"] * halfway + ["failed"] + ["not_run"] * (len(plan.steps) - halfway - 1)
    with sim.store.lock:
        assert not [t for t in sim.store.rows("OauthToken") if t.get("AppName") == "Drift"]
    assert [_frozen(sim, s.before["Username"]) for s in plan.steps if s.op == "freeze_user"] == [
        True,
        True,
        False,
        False,
    ]
    assert len(_store_rows(sim, "PermissionSetAssignment", PermissionSetId=plan.steps[-1].before["PermissionSetId"]))

    with sim.store.lock:
        sim.store.user_secrets[responder] = saved
    second = cm.apply_plan(incident, org, plan, "sim", "alice")
    assert second.status == "done" and [r.n for r in second.records] == list(range(1, len(plan.steps) + 1))
    statuses = [r.status for r in second.records]
    assert statuses[:halfway] == ["already"] * halfway, "the unverified ones are read back, not sent again"
    assert statuses[halfway] == "ok" and set(statuses[halfway:]) <= {"ok", "already"}
    assert all(_frozen(sim, s.before["Username"]) for s in plan.steps if s.op == "freeze_user")
    with sim.store.lock:
        assert not any(
            sim.store.lookup("PermissionSetAssignment", s.record) for s in plan.steps if s.op == "delete_assignment"
        )
        assert not any(sim.store.lookup("AuthSession", s.record) for s in plan.steps if s.op == "delete_session")
    assert cm.action_status(incident, plan.plan_id).status == "done"


def _restart(sim: SimOrg, cert_dir: Path) -> SimOrg:
    """The same org (same store) back on the network at a new address, as after an outage."""
    again = SimOrg(sim.seed, sim.store, cert_dir=cert_dir)
    again._thread = threading.Thread(target=again._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    again._thread.start()
    return again


def test_network_lost_halfway_through_revoking_then_retry(sim: SimOrg, org: Org, incident: Any, tmp_path: Path) -> None:
    plan = _plan(org, incident, "revoke_tokens", app="Drift")

    def cut(i: int, n: int, rec: cm.RecordResult) -> None:
        if i == 2:
            sim.stop()

    first = cm.apply_plan(incident, org, plan, "sim", "alice", cut)
    assert [r.status for r in first.records] == ["unverified", "unverified", "failed", "not_run"]
    assert first.stopped is not None and first.stopped.reason == "offline"
    with sim.store.lock:
        assert len([t for t in sim.store.rows("OauthToken") if t.get("AppName") == "Drift"]) == 2
    back = _restart(sim, tmp_path / "cert2")
    try:
        with _login(back) as org2:
            second = cm.apply_plan(incident, org2, plan, "sim", "alice")
            assert second.status == "done" and [r.n for r in second.records] == [1, 2, 3, 4]
            assert [r.status for r in second.records] == ["already", "already", "ok", "ok"]
            assert org2.count(DRIFT_COUNT) == 0
    finally:
        back.stop()


def test_result_kept_aside_when_the_journal_refuses_it_then_recovered(sim: SimOrg, org: Org, incident: Any) -> None:
    plan = _plan(org, incident, "revoke_tokens", app="Drift")
    conn = incident.journal.connection
    other = sqlite3.connect(incident.journal.path, isolation_level=None)

    def lock_at_end(i: int, n: int, rec: cm.RecordResult) -> None:
        if i == n:
            conn.execute("PRAGMA busy_timeout = 50")
            other.execute("BEGIN EXCLUSIVE")

    with pytest.raises(JournalError, match="DID send changes"):
        cm.apply_plan(incident, org, plan, "sim", "alice", lock_at_end)
    other.execute("ROLLBACK")
    other.close()
    kept = list((incident.dir / cm.UNJOURNALED_DIR).glob("*.json"))
    assert len(kept) == 1 and json.loads(kept[0].read_text())["counts"]["ok"] == 4
    recovered = cm.recover_unjournaled(incident, "alice")
    assert len(recovered) == 1 and recovered[0].data["recovered_from"] == kept[0].name
    assert cm.action_status(incident, plan.plan_id).status == "done"
    assert not list((incident.dir / cm.UNJOURNALED_DIR).glob("*.json"))


def test_large_result_goes_to_the_evidence_store_and_state_stays_compact(
    sim: SimOrg, org: Org, incident: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(containment_recovery, "INLINE_RECORDS", 2)
    plan = _plan(org, incident, "revoke_tokens", app="Drift")
    cm.apply_plan(incident, org, plan, "sim", "alice")
    res = _entries(incident, "action.result", plan.plan_id)[0]
    assert "records" not in res.data and res.data["records_evidence_id"]
    stored = incident.evidence.path_for(res.data["records_sha256"]).read_bytes()
    assert [r["status"] for r in json.loads(stored)] == ["ok"] * 4
    state = incident.journal.get_state(cm.NAMESPACE, plan.plan_id)
    assert set(state) >= {"done", "failed", "not_run", "failed_records"} and "records" not in state
    assert cm.apply_plan(incident, org, plan, "sim", "alice").status == "nothing_to_do", (
        "retry reads the per-record results back from the evidence store"
    )


# --------------------------------------------------------------------------------------------------
# Freeze, strip, undo, quarantine, manual tasks
# --------------------------------------------------------------------------------------------------


def test_freeze_then_undo(sim: SimOrg, org: Org, incident: Any) -> None:
    plan = _plan(org, incident, "freeze_users", user=DRIFT_INT)
    assert plan.steps[0].before["IsFrozen"] is False and plan.steps[0].change == {"IsFrozen": True}
    assert cm.apply_plan(incident, org, plan, "sim", "alice").status == "done"
    assert _frozen(sim, DRIFT_INT)
    res = _entries(incident, "action.result", plan.plan_id)[0]
    assert res.data["records"][0]["before"]["IsFrozen"] is False
    assert res.data["records"][0]["after"]["IsFrozen"] is True

    undone = cm.undo(incident, org, plan.plan_id, "sim", "alice")
    assert undone.status == "done" and not _frozen(sim, DRIFT_INT)
    undo_plan = _entries(incident, "action.plan", undone.action_id)[0]
    assert undo_plan.data["undoes"] == plan.plan_id and undo_plan.data["counts"] == {"unfreeze_user": 1}
    assert _entries(incident, "action.intent", undone.action_id) and _entries(
        incident, "action.result", undone.action_id
    )
    assert cm.action_status(incident, plan.plan_id).status == "undone"
    assert cm.action_status(incident, plan.plan_id).undone_by == undone.action_id
    with pytest.raises(cm.ContainmentError, match="already undone"):
        cm.plan_undo(incident, plan.plan_id, "alice")
    with pytest.raises(cm.ContainmentError, match="was undone"):
        cm.apply_plan(incident, org, plan, "sim", "alice")
    assert verify_journal(incident.journal.path).ok


def test_undo_skips_users_that_were_already_frozen(sim: SimOrg, org: Org, incident: Any) -> None:
    hub = _store_rows(sim, "UserLogin", UserId=_user_id(sim, "hubspot-int@acme.example"))[0]["Id"]
    plan = _plan(org, incident, "freeze_users", integration_users=True)
    org.update("UserLogin", hub, {"IsFrozen": True})  # someone froze it by hand after the plan
    result = cm.apply_plan(incident, org, plan, "sim", "alice")
    assert sorted(r.status for r in result.records) == ["already", "ok", "ok", "ok"]
    undo_plan = cm.plan_undo(incident, plan.plan_id, "alice")
    assert undo_plan.counts == {"unfreeze_user": 3} and hub not in {s.record for s in undo_plan.steps}


def test_tokens_and_sessions_cannot_be_undone(org: Org, incident: Any) -> None:
    plan = _plan(org, incident, "revoke_tokens", app="Drift")
    cm.apply_plan(incident, org, plan, "sim", "alice")
    with pytest.raises(cm.ContainmentError, match="revoked OAuth token cannot be restored"):
        cm.plan_undo(incident, plan.plan_id, "alice")


def test_strip_permissions_removes_grant_and_undo_reassigns(sim: SimOrg, org: Org, incident: Any) -> None:
    plan = _plan(org, incident, "strip_permissions", user=DRIFT_INT)
    assert plan.counts == {"delete_assignment": 1}
    step = plan.steps[0]
    assert step.before["PermissionSet.Name"] == "Drift_Integration_Access" and step.before["Grants"] == [
        "ViewAllData",
        "API Enabled",
    ]
    assert cm.apply_plan(incident, org, plan, "sim", "alice").status == "done"
    uid = _user_id(sim, DRIFT_INT)
    assert not [
        a
        for a in _store_rows(sim, "PermissionSetAssignment", AssigneeId=uid)
        if a["PermissionSetId"] == step.before["PermissionSetId"]
    ]
    back = cm.undo(incident, org, plan.plan_id, "sim", "alice")
    assert back.status == "done" and back.records[0].op == "create_assignment"
    assert [
        a
        for a in _store_rows(sim, "PermissionSetAssignment", AssigneeId=uid)
        if a["PermissionSetId"] == step.before["PermissionSetId"]
    ]


def test_strip_permissions_refuses_profile_owned_grants_and_says_so(org: Org, incident: Any) -> None:
    plan = _plan(org, incident, "strip_permissions", user="dan.kim@acme.example")
    assert not plan.steps
    assert plan.refused and all("owned by the profile 'System Administrator'" in r.reason for r in plan.refused)
    assert "change the user's profile" in plan.refused[0].reason
    assert [t.kind for t in plan.manual_tasks] == ["change_profile"]


def test_the_responders_own_login_is_never_in_scope(org: Org, incident: Any) -> None:
    plan = _plan(org, incident, "freeze_users", user=RESPONDER)
    assert not plan.steps and "login running containment" in plan.refused[0].reason


def test_quarantine_composes_and_manual_tasks_close_with_evidence(
    sim: SimOrg, org: Org, incident: Any, tmp_path: Path
) -> None:
    plan = _plan(org, incident, "quarantine_org", app="Drift")
    kinds = [t.kind for t in plan.manual_tasks]
    assert {"block_app", "rotate_consumer_secret", "login_ip_ranges", "api_access_control"} <= set(kinds)
    block = next(t for t in plan.manual_tasks if t.kind == "block_app" and t.target == "Drift")
    assert any("Connected Apps OAuth Usage" in s for s in block.steps)
    assert incident.journal.get_state(cm.TASK_NAMESPACE, block.task_id)["status"] == "planned"
    shot = tmp_path / "blocked.png"
    shot.write_bytes(b"screenshot of Connected Apps OAuth Usage: Drift Blocked")
    ev = incident.add_evidence(shot, "alice")
    with pytest.raises(cm.ContainmentError, match="not been approved"):
        cm.confirm_task(incident, block.task_id, ev.evidence_id, "alice")

    result = cm.apply_plan(incident, org, plan, "sim", "alice")
    assert result.status == "done" and block.task_id in result.open_tasks
    with sim.store.lock:
        ints = [u["Id"] for u in sim.store.rows("User") if u.get("Username", "").endswith("-int@acme.example")]
        assert not [t for t in sim.store.rows("OauthToken") if t.get("UserId") in ints]
    assert [t.task_id for t in cm.open_tasks(incident)] == [t.task_id for t in plan.manual_tasks]
    entry = cm.confirm_task(incident, block.task_id, ev.evidence_id, "alice", note="blocked in Setup")
    assert entry.kind == "action.task_confirmed" and entry.data["evidence_sha256"] == ev.sha256
    assert block.task_id not in [t.task_id for t in cm.open_tasks(incident)]
    with pytest.raises(cm.ContainmentError, match="already confirmed"):
        cm.confirm_task(incident, block.task_id, ev.evidence_id, "alice")
    with pytest.raises(Exception, match="no evidence"):
        cm.confirm_task(incident, plan.manual_tasks[-1].task_id, "ffffffffffff", "alice")


def test_manual_only_action_needs_no_org(incident: Any) -> None:
    plan = cm.make_plan(None, incident, "block_app", app="Drift", actor="alice", org_alias="prod")
    assert not plan.steps and plan.manual_tasks[0].kind == "block_app"
    result = cm.apply_plan(incident, None, plan, "prod", "alice")
    assert result.status == "done" and result.open_tasks == [plan.manual_tasks[0].task_id]


def test_plan_replays_from_the_journal(org: Org, incident: Any) -> None:
    plan = _plan(org, incident, "end_sessions", app="Drift")
    assert plan.counts == {"delete_session": 1} and plan.steps[0].before["SourceIp"] == "185.220.101.33"
    assert cm.load_plan(incident, plan.plan_id) == plan
    assert verify_journal(incident.journal.path).ok


def test_unknown_app_name_suggests_near_matches(org: Org, incident: Any) -> None:
    with pytest.raises(Exception, match="similar names: Drift"):
        _plan(org, incident, "revoke_tokens", app="drif")


# --------------------------------------------------------------------------------------------------
# CLI, including the offline export
# --------------------------------------------------------------------------------------------------


def _sim_args(sim: SimOrg) -> list[str]:
    return ["--instance-url", sim.url, "--ca", str(sim.ca_path)]


def test_cli_offline_export_then_apply_from_file_ties_to_the_journaled_hash(
    cli: Any, sim: SimOrg, org: Org, tmp_path: Path
) -> None:
    cli.new()
    out = tmp_path / "carry" / "revoke-drift.json"
    r = cli(
        "contain",
        "plan",
        "revoke_tokens",
        "--app",
        "Drift",
        "--org",
        "sim",
        *_sim_args(sim),
        "--out",
        str(out),
        "--ticket",
        "CHG-4711",
    )
    assert r.code == 0, r.err
    assert "nothing was changed" in r.out and out.is_file() and out.with_suffix(".md").is_file()
    plan = cm.plan_from_bytes(out.read_bytes(), str(out))
    runbook = out.with_suffix(".md").read_text()
    assert plan.sha256 in runbook and "warroom contain apply revoke-drift.json --confirm sim" in runbook
    shown = cli("journal", "show", "--kind", "action.plan", "--json").json()
    assert shown[0]["data"]["plan_sha256"] == plan.sha256 and shown[0]["data"]["origin"] == "exported"
    assert plan.ticket == "CHG-4711" and shown[0]["data"]["ticket"] == "CHG-4711"
    assert org.count(DRIFT_COUNT) == 4

    tampered = tmp_path / "tampered.json"
    doc = json.loads(out.read_text())
    doc["steps"] = doc["steps"][:1]
    tampered.write_text(json.dumps(doc))
    r = cli("contain", "apply", str(tampered), "--confirm", "sim", *_sim_args(sim))
    assert r.code != 0 and "altered" in r.err and org.count(DRIFT_COUNT) == 4

    r = cli("contain", "apply", str(out), "--confirm", "sim", *_sim_args(sim))
    assert r.code == 0, r.err
    assert "done (4 ok" in r.out and org.count(DRIFT_COUNT) == 0
    intent = cli("journal", "show", "--kind", "action.intent", "--json").json()[0]["data"]
    assert intent["plan_sha256"] == plan.sha256 and intent["plan_file"] == str(out)
    status = cli("contain", "status", "--json").json()
    assert status[0]["status"] == "done" and status[0]["plan_sha256"] == plan.sha256


def test_cli_prompts_for_the_alias_and_refuses_a_mismatch(cli: Any, sim: SimOrg, org: Org) -> None:
    cli.new()
    r = cli("contain", "plan", "freeze_users", "--user", DRIFT_INT, "--org", "sim", *_sim_args(sim), "--json")
    assert r.code == 0, r.err
    plan_id = r.json()["plan_id"]
    r = cli("contain", "apply", plan_id, *_sim_args(sim), stdin="prod\n")
    assert r.code != 0 and "nothing was sent" in r.err and "type the org alias" in r.err
    assert not _frozen(sim, DRIFT_INT)
    r = cli("contain", "apply", plan_id, *_sim_args(sim), stdin="sim\n")
    assert r.code == 0, r.err
    assert _frozen(sim, DRIFT_INT)
    r = cli("contain", "undo", plan_id, "--confirm", "sim", *_sim_args(sim))
    assert r.code == 0, r.err
    assert not _frozen(sim, DRIFT_INT)
    r = cli("contain", "status")
    assert f"{plan_id}  freeze_users" in r.out and "undone" in r.out


def test_cli_settings_and_distinct_approver(cli: Any, sim: SimOrg) -> None:
    cli.new()
    r = cli("settings", "set", settings.REQUIRE_DISTINCT_APPROVER, "on")
    assert r.code == 0 and "= true (was false" in r.out
    plan_id = cli(
        "contain", "plan", "freeze_users", "--user", DRIFT_INT, "--org", "sim", *_sim_args(sim), "--json"
    ).json()["plan_id"]
    r = cli("contain", "apply", plan_id, "--confirm", "sim", *_sim_args(sim))
    assert r.code != 0 and "approver other than the executor" in r.err and not _frozen(sim, DRIFT_INT)
    r = cli("contain", "approve", plan_id, "--confirm", "sim", actor="bob")
    assert r.code == 0, r.err
    r = cli("contain", "apply", plan_id, "--confirm", "sim", *_sim_args(sim))
    assert r.code == 0, r.err
    assert _frozen(sim, DRIFT_INT)
    shown = cli("settings", "show", "--json").json()
    assert shown[settings.REQUIRE_DISTINCT_APPROVER]["value"] is True


def test_cli_manual_task_confirm(cli: Any, tmp_path: Path) -> None:
    cli.new()
    r = cli("contain", "plan", "block_app", "--app", "Drift", "--org", "prod", "--json")
    assert r.code == 0, r.err
    plan = r.json()
    task = plan["manual_tasks"][0]["task_id"]
    assert cli("contain", "apply", plan["plan_id"], "--confirm", "prod").code == 0
    shot = tmp_path / "shot.png"
    shot.write_bytes(b"Drift blocked")
    ev = cli("evidence", "add", str(shot)).out.split()[0]
    r = cli("contain", "confirm", task, "--evidence", ev)
    assert r.code == 0 and f"{task} confirmed by tester" in r.out
    assert "confirmed by tester" in cli("contain", "status").out


def test_cli_plan_from_the_inventory_snapshot_without_network_then_apply(
    cli: Any, sim: SimOrg, org: Org, tmp_path: Path
) -> None:
    cli.new()
    r = cli("inventory", "pull", "--org", "sim", *_sim_args(sim))
    assert r.code == 0, r.err
    out = tmp_path / "q.json"
    # No --instance-url/--ca: nothing reaches the org while planning.
    r = cli("contain", "plan", "quarantine_org", "--app", "Drift", "--from-snapshot", "--out", str(out))
    assert r.code == 0, r.err
    plan = cm.plan_from_bytes(out.read_bytes(), str(out))
    assert plan.basis["kind"] == "snapshot" and plan.org_alias == "sim" and plan.org_id
    assert "delete_session" not in plan.counts and any("Sessions are not in the inventory" in n for n in plan.notes)
    assert plan.counts["freeze_user"] == 4 and plan.counts["delete_assignment"] == 2
    assert "inventory snapshot" in out.with_suffix(".md").read_text()
    assert cli("contain", "plan", "end_sessions", "--app", "Drift", "--from-snapshot").code == 2

    r = cli("contain", "apply", str(out), "--confirm", "sim", *_sim_args(sim))
    assert r.code == 0, r.err
    assert org.count(DRIFT_COUNT) == 0
    assert all(_frozen(sim, s.before["Username"]) for s in plan.steps if s.op == "freeze_user")
    result = cli("journal", "show", "--kind", "action.result", "--json").json()[0]["data"]
    assert result["counts"]["ok"] == len(plan.steps) and result["verification"]["revoke_token"]["matching_now"] == 0


def test_one_run_of_an_action_at_a_time(sim: SimOrg, org: Org, incident: Any) -> None:
    import fcntl

    plan = _plan(org, incident, "revoke_tokens", app="Drift")
    calls = Calls(org)
    with (incident.dir / f".contain-{plan.plan_id}.lock").open("a+") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # another console is running this plan
        with pytest.raises(cm.ContainmentError, match="another process"):
            cm.apply_plan(incident, calls, plan, "sim", "alice")
    assert calls.asked == 0 and org.count(DRIFT_COUNT) == 4
    assert cm.apply_plan(incident, calls, plan, "sim", "alice").status == "done"


def test_deactivate_is_a_separate_step_and_undo_reactivates(sim: SimOrg, org: Org, incident: Any) -> None:
    plan = _plan(org, incident, "deactivate_users", user=DRIFT_INT)
    assert plan.counts == {"deactivate_user": 1} and plan.steps[0].change == {"IsActive": False}
    assert cm.apply_plan(incident, org, plan, "sim", "alice").status == "done"
    assert _store_rows(sim, "User", Username=DRIFT_INT)[0]["IsActive"] is False
    assert cm.undo(incident, org, plan.plan_id, "sim", "alice").status == "done"
    assert _store_rows(sim, "User", Username=DRIFT_INT)[0]["IsActive"] is True


def test_token_filter_splits_long_user_lists() -> None:
    users = [f"005xx{i:010d}AAA" for i in range(450)]
    flt = cm.TokenFilter(app="Drift", also_users=users)
    wheres = flt.wheres()
    assert wheres[0] == "AppName = 'Drift'" and len(wheres) == 4
    assert sum(w.count("'005xx") for w in wheres[1:]) == 450
    assert flt.where().startswith("(AppName = 'Drift') OR UserId IN (")
    assert cm.TokenFilter(app="O'Brien").where() == "AppName = 'O\\'Brien'"


def test_cli_apply_to_the_sim_without_its_address_is_refused_before_anything_is_journaled(
    cli: Any, sim: SimOrg
) -> None:
    """A plan made from the inventory snapshot records no certificate: apply needs the address given."""
    cli.new()
    assert cli("inventory", "pull", "--org", "sim", *_sim_args(sim)).code == 0
    r = cli("contain", "plan", "freeze_users", "--user", DRIFT_INT, "--org", "sim", "--from-snapshot")
    assert r.code == 0, r.err
    assert r.out.rstrip().endswith("--confirm sim --instance-url https://127.0.0.1:PORT --ca FILE")
    plan_id = r.out.split("to run it: warroom contain apply ", 1)[1].split()[0]
    r = cli("contain", "apply", plan_id, "--confirm", "sim")
    assert r.code == 2 and "--instance-url" in r.err
    assert not cli("journal", "show", "--kind", "action.intent", "--json").json()
    assert not _frozen(sim, DRIFT_INT)


def test_findings_become_exact_plans(sim: SimOrg, org: Org, incident: Any) -> None:
    from app import findings, inventory

    found = {f.pattern: f for f in findings.evaluate(inventory.pull(org)) if f.containment}
    app_plan = cm.plan_for_finding(org, incident, found["compromised_app_tokens"], actor="alice", org_alias="sim")
    assert app_plan.selectors.app == "Drift" and app_plan.counts == {"revoke_token": 4}
    user_plan = cm.plan_for_finding(org, incident, found["compromised_user"], actor="alice", org_alias="sim")
    assert user_plan.action in ("freeze_users", "end_sessions") and user_plan.selectors.users == [DRIFT_INT]

    stale = found["stale_oauth_token"]  # two old Outlook tokens among many: only those two
    sel = cm.selectors_for_finding(stale)
    assert "app" not in sel and len(sel["tokens"]) == 2
    plan = cm.plan_for_finding(org, incident, stale, actor="alice", org_alias="sim")
    assert {s.record for s in plan.steps} == set(sel["tokens"])
    outlook = "SELECT COUNT() FROM OauthToken WHERE AppName = 'Salesforce for Outlook'"
    before = org.count(outlook)
    assert cm.apply_plan(incident, org, plan, "sim", "alice").status == "done"
    assert org.count(outlook) == before - 2
