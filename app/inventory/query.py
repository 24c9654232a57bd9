"""Reading through the Org API: one pull session that describes before it selects, turns "this org or login
does not have that" into notes, and builds snapshot records from adapter rows as each page arrives."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Literal

from app.base.sfschema import salesforce_schema
from app.inventory.mapping import _TRUE, _loose, _nested_getter, _Obj, _special
from app.inventory.models import Note
from app.salesforce.protocol import OrgClient

Progress = Callable[[str], None]

ID_CHUNK = 200  # Ids per `IN (...)` list, well under the SOQL length limit


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _chunks(items: list[str], size: int = ID_CHUNK) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _soft_kind(exc: BaseException) -> Literal["not_available", "no_access"] | None:
    """Which adapter errors mean "this org or login does not have that" (a note), not a failed pull."""
    from app.salesforce.client import InsufficientAccess, ObjectUnavailable, QueryFailed

    if isinstance(exc, ObjectUnavailable):
        return "not_available"
    if isinstance(exc, InsufficientAccess):
        return "no_access"
    if isinstance(exc, QueryFailed) and getattr(exc, "code", "") == "INVALID_FIELD":
        return "not_available"
    return None


def _names(described: Any) -> set[str]:
    if isinstance(described, Mapping):
        described = described.get("fields", [])
    out: set[str] = set()
    for f in described or ():
        out.add(f if isinstance(f, str) else str(f.get("name")))
    return out


def _records(result: Any) -> Iterable[Mapping[str, Any]]:
    if isinstance(result, Mapping):
        return result.get("records", [])
    return result


class _Puller:
    """One pull: describes before it selects, notes what the org lacks, and reports progress as it goes."""

    def __init__(self, org: OrgClient, progress: Progress | None) -> None:
        self.org = org
        self.say = progress or (lambda _msg: None)
        self.notes: list[Note] = []
        self._described: dict[str, set[str] | None] = {}

    def note(self, sobject: str, status: Literal["not_available", "no_access", "partial"], message: str) -> None:
        self.notes.append(Note(object=sobject, status=status, message=message))
        self.say(f"  {sobject}: {message}")

    def _soft(self, sobject: str, exc: BaseException) -> bool:
        """Record an org-side "you cannot have this" as a note; anything else (session, limits, network) raises."""
        kind = _soft_kind(exc)
        if kind == "not_available":
            self.note(sobject, kind, f"not available to this org or login ({_first_line(exc)})")
        elif kind == "no_access":
            self.note(sobject, kind, f"the login cannot read it ({_first_line(exc)})")
        return kind is not None

    def fields(self, sobject: str, tooling: bool = False) -> set[str] | None:
        if sobject in self._described:
            return self._described[sobject]
        from app.salesforce.client import OrgError

        try:
            names: set[str] | None = _names(self.org.describe_fields(sobject, tooling=tooling))
        except OrgError as exc:
            if not self._soft(sobject, exc):
                raise
            names = None
        self._described[sobject] = names
        return names

    def select(self, obj: _Obj, have: set[str], extra: Iterable[str] = ()) -> list[str] | None:
        """The obj's API paths this org has (a relationship path needs its reference field)."""
        paths: list[str] = []
        for path in [*(p for _, p, _ in obj.fields), *extra]:
            head = path.split(".", 1)[0]
            if "." in path:
                ok = f"{head}Id" in have or head in have or (head.endswith("__r") and f"{head[:-3]}__c" in have)
                absent = self._absent_leaf(obj.sobject, path, obj.tooling) if ok else None
                if absent is not None:
                    self.note(
                        obj.sobject,
                        "partial",
                        f"{absent} is not in this org's describe (it is not on every org): {path} is not read",
                    )
                    ok = False
            else:
                ok = path in have
            if ok and path not in paths:
                paths.append(path)
        missing = [r for r in obj.required if r not in paths]
        if missing:
            self.note(obj.sobject, "not_available", f"this org's {obj.sobject} lacks {', '.join(missing)}")
            return None
        if obj.sobject == "InstalledSubscriberPackage":
            for part in ("MajorVersion", "MinorVersion", "PatchVersion", "BuildNumber"):
                if f"SubscriberPackageVersion.{part}" not in paths:
                    paths.append(f"SubscriberPackageVersion.{part}")
        return paths

    def _absent_leaf(self, sobject: str, path: str, tooling: bool) -> str | None:
        """ "Object.Field" when `path` ends in a field documented as not on every org and the related object's
        describe lacks it; None otherwise (selecting it would fail the whole query with INVALID_FIELD)."""
        sf = salesforce_schema()
        current = sf.object(sobject)
        parts = path.split(".")
        for rel in parts[:-1]:
            ref = current.relationship(rel) if current else None
            current = sf.object(ref.reference_to) if ref and ref.reference_to else None
        leaf = current.field(parts[-1]) if current else None
        if current is None or leaf is None or not leaf.optional:
            return None
        have = self.fields(current.name, tooling)
        return f"{current.name}.{leaf.name}" if have is not None and leaf.name not in have else None

    def query(self, obj: _Obj, soql: str, make: Callable[[Mapping[str, Any]], Any] | None = None) -> list[Any] | None:
        """Rows of `soql` (built into records by `make` as each page arrives, so raw pages are not all held);
        None when the org does not have the object (noted)."""
        from app.salesforce.client import OrgError

        build = make or (lambda rec: rec)
        try:
            if obj.tooling:
                rows: Iterable[Mapping[str, Any]] = self.org.tooling_query(soql)
            elif hasattr(self.org, "query_iter"):
                rows = self.org.query_iter(soql)
            else:
                rows = _records(self.org.query(soql))
            return [build(rec) for rec in rows]
        except OrgError as exc:
            if not self._soft(obj.sobject, exc):
                raise
            return None

    def truncated(self) -> bool:
        return self.org.last_truncation is not None

    def collect(
        self,
        obj: _Obj,
        *,
        where: str = "",
        tail: str | None = None,
        extra: Iterable[str] = (),
        build: Callable[[Mapping[str, Any]], Any] | None = None,
    ) -> list[Any] | None:
        have = self.fields(obj.sobject, obj.tooling)
        if have is None:
            return None
        paths = self.select(obj, have, extra)
        if paths is None:
            return None
        soql = f"SELECT {', '.join(paths)} FROM {obj.sobject}"
        if where:
            soql += f" WHERE {where}"
        if tail if tail is not None else obj.tail:
            soql += f" {tail if tail is not None else obj.tail}"
        make = build or _record_builder(obj)
        return self.query(obj, soql, make)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _as_str(value: Any) -> Any:
    text = value if isinstance(value, str) else str(value)
    return sys.intern(text) if len(text) <= 64 else text


