"""Text shortened for a line of output: report timelines and hunt hits show long values this way."""

from __future__ import annotations


def one_line(text: str, limit: int) -> str:
    """`text` on one line (runs of whitespace become one space), at most `limit` characters, ending in … if cut."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
