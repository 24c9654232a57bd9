"""Security objects of the simulated org: the Shield threat-detection event stores and the Health Check.

Fields are the documented ones only (Salesforce Platform Events Developer Guide and field reference pages for
ApiAnomalyEventStore, CredentialStuffingEventStore, ReportAnomalyEventStore and SessionHijackingEventStore;
Tooling API reference for SecurityHealthCheck and SecurityHealthCheckRisks, checked December 2026). The event
stores' user fields (UserId, Username) are those of the paired platform events, whose data the stores hold;
a field the pages did not show for a store (SessionHijackingEventStore's fields after PreviousScreen) is left
out rather than guessed.

Access, as documented: the stores need Shield or the Event Monitoring add-on (absent from an org without it)
and the View Real-Time Event Monitoring Data permission; the Health Check objects need View Setup and
Configuration (older Tooling API versions said Modify All Data). The simulated org models the add-on and
View Setup; it has no separate real-time permission, so any login of a licensed org reads the stores.
"""

from __future__ import annotations

from app.simorg.schema import ObjectDef, _fields

_STORE_COMMON = (
    "Id:id CreatedDate:dt EvaluationTime:f EventDate:dt EventIdentifier:s LastReferencedDate:dt LastViewedDate:dt "
    "LoginKey:s PolicyId:r=TransactionSecurityPolicy PolicyOutcome:p UserId:r=User Username:s"
)


def threat_objects() -> list[ObjectDef]:
    """The four threat-detection event stores (big objects kept with the real-time events)."""
    return [
        ObjectDef(
            "ApiAnomalyEventStore",
            "0Ay",
            _fields(
                _STORE_COMMON
                + " SessionKey:s SourceIp:s ApiAnomalyEventNumber:s Operation:s QueriedEntities:t RequestIdentifier:s "
                "RowsProcessed:f Score:f SecurityEventData:t Summary:t"
            ),
            big_object=True,
        ),
        ObjectDef(
            "CredentialStuffingEventStore",
            "0Cs",
            _fields(
                _STORE_COMMON + " SessionKey:s SourceIp:s CredentialStuffingEventNumber:s AcceptLanguage:s LoginType:p "
                "LoginUrl:s Score:f Summary:t UserAgent:t"
            ),
            big_object=True,
        ),
        ObjectDef(
            "ReportAnomalyEventStore",
            "0Ra",
            _fields(
                _STORE_COMMON
                + " SessionKey:s SourceIp:s ReportAnomalyEventNumber:s Report:s Score:f SecurityEventData:t Summary:t "
                "SystemModstamp:dt"
            ),
            big_object=True,
        ),
        ObjectDef(
            "SessionHijackingEventStore",
            "0Sh",
            _fields(
                _STORE_COMMON + " CurrentIp:s CurrentPlatform:s CurrentScreen:s CurrentUserAgent:t CurrentWindow:s "
                "PreviousIp:s PreviousPlatform:s PreviousScreen:s"
            ),
            big_object=True,
        ),
    ]


def health_check_objects() -> list[ObjectDef]:
    """Tooling SecurityHealthCheck (the score) and SecurityHealthCheckRisks (one row per setting)."""
    return [
        ObjectDef(
            "SecurityHealthCheck",
            "0Hc",
            _fields("Id:id CustomBaselineId:s DurableId:s Score:s"),
            apis=frozenset({"tooling"}),
            requires="ViewSetup",
        ),
        ObjectDef(
            "SecurityHealthCheckRisks",
            "0Hr",
            _fields(
                "Id:id DurableId:s OrgValue:s OrgValueRaw:s RiskType:p SecurityHealthCheckId:s Setting:s "
                "SettingGroup:s SettingRiskCategory:p StandardValue:s StandardValueRaw:s"
            ),
            apis=frozenset({"tooling"}),
            requires="ViewSetup",
        ),
    ]
