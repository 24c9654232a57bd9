"""Salesforce record Ids: 15-character case-sensitive keys and their 18-character case-safe form."""

from __future__ import annotations

_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def to18(id15: str) -> str:
    """Append the checksum that makes an Id safe for case-insensitive systems (the real algorithm)."""
    if len(id15) != 15:
        return id15
    return id15 + _chunk(id15[0:5]) + _chunk(id15[5:10]) + _chunk(id15[10:15])


_CHUNKS: dict[str, str] = {}


def _chunk(part: str) -> str:
    """One checksum character: a bit per upper-case letter in a 5-character chunk (memoised: Ids repeat)."""
    found = _CHUNKS.get(part)
    if found is None:
        bits = 0
        for i, ch in enumerate(part):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        found = _SUFFIX[bits]
        if len(_CHUNKS) < 200_000:
            _CHUNKS[part] = found
    return found


def id_key(value: str) -> str:
    """Comparison key: the 18-character form, so 15- and 18-character forms of one Id meet (and stored
    18-character Ids are their own key: no copy per row)."""
    return to18(value) if len(value) == 15 else value


def make_id(prefix: str, pod: str, n: int) -> str:
    """Deterministic Id number `n` for a key prefix (3 chars) in a pod (3 chars)."""
    digits = ""
    while n:
        n, r = divmod(n, 62)
        digits = _B62[r] + digits
    body = digits.rjust(9, "0")
    return to18(prefix + pod + body)
