"""The console needs a terminal to draw on and read keys from; without one it says so instead of waiting."""

from __future__ import annotations

import sys

from app.base.errors import UsageError


def require_terminal() -> None:
    """The console reads keys from stdin and draws on the terminal: both must be one."""

    streams = (sys.stdin, sys.__stdout__, sys.__stderr__)
    if not all(stream is not None and stream.isatty() for stream in streams):
        raise UsageError(
            "the console needs a terminal (stdin, stdout and stderr); none is attached here. Run a command "
            "instead (`warroom --help` lists them), or open the console from a terminal or tmux"
        )
