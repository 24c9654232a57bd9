"""The one way warroom talks to Salesforce: simple-salesforce over a requests session we configure.

Stable API (inventory, forensics, containment and the console code against it):

    OrgCredentials(kind, alias=None, username=, password=, security_token=, consumer_key=, consumer_secret=,
                   private_key=, session_id=, domain=, instance_url=, ca=)      # secrets are SecretStr
    Org.login(creds, *, ca_path=None, timeout=30.0, api_version="59.0", max_retries=3, backoff=0.5,
              sleep=time.sleep) -> Org                 # also a context manager; org.close() logs out
    org.alias, org.kind, org.instance_url, org.api_version, org.api_usage -> ApiUsage | None
    org.query(soql, *, batch_size=None, include_deleted=False, strict=False) -> list[dict]
    org.query_iter(soql, *, batch_size=None, include_deleted=False) -> Iterator[dict]
    org.tooling_query(soql, *, strict=False) -> list[dict]
    org.count(soql_or_sobject, where=None) -> int      # "SELECT COUNT() FROM X ..." or just "X"
    org.last_truncation -> Truncation | None           # set when a query hit a paging cap (OauthToken)
    org.describe(sobject, *, tooling=False) -> dict    # the describe result (fields, urls, flags)
    org.describe_fields(sobject, *, tooling=False) -> set[str]   # cached
    org.get(sobject, record_id) -> dict
    org.create(sobject, fields) -> str                 # the new Id
    org.update(sobject, record_id, fields) -> None     # 204
    org.delete(sobject, record_id) -> None             # 204
    org.tooling_delete(sobject, record_id) -> None     # 204, a Tooling API record (TraceFlag)
    org.tooling_update(sobject, record_id, fields)     # 204, a Tooling API record (DebugLevel)
    org.read_metadata(type, full_names) -> dict        # readMetadata: components by fullName (app/salesforce/metadata)
    org.update_metadata(type, full_name, changes)      # updateMetadata of the component read, changed at dotted paths
    org.revoke_token(token) -> None                    # DeleteToken, access or refresh token
    org.download(path) -> bytes                        # "sobjects/ApexLog/<id>/Body" or "/services/data/..."
    org.download(path, target, progress=None) -> int   # streamed to a file (atomic rename); bytes written
    org.identity() -> Identity                         # who and where the login is (for `creds test`)

Records are plain dicts without Salesforce's `attributes`; a relationship is a nested dict or None.

Every failure is an `OrgError` (a WarroomError) with `.code` (Salesforce errorCode or our own, upper case),
`.status` (HTTP status or None) and a message that never carries a secret:
    AuthFailed, SessionExpired (re-login was tried once), InsufficientAccess (.permission when the body names
    it), ObjectUnavailable (INVALID_TYPE / NOT_FOUND on an object, with a hint at licence or permission),
    QueryFailed (MALFORMED_QUERY, INVALID_FIELD...), QueryTruncated, RecordNotFound, RequestRefused,
    RateLimited (.usage, after bounded backoff), ServerFailure (5xx after retries for reads), OrgTimeout,
    TlsFailure, Offline (switch to offline snapshots), InvalidToken (revoke: invalid_token, the token no longer
    works), RevokeRefused (revoke: unsupported_token_type or another 400, nothing revoked).

Why the session is built here: simple-salesforce hard-codes https:// and, with requests' default
`trust_env=True`, REQUESTS_CA_BUNDLE silently overrides `verify`; we pass `session=` with `trust_env=False`
and `verify=<CA file or system store>`. A login host that is not *.salesforce.com (the simulated org at
https://127.0.0.1:PORT) is reached by mounting an adapter on the `https://<domain>.salesforce.com` prefix
simple-salesforce builds, which sends the login to that host over verified TLS; after login the instance URL
the org returns is used as is.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import threading
import time
import urllib.request
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar, overload
from urllib.parse import urlsplit, urlunsplit

import requests
from pydantic import BaseModel, ConfigDict, SecretStr, model_validator
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce, SalesforceLogin
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)
from simple_salesforce.util import exception_handler

from app.base.errors import WarroomError
from app.base.redaction import redact, register_secret

DEFAULT_API_VERSION = "59.0"
DEFAULT_TIMEOUT = 30.0
LoginKind = Literal["password", "jwt", "client_credentials", "session"]
SECRET_FIELDS = ("password", "security_token", "consumer_secret", "private_key", "session_id")
_REQUIRED: dict[str, tuple[str, ...]] = {
    "password": ("username", "password"),
    "jwt": ("username", "consumer_key", "private_key"),
    "client_credentials": ("consumer_key", "consumer_secret"),
    "session": ("session_id", "instance_url"),
}
# What a login usually lacks when an object is "not supported" (Salesforce hides objects it won't show).
OBJECT_REQUIREMENTS: dict[str, str] = {
    "AuthSession": "the 'Manage Users' permission",
    "UserLogin": "the 'Manage Users' permission",
    "LoginHistory": "the 'Manage Users' or 'Monitor Login History' permission",
    "EventLogFile": "the 'View Event Log Files' and 'API Enabled' permissions",
    "SetupAuditTrail": "the 'View Setup and Configuration' permission",
    "ObjectPermissions": "the 'View Setup and Configuration' permission",
    "ApiEvent": "Shield or the Event Monitoring add-on, and 'View Real-Time Event Monitoring Data'",
    "LoginEvent": "Shield or the Event Monitoring add-on, and 'View Real-Time Event Monitoring Data'",
    "ReportEvent": "Shield or the Event Monitoring add-on, and 'View Real-Time Event Monitoring Data'",
    "BulkApiResultEventStore": "Shield or the Event Monitoring add-on, and 'View Real-Time Event Monitoring Data'",
    "InstalledSubscriberPackage": "the Tooling API (use tooling_query)",
    "RemoteProxy": "the Tooling API (use tooling_query)",
    "TraceFlag": "the Tooling API (use tooling_query)",
    "DebugLevel": "the Tooling API (use tooling_query)",
}
_QUERY_CODES = frozenset(
    {
        "MALFORMED_QUERY",
        "INVALID_FIELD",
        "INVALID_QUERY_FILTER_OPERATOR",
        "INVALID_QUERY_LOCATOR",
        "QUERY_TIMEOUT",
        "NUMBER_OUTSIDE_VALID_RANGE",
    }
)
_ACCESS_CODES = frozenset({"INSUFFICIENT_ACCESS", "INSUFFICIENT_ACCESS_OR_READONLY", "INSUFFICIENT_PRIVILEGES"})
_UNAVAILABLE_CODES = frozenset(
    {
        "INVALID_TYPE",
        "API_DISABLED_FOR_ORG",
        "API_CURRENTLY_DISABLED",
        "FUNCTIONALITY_NOT_ENABLED",
        "FEATURE_NOT_ENABLED",
    }
)
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
_AUTH_HINTS = {
    "user hasn't approved this consumer": " (pre-authorize the user for the connected app: admin-approved users, "
    "via its profile or a permission set)",
    "no client credentials user enabled": " (set a Run As user in the connected app's client credentials flow)",
    "authentication failure": " (wrong username or password, or the user is frozen, inactive or locked out)",
}
_FROM_RE = re.compile(r"\bfrom\s+([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)


# ---------------------------------------------------------------------------------------------------------
# Credentials
# ---------------------------------------------------------------------------------------------------------


class OrgCredentials(BaseModel):
    """One way to log in to one org. Built by `app.credentials` from config + keyring; secrets are SecretStr.

    kind           needs                                          optional
    password       username, password                             security_token, domain, instance_url,
                                                                  consumer_key + consumer_secret (OAuth
                                                                  username-password flow instead of SOAP)
    jwt            username, consumer_key, private_key (PEM)      domain, instance_url
    client_credentials consumer_key, consumer_secret, and a My Domain (domain=acme.my or instance_url)
    session        session_id, instance_url
    `domain` is login | test | a My Domain (acme.my); `instance_url` may name the login host instead
    (https://acme.my.salesforce.com, or the simulated org's https://127.0.0.1:PORT). `ca` is a PEM file to
    trust instead of the system store.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    kind: LoginKind
    alias: str | None = None
    username: str | None = None
    password: SecretStr | None = None
    security_token: SecretStr | None = None
    consumer_key: str | None = None
    consumer_secret: SecretStr | None = None
    private_key: SecretStr | None = None
    session_id: SecretStr | None = None
    domain: str | None = None
    instance_url: str | None = None
    ca: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> OrgCredentials:
        missing = [f for f in _REQUIRED[self.kind] if not _plain(getattr(self, f))]
        if missing:
            raise ValueError(f"a {self.kind} login needs {', '.join(missing)}")
        if self.kind == "client_credentials" and _login_target(self)[0] in ("login", "test"):
            raise ValueError("client credentials log in at the org's My Domain: set domain (acme.my) or instance_url")
        return self

    def secret_values(self) -> list[str]:
        return [v for f in SECRET_FIELDS if (v := _plain(getattr(self, f)))]

    @property
    def label(self) -> str:
        return f"org {self.alias!r}" if self.alias else "the org"


def _plain(value: Any) -> str:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return value or ""


def _login_target(creds: OrgCredentials) -> tuple[str, str | None]:
    """(simple-salesforce `domain` label, override host or None). The override host is where the login goes
    when it is not a *.salesforce.com name (the simulated org)."""
    raw = creds.domain or ""
    if not raw and creds.instance_url and creds.kind != "session":
        raw = creds.instance_url
    if not raw:
        return "login", None
    text = raw.strip().rstrip("/")
    host = urlsplit(text if "://" in text else f"https://{text}").netloc.lower()
    bare = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if host.endswith(".salesforce.com"):
        return host[: -len(".salesforce.com")], None
    if bare not in _LOCAL_HOSTS and ":" not in host and ("." not in host or host.endswith(".my")):
        return host, None  # "login", "test", "acme.my"
    # Not a Salesforce login name: send the login there, under the standard label simple-salesforce expects.
    return ("override.my" if creds.kind == "client_credentials" else "login"), host


# ---------------------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------------------


class OrgError(WarroomError):
    """A Salesforce call that failed in a way the responder can act on."""

    default_code = "ORG_ERROR"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.code = (code or self.default_code).upper()
        self.status = status


class AuthFailed(OrgError):
    default_code = "AUTH_FAILED"


class SessionExpired(OrgError):
    default_code = "INVALID_SESSION_ID"


class InsufficientAccess(OrgError):
    default_code = "INSUFFICIENT_ACCESS"

    def __init__(
        self, message: str, *, code: str | None = None, status: int | None = None, permission: str | None = None
    ) -> None:
        super().__init__(message, code=code, status=status)
        self.permission = permission


class QueryFailed(OrgError):
    default_code = "MALFORMED_QUERY"


class ObjectUnavailable(QueryFailed):
    default_code = "INVALID_TYPE"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        sobject: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, code=code, status=status)
        self.sobject = sobject
        self.hint = hint


