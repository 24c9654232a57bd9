"""Salesforce record Ids: 15-character case-sensitive keys and their 18-character case-safe form."""

from __future__ import annotations

_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def to18(id15: str) -> str:
    """Append the checksum that makes an Id safe for case-insensitive systems (the real algorithm)."""
    if len(id15) != 15:
        return id15
    suffix = ""
    for chunk in range(3):
        bits = 0
        for i, ch in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        suffix += _SUFFIX[bits]
    return id15 + suffix


def id_key(value: str) -> str:
    """Comparison key: 15- and 18-character forms of one Id are the same record."""
    return value[:15] if len(value) in (15, 18) else value


def make_id(prefix: str, pod: str, n: int) -> str:
    """Deterministic Id number `n` for a key prefix (3 chars) in a pod (3 chars)."""
    digits = ""
    while n:
        n, r = divmod(n, 62)
        digits = _B62[r] + digits
    body = digits.rjust(9, "0")
    return to18(prefix + pod + body)
