"""Parsing the SOQL subset the simulated org answers into a query tree.

The subset: enough for the inventory and hunt queries a responder runs, with real error bodies.

Supported: SELECT of fields and relationship paths (`Profile.UserLicense.Name`), `COUNT()` and `COUNT(field)`;
FROM one object; WHERE with = != <> < > <= >=, [NOT] IN (...), LIKE, AND/OR/NOT, parentheses, true/false/null,
date and datetime literals and relative dates (TODAY, YESTERDAY, TOMORROW, LAST_N_DAYS:n, NEXT_N_DAYS:n,
N_DAYS_AGO:n); ORDER BY with ASC/DESC and NULLS FIRST/LAST; LIMIT; OFFSET. Anything else (GROUP BY, sub-queries,
semi-joins, TYPEOF, aliases...) is refused with MALFORMED_QUERY, as a real org refuses what it cannot parse.
Errors carry Salesforce's own layout: the offending line, a caret, `ERROR at Row:r:Column:c`, the message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app.simorg.soql_lexer import SoqlError, Token, located, tokenize
from app.simorg.soql_values import parse_datetime

__all__ = ["BoolOp", "Cmp", "InList", "Like", "Literal", "Not", "OrderItem", "ParsedQuery", "PathRef", "parse"]


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
        return SoqlError("MALFORMED_QUERY", located(self.text, t.pos, f"unexpected token: '{t.text}'"))

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
                raise SoqlError("MALFORMED_QUERY", located(self.text, lit.pos, f"unexpected token: '{lit.text}'"))
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
            return Literal("datetime", parse_datetime(t.text), t.pos, t.text)
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


def parse(text: str) -> ParsedQuery:
    """Parse SOQL text; SoqlError(MALFORMED_QUERY) on anything outside the subset."""
    if not text or not text.strip():
        raise SoqlError("MALFORMED_QUERY", "A query string must be provided.")
    try:
        return _Parser(text).parse()
    except SoqlError:
        raise
    except (ValueError, IndexError):
        raise SoqlError("MALFORMED_QUERY", located(text, len(text), "unexpected token: '<EOF>'")) from None
