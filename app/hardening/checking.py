"""Hardening checked by reading it back: the connected app's OAuth policies from ConnectedApplication (query) and
from its ConnectedApp component (readMetadata: IP relaxation and session policies too), the Transaction Security
policies the plan asked for (readMetadata), and the trace flags left on integration users (Tooling API's
TraceFlag); what was found is journaled (`harden.checked`), including what could not be read ("unknown", never
assumed hardened).

`passed` is true only when every check is met; the component's check may instead be "unknown" because the app
has no component of its own (installed from a package), in which case the ConnectedApplication query decides."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.base.clock import format_instant
from app.base.errors import WarroomError
from app.hardening.components import check_app_component, check_policies, default_full_name
from app.hardening.tasks import TRACE_FIELDS, app_query

if TYPE_CHECKING:
    from app.incident.core import Incident
    from app.journal.entries import Entry
    from app.salesforce.protocol import OrgClient

CHECK_KIND = "harden.checked"
CHECKS = ("connected_app_policies", "connected_app_component", "transaction_security", "debug_log_hygiene")


def check_detail(result: dict[str, Any]) -> str:
    """What one check found, in a line: why it is unknown, the gaps, the trace flags left, or the policies."""
    policies = ", ".join(f"{k} {v}" for k, v in (result.get("policies") or {}).items())
    return (
        result.get("why") or "; ".join(result.get("gaps", [])) or ", ".join(result.get("trace_flags", [])) or policies
    )


def _app(org: OrgClient, app: str) -> dict[str, Any]:
    query = app_query(app)
    try:
        rows = org.query(query)
    except WarroomError as exc:
        return {"state": "unknown", "query": query, "why": str(exc)}
    if not rows:
        return {"state": "unknown", "query": query, "why": f"no connected app named {app!r}"}
    row = rows[0]
    gaps = []
    if row.get("OptionsAllowAdminApprovedUsersOnly") is not True:
        gaps.append("users may self-authorize")
    if not row.get("RefreshTokenValidityPeriod"):
        gaps.append("refresh tokens do not expire")
    return {
        "state": "not met" if gaps else "met",
        "query": query,
        "admin_approved_only": row.get("OptionsAllowAdminApprovedUsersOnly"),
        "refresh_token_validity": row.get("RefreshTokenValidityPeriod"),
        "session_policy": row.get("OptionsHasSessionLevelPolicy"),
        "gaps": gaps,
    }


def _traces(org: OrgClient) -> dict[str, Any]:
    from app.containment.sources import LiveSource

    query = f"SELECT {TRACE_FIELDS} FROM TraceFlag"
    try:
        integration = {u[:15] for u in LiveSource(org).integration_users()}
        left = [t["Id"] for t in org.tooling_query(query) if str(t.get("TracedEntityId"))[:15] in integration]
    except WarroomError as exc:
        return {"state": "unknown", "query": query, "why": str(exc)}
    return {"state": "not met" if left else "met", "query": query, "trace_flags": left}


def passed(data: dict[str, Any]) -> bool:
    """Every check met (a component that does not exist is left to the ConnectedApplication query)."""
    required = ("connected_app_policies", "debug_log_hygiene", "transaction_security")
    if any((data.get(name) or {}).get("state") != "met" for name in required):
        return False
    component = data.get("connected_app_component") or {}
    return component.get("state") == "met" or component.get("absent") is True


def check_hardening(
    incident: Incident, org: OrgClient, app: str, actor: str, org_alias: str, *, full_name: str | None = None
) -> Entry:
    name = (full_name or "").strip() or default_full_name(app)
    data: dict[str, Any] = {
        "app": app,
        "org_alias": org_alias,
        "checked_utc": format_instant(incident.clock.now()),
        "connected_app_policies": _app(org, app),
        "connected_app_component": check_app_component(org, name),
        "transaction_security": check_policies(org),
        "debug_log_hygiene": _traces(org),
    }
    data["passed"] = passed(data)
    return incident.journal.append(CHECK_KIND, data, actor)