class QueryTruncated(OrgError):
    default_code = "QUERY_TRUNCATED"

    def __init__(self, message: str, *, records: list[dict[str, Any]], total: int) -> None:
        super().__init__(message)
        self.records = records
        self.total = total


class RecordNotFound(OrgError):
    default_code = "NOT_FOUND"


class RequestRefused(OrgError):
    default_code = "REQUEST_REFUSED"


class RateLimited(OrgError):
    default_code = "REQUEST_LIMIT_EXCEEDED"

    def __init__(self, message: str, *, usage: ApiUsage | None, status: int | None = 403) -> None:
        super().__init__(message, status=status)
        self.usage = usage


class ServerFailure(OrgError):
    default_code = "SERVER_ERROR"


class OrgTimeout(OrgError):
    default_code = "TIMEOUT"


class TlsFailure(OrgError):
    default_code = "TLS_FAILURE"


class Offline(OrgError):
    default_code = "OFFLINE"


class InvalidToken(OrgError):
    """Revoke answered `invalid_token`: the token no longer works (revoked, expired, or not this org's)."""

    default_code = "INVALID_TOKEN"


class RevokeRefused(OrgError):
    """Revoke answered 400 with another error (`unsupported_token_type`...): the token was not revoked."""

    default_code = "REVOKE_REFUSED"


