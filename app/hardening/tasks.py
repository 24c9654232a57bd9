"""The hardening plan of one connected app: manual tasks (Salesforce offers these settings in Setup; the tool
does not change them through the API) with the Setup path, what to record as evidence, and the query that
verifies the result where one can. Journaled as an `action.plan` like any containment plan, so its tasks open on
`warroom contain apply PLAN_ID` and close with `warroom contain confirm TASK_ID --evidence ID`.

The fields read back are those of the ConnectedApplication object (OptionsAllowAdminApprovedUsersOnly,
RefreshTokenValidityPeriod, OptionsHasSessionLevelPolicy; app/data/salesforce/objects.toml with its sources) and
of the Tooling API's TraceFlag (TracedEntityId, ExpirationDate). IP Relaxation and Transaction Security policies
are not read back: the objects the tool knows carry neither, so their tasks close on evidence alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.base.errors import UsageError
from app.containment.execute import new_plan_id
from app.containment.models import Plan, Selectors, now_utc, soql_str
from app.containment.plan import Draft
from app.containment.sources import LiveSource
from app.containment.store import journal_plan

if TYPE_CHECKING:
    from app.incident.core import Incident
    from app.salesforce.protocol import OrgClient

ACTION = "harden"
APP_FIELDS = "Id, Name, OptionsAllowAdminApprovedUsersOnly, RefreshTokenValidityPeriod, OptionsHasSessionLevelPolicy"
TRACE_FIELDS = "Id, TracedEntityId, LogType, DebugLevelId, ExpirationDate"


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


def _transaction_security(draft: Draft, app: str) -> None:
    draft.task(
        "transaction_security",
        "Transaction Security policies for the anomalies seen",
        app,
        [
            "Needs Event Monitoring (Shield or the add-on). Setup > Security > Transaction Security Policies > New > "
            "Condition Builder.",
            "Policy 1: Event = Report Event; condition Rows Processed greater than the largest legitimate export; "
            "action Block (or Multi-Factor Authentication) and notify the security team.",
            "Policy 2: Event = API Event; condition Source IP not in the integrations' known ranges (or the query "
            "touching more rows than the integration needs); action Block and notify.",
            "Enable each policy; record its name, owner and effective date.",
            "Verify: the Transaction Security Policies list shows both Enabled (no query: read in Setup).",
        ],
        "screenshot of the policy list with both policies Enabled",
    )


def _debug_logs(draft: Draft, traces: list[dict[str, object]], names: dict[str, str]) -> None:
    listed = ", ".join(
        f"{t['Id']} on {names.get(str(t.get('TracedEntityId'))[:15], t.get('TracedEntityId'))}" for t in traces
    )
    draft.task(
        "debug_log_hygiene",
        "Remove the trace flags that log integration payloads",
        "debug logs",
        [
            "Setup > Environments > Logs > Debug Logs: delete each trace flag on an integration user"
            + (f" ({listed})." if traces else " (none was found when this plan was made)."),
            "Setup > Environments > Logs > Debug Levels: lower Callout and Apex Code levels on any level kept.",
            "Delete the debug logs themselves once their evidence copy is in custody (`warroom collect` keeps it).",
            f"Verify: Tooling `SELECT {TRACE_FIELDS} FROM TraceFlag` lists none of them "
            "(`warroom harden check` runs it and journals the answer).",
        ],
        "screenshot of the Debug Logs page without the trace flags, or the Setup Audit Trail rows",
    )


def plan_hardening(org: OrgClient | None, incident: Incident, app: str, actor: str, org_alias: str) -> Plan:
    """Plan the hardening of `app` (manual tasks); with `org`, the trace flags to remove are listed by name."""
    app = (app or "").strip()
    if not app:
        raise UsageError("name the connected app with --app NAME")
    draft = Draft(ACTION, Selectors(app=app))
    traces: list[dict[str, object]] = []
    names: dict[str, str] = {}
    basis: dict[str, object] = {"kind": "none"}
    if org is not None:
        src = LiveSource(org)
        basis = src.basis()
        integration = {u[:15] for u in src.integration_users()}
        traces = [t for t in org.tooling_query(f"SELECT {TRACE_FIELDS} FROM TraceFlag")
                  if str(t.get("TracedEntityId"))[:15] in integration]  # fmt: skip
        names = {uid[:15]: str(row.get("Username")) for uid, row in src.users(sorted(integration)).items()}
    _policies(draft, app)
    _transaction_security(draft, app)
    _debug_logs(draft, traces, names)
    plan = draft.finish(
        plan_id=new_plan_id(incident), org_alias=org_alias, basis=basis, actor=actor, created=now_utc(incident)
    )
    journal_plan(incident, plan, actor)
    return plan
