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
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

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
    "costs",
    "grant",
    "monitor",
    "reconnect",
    "harden",
)

# Each top-level command: the module that registers it and its one-line help. `warroom CMD` imports only
# CMD's module, and `warroom --help` none, so start-up does not pay for every area; tests/test_cli_startup.py
# checks this table against what the modules register.
COMMANDS: dict[str, tuple[str, str]] = {
    "new": ("incident", "declare a new incident and print its id"),
    "list": ("incident", "list incidents in the workspace"),
    "note": ("incident", "add a note to the incident's journal"),
    "journal": ("journal", "verify, inspect and export the evidence journal"),
    "evidence": ("evidence", "add evidence files and record custody"),
    "checklist": ("checklist", "the response checklist: validate, status, set item state"),
    "deadlines": ("deadlines", "notification clocks for the incident (and the rule table behind them)"),
    "facts": ("deadlines", "incident facts that decide which notification clocks run"),
    "notify": ("notify", "notices to regulators, individuals and others"),
    "demo": ("console", "open the console on a fresh demo incident against a simulated org"),
    "open": ("console", "open the console on an incident (id, or a unique prefix or suffix of one)"),
    "creds": ("creds", "Salesforce credentials by alias, kept in the OS keyring"),
    "collect": ("forensics", "preserve the org's audit trail, logins, event logs, debug logs and events"),
    "hunt": ("forensics", "search the preserved evidence for indicators of compromise"),
    "exfil": ("forensics", "what did they take: rows read per app/user and object, from the API logs"),
    "inventory": ("inventory", "snapshot the org's apps, tokens, users and permissions"),
    "findings": ("inventory", "failure patterns and compromise signals in the current snapshot"),
    "simorg": ("simorg", "the simulated Salesforce org (demo, tests, tabletop exercises)"),
    "contain": ("contain", "containment actions: plan, approve, apply, undo, track manual tasks"),
    "settings": ("settings", "incident settings (journaled), e.g. an approver other than the executor"),
    "exercise": ("exercise", "tabletop exercises: scenarios with timed injects, scored"),
    "report": ("report", "the audit report: timeline, controls, clocks, containment, evidence, journal root"),
    "export-population": ("report", "journal entries as CSV for an auditor's sample, with the query that made it"),
    "costs": ("costs", "the cost ledger: costs against a budget, totals per category and currency, fine ranges"),
    "grant": ("grant", "just-in-time access: a permission set for a stated time, approved, verified"),
    "monitor": ("monitor", "enhanced monitoring after containment: a window of days, runs and alerts"),
    "reconnect": ("reconnect", "bring a contained integration back: preconditions checked, approved by another"),
    "harden": ("harden", "harden a connected app, Transaction Security and debug logs as tasks, checked by query"),
}
_GLOBAL_OPTIONS_WITH_VALUE = ("--home", "--actor")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"warroom: {message}\n")


def build_parser(modules: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The `warroom` parser with the subcommands of `modules` in full (None: every module); the other
    commands are listed by name and help only, enough for `--help` and for refusing an unknown command."""
    wanted = set(COMMAND_MODULES if modules is None else modules)
    parser = _Parser(prog="warroom", description="War-room console for a data leak through Salesforce integrations.")
    parser.add_argument("--home", type=Path, help="workspace directory (default: $WARROOM_HOME or the user data dir)")
    parser.add_argument("--actor", help="who is acting, recorded in the journal (default: $WARROOM_ACTOR or login)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    registered: set[str] = set()
    for name, (module, help_text) in COMMANDS.items():
        if module not in wanted:
            sub.add_parser(name, help=help_text)
        elif module not in registered:
            importlib.import_module(f"app.commands.{module}").register(sub)
            registered.add(module)
    for module in sorted(wanted - registered):  # a module not in COMMANDS yet still registers
        importlib.import_module(f"app.commands.{module}").register(sub)
    return parser


def command_word(argv: Sequence[str]) -> str | None:
    """The command a command line names (the first word after the global options), or None."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _GLOBAL_OPTIONS_WITH_VALUE:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def main(argv: Sequence[str] | None = None, *, console: Console | None = None) -> int:
    """Parse `argv` and run the command; `console` starts the console (None: this process has none)."""
    from app.base import redaction
    from app.composition.context import Context

    redaction.install()
    argv = list(sys.argv[1:] if argv is None else argv)
    word = command_word(argv)
    parser = build_parser([COMMANDS[word][0]] if word in COMMANDS else [])
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
