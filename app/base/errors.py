"""Errors that reach the responder as one clear line and an exit code, never a traceback."""

from __future__ import annotations


class WarroomError(Exception):
    """A failure the responder can act on; `exit_code` is what the command returns."""

    exit_code = 1

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(WarroomError):
    """Bad arguments or input named by the responder."""

    exit_code = 2


class NotFoundError(WarroomError):
    """An incident, item, rule or record that does not exist."""

    exit_code = 2