_FAST: dict[str, Callable[[Any], Any]] = {
    "s": _as_str,
    "i": int,
    "b": lambda v: v if isinstance(v, bool) else str(v).lower() in _TRUE,
}


def _record_builder(obj: _Obj, perms: list[str] | None = None) -> Callable[[Mapping[str, Any]], Any]:
    """A per-object converter for trusted adapter rows (no per-row validation): the field spec is read once,
    not for each of 100k rows (this loop is most of a large pull's own CPU time). Top-level text fields, most
    of every row, are converted inline (a function call per value measured a third of the loop)."""
    texts = [(attr, path) for attr, path, kind in obj.fields if kind == "s" and "." not in path]
    flat = [(attr, path, _FAST[kind]) for attr, path, kind in obj.fields if kind not in ("x", "s") and "." not in path]
    nested = [
        (attr, tuple(path.split(".")), _FAST[kind]) for attr, path, kind in obj.fields if kind != "x" and "." in path
    ]
    special = [(attr, path) for attr, path, kind in obj.fields if kind == "x"]
    flags = [(p, f"Permissions{p}") for p in perms or ()]
    make = obj.record
    intern = sys.intern

    def build(rec: Mapping[str, Any]) -> Any:
        values: dict[str, Any] = {}
        v: Any
        get = rec.get
        for attr, key in texts:
            v = get(key)
            if v is not None and v != "":
                values[attr] = intern(v) if v.__class__ is str and len(v) <= 64 else _as_str(v)
        for attr, key, conv in flat:
            v = get(key)
            if v is not None and v != "":
                values[attr] = conv(v)
        for attr, keys, conv in nested:
            v = rec
            for k in keys:
                v = v.get(k) if isinstance(v, Mapping) else None
            if v is not None and v != "":
                values[attr] = conv(v)
        if special:
            getter = _nested_getter(rec)
            for attr, path in special:
                v = _special(obj, attr, path, getter, _loose)
                if v is not None:
                    values[attr] = v
        if perms is not None:
            values["permissions"] = [p for p, key in flags if get(key) is True]
        return make(**values)

    return build
