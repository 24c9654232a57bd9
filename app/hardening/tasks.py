"""The hardening plan of one connected app, journaled as an `action.plan` like any containment plan.

Where the Metadata API can make the change, the plan holds a step: the app's OAuth policies (admin-approved users
only, IP restrictions enforced, refresh tokens expiring) as one `update_metadata` of its ConnectedApp component
(`app/hardening/components.py`), applied by `warroom contain apply PLAN_ID` through containment's approval,
intent, result and read-back; so is each trace flag on an integration user (`delete_trace_flag`, Tooling API
TraceFlag, whose supported calls include delete). The rest are manual tasks with their Setup path, what to
record as evidence and the check that verifies them: the app's session policies and permitted profiles, the
Transaction Security policies (their condition is a flow or Apex class: created in Setup, then enabled by an
`update_metadata` step when the org has them switched off), debug levels and the logs themselves,
and the whole policy set of an app installed from a package (no component of its own). Tasks close with
`warroom contain confirm TASK_ID --evidence ID`.

The fields read back are those of the ConnectedApplication object (OptionsAllowAdminApprovedUsersOnly,
RefreshTokenValidityPeriod, OptionsHasSessionLevelPolicy; app/data/salesforce/objects.toml with its sources) and
of the Tooling API's TraceFlag (TracedEntityId, ExpirationDate); IP Relaxation, session policies and Transaction
Security policies are read back with readMetadata (`warroom harden check`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.base.errors import UsageError, WarroomError
from app.containment.execute import new_plan_id
from app.containment.models import (
    DEBUG_LEVEL_FIELDS,
    TRACE_FLAG_FIELDS,
    Plan,
    Selectors,
    flat_row,
    now_utc,
    soql_in,
    soql_str,
)
from app.containment.plan import Draft
from app.containment.sources import LiveSource
from app.containment.store import journal_plan
from app.hardening.anomalies import Seen, seen_in
from app.hardening.components import (
    CONNECTED_APP,
    POLICIES,
    TRANSACTION_SECURITY,
    default_full_name,
    desired_policies,
    read_component,
)

if TYPE_CHECKING:
    from app.incident.core import Incident
    from app.salesforce.protocol import OrgClient

ACTION = "harden"
APP_FIELDS = "Id, Name, OptionsAllowAdminApprovedUsersOnly, RefreshTokenValidityPeriod, OptionsHasSessionLevelPolicy"
TRACE_FIELDS = TRACE_FLAG_FIELDS


def app_query(app: str) -> str:
    return f"SELECT {APP_FIELDS} FROM ConnectedApplication WHERE Name = {soql_str(app)}"


def _policies(draft: Draft, app: str) -> None:
    draft.task(
        "connected_app_policies",
        f"Harden the OAuth policies of {app}",
        app,
        [
            f"Setup > Apps > Connected Apps > Manage Connected Apps > {app} > Edit Policies.",
            "Permitted Users = 'Admin approved users are pre-authorized'; then, on the app's page, add only the "
            "integration user's profile or permission set under Manage Profiles / Manage Permission Sets.",
            "IP Relaxation = 'Enforce IP restrictions' (the integration user's profile carries the vendor's ranges).",
            "Refresh Token Policy = 'Expire refresh token after' a set period (e.g. 1 day for a batch integration).",
            "Session Policies: set Timeout Value; require High Assurance where the vendor supports it. Save.",
            f"Verify: `{app_query(app)}` shows OptionsAllowAdminApprovedUsersOnly = true and "
            "RefreshTokenValidityPeriod set (`warroom harden check` runs it and journals the answer).",
        ],
        "screenshot of the app's policies page after saving, or the Setup Audit Trail rows",
    )


def _deploy(draft: Draft, app: str, name: str, component: dict[str, object], refresh_days: int) -> None:
    """One updateMetadata of the app's component; its session policies and permitted users stay manual."""
    draft.add(
        "update_metadata",
        CONNECTED_APP,
        name,
        f"OAuth policies of {app} ({CONNECTED_APP} {name}): admin-approved users only, IP restrictions enforced, "
        f"refresh tokens expire after {refresh_days} day(s)",
        flat_row(component),
        desired_policies(refresh_days),
    )
    draft.task(
        "connected_app_access",
        f"Session policies and permitted users of {app}",
        app,
        [
            f"Setup > Apps > Connected Apps > Manage Connected Apps > {app} > Manage Profiles / Manage Permission "
            "Sets: keep only the integration user's profile or permission set (with admin-approved users only, "
            "no one else may use the app).",
            f"Setup > Apps > Connected Apps > Manage Connected Apps > {app} > Edit Policies > Session Policies: "
            "set Timeout Value; require High Assurance where the vendor supports it. Save.",
            f"Verify: `warroom harden check` reads {CONNECTED_APP} {name} back (readMetadata) and shows its "
            "sessionPolicy as set or not set.",
        ],
        "screenshot of the app's Manage page (profiles, permission sets, session policies)",
    )


