"""A SOQL subset: enough for the inventory and hunt queries a responder runs, with real error bodies.

Supported: SELECT of fields and relationship paths (`Profile.UserLicense.Name`), `COUNT()` and `COUNT(field)`;
FROM one object; WHERE with = != <> < > <= >=, [NOT] IN (...), LIKE, AND/OR/NOT, parentheses, true/false/null,
date and datetime literals and relative dates (TODAY, YESTERDAY, TOMORROW, LAST_N_DAYS:n, NEXT_N_DAYS:n,
N_DAYS_AGO:n); ORDER BY with ASC/DESC and NULLS FIRST/LAST; LIMIT; OFFSET. Anything else (GROUP BY, sub-queries,
semi-joins, TYPEOF, aliases...) is refused with MALFORMED_QUERY, as a real org refuses what it cannot parse.
Errors carry Salesforce's own layout: the offending line, a caret, `ERROR at Row:r:Column:c`, the message.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from app.simorg.ids import id_key
from app.simorg.schema import FieldDef, ObjectDef, Schema


class SoqlError(Exception):
    """A query the org refuses; `code` is the Salesforce errorCode, `status` the HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def _located(text: str, pos: int, message: str) -> str:
    pos = max(0, min(pos, len(text)))
    before = text[:pos]
    row = before.count("\n") + 1
    line_start = before.rfind("\n") + 1
    line_end = text.find("\n", pos)
    line = text[line_start : line_end if line_end != -1 else len(text)]
    col = pos - line_start + 1
    return f"\n{line}\n{' ' * (col - 1)}^\nERROR at Row:{row}:Column:{col}\n{message}"


