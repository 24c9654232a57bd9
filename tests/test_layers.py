"""The architecture holds: the journal is opened with the registry composed above the areas (it knows no
area), every registered projector and payload model resolves, and a payload that breaks its model is refused
when written and reported when replayed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.base.clock import FrozenClock
from app.composition.projections import KINDS, REGISTRY
from app.composition.verification import verify
from app.composition.workspace import Workspace
from app.journal.chain import Journal
from app.journal.failures import JournalError
from app.journal.registry import Registry
from app.journal.verify import verify_journal
from tests.conftest import T0

ROOT = Path(__file__).resolve().parent.parent


def test_every_registered_projector_and_payload_model_resolves():
    REGISTRY.load_all()
    for kind, spec in KINDS.items():
        if spec.projector:
            assert callable(REGISTRY.projector(kind)), kind
        if spec.payload:
            assert hasattr(REGISTRY.payload_model(kind), "model_validate"), kind


def test_a_journal_derives_state_only_through_the_registry_it_is_opened_with(tmp_path: Path):
    clock = FrozenClock(T0)
    bare = Registry({})
    path = tmp_path / "j.db"
    with Journal.create(path, clock, incident_id="INC-1", actor="t", genesis={"title": "x"}, registry=bare) as j:
        j.append("incident.update", {"severity": "high"}, "t")
        assert j.state("incident") == {}
    assert verify_journal(path, (), bare).ok
    # The composed registry would have derived the incident's state: its replay says the state is missing.
    report = verify(path)
    assert not report.ok and report.problems[0].reason == "state_mismatch"


def test_a_payload_that_breaks_its_model_is_refused_and_reported_on_replay(home, clock, mem_keyring, tmp_path):
    incident = Workspace(home, clock, mem_keyring).create("Leak", "tester")
    with pytest.raises(JournalError, match="payload does not match"):
        incident.journal.append("anchor.made", {"tree_size": "two", "root": "ab"}, "tester")
    incident.anchor("tester")
    assert verify(incident.journal.path).ok
    incident.close()
    # A journal written without the model (an older or foreign writer) holds an anchor whose size is not a
    # number: the replay with the composed registry names the entry.
    path = tmp_path / "j.db"
    with Journal.create(path, clock, incident_id="INC-1", actor="t", genesis={}, registry=Registry({})) as j:
        j.append("anchor.made", {"tree_size": "two", "root": "ab"}, "t")
    report = verify(path)
    assert not report.ok
    assert (report.problems[0].seq, report.problems[0].reason) == (2, "edited")
    assert "cannot be replayed" in report.problems[0].detail


def test_importing_every_app_module_loads_no_textual():
    """`app/` is the core: whatever a command imports, the UI toolkit stays unloaded (checked in a fresh
    interpreter, since this test process may have loaded the console already)."""
    code = """
import importlib, pkgutil, sys
import app
names = [m.name for m in pkgutil.walk_packages(app.__path__, "app.") if not m.name.endswith("__main__")]
for name in names:
    importlib.import_module(name)
ui = sorted(m for m in sys.modules if m.split(".")[0] in ("textual", "screens"))
print(len(names), ui)
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    count, ui = done.stdout.split(" ", 1)
    assert int(count) > 100
    assert ui.strip() == "[]"
