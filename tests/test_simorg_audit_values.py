"""The simulated org's Setup Audit Trail rows use only Action and Section values recorded from Salesforce.

RECORDED is copied from the sfdx-hardis audit-trail command's list of Salesforce's own setup actions by
Section (hardisgroupcom/sfdx-hardis, docs/hardis/org/diagnose/audittrail.md, Section "Manage Users"); it is a
fixture of outside values, not the simulator's output. The rows are made through the API over HTTPS.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.base.clock import FrozenClock
from app.simorg import SimOrg
from tests.simorg_helpers import NOW, demo_login

RECORDED = {
    "Manage Users": {
        "activateduser",
        "createduser",
        "deactivateduser",
        "frozeuser",
        "PermSetAssign",
        "PermSetGroupAssign",
        "PermSetGroupUnassign",
        "PermSetLicenseAssign",
        "PermSetUnassign",
        "PermSetLicenseUnassign",
        "resetpassword",
        "unfrozeuser",
    }
}


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimOrg]:
    with SimOrg.start("chat-vendor-theft", clock=FrozenClock(NOW), cert_dir=tmp_path / "cert") as org:
        yield org


def test_changes_through_the_api_write_recorded_action_and_section_values(sim: SimOrg) -> None:
    with demo_login(sim) as org:
        seen = {r["Id"] for r in org.query("SELECT Id FROM SetupAuditTrail")}
        ps = org.query("SELECT Id FROM PermissionSet WHERE IsOwnedByProfile = false AND Name = 'Drift_Integration'")
        ps = ps or org.query("SELECT Id FROM PermissionSet WHERE IsOwnedByProfile = false")
        user = org.query("SELECT Id FROM User WHERE Username = 'marketing-sync@acme.example'")[0]
        held = {
            r["PermissionSetId"]
            for r in org.query(f"SELECT PermissionSetId FROM PermissionSetAssignment WHERE AssigneeId = '{user['Id']}'")
        }
        target = next(p["Id"] for p in ps if p["Id"] not in held)
        assignment = org.create("PermissionSetAssignment", {"AssigneeId": user["Id"], "PermissionSetId": target})
        org.delete("PermissionSetAssignment", assignment)
        login = org.query(f"SELECT Id FROM UserLogin WHERE UserId = '{user['Id']}'")[0]
        org.update("UserLogin", login["Id"], {"IsFrozen": True})
        org.update("UserLogin", login["Id"], {"IsFrozen": False})
        rows = [r for r in org.query("SELECT Id, Action, Section, Display FROM SetupAuditTrail") if r["Id"] not in seen]
    assert [r["Action"] for r in rows] == ["PermSetAssign", "PermSetUnassign", "frozeuser", "unfrozeuser"]
    for row in rows:
        assert row["Action"] in RECORDED.get(row["Section"], set()), row