def _enable_policies(draft: Draft, org: OrgClient) -> bool:
    """Policies the org already has (made in Setup) but that are off or neither block nor notify become
    `update_metadata` steps (active, action.block); True when both are there (nothing left to create)."""
    names = list(POLICIES)
    try:
        found = org.read_metadata(TRANSACTION_SECURITY, names)
    except WarroomError as exc:
        draft.note(f"The Transaction Security policies could not be read ({exc}): they stay a manual task.")
        return False
    for name, (event, what) in POLICIES.items():
        comp = found.get(name)
        if comp is None:
            continue
        if comp.get("eventName") != event:
            draft.note(
                f"Transaction Security policy {name} watches {comp.get('eventName')!r}, not {event}: fix it in Setup."
            )
            continue
        action = comp.get("action") or {}
        change: dict[str, object] = {}
        if comp.get("active") is not True:
            change["active"] = True
        if not (action.get("block") is True or action.get("notifications")):
            change["action.block"] = True
        if change:
            draft.add(
                "update_metadata",
                TRANSACTION_SECURITY,
                name,
                f"Transaction Security policy {name} ({event}: {what}): "
                + ", ".join(("enabled" if k == "active" else "blocks") for k in change),
                flat_row(comp),
                change,
            )
    return all(name in found for name in names)


def _transaction_security(draft: Draft, app: str, seen: Seen) -> None:
    names = list(POLICIES)
    draft.task(
        "transaction_security",
        "Transaction Security policies for the anomalies seen",
        app,
        [
            "Needs Event Monitoring (Shield or the add-on). Setup > Security > Transaction Security Policies > New > "
            "Condition Builder.",
            f"Policy 1, API name {names[0]}: Event = Report Event; condition Rows Processed greater than the largest "
            "legitimate export; action Block (or Multi-Factor Authentication) and notify the security team. "
            + seen.report_line(),
            f"Policy 2, API name {names[1]}: Event = API Event; condition Source IP not in the integrations' known "
            "ranges (or the query touching more rows than the integration needs); action Block and notify. "
            + seen.api_line(),
            "Enable each policy; record its name, owner and effective date.",
            "Verify: `warroom harden check` reads both back (readMetadata TransactionSecurityPolicy): active, on "
            "their event, blocking or notifying.",
        ],
        "screenshot of the policy list with both policies Enabled",
    )


# Tooling API DebugLevel: Callout "includes the request-response XML" of callouts (integration payloads); Apex
# Code at DEBUG and finer carries System.debug output. Values from NONE (least) to FINEST (most).
QUIET_LEVELS = {"Callout": ("NONE", "NONE"), "ApexCode": ("ERROR", "NONE ERROR WARN")}


def _debug_levels(draft: Draft, org: OrgClient, traces: list[dict[str, object]]) -> None:
    """The debug levels the integration users' trace flags use: Callout to NONE and Apex Code to ERROR where they
    log more (`update_debug_level`, Tooling API DebugLevel, whose level fields are Update)."""
    ids = sorted({str(t["DebugLevelId"]) for t in traces if t.get("DebugLevelId")})
    if not ids:
        return
    for row in org.tooling_query(f"SELECT {DEBUG_LEVEL_FIELDS} FROM DebugLevel WHERE Id IN {soql_in(ids)}"):
        change = {
            field: target for field, (target, quiet) in QUIET_LEVELS.items() if str(row.get(field)) not in quiet.split()
        }
        if change:
            draft.add(
                "update_debug_level",
                "DebugLevel",
                str(row["Id"]),
                f"debug level {row.get('DeveloperName')}: "
                + ", ".join(f"{k} {row.get(k)} -> {v}" for k, v in change.items()),
                flat_row(row),
                change,
            )


