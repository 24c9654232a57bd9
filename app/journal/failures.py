"""The journal's error family: what a caller of the journal catches, and how a SQLite failure is told.

Kept apart from the chain so that the canonical encoding, the schema and the chain itself raise the same errors
without importing each other.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from app.base.errors import WarroomError

__all__ = ["JournalError", "JournalUnreadable", "SecretRefused", "sqlite_failure"]


class JournalError(WarroomError):
    """The journal could not be written; nothing was recorded."""


class JournalUnreadable(WarroomError):
    exit_code = 3


class SecretRefused(WarroomError):
    """An entry carried something that looks like a credential: refused, nothing recorded."""


def sqlite_failure(exc: sqlite3.Error, path: Path) -> JournalError:
    """A failed write told in the responder's terms (disk full, lock held, read-only file)."""
    text = str(exc)
    if "full" in text:
        why = "the disk is full"
    elif "locked" in text or "busy" in text:
        why = "another process holds the journal lock"
    elif "readonly" in text or "read-only" in text:
        why = "the journal file is read-only"
    else:
        why = text
    return JournalError(f"journal {path}: write failed ({why}); nothing was recorded")
