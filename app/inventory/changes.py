"""Diff: what changed between two snapshots, record by record (tokens by ref), with Ids shown as names."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.inventory.models import COLLECTIONS, Snapshot, _source_summary


class Change(BaseModel):
    collection: str
    change: Literal["added", "removed", "changed"]
    id: str
    name: str
    fields: dict[str, list[Any]] = Field(default_factory=dict)  # field -> [before, after]


class SnapshotDiff(BaseModel):
    a: dict[str, Any]
    b: dict[str, Any]
    summary: dict[str, dict[str, int]]
    changes: list[Change]

    def of(self, collection: str, change: str | None = None) -> list[Change]:
        return [c for c in self.changes if c.collection == collection and (change is None or c.change == change)]


def _record_dict(rec: Any) -> dict[str, Any]:
    return {f: getattr(rec, f) for f in rec.__dataclass_fields__}


def _describe(snap: Snapshot, label: str | None) -> dict[str, Any]:
    return {"label": label, "taken_utc": snap.taken_utc, **_source_summary(snap.source)}


def diff(a: Snapshot, b: Snapshot, *, label_a: str | None = None, label_b: str | None = None) -> SnapshotDiff:
    """What changed from `a` to `b`: records added, removed or changed, per collection (tokens by ref)."""
    changes: list[Change] = []
    summary: dict[str, dict[str, int]] = {}
    for name, (key, label) in COLLECTIONS.items():
        before = {key(r): r for r in getattr(a, name)}
        after = {key(r): r for r in getattr(b, name)}
        counts = {"added": 0, "removed": 0, "changed": 0}
        for k in sorted(after.keys() - before.keys()):
            changes.append(Change(collection=name, change="added", id=k, name=label(after[k])))
            counts["added"] += 1
        for k in sorted(before.keys() - after.keys()):
            changes.append(Change(collection=name, change="removed", id=k, name=label(before[k])))
            counts["removed"] += 1
        for k in sorted(before.keys() & after.keys()):
            x, y = before[k], after[k]
            if x == y:
                continue
            dx, dy = _record_dict(x), _record_dict(y)
            delta: dict[str, list[Any]] = {}
            for f in dx:
                if dx[f] != dy[f]:
                    if isinstance(dx[f], list) and all(isinstance(v, str) for v in [*dx[f], *dy[f]]):
                        gone = sorted(set(dx[f]) - set(dy[f]))
                        new = sorted(set(dy[f]) - set(dx[f]))
                        delta[f] = [gone, new]  # for permission lists: [removed, added]
                    else:
                        delta[f] = [_plain(dx[f]), _plain(dy[f])]
            if delta:
                changes.append(Change(collection=name, change="changed", id=k, name=label(y), fields=delta))
                counts["changed"] += 1
        if any(counts.values()):
            summary[name] = counts
    org_a = _plain(a.organization) if a.organization else None
    org_b = _plain(b.organization) if b.organization else None
    names = {u.id: u.username for u in (*a.users, *b.users)}
    names.update({p.id: p.label or p.name for p in (*a.permission_sets, *b.permission_sets)})
    for c in changes:
        c.name = _ID_RE.sub(lambda m: names.get(m.group(0), m.group(0)), c.name)
    changed_org = b.organization or a.organization
    if org_a != org_b and changed_org is not None:
        changes.append(
            Change(
                collection="organization",
                change="changed",
                id=changed_org.id,
                name="organization",
                fields={"organization": [org_a, org_b]},
            )
        )
        summary["organization"] = {"added": 0, "removed": 0, "changed": 1}
    return SnapshotDiff(a=_describe(a, label_a), b=_describe(b, label_b), summary=summary, changes=changes)


_ID_RE = re.compile(r"\b[0-9A-Za-z]{18}\b|\b[0-9A-Za-z]{15}\b")


def _plain(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return {f: _plain(getattr(value, f)) for f in value.__dataclass_fields__}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
