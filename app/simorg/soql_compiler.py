"""Compiling a parsed SOQL query against the simulated org's schema: field paths resolved through lookups,
filters type-checked and turned into row predicates, an index hint for the store, and ordering.

The org refuses here what a real org refuses after parsing (unknown fields, wrongly typed values), with the
same error codes and layout.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.simorg.ids import id_key
from app.simorg.schema import FieldDef, ObjectDef, Schema
from app.simorg.soql_lexer import SoqlError, located
from app.simorg.soql_parser import BoolOp, Cmp, InList, Like, Literal, Not, ParsedQuery, PathRef
from app.simorg.soql_values import as_datetime, like_regex, normalize, relative_range

__all__ = ["CompiledQuery", "Lookup", "ResolvedPath", "compile_query", "make_getter", "sort_rows"]


Lookup = Callable[[str, str], "dict[str, Any] | None"]


@dataclass
class ResolvedPath:
    """A field reached from the query's object through zero or more lookups."""

    names: list[str]  # canonical relationship names then the field name, e.g. ["Profile", "Name"]
    refs: list[FieldDef]  # reference fields walked
    objects: list[ObjectDef]  # object at each step (len(refs)+1)
    leaf: FieldDef

    @property
    def dotted(self) -> str:
        return ".".join(self.names)


@dataclass
class CompiledQuery:
    parsed: ParsedQuery
    obj: ObjectDef
    select: list[ResolvedPath]
    predicate: Callable[[dict[str, Any]], bool] | None
    index_hint: tuple[str, list[str]] | None
    order: list[tuple[ResolvedPath, bool, bool]]
    count: str | None
    count_path: ResolvedPath | None
    limit: int | None
    offset: int | None


def _resolve(schema: Schema, obj: ObjectDef, ref: PathRef, text: str) -> ResolvedPath:
    parts = list(ref.parts)
    if len(parts) > 1 and parts[0].lower() == obj.name.lower() and obj.relationship(parts[0]) is None:
        parts = parts[1:]  # `SELECT User.Id FROM User` is legal SOQL
    current = obj
    refs: list[FieldDef] = []
    objects = [obj]
    names: list[str] = []
    for part in parts[:-1]:
        rel = current.relationship(part)
        target = schema.get(rel.reference_to) if rel and rel.reference_to else None
        if rel is None or target is None:
            msg = (
                f"Didn't understand relationship '{part}' in field path. If you are attempting to use a custom "
                "relationship, be sure to append the '__r' after the custom relationship name. Please reference "
                "your WSDL or the describe call for the appropriate names."
            )
            raise SoqlError("INVALID_FIELD", located(text, ref.pos, msg))
        refs.append(rel)
        names.append(rel.relationship or part)
        current = target
        objects.append(current)
    leaf = current.field(parts[-1])
    if leaf is None:
        msg = (
            f"No such column '{parts[-1]}' on entity '{current.name}'. If you are attempting to use a custom field, "
            "be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe "
            "call for the appropriate names."
        )
        raise SoqlError("INVALID_FIELD", located(text, ref.pos, msg))
    names.append(leaf.name)
    return ResolvedPath(names, refs, objects, leaf)


def make_getter(path: ResolvedPath, lookup: Lookup) -> Callable[[dict[str, Any]], Any]:
    leaf = path.leaf.name
    if not path.refs:
        return lambda row: row.get(leaf)
    steps = [(r.name, r.reference_to or "") for r in path.refs]

    def get(row: dict[str, Any]) -> Any:
        current: dict[str, Any] | None = row
        for fname, target in steps:
            ref_id = current.get(fname) if current is not None else None
            if ref_id is None:
                return None
            current = lookup(target, ref_id)
            if current is None:
                return None
        return current.get(leaf) if current is not None else None

    return get


_TEMPORAL = ("datetime", "date")
_STRINGISH = ("id", "string", "textarea", "picklist", "reference", "url", "email", "phone")


def _type_error(text: str, lit: Literal, fd: FieldDef) -> SoqlError:
    kind = {"boolean": "boolean", "int": "double", "double": "double", "datetime": "dateTime", "date": "date"}.get(
        fd.type, "string"
    )
    quoting = "should be enclosed in quotes" if kind == "string" else "should not be enclosed in quotes"
    msg = f"value of filter criterion for field '{fd.name}' must be of type {kind} and {quoting}"
    return SoqlError("INVALID_FIELD", located(text, lit.pos, msg))