def _debug_logs(draft: Draft, traces: list[dict[str, object]] | None, names: dict[str, str]) -> None:
    """With the org read (`traces` a list), each trace flag on an integration user is a `delete_trace_flag` step
    (Tooling API TraceFlag supports DELETE); without it, removing them is part of the manual task."""
    listed = ", ".join(
        f"{t['Id']} on {names.get(str(t.get('TracedEntityId'))[:15], t.get('TracedEntityId'))}" for t in traces or []
    )
    for t in traces or []:
        user = names.get(str(t.get("TracedEntityId"))[:15], str(t.get("TracedEntityId")))
        draft.add(
            "delete_trace_flag",
            "TraceFlag",
            str(t["Id"]),
            f"trace flag {t['Id']} ({t.get('LogType')}) on {user}",
            flat_row(t),
            {"deleted": True},
        )
    first = (
        f"Setup > Environments > Logs > Debug Logs: this plan's steps remove the trace flags on integration users "
        f"({listed or 'none was found when this plan was made'}); delete any other flag set since."
        if traces is not None
        else "Setup > Environments > Logs > Debug Logs: delete each trace flag on an integration user (the org "
        "was not read when this plan was made)."
    )
    draft.task(
        "debug_log_hygiene",
        "Remove the trace flags that log integration payloads",
        "debug logs",
        [
            first,
            "Setup > Environments > Logs > Debug Levels: lower Callout and Apex Code on any other level kept"
            + (" (this plan's steps lower those the integration users' flags use)." if traces else "."),
            "Delete the debug logs themselves once their evidence copy is in custody (`warroom collect` keeps it).",
            f"Verify: Tooling `SELECT {TRACE_FIELDS} FROM TraceFlag` lists none of them "
            "(`warroom harden check` runs it and journals the answer).",
        ],
        "screenshot of the Debug Logs page without the trace flags, or the Setup Audit Trail rows",
    )


def plan_hardening(
    org: OrgClient | None,
    incident: Incident,
    app: str,
    actor: str,
    org_alias: str,
    *,
    full_name: str | None = None,
    refresh_days: int = 1,
) -> Plan:
    """Plan the hardening of `app`. With `org`: its ConnectedApp component (`full_name`, else the name Setup
    proposes) is read, and if there is one its OAuth policies become a deploy step; the trace flags to remove
    are listed by name. Without `org` (or without a component) the policies are a manual task."""
    app = (app or "").strip()
    if not app:
        raise UsageError("name the connected app with --app NAME")
    if not 1 <= refresh_days <= 3650:
        raise UsageError(f"--refresh-days must be between 1 and 3650, not {refresh_days}")
    draft = Draft(ACTION, Selectors(app=app))
    traces: list[dict[str, object]] | None = None
    names: dict[str, str] = {}
    basis: dict[str, object] = {"kind": "none"}
    if org is not None:
        src = LiveSource(org)
        basis = src.basis()
        integration = {u[:15] for u in src.integration_users()}
        traces = [t for t in org.tooling_query(f"SELECT {TRACE_FIELDS} FROM TraceFlag")
                  if str(t.get("TracedEntityId"))[:15] in integration]  # fmt: skip
        names = {uid[:15]: str(row.get("Username")) for uid, row in src.users(sorted(integration)).items()}
    component: dict[str, object] | None = None
    if org is not None:
        name = (full_name or "").strip() or default_full_name(app)
        component, why = read_component(org, CONNECTED_APP, name)
        if component is not None:
            _deploy(draft, app, name, component, refresh_days)
        else:
            draft.note(
                f"The OAuth policies of {app} are a manual task: "
                + (
                    f"its {CONNECTED_APP} component could not be read ({why})."
                    if why
                    else f"readMetadata found no {CONNECTED_APP} named {name!r} (an app installed from a package "
                    "is the package's component; name another with --full-name)."
                )
            )
    if component is None:
        _policies(draft, app)
    if org is None or not _enable_policies(draft, org):
        _transaction_security(draft, app, seen_in(incident))
    _debug_logs(draft, traces, names)
    if org is not None and traces:
        _debug_levels(draft, org, traces)
    plan = draft.finish(
        plan_id=new_plan_id(incident), org_alias=org_alias, basis=basis, actor=actor, created=now_utc(incident)
    )
    journal_plan(incident, plan, actor)
    return plan