# ---------------------------------------------------------------- tokens

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<op><>|!=|<=|>=|=|<|>)
  | (?P<punct>[(),.:])
    """,
    re.VERBOSE,
)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\"}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int
    value: Any = None


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        m = _TOKEN_RE.match(text, i)
        if m is None:
            ch = text[i]
            if ch == "'":
                msg = f"line 1:{i} no viable alternative at character '''"
                raise SoqlError("MALFORMED_QUERY", _located(text, i, msg))
            raise SoqlError("MALFORMED_QUERY", _located(text, i, f"unexpected token: '{ch}'"))
        kind = m.lastgroup or ""
        if kind != "ws":
            raw = m.group()
            value: Any = raw
            if kind == "string":
                value = _unescape(raw[1:-1], text, i)
            tokens.append(Token(kind, raw, i, value))
        i = m.end()
    tokens.append(Token("eof", "<EOF>", len(text)))
    return tokens


def _unescape(body: str, text: str, pos: int) -> str:
    out = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
            elif nxt in "%_":
                out.append("\\" + nxt)  # kept escaped for LIKE
            else:
                msg = f"Invalid string literal '{body}'. Illegal escape sequence"
                raise SoqlError("MALFORMED_QUERY", _located(text, pos, msg))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


# ---------------------------------------------------------------- AST


@dataclass
class PathRef:
    parts: list[str]
    pos: int


@dataclass
class Literal:
    kind: str  # string number boolean null date datetime relative
    value: Any
    pos: int
    text: str


@dataclass
class Cmp:
    path: PathRef
    op: str
    value: Literal


@dataclass
class InList:
    path: PathRef
    values: list[Literal]
    negate: bool


@dataclass
class Like:
    path: PathRef
    pattern: Literal


@dataclass
class BoolOp:
    op: str  # AND / OR
    items: list[Any]


@dataclass
class Not:
    item: Any


@dataclass
class OrderItem:
    path: PathRef
    desc: bool
    nulls_last: bool


@dataclass
class ParsedQuery:
    text: str
    select: list[PathRef]
    count: str | None  # None, "COUNT()" or "COUNT(field)"
    count_path: PathRef | None
    sobject: str
    sobject_pos: int
    where: Any = None
    order: list[OrderItem] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None


_RESERVED = {
    "select", "from", "where", "and", "or", "not", "in", "like", "order", "by", "asc", "desc", "nulls",
    "first", "last", "limit", "offset", "true", "false", "null", "group", "having", "with", "for", "using",
    "includes", "excludes", "typeof",
}  # fmt: skip
_RELATIVE = {"today", "yesterday", "tomorrow", "last_week", "this_week", "next_week", "last_month",
             "this_month", "next_month"}  # fmt: skip
_RELATIVE_N = {"last_n_days", "next_n_days", "n_days_ago", "last_n_weeks", "next_n_weeks", "last_n_months"}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    # helpers
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def _next(self) -> Token:
        t = self.tokens[self.i]
        self.i += 1
        return t

    def _is_kw(self, word: str, offset: int = 0) -> bool:
        t = self.tokens[min(self.i + offset, len(self.tokens) - 1)]
        return t.kind == "ident" and t.text.lower() == word

    def _unexpected(self, t: Token | None = None) -> SoqlError:
        t = t or self.tok
        return SoqlError("MALFORMED_QUERY", _located(self.text, t.pos, f"unexpected token: '{t.text}'"))

    def _expect_kw(self, word: str) -> Token:
        if not self._is_kw(word):
            raise self._unexpected()
        return self._next()

    def _expect_punct(self, ch: str) -> Token:
        if self.tok.kind != "punct" or self.tok.text != ch:
            raise self._unexpected()
        return self._next()

    # grammar
    def parse(self) -> ParsedQuery:
        self._expect_kw("select")
        select: list[PathRef] = []
        count: str | None = None
        count_path: PathRef | None = None
        if self._is_kw("count") and self.tokens[self.i + 1].text == "(":
            self._next()
            self._expect_punct("(")
            if self.tok.text == ")":
                count = "COUNT()"
            else:
                count_path = self._path()
                count = "COUNT(field)"
            self._expect_punct(")")
            if self.tok.text == ",":
                raise self._unexpected()
        else:
            while True:
                if self.tok.text == "(":
                    raise self._unexpected()  # sub-query
                if self.tok.kind == "ident" and self.tokens[self.i + 1].text == "(":
                    raise self._unexpected(self.tokens[self.i + 1])  # functions / FIELDS()
                select.append(self._path())
                if self.tok.kind == "ident" and not self._is_kw("from"):
                    raise self._unexpected()  # alias
                if self.tok.text == ",":
                    self._next()
                    continue
                break
        self._expect_kw("from")
        obj = self.tok
        if obj.kind != "ident" or obj.text.lower() in _RESERVED:
            raise self._unexpected()
        self._next()
        query = ParsedQuery(self.text, select, count, count_path, obj.text, obj.pos)
        if (
            self.tok.kind == "ident"
            and not self._is_kw("where")
            and not self._is_kw("order")
            and not self._is_kw("limit")
            and not self._is_kw("offset")
        ):
            raise self._unexpected()
        if self._is_kw("where"):
            self._next()
            query.where = self._or()
        if self._is_kw("order"):
            self._next()
            self._expect_kw("by")
            while True:
                path = self._path()
                desc = False
                if self._is_kw("asc"):
                    self._next()
                elif self._is_kw("desc"):
                    self._next()
                    desc = True
                nulls_last = desc
                if self._is_kw("nulls"):
                    self._next()
                    if self._is_kw("first"):
                        nulls_last = False
                    elif self._is_kw("last"):
                        nulls_last = True
                    else:
                        raise self._unexpected()
                    self._next()
                query.order.append(OrderItem(path, desc, nulls_last))
                if self.tok.text == ",":
                    self._next()
                    continue
                break
        if self._is_kw("limit"):
            self._next()
            query.limit = self._int()
        if self._is_kw("offset"):
            self._next()
            query.offset = self._int()
        if self.tok.kind != "eof":
            raise self._unexpected()
        return query

    def _int(self) -> int:
        t = self.tok
        if t.kind != "number" or not t.text.isdigit():
            raise self._unexpected()
        self._next()
        return int(t.text)

    def _path(self) -> PathRef:
        t = self.tok
        if t.kind != "ident" or t.text.lower() in _RESERVED:
            raise self._unexpected()
        self._next()
        parts = [t.text]
        while self.tok.text == ".":
            self._next()
            nxt = self.tok
            if nxt.kind != "ident":
                raise self._unexpected()
            self._next()
            parts.append(nxt.text)
        return PathRef(parts, t.pos)

    def _or(self) -> Any:
        items = [self._and()]
        while self._is_kw("or"):
            self._next()
            items.append(self._and())
        return items[0] if len(items) == 1 else BoolOp("OR", items)

    def _and(self) -> Any:
        items = [self._not()]
        while self._is_kw("and"):
            self._next()
            items.append(self._not())
        return items[0] if len(items) == 1 else BoolOp("AND", items)

    def _not(self) -> Any:
        if self._is_kw("not"):
            self._next()
            return Not(self._not())
        return self._primary()

    def _primary(self) -> Any:
        if self.tok.text == "(":
            self._next()
            inner = self._or()
            self._expect_punct(")")
            return inner
        path = self._path()
        if self.tok.kind == "op":
            op = self._next().text
            return Cmp(path, "!=" if op == "<>" else op, self._literal())
        if self._is_kw("like"):
            self._next()
            lit = self._literal()
            if lit.kind != "string":
                raise SoqlError("MALFORMED_QUERY", _located(self.text, lit.pos, f"unexpected token: '{lit.text}'"))
            return Like(path, lit)
        negate = False
        if self._is_kw("not") and self._is_kw("in", 1):
            self._next()
            negate = True
        if self._is_kw("in"):
            self._next()
            self._expect_punct("(")
            if self._is_kw("select"):
                raise self._unexpected()  # semi-join
            values = [self._literal()]
            while self.tok.text == ",":
                self._next()
                values.append(self._literal())
            self._expect_punct(")")
            return InList(path, values, negate)
        raise self._unexpected()

    def _literal(self) -> Literal:
        t = self.tok
        if t.kind == "string":
            self._next()
            return Literal("string", t.value, t.pos, t.text)
        if t.kind == "number":
            self._next()
            return Literal("number", float(t.text) if "." in t.text else int(t.text), t.pos, t.text)
        if t.kind == "datetime":
            self._next()
            return Literal("datetime", _parse_dt(t.text), t.pos, t.text)
        if t.kind == "date":
            self._next()
            return Literal("date", date.fromisoformat(t.text), t.pos, t.text)
        if t.kind == "ident":
            low = t.text.lower()
            if low in ("true", "false"):
                self._next()
                return Literal("boolean", low == "true", t.pos, t.text)
            if low == "null":
                self._next()
                return Literal("null", None, t.pos, t.text)
            if low in _RELATIVE:
                self._next()
                return Literal("relative", (low, 0), t.pos, t.text)
            if low in _RELATIVE_N:
                self._next()
                if self.tok.text != ":":
                    raise self._unexpected()
                self._next()
                n = self._int()
                return Literal("relative", (low, n), t.pos, f"{t.text}:{n}")
        raise self._unexpected()


def _parse_dt(text: str) -> datetime:
    raw = text.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", raw):
        raw = raw[:-2] + ":" + raw[-2:]
    return datetime.fromisoformat(raw).astimezone(UTC)


def parse(text: str) -> ParsedQuery:
    """Parse SOQL text; SoqlError(MALFORMED_QUERY) on anything outside the subset."""
    if not text or not text.strip():
        raise SoqlError("MALFORMED_QUERY", "A query string must be provided.")
    try:
        return _Parser(text).parse()
    except SoqlError:
        raise
    except (ValueError, IndexError):
        raise SoqlError("MALFORMED_QUERY", _located(text, len(text), "unexpected token: '<EOF>'")) from None


# ---------------------------------------------------------------- compile

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
            raise SoqlError("INVALID_FIELD", _located(text, ref.pos, msg))
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
        raise SoqlError("INVALID_FIELD", _located(text, ref.pos, msg))
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
    return SoqlError("INVALID_FIELD", _located(text, lit.pos, msg))


def _relative_range(name: str, n: int, now: datetime) -> tuple[datetime, datetime]:
    today = datetime(now.year, now.month, now.day, tzinfo=UTC)
    day = timedelta(days=1)
    if name == "today":
        return today, today + day
    if name == "yesterday":
        return today - day, today
    if name == "tomorrow":
        return today + day, today + 2 * day
    if name == "last_n_days":
        return today - n * day, today + day
    if name == "next_n_days":
        return today + day, today + (n + 1) * day
    if name == "n_days_ago":
        return today - n * day, today - (n - 1) * day
    if name in ("last_week", "this_week", "next_week"):
        start = today - timedelta(days=(today.weekday() + 1) % 7)  # weeks start on Sunday
        shift = {"last_week": -1, "this_week": 0, "next_week": 1}[name]
        return start + shift * 7 * day, start + (shift + 1) * 7 * day
    if name == "last_n_weeks":
        start = today - timedelta(days=(today.weekday() + 1) % 7)
        return start - n * 7 * day, start
    if name == "next_n_weeks":
        start = today - timedelta(days=(today.weekday() + 1) % 7) + 7 * day
        return start, start + n * 7 * day
    first = today.replace(day=1)
    if name == "this_month":
        return first, _add_months(first, 1)
    if name == "last_month":
        return _add_months(first, -1), first
    if name == "next_month":
        return _add_months(first, 1), _add_months(first, 2)
    if name == "last_n_months":
        return _add_months(first, -n), first
    raise ValueError(name)


def _add_months(d: datetime, months: int) -> datetime:
    idx = d.year * 12 + d.month - 1 + months
    return d.replace(year=idx // 12, month=idx % 12 + 1, day=1)


def _as_dt(v: Any) -> datetime:
    if isinstance(v, datetime):
        return v
    return datetime(v.year, v.month, v.day, tzinfo=UTC)


def _norm(fd: FieldDef, v: Any) -> Any:
    """Comparison key of a stored value."""
    if v is None:
        return None
    if fd.type in ("id", "reference"):
        return id_key(v)
    if isinstance(v, str):
        return v.lower()
    return v


def _like_regex(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "%_":
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


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
            raise SoqlError("INVALID_FIELD", _located(self.text, ref.pos, msg))
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
                return "range", _relative_range(name, n, self.now)
            raise _type_error(self.text, lit, fd)
        if t == "date":
            if lit.kind == "date":
                start = _as_dt(lit.value)
                return "range", (start, start + timedelta(days=1))
            if lit.kind == "relative":
                name, n = lit.value
                return "range", _relative_range(name, n, self.now)
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
                    _located(
                        self.text, node.path.pos, f"invalid operator on field '{rp.leaf.name}' of type {rp.leaf.type}"
                    ),
                )
            rx = _like_regex(node.pattern.value)
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
                    raise SoqlError("INVALID_FIELD", _located(self.text, lit.pos, "IN operator requires point values"))
                if kind == "null":
                    want_null = True
                else:
                    keys.append(val)
            keyset = set(keys)
            negate = node.negate

            def in_list(row: dict[str, Any]) -> bool:
                v = _norm(fd, get(row))
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
                temporal = _as_dt

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
        raise SoqlError("MALFORMED_QUERY", _located(self.text, 0, "unexpected token"))


def _point_cmp(
    get: Callable[[dict[str, Any]], Any], fd: FieldDef, op: str, val: Any
) -> Callable[[dict[str, Any]], bool]:
    def cmp(row: dict[str, Any]) -> bool:
        v = _norm(fd, get(row))
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
            raise SoqlError("MALFORMED_QUERY", _located(parsed.text, ref.pos, f"duplicate field selected: {rp.dotted}"))
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
            raise SoqlError("INVALID_FIELD", _located(parsed.text, item.path.pos, msg))
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
