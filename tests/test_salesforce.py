"""The Salesforce adapter against the simulated org over real HTTPS: every login kind, the typed error states
(expired session, rate limit, 5xx, timeout, TLS, offline), the trust_env trap, and no secret in any message."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import requests
from pydantic import ValidationError

from app.salesforce.client import (
    ApiUsage,
    AuthFailed,
    Offline,
    Org,
    OrgCredentials,
    OrgError,
    OrgTimeout,
    RateLimited,
    RequestRefused,
    ServerFailure,
    SessionExpired,
    TlsFailure,
    _login_target,
    parse_limit_info,
    strip_attributes,
)
from app.simorg import SimOrg
from app.simorg.cert import generate_cert
from tests.simorg_helpers import (
    CONSUMER_KEY,
    CONSUMER_SECRET,
    PASSWORD,
    RESPONDER,
    TOKEN,
    creds,
    login,
    rsa_pair,
    start_sim,
)


@pytest.fixture
def sim(tmp_path: Path) -> Any:
    with start_sim(tmp_path) as s:
        yield s


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _logins(sim: SimOrg) -> int:
    user = sim.store.user_by_username(RESPONDER)
    assert user is not None
    return sum(1 for r in sim.store.rows("LoginHistory") if r["UserId"] == user["Id"] and r["Status"] == "Success")


# ---------------------------------------------------------------- logins


@pytest.mark.parametrize("kind", ["password", "jwt", "client_credentials"])
def test_each_login_kind_reaches_the_simulated_org(sim: SimOrg, kind: str) -> None:
    with login(sim, kind) as org:
        who = org.identity()
        assert who.username == RESPONDER
        assert who.org_id == sim.store.org.id and who.org_name == "Mini Org"
        assert who.instance_url == sim.url and who.api_version == "59.0"
        assert org.count("OauthToken") == 4


def test_oauth_username_password_flow(sim: SimOrg) -> None:
    with login(sim, consumer_key=CONSUMER_KEY, consumer_secret=CONSUMER_SECRET, security_token=None) as org:
        assert org.identity().username == RESPONDER
        assert org.api_usage is not None and org.api_usage.app == "Warroom Responder"


def test_existing_session_id(sim: SimOrg) -> None:
    with login(sim) as first:
        sid = first.sf.session_id
        with login(sim, "session", session_id=sid) as org:
            assert org.identity().user_id == sim.store.key_id("users", "me")


def test_login_failures_are_clear_and_secret_free(sim: SimOrg, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
    cases = [
        (creds(sim, password="wrong-password-123"), "INVALID_LOGIN"),
        (creds(sim, "jwt", private_key=other), "INVALID_GRANT"),
        (creds(sim, "jwt", username="nobody@mini.example"), "INVALID_GRANT"),
        (creds(sim, "client_credentials", consumer_secret="wrong-secret-456"), "INVALID_CLIENT"),
        (creds(sim, "client_credentials", consumer_key="unknown-key"), "INVALID_CLIENT_ID"),
    ]
    for bad, code in cases:
        with pytest.raises(AuthFailed) as err:
            Org.login(bad)
        assert err.value.code == code
        text = str(err.value)
        assert "org 'sim'" in text
        for secret in bad.secret_values():
            assert secret not in text


def test_login_target() -> None:
    def target(**kw: Any) -> tuple[str, str | None]:
        return _login_target(OrgCredentials(kind="password", username="u", password="p", **kw))

    assert target() == ("login", None)
    assert target(domain="test") == ("test", None)
    assert target(domain="acme.my") == ("acme.my", None)
    assert target(domain="acme.my.salesforce.com") == ("acme.my", None)
    assert target(domain="https://acme--uat.sandbox.my.salesforce.com/") == ("acme--uat.sandbox.my", None)
    assert target(instance_url="https://acme.my.salesforce.com") == ("acme.my", None)
    assert target(instance_url="https://127.0.0.1:8443") == ("login", "127.0.0.1:8443")
    assert target(domain="localhost:9000") == ("login", "localhost:9000")
    cc = OrgCredentials(
        kind="client_credentials", consumer_key="k", consumer_secret="s", instance_url="https://127.0.0.1:8443"
    )
    assert _login_target(cc) == ("override.my", "127.0.0.1:8443")


def test_credentials_model_validates_and_hides_secrets() -> None:
    with pytest.raises(ValidationError, match="a jwt login needs consumer_key, private_key"):
        OrgCredentials(kind="jwt", username="u")
    with pytest.raises(ValidationError, match="My Domain"):
        OrgCredentials(kind="client_credentials", consumer_key="k", consumer_secret="s", domain="login")
    with pytest.raises(ValidationError) as err:
        OrgCredentials(kind="password", username="u", password="hunter2-secret", colour="red")
    assert "hunter2-secret" not in str(err.value)
    c = OrgCredentials(
        kind="password", alias="prod", username="u", password="hunter2-secret", security_token="tok-secret-99"
    )
    assert "hunter2-secret" not in repr(c) and "tok-secret-99" not in str(c)
    assert sorted(c.secret_values()) == ["hunter2-secret", "tok-secret-99"]


# ---------------------------------------------------------------- faults


def test_expired_session_relogs_in_once_transparently(sim: SimOrg) -> None:
    with login(sim) as org:
        before = _logins(sim)
        old = org.sf.session_id
        sim.expire_sessions()
        assert org.count("OauthToken") == 4
        assert _logins(sim) == before + 1
        assert org.sf.session_id != old
        # Also in the middle of paging.
        rows = list(org.query_iter("SELECT Id FROM User"))
        assert len(rows) == 3


def test_session_that_stays_invalid_fails_after_one_relogin(sim: SimOrg, monkeypatch: pytest.MonkeyPatch) -> None:
    with login(sim) as org:
        before = _logins(sim)
        monkeypatch.setattr(sim.store, "session_for", lambda token: None)
        with pytest.raises(SessionExpired) as err:
            org.count("Account")
        assert _logins(sim) == before + 1
        assert err.value.code == "INVALID_SESSION_ID" and err.value.status == 401
        assert org.sf.session_id not in str(err.value)


def test_rate_limit_backs_off_then_raises_with_usage(sim: SimOrg) -> None:
    sleeps = Sleeps()
    with login(sim, options={"sleep": sleeps, "max_retries": 3, "backoff": 0.5}) as org:
        org.count("Account")
        sim.faults.set(rate_limit_after=0)
        with pytest.raises(RateLimited) as err:
            org.count("Account")
        assert sleeps == [0.5, 1.0, 2.0]
        assert err.value.code == "REQUEST_LIMIT_EXCEEDED" and err.value.status == 403
        assert isinstance(err.value.usage, ApiUsage) and err.value.usage.limit == 100_000
        assert "API request limit exceeded" in str(err.value)


def test_rate_limit_that_clears_is_ridden_out(sim: SimOrg) -> None:
    sleeps = Sleeps()
    with login(sim, options={"sleep": sleeps}) as org:
        sim.faults.set(rate_limit_after=1, rate_limit_for=2)
        assert org.count("Account") == 0
        assert org.count("Account") == 0
        assert sleeps == [0.5, 1.0]


def test_server_errors_retry_reads_but_not_writes(sim: SimOrg) -> None:
    sleeps = Sleeps()
    with login(sim, options={"sleep": sleeps, "max_retries": 2}) as org:
        sim.faults.set(error_500=1)
        assert org.count("Account") == 0
        assert sleeps == [0.5]
        sim.faults.set(error_500=10)
        with pytest.raises(ServerFailure) as err:
            org.query("SELECT Id FROM Account")
        assert err.value.status == 500 and err.value.code == "UNKNOWN_EXCEPTION"
        sim.faults.reset()
        sleeps.clear()
        sim.faults.set(error_500=1)
        with pytest.raises(ServerFailure):
            org.create("Account", {"Name": "Once only"})
        assert sleeps == []
        assert org.count("Account") == 0


def test_slow_org_times_out(sim: SimOrg) -> None:
    with login(sim, options={"timeout": 0.3}) as org:
        org.count("Account")
        sim.faults.set(delay_ms=3000)
        with pytest.raises(OrgTimeout) as err:
            org.count("Account")
        assert err.value.code == "TIMEOUT"
        sim.faults.reset()


def test_wrong_ca_is_a_tls_failure(sim: SimOrg, tmp_path: Path) -> None:
    other = generate_cert(tmp_path / "other")
    with pytest.raises(TlsFailure) as err:
        login(sim, ca=str(other.cert_path))
    assert "certificate not trusted" in str(err.value)
    with pytest.raises(TlsFailure, match="does not exist"):
        login(sim, ca=str(tmp_path / "missing.pem"))


def test_system_trust_store_does_not_trust_the_simulator(sim: SimOrg, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    c = creds(sim).model_copy(update={"ca": None})
    with pytest.raises(TlsFailure):
        Org.login(c)


def test_closed_port_means_offline(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cert = generate_cert(tmp_path / "c")
    c = OrgCredentials(
        kind="password",
        alias="sim",
        username=RESPONDER,
        password=PASSWORD,
        security_token=TOKEN,
        instance_url=f"https://127.0.0.1:{port}",
        ca=str(cert.cert_path),
    )
    with pytest.raises(Offline) as err:
        Org.login(c)
    assert err.value.code == "OFFLINE"
    assert "offline snapshots" in str(err.value) and "connection refused" in str(err.value)
    assert PASSWORD not in str(err.value)


def test_requests_ca_bundle_cannot_override_verify(
    sim: SimOrg, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bogus = tmp_path / "no-such-bundle.pem"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bogus))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(bogus))
    # A session that trusts the environment picks the bogus bundle over `verify`.
    naive = requests.Session()
    naive.verify = str(sim.ca_path)
    with pytest.raises(OSError):
        naive.get(f"{sim.url}/services/data/")
    with login(sim) as org:
        assert org.count("OauthToken") == 4


def test_proxy_environment_is_not_used_for_the_local_org(sim: SimOrg, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")
    with login(sim) as org:
        assert org.count("Account") == 0


# ---------------------------------------------------------------- smaller pieces


def test_download_will_not_send_the_session_elsewhere(sim: SimOrg) -> None:
    with login(sim) as org, pytest.raises(RequestRefused, match="another host"):
        org.download("https://evil.example/services/data/v59.0/sobjects/ApexLog/x/Body")


def test_limit_info_parsing_and_attribute_stripping() -> None:
    usage = parse_limit_info("api-usage=25/5000; per-app-api-usage=17/250(appName=Drift)")
    assert usage == ApiUsage(25, 5000, "Drift", 17, 250)
    assert str(usage) == "25/5000 API calls used (Drift: 17/250)"
    assert parse_limit_info("nothing here") is None
    rec = {
        "attributes": {"type": "User"},
        "Id": "1",
        "Profile": {"attributes": {"type": "Profile"}, "Name": "A"},
        "Things": [{"attributes": {}, "x": 1}],
    }
    assert strip_attributes(rec) == {"Id": "1", "Profile": {"Name": "A"}, "Things": [{"x": 1}]}


def test_no_secret_in_any_error_message(sim: SimOrg) -> None:
    private = rsa_pair()[0]
    errors: list[OrgError] = []
    with login(sim, options={"sleep": Sleeps(), "max_retries": 0}) as org:
        session_id = org.sf.session_id
        sim.faults.set(rate_limit_after=0)
        try:
            org.count("Account")
        except OrgError as exc:
            errors.append(exc)
        sim.faults.reset()
        for soql in ("SELECT Nope FROM User", f"SELECT Id FROM User WHERE Username = '{PASSWORD}' GROUP BY Id"):
            try:
                org.query(soql)
            except OrgError as exc:
                errors.append(exc)
        try:
            org.revoke_token(session_id + "x")
        except OrgError as exc:
            errors.append(exc)
    try:
        Org.login(creds(sim, "jwt", username="ghost@mini.example"))
    except OrgError as exc:
        errors.append(exc)
    assert len(errors) == 5
    for exc in errors:
        text = str(exc)
        for secret in (PASSWORD, TOKEN, session_id, CONSUMER_SECRET, private.splitlines()[1]):
            assert secret not in text, (type(exc).__name__, text)


def test_failed_streamed_download_leaves_nothing_behind(sim: SimOrg, tmp_path: Path) -> None:
    from app.salesforce.client import RecordNotFound

    out = tmp_path / "dl"
    with login(sim) as org, pytest.raises(RecordNotFound):
        org.download("sobjects/ApexLog/07L5e0000000999AAA/Body", out / "body.log")
    assert list(out.iterdir()) == []