# ---------------------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiUsage:
    used: int
    limit: int
    app: str | None = None
    app_used: int | None = None
    app_limit: int | None = None

    def __str__(self) -> str:
        text = f"{self.used}/{self.limit} API calls used"
        if self.app:
            text += f" ({self.app}: {self.app_used}/{self.app_limit})"
        return text


@dataclass(frozen=True)
class Truncation:
    sobject: str
    returned: int
    total: int


class Identity(BaseModel):
    """Who a login is, and in which org (answers `creds test`)."""

    user_id: str
    username: str | None
    display_name: str | None
    org_id: str
    org_name: str | None
    org_type: str | None
    is_sandbox: bool | None
    instance_url: str
    api_version: str


_LIMIT_RE = re.compile(r"api-usage=(\d+)/(\d+)")
_APP_LIMIT_RE = re.compile(r"per-app-api-usage=(\d+)/(\d+)\(appName=([^)]*)\)")


def parse_limit_info(header: str) -> ApiUsage | None:
    m = _LIMIT_RE.search(header)
    if not m:
        return None
    app = _APP_LIMIT_RE.search(header)
    return ApiUsage(
        int(m.group(1)),
        int(m.group(2)),
        app.group(3) if app else None,
        int(app.group(1)) if app else None,
        int(app.group(2)) if app else None,
    )


def strip_attributes(value: Any) -> Any:
    """`value` without the `attributes` keys Salesforce adds to every record and related record, removed in
    place: it is a response just decoded that nothing else holds, and copying every record of a large pull
    measured a tenth of its time. Only records (dicts) nested in records or in lists are visited."""
    if isinstance(value, dict):
        value.pop("attributes", None)
        for v in value.values():
            if isinstance(v, dict | list):
                strip_attributes(v)
    elif isinstance(value, list):
        for v in value:
            if isinstance(v, dict | list):
                strip_attributes(v)
    return value


# ---------------------------------------------------------------------------------------------------------
# Transport
# ---------------------------------------------------------------------------------------------------------


_Timeout = float | tuple[float, float] | tuple[float, None] | None  # as requests takes it: total, or (connect, read)


class _TimeoutAdapter(HTTPAdapter):
    """Every request gets a timeout (simple-salesforce passes none by default)."""

    def __init__(self, timeout: float) -> None:
        super().__init__(max_retries=0)
        self.timeout = timeout

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: _Timeout = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        return super().send(request, stream, self.timeout if timeout is None else timeout, verify, cert, proxies)


class _LoginHostAdapter(_TimeoutAdapter):
    """Sends what simple-salesforce addresses to https://<label>.salesforce.com to another https host."""

    def __init__(self, timeout: float, host: str) -> None:
        super().__init__(timeout)
        self.host = host

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: _Timeout = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        parts = urlsplit(request.url or "")
        request.url = urlunsplit(("https", self.host, parts.path, parts.query, parts.fragment))
        return super().send(request, stream, timeout, verify, cert, proxies)


