"""The `warroom` command: argument parsing, the shared context, and the console launch.

Each area registers its own subcommands from `app/commands/<area>.py`; this module only assembles them (the
shared conventions, `--json`, help and examples, come from app/cli_conventions.py) and turns WarroomError
into one line on stderr, or a JSON error object under `--json`, plus an exit code. It never imports the UI: the
`warroom` entry point (screens/entry.py) passes in the console launcher, which reaches commands through
`Context.console`.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import os
import platform
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
    "team",
    "completion",
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
    "hunt-index": ("forensics", "bring the analysis database up to date with the evidence store, or --rebuild it"),
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
    "team": ("team", "the responders of a team incident and this laptop's key"),
    "sync": ("team", "send this laptop's new journal entries to the team's git remote, fetch the others'"),
    "completion": ("completion", "print a shell completion script for bash, zsh or fish"),
}
_GLOBAL_OPTIONS_WITH_VALUE = ("--home", "--actor")


# The distributions whose versions `warroom --version` reports: what decides how a run behaves.
VERSION_OF = ("textual", "simple-salesforce", "holidays")


class _Parser(argparse.ArgumentParser):
    json_errors = False  # set on every parser of a command line that asks for --json

    def error(self, message: str) -> NoReturn:
        if self.json_errors:
            self.exit(2, json_error(message, 2, "UsageError", self.prog.removeprefix("warroom").strip()))
        self.print_usage(sys.stderr)
        self.exit(2, f"warroom: {message}\n")


def version_text() -> str:
    """warroom's version and those it runs with, read from the installed metadata (nothing is imported)."""
    from importlib.metadata import PackageNotFoundError, version

    def of(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    python = f"{platform.python_implementation()} {platform.python_version()}"
    parts = [f"warroom {of('warroom')}", f"Python {python} on {platform.system()} {platform.machine()}"]
    parts += [f"{name} {of(name)}" for name in VERSION_OF]
    return "\n".join(parts) + "\n"


class _Version(argparse.Action):
    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: object) -> None:
        super().__init__(option_strings, dest=dest, nargs=0, help="print warroom's version and those of Python, "
                         "textual, simple-salesforce and holidays, then exit")  # fmt: skip

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        sys.stdout.write(version_text())
        parser.exit(0)


def json_error(message: str, exit_code: int, kind: str, command: str | None) -> str:
    """The one-line JSON error object a failing command prints on stderr under --json."""
    return json.dumps({"error": message, "exit_code": exit_code, "type": kind, "command": command or None}) + "\n"


def build_parser(modules: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The `warroom` parser with the subcommands of `modules` in full (None: every module); the other
    commands are listed by name and help only, enough for `--help` and for refusing an unknown command."""
    wanted = set(COMMAND_MODULES if modules is None else modules)
    from app import cli_conventions

    parser = _Parser(
        prog="warroom",
        description="War-room console for a data leak through Salesforce integrations.",
        epilog='examples:\n  warroom demo\n  warroom new "Chat vendor token theft" --json\n  warroom note --help',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_Version)
    parser.add_argument(
        "--home", type=Path, metavar="DIR", help="workspace directory (default: $WARROOM_HOME or the user data dir)"
    )
    parser.add_argument(
        "--actor", metavar="NAME", help="who is acting, recorded in the journal (default: $WARROOM_ACTOR or login)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    registered: set[str] = set()
    stubs: set[str] = set()
    for name, (module, help_text) in COMMANDS.items():
        if module not in wanted:
            sub.add_parser(name, help=help_text)
            stubs.add(name)
        elif module not in registered:
            importlib.import_module(f"app.commands.{module}").register(sub)
            registered.add(module)
    for module in sorted(wanted - registered):  # a module not in COMMANDS yet still registers
        importlib.import_module(f"app.commands.{module}").register(sub)
    cli_conventions.finish(parser, skip=stubs)
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
    if "--json" in argv:
        from app.cli_conventions import parsers

        for each in parsers(parser):
            each.json_errors = True  # type: ignore[attr-defined]
    args = parser.parse_args(argv)
    return dispatch(Context.from_args(args, console=console), args)


def dispatch(ctx, args: argparse.Namespace) -> int:
    """Run the chosen handler with `ctx`; tests call this with an injected clock and keyring.

    Under --json a failure is one JSON object on stderr (`json_error`), other messages JSON lines too, and a
    command that prints only text (`json_wrapped`) has its lines returned as {"command", "exit_code", "output"}
    with "made", the journal entries it wrote (`Context.made`)."""
    as_json = bool(getattr(args, "json", False))
    command = getattr(args, "command_path", None)
    ctx.json_mode = as_json
    wrapped = as_json and getattr(args, "json_wrapped", False)
    out = ctx.stdout
    if wrapped:
        ctx.stdout, ctx.made = io.StringIO(), []
    try:
        code = _run(ctx, args, command)
    finally:
        ctx.stdout, text = out, ctx.stdout.getvalue() if wrapped else ""
    if wrapped and (code == 0 or text):  # a failure with nothing printed has said it all on stderr
        ctx.print_json({"command": command, "exit_code": code, "output": text.splitlines(), "made": ctx.made})
    return code


def _fail(ctx, message: str, code: int, kind: str, command: str | None) -> int:
    ctx.end_progress()
    if ctx.json_mode:
        ctx.stderr.write(json_error(message, code, kind, command))
        ctx.stderr.flush()
    else:
        ctx.error(message)
    return code


def _run(ctx, args: argparse.Namespace, command: str | None) -> int:
    try:
        handler = getattr(args, "handler", None)
        if handler is None:
            return open_console(ctx)
        return int(handler(ctx, args) or 0)
    except WarroomError as exc:
        from app.base.redaction import redact

        return _fail(ctx, redact(str(exc)), exc.exit_code, type(exc).__name__, command)
    except KeyboardInterrupt:
        return _fail(ctx, "interrupted", 130, "KeyboardInterrupt", command)
    except BrokenPipeError:
        # The reader went away (`warroom ... | head`): not a crash; silence the final flush too.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:
        from app.base.crash import report_crash

        code = report_crash(ctx, exc, getattr(args, "command", None))
        return (
            _fail(ctx, "internal error (see the message above)", code, "InternalError", command)
            if ctx.json_mode
            else code
        )
    finally:
        for problem in ctx.close_orgs():
            ctx.error(f"warning: {problem}")


def open_console(ctx, incident_id: str | None = None, demo: bool = False) -> int:
    """Start the console through the launcher the entry point injected."""
    if ctx.console is None:
        raise UsageError("this entry point has no console: run `warroom` (or `python -m screens.entry`)")
    if not ctx.is_terminal():
        raise UsageError(
            "the console needs a terminal (stdin and stdout); without one, `warroom demo` checks the demo and "
            "`warroom exercise run SCENARIO --script FILE` plays a scenario headless"
        )
    return int(ctx.console(ctx, incident_id=incident_id, demo=demo))


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
