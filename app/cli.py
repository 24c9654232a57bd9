"""The `warroom` command: argument parsing, the shared context, and the console launch.

Each area registers its own subcommands from `app/commands/<area>.py`; this module only assembles them and
turns WarroomError into one line on stderr plus an exit code. It never imports the UI: the `warroom` entry
point (screens/entry.py) passes in the console launcher, which reaches commands through `Context.console`.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from app.base.errors import UsageError, WarroomError

if TYPE_CHECKING:
    from app.composition.context import Console

# One module per area; each defines register(subparsers).
COMMAND_MODULES: tuple[str, ...] = (
    "incident",
    "journal",
    "evidence",
    "checklist",
    "deadlines",
    "notify",
    "console",
    "creds",
    "forensics",
    "inventory",
    "simorg",
    "contain",
    "settings",
    "exercise",
    "report",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"warroom: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="warroom", description="War-room console for a data leak through Salesforce integrations.")
    parser.add_argument("--home", type=Path, help="workspace directory (default: $WARROOM_HOME or the user data dir)")
    parser.add_argument("--actor", help="who is acting, recorded in the journal (default: $WARROOM_ACTOR or login)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(f"app.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None, *, console: Console | None = None) -> int:
    """Parse `argv` and run the command; `console` starts the console (None: this process has none)."""
    from app.base import redaction
    from app.composition.context import Context

    redaction.install()
    parser = build_parser()
    args = parser.parse_args(argv)
    return dispatch(Context.from_args(args, console=console), args)


def dispatch(ctx, args: argparse.Namespace) -> int:
    """Run the chosen handler with `ctx`; tests call this with an injected clock and keyring."""
    try:
        handler = getattr(args, "handler", None)
        if handler is None:
            return open_console(ctx)
        return int(handler(ctx, args) or 0)
    except WarroomError as exc:
        ctx.error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        ctx.error("interrupted")
        return 130
    except BrokenPipeError:
        # The reader went away (`warroom ... | head`): not a crash; silence the final flush too.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:
        from app.base.crash import report_crash

        return report_crash(ctx, exc, getattr(args, "command", None))


def open_console(ctx, incident_id: str | None = None, demo: bool = False) -> int:
    """Start the console through the launcher the entry point injected."""
    if ctx.console is None:
        raise UsageError("this entry point has no console: run `warroom` (or `python -m screens.entry`)")
    return int(ctx.console(ctx, incident_id=incident_id, demo=demo))


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
