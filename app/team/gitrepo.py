"""The incident's git repository (team/git, bare) driven through the `git` binary.

Each origin's segments live on their own branch, `refs/heads/origins/<journal id>`, as files
`segments/<first>-<last>.json` and the small evidence files they refer to as `blobs/<sha256>`. This laptop only
ever commits to its own branch, adding files and never changing one; others' branches are taken only when they
fast-forward what was accepted before. Fetches land in `refs/warroom/incoming/` first, so nothing that arrives
replaces anything before it is checked.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from app.base.errors import WarroomError

BRANCHES = "refs/heads/origins/"
INCOMING = "refs/warroom/incoming/"
GIT_TIMEOUT_S = 300


class GitError(WarroomError):
    """git failed or is missing; the message carries what git said."""


class TeamRepo:
    def __init__(self, path: Path) -> None:
        self.path = path

    def ensure(self) -> TeamRepo:
        if not (self.path / "HEAD").is_file():
            self.path.mkdir(parents=True, exist_ok=True)
            self.run("init", "--bare", "--quiet", str(self.path), bare_dir=False)
            self.run("config", "receive.denyNonFastForwards", "true")
            self.run("config", "receive.denyDeletes", "true")
        return self

    def run(
        self,
        *args: str,
        input: bytes | None = None,
        env: dict[str, str] | None = None,
        bare_dir: bool = True,
        check: bool = True,
    ) -> bytes:
        cmd = ["git", *(["--git-dir", str(self.path)] if bare_dir else []), *args]
        full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C", **(env or {})}
        try:
            done = subprocess.run(cmd, input=input, capture_output=True, env=full_env, timeout=GIT_TIMEOUT_S)
        except FileNotFoundError:
            raise GitError("the `git` program is not installed (or not on PATH); `warroom sync` needs it") from None
        except subprocess.TimeoutExpired:
            raise GitError(f"git {args[0]} took longer than {GIT_TIMEOUT_S} s; nothing was changed") from None
        if check and done.returncode != 0:
            lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
            said = [line for line in lines if line.strip() and not line.startswith("hint:")]  # advice is git's own
            # What went wrong is on git's fatal:/error: lines; its closing advice only repeats "check access".
            said = [line for line in said if line.startswith(("fatal:", "error:"))] or said
            raise GitError(f"git {args[0]} failed: {' / '.join(said[:2]) or f'exit {done.returncode}'}")
        return done.stdout

    # -- reading ---------------------------------------------------------------------------------------------

    def refs(self, prefix: str) -> dict[str, str]:
        """Ref name without `prefix` -> commit id."""
        out = self.run("for-each-ref", "--format=%(refname) %(objectname)", prefix).decode()
        pairs = (line.split(" ", 1) for line in out.splitlines() if line)
        return {name[len(prefix) :]: oid for name, oid in pairs}

    def files(self, commit: str) -> dict[str, str]:
        """Path -> blob id of every file in `commit`."""
        out = self.run("ls-tree", "-r", "--full-tree", commit).decode()
        found: dict[str, str] = {}
        for line in out.splitlines():
            meta, _, path = line.partition("\t")
            parts = meta.split()
            if len(parts) == 3 and parts[1] == "blob":
                found[path] = parts[2]
        return found

    def blob(self, oid: str) -> bytes:
        return self.run("cat-file", "blob", oid)

    def is_ancestor(self, older: str, newer: str) -> bool:
        done = subprocess.run(
            ["git", "--git-dir", str(self.path), "merge-base", "--is-ancestor", older, newer],
            capture_output=True,
            timeout=GIT_TIMEOUT_S,
        )
        return done.returncode == 0

    # -- writing ---------------------------------------------------------------------------------------------

    def add_files(self, branch: str, files: dict[str, bytes], message: str, author: str) -> str:
        """Commit `files` on top of `branch` (created if new); existing paths are never changed."""
        ref = BRANCHES + branch
        parent = self.refs(BRANCHES).get(branch)
        existing = self.files(parent) if parent else {}
        clash = [p for p in files if p in existing]
        if clash:
            raise GitError(f"{clash[0]} is already on branch origins/{branch}; segments are never rewritten")
        with tempfile.TemporaryDirectory(prefix="warroom-index-") as tmp:
            env = {
                "GIT_INDEX_FILE": str(Path(tmp) / "index"),
                "GIT_AUTHOR_NAME": author,
                "GIT_AUTHOR_EMAIL": f"{branch}@warroom.invalid",
                "GIT_COMMITTER_NAME": author,
                "GIT_COMMITTER_EMAIL": f"{branch}@warroom.invalid",
            }
            if parent:
                self.run("read-tree", parent, env=env)
            for path, data in sorted(files.items()):
                oid = self.run("hash-object", "-w", "--stdin", input=data).decode().strip()
                self.run("update-index", "--add", "--cacheinfo", f"100644,{oid},{path}", env=env)
            tree = self.run("write-tree", env=env).decode().strip()
            args = ["commit-tree", tree, "-m", message] + (["-p", parent] if parent else [])
            commit = self.run(*args, env=env).decode().strip()
        self.run("update-ref", ref, commit, parent or "0" * 40)
        return commit

    def accept(self, branch: str, commit: str, old: str | None) -> None:
        """Move an origin's accepted branch to `commit` (only from `old`: a concurrent change fails)."""
        self.run("update-ref", BRANCHES + branch, commit, old or "0" * 40)

    def clear_incoming(self) -> None:
        for name in self.refs(INCOMING):
            self.run("update-ref", "-d", INCOMING + name)

    def fetch(self, source: str) -> dict[str, str]:
        """Every origin branch of `source` (a remote URL or path, or a bundle file) into the incoming area."""
        self.clear_incoming()
        self.run("fetch", "--quiet", "--no-tags", "--no-write-fetch-head", source, f"+{BRANCHES}*:{INCOMING}*")
        return self.refs(INCOMING)

    def push(self, remote: str, branch: str) -> None:
        """This origin's branch to the remote; never forced (the remote refuses a rewrite too)."""
        self.run("push", "--quiet", "--no-verify", remote, f"{BRANCHES}{branch}:{BRANCHES}{branch}")

    def bundle_create(self, out: Path) -> list[str]:
        """A bundle of every origin branch held here (this laptop's and the ones accepted), full history."""
        names = sorted(self.refs(BRANCHES))
        if not names:
            raise GitError("nothing to put in a bundle yet: no segments were written or accepted")
        tmp = out.with_name(f".{out.name}.part")
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            self.run("bundle", "create", "--quiet", str(tmp), *(BRANCHES + n for n in names))
            os.replace(tmp, out)
        except OSError as exc:
            raise GitError(f"{out}: the bundle cannot be written ({exc.strerror or exc})") from None
        finally:
            tmp.unlink(missing_ok=True)
        return names

    def bundle_verify(self, bundle: Path) -> None:
        self.run("bundle", "verify", "--quiet", str(bundle))
