"""Canonical JSON (RFC 8785) for the journal: the exact bytes that are hashed, re-derivable by any verifier.

Separate from the chain because the verifier, the team merge and the containment records encode with it too,
and none of them needs a journal to do so.
"""

from __future__ import annotations

import json
import re
from typing import Any

import rfc8785

from app.journal.failures import JournalError

__all__ = ["MAX_SAFE_INT", "canonical", "check_json", "jcs"]

MAX_SAFE_INT = 2**53 - 1


def canonical(obj: Any) -> bytes:
    """RFC 8785 bytes; floats and unsafe integers are refused so every verifier re-derives the same bytes."""
    check_json(obj, "data")
    return jcs(obj)


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def jcs(obj: Any) -> bytes:
    """RFC 8785 serialisation of float-free JSON, on the C json encoder where it is provably identical.

    For strings, ints, bools, null, lists and objects, sorted-key compact `json.dumps` without ASCII escaping
    produces exactly the JCS bytes, except that JCS orders keys by UTF-16 code units, which differs from code
    point order only for characters outside the BMP: those (rare) documents go through `rfc8785`.
    """
    try:
        text = _ENCODER.encode(obj)
        if text.isascii() or not _ASTRAL.search(text):
            return text.encode("utf-8")
    except (UnicodeEncodeError, ValueError, TypeError):
        pass
    return rfc8785.dumps(obj)


def is_canonical(doc: Any, body: bytes, text: str) -> bool:
    """Whether `body`, whose UTF-8 text is `text`, is exactly `jcs(doc)` (for ASCII text the C encoder's output
    is already the RFC 8785 form, so the text is compared as it is)."""
    if text.isascii():
        return _ENCODER.encode(doc) == text
    return jcs(doc) == body


def check_json(obj: Any, path: str) -> None:
    """Refuse what canonical JSON cannot carry reproducibly (floats, integers beyond 2**53-1, non-JSON)."""
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return
    if isinstance(obj, int):
        if abs(obj) > MAX_SAFE_INT:
            raise JournalError(f"{path}: integer {obj} is too large for canonical JSON; store it as a string")
        return
    if isinstance(obj, float):
        raise JournalError(f"{path}: floats are not journaled (not reproducible); store {obj!r} as a string")
    if isinstance(obj, dict):
        for key, value in obj.items():
            if not isinstance(key, str):
                raise JournalError(f"{path}: key {key!r} is not a string")
            check_json(value, f"{path}.{key}")
        return
    if isinstance(obj, list | tuple):
        for i, value in enumerate(obj):
            check_json(value, f"{path}[{i}]")
        return
    raise JournalError(f"{path}: {type(obj).__name__} is not JSON")
