"""The permission sets each connected app's users hold, read from Data Loader exports in the documented shapes of
PermissionSet and PermissionSetAssignment (Object Reference: AssigneeId, PermissionSetId, PermissionSetGroupId,
ExpirationDate; one Permissions<Name> boolean per permission). The console's branch per app is tested in
tests/test_console_org.py."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from app import inventory as inv

APP, OTHER = "Drift", "Gong"
U1, U2, U3 = "005000000000001AAA", "005000000000002AAA", "005000000000003AAA"
PROFILE_SET, VIEW_ALL, LIMITED = "0PS000000000001AAA", "0PS000000000002AAA", "0PS000000000003AAA"


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


@pytest.fixture
def exported(tmp_path: Path) -> inv.Snapshot:
    """Three users: two hold Drift tokens, one a Gong token. The export's PermissionSet header has
    PermissionsApiEnabled and PermissionsViewAllData but no PermissionsModifyAllData (not every org or export has
    every flag)."""
    d = tmp_path / "export"
    d.mkdir()
    _write(
        d / "OauthToken.csv",
        ["AppName", "AppMenuItemId", "UserId", "CreatedDate", "LastUsedDate", "UseCount", "DeleteToken"],
        [
            [APP, "0DS000000000001AAA", U1, "2025-08-01T10:00:00.000+0000", "2025-08-17T11:11:00.000+0000", "9", "d1"],
            [APP, "0DS000000000001AAA", U1, "2025-08-02T10:00:00.000+0000", "", "0", "d2"],
            [APP, "0DS000000000001AAA", U2, "2025-08-03T10:00:00.000+0000", "", "0", "d3"],
            [OTHER, "0DS000000000002AAA", U3, "2025-08-04T10:00:00.000+0000", "", "0", "d4"],
        ],
    )
    _write(
        d / "User.csv",
        ["Id", "Username", "IsActive", "ProfileId", "Profile.Name", "Profile.UserLicense.Name"],
        [
            [U1, "drift-int@acme.example", "true", "00e000000000001AAA", "API Only", "Salesforce Integration"],
            [U2, "rep@acme.example", "true", "00e000000000001AAA", "API Only", "Salesforce"],
            [U3, "gong-user@acme.example", "true", "00e000000000002AAA", "Other", "Salesforce"],
        ],
    )
    _write(
        d / "PermissionSet.csv",
        ["Id", "Name", "Label", "IsOwnedByProfile", "ProfileId", "Profile.Name", "PermissionsApiEnabled",
         "PermissionsViewAllData"],
        [
            [PROFILE_SET, "X00ex000", "API Only", "true", "00e000000000001AAA", "API Only", "true", "false"],
            [VIEW_ALL, "Drift_Access", "Drift Access", "false", "", "", "true", "true"],
            [LIMITED, "Read_Cases", "Read Cases", "false", "", "", "false", "false"],
        ],
    )  # fmt: skip
    _write(
        d / "PermissionSetAssignment.csv",
        ["Id", "AssigneeId", "PermissionSetId", "PermissionSetGroupId", "ExpirationDate", "IsActive"],
        [
            ["0Pa000000000001AAA", U1, PROFILE_SET, "", "", "true"],
            ["0Pa000000000002AAA", U1, VIEW_ALL, "0PG000000000001AAA", "", "true"],
            ["0Pa000000000003AAA", U2, VIEW_ALL, "", "2025-09-01T00:00:00.000+0000", "true"],
            ["0Pa000000000004AAA", U2, LIMITED, "", "", "true"],
            ["0Pa000000000005AAA", U3, LIMITED, "", "", "true"],
        ],
    )
    return inv.import_csv_dir(d)


def test_each_apps_token_holders_sets_are_counted_with_how_they_are_held(exported: inv.Snapshot) -> None:
    sets = inv.app_permission_sets(exported, inv.HIGH_RISK_PERMISSIONS)
    drift = {s.permission_set.id: s for s in sets[APP]}
    assert set(drift) == {PROFILE_SET, VIEW_ALL, LIMITED}
    assert [s.permission_set.id for s in sets[APP]][:1] == [VIEW_ALL]  # the widest grant first
    view_all = drift[VIEW_ALL]
    assert [h.username for h in view_all.holders] == ["drift-int@acme.example", "rep@acme.example"]
    assert view_all.app_users == 2 and view_all.through_group == 1
    assert view_all.expiring == ("2025-09-01T00:00:00.000+0000",)
    assert view_all.grants == ("API Enabled", "View All Data")
    # PermissionsModifyAllData is not in the export's header: "unknown", never "not granted"
    assert view_all.unknown == ("Modify All Data",)
    assert drift[PROFILE_SET].label == "profile API Only" and drift[PROFILE_SET].holders[0].assignment is not None
    assert [h.username for h in drift[LIMITED].holders] == ["rep@acme.example"]
    assert drift[LIMITED].grants == () and drift[LIMITED].unknown == ("Modify All Data",)
    gong = sets[OTHER]
    assert [(s.permission_set.id, len(s.holders), s.app_users) for s in gong] == [(LIMITED, 1, 1)]


def test_an_expired_assignment_is_not_held(exported: inv.Snapshot) -> None:
    sets = inv.app_permission_sets(exported, at="2025-10-01T00:00:00Z")
    view_all = next(s for s in sets[APP] if s.permission_set.id == VIEW_ALL)
    assert [h.username for h in view_all.holders] == ["drift-int@acme.example"]


def test_the_detail_strip_says_who_holds_a_set_how_and_what_it_lets_out(exported: inv.Snapshot) -> None:
    from app.findings.exposure import _permission_set_rows
    from screens.details import inventory_detail
    from screens.widgets.inventory_pane import InventoryRow

    rows = {r.key: r for r in _permission_set_rows(exported, lambda *keys: [], lambda found: ())}
    assert set(rows) == {f"perm:{APP}|{PROFILE_SET}", f"perm:{APP}|{VIEW_ALL}", f"perm:{APP}|{LIMITED}",
                         f"perm:{OTHER}|{LIMITED}"}  # fmt: skip

    def detail(key: str) -> str:
        r = rows[key]
        return inventory_detail(InventoryRow(r.key, r.kind, r.name, r.detail, r.findings, "", r.record), []).plain

    view_all = detail(f"perm:{APP}|{VIEW_ALL}")
    assert "held by 2 of 2 Drift users; grants API Enabled, View All Data" in view_all
    assert (
        "Held by: 2 of the Drift app's 2 token holder(s): drift-int@acme.example (through permission set group "
        in view_all
    )
    assert "rep@acme.example (until 2025-09-01 00:00:00 UTC)" in view_all
    assert "Through a permission set group: 1 of them" in view_all
    assert "Assignments expire: 1 expiry time(s), the first 2025-09-01 00:00:00 UTC" in view_all
    assert "Lets data out: grants API Enabled, View All Data; unknown for Modify All Data" in view_all
    assert "remove Drift Access (Drift_Access) from the holders (containment: strip permissions)" in view_all
    profile = detail(f"perm:{APP}|{PROFILE_SET}")
    assert "the profile API Only grants it, and a profile's own set cannot be unassigned" in profile
    assert "move the users to a smaller profile" in profile
    limited = detail(f"perm:{OTHER}|{LIMITED}")
    assert "Lets data out: does not grant API Enabled, View All Data; unknown for Modify All Data" in limited
