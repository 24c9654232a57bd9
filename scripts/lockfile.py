"""The lock files in requirements/: which one an extras set uses, whether it still matches pyproject.toml, and
which of its pins a given platform needs.

scripts/lock writes the locks; scripts/_venv.sh refuses a lock whose dependency digest no longer matches
pyproject.toml (someone added a dependency and did not re-lock); scripts/wheelhouse picks, per target
platform, the pins whose environment markers hold there. Standard library only, plus `packaging` for
markers (present in the tools environment that scripts/wheelhouse runs in).

Usage:
    python3 scripts/lockfile.py path EXTRAS            the lock file for EXTRAS ("" = runtime, "test", "test,bench")
    python3 scripts/lockfile.py digest EXTRAS          the dependency digest of pyproject.toml for EXTRAS
    python3 scripts/lockfile.py check EXTRAS           exit 1 (saying why) if the lock does not match pyproject.toml
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIGEST_PREFIX = "# pyproject-dependencies-sha256: "
# The extras sets that get a lock, and what each is for.
LOCKED_EXTRAS: tuple[str, ...] = ("", "test", "test,bench", "tools")


def lock_path(extras: str) -> Path:
    name = extras.replace(",", "-") if extras else "runtime"
    return ROOT / "requirements" / f"{name}.txt"


def digest(extras: str, pyproject: Path = ROOT / "pyproject.toml") -> str:
    """SHA-256 over what decides the lock for EXTRAS: requires-python, the dependencies and the extras' lists.
    Other changes to pyproject.toml (tool settings, version) do not call for a new lock."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    optional = project.get("optional-dependencies", {})
    names = [e for e in extras.split(",") if e]
    missing = [e for e in names if e not in optional]
    if missing:
        raise SystemExit(f"pyproject.toml has no extra {', '.join(missing)}")
    base = [] if names == ["tools"] else sorted(project.get("dependencies", []))  # tools: only the tools
    data = {
        "requires-python": project.get("requires-python", ""),
        "dependencies": base,
        "extras": {e: sorted(optional[e]) for e in sorted(names)},
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def recorded_digest(lock: Path) -> str | None:
    for line in lock.read_text(encoding="utf-8").splitlines():
        if line.startswith(DIGEST_PREFIX):
            return line[len(DIGEST_PREFIX) :].strip()
    return None


@dataclass
class Pin:
    """One locked distribution: `name==version`, its environment marker (or ""), its allowed hashes."""

    name: str
    version: str
    marker: str = ""
    hashes: list[str] = field(default_factory=list)

    def line(self) -> str:
        head = f"{self.name}=={self.version}" + (f" ; {self.marker}" if self.marker else "")
        return " \\\n".join([head, *(f"    --hash=sha256:{h}" for h in self.hashes)])


_PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;]+)\s*(?:;\s*(.*))?$")


def read_pins(lock: Path) -> list[Pin]:
    """The pins of a lock file (continuation lines joined, comments dropped)."""
    text = re.sub(r"\\\n", " ", lock.read_text(encoding="utf-8"))
    pins = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(" --hash=sha256:")
        match = _PIN.match(parts[0].strip())
        if not match:
            raise SystemExit(f"{lock}: cannot read the pin {parts[0].strip()!r}")
        name, version, marker = match.groups()
        pins.append(Pin(name, version, (marker or "").strip(), [h.strip() for h in parts[1:]]))
    return pins


def read_via(lock: Path) -> dict[str, list[str]]:
    """For each pin, what requires it (uv's `# via` annotations); `warroom` where pyproject.toml names it."""
    via: dict[str, list[str]] = {}
    current = None
    for raw in lock.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        match = _PIN.match(line.rstrip(" \\"))
        if match and not raw.startswith(" "):
            current = match.group(1)
            via[current] = []
        elif current and line.startswith("#") and not raw.startswith("#"):
            words = line.lstrip("#").strip()
            words = words[len("via") :].strip() if words.startswith("via") else words
            if words.startswith("-r ") or words.startswith("warroom"):
                words = "warroom"
            if words:
                via[current].append(words.split()[0])
    return via


def check(extras: str) -> str | None:
    """Why the lock for EXTRAS cannot be used (None: it matches pyproject.toml)."""
    lock = lock_path(extras)
    if not lock.is_file():
        return f"{lock.relative_to(ROOT)} is missing"
    if recorded_digest(lock) != digest(extras):
        return f"pyproject.toml's dependencies changed since {lock.relative_to(ROOT)} was written"
    return None


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("path", "digest", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    command, extras = argv
    if command == "path":
        print(lock_path(extras))
    elif command == "digest":
        print(digest(extras))
    else:
        problem = check(extras)
        if problem:
            print(f"{problem}: run scripts/lock (then commit requirements/)", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
