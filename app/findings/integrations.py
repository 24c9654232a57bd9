"""Rules on what the org lets in or out: unreviewed packages, unauthenticated Salesforce Connect sources and
endpoints reached without TLS."""

from __future__ import annotations

from collections.abc import Iterator

from app.findings.access import CRITICAL_PERMISSIONS
from app.findings.index import _Index
from app.findings.models import (
    NO_TLS,
    UNAUTHENTICATED_SOURCE,
    UNREVIEWED_PACKAGE,
    Finding,
    RecordRef,
    _make,
)


def _packages(ix: _Index) -> Iterator[Finding]:
    for pkg in ix.snap.packages:
        problems = []
        if pkg.security_reviewed is False:
            problems.append("has not passed the AppExchange security review")
        if pkg.managed is False:
            problems.append("is unmanaged (no publisher accountability, code editable in the org)")
        if not problems:
            continue
        ns_sets = [p for p in ix.snap.permission_sets if pkg.namespace and p.namespace == pkg.namespace]
        ns_ids = {p.id for p in ns_sets}
        holders = [a for a in ix.snap.assignments if a.permission_set_id in ns_ids]
        dangerous = sorted(
            {CRITICAL_PERMISSIONS[p] for ps in ns_sets for p in ps.permissions if p in CRITICAL_PERMISSIONS}
        )
        records = [RecordRef(type="InstalledSubscriberPackage", id=pkg.id, name=pkg.name or pkg.namespace)]
        records += [ix.set_ref(p) for p in ns_sets]
        records += [
            RecordRef(
                type="PermissionSetAssignment",
                id=a.id,
                name=f"{ix.sets[a.permission_set_id].name} -> {ix.user_label(a.user_id)}",
            )
            for a in holders
        ]
        records += [ix.user_ref(u) for u in sorted({a.user_id for a in holders})]
        label = pkg.name or pkg.namespace or pkg.id
        yield _make(
            UNREVIEWED_PACKAGE,
            "critical" if dangerous and holders else "high",
            f"Package {label} ({pkg.namespace or 'no namespace'} {pkg.version or ''}) {problems[0]}",
            records,
            "A package nobody reviewed runs its own code and ships its own permission sets and connected apps: "
            "a standing backdoor if the publisher, or its update channel, is compromised.",
            "Confirm the package and publisher with the business owner; remove its permission set assignments "
            "and uninstall it if it is not needed or the publisher cannot show a passed review.",
            containment="strip_permissions" if holders else None,
            details=[
                *problems[1:],
                f"publisher: {pkg.publisher or 'unknown'}",
                *([f"its permission sets grant {', '.join(dangerous)}"] if dangerous else []),
                f"{len(holders)} assignment(s) of its permission sets",
            ],
        )


def _external_sources(ix: _Index) -> Iterator[Finding]:
    for src in ix.snap.external_data_sources:
        problems = []
        if (src.principal_type or "").lower() == "anonymous":
            problems.append("identity type Anonymous")
        if (src.protocol or "").lower() in ("noauthentication", "none"):
            problems.append("authentication protocol No Authentication")
        if (
            not src.named_credential_id
            and not src.auth_provider_id
            and (src.protocol or "").lower() in ("", "noauthentication", "none")
        ):
            problems.append("no named credential or auth provider")
        if not problems:
            continue
        plain = (src.endpoint or "").lower().startswith("http://")
        yield _make(
            UNAUTHENTICATED_SOURCE,
            "critical" if src.writable or plain else "high",
            f"Salesforce Connect source {src.label or src.name} reaches {src.endpoint or 'its endpoint'} "
            "with no authentication",
            [RecordRef(type="ExternalDataSource", id=src.id, name=src.name)],
            "Salesforce Connect shows the external system's data as records: with no authentication layer, "
            "whoever can query the org (a stolen integration token included) reads the on-premise data too"
            + (", and can write to it" if src.writable else "")
            + ".",
            "Put a named credential with per-user or named-principal authentication in front of the source, "
            "make it read-only unless writes are needed, and check the endpoint demands authentication itself.",
            details=[
                *problems,
                f"type {src.type or '?'}, writable: {src.writable}",
                *(["endpoint is plain HTTP"] if plain else []),
            ],
        )


def _tls(ix: _Index) -> Iterator[Finding]:
    why = (
        "Data sent over plain HTTP, or to an endpoint whose certificate is not checked, can be read and changed "
        "by anyone on the path: the integration middleware hop the seed checklist warns about."
    )
    for nc in ix.snap.named_credentials:
        if (nc.endpoint or "").lower().startswith("http://"):
            yield _make(
                NO_TLS,
                "high",
                f"Named credential {nc.label or nc.name} calls {nc.endpoint} without TLS",
                [RecordRef(type="NamedCredential", id=nc.id, name=nc.name)],
                why,
                "Move the endpoint to https:// (TLS 1.2 or later), then retire the http:// URL.",
                details=[
                    *(["merge fields allowed in the body: org data is sent in it"] if nc.merge_fields_in_body else [])
                ],
            )
    for site in ix.snap.remote_sites:
        if site.active is False:
            continue
        plain = (site.url or "").lower().startswith("http://")
        if plain or site.disable_protocol_security:
            what = "over plain HTTP" if plain else "with protocol security disabled"
            yield _make(
                NO_TLS,
                "high",
                f"Remote site {site.name} allows callouts to {site.url} {what}",
                [RecordRef(type="RemoteSiteSetting", id=site.id, name=site.name)],
                why,
                "Change the remote site to https:// and re-enable protocol security; deactivate it if unused.",
                details=[*(["Disable Protocol Security is on"] if site.disable_protocol_security else [])],
            )
    for src in ix.snap.external_data_sources:
        if (src.endpoint or "").lower().startswith("http://"):
            yield _make(
                NO_TLS,
                "high",
                f"External data source {src.label or src.name} uses plain HTTP ({src.endpoint})",
                [RecordRef(type="ExternalDataSource", id=src.id, name=src.name)],
                why,
                "Serve the external source over https:// and point the data source there.",
            )
