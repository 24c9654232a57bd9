"""An inventory coming in, as one user action: pull it from the org (or import it), journal the snapshot as
evidence, then evaluate and record the findings it yields.

`warroom inventory pull|import`, the console's pull and import, and a script's `do = "inventory.pull"` all call
these functions, so the same pull leaves the same journal (`evidence.acquired`, `inventory.snapshot`,
`inventory.findings`) whichever front end ran it. It lives with the findings because it needs both the
inventory (which the findings read) and the finding rules.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from app import inventory as inv
from app.base.clock import format_instant
from app.base.files import atomic_write
from app.findings.incident import record_findings
from app.findings.indicators import load_indicators
from app.findings.models import Finding
from app.findings.store import followed_users

if TYPE_CHECKING:
    from app.incident.core import Incident
    from app.salesforce.protocol import OrgClient, OrgFactory


class Intake(BaseModel):
    """A snapshot taken in: what it holds, where it was journaled, and the findings it yields."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    snapshot: inv.Snapshot
    saved: inv.SavedSnapshot | None = None  # None: not journaled (no incident to record it in)
    findings: list[Finding] = []  # most severe first; empty when not journaled
    findings_recorded: bool = False  # a new `inventory.findings` entry was written (False: same set as before)

    @property
    def counts(self) -> dict[str, int]:
        return self.snapshot.counts()


def record_snapshot(incident: Incident, snap: inv.Snapshot, actor: str, *, imported_from: str | None = None) -> Intake:
    """Journal `snap` as evidence (`inventory.snapshot`), then evaluate it and record the finding set."""
    saved = inv.save_snapshot(incident, snap, actor, imported_from=imported_from)
    before = incident.journal.get_state("inventory", "findings")
    found = record_findings(
        incident, snap, actor, evidence_id=saved.evidence_id, indicators=load_indicators(incident=incident)
    )
    written = incident.journal.get_state("inventory", "findings") != before
    return Intake(snapshot=snap, saved=saved, findings=found, findings_recorded=written)


def pull_and_record(
    incident: Incident | None,
    org: OrgClient | OrgFactory,
    actor: str,
    *,
    alias: str,
    now: datetime,
    say: inv.Progress | None = None,
    out: Path | None = None,
) -> Intake:
    """Pull the inventory from `org` and, with an incident, record it and its findings (`record_snapshot`).

    `org` is a logged-in client, or a callable returning one: that client is logged in here and closed after
    the pull. `now` is the time the snapshot is stamped with (whole seconds). `out` also writes the snapshot to
    that file (for `inventory import` on another machine), before anything is journaled."""
    taken = format_instant(now.replace(microsecond=0))
    touch = followed_users(incident) if incident is not None else []  # compromised users: read their access
    if callable(org):
        client = org()
        try:
            snap = inv.pull(client, say, alias=alias, taken_utc=taken, touch=touch)
        finally:
            close = getattr(client, "close", None)
            if close:
                close()
    else:
        snap = inv.pull(org, say, alias=alias, taken_utc=taken, touch=touch)
    if out is not None:
        write_snapshot(out, snap)
    if incident is None:
        return Intake(snapshot=snap)
    return record_snapshot(incident, snap, actor)


def write_snapshot(path: Path, snap: inv.Snapshot) -> Path:
    """Write `snap` to `path` whole or not at all (a temporary file renamed into place)."""
    return atomic_write(path, inv.snapshot_bytes(snap))  # devices, FIFOs, links and directories refused


def import_and_record(incident: Incident, path: Path, actor: str) -> Intake:
    """Read a snapshot file or a directory of Data Loader CSV exports, then record it and its findings."""
    path = path.expanduser()
    snap = inv.import_path(path)
    return record_snapshot(incident, snap, actor, imported_from=str(path.resolve()))
