"""Three responders, each with an own workspace and keyring, sharing one clock and a real bare git repository."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from app.base.clock import FrozenClock
from tests.conftest import CLI, T0, MemoryKeyring


@dataclass
class Responder:
    name: str
    role: str
    cli: CLI
    key: str = ""

    def run(self, *args: str):
        result = self.cli(*args)
        return result


def bare_remote(path: Path) -> Path:
    subprocess.run(["git", "init", "--bare", "--quiet", str(path)], check=True)
    subprocess.run(["git", "--git-dir", str(path), "config", "receive.denyNonFastForwards", "true"], check=True)
    subprocess.run(["git", "--git-dir", str(path), "config", "receive.denyDeletes", "true"], check=True)
    return path


class Team:
    """alice (commander), bob (admin), carol (analyst) on one incident; each laptop its own home and keyring."""

    def __init__(self, tmp: Path, *, declare: bool = True) -> None:
        self.clock = FrozenClock(T0)
        self.remote = bare_remote(tmp / "war.git")
        self.people: dict[str, Responder] = {}
        for name, role in (("alice", "commander"), ("bob", "admin"), ("carol", "analyst")):
            home = tmp / name
            home.mkdir()
            cli = CLI(home, self.clock, MemoryKeyring())
            cli.actor = name
            self.people[name] = Responder(name, role, cli)
        self.incident = ""
        if declare:
            self.incident = self.alice.cli.new("Chat vendor token theft")
            self.enlist()

    def enlist(self) -> None:
        """The commander lists herself; bob and carol join with their own keys and are listed."""
        alice = self.alice
        alice.key = self.ok(alice, "team", "key").strip()
        self.ok(alice, "team", "add", "alice", "--role", "commander")
        for person in (self.bob, self.carol):
            self.ok(person, "team", "join", self.incident, "--commander-key", alice.key)
            person.key = self.ok(person, "team", "key").strip()
            self.ok(alice, "team", "add", person.name, "--role", person.role, "--key", person.key)

    @property
    def alice(self) -> Responder:
        return self.people["alice"]

    @property
    def bob(self) -> Responder:
        return self.people["bob"]

    @property
    def carol(self) -> Responder:
        return self.people["carol"]

    def tick(self, minutes: int = 1) -> None:
        self.clock.advance(timedelta(minutes=minutes))

    def ok(self, person: Responder, *args: str) -> str:
        result = person.cli(*args)
        assert result.code == 0, (person.name, args, result.out, result.err)
        return result.out

    def sync(self, person: Responder, *extra: str) -> str:
        return self.ok(person, "sync", str(self.remote), *extra)

    def sync_all(self, rounds: int = 2) -> None:
        for _ in range(rounds):
            for person in self.people.values():
                self.sync(person)

    def open(self, person: Responder):
        from app.composition.workspace import Workspace

        return Workspace(person.cli.home, self.clock, person.cli.keyring).open(self.incident)


def origin_of(team: Team, person: Responder) -> str:
    with team.open(person) as incident:
        return incident.journal.journal_id


def branch_files(remote: Path, origin: str) -> dict[str, bytes]:
    """What the remote holds on an origin's branch, read with plain git (as anyone with the share can)."""
    from app.team.gitrepo import BRANCHES, TeamRepo

    repo = TeamRepo(remote)
    tip = repo.refs(BRANCHES)[origin]
    return {path: repo.blob(oid) for path, oid in repo.files(tip).items()}


def rewrite_branch(remote: Path, origin: str, files: dict[str, bytes]) -> None:
    """Someone with write access to the share replaces an origin's branch tip (git's own refusal bypassed)."""
    import tempfile

    from app.team.gitrepo import BRANCHES, TeamRepo

    repo = TeamRepo(remote)
    parent = repo.refs(BRANCHES)[origin]
    with tempfile.TemporaryDirectory() as tmp:
        env = {"GIT_INDEX_FILE": f"{tmp}/index", "GIT_AUTHOR_NAME": "x", "GIT_AUTHOR_EMAIL": "x@x",
               "GIT_COMMITTER_NAME": "x", "GIT_COMMITTER_EMAIL": "x@x"}  # fmt: skip
        for path, data in files.items():
            oid = repo.run("hash-object", "-w", "--stdin", input=data).decode().strip()
            repo.run("update-index", "--add", "--cacheinfo", f"100644,{oid},{path}", env=env)
        tree = repo.run("write-tree", env=env).decode().strip()
        commit = repo.run("commit-tree", tree, "-p", parent, "-m", "rewrite", env=env).decode().strip()
    repo.run("update-ref", BRANCHES + origin, commit)
