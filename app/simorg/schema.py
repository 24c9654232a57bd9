"""The sObject shapes the simulated org knows: fields, types, relationships, key prefixes, who may touch them.

Only the objects a war-room console reads or changes are modelled. Each org builds its own `Schema` because
the permission-flag fields of PermissionSet/Profile, custom fields and licensed event objects vary by org,
and `describe` must list exactly what this org has (real orgs differ, and the console must probe, not guess).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Permission flags every simulated org has (the reference list); seeds may add feature-gated ones.
STANDARD_PERMISSIONS: tuple[str, ...] = (
    "ModifyAllData",
    "ViewAllData",
    "ApiEnabled",
    "ApiUserOnly",
    "ManageUsers",
    "ManageInternalUsers",
    "AuthorApex",
    "CustomizeApplication",
    "ViewSetup",
    "ModifyMetadata",
    "AssignPermissionSets",
    "ManageProfilesPermissionsets",
    "ResetPasswords",
    "ViewAllUsers",
    "ExportReport",
    "ViewEventLogFiles",
    "BulkApiHardDelete",
)
# Flags that exist only in some orgs (API Access Control, the Sept 2025 uninstalled-app permission).
OPTIONAL_PERMISSIONS: tuple[str, ...] = ("UseAnyApiClient", "CanApproveUninstalledApps")

TYPES = {
    "id": "id",
    "s": "string",
    "t": "textarea",
    "p": "picklist",
    "b": "boolean",
    "i": "int",
    "f": "double",
    "dt": "datetime",
    "d": "date",
    "r": "reference",
    "b64": "base64",
    "url": "url",
    "email": "email",
    "phone": "phone",
}


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: str
    reference_to: str | None = None
    relationship: str | None = None
    filterable: bool = True
    updateable: bool = False
    createable: bool = False
    nillable: bool = True


@dataclass
class ObjectDef:
    name: str
    prefix: str
    fields: dict[str, FieldDef]
    apis: frozenset[str] = frozenset({"rest"})
    createable: bool = False
    updateable: bool = False
    deletable: bool = False
    big_object: bool = False
    id_null: bool = False
    # Permission (flag name without "Permissions") a login needs to see the object at all.
    requires: str | None = None
    # Permission needed to change it (update/delete/create).
    dml_requires: str | None = None
    indexes: tuple[str, ...] = ()
    unique: tuple[str, ...] = ()
    label: str = ""
    _lower: dict[str, str] = field(default_factory=dict, repr=False)
    _relationships: dict[str, FieldDef] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._lower = {name.lower(): name for name in self.fields}
        self._relationships = {f.relationship.lower(): f for f in self.fields.values() if f.relationship is not None}
        if not self.label:
            self.label = self.name

    def field(self, name: str) -> FieldDef | None:
        canonical = self._lower.get(name.lower())
        return self.fields[canonical] if canonical else None

    def relationship(self, name: str) -> FieldDef | None:
        return self._relationships.get(name.lower())


@dataclass
class Schema:
    objects: dict[str, ObjectDef]
    _lower: dict[str, str] = field(default_factory=dict, repr=False)
    _by_prefix: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._lower = {name.lower(): name for name in self.objects}
        self._by_prefix = {o.prefix: o.name for o in self.objects.values()}

    def get(self, name: str) -> ObjectDef | None:
        canonical = self._lower.get(name.lower())
        return self.objects[canonical] if canonical else None

    def by_prefix(self, prefix: str) -> ObjectDef | None:
        name = self._by_prefix.get(prefix)
        return self.objects[name] if name else None


def _fields(spec: str) -> dict[str, FieldDef]:
    """Parse `Name:type[=Target][!u][!c][!nf]` tokens; `!u` updateable, `!c` createable, `!nf` not filterable."""
    out: dict[str, FieldDef] = {}
    for token in spec.split():
        name, _, rest = token.partition(":")
        flags = rest.split("!")
        kind, _, target = flags[0].partition("=")
        type_name = TYPES[kind]
        rel = None
        if type_name == "reference":
            rel = name[:-2] if name.endswith("Id") else name
        out[name] = FieldDef(
            name=name,
            type=type_name,
            reference_to=target or None,
            relationship=rel,
            filterable="nf" not in flags[1:] and type_name not in ("textarea", "base64"),
            updateable="u" in flags[1:],
            createable="c" in flags[1:],
            nillable=name != "Id",
        )
    return out


AUDIT = "CreatedDate:dt CreatedById:r=User LastModifiedDate:dt LastModifiedById:r=User SystemModstamp:dt IsDeleted:b"

_USER = (
    "Id:id Username:s Name:s FirstName:s LastName:s Email:email Alias:s CommunityNickname:s UserType:p "
    "IsActive:b!u LastLoginDate:dt ProfileId:r=Profile!u UserRoleId:s Title:s CompanyName:s Department:s "
    "Division:s Phone:phone MobilePhone:phone TimeZoneSidKey:p LocaleSidKey:p LanguageLocaleKey:p "
    "EmailEncodingKey:p FederationIdentifier:s "
)
_PERMSET_BASE = (
    "Id:id Name:s Label:s Type:p IsOwnedByProfile:b ProfileId:r=Profile NamespacePrefix:s Description:t "
    "LicenseId:r=UserLicense PermissionSetGroupId:s IsCustom:b HasActivationRequired:b "
)


def build_schema(
    *,
    permissions: tuple[str, ...] = STANDARD_PERMISSIONS,
    custom_fields: dict[str, dict[str, str]] | None = None,
    event_monitoring: bool = True,
) -> Schema:
    """Assemble this org's schema. `custom_fields` maps object -> {FieldName__c: short type}."""
    perm_fields = " ".join(f"Permissions{p}:b" for p in permissions)
    specs: list[ObjectDef] = [
        ObjectDef(
            "Organization",
            "00D",
            _fields(
                "Id:id Name:s OrganizationType:p IsSandbox:b InstanceName:s NamespacePrefix:s Country:s "
                "DefaultAccountAccess:p DefaultContactAccess:p DefaultOpportunityAccess:p DefaultLeadAccess:p "
                "DefaultCaseAccess:p DefaultCalendarAccess:p DefaultPricebookAccess:p TrialExpirationDate:dt " + AUDIT
            ),
        ),
        ObjectDef(
            "User",
            "005",
            _fields(_USER + AUDIT),
            updateable=True,
            dml_requires="ManageUsers",
            indexes=("Username", "ProfileId"),
        ),
        ObjectDef(
            "Profile",
            "00e",
            _fields("Id:id Name:s UserLicenseId:r=UserLicense UserType:p Description:t " + perm_fields + " " + AUDIT),
        ),
        ObjectDef(
            "UserLicense",
            "100",
            _fields("Id:id Name:s LicenseDefinitionKey:s Status:p TotalLicenses:i UsedLicenses:i " + AUDIT),
        ),
        ObjectDef("PermissionSet", "0PS", _fields(_PERMSET_BASE + perm_fields + " " + AUDIT), indexes=("ProfileId",)),
        ObjectDef(
            "PermissionSetAssignment",
            "0Pa",
            _fields(
                "Id:id AssigneeId:r=User!c PermissionSetId:r=PermissionSet!c PermissionSetGroupId:s!c "
                "ExpirationDate:dt!c!u IsActive:b " + AUDIT
            ),
            createable=True,
            updateable=True,
            deletable=True,
            dml_requires="AssignPermissionSets",
            indexes=("AssigneeId", "PermissionSetId"),
        ),
        ObjectDef(
            "UserLogin",
            "060",
            _fields(
                "Id:id UserId:r=User IsFrozen:b!u IsPasswordLocked:b!u LastModifiedDate:dt LastModifiedById:r=User"
            ),
            updateable=True,
            requires="ManageUsers",
            dml_requires="ManageUsers",
            indexes=("UserId",),
        ),
        ObjectDef(
            "AuthSession",
            "0Ak",
            _fields(
                "Id:id UsersId:r=User CreatedDate:dt LastModifiedDate:dt NumSecondsValid:i SessionType:p "
                "LoginType:p SourceIp:s UserType:p ParentId:s LoginHistoryId:r=LoginHistory "
                "SessionSecurityLevel:p IsCurrent:b LoginGeoId:s"
            ),
            deletable=True,
            requires="ManageUsers",
            dml_requires="ManageUsers",
            indexes=("UsersId",),
        ),
        ObjectDef(
            "LoginHistory",
            "0Ya",
            _fields(
                "Id:id UserId:r=User LoginTime:dt LoginType:p LoginSubType:p SourceIp:s Status:s "
                "Application:s!nf Browser:s!nf Platform:s ApiType:s!nf ApiVersion:s ClientVersion:s LoginUrl:s "
                "CountryIso:s TlsProtocol:p CipherSuite:p AuthenticationServiceId:s LoginGeoId:s "
                "AuthMethodReference:s"
            ),
            requires="ManageUsers",
            indexes=("UserId",),
        ),
        ObjectDef(
            "OauthToken",
            "0CQ",
            _fields(
                "Id:id AppName:s AppMenuItemId:r=AppMenuItem UserId:r=User CreatedDate:dt LastUsedDate:dt "
                "UseCount:i DeleteToken:s RequestToken:s"
            ),
            id_null=True,
            indexes=("UserId", "AppName"),
            unique=("DeleteToken",),
        ),
        ObjectDef(
            "ConnectedApplication",
            "0H4",
            _fields(
                "Id:id Name:s OptionsAllowAdminApprovedUsersOnly:b OptionsRefreshTokenValidityMetric:b "
                "RefreshTokenValidityPeriod:i OptionsHasSessionLevelPolicy:b OptionsIsInternal:b StartUrl:url "
                "MobileStartUrl:url MobileSessionTimeout:p PinLength:p " + AUDIT
            ),
        ),
        ObjectDef(
            "AppMenuItem",
            "0DS",
            _fields(
                "Id:id Name:s Label:s ApplicationId:r=ConnectedApplication Type:p NamespacePrefix:s "
                "IsAccessible:b IsVisible:b StartUrl:url Description:t " + AUDIT
            ),
        ),
        ObjectDef(
            "InstalledSubscriberPackage",
            "0A3",
            _fields(
                "Id:id SubscriberPackageId:r=SubscriberPackage SubscriberPackageVersionId:r=SubscriberPackageVersion"
            ),
            apis=frozenset({"tooling"}),
        ),
        ObjectDef(
            "SubscriberPackage",
            "033",
            _fields("Id:id Name:s NamespacePrefix:s Description:t IsPackageValid:b"),
            apis=frozenset({"tooling"}),
        ),
        ObjectDef(
            "SubscriberPackageVersion",
            "04t",
            _fields(
                "Id:id Name:s SubscriberPackageId:r=SubscriberPackage MajorVersion:i MinorVersion:i "
                "PatchVersion:i BuildNumber:i IsSecurityReviewed:b IsManaged:b IsBeta:b ReleaseState:p "
                "PublisherName:s"
            ),
            apis=frozenset({"tooling"}),
        ),
        ObjectDef(
            "NamedCredential",
            "0XA",
            _fields(
                "Id:id DeveloperName:s MasterLabel:s Endpoint:url PrincipalType:p NamespacePrefix:s "
                "AuthProviderId:s CalloutOptionsAllowMergeFieldsInHeader:b CalloutOptionsAllowMergeFieldsInBody:b "
                "CalloutOptionsGenerateAuthorizationHeader:b " + AUDIT
            ),
        ),
        ObjectDef(
            "ExternalCredential",
            "0pt",
            _fields("Id:id DeveloperName:s MasterLabel:s AuthenticationProtocol:p NamespacePrefix:s " + AUDIT),
        ),
        ObjectDef(
            "ExternalDataSource",
            "0XC",
            _fields(
                "Id:id DeveloperName:s MasterLabel:s Type:p Endpoint:url PrincipalType:p Protocol:p IsWritable:b "
                "AuthProviderId:s NamedCredentialId:s Repository:s NamespacePrefix:s " + AUDIT
            ),
            apis=frozenset({"rest", "tooling"}),
        ),
        ObjectDef(
            "RemoteProxy",
            "0rp",
            _fields(
                "Id:id SiteName:s EndpointUrl:url IsActive:b Description:t NamespacePrefix:s ProtocolMismatch:b "
                "DisableProtocolSecurity:b " + AUDIT
            ),
            apis=frozenset({"tooling"}),
        ),
        ObjectDef(
            "ApexLog",
            "07L",
            _fields(
                "Id:id LogUserId:r=User LogLength:i Operation:s Request:s Status:s StartTime:dt Application:s "
                "Location:p DurationMilliseconds:i LastModifiedDate:dt SystemModstamp:dt"
            ),
            apis=frozenset({"rest", "tooling"}),
            deletable=True,
            indexes=("LogUserId",),
        ),
        ObjectDef(
            "TraceFlag",
            "7tf",
            _fields(
                "Id:id TracedEntityId:r=User LogType:p DebugLevelId:r=DebugLevel StartDate:dt ExpirationDate:dt!u "
                + AUDIT
            ),
            apis=frozenset({"tooling"}),
            updateable=True,
            deletable=True,
        ),
        ObjectDef(
            "DebugLevel",
            "7dl",
            _fields(
                "Id:id DeveloperName:s MasterLabel:s ApexCode:p ApexProfiling:p Callout:p Database:p System:p "
                "Validation:p Visualforce:p Workflow:p " + AUDIT
            ),
            apis=frozenset({"tooling"}),
        ),
        ObjectDef(
            "SetupAuditTrail",
            "0Ym",
            _fields(
                "Id:id Action:s Section:s Display:s CreatedDate:dt CreatedById:r=User DelegateUser:s "
                "CreatedByContext:s CreatedByIssuer:s ResponsibleNamespacePrefix:s"
            ),
            requires="ViewSetup",
        ),
        ObjectDef(
            "EventLogFile",
            "0AT",
            _fields(
                "Id:id EventType:p LogDate:dt Interval:p Sequence:i LogFileLength:f LogFileFieldNames:t "
                "LogFileFieldTypes:t LogFileContentType:s LogFile:b64 CreatedDate:dt CreatedById:r=User"
            ),
            requires="ViewEventLogFiles",
        ),
        ObjectDef(
            "FieldPermissions",
            "01k",
            _fields(
                "Id:id ParentId:r=PermissionSet SobjectType:p Field:s PermissionsRead:b PermissionsEdit:b " + AUDIT
            ),
            indexes=("ParentId",),
        ),
        ObjectDef(
            "ObjectPermissions",
            "110",
            _fields(
                "Id:id ParentId:r=PermissionSet SobjectType:p PermissionsRead:b PermissionsCreate:b "
                "PermissionsEdit:b PermissionsDelete:b PermissionsViewAllRecords:b PermissionsModifyAllRecords:b "
                + AUDIT
            ),
            requires="ViewSetup",
            indexes=("ParentId",),
        ),
        ObjectDef(
            "EntityDefinition",
            "01I",
            _fields("Id:id DurableId:s QualifiedApiName:s Label:s IsCustomizable:b"),
            apis=frozenset({"rest", "tooling"}),
        ),
        ObjectDef(
            "FieldDefinition",
            "00N",
            _fields(
                "Id:id DurableId:s QualifiedApiName:s EntityDefinitionId:r=EntityDefinition Label:s DataType:s "
                "SecurityClassification:p ComplianceGroup:p BusinessStatus:p"
            ),
            apis=frozenset({"rest", "tooling"}),
            indexes=("EntityDefinitionId",),
        ),
        # Business data the attacker reads.
        ObjectDef(
            "Account",
            "001",
            _fields(
                "Id:id Name:s!u!c Type:p!u!c Industry:p!u!c AnnualRevenue:f!u!c Phone:phone!u!c Website:url!u!c "
                "BillingCity:s!u!c BillingCountry:s!u!c Description:t!u!c OwnerId:r=User " + AUDIT
            ),
            createable=True,
            updateable=True,
            deletable=True,
        ),
        ObjectDef(
            "Contact",
            "003",
            _fields(
                "Id:id AccountId:r=Account!u!c FirstName:s!u!c LastName:s!u!c Name:s Email:email!u!c "
                "Phone:phone!u!c MobilePhone:phone!u!c Title:s!u!c Birthdate:d!u!c MailingCity:s!u!c "
                "MailingCountry:s!u!c OwnerId:r=User " + AUDIT
            ),
            createable=True,
            updateable=True,
            deletable=True,
            indexes=("AccountId",),
        ),
        ObjectDef(
            "Case",
            "500",
            _fields(
                "Id:id CaseNumber:s Subject:s!u!c Description:t!u!c Status:p!u!c Priority:p!u!c Origin:p!u!c "
                "AccountId:r=Account!u!c ContactId:r=Contact!u!c OwnerId:r=User " + AUDIT
            ),
            createable=True,
            updateable=True,
            deletable=True,
        ),
        ObjectDef(
            "Opportunity",
            "006",
            _fields(
                "Id:id Name:s!u!c AccountId:r=Account!u!c Amount:f!u!c StageName:p!u!c CloseDate:d!u!c "
                "Probability:f!u!c OwnerId:r=User " + AUDIT
            ),
            createable=True,
            updateable=True,
            deletable=True,
        ),
        ObjectDef(
            "EmailMessage",
            "02s",
            _fields("Id:id ParentId:r=Case Subject:s TextBody:t FromAddress:email ToAddress:s MessageDate:dt " + AUDIT),
            deletable=True,
        ),
        ObjectDef(
            "ContentVersion",
            "068",
            _fields("Id:id Title:s PathOnClient:s FileType:s ContentSize:i VersionData:b64 Description:t " + AUDIT),
        ),
    ]
    events = [
        ObjectDef(
            "ApiEvent",
            "3PT",
            _fields(
                "Id:id EventDate:dt EventIdentifier:s UserId:r=User!nf Username:s!nf SourceIp:s!nf "
                "Application:s!nf Client:s!nf ConnectedAppId:s!nf ApiType:s!nf ApiVersion:s!nf Operation:s!nf "
                "Query:t QueriedEntities:s!nf RowsProcessed:f!nf RowsReturned:f!nf SessionKey:s!nf "
                "LoginKey:s!nf UserAgent:s!nf Platform:s!nf ElapsedTime:i!nf AdditionalInfo:t"
            ),
            big_object=True,
        ),
        ObjectDef(
            "LoginEvent",
            "0Ld",
            _fields(
                "Id:id EventDate:dt EventIdentifier:s UserId:r=User!nf Username:s!nf SourceIp:s!nf "
                "Application:s!nf Browser:s!nf Platform:s!nf LoginType:s!nf LoginSubType:s!nf Status:s!nf "
                "CountryIso:s!nf LoginUrl:s!nf UserAgent:s!nf AdditionalInfo:t LoginKey:s!nf SessionKey:s!nf "
                "TlsProtocol:s!nf ApiType:s!nf"
            ),
            big_object=True,
        ),
        ObjectDef(
            "ReportEvent",
            "0Rv",
            _fields(
                "Id:id EventDate:dt EventIdentifier:s UserId:r=User Username:s!nf SourceIp:s!nf "
                "ReportId:s!nf Name:s!nf Operation:s!nf RowsProcessed:f!nf QueriedEntities:s!nf "
                "ExportFileFormat:s!nf SessionKey:s!nf LoginKey:s!nf"
            ),
            big_object=True,
        ),
        ObjectDef(
            "BulkApiResultEventStore",
            "0Bk",
            _fields(
                "Id:id EventDate:dt EventIdentifier:s UserId:r=User!nf Username:s!nf SourceIp:s!nf "
                "JobId:s!nf BatchId:s!nf Query:t RowsProcessed:f!nf QueriedEntities:s!nf SessionKey:s!nf "
                "LoginKey:s!nf UserAgent:s!nf"
            ),
            big_object=True,
        ),
    ]
    from app.simorg.schema_security import health_check_objects, threat_objects

    if event_monitoring:
        specs.extend(events)
        specs.extend(threat_objects())
    specs.extend(health_check_objects())
    for obj_name, extra in (custom_fields or {}).items():
        obj = next((o for o in specs if o.name == obj_name), None)
        if obj is None:
            raise ValueError(f"custom field on unknown object {obj_name!r}")
        tokens = " ".join(f"{name}:{kind}" for name, kind in extra.items())
        obj.fields.update(_fields(tokens))
        obj.__post_init__()
    return Schema({o.name: o for o in specs})


# Describe type names as the real describe call reports them.
DESCRIBE_TYPES = {
    "id": "id",
    "string": "string",
    "textarea": "textarea",
    "picklist": "picklist",
    "boolean": "boolean",
    "int": "int",
    "double": "double",
    "datetime": "datetime",
    "date": "date",
    "reference": "reference",
    "base64": "base64",
    "url": "url",
    "email": "email",
    "phone": "phone",
}