class _Compiler:
    def __init__(self, schema: Schema, obj: ObjectDef, text: str, now: datetime, lookup: Lookup) -> None:
        self.schema = schema
        self.obj = obj
        self.text = text
        self.now = now
        self.lookup = lookup

    def path(self, ref: PathRef) -> ResolvedPath:
        return _resolve(self.schema, self.obj, ref, self.text)

    def filter_path(self, ref: PathRef) -> ResolvedPath:
        rp = self.path(ref)
        if not rp.leaf.filterable:
            msg = f"field '{rp.leaf.name}' can not be filtered in query call"
            raise SoqlError("INVALID_FIELD", located(self.text, ref.pos, msg))
        return rp

    def literal(self, fd: FieldDef, lit: Literal) -> tuple[str, Any]:
        """Return ('null'|'point'|'range', normalised value) after type checking."""
        if lit.kind == "null":
            return "null", None
        t = fd.type
        if t == "boolean":
            if lit.kind != "boolean":
                raise _type_error(self.text, lit, fd)
            return "point", lit.value
        if t in ("int", "double"):
            if lit.kind != "number":
                raise _type_error(self.text, lit, fd)
            return "point", lit.value
        if t == "datetime":
            if lit.kind == "datetime":
                return "point", lit.value
            if lit.kind == "relative":
                name, n = lit.value
                return "range", relative_range(name, n, self.now)
            raise _type_error(self.text, lit, fd)
        if t == "date":
            if lit.kind == "date":
                start = as_datetime(lit.value)
                return "range", (start, start + timedelta(days=1))
            if lit.kind == "relative":
                name, n = lit.value
                return "range", relative_range(name, n, self.now)
            raise _type_error(self.text, lit, fd)
        if lit.kind != "string":
            raise _type_error(self.text, lit, fd)
        if t in ("id", "reference"):
            return "point", id_key(lit.value)
        return "point", lit.value.lower()

    def compile(self, node: Any) -> Callable[[dict[str, Any]], bool]:
        if isinstance(node, BoolOp):
            parts = [self.compile(i) for i in node.items]
            if node.op == "AND":
                return lambda row: all(p(row) for p in parts)
            return lambda row: any(p(row) for p in parts)
        if isinstance(node, Not):
            inner = self.compile(node.item)
            return lambda row: not inner(row)
        if isinstance(node, Like):
            rp = self.filter_path(node.path)
            if rp.leaf.type not in _STRINGISH:
                raise SoqlError(
                    "INVALID_FIELD",
                    located(
                        self.text, node.path.pos, f"invalid operator on field '{rp.leaf.name}' of type {rp.leaf.type}"
                    ),
                )
            rx = like_regex(node.pattern.value)
            get = make_getter(rp, self.lookup)
            return lambda row: (lambda v: v is not None and rx.fullmatch(str(v)) is not None)(get(row))
        if isinstance(node, InList):
            rp = self.filter_path(node.path)
            get = make_getter(rp, self.lookup)
            fd = rp.leaf
            keys = []
            want_null = False
            for lit in node.values:
                kind, val = self.literal(fd, lit)
                if kind == "range":
                    raise SoqlError("INVALID_FIELD", located(self.text, lit.pos, "IN operator requires point values"))
                if kind == "null":
                    want_null = True
                else:
                    keys.append(val)
            keyset = set(keys)
            negate = node.negate

            def in_list(row: dict[str, Any]) -> bool:
                v = normalize(fd, get(row))
                hit = (v is None and want_null) or (v is not None and v in keyset)
                return not hit if negate else hit

            return in_list
        if isinstance(node, Cmp):
            rp = self.filter_path(node.path)
            fd = rp.leaf
            get = make_getter(rp, self.lookup)
            kind, val = self.literal(fd, node.value)
            op = node.op
            if kind == "null":
                if op == "=":
                    return lambda row: get(row) is None
                if op == "!=":
                    return lambda row: get(row) is not None
                return lambda row: False
            if kind == "range":
                lo, hi = val
                temporal = as_datetime

                def in_range(row: dict[str, Any]) -> bool:
                    v = get(row)
                    if v is None:
                        return op == "!="
                    t = temporal(v)
                    if op == "=":
                        return lo <= t < hi
                    if op == "!=":
                        return not lo <= t < hi
                    if op == "<":
                        return t < lo
                    if op == "<=":
                        return t < hi
                    if op == ">":
                        return t >= hi
                    return t >= lo

                return in_range
            if fd.type == "date" and isinstance(val, datetime):
                val = val.date()
            return _point_cmp(get, fd, op, val)
        raise SoqlError("MALFORMED_QUERY", located(self.text, 0, "unexpected token"))


