"""Crash reports: an unexpected exception becomes one redacted line on stderr, a redacted traceback file, exit 70.

A traceback can carry anything the program held (a login response, a request URL with a token), so the
file is written only from `redact`ed text, mode 0600, in the workspace (or the temp dir if that fails).
"""

from __future__ import annotations

import contextlib
import os
import platform
import tempfile
import traceback
from pathlib import Path
from typing import Any

from app import __version__
from app.base.clock import format_instant
from app.base.redaction import redact

EXIT_SOFTWARE = 70  # sysexits.h EX_SOFTWARE: internal software error
CRASH_DIR = "crash"


def one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def report_text(exc: BaseException, *, when: str, command: str | None) -> str:
    lines = [
        f"warroom {__version__} crash report",
        f"when: {when}",
        f"command: {command or '-'}",
        f"python: {platform.python_version()} on {platform.platform()}",
        "",
        *traceback.format_exception(exc),
    ]
    return redact("\n".join(line.rstrip("\n") for line in lines)) + "\n"


def _write_private(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=name + "-", suffix=".txt", dir=directory)  # created 0600
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return Path(tmp)


def write_report(home: Path, exc: BaseException, *, when: str, command: str | None = None) -> Path | None:
    """Write the redacted traceback; returns its path, or None if nowhere was writable."""
    text = report_text(exc, when=when, command=command)
    name = "crash-" + when.replace(":", "").replace("-", "")
    for directory in (home / CRASH_DIR, Path(tempfile.gettempdir())):
        with contextlib.suppress(OSError):
            return _write_private(directory, name, text)
    return None


def write_crash(ctx: Any, exc: BaseException, command: str | None = None) -> str:
    """Write the redacted report and return the one line to show (without the `warroom: ` prefix)."""
    try:
        when = format_instant(ctx.clock.now())
    except Exception:
        when = "unknown"
    path = write_report(ctx.home, exc, when=when, command=command)
    where = f"; redacted report: {path}" if path else "; no report could be written"
    return redact(f"internal error ({one_line(exc)}){where}")


def report_crash(ctx: Any, exc: BaseException, command: str | None = None) -> int:
    """What `dispatch` does with an exception nobody expected: one line, a report file, exit 70."""
    ctx.error(write_crash(ctx, exc, command))
    return EXIT_SOFTWARE
