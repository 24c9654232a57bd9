r"""Regular expressions a responder supplies (indicator files), compiled so that no input can hang a hunt.

Python's `re` backtracks: `(\w+\s?)+$` against a long line takes exponential time (a hunt ran over 180 s at full
CPU on one such pattern). User patterns are compiled with RE2, which matches in time linear in the input; the
constructs RE2 cannot run in linear time (backreferences, lookaround) are refused when the file is loaded, with
the reason, instead of being run slowly.
"""

from __future__ import annotations

from typing import Any

import re2

MAX_PATTERN_LENGTH = 2000


class RegexRefused(ValueError):
    """A pattern that RE2 refuses (or too long); the message says why."""


def compile_guarded(pattern: str, *, ignore_case: bool = False) -> Any:
    """An RE2 pattern object with `search` and `fullmatch`, like `re.Pattern`."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise RegexRefused(f"longer than {MAX_PATTERN_LENGTH} characters")
    options = re2.Options()
    options.log_errors = False
    options.case_sensitive = not ignore_case
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        why = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise RegexRefused(
            f"{why}; backreferences and lookaround are refused because they can take exponential time"
        ) from None
