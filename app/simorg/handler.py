"""HTTP front of the simulated org: Salesforce's REST, OAuth and SOAP-login routes, plus a small admin API.

It only translates between HTTP and `Store`; the shapes (query pages, error lists, SOAP envelopes, the
`Sforce-Limit-Info` header) follow what simple-salesforce and real clients parse. Every failure leaves as a
Salesforce-style body; a bug in the simulator becomes `UNKNOWN_EXCEPTION`, never a Python traceback.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import socket
import traceback
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

from app.simorg.metadata import MetadataFault, fault_body
from app.simorg.store import ApiError, LoginFault, OAuthError, Session, Store

if TYPE_CHECKING:
    from app.simorg.server import SimOrg, _Server

API_VERSIONS = [f"{v}.0" for v in range(31, 66)]
_VERSION_RE = re.compile(r"^/services/data/v(\d+\.\d)(/.*)?$")
_SOAP_RE = re.compile(r"^/services/Soap/u/(\d+\.\d)(/.*)?$")
_METADATA_RE = re.compile(r"^/services/Soap/m/(\d+\.\d)(/.*)?$")
_BATCH_RE = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)


class Reply:
    def __init__(
        self, status: int, body: bytes = b"", content_type: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers or {}


def json_reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Reply(status, body, "application/json;charset=UTF-8", headers)


def _soap_fault(code: str, message: str, fault: str = "LoginFault") -> Reply:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault>'
        f"<faultcode>sf:{escape(code)}</faultcode><faultstring>{escape(code)}: {escape(message)}</faultstring>"
        f'<detail><sf:{fault} xsi:type="sf:{fault}">'
        f"<sf:exceptionCode>{escape(code)}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage>"
        f"</sf:{fault}></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return Reply(500, body.encode("utf-8"), "text/xml;charset=UTF-8")


class SimHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SFDC"
    sys_version = ""
    timeout = 60

    # -- plumbing

    server: _Server  # the simulated org's server that built this handler

    @property
    def sim(self) -> SimOrg:
        return self.server.sim

    @property
    def store(self) -> Store:
        return self.sim.store

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in separate writes: without this, Nagle + delayed ACK add ~40 ms per call.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sim.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.sim.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        if self.sim.verbose:
            # The request line can carry a DeleteToken (revoke's query string); keep it out of logs.
            text = re.sub(r"token=[^&\s\"]+", "token=[REDACTED]", format % args)
            self.sim.log(f"{self.address_string()} {text}")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def _send(self, reply: Reply, method: str) -> None:
        self.send_response(reply.status)
        if reply.content_type:
            self.send_header("Content-Type", reply.content_type)
        for k, v in reply.headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if method != "HEAD" and reply.body:
            self.wfile.write(reply.body)

    def _dispatch(self, method: str) -> None:
        try:
            length = max(0, int(self.headers.get("Content-Length") or 0))
        except ValueError:
            length = 0
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        try:
            if path.startswith("/__sim/"):
                reply = self.sim.admin(method, path, body)
            else:
                self.sim.received.append((method, path))
                self.sim.pause()
                reply = self._route(method, path, query, body)
        except ApiError as exc:
            reply = json_reply(exc.status, exc.body(), self._limit_header(None))
        except OAuthError as exc:
            reply = json_reply(exc.status, {"error": exc.error, "error_description": exc.description})
        except LoginFault as exc:
            reply = _soap_fault(exc.code, exc.message)
        except Exception:  # a simulator bug must still look like Salesforce, not a traceback
            self.sim.log("internal error:\n" + traceback.format_exc())
            reply = json_reply(500, [{"message": "An unexpected error occurred.", "errorCode": "UNKNOWN_EXCEPTION"}])
        self._send(reply, method)

    def _limit_header(self, session: Session | None) -> dict[str, str]:
        return {"Sforce-Limit-Info": self.store.limit_info(session)}

    def _client_ip(self) -> str:
        return self.headers.get("X-Sim-Client-Ip") or self.client_address[0]

    # -- routing

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> Reply:
        if path.rstrip("/") == "/services/data":
            versions = [{"label": f"API {v}", "url": f"/services/data/v{v}", "version": v} for v in API_VERSIONS]
            return json_reply(200, versions)
        m = _VERSION_RE.match(path)
        if m:
            version, rest = m.group(1), (m.group(2) or "/")
            if version not in API_VERSIONS:
                raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
            return self._api(method, version, rest.strip("/"), query, body)
        m = _SOAP_RE.match(path)
        if m and method == "POST":
            return self._soap(m.group(1), body)
        m = _METADATA_RE.match(path)
        if m and method == "POST":
            return self._metadata(body)
        if path.rstrip("/") == "/services/oauth2/token" and method == "POST":
            return self._oauth_token(body)
        if path.rstrip("/") == "/services/oauth2/revoke" and method in ("POST", "GET"):
            return self._revoke(query, body)
        if path.rstrip("/") == "/services/oauth2/userinfo" or path.startswith("/id/"):
            session = self._session()
            return json_reply(200, self.store.userinfo(session))
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")

    def _session(self) -> Session:
        auth = self.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        session = self.store.session_for(token.strip()) if scheme.lower() in ("bearer", "oauth") else None
        if session is None:
            raise ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
        return session

    def _api(self, method: str, version: str, rest: str, query: dict[str, list[str]], body: bytes) -> Reply:
        session = self._session()
        verdict = self.sim.faults.on_api_call(" ".join([rest, *query.get("q", [])]))
        store = self.store
        if verdict is None and store.api_used >= store.org.api_limit:
            verdict = self.sim.faults_rate_limited
        if verdict is not None:
            return json_reply(
                verdict.status, [{"message": verdict.message, "errorCode": verdict.code}], self._limit_header(session)
            )
        store.count_api_call()
        headers = self._limit_header(session)
        uid = session.user_id
        parts = rest.split("/") if rest else []
        api = "rest"
        if parts and parts[0] == "tooling":
            api = "tooling"
            parts = parts[1:]
        if not parts:
            base = f"/services/data/v{version}"
            resources = {name: f"{base}/{name}" for name in ("sobjects", "query", "queryAll", "tooling", "limits")}
            return json_reply(200, resources, headers)
        head = parts[0]
        if head in ("query", "queryAll") and method == "GET":
            if len(parts) == 2:
                return json_reply(200, store.query_more(parts[1], api=api, version=version), headers)
            soql = (query.get("q") or [""])[0]
            m = _BATCH_RE.search(self.headers.get("Sforce-Query-Options", ""))
            page = store.query(
                soql,
                user_id=uid,
                api=api,
                include_deleted=head == "queryAll",
                batch_size=int(m.group(1)) if m else None,
                version=version,
            )
            return json_reply(200, page, headers)
        if head == "limits" and api == "rest" and method == "GET":
            limit = store.org.api_limit
            return json_reply(
                200, {"DailyApiRequests": {"Max": limit, "Remaining": max(0, limit - store.api_used)}}, headers
            )
        if head == "sobjects":
            return self._sobjects(method, version, api, parts[1:], query, body, uid, headers)
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")

    def _sobjects(
        self,
        method: str,
        version: str,
        api: str,
        parts: list[str],
        query: dict[str, list[str]],
        body: bytes,
        uid: str,
        headers: dict[str, str],
    ) -> Reply:
        store = self.store
        if not parts:
            if method != "GET":
                raise _method_not_allowed(method)
            return json_reply(200, store.global_describe(user_id=uid, api=api, version=version), headers)
        sobject = parts[0]
        if len(parts) == 1:
            if method == "GET":
                summary = store.describe(sobject, user_id=uid, api=api, version=version)
                summary.pop("fields", None)
                return json_reply(200, {"objectDescribe": summary, "recentItems": []}, headers)
            if method == "POST":
                new_id = store.create(sobject, _json_body(body), user_id=uid, api=api)
                return json_reply(201, {"id": new_id, "success": True, "errors": []}, headers)
            raise _method_not_allowed(method)
        if parts[1] == "describe" and len(parts) == 2:
            if method != "GET":
                raise _method_not_allowed(method)
            return json_reply(200, store.describe(sobject, user_id=uid, api=api, version=version), headers)
        record_id = parts[1]
        if len(parts) == 2:
            if method == "GET":
                fields = [f for f in (query.get("fields") or [""])[0].split(",") if f] or None
                return json_reply(
                    200,
                    store.retrieve(sobject, record_id, user_id=uid, api=api, version=version, fields=fields),
                    headers,
                )
            if method == "PATCH":
                store.update(sobject, record_id, _json_body(body), user_id=uid, api=api)
                return Reply(204, headers=headers)
            if method == "DELETE":
                store.delete(sobject, record_id, user_id=uid, api=api)
                return Reply(204, headers=headers)
            raise _method_not_allowed(method)
        if len(parts) == 3 and sobject.lower() == "user" and parts[2] == "password":
            if method == "GET":
                store.retrieve("User", record_id, user_id=uid, api=api, version=version)
                return json_reply(200, {"isExpired": False}, headers)
            if method == "POST":
                new = _json_body(body).get("NewPassword")
                if not isinstance(new, str) or not new:
                    raise ApiError(400, "JSON_PARSER_ERROR", "NewPassword is required")
                store.password_reset(record_id, user_id=uid, new_password=new)
                return Reply(204, headers=headers)
            if method == "DELETE":
                generated = store.password_reset(record_id, user_id=uid, new_password=None)
                return json_reply(200, {"NewPassword": generated}, headers)
            raise _method_not_allowed(method)
        if len(parts) == 3 and method == "GET":
            data = store.blob(sobject, record_id, parts[2], user_id=uid, api=api)
            kind = "application/octetstream" if sobject.lower() == "eventlogfile" else "text/plain;charset=UTF-8"
            return Reply(200, data, kind, headers)
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")

    def _metadata(self, body: bytes) -> Reply:
        """The Metadata API's SOAP calls (app/simorg/metadata.py); a fault is an HTTP 500 with its envelope."""
        try:
            return Reply(200, self.sim.metadata.call(body), "text/xml;charset=UTF-8")
        except MetadataFault as exc:
            return Reply(500, fault_body(exc.code, exc.message), "text/xml;charset=UTF-8")

    # -- logins

    def _soap(self, version: str, body: bytes) -> Reply:
        """The Partner SOAP endpoint serves two calls here: login() and logout()."""
        try:
            root = ET.fromstring(body)
        except ET.ParseError:
            raise LoginFault(
                "INVALID_LOGIN", "Invalid username, password, security token; or user locked out."
            ) from None
        if any(el.tag.rsplit("}", 1)[-1] == "logout" for el in root.iter()):
            return self._soap_logout(root)
        return self._soap_login(version, root)

    def _soap_logout(self, root: ET.Element) -> Reply:
        """SOAP API logout(): "Ends the session of the logged-in user", identified by the sessionId in the
        SessionHeader; no arguments, void result (developer.salesforce.com/docs/platform/api/guide/
        sforce-api-calls-logout.html). A session already ended answers INVALID_SESSION_ID."""
        session_id = next((el.text or "" for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "sessionId"), "")
        if not self.store.end_session(session_id.strip()):
            return _soap_fault(
                "INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader", "UnexpectedErrorFault"
            )
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
            'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com">'
            "<soapenv:Body><logoutResponse/></soapenv:Body></soapenv:Envelope>"
        )
        return Reply(200, xml.encode("utf-8"), "text/xml;charset=UTF-8")

    def _soap_login(self, version: str, root: ET.Element) -> Reply:
        found: dict[str, str] = {}
        for el in root.iter():
            local = el.tag.rsplit("}", 1)[-1]
            if local in ("username", "password", "client") and local not in found:
                found[local] = el.text or ""
        if "username" not in found:
            raise LoginFault("INVALID_LOGIN", "Invalid username, password, security token; or user locked out.")
        session = self.store.soap_login(
            found["username"], found.get("password", ""), found.get("client", ""), self._client_ip(), version
        )
        store = self.store
        org15 = store.org.id[:15]
        user = store.lookup("User", session.user_id) or {}
        base = store.base_url
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
            'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><loginResponse><result>'
            f"<metadataServerUrl>{base}/services/Soap/m/{version}/{org15}</metadataServerUrl>"
            "<passwordExpired>false</passwordExpired><sandbox>false</sandbox>"
            f"<serverUrl>{base}/services/Soap/u/{version}/{org15}</serverUrl>"
            f"<sessionId>{escape(session.token)}</sessionId><userId>{session.user_id}</userId>"
            "<userInfo><accessibilityMode>false</accessibilityMode><currencySymbol>$</currencySymbol>"
            f"<orgAttachmentFileSizeLimit>5242880</orgAttachmentFileSizeLimit><orgDefaultCurrencyIsoCode>USD"
            f"</orgDefaultCurrencyIsoCode><orgDisallowHtmlAttachments>false</orgDisallowHtmlAttachments>"
            f"<orgHasPersonAccounts>false</orgHasPersonAccounts><organizationId>{store.org.id}</organizationId>"
            f"<organizationMultiCurrency>false</organizationMultiCurrency>"
            f"<organizationName>{escape(store.org.name)}</organizationName>"
            f'<profileId>{user.get("ProfileId", "")}</profileId><roleId xsi:nil="true"/>'
            f"<sessionSecondsValid>7200</sessionSecondsValid><userEmail>{escape(str(user.get('Email', '')))}"
            f"</userEmail><userFullName>{escape(str(user.get('Name', '')))}</userFullName>"
            f"<userId>{session.user_id}</userId><userLanguage>en_US</userLanguage><userLocale>en_US</userLocale>"
            f"<userName>{escape(str(user.get('Username', '')))}</userName>"
            "<userTimeZone>America/Los_Angeles</userTimeZone><userType>Standard</userType>"
            "<userUiSkin>Theme3</userUiSkin></userInfo></result></loginResponse></soapenv:Body></soapenv:Envelope>"
        )
        return Reply(200, xml.encode("utf-8"), "text/xml;charset=UTF-8")

    def _oauth_token(self, body: bytes) -> Reply:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        grant = form.get("grant_type", "")
        ip = self._client_ip()
        store = self.store
        if grant == "password":
            session = store.oauth_password(form, ip)
        elif grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            session = store.oauth_jwt(form.get("assertion", ""), ip)
        elif grant == "client_credentials":
            key, secret = _basic_auth(self.headers.get("Authorization", ""))
            if key is None:
                key, secret = form.get("client_id", ""), form.get("client_secret", "")
            session = store.oauth_client_credentials(key, secret or "", ip)
        else:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
        issued = str(int(store.now().timestamp() * 1000))
        signature = base64.b64encode(session.token[-24:].encode()).decode()
        return json_reply(
            200,
            {
                "access_token": session.token,
                "signature": signature,
                "scope": "api",
                "instance_url": store.base_url,
                "id": f"{store.base_url}/id/{store.org.id}/{session.user_id}",
                "token_type": "Bearer",
                "issued_at": issued,
            },
        )

    def _revoke(self, query: dict[str, list[str]], body: bytes) -> Reply:
        """Mobile SDK guide, "Revoking OAuth Tokens": 200 on success; "for all error conditions, Salesforce
        returns a 400 status code" with `unsupported_token_type` ("Token type not supported") or
        `invalid_token` ("Token was invalid"). A token already revoked, expired or unknown is invalid_token;
        unsupported_token_type is served only when the `revoke_unsupported` fault asks for it."""
        token = (query.get("token") or [""])[0]
        if not token and body:
            form = parse_qs(body.decode("utf-8", "replace"))
            token = (form.get("token") or [""])[0]
        if self.sim.faults.on_revoke():
            raise OAuthError("unsupported_token_type", "Token type not supported")
        if not self.store.revoke(token):
            raise OAuthError("invalid_token", "Token was invalid")
        return Reply(200)


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body.decode("utf-8") or "{}")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of sObject from an array")
    return data


def _basic_auth(header: str) -> tuple[str | None, str | None]:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        key, _, secret = base64.b64decode(value.strip()).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    return key, secret


def _method_not_allowed(method: str) -> ApiError:
    return ApiError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are GET,HEAD")
