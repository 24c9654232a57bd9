"""Rules on debug logs: payloads and credentials kept in logs, and trace flags that keep recording them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from app.base.sensitive import ACCESS_TOKEN, AWS_KEY, REFRESH_TOKEN
from app.base.sensitive import PRIVATE_KEY as LOG_PRIVATE_KEY
from app.base.sensitive import SESSION_ID as LOG_SESSION_ID
from app.findings.index import _Index, sf_time
from app.findings.models import (
    DEBUG_PII,
    ContainmentAction,
    Finding,
    RecordRef,
    _make,
)

LOG_CREDENTIALS = {LOG_SESSION_ID, ACCESS_TOKEN, REFRESH_TOKEN, AWS_KEY, LOG_PRIVATE_KEY}


def _debug_logs(ix: _Index) -> Iterator[Finding]:
    by_user: dict[str | None, list] = defaultdict(list)
    for log in ix.snap.debug_logs:
        if log.hits:
            by_user[log.user_id].append(log)
    for user_id, logs in by_user.items():
        kinds: dict[str, int] = defaultdict(int)
        samples: dict[str, list[str]] = defaultdict(list)
        for log in logs:
            for hit in log.hits:
                kinds[hit.kind] += hit.count
                samples[hit.kind].extend(s for s in hit.samples if s not in samples[hit.kind])
        creds = sorted(k for k in kinds if k in LOG_CREDENTIALS)
        containment: ContainmentAction | None = None
        if LOG_SESSION_ID in creds or ACCESS_TOKEN in creds:
            containment = "end_sessions"
        elif REFRESH_TOKEN in creds:
            containment = "revoke_tokens"
        label = ix.user_label(user_id)
        integration = " (integration user)" if user_id in ix.integration else ""
        what = ", ".join(f"{n} {k.replace('_', ' ')}{'s' if n != 1 else ''}" for k, n in sorted(kinds.items()))
        yield _make(
            DEBUG_PII,
            "critical" if creds else "high",
            f"Debug logs of {label}{integration} hold {what}",
            [ix.user_ref(user_id), *(RecordRef(type="ApexLog", id=log.id, name=log.operation) for log in logs)],
            "Debug logs keep full request and response payloads; anyone with View All Data, Manage Users or a "
            "support profile can read them, so they are a second copy of what leaked"
            + (", and the credentials in them are live until revoked." if creds else "."),
            "Preserve the logs as evidence, then delete them; remove the trace flag and stop the integration "
            "logging payloads" + ("; end the sessions and revoke the tokens they show." if creds else "."),
            containment=containment,
            details=[f"{k}: {n} (e.g. {', '.join(samples[k][:3])})" for k, n in sorted(kinds.items())],
        )
    levels = {d.id: d for d in ix.snap.debug_levels}
    for flag in ix.snap.trace_flags:
        if flag.traced_entity_id not in ix.integration:
            continue
        expires = sf_time(flag.expires)
        if expires is not None and expires < ix.taken:
            continue
        level = levels.get(flag.debug_level_id or "")
        verbose = level is not None and any(
            (v or "").upper() in ("FINE", "FINER", "FINEST") for v in (level.callout, level.apex_code)
        )
        days = (expires - (sf_time(flag.start) or ix.taken)).days if expires else None
        yield _make(
            DEBUG_PII,
            "high" if verbose else "medium",
            f"Trace flag records the payloads of integration user {ix.user_label(flag.traced_entity_id)}",
            [
                ix.user_ref(flag.traced_entity_id),
                RecordRef(type="TraceFlag", id=flag.id, name=flag.log_type),
                *([RecordRef(type="DebugLevel", id=level.id, name=level.name)] if level else []),
            ],
            "A live trace flag on an integration user writes every payload it moves into debug logs"
            + (" (callout bodies included at this level)" if verbose else "")
            + ".",
            "Delete the trace flag (after preserving the logs) and lower the Callout and Apex Code levels.",
            checklist="remediate.debug-log-hygiene",
            details=[
                f"expires {flag.expires}" + (f" ({days} days after it started)" if days is not None else ""),
                *([f"debug level {level.name}: Callout {level.callout}, Apex Code {level.apex_code}"] if level else []),
            ],
        )
