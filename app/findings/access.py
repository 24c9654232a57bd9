"""Rules on reach: integration users holding org-wide permissions, fields synced with no classification,
sensitive fields readable by integrations or support profiles, and sharing that opens customer records."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping

from app.findings.index import _Index
from app.findings.models import (
    FLS_EXPOSURE,
    OPEN_SHARING,
    OVER_PERMISSIONED,
    UNCLASSIFIED_SYNC,
    Finding,
    RecordRef,
    _make,
)

# Permissions that make an integration user's token an org-wide key.
CRITICAL_PERMISSIONS = {
    "ModifyAllData": "Modify All Data",
    "ViewAllData": "View All Data",
    "AuthorApex": "Author Apex",
    "CustomizeApplication": "Customize Application",
    "ManageUsers": "Manage Users",
    "ModifyMetadata": "Modify Metadata",
    "ManageProfilesPermissionsets": "Manage Profiles and Permission Sets",
    "AssignPermissionSets": "Assign Permission Sets",
}
HIGH_PERMISSIONS = {
    "ManageInternalUsers": "Manage Internal Users",
    "ResetPasswords": "Reset Passwords",
    "ViewAllUsers": "View All Users",
    "BulkApiHardDelete": "Bulk API Hard Delete",
    "ExportReport": "Export Reports",
    "ViewEventLogFiles": "View Event Log Files",
    "UseAnyApiClient": "Use Any API Client",
    "CanApproveUninstalledApps": "Approve Uninstalled Connected Apps",
}
CUSTOMER_OBJECTS = ("Account", "Contact", "Lead", "Case", "Opportunity", "Order", "Contract", "Individual")
OPEN_LEVELS = {
    "Read": "public read only",
    "ReadSelect": "public read only",
    "Edit": "public read/write",
    "ReadEditTransfer": "public read/write/transfer",
    "All": "public full access",
}
SUPPORT_WORDS = ("support", "service", "agent", "helpdesk", "help desk", "call center", "contact center")
PAYMENT_WORDS = (
    "card",
    "ccnumber",
    "cc_",
    "pan__",
    "cvv",
    "cvc",
    "iban",
    "bankaccount",
    "bank_account",
    "routing",
    "payment",
    "billing_account",
)
PERSONAL_WORDS = (
    "ssn",
    "social_security",
    "national_id",
    "nationalid",
    "passport",
    "taxid",
    "tax_id",
    "birthdate",
    "date_of_birth",
    "dob",
    "driver",
    "license_number",
    "health",
)
SENSITIVE_CLASSES = ("restricted", "confidential", "missioncritical", "mission critical", "highly sensitive")
SENSITIVE_COMPLIANCE = ("pci", "pii", "gdpr", "ccpa", "hipaa", "coppa", "glba")


def _over_permissioned(ix: _Index) -> Iterator[Finding]:
    object_grants: dict[str, list[str]] = defaultdict(list)
    for op in ix.snap.object_permissions:
        if op.modify_all:
            object_grants[op.parent_id].append(f"Modify All Records on {op.object}")
        elif op.view_all:
            object_grants[op.parent_id].append(f"View All Records on {op.object}")
    for user_id, reason in ix.integration.items():
        user = ix.users[user_id]
        if not user.active:
            continue
        granted: dict[str, list[str]] = defaultdict(list)
        records = [ix.user_ref(user_id)]
        details: list[str] = [f"integration user because of its {reason}"]
        critical = False
        for ps, assignment_id in ix.held.get(user_id, []):
            perms = [p for p in ps.permissions if p in CRITICAL_PERMISSIONS or p in HIGH_PERMISSIONS]
            grants = object_grants.get(ps.id, [])
            if not perms and not grants:
                continue
            critical = critical or any(p in CRITICAL_PERMISSIONS for p in perms)
            records.append(ix.set_ref(ps))
            if assignment_id:
                records.append(
                    RecordRef(
                        type="PermissionSetAssignment",
                        id=assignment_id,
                        name=f"{ps.label or ps.name} -> {user.username}",
                    )
                )
            for p in perms:
                granted[CRITICAL_PERMISSIONS.get(p) or HIGH_PERMISSIONS[p]].append(ix.set_ref(ps).name or ps.name)
            for g in grants:
                granted[g].append(ix.set_ref(ps).name or ps.name)
        if not granted:
            continue
        details += [f"{perm}: from {', '.join(sorted(set(sources)))}" for perm, sources in sorted(granted.items())]
        strongest = ", ".join(sorted(granted)[:4]) + (" ..." if len(granted) > 4 else "")
        yield _make(
            OVER_PERMISSIONED,
            "critical" if critical else "high",
            f"Integration user {user.username} holds {strongest}",
            records,
            "An integration user's OAuth token carries every permission the user holds: with these, one stolen "
            "token reads or changes data far beyond what the integration needs (the Drift tokens ran org-wide "
            "exports this way).",
            "Remove the high-risk permission set assignments now (profile grants: move the user to Minimum "
            "Access - API Only Integrations); then grant only the objects and fields the integration uses.",
            containment="strip_permissions",
            details=details,
        )


def _classified(classification: str | None) -> bool:
    return bool(classification and classification.strip())


def _unclassified_sync(ix: _Index) -> Iterator[Finding]:
    classes = {(c.object, c.field): c for c in ix.snap.field_classifications}
    covered = {c.object for c in ix.snap.field_classifications}
    for user_id in ix.integration:
        user = ix.users[user_id]
        if not user.active:
            continue
        set_ids = {ps.id: ps for ps, _ in ix.held.get(user_id, [])}
        fields: dict[tuple[str, str], set[str]] = defaultdict(set)
        for fp in ix.snap.field_permissions:
            if fp.parent_id not in set_ids or not (fp.read or fp.edit) or fp.object not in covered:
                continue
            c = classes.get((fp.object, fp.field))
            if c is None or not _classified(c.classification):
                fields[(fp.object, fp.field)].add(fp.parent_id)
        if not fields:
            continue
        sets = sorted({p for parents in fields.values() for p in parents})
        names = sorted(f"{o}.{f}" for o, f in fields)
        sensitive = [n for n in names if _sensitive_name(n.split(".", 1)[1]) is not None]
        yield _make(
            UNCLASSIFIED_SYNC,
            "high" if sensitive else "medium",
            f"Integration user {user.username} syncs {len(names)} field(s) with no data classification",
            [
                ix.user_ref(user_id),
                *(ix.set_ref(set_ids[s]) for s in sets),
                *(RecordRef(type="Field", id=n) for n in names),
            ],
            "Fields with no classification were never approved to leave Salesforce, so nobody checked where "
            "the integration sends them; a bulk sync copies them to every system it feeds.",
            "Classify each field (Data Sensitivity Level, Compliance Categorization); remove edit/read on the "
            "fields the integration does not need, and gate new syncs on classification.",
            containment="strip_permissions" if sensitive else None,
            details=[
                *([f"looks sensitive: {', '.join(sensitive)}"] if sensitive else []),
                f"fields: {', '.join(names[:20])}{' ...' if len(names) > 20 else ''}",
            ],
        )


def _sharing(ix: _Index) -> Iterator[Finding]:
    org = ix.snap.organization
    if org is not None:
        opened = {
            obj: level
            for obj, level in sorted(org.sharing_defaults.items())
            if obj in CUSTOMER_OBJECTS and level in OPEN_LEVELS
        }
        if opened:
            writable = [o for o, lv in opened.items() if lv not in ("Read", "ReadSelect")]
            yield _make(
                OPEN_SHARING,
                "high" if writable else "medium",
                "Org-wide sharing opens customer records to every internal user: "
                + ", ".join(f"{o} {OPEN_LEVELS[lv]}" for o, lv in opened.items()),
                [RecordRef(type="Organization", id=org.id, name=org.name)],
                "With public org-wide defaults any internal user (and any integration user or stolen token) "
                "sees every customer record, so the exposure of one account is the whole customer base.",
                "Set the org-wide default of each customer object to Private and grant access through roles and "
                "narrow sharing rules.",
                details=[f"{o}: {lv}" for o, lv in opened.items()],
                key=[f"owd/{o}/{lv}" for o, lv in opened.items()],
            )
    for rule in ix.snap.sharing_rules:
        target = (rule.shared_with or "").replace(" ", "").lower()
        if rule.object in CUSTOMER_OBJECTS and target in ("allinternalusers", "allusers", "organization"):
            yield _make(
                OPEN_SHARING,
                "high",
                f"Sharing rule {rule.name} opens {rule.object} to all internal users ({rule.access or 'access'})",
                [RecordRef(type="SharingRule", id=rule.id, name=rule.name)],
                "A sharing rule to All Internal Users undoes a private org-wide default for the records it matches.",
                "Narrow the rule to the roles or groups that need the records, or delete it.",
            )


def _sensitive_name(field: str) -> str | None:
    low = field.lower()
    if any(w in low for w in PAYMENT_WORDS):
        return "payment"
    if any(w in low for w in PERSONAL_WORDS):
        return "personal"
    return None


def _sensitivity(obj: str, field: str, classes: Mapping[tuple[str, str], object]) -> str | None:
    c = classes.get((obj, field))
    by_name = _sensitive_name(field)
    if c is not None:
        cls = (getattr(c, "classification", None) or "").lower()
        comp = (getattr(c, "compliance", None) or "").lower()
        if "pci" in comp:
            return "payment"
        if by_name:
            return by_name
        if any(s in cls for s in SENSITIVE_CLASSES) or any(s in comp for s in SENSITIVE_COMPLIANCE):
            return "personal"
    return by_name


def _field_exposure(ix: _Index) -> Iterator[Finding]:
    classes = {(c.object, c.field): c for c in ix.snap.field_classifications}
    support_profiles = {
        ps.id: ps
        for ps in ix.snap.permission_sets
        if ps.profile_owned and any(w in (ps.profile_name or ps.label or "").lower() for w in SUPPORT_WORDS)
    }
    integration_sets: dict[str, set[str]] = defaultdict(set)
    for user_id in ix.integration:
        if ix.users[user_id].active:
            for ps, _ in ix.held.get(user_id, []):
                integration_sets[ps.id].add(user_id)
    exposed: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for fp in ix.snap.field_permissions:
        if not fp.read and not fp.edit:
            continue
        if fp.parent_id not in support_profiles and fp.parent_id not in integration_sets:
            continue
        kind = _sensitivity(fp.object, fp.field, classes)
        if kind:
            exposed[fp.parent_id].append((f"{fp.object}.{fp.field}", kind, "edit" if fp.edit else "read"))
    for parent_id, fields in sorted(exposed.items()):
        pset = ix.sets.get(parent_id)
        if pset is None:
            continue
        holders = sorted(integration_sets.get(parent_id, ()))
        payment = any(k == "payment" for _, k, _ in fields)
        who = (
            f"integration user(s) {', '.join(ix.user_label(u) for u in holders)}"
            if holders
            else f"support profile {pset.profile_name or pset.label}"
        )
        ref = ix.set_ref(pset)
        assignments = [
            RecordRef(type="PermissionSetAssignment", id=a.id, name=f"{pset.name} -> {ix.user_label(u)}")
            for a in ix.snap.assignments
            if a.permission_set_id == parent_id
            for u in [a.user_id]
            if u in holders
        ]
        yield _make(
            FLS_EXPOSURE,
            "high" if payment else "medium",
            f"{ref.name} lets {who} read {'payment' if payment else 'personal'} fields",
            [
                ref,
                *(ix.user_ref(u) for u in holders),
                *assignments,
                *(RecordRef(type="Field", id=name, name=kind) for name, kind, _ in sorted(fields)),
            ],
            "Field-level security is the last line between a stolen integration token (or a support login) and "
            "card or identity data; these fields are readable where no integration or support task needs them.",
            "Remove read and edit on these fields from the permission set or profile; where an integration needs "
            "them, encrypt them and narrow the integration user to exactly those fields.",
            containment="strip_permissions" if holders and not pset.profile_owned else None,
            details=[f"{name} ({kind}, {access})" for name, kind, access in sorted(fields)],
        )
