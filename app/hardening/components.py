"""Hardening as Metadata API components: the connected app's OAuth policies deployed with updateMetadata through
containment's path (one `update_metadata` step), and the components read back to verify (readMetadata).

Metadata API Developer Guide, ConnectedApp (metadata-connectedapp.html; the WSDL's ConnectedApp type):
`oauthConfig` (ConnectedAppOauthConfig) carries `isAdminApproved` (boolean: "Admin approved users are
pre-authorized"); `oauthPolicy` (ConnectedAppOauthPolicy) carries `ipRelaxation` and `refreshTokenPolicy`
(strings, both required); `sessionPolicy` (ConnectedAppSessionPolicy) carries policyAction, sessionLevel and
sessionTimeout. The reference names these fields without listing their values: "ENFORCE" and
"specific_lifetime:N:DAYS" are the values retrieved connectedApp files show (public source repositories hold
`<ipRelaxation>ENFORCE</ipRelaxation>` and `<refreshTokenPolicy>specific_lifetime:90:DAYS</refreshTokenPolicy>`).
Session policies are not deployed: the values sessionTimeout and policyAction accept are not documented, so
they stay a manual task whose result is read back.

TransactionSecurityPolicy (metadata-transactionsecuritypolicy.html): `action` (block, endSession, freezeUser,
notifications, twoFactorAuthentication), `active`, `eventName` (ReportEvent, ApiEvent...), `type`
(CustomApexPolicy, CustomConditionBuilderPolicy) and the condition's home, `apexClass` or `flow`. The condition
itself is another component (an Apex class implementing TxnSecurity.EventCondition, or a flow), which this tool
does not write; so the policies are created in Setup (a manual task) under the API names below, and verified
here with readMetadata.

A connected app installed from a package is the package's component: its policies are set in Setup, and the
plan says so when readMetadata finds no component of that name.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from app.base.errors import WarroomError

if TYPE_CHECKING:
    from app.salesforce.protocol import OrgClient

CONNECTED_APP = "ConnectedApp"
TRANSACTION_SECURITY = "TransactionSecurityPolicy"
IP_ENFORCED = "ENFORCE"
# The Transaction Security policies the plan asks for, by API name: (event, what they catch).
POLICIES: dict[str, tuple[str, str]] = {
    "Block_Large_Report_Exports": ("ReportEvent", "a report export of more rows than the largest legitimate one"),
    "Block_Api_From_Unknown_Addresses": ("ApiEvent", "API use from outside the integrations' known ranges"),
}


def default_full_name(app: str) -> str:
    """A connected app's API name as Setup proposes it from the app's name (spaces and punctuation as "_")."""
    return re.sub(r"\W+", "_", app).strip("_")


def refresh_policy(days: int) -> str:
    return f"specific_lifetime:{days}:DAYS"


def desired_policies(refresh_days: int) -> dict[str, Any]:
    """The settings deployed, as dotted paths into the ConnectedApp component."""
    return {
        "oauthConfig.isAdminApproved": True,
        "oauthPolicy.ipRelaxation": IP_ENFORCED,
        "oauthPolicy.refreshTokenPolicy": refresh_policy(refresh_days),
    }


def read_component(org: OrgClient, mtype: str, name: str) -> tuple[dict[str, Any] | None, str | None]:
    """(the component, None), (None, None) when there is no such component, (None, why) when it cannot be read."""
    try:
        return org.read_metadata(mtype, [name]).get(name), None
    except WarroomError as exc:
        return None, str(exc)


def check_app_component(org: OrgClient, name: str) -> dict[str, Any]:
    """The deployed policies read back: met, not met, or unknown (never assumed)."""
    comp, why = read_component(org, CONNECTED_APP, name)
    out: dict[str, Any] = {"call": f"readMetadata({CONNECTED_APP}, [{name!r}])"}
    if why is not None:
        return {**out, "state": "unknown", "why": why}
    if comp is None:
        return {
            **out,
            "state": "unknown",
            "why": f"no {CONNECTED_APP} component named {name!r} (installed apps: Setup)",
        }
    config, policy = comp.get("oauthConfig") or {}, comp.get("oauthPolicy") or {}
    gaps = []
    if config.get("isAdminApproved") is not True:
        gaps.append("users may self-authorize (isAdminApproved is not true)")
    if policy.get("ipRelaxation") != IP_ENFORCED:
        gaps.append(f"IP restrictions are relaxed (ipRelaxation {policy.get('ipRelaxation')!r})")
    if str(policy.get("refreshTokenPolicy") or "infinite") == "infinite":
        gaps.append("refresh tokens are valid until revoked")
    session = comp.get("sessionPolicy") or {}
    return {
        **out,
        "state": "not met" if gaps else "met",
        "is_admin_approved": config.get("isAdminApproved"),
        "ip_relaxation": policy.get("ipRelaxation"),
        "refresh_token_policy": policy.get("refreshTokenPolicy"),
        "session_policy": session or None,
        "session_policy_state": "set" if session else "not set",
        "gaps": gaps,
    }


def check_policies(org: OrgClient) -> dict[str, Any]:
    """The Transaction Security policies the plan asked for, read back: each active, blocking or notifying."""
    names = list(POLICIES)
    call = f"readMetadata({TRANSACTION_SECURITY}, {names!r})"
    try:
        found = org.read_metadata(TRANSACTION_SECURITY, names)
    except WarroomError as exc:
        return {"state": "unknown", "call": call, "why": str(exc)}
    policies: dict[str, str] = {}
    for name, (event, _what) in POLICIES.items():
        comp = found.get(name)
        action = (comp or {}).get("action") or {}
        if comp is None:
            policies[name] = "missing"
        elif comp.get("active") is not True:
            policies[name] = "inactive"
        elif comp.get("eventName") != event:
            policies[name] = f"watches {comp.get('eventName')!r}, not {event}"
        elif not (action.get("block") is True or action.get("notifications")):
            policies[name] = "neither blocks nor notifies"
        else:
            policies[name] = "active"
    met = all(v == "active" for v in policies.values())
    return {"state": "met" if met else "not met", "call": call, "policies": policies}
