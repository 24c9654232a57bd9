"""SOQL's words and its errors: the tokenizer, and Salesforce's error layout that points at the offending text.

Every stage of the simulated org's SOQL (parser, compiler, the store's own checks) reports through `SoqlError`
and `located`, so a refused query reads as a real org's `ERROR at Row:r:Column:c` body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["SoqlError", "Token", "located", "tokenize"]


class SoqlError(Exception):
    """A query the org refuses; `code` is the Salesforce errorCode, `status` the HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def located(text: str, pos: int, message: str) -> str:
    """`message` under the line of `text` holding `pos`, with a caret and its row and column."""
    pos = max(0, min(pos, len(text)))
    before = text[:pos]
    row = before.count("\n") + 1
    line_start = before.rfind("\n") + 1
    line_end = text.find("\n", pos)
    line = text[line_start : line_end if line_end != -1 else len(text)]
    col = pos - line_start + 1
    return f"\n{line}\n{' ' * (col - 1)}^\nERROR at Row:{row}:Column:{col}\n{message}"


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
                raise SoqlError("MALFORMED_QUERY", located(text, i, msg))
            raise SoqlError("MALFORMED_QUERY", located(text, i, f"unexpected token: '{ch}'"))
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
                raise SoqlError("MALFORMED_QUERY", located(text, pos, msg))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)
