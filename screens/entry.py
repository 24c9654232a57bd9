"""The `warroom` entry point: the command layer (app/cli.py) with the console as its front end.

`app/` never imports the UI; this module hands the command layer a way to start the console, which is
imported only when a command opens it (`warroom`, `demo`, `open`, `exercise run`), so `warroom note` never
loads Textual.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any


def run_console(ctx: Any, incident_id: str | None = None, demo: bool = False) -> int:
    """Start the Textual console for `ctx` (see screens/factory.py)."""
    from screens import factory

    return factory.run_console(ctx, incident_id=incident_id, demo=demo)


def main(argv: Sequence[str] | None = None) -> int:
    from app.cli import main as run_command

    return run_command(argv, console=run_console)


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
