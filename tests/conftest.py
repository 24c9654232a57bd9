"""Shared fixtures: an isolated workspace, a keyring chosen here (never the developer's), a frozen clock,
and `cli` to run the real `warroom` entry point in-process with captured output."""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backend import KeyringBackend

from app.base.clock import FrozenClock

T0 = datetime(2026, 11, 27, 9, 0, 0, tzinfo=UTC)


class MemoryKeyring(KeyringBackend):
    """An in-process keyring backend for tests: real keyring API, no platform store touched."""

    priority = 10  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        from keyring.errors import PasswordDeleteError

        if (service, username) not in self.store:
            raise PasswordDeleteError(username)
        del self.store[(service, username)]


@contextlib.contextmanager
def isolated(home: Path, backend: KeyringBackend | None = None) -> Iterator[KeyringBackend]:
    """The process state a test runs in: its own keyring backend and default workspace, never the developer's.

    Module-scoped fixtures are set up before the autouse `_isolate` of their first test, so one that runs the
    CLI enters this itself rather than inheriting whatever earlier tests in the same worker left behind.
    """
    backend = backend or MemoryKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("WARROOM_HOME", str(home))
            mp.setenv("WARROOM_ACTOR", "tester")
            mp.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
            yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def _isolate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test touches the developer's keyring, workspace or CA bundle settings."""
    with isolated(tmp_path_factory.mktemp("default-home")):
        yield


@pytest.fixture
def mem_keyring() -> MemoryKeyring:
    backend = keyring.get_keyring()
    assert isinstance(backend, MemoryKeyring)
    return backend


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class CLI:
    """Runs `warroom` in-process against one workspace, with an injectable clock and keyring."""

    def __init__(self, home: Path, clock: FrozenClock, keyring_backend: Any) -> None:
        self.home = home
        self.clock = clock
        self.keyring = keyring_backend
        self.actor = "tester"
        self.terminal: bool | None = None  # as if at a terminal (True) or not; None: the StringIO streams say no

    def __call__(self, *args: str, stdin: str = "", actor: str | None = None) -> Result:
        from app import cli
        from app.composition.context import Context
        from screens.entry import run_console

        out, err = io.StringIO(), io.StringIO()
        parser = cli.build_parser()
        try:
            ns = parser.parse_args(["--home", str(self.home), *args])
        except SystemExit as exc:
            return Result(int(exc.code or 0), "", "")
        ctx = Context.from_args(
            ns,
            clock=self.clock,
            keyring=self.keyring,
            stdout=out,
            stderr=err,
            stdin=io.StringIO(stdin),
            console=run_console,
            terminal=self.terminal,
        )
        if actor or self.actor:
            ctx.actor = actor or self.actor
        code = cli.dispatch(ctx, ns)
        return Result(code, out.getvalue(), err.getvalue())

    def new(self, title: str = "Drift token theft", *extra: str) -> str:
        result = self("new", title, *extra)
        assert result.code == 0, result.err
        return result.out.strip()


@pytest.fixture
def cli(home: Path, clock: FrozenClock, mem_keyring: MemoryKeyring) -> CLI:
    return CLI(home, clock, mem_keyring)


def subprocess_env(home: Path) -> dict[str, str]:
    """Environment for running warroom in a child process: isolated home and a null keyring."""
    env = dict(os.environ)
    env.update(
        {
            "WARROOM_HOME": str(home),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
            "WARROOM_ACTOR": "tester",
            "NO_COLOR": "1",
        }
    )
    return env
