"""The simulated org's Metadata API over HTTPS, through simple-salesforce's `mdapi` as the client uses it: the
calls it serves (readMetadata, createMetadata, updateMetadata, upsertMetadata), its SaveResult errors and its
SOAP faults. (The client's parsing of documented shapes is tested apart, in tests/test_metadata_soap.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.base.clock import FrozenClock
from app.salesforce.client import Org, OrgCredentials, RequestRefused, SessionExpired
from app.salesforce.metadata import metadata_api
from app.simorg import SimOrg
from tests.simorg_helpers import NOW, demo_login

POLICY = "Block_Large_Report_Exports"


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimOrg]:
    with SimOrg.start("chat-vendor-theft", clock=FrozenClock(NOW), cert_dir=tmp_path / "cert") as org:
        yield org


def _policy(api: Any, **extra: Any) -> Any:
    return api.TransactionSecurityPolicy(
        fullName=POLICY,
        action={"block": True, "endSession": False, "freezeUser": False, "twoFactorAuthentication": False},
        active=False,
        eventName="ReportEvent",
        type="CustomConditionBuilderPolicy",
        **extra,
    )


def test_create_read_update_and_upsert_through_mdapi(sim: SimOrg) -> None:
    with demo_login(sim) as org:
        assert org.read_metadata("TransactionSecurityPolicy", [POLICY]) == {}
        api = metadata_api(org.sf, org.session)
        api.TransactionSecurityPolicy.create([_policy(api)])
        with pytest.raises(Exception, match="DUPLICATE_VALUE"):  # simple-salesforce's text for success false
            api.TransactionSecurityPolicy.create([_policy(api)])
        found = org.read_metadata("TransactionSecurityPolicy", [POLICY])[POLICY]
        assert found["active"] is False and found["action"]["block"] is True and found["eventName"] == "ReportEvent"
        sent = org.update_metadata("TransactionSecurityPolicy", POLICY, {"active": True})
        assert sent["eventName"] == "ReportEvent"
        assert org.read_metadata("TransactionSecurityPolicy", [POLICY])[POLICY]["active"] is True
        api.TransactionSecurityPolicy.upsert([_policy(api, description="upserted")])
        assert org.read_metadata("TransactionSecurityPolicy", [POLICY])[POLICY]["description"] == "upserted"
    with sim.store.lock:
        assert sim.metadata.components[("TransactionSecurityPolicy", POLICY)]["description"] == "upserted"


def test_save_result_errors_and_faults(sim: SimOrg) -> None:
    with demo_login(sim) as org:
        with pytest.raises(RequestRefused) as caught:
            org.update_metadata("ConnectedApp", "Gong", {"label": ""})
        assert caught.value.code == "REQUIRED_FIELD_MISSING"
        api = metadata_api(org.sf, org.session)
        with pytest.raises(Exception, match="INVALID_CROSS_REFERENCE_KEY"):
            api.TransactionSecurityPolicy.update([_policy(api)])
        ca, url = sim.ca_path, sim.url
    stale = Org.login(
        OrgCredentials(kind="session", alias="sim", session_id="00D!not-a-session", instance_url=url, ca=str(ca))
    )
    with pytest.raises(SessionExpired):
        stale.read_metadata("ConnectedApp", ["Gong"])
