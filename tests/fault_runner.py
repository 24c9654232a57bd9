"""Run `warroom` in a child process that kills itself (SIGKILL) at a named write point.

    python -m tests.fault_runner POINT N -- warroom-arguments...

The point is a function the command really calls; the process dies right after its N-th call returns (or,
for `*-before` points, as the N-th call starts), exactly as a power cut or an OOM kill would leave it: no
handler, no clean-up, no flush.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _after(owner: Any, name: str, nth: int, when: Callable[..., bool] = lambda *a, **k: True) -> None:
    real = getattr(owner, name)
    calls = 0

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        out = real(*args, **kwargs)
        if when(*args, **kwargs):
            calls += 1
            if calls == nth:
                _die()
        return out

    setattr(owner, name, wrapper)


def _before(owner: Any, name: str, nth: int) -> None:
    real = getattr(owner, name)
    calls = 0

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == nth:
            _die()
        return real(*args, **kwargs)

    setattr(owner, name, wrapper)


def _kind_is(kind: str) -> Callable[..., bool]:
    return lambda self, k, *a, **kw: k == kind


def install(point: str, nth: int) -> None:
    from app.containment import apply, recovery
    from app.evidence import store
    from app.journal import chain

    points: dict[str, Callable[[], None]] = {
        # contain apply
        "intent": lambda: _after(chain.Journal, "append", nth, _kind_is("action.intent")),
        "log-begin": lambda: _after(recovery.WriteAhead, "begin", nth),
        "send": lambda: _after(apply, "_send", nth),
        "log-record": lambda: _after(recovery.WriteAhead, "record", nth),
        "save": lambda: _after(recovery.WriteAhead, "save", nth),
        "result": lambda: _after(chain.Journal, "append", nth, _kind_is("action.result")),
        "finish": lambda: _after(recovery.WriteAhead, "finish", nth),
        # evidence add
        "copy-chunk": lambda: _after(store, "_write_all", nth),
        "stored": lambda: _after(store.EvidenceStore, "ingest", nth),
        "acquired": lambda: _after(chain.Journal, "append", nth, _kind_is("evidence.acquired")),
        # warroom new
        "genesis-before": lambda: _before(chain.Journal, "append", nth),
    }
    points[point]()


def main() -> int:
    point, nth, sep, *args = sys.argv[1:]
    assert sep == "--", "usage: python -m tests.fault_runner POINT N -- ARGS..."
    install(point, int(nth))
    from app import cli

    return cli.main(args)


if __name__ == "__main__":
    sys.exit(main())
