"""What an organisation needs to describe its own org in a seed: a custom object with object permissions (served as
documented), an exact number of generated users, a clear word on LoginHistory's missing user-agent field, and "did
you mean" for a seed key that names nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.simorg import SimOrg
from app.simorg.seed import SeedError, load_seed
from tests.simorg_helpers import demo_login, start_sim

INVOICE = """
[organization.custom_objects.Invoice__c]
Amount__c = "double"
Paid__c = "boolean"

[[object_permissions]]
permission_set = "vad"
object = "Invoice__c"
read = true
view_all = true

[[records]]
sobject = "Invoice__c"
fields = { Name = "INV-0001", Amount__c = 1250.0, Paid__c = false }
"""


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimOrg]:
    with start_sim(tmp_path, extra=INVOICE, generate={"users": 40, "inactive_users": 3}) as s:
        yield s


def test_a_custom_object_with_object_permissions_is_served_as_documented(sim: SimOrg) -> None:
    with demo_login(sim) as org:
        rows = org.query("SELECT Id, Name, Amount__c, Paid__c, OwnerId, CreatedDate, IsDeleted FROM Invoice__c")
        assert [(r["Name"], r["Amount__c"], r["Paid__c"]) for r in rows] == [("INV-0001", 1250.0, False)]
        assert rows[0]["Id"].startswith("a0")
        perms = org.query(
            "SELECT ParentId, SobjectType, PermissionsRead, PermissionsCreate, PermissionsEdit, PermissionsDelete, "
            "PermissionsViewAllRecords, PermissionsModifyAllRecords FROM ObjectPermissions "
            "WHERE SobjectType = 'Invoice__c'"
        )
        assert len(perms) == 1
        assert perms[0]["PermissionsRead"] is True and perms[0]["PermissionsViewAllRecords"] is True
        assert perms[0]["PermissionsModifyAllRecords"] is False
        fields = {f["name"] for f in org.describe("Invoice__c")["fields"]}
        assert {"Id", "Name", "OwnerId", "CreatedById", "SystemModstamp", "Amount__c", "Paid__c"} <= fields


def test_generated_users_are_exactly_as_many_active_as_asked(sim: SimOrg) -> None:
    generated = [u for u in sim.store.rows("User") if u["Username"].endswith("@example.com")]
    assert len(generated) == 40
    assert sum(1 for u in generated if not u["IsActive"]) == 3


def _seed(tmp_path: Path, extra: str) -> Path:
    from tests.simorg_helpers import mini_seed

    path = tmp_path / "s.toml"
    path.write_text(mini_seed(extra=extra), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (
            '[[login_history]]\nuser = "int"\nat = 2025-08-12T09:40:00Z\nip = "1.2.3.4"\nuser_agent = "curl/8"\n',
            "login_history[2].user_agent: LoginHistory has no user-agent field",
        ),
        (
            '[[login_history]]\nuser = "itn"\nat = 2025-08-12T09:40:00Z\nip = "1.2.3.4"\n',
            "login_history[2].user: unknown user key 'itn' (did you mean 'int'?)",
        ),
        ('[organization.custom_objects.Invoice]\nAmount__c = "double"\n', "custom object names end in '__c'"),
        ('[organization.custom_objects.Invoice__c]\nAmount = "double"\n', "custom field names end in '__c'"),
        (
            '[[object_permissions]]\npermission_set = "vad"\nobject = "Invoice__c"\n',
            "object_permissions[0].object: unknown object 'Invoice__c'",
        ),
    ],
)
def test_seed_mistakes_are_named_at_their_line(tmp_path: Path, extra: str, needle: str) -> None:
    path = _seed(tmp_path, extra)
    with pytest.raises(SeedError) as info:
        load_seed(path)
    message = str(info.value)
    assert message.startswith(f"{path}:") and needle in message, message
