"""Closing a login logs it out on the org (SOAP logout() for a SOAP login, the OAuth revoke of the access token
for the OAuth flows), a session handed in is left alone, and CLI commands leave no session open."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from app.base.clock import FrozenClock
from app.simorg import SimOrg
from tests.simorg_helpers import CONSUMER_KEY, CONSUMER_SECRET, NOW, login, sim_args, start_sim


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimOrg]:
    with start_sim(tmp_path) as s:
        yield s


def _alive(sim: SimOrg, session_id: str) -> bool:
    """Whether the org still answers a REST call made with `session_id` (asked over HTTPS, as a client would)."""
    with requests.Session() as http:
        http.trust_env = False
        r = http.get(
            f"{sim.url}/services/data/v59.0/limits",
            headers={"Authorization": f"Bearer {session_id}"},
            verify=str(sim.ca_path),
            timeout=10,
        )
    return r.status_code != 401


@pytest.mark.parametrize(
    ("kind", "extra"),
    [
        ("password", {}),  # SOAP login: logout()
        ("password", {"consumer_key": CONSUMER_KEY, "consumer_secret": CONSUMER_SECRET, "security_token": None}),
        ("jwt", {}),
        ("client_credentials", {}),
    ],
)
def test_close_logs_the_session_out(sim: SimOrg, kind: str, extra: dict[str, Any]) -> None:
    org = login(sim, kind, **extra)
    org.identity()
    sid = org.sf.session_id
    assert _alive(sim, sid)
    org.close()
    assert org.logout_error is None
    assert not _alive(sim, sid)
    org.close()  # a second close sends nothing and says nothing
    assert org.logout_error is None


def test_a_session_handed_in_is_not_ended(sim: SimOrg) -> None:
    with login(sim) as owner:
        sid = owner.sf.session_id
        with login(sim, "session", session_id=sid) as borrowed:
            borrowed.identity()
        assert _alive(sim, sid)
    assert not _alive(sim, sid)


def test_soap_logout_of_an_ended_session_is_refused_as_documented(sim: SimOrg) -> None:
    from app.salesforce.logout import SOAP_LOGOUT

    with requests.Session() as http:
        http.trust_env = False
        r = http.post(
            f"{sim.url}/services/Soap/u/59.0",
            data=SOAP_LOGOUT.format(session_id="00Dnotasession").encode(),
            headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": "logout"},
            verify=str(sim.ca_path),
            timeout=10,
        )
    assert r.status_code == 500 and "INVALID_SESSION_ID" in r.text and "UnexpectedErrorFault" in r.text


def test_commands_leave_no_session_open(cli: Any, tmp_path: Path) -> None:
    with SimOrg.start("chat-vendor-theft", clock=FrozenClock(NOW), cert_dir=tmp_path / "cert") as org:
        before = set(org.store.sessions)
        cli.new()
        commands = [
            ("inventory", "pull", *sim_args(org)),
            ("contain", "plan", "revoke_tokens", "--app", "Drift", *sim_args(org)),
            ("contain", "plan", "freeze_users", "--user", "drift-int@acme.example", *sim_args(org)),
            ("collect", "--what", "audit", *sim_args(org)),
        ]
        for args in commands:
            r = cli(*args)
            assert r.code == 0, (args, r.err)
            assert "logout not confirmed" not in r.err
        assert set(org.store.sessions) == before
