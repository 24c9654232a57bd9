"""Bounds every parser of user-supplied files keeps: size, nesting depth, and clear messages when exceeded.

A hostile or broken file (a 1 GB checklist, `a = [[[[...]]]]` nested thousands deep, JSON that recurses) must
end in one clear line naming the file, never a RecursionError, a MemoryError or a hang. The TOML and JSON
loaders of every area go through `parse_toml` / `parse_json` (or at least keep `check_depth`).
"""

from __future__ import annotations

import json
import tomllib
from typing import Any

from app.base.errors import UsageError

MAX_NESTING = 48  # tables and arrays inside each other; real inputs use fewer than 8
MAX_TOML_BYTES = 8 * 1024 * 1024  # checklists, rules, scenarios, scripts, indicator files
MAX_JSON_BYTES = 256 * 1024 * 1024  # snapshots and exports can be large


def check_depth(obj: Any, where: str, limit: int = MAX_NESTING) -> Any:
    """`obj` when no list or table in it is nested deeper than `limit` (checked without recursion)."""
    stack: list[tuple[Any, int]] = [(obj, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth >= limit:
            raise UsageError(f"{where}: nested more than {limit} levels deep; refused")
        stack.extend((c, depth + 1) for c in children)
    return obj


def _size_check(text: str | bytes, where: str, limit: int) -> None:
    if len(text) > limit:
        raise UsageError(f"{where}: {len(text)} bytes, larger than the {limit} bytes allowed; refused")


def parse_toml(text: str, where: str, *, limit: int = MAX_TOML_BYTES) -> dict[str, Any]:
    """tomllib.loads with the bounds; a syntax error is re-raised as tomllib's own (callers locate it)."""
    _size_check(text, where, limit)
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise UsageError(f"{where}: nested too deeply to read (more than {MAX_NESTING} levels); refused") from None
    return check_depth(data, where)


def parse_json(raw: str | bytes, where: str, *, limit: int = MAX_JSON_BYTES) -> Any:
    """json.loads with the bounds; a syntax error is re-raised as json's own."""
    _size_check(raw, where, limit)
    try:
        data = json.loads(raw)
    except RecursionError:
        raise UsageError(f"{where}: nested too deeply to read (more than {MAX_NESTING} levels); refused") from None
    return check_depth(data, where)
