"""Hard-coded Salesforce credentials in a directory and its git history (failure pattern 2).

A password deleted in a later commit is still in every clone, so history is scanned as well as the working
tree. Hits carry a location, a kind and a masked sample; the secret itself never leaves this module.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from app.base.sensitive import PRIVATE_KEY_RE, REFRESH_TOKEN_RE, SESSION_ID_RE, mask

MAX_FILE_BYTES = 5 * 1024 * 1024
SKIP_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".mypy_cache"})

SFDX_AUTH_URL = "sfdx_auth_url"
SESSION_ID = "session_id"
REFRESH_TOKEN = "refresh_token"
CONSUMER_SECRET = "consumer_secret"
SECURITY_TOKEN = "security_token"
PASSWORD = "password"
PRIVATE_KEY = "jwt_private_key"

KIND_LABELS = {
    SFDX_AUTH_URL: "Salesforce CLI auth URL (force://, holds a refresh token)",
    SESSION_ID: "Salesforce session id",
    REFRESH_TOKEN: "Salesforce OAuth refresh token",
    CONSUMER_SECRET: "connected app consumer secret",
    SECURITY_TOKEN: "Salesforce security token",
    PASSWORD: "Salesforce password",
    PRIVATE_KEY: "private key (JWT bearer flow signing key)",
}

_SFDX_RE = re.compile(r"force://[^\s'\"`<>]*?[:@][^\s'\"`<>]*@[A-Za-z0-9.-]+")
_SECRET_RE = re.compile(
    r"(?i)\b(?:sf|sfdc|salesforce)?[_.-]?(?:consumer|client)[_.-]?secret\b['\"]?\s*[:=]\s*['\"]?([A-Za-z0-9._~+/-]{8,})"
)
_TOKEN_RE = re.compile(
    r"(?i)\b(?:sf|sfdc|salesforce)?[_.-]?security[_.-]?token\b['\"]?\s*[:=]\s*['\"]?([A-Za-z0-9]{8,})"
)
_PASSWORD_RE = re.compile(
    r"(?i)\b((?:sf|sfdc|salesforce|force)[_.-]?)?(?:password|passwd|pwd)\b['\"]?\s*[:=]\s*(['\"]?)([^\s'\"`,;)]{4,})\2"
)
_USERNAME_RE = re.compile(r"(?i)\busername\b['\"]?\s*[:=]\s*['\"]?([^\s'\"`,;)]+@[^\s'\"`,;)]+)")
# Words that make a password assignment a Salesforce one even without an sf_ prefix.
_CONTEXT_RE = re.compile(
    r"(?i)salesforce|sfdc|force\.com|simple_salesforce|jsforce|security_token|login\.salesforce|my\.salesforce"
)
_PLACEHOLDER_RE = re.compile(
    r"(?i)^(?:\$|\{|<|%|os\.|getenv|environ|process\.env|none|null|true|false|changeme|password|secret|xxx+|\*+"
    r"|your[_-]|example|dummy|placeholder|redacted|todo)"
)


@dataclass(frozen=True, slots=True)
class RepoHit:
    kind: str
    path: str
    line: int
    masked: str
    fingerprint: str  # one-way, to group the same secret seen in several places
    commit: str | None = None  # None: the working tree
    change: str | None = None  # "added" / "removed" in that commit
    username: str | None = None


@dataclass
class RepoScan:
    root: str
    hits: list[RepoHit] = field(default_factory=list)
    files_scanned: int = 0
    commits_scanned: int = 0
    history: bool = False
    notes: list[str] = field(default_factory=list)


def _fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


def _placeholder(value: str) -> bool:
    return bool(_PLACEHOLDER_RE.match(value)) or len(set(value)) <= 2


def scan_line(line: str, context: bool) -> Iterator[tuple[str, str, str | None]]:
    """(kind, secret, username) for each credential on one line; `context`: the file is about Salesforce."""
    for m in _SFDX_RE.finditer(line):
        yield SFDX_AUTH_URL, m.group(0), None
    for m in SESSION_ID_RE.finditer(line):
        yield SESSION_ID, m.group(0), None
    for m in REFRESH_TOKEN_RE.finditer(line):
        if "force://" not in line:
            yield REFRESH_TOKEN, m.group(0), None
    if PRIVATE_KEY_RE.search(line):
        yield PRIVATE_KEY, line.strip(), None
    for m in _SECRET_RE.finditer(line):
        if not _placeholder(m.group(1)):
            yield CONSUMER_SECRET, m.group(1), None
    for m in _TOKEN_RE.finditer(line):
        if not _placeholder(m.group(1)):
            yield SECURITY_TOKEN, m.group(1), None
    for m in _PASSWORD_RE.finditer(line):
        value = m.group(3)
        if (m.group(1) or context) and not _placeholder(value):
            user = _USERNAME_RE.search(line)
            yield PASSWORD, value, user.group(1) if user else None


def _hit(
    kind: str,
    secret: str,
    path: str,
    line: int,
    username: str | None,
    commit: str | None = None,
    change: str | None = None,
) -> RepoHit:
    if kind == PRIVATE_KEY:
        shown = "-----BEGIN PRIVATE KEY----- ****"
    elif kind == SFDX_AUTH_URL:
        shown = "force://****@" + secret.rsplit("@", 1)[-1]
    else:
        shown = mask(secret, 3 if kind == PASSWORD else 6)
    return RepoHit(kind, path, line, shown, _fingerprint(secret), commit, change, username)


def _is_binary(head: bytes) -> bool:
    return b"\x00" in head


def scan_files(root: Path, scan: RepoScan) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        for name in filenames:
            path = Path(dirpath) / name
            try:
                if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
                    continue
                data = path.read_bytes()
            except OSError:
                continue
            if _is_binary(data[:8192]):
                continue
            text = data.decode("utf-8", errors="replace")
            scan.files_scanned += 1
            rel = path.relative_to(root).as_posix()
            context = bool(_CONTEXT_RE.search(text)) or bool(_CONTEXT_RE.search(rel))
            for lineno, line in enumerate(text.splitlines(), start=1):
                for kind, secret, user in scan_line(line, context):
                    scan.hits.append(_hit(kind, secret, rel, lineno, user))


_HUNK_RE = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")


def _git_toplevel(root: Path, git: str) -> Path | None:
    try:
        out = subprocess.run(
            [git, "-C", str(root), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else None


def scan_history(root: Path, scan: RepoScan, git: str) -> None:
    """Every added and removed line in every commit reachable from any ref (`git log -p --all`)."""
    cmd = [
        git,
        "-C",
        str(root),
        "-c",
        "core.quotepath=off",
        "log",
        "-p",
        "--all",
        "--no-color",
        "--no-ext-diff",
        "--no-renames",
        "--unified=3",
        "--format=__warroom_commit__ %H",
        "--",
        ".",
    ]
    env = dict(os.environ, GIT_PAGER="cat", LC_ALL="C")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert proc.stdout is not None
    commit: str | None = None
    path: str | None = None
    old_no = new_no = 0
    pending: list[tuple[str, int, str]] = []  # (change, line number, text) for the current file diff
    context = False

    def flush() -> None:
        nonlocal pending, context
        if path is not None and commit is not None:
            for change, lineno, text in pending:
                for kind, secret, user in scan_line(text, context or bool(_CONTEXT_RE.search(path))):
                    scan.hits.append(_hit(kind, secret, path, lineno, user, commit, change))
        pending = []
        context = False

    for raw in proc.stdout:
        line = raw.decode("utf-8", errors="replace").rstrip("\n")
        if line.startswith("__warroom_commit__ "):
            flush()
            commit = line.split(" ", 1)[1].strip()
            path = None
            scan.commits_scanned += 1
            continue
        if line.startswith("diff --git "):
            flush()
            path = None
            continue
        if line.startswith("+++ "):
            target = line[4:]
            path = target[2:] if target.startswith("b/") else path
            continue
        if line.startswith("--- "):
            source = line[4:]
            if source.startswith("a/"):
                path = source[2:]
            continue
        m = _HUNK_RE.match(line)
        if m:
            old_no, new_no = int(m.group(1)), int(m.group(2))
            continue
        if path is None or not line:
            continue
        tag, text = line[0], line[1:]
        if _CONTEXT_RE.search(text):
            context = True
        if tag == "+":
            pending.append(("added", new_no, text))
            new_no += 1
        elif tag == "-":
            pending.append(("removed", old_no, text))
            old_no += 1
        elif tag == " ":
            old_no += 1
            new_no += 1
    flush()
    proc.wait()


def scan_repo(root: Path, *, history: bool = True) -> RepoScan:
    """Scan the working tree, then (when git is installed and `root` is in a repository) all of its history."""
    root = root.expanduser().resolve()
    scan = RepoScan(root=str(root))
    if not root.is_dir():
        scan.notes.append(f"{root} is not a directory")
        return scan
    scan_files(root, scan)
    if not history:
        return scan
    git = shutil.which("git")
    if git is None:
        scan.notes.append("git is not installed: scanned the files only, not the history")
        return scan
    top = _git_toplevel(root, git)
    if top is None:
        scan.notes.append(f"{root} is not in a git repository: scanned the files only")
        return scan
    scan.history = True
    scan_history(root, scan, git)
    return scan
