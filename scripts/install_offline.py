"""Install warroom from a wheelhouse (scripts/wheelhouse) with no network: check every file against SHA256SUMS,
then install this machine's target into a virtual environment with pip --no-index --require-hashes.

Standard library only: it is copied into the wheelhouse and runs on the offline laptop as it is.

    python3 install_offline.py WHEELHOUSE [--venv DIR] [--expect SHA256]

--venv defaults to .venv in the current directory. --expect is the SHA-256 of SHA256SUMS that scripts/wheelhouse
printed when it built the folder (written down or sent separately): with it, a changed or swapped wheelhouse is
refused, not only a damaged one.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import subprocess
import sys
import venv
from pathlib import Path

SUMS = "SHA256SUMS"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def target_name() -> str:
    """This interpreter's target in a wheelhouse, e.g. linux-x86_64-cp312 or windows-amd64-cp311."""
    system = {"linux": "linux", "darwin": "macos", "win32": "windows"}.get(sys.platform, sys.platform)
    machine = platform.machine().lower()
    machine = {"amd64": "x86_64", "arm64": "aarch64" if system == "linux" else "arm64"}.get(machine, machine)
    if system == "windows" and machine == "x86_64":
        machine = "amd64"
    return f"{system}-{machine}-cp{sys.version_info.major}{sys.version_info.minor}"


def write_sums(folder: Path) -> Path:
    """SHA256SUMS over every file in `folder` (sorted, `sha256sum` format)."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != SUMS)
    lines = [f"{sha256_file(p)}  {p.relative_to(folder).as_posix()}" for p in files]
    path = folder / SUMS
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def verify_sums(folder: Path, expect: str | None) -> list[str]:
    """What is wrong with `folder` against its SHA256SUMS (empty: every listed file matches, no file unlisted)."""
    sums = folder / SUMS
    if not sums.is_file():
        return [f"{sums} is missing"]
    if expect and sha256_file(sums) != expect.lower():
        return [f"{SUMS} has SHA-256 {sha256_file(sums)}, not the expected {expect}"]
    problems, listed = [], set()
    for n, line in enumerate(sums.read_text(encoding="utf-8").splitlines(), 1):
        digest, _, name = line.partition("  ")
        path = folder / name
        listed.add(name)
        if not name or Path(name).is_absolute() or ".." in Path(name).parts or len(digest) != 64:
            problems.append(f"{SUMS} line {n} is not `SHA256  PATH`")
        elif not path.is_file():
            problems.append(f"{name} is missing")
        elif sha256_file(path) != digest:
            problems.append(f"{name} does not match its SHA-256")
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_file() and rel != SUMS and rel not in listed:
            problems.append(f"{rel} is not listed in {SUMS}")
    return problems


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="install_offline.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("wheelhouse", type=Path, help="the folder scripts/wheelhouse wrote")
    parser.add_argument("--venv", type=Path, default=Path(".venv"), help="where to install (default: ./.venv)")
    parser.add_argument("--expect", metavar="SHA256", help="the SHA-256 of SHA256SUMS recorded when it was built")
    args = parser.parse_args(argv)
    folder = args.wheelhouse.resolve()
    problems = verify_sums(folder, args.expect)
    if problems:
        print("install_offline: the wheelhouse does not match its SHA256SUMS; nothing installed:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(f"checked {folder / SUMS} (SHA-256 {sha256_file(folder / SUMS)})", file=sys.stderr)
    target = target_name()
    requirements = folder / "targets" / f"{target}.txt"
    if not requirements.is_file():
        have = sorted(p.stem for p in (folder / "targets").glob("*.txt"))
        print(f"install_offline: no target {target} in this wheelhouse (it has: {', '.join(have)})", file=sys.stderr)
        return 1
    venv_dir = args.venv.resolve()
    if not (venv_dir / "pyvenv.cfg").is_file():
        venv.create(venv_dir, with_pip=True)
    python = venv_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    # This machine's pip settings (configuration files, PIP_* variables) stay out: only the wheelhouse counts.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env |= {"PIP_CONFIG_FILE": os.devnull, "PIP_NO_INPUT": "1"}
    cmd = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--no-index", "--no-cache-dir"]
    cmd += ["--find-links", str(folder / "wheels"), "--require-hashes", "--only-binary=:all:", "-r", str(requirements)]
    done = subprocess.run(cmd, env=env)
    if done.returncode != 0:
        print(f"install_offline: pip failed (exit {done.returncode}); see above", file=sys.stderr)
        return done.returncode
    entry = venv_dir / ("Scripts/warroom.exe" if os.name == "nt" else "bin/warroom")
    print(f"installed {target} into {venv_dir}; run {entry} --version", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
