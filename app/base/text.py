"""Text shortened for a line of output: report timelines and hunt hits show long values this way."""

from __future__ import annotations

import re


def one_line(text: str, limit: int) -> str:
    """`text` on one line (runs of whitespace become one space), at most `limit` characters, ending in … if cut."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


_UNPRINTABLE = re.compile(r"[\\\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` safe to print on one line: control, line-break and direction-override characters (and the
    backslash) are shown escaped, so a file name cannot fake a row or hide part of itself."""

    def escape(m: re.Match[str]) -> str:
        ch = m.group()
        if ch == "\\":
            return "\\\\"
        code = ord(ch)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _UNPRINTABLE.sub(escape, text)


def count_of(n: int, noun: str, plural: str | None = None) -> str:
    """`1 token`, `2 tokens`: a count with its noun agreed (the plural is noun + "s" unless given)."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