def build_session(
    *, verify: str | bool, timeout: float, login_label: str, login_host: str | None, proxies: dict[str, str] | None
) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # otherwise REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override `verify`
    session.verify = verify
    adapter = _TimeoutAdapter(timeout)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    if login_host is not None:
        session.mount(f"https://{login_label}.salesforce.com", _LoginHostAdapter(timeout, login_host))
    if proxies:
        session.proxies.update(proxies)
    return session


def _proxies_for(host: str | None) -> dict[str, str]:
    """Honour HTTPS_PROXY/NO_PROXY by hand (trust_env is off), never for the local simulated org."""
    if host is None:
        return {}
    bare = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if bare in _LOCAL_HOSTS or urllib.request.proxy_bypass(bare):
        return {}
    env = urllib.request.getproxies()
    return {k: v for k, v in env.items() if k in ("http", "https")}


# ---------------------------------------------------------------------------------------------------------
# The org
# ---------------------------------------------------------------------------------------------------------

T = TypeVar("T")


class Org:
    """A logged-in org. Create with `Org.login(creds)`; see the module docstring for the API."""

    def __init__(
        self,
        creds: OrgCredentials,
        *,
        ca_path: str | Path | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        api_version: str = DEFAULT_API_VERSION,
        max_retries: int = 3,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.creds = creds
        self.alias = creds.alias or "org"
        self.kind = creds.kind
        self.api_version = api_version.lstrip("v")
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        self.backoff = max(0.0, backoff)
        self._sleep = sleep
        self._secrets = creds.secret_values()
        for value in self._secrets:
            register_secret(value)
        ca = ca_path if ca_path is not None else creds.ca
        if ca is not None and not Path(ca).is_file():
            raise TlsFailure(f"{creds.label}: CA file {ca} does not exist")
        self.ca_path = str(Path(ca).resolve()) if ca is not None else None
        self._label, self._login_host = _login_target(creds)
        target_host = self._login_host or urlsplit(creds.instance_url or "").netloc or f"{self._label}.salesforce.com"
        self.session = build_session(
            verify=self.ca_path or True,
            timeout=timeout,
            login_label=self._label,
            login_host=self._login_host,
            proxies=_proxies_for(target_host),
        )
        self.session.hooks["response"].append(self._on_response)
        self.api_usage: ApiUsage | None = None
        self.last_truncation: Truncation | None = None
        self._sf: Salesforce | None = None
        self._lock = threading.RLock()
        self._described: dict[tuple[str, bool], dict[str, Any]] = {}
        self._soap = False  # a SOAP login (logged out with logout()), else OAuth (its access token revoked)
        self.logout_error: str | None = None

    # -- login

    @classmethod
    def login(cls, creds: OrgCredentials, **options: Any) -> Org:
        """Log in now (so bad credentials fail here, with a clear error); options as for `Org(...)`."""
        org = cls(creds, **options)
        try:
            org._login()
        except BaseException:
            org.close()
            raise
        return org

    def __enter__(self) -> Org:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """End the API session this object opened (`app/salesforce/logout.py`), then drop the connections.
        `logout_error` says why the org did not confirm it (None: confirmed, or nothing to end)."""
        from app.salesforce.logout import end_session

        with self._lock:
            sf, self._sf = self._sf, None
        if sf is not None and self.kind != "session":
            self.logout_error = end_session(sf, soap=self._soap, api_version=self.api_version, timeout=self.timeout)
        self.session.close()

    @property
    def sf(self) -> Salesforce:
        if self._sf is None:
            self._login()
        assert self._sf is not None
        return self._sf

    @property
    def instance_url(self) -> str:
        return f"https://{self.sf.sf_instance}"

    def _login(self) -> None:
        with self._lock:
            c = self.creds
            if c.kind == "session":
                self._sf = self._guard(
                    lambda: Salesforce(
                        session_id=_plain(c.session_id),
                        instance_url=c.instance_url,
                        session=self.session,
                        version=self.api_version,
                        object_pairs_hook=dict,
                    )
                )
                return
            kwargs: dict[str, Any] = {"session": self.session, "domain": self._label, "sf_version": self.api_version}
            self._soap = c.kind == "password" and not (c.consumer_key and c.consumer_secret)
            if c.kind == "password":
                kwargs.update(username=c.username, password=_plain(c.password))
                if c.consumer_key and c.consumer_secret:
                    # OAuth username-password flow: the token is appended to the password, as in SOAP.
                    kwargs.update(
                        password=_plain(c.password) + _plain(c.security_token),
                        consumer_key=c.consumer_key,
                        consumer_secret=_plain(c.consumer_secret),
                    )
                else:
                    kwargs.update(security_token=_plain(c.security_token))
            elif c.kind == "jwt":
                kwargs.update(username=c.username, consumer_key=c.consumer_key, privatekey=_plain(c.private_key))
            else:
                kwargs.update(consumer_key=c.consumer_key, consumer_secret=_plain(c.consumer_secret))
            with warnings.catch_warnings():
                # simple-salesforce warns (with a login.salesforce.com URL) on "user hasn't approved this
                # consumer"; AuthFailed says the same to the responder.
                warnings.filterwarnings("ignore", category=UserWarning, module="simple_salesforce")
                session_id, instance = self._guard(lambda: SalesforceLogin(**kwargs))
            register_secret(session_id)
            self._secrets.append(session_id)
            self._sf = Salesforce(
                session_id=session_id,
                instance=instance,
                session=self.session,
                version=self.api_version,
                object_pairs_hook=dict,
            )

    # -- the call wrapper: re-login once, bounded backoff, typed errors

    def _call(self, fn: Callable[[Salesforce], T], *, idempotent: bool = True, what: str = "") -> T:
        relogged = False
        attempt = 0
        while True:
            try:
                return self._guard(lambda: fn(self.sf))
            except SessionExpired:
                if relogged or self.kind == "session":
                    raise
                relogged = True
                self._sf = None
                self._login()
            except RateLimited:
                if attempt >= self.max_retries:
                    raise
                self._sleep(min(8.0, self.backoff * 2**attempt))
                attempt += 1
            except ServerFailure:
                if not idempotent or attempt >= self.max_retries:
                    raise
                self._sleep(min(8.0, self.backoff * 2**attempt))
                attempt += 1

    def _guard(self, fn: Callable[[], T]) -> T:
        """Run one simple-salesforce/requests call and turn every failure into an OrgError."""
        label = self.creds.label
        try:
            return fn()
        except SalesforceAuthenticationFailed as exc:
            code = str(exc.code) if exc.code is not None else "AUTH_FAILED"
            reason = self._scrub(exc.auth_message)
            hint = _AUTH_HINTS.get(reason.strip().lower(), "")
            raise AuthFailed(f"{label}: login refused ({code}): {reason}{hint}", code=code, status=exc.status) from None
        except SalesforceError as exc:
            raise self._from_response(exc) from None
        except requests.exceptions.SSLError as exc:
            raise TlsFailure(
                f"{label}: TLS failure talking to {self._host()}: {self._tls_reason(exc)}. Check the "
                "CA file (ca) or the system trust store."
            ) from None
        except requests.exceptions.ConnectTimeout:
            raise Offline(
                f"{label}: cannot reach {self._host()} (connection timed out). The network or the org "
                "is down: switch to offline snapshots (warroom inventory/hunt on preserved evidence)."
            ) from None
        except requests.exceptions.Timeout:
            raise OrgTimeout(
                f"{label}: {self._host()} did not answer within {self.timeout:g}s; try again or raise the timeout"
            ) from None
        except requests.exceptions.ConnectionError as exc:
            if "ReadTimeout" in repr(exc.args):
                raise OrgTimeout(f"{label}: {self._host()} stopped sending within {self.timeout:g}s") from None
            raise Offline(
                f"{label}: cannot reach {self._host()} ({self._conn_reason(exc)}). The network or the "
                "org is down: switch to offline snapshots (warroom inventory/hunt on preserved "
                "evidence)."
            ) from None
        except requests.exceptions.RequestException as exc:
            raise OrgError(f"{label}: request failed ({type(exc).__name__})") from None

    def _from_response(self, exc: SalesforceError) -> OrgError:
        label = self.creds.label
        code, message = _first_error(exc.content)
        message = self._scrub(message)
        status = exc.status
        what = (
            f" ({exc.resource_name})" if exc.resource_name and exc.resource_name not in ("query", "query_more") else ""
        )
        if isinstance(exc, SalesforceExpiredSession) or code == "INVALID_SESSION_ID":
            return SessionExpired(
                f"{label}: session expired or invalid, and logging in again did not help"
                if self.kind != "session"
                else f"{label}: the session id is expired or invalid; store a fresh one",
                code="INVALID_SESSION_ID",
                status=status,
            )
        if code == "REQUEST_LIMIT_EXCEEDED":
            usage = self.api_usage
            return RateLimited(
                f"{label}: API request limit exceeded ({usage or 'usage unknown'}); calls resume "
                "when the 24-hour window frees up",
                usage=usage,
                status=status,
            )
        if code in _ACCESS_CODES:
            permission = _permission_in(message)
            need = f"; needs {permission}" if permission else ""
            return InsufficientAccess(
                f"{label}: insufficient access{what}{need}: {message}", code=code, status=status, permission=permission
            )
        if code in _UNAVAILABLE_CODES or (
            isinstance(exc, SalesforceResourceNotFound) and what and "describe" in str(exc.url)
        ):
            sobject = _sobject_in(message) or _sobject_in_url(str(exc.url))
            hint = OBJECT_REQUIREMENTS.get(sobject or "")
            extra = f" (it may need {hint})" if hint else ""
            return ObjectUnavailable(
                f"{label}: {sobject or 'object'} is not available to this login{extra}: {_last_line(message)}",
                code=code or "NOT_FOUND",
                status=status,
                sobject=sobject,
                hint=hint,
            )
        if code in _QUERY_CODES:
            return QueryFailed(f"{label}: {code}: {_last_line(message)}", code=code, status=status)
        if isinstance(exc, SalesforceResourceNotFound):
            return RecordNotFound(f"{label}: not found{what}: {message}", code=code or "NOT_FOUND", status=status)
        if isinstance(exc, SalesforceGeneralError) and (status or 0) >= 500:
            return ServerFailure(
                f"{label}: Salesforce server error {status} ({code or 'no code'}): {message}",
                code=code or "SERVER_ERROR",
                status=status,
            )
        if isinstance(exc, SalesforceMalformedRequest | SalesforceRefusedRequest | SalesforceGeneralError):
            return RequestRefused(
                f"{label}: refused{what} ({code or status}): {message}", code=code or None, status=status
            )
        return OrgError(f"{label}: {code or status}: {message}", code=code or None, status=status)

    def _on_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        info = response.headers.get("Sforce-Limit-Info")
        if info:
            usage = parse_limit_info(info)
            if usage is not None:
                self.api_usage = usage

    def _scrub(self, text: str | None) -> str:
        text = str(text or "")
        for value in self._secrets:
            if value and len(value) >= 4:
                text = text.replace(value, "[REDACTED]")
        return redact(text)

    def _host(self) -> str:
        if self._sf is not None:
            return self._sf.sf_instance
        return self._login_host or urlsplit(self.creds.instance_url or "").netloc or f"{self._label}.salesforce.com"

    @staticmethod
    def _tls_reason(exc: Exception) -> str:
        text = repr(exc)
        for needle, reason in (
            ("CERTIFICATE_VERIFY_FAILED", "certificate not trusted"),
            ("hostname mismatch", "certificate is for another host"),
            ("WRONG_VERSION_NUMBER", "the server does not speak TLS"),
            ("certificate has expired", "certificate expired"),
        ):
            if needle in text:
                return reason
        return "handshake failed"

    @staticmethod
    def _conn_reason(exc: Exception) -> str:
        text = repr(exc)
        for needle, reason in (
            ("Connection refused", "connection refused"),
            ("Name or service not known", "host name not found"),
            ("nodename nor servname", "host name not found"),
            ("Network is unreachable", "network unreachable"),
            ("Connection reset", "connection reset"),
        ):
            if needle in text:
                return reason
        return "connection failed"

    # -- queries

    def query_iter(
        self, soql: str, *, batch_size: int | None = None, include_deleted: bool = False
    ) -> Iterator[dict[str, Any]]:
        """Records of every page, fetched lazily (big hunts); attributes stripped."""
        headers = {"Sforce-Query-Options": f"batchSize={int(batch_size)}"} if batch_size else {}
        page = self._call(lambda sf: sf.query(soql, include_deleted=include_deleted, headers=headers))
        yield from self._pages(page, soql)

    def _pages(self, page: dict[str, Any], soql: str) -> Iterator[dict[str, Any]]:
        total = int(page.get("totalSize") or 0)
        served = 0
        self.last_truncation = None
        while True:
            records = page.get("records") or []
            served += len(records)
            for rec in records:
                yield strip_attributes(rec)
            if page.get("done", True) or not page.get("nextRecordsUrl"):
                break
            locator: str = page["nextRecordsUrl"]

            def more(sf: Salesforce, loc: str = locator) -> dict[str, Any]:
                return sf.query_more(loc, identifier_is_url=True)

            page = self._call(more)
        if served < total and not _is_count(soql):
            self.last_truncation = Truncation(_sobject_of(soql) or "?", served, total)

    def query(
        self, soql: str, *, batch_size: int | None = None, include_deleted: bool = False, strict: bool = False
    ) -> list[dict[str, Any]]:
        """All records (every page). When Salesforce stops paging early (OauthToken: 2,500 rows at most) the
        rows returned are kept and `last_truncation` says so; `strict=True` raises QueryTruncated instead."""
        records = list(self.query_iter(soql, batch_size=batch_size, include_deleted=include_deleted))
        return self._check_truncation(records, strict)

    def tooling_query(self, soql: str, *, strict: bool = False) -> list[dict[str, Any]]:
        page = self._call(lambda sf: sf.restful("tooling/query/", params={"q": soql}))
        records = list(self._pages(page or {"records": [], "done": True, "totalSize": 0}, soql))
        return self._check_truncation(records, strict)

    def _check_truncation(self, records: list[dict[str, Any]], strict: bool) -> list[dict[str, Any]]:
        t = self.last_truncation
        if t is not None and strict:
            raise QueryTruncated(
                f"{self.creds.label}: {t.sobject} query returned {t.returned} of {t.total} rows "
                "(Salesforce caps its paging); partition the query, e.g. by UserId",
                records=records,
                total=t.total,
            )
        return records

    def count(self, soql_or_sobject: str, where: str | None = None) -> int:
        text = soql_or_sobject.strip()
        if not text.lower().startswith("select"):
            text = f"SELECT COUNT() FROM {text}" + (f" WHERE {where}" if where else "")
        page = self._call(lambda sf: sf.query(text))
        if page.get("records") and "expr0" in page["records"][0]:
            return int(page["records"][0]["expr0"])
        return int(page.get("totalSize") or 0)

    # -- describe

    def describe(self, sobject: str, *, tooling: bool = False) -> dict[str, Any]:
        key = (sobject.lower(), tooling)
        cached = self._described.get(key)
        if cached is not None:
            return cached
        if tooling:
            result = self._call(lambda sf: sf.restful(f"tooling/sobjects/{sobject}/describe"))
        else:
            result = self._call(lambda sf: getattr(sf, sobject).describe())
        result = dict(result or {})
        self._described[key] = result
        return result

    def describe_fields(self, sobject: str, *, tooling: bool = False) -> set[str]:
        return {f["name"] for f in self.describe(sobject, tooling=tooling).get("fields", [])}

    # -- records

    def get(self, sobject: str, record_id: str) -> dict[str, Any]:
        return strip_attributes(self._call(lambda sf: getattr(sf, sobject).get(record_id)))

    def create(self, sobject: str, fields: dict[str, Any]) -> str:
        result = self._call(lambda sf: getattr(sf, sobject).create(fields), idempotent=False)
        return str(result["id"])

    def update(self, sobject: str, record_id: str, fields: dict[str, Any]) -> None:
        self._call(lambda sf: getattr(sf, sobject).update(record_id, fields))

    def delete(self, sobject: str, record_id: str) -> None:
        self._call(lambda sf: getattr(sf, sobject).delete(record_id))

    def tooling_delete(self, sobject: str, record_id: str) -> None:
        """DELETE a Tooling API record (tooling/sobjects/<sobject>/<id>), e.g. a TraceFlag."""
        self._call(lambda sf: sf.restful(f"tooling/sobjects/{sobject}/{record_id}", method="DELETE"))

    def tooling_update(self, sobject: str, record_id: str, fields: dict[str, Any]) -> None:
        """PATCH a Tooling API record (tooling/sobjects/<sobject>/<id>), e.g. a DebugLevel's log levels."""
        self._call(lambda sf: sf.restful(f"tooling/sobjects/{sobject}/{record_id}", method="PATCH", json=fields))

    def revoke_token(self, token: str) -> None:
        """POST the token to /services/oauth2/revoke in the form body. (simple-salesforce's `oauth2()` would
        put it in the query string, where proxies and access logs keep it.)"""

        def revoke(sf: Salesforce) -> None:
            response = sf.session.post(
                sf.oauth2_url + "revoke",
                data={"token": token},
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            if response.status_code == 200:
                return
            body = _json_or_none(response)
            if response.status_code == 400 and isinstance(body, dict) and body.get("error"):
                # Mobile SDK guide, "Revoking OAuth Tokens": every error is a 400 with `invalid_token` ("Token
                # was invalid": gone already, expired, or not this org's) or `unsupported_token_type` ("Token
                # type not supported": nothing was revoked). Only the first means the token no longer works.
                error = str(body["error"])
                if error == "invalid_token":
                    raise InvalidToken(
                        f"{self.creds.label}: revoke answered invalid_token: the token is already revoked, "
                        "expired or not a token of this org",
                        code="INVALID_TOKEN",
                        status=400,
                    )
                raise RevokeRefused(
                    f"{self.creds.label}: revoke refused the token ({error}"
                    + (f": {body['error_description']}" if body.get("error_description") else "")
                    + "): it was NOT revoked",
                    code=error.upper(),
                    status=400,
                )
            exception_handler(response, "revoke")

        self._call(revoke, idempotent=False)

    # -- Metadata API (app/salesforce/metadata.py)

    def read_metadata(self, mtype: str, full_names: list[str]) -> dict[str, dict[str, Any]]:
        """readMetadata: the components of type `mtype` found among `full_names`, by fullName."""
        from app.salesforce.metadata import read_components

        return self._call(lambda sf: self._metadata(lambda: read_components(sf, self.session, mtype, full_names)))

    def update_metadata(self, mtype: str, full_name: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Read the component, set the dotted-path `changes`, send it whole with updateMetadata; what was sent."""
        from app.salesforce.metadata import update_component

        return self._call(
            lambda sf: self._metadata(lambda: update_component(sf, self.session, mtype, full_name, changes)),
            idempotent=False,
        )

    def _metadata(self, fn: Callable[[], T]) -> T:
        from app.salesforce.metadata import MetadataFailed

        label = self.creds.label
        try:
            return fn()
        except MetadataFailed as exc:
            message = self._scrub(exc.message)
            if exc.code == "INVALID_SESSION_ID":
                raise SessionExpired(f"{label}: session expired or invalid", code=exc.code) from None
            if exc.code in _ACCESS_CODES:
                raise InsufficientAccess(
                    f"{label}: insufficient access (Metadata API): {message}", code=exc.code, permission=None
                ) from None
            if exc.code == "REQUEST_LIMIT_EXCEEDED":
                raise RateLimited(f"{label}: API request limit exceeded", usage=self.api_usage) from None
            if exc.code in ("NOT_FOUND", "INVALID_CROSS_REFERENCE_KEY"):
                raise RecordNotFound(f"{label}: Metadata API: {message}", code=exc.code) from None
            raise RequestRefused(f"{label}: Metadata API refused ({exc.code}): {message}", code=exc.code) from None

    # -- downloads

    @overload
    def download(self, path: str) -> bytes: ...

    @overload
    def download(self, path: str, target: Path, *, progress: Callable[[int], None] | None = None) -> int: ...

    def download(
        self, path: str, target: Path | None = None, *, progress: Callable[[int], None] | None = None
    ) -> bytes | int:
        """GET a binary resource (EventLogFile LogFile, ApexLog Body, ContentVersion VersionData).
        Without `target` the bytes are returned; with it they are streamed to `target` (written to a
        temporary file beside it and renamed when complete) and the byte count is returned."""
        if target is None:
            return self._call(lambda sf: self._get(sf, path, stream=False).content)
        return self._call(lambda sf: self._stream_to(sf, path, Path(target), progress))

    def _url(self, sf: Salesforce, path: str) -> str:
        if path.startswith("https://"):
            if urlsplit(path).netloc != sf.sf_instance:
                raise RequestRefused(f"{self.creds.label}: refusing to send the session to another host")
            return path
        if path.startswith("/"):
            return f"https://{sf.sf_instance}{path}"
        return sf.base_url + path

    def _get(self, sf: Salesforce, path: str, *, stream: bool) -> requests.Response:
        response = sf.session.get(self._url(sf, path), headers=sf.headers, stream=stream)
        if response.status_code >= 300:
            exception_handler(response, "download")
        return response

    def _stream_to(self, sf: Salesforce, path: str, target: Path, progress: Callable[[int], None] | None) -> int:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        written = 0
        try:
            with os.fdopen(fd, "wb") as out, self._get(sf, path, stream=True) as response:
                for chunk in response.iter_content(chunk_size=1 << 16):
                    out.write(chunk)
                    written += len(chunk)
                    if progress is not None:
                        progress(written)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return written

    # -- identity

    def identity(self) -> Identity:
        info: dict[str, Any] = {}
        with contextlib.suppress(OrgError):
            info = self._call(lambda sf: sf.oauth2("userinfo") or {})
        user_id = str(info.get("user_id") or "")
        username = info.get("preferred_username")
        name = info.get("name")
        if not user_id and self.creds.username:
            esc = self.creds.username.replace("\\", "\\\\").replace("'", "\\'")
            rows = self.query(f"SELECT Id, Username, Name FROM User WHERE Username = '{esc}'")
            if rows:
                user_id, username, name = rows[0]["Id"], rows[0].get("Username"), rows[0].get("Name")
        orgs = self.query("SELECT Id, Name, OrganizationType, IsSandbox FROM Organization LIMIT 1")
        org = orgs[0] if orgs else {}
        return Identity(
            user_id=user_id or "unknown",
            username=username,
            display_name=name,
            org_id=str(org.get("Id") or info.get("organization_id") or "unknown"),
            org_name=org.get("Name"),
            org_type=org.get("OrganizationType"),
            is_sandbox=org.get("IsSandbox"),
            instance_url=self.instance_url,
            api_version=self.api_version,
        )


# ---------------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------------


def _first_error(content: Any) -> tuple[str, str]:
    """(errorCode, message) from Salesforce's error list, a bare error object or an OAuth error."""
    if isinstance(content, list) and content and isinstance(content[0], dict):
        item = content[0]
        return str(item.get("errorCode") or "").upper(), str(item.get("message") or "")
    if isinstance(content, dict):
        if "errorCode" in content:
            return str(content.get("errorCode") or "").upper(), str(content.get("message") or "")
        if "error" in content:
            return str(content.get("error") or "").upper(), str(content.get("error_description") or "")
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    text = str(content or "").strip()
    return "", (text[:300] + "…") if len(text) > 300 else text


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _permission_in(message: str) -> str | None:
    m = re.search(r"['\"]([A-Z][A-Za-z ]+?)['\"] permission", message) or re.search(
        r"permission[s]?\s*(?:required)?[:\s]+['\"]?([A-Z][A-Za-z ]+?)['\"]?(?:[.;,]|$)", message
    )
    return m.group(1).strip() if m else None


def _sobject_in(message: str) -> str | None:
    m = re.search(r"sObject type '([^']+)'", message)
    return m.group(1) if m else None


def _sobject_in_url(url: str) -> str | None:
    m = re.search(r"/sobjects/([A-Za-z0-9_]+)", url)
    return m.group(1) if m else None


def _sobject_of(soql: str) -> str | None:
    m = _FROM_RE.search(soql)
    return m.group(1) if m else None


def _is_count(soql: str) -> bool:
    return re.match(r"\s*select\s+count\s*\(", soql, re.IGNORECASE) is not None


def _last_line(message: str) -> str:
    lines = [ln for ln in message.strip().splitlines() if ln.strip()]
    if not lines:
        return message
    loc = next((ln for ln in lines if ln.startswith("ERROR at Row")), None)
    return f"{lines[-1]} ({loc.replace('ERROR at ', '')})" if loc and loc != lines[-1] else lines[-1]
