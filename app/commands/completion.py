"""`warroom completion bash|zsh|fish`: a shell completion script generated from the full parser (shtab).

The script is generated from the same parser the commands run with, so it offers every command, subcommand,
option and choice there is; files are completed for arguments that take a path.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from app.composition.context import Context

SHELLS = ("bash", "zsh", "fish")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("completion", help="print a shell completion script for bash, zsh or fish")
    p.add_argument("shell", choices=SHELLS, metavar="SHELL", help="bash, zsh or fish")
    p.add_argument("--json", action="store_true", help="print {shell, script} as JSON instead of the script")
    p.set_defaults(handler=_run_completion)


def completion_script(shell: str) -> str:
    import shtab

    from app.cli import build_parser

    parser = build_parser()
    _mark_paths(parser, shtab)
    return str(shtab.complete(parser, shell=shell))


def _mark_paths(parser: argparse.ArgumentParser, shtab) -> None:
    """Complete file names for arguments whose type is a path."""
    from app.cli_conventions import parsers

    for each in parsers(parser):
        for action in each._actions:
            if action.type is Path and not action.choices:
                action.complete = shtab.FILE  # type: ignore[attr-defined]


def _run_completion(ctx: Context, args: argparse.Namespace) -> int:
    script = completion_script(args.shell)
    if args.json:
        ctx.print_json({"shell": args.shell, "script": script})
    else:
        ctx.stdout.write(script)
        ctx.stdout.flush()
    return 0
