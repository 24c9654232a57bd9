"""Ending the API session a command opened, so ten commands leave no session open on the org.

Two documented calls, one per kind of login:
- a SOAP login (username, password and security token, no connected app) ends with the SOAP API's `logout()`:
  "Ends the session of the logged-in user", identified by the sessionId in the SessionHeader; it takes no
  arguments and returns nothing (SOAP API Developer Guide, "logout()",
  developer.salesforce.com/docs/platform/api/guide/sforce-api-calls-logout.html);
- an OAuth login (JWT bearer, client credentials, OAuth username-password) ends by revoking its access token at
  /services/oauth2/revoke, POSTed form-encoded: "If an access token is included, Salesforce invalidates it and
  revokes the token"; 200 on success, 400 with invalid_token or unsupported_token_type otherwise (Mobile SDK
  Developer Guide, "Revoking OAuth Tokens").
simple-salesforce offers neither call, so both are sent over its session. A session handed to warroom (kind
"session") belongs to whoever created it and is never ended here.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

import requests

SOAP_LOGOUT = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:partner.soap.sforce.com">'
    "<env:Header><urn:SessionHeader><urn:sessionId>{session_id}</urn:sessionId></urn:SessionHeader></env:Header>"
    "<env:Body><urn:logout/></env:Body></env:Envelope>"
)


def end_session(sf: Any, *, soap: bool, api_version: str, timeout: float) -> str | None:
    """Log `sf` (a logged-in simple_salesforce.Salesforce) out; None when the org confirmed it, else why not."""
    session: requests.Session = sf.session
    try:
        if soap:
            response = session.post(
                f"https://{sf.sf_instance}/services/Soap/u/{api_version}",
                data=SOAP_LOGOUT.format(session_id=escape(sf.session_id)).encode("utf-8"),
                headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": "logout"},
                timeout=timeout,
            )
        else:
            response = session.post(
                sf.oauth2_url + "revoke",
                data={"token": sf.session_id},
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                timeout=timeout,
            )
    except requests.RequestException as exc:
        return f"logout not confirmed: {type(exc).__name__}"
    if response.status_code == 200:
        return None
    return f"logout not confirmed: HTTP {response.status_code}"
