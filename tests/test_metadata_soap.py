"""The client's Metadata API calls against documented SOAP shapes, not the simulated org's own output.

The answers below are written from Salesforce's Metadata WSDL (the one simple-salesforce ships: readMetadataResponse
> result (ReadResult) > records (Metadata, typed by xsi:type); updateMetadataResponse > result (SaveResult:
errors[statusCode, message], fullName, success)), the Metadata API Developer Guide (readMetadata(), ReadResult)
and, for the component's values, retrieved connectedApp files in public repositories. The SOAP fault is the API's
documented INVALID_SESSION_ID fault. They are served by a transport adapter mounted on the client's own session,
so nothing leaves the process, and the requests simple-salesforce builds are checked too.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter

from app.salesforce.client import Org, OrgCredentials, RecordNotFound, RequestRefused, SessionExpired

INSTANCE = "https://acme.my.salesforce.com"
ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    "<soapenv:Body>{}</soapenv:Body></soapenv:Envelope>"
)
CONNECTED_APP = (
    '<readMetadataResponse><result><records xsi:type="ConnectedApp">'
    "<fullName>Acme_Sync</fullName><contactEmail>admin@acme.example</contactEmail><label>Acme Sync</label>"
    "<oauthConfig><callbackUrl>https://login.salesforce.com/services/oauth2/callback</callbackUrl>"
    "<consumerKey>3MVG9documented</consumerKey><consumerSecret>SECRET-NEVER-KEPT</consumerSecret>"
    "<isAdminApproved>false</isAdminApproved><scopes>Api</scopes><scopes>RefreshToken</scopes></oauthConfig>"
    "<oauthPolicy><ipRelaxation>BYPASS</ipRelaxation><refreshTokenPolicy>infinite</refreshTokenPolicy></oauthPolicy>"
    "</records></result></readMetadataResponse>"
)
NOTHING = "<readMetadataResponse><result/></readMetadataResponse>"
SAVED = "<updateMetadataResponse><result><fullName>Acme_Sync</fullName><success>true</success></result></updateMetadataResponse>"
REFUSED = (
    "<updateMetadataResponse><result><errors><message>Cannot modify managed object: entity=ConnectedApp</message>"
    "<statusCode>CANNOT_MODIFY_MANAGED_OBJECT</statusCode></errors><fullName>Acme_Sync</fullName>"
    "<success>false</success></result></updateMetadataResponse>"
)
FAULT = (
    "<soapenv:Fault><faultcode>sf:INVALID_SESSION_ID</faultcode>"
    "<faultstring>INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session</faultstring>"
    "</soapenv:Fault>"
)
MD = "{http://soap.sforce.com/2006/04/metadata}"


class Canned(BaseAdapter):
    """Answers each POST with the next canned body; keeps the requests."""

    def __init__(self, answers: list[tuple[int, str]]) -> None:
        super().__init__()
        self.answers = list(answers)
        self.sent: list[bytes] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        body = request.body or b""
        self.sent.append(body if isinstance(body, bytes) else body.encode())
        status, text = self.answers.pop(0)
        response = requests.Response()
        response.status_code = status
        response._content = ENVELOPE.format(text).encode()
        response.headers["Content-Type"] = "text/xml;charset=UTF-8"
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


def _org(answers: list[tuple[int, str]]) -> tuple[Org, Canned]:
    creds = OrgCredentials(kind="session", alias="acme", session_id="00D!documented", instance_url=INSTANCE)
    org = Org.login(creds)
    adapter = Canned(answers)
    org.session.mount(f"{INSTANCE}/services/Soap/m/", adapter)
    return org, adapter


def _call(body: bytes) -> ET.Element:
    root = ET.fromstring(body)
    call = root.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")
    assert call is not None
    return call[0]


def test_read_metadata_parses_a_documented_read_result_and_keeps_no_secret() -> None:
    org, adapter = _org([(200, CONNECTED_APP)])
    found = org.read_metadata("ConnectedApp", ["Acme_Sync"])
    assert found == {
        "Acme_Sync": {
            "fullName": "Acme_Sync",
            "contactEmail": "admin@acme.example",
            "label": "Acme Sync",
            "oauthConfig": {
                "callbackUrl": "https://login.salesforce.com/services/oauth2/callback",
                "consumerKey": "3MVG9documented",
                "isAdminApproved": False,
                "scopes": ["Api", "RefreshToken"],
            },
            "oauthPolicy": {"ipRelaxation": "BYPASS", "refreshTokenPolicy": "infinite"},
        }
    }
    call = _call(adapter.sent[0])
    assert call.tag == f"{MD}readMetadata"
    assert [(c.tag, c.text) for c in call] == [(f"{MD}type", "ConnectedApp"), (f"{MD}fullNames", "Acme_Sync")]
    assert b"00D!documented" in adapter.sent[0], "the session id travels in the SessionHeader"


def test_a_read_result_without_records_is_no_component() -> None:
    org, _ = _org([(200, NOTHING)])
    assert org.read_metadata("ConnectedApp", ["Missing"]) == {}


def test_update_sends_the_whole_component_with_the_changes() -> None:
    org, adapter = _org([(200, CONNECTED_APP), (200, SAVED)])
    sent = org.update_metadata(
        "ConnectedApp", "Acme_Sync", {"oauthConfig.isAdminApproved": True, "oauthPolicy.ipRelaxation": "ENFORCE"}
    )
    assert sent["oauthConfig"]["isAdminApproved"] is True and sent["label"] == "Acme Sync"
    call = _call(adapter.sent[1])
    assert call.tag == f"{MD}updateMetadata"
    (component,) = list(call)
    assert component.get("{http://www.w3.org/2001/XMLSchema-instance}type", "").endswith("ConnectedApp")
    assert component.findtext(f"{MD}contactEmail") == "admin@acme.example"
    assert component.findtext(f"{MD}oauthConfig/{MD}callbackUrl").startswith("https://login.salesforce.com")
    assert component.findtext(f"{MD}oauthConfig/{MD}isAdminApproved") == "true"
    assert component.findtext(f"{MD}oauthPolicy/{MD}ipRelaxation") == "ENFORCE"
    assert component.findtext(f"{MD}oauthPolicy/{MD}refreshTokenPolicy") == "infinite"
    assert b"SECRET-NEVER-KEPT" not in adapter.sent[1], "a secret read back is never sent on"


def test_an_unsuccessful_save_result_is_a_refusal_with_its_status_code() -> None:
    org, _ = _org([(200, CONNECTED_APP), (200, REFUSED)])
    with pytest.raises(RequestRefused) as caught:
        org.update_metadata("ConnectedApp", "Acme_Sync", {"oauthConfig.isAdminApproved": True})
    assert caught.value.code == "CANNOT_MODIFY_MANAGED_OBJECT"
    assert "Cannot modify managed object" in str(caught.value)


def test_updating_a_component_that_is_not_there_sends_nothing() -> None:
    org, adapter = _org([(200, NOTHING)])
    with pytest.raises(RecordNotFound):
        org.update_metadata("ConnectedApp", "Missing", {"oauthConfig.isAdminApproved": True})
    assert len(adapter.sent) == 1


def test_a_soap_fault_for_the_session_is_session_expired() -> None:
    org, _ = _org([(500, FAULT)])
    with pytest.raises(SessionExpired) as caught:
        org.read_metadata("ConnectedApp", ["Acme_Sync"])
    assert caught.value.code == "INVALID_SESSION_ID"
