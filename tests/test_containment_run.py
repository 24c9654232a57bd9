"""`run_plan`, the containment action every front end runs: apply, then move the checklist items it triggers.

The simulated org (chat-vendor theft seed) over real TLS; faults injected from the progress callback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app import checklist as cl
from app.base.clock import FrozenClock
from app.composition.workspace import Workspace
from app.containment import execute as cm
from app.containment.run import run_plan
from app.salesforce.client import Org
from app.salesforce.simlogin import sim_credentials
from app.simorg import SimOrg

NOW = datetime(2025, 8, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimOrg]:
    with SimOrg.start("chat-vendor-theft", clock=FrozenClock(NOW), cert_dir=tmp_path / "cert") as org:
        yield org


@pytest.fixture
def org(sim: SimOrg) -> Iterator[Org]:
    with Org.login(sim_credentials(sim.url, sim.ca_path), sleep=lambda s: None) as o:
        yield o


@pytest.fixture
def incident(tmp_path: Path, clock: FrozenClock, mem_keyring: Any) -> Iterator[Any]:
    with Workspace(tmp_path / "home", clock, mem_keyring).create("Drift token theft", "alice") as inc:
        yield inc


def _item(incident: Any, item_id: str) -> dict[str, Any] | None:
    return incident.journal.get_state(cl.NAMESPACE, item_id)


def test_a_settled_run_ticks_the_triggered_item_citing_the_plan(org: Org, incident: Any) -> None:
    plan = cm.make_plan(org, incident, "revoke_tokens", "Drift", actor="alice", org_alias="sim")
    run = run_plan(incident, org, plan, "sim", "alice")
    assert run.settled and run.checklist_error is None
    assert [(m.item, m.previous, m.state) for m in run.checklist] == [("contain.revoke-tokens", "todo", "done")]
    entry = incident.journal.entry(run.checklist[0].seq)
    assert entry.kind == "checklist.state" and plan.plan_id in entry.data["note"]
    stored = incident.journal.get_state(cm.NAMESPACE, plan.plan_id)
    plan_entry = incident.journal.entry(stored["plan_seq"])
    assert entry.data["evidence"] == [plan_entry.data["plan_evidence_id"]]
    assert incident.journal.last("checklist.source") is not None, "the runbook followed is recorded"

    again = run_plan(incident, org, plan, "sim", "alice")
    assert again.result.status == "nothing_to_do" and again.checklist == [], "a done item stays as it is"


def test_a_partial_run_puts_the_item_in_progress(sim: SimOrg, org: Org, incident: Any) -> None:
    plan = cm.make_plan(org, incident, "freeze_users", integration_users=True, actor="alice", org_alias="sim")

    def limit_after_one(i: int, n: int, rec: cm.RecordResult) -> None:
        if i == 1:
            sim.faults.set(rate_limit_after=0)

    run = run_plan(incident, org, plan, "sim", "alice", limit_after_one)
    assert run.result.status == "partial" and not run.settled
    assert [(m.item, m.state) for m in run.checklist] == [("contain.freeze-users", "in_progress")]
    assert "partial" in incident.journal.entry(run.checklist[0].seq).data["note"]


def test_link_checklist_false_leaves_the_checklist_alone(org: Org, incident: Any) -> None:
    plan = cm.make_plan(org, incident, "revoke_tokens", "Drift", actor="alice", org_alias="sim")
    run = run_plan(incident, org, plan, "sim", "alice", link_checklist=False)
    assert run.settled and run.checklist == []
    assert _item(incident, "contain.revoke-tokens") is None
    assert incident.journal.last("checklist.state") is None


def test_an_unreadable_checklist_does_not_undo_the_containment(org: Org, incident: Any, tmp_path: Path) -> None:
    gone = tmp_path / "gone.toml"
    incident.journal.append(
        cl.SOURCE_KIND, {"path": str(gone), "sha256": "0" * 64, "layers": [{"path": str(gone)}]}, "alice"
    )
    plan = cm.make_plan(org, incident, "revoke_tokens", "Drift", actor="alice", org_alias="sim")
    run = run_plan(incident, org, plan, "sim", "alice")
    assert run.result.status == "done" and run.checklist == []
    assert run.checklist_error is not None and "gone.toml" in run.checklist_error
    assert incident.journal.last("action.result") is not None
