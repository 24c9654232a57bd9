"""Hard-coded credentials found by a repository scan (working tree and git history)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from app.findings.models import (
    HARD_CODED,
    ContainmentAction,
    Finding,
    RecordRef,
    _make,
)
from app.findings.reposcan import KIND_LABELS, PASSWORD, RepoScan


def _repo(scan: RepoScan) -> Iterator[Finding]:
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for hit in scan.hits:
        groups[(hit.kind, hit.fingerprint)].append(hit)
    for (kind, fingerprint), hits in sorted(groups.items()):
        first = hits[0]
        where = sorted({h.path for h in hits})
        in_tree = any(h.commit is None for h in hits)
        commits = sorted({h.commit[:12] for h in hits if h.commit})
        user = next((h.username for h in hits if h.username), None)
        # Containment needs a target: a password's user can be frozen. The other secrets name no app or user
        # here, so their answer is rotation (the recommended action), not a guess at what to revoke.
        containment: ContainmentAction | None = "freeze_users" if kind == PASSWORD and user else None
        records = [
            RecordRef(
                type="File",
                id=f"{h.path}:{h.line}",
                name=(f"commit {h.commit[:12]} ({h.change})" if h.commit else "working tree"),
            )
            for h in hits
        ]
        if user:
            records.append(RecordRef(type="User", id=user, name=user))
        yield _make(
            HARD_CODED,
            "high" if kind == "security_token" else "critical",
            f"{KIND_LABELS.get(kind, kind)} {first.masked} in {', '.join(where[:3])}"
            + (f" (user {user})" if user else "")
            + ("" if in_tree else " (history only)"),
            records,
            "A credential committed to a repository is exposed to everyone who ever cloned it; deleting the file "
            "does not remove it from history (the Drift breach began in the vendor's GitHub).",
            "Rotate it now (reset the password and security token, rotate the consumer secret or key, revoke the "
            "refresh token), then purge it from history and move it to a secrets manager.",
            containment=containment,
            details=[
                f"{'present in the working tree' if in_tree else 'deleted from the working tree'}; "
                f"{len(commits)} commit(s): {', '.join(commits[:5])}",
                f"fingerprint {fingerprint}",
            ],
            key=[f"secret/{kind}/{fingerprint}"],
        )
