"""argparse types shared by several command modules."""

from __future__ import annotations

import argparse
from datetime import date, datetime

from app.base.clock import parse_instant


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
