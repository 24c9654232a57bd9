"""argparse types shared by several command modules."""

from __future__ import annotations

import argparse
from datetime import date, datetime
from typing import Any

from app.base.clock import parse_instant
from app.base.errors import UsageError


def instant_arg(text: str) -> datetime:
    """argparse type for an ISO 8601 instant with a zone; the error names the value."""
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def date_arg(text: str) -> date:
    """argparse type for a calendar date (YYYY-MM-DD); the error names the value."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD)") from None


def check_window(since: datetime | None, until: datetime | None) -> None:
    """--since must come before --until (a reversed window would silently match nothing)."""
    if since is not None and until is not None and since >= until:
        raise UsageError(f"--since {since.isoformat()} is not before --until {until.isoformat()}; swap them")


def dash_value_hint(parser: argparse.ArgumentParser, name: str, example: str) -> None:
    """argparse reads a value such as `-1h` as an option and then says the value is missing: say why instead."""
    original = parser.error

    def error(message: str) -> Any:
        if f"required: {name}" in message:
            message += f"; a value that starts with '-' goes after `--` (e.g. {example})"
        return original(message)

    parser.error = error  # type: ignore[method-assign]