def _point_cmp(
    get: Callable[[dict[str, Any]], Any], fd: FieldDef, op: str, val: Any
) -> Callable[[dict[str, Any]], bool]:
    def cmp(row: dict[str, Any]) -> bool:
        v = normalize(fd, get(row))
        if v is None:
            return op == "!="
        if op == "=":
            return v == val
        if op == "!=":
            return v != val
        try:
            if op == "<":
                return v < val
            if op == "<=":
                return v <= val
            if op == ">":
                return v > val
            return v >= val
        except TypeError:
            return False

    return cmp


def _index_hint(node: Any, obj: ObjectDef, comp: _Compiler) -> tuple[str, list[str]] | None:
    """Find a top-level `Field = 'x'` / `Field IN (...)` on an indexed field, so a query need not scan."""
    conjuncts = node.items if isinstance(node, BoolOp) and node.op == "AND" else [node]
    indexed = {"Id", *obj.indexes}
    for c in conjuncts:
        if (isinstance(c, Cmp) and c.op == "=") or (isinstance(c, InList) and not c.negate):
            if len(c.path.parts) != 1:
                continue
            fd = obj.field(c.path.parts[0])
            if fd is None or fd.name not in indexed:
                continue
            lits = [c.value] if isinstance(c, Cmp) else c.values
            keys = []
            for lit in lits:
                kind, val = comp.literal(fd, lit)
                if kind != "point":
                    break
                keys.append(val)
            else:
                return fd.name, keys
    return None


def compile_query(parsed: ParsedQuery, schema: Schema, obj: ObjectDef, now: datetime, lookup: Lookup) -> CompiledQuery:
    comp = _Compiler(schema, obj, parsed.text, now, lookup)
    select: list[ResolvedPath] = []
    seen: set[str] = set()
    for ref in parsed.select:
        rp = comp.path(ref)
        key = rp.dotted.lower()
        if key in seen:
            raise SoqlError("MALFORMED_QUERY", located(parsed.text, ref.pos, f"duplicate field selected: {rp.dotted}"))
        seen.add(key)
        select.append(rp)
    count_path = comp.path(parsed.count_path) if parsed.count_path else None
    predicate = comp.compile(parsed.where) if parsed.where is not None else None
    hint = _index_hint(parsed.where, obj, comp) if parsed.where is not None else None
    order = []
    for item in parsed.order:
        rp = comp.path(item.path)
        if rp.leaf.type in ("textarea", "base64"):
            msg = f"field '{rp.leaf.name}' can not be sorted in a query call"
            raise SoqlError("INVALID_FIELD", located(parsed.text, item.path.pos, msg))
        order.append((rp, item.desc, item.nulls_last))
    if parsed.offset is not None and parsed.offset > 2000:
        raise SoqlError("NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is 2000")
    return CompiledQuery(
        parsed, obj, select, predicate, hint, order, parsed.count, count_path, parsed.limit, parsed.offset
    )


def sort_rows(rows: list[dict[str, Any]], order: list[tuple[ResolvedPath, bool, bool]], lookup: Lookup) -> None:
    """Stable multi-key sort with SOQL's null placement; strings compare case-insensitively."""
    for rp, desc, nulls_last in reversed(order):
        get = make_getter(rp, lookup)
        present: list[dict[str, Any]] = []
        missing: list[dict[str, Any]] = []
        for row in rows:
            (missing if get(row) is None else present).append(row)

        def key(row: dict[str, Any], get: Callable[[dict[str, Any]], Any] = get) -> Any:
            v = get(row)
            return v.lower() if isinstance(v, str) else v

        present.sort(key=key, reverse=desc)
        rows[:] = present + missing if nulls_last else missing + present
