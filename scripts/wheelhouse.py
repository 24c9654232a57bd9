"""Build a wheelhouse: everything a responder carries to an offline laptop to install warroom there.

    DIR/wheels/             warroom's own wheel and every locked runtime dependency, for each target
    DIR/targets/NAME.txt    per target (platform and CPython version): the exact pins with hashes to install
    DIR/targets.json        which targets are complete, and for the others which packages have no wheel
    DIR/sbom.cdx.json       a CycloneDX 1.5 SBOM of what is in wheels/ (names, versions, purls, SHA-256)
    DIR/install_offline.py  the installer (standard library only): checks SHA256SUMS, installs with --no-index
    DIR/SHA256SUMS          SHA-256 of every file above (`sha256sum -c SHA256SUMS` reads it too)

pip evaluates environment markers against the interpreter it runs in, not the `--platform` it downloads for, so
the pins each target needs are chosen here (with `packaging`) and downloaded with --no-deps; the lock is
complete, and --require-hashes makes every file match it. Run through scripts/wheelhouse (tools environment).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker

sys.path.insert(0, str(Path(__file__).resolve().parent))
import install_offline
import lockfile
import sbom

ROOT = lockfile.ROOT
PYTHONS = ("3.11", "3.12", "3.13")


@dataclass(frozen=True)
class Platform:
    """A platform as pip's --platform tags and the environment-marker values that hold there."""

    name: str
    tags: tuple[str, ...]
    sys_platform: str
    platform_system: str
    platform_machine: str
    os_name: str


def _manylinux(arch: str, newest: int = 28) -> tuple[str, ...]:
    """glibc 2.`newest` or newer runs wheels for every older glibc; pip must be given each tag (it does not widen
    a manylinux_2_X tag to older ones)."""
    return (*(f"manylinux_2_{m}_{arch}" for m in range(newest, 16, -1)), f"manylinux2014_{arch}")


# Linux: glibc 2.28 or newer. macOS: 13 or newer (google-re2 publishes no wheel for older macOS); pip widens a
# macOS tag to the older versions and to universal2 itself.
PLATFORMS: dict[str, Platform] = {
    p.name: p
    for p in (
        Platform("linux-x86_64", _manylinux("x86_64"), "linux", "Linux", "x86_64", "posix"),
        Platform("linux-aarch64", _manylinux("aarch64"), "linux", "Linux", "aarch64", "posix"),
        Platform("macos-arm64", ("macosx_13_0_arm64",), "darwin", "Darwin", "arm64", "posix"),
        Platform("macos-x86_64", ("macosx_13_0_x86_64",), "darwin", "Darwin", "x86_64", "posix"),
        Platform("windows-amd64", ("win_amd64",), "win32", "Windows", "AMD64", "nt"),
    )
}


def marker_environment(platform: Platform | None, python: str) -> dict[str, str]:
    """PEP 508 marker values for a target (None: this interpreter, as it is)."""
    if platform is None:
        from packaging.markers import default_environment

        return dict(default_environment())
    return {
        "implementation_name": "cpython",
        "implementation_version": f"{python}.0",
        "os_name": platform.os_name,
        "platform_machine": platform.platform_machine,
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": platform.platform_system,
        "platform_version": "",
        "python_full_version": f"{python}.0",
        "python_version": python,
        "sys_platform": platform.sys_platform,
    }


def pins_for(pins: list[lockfile.Pin], env: dict[str, str]) -> list[lockfile.Pin]:
    return [p for p in pins if not p.marker or Marker(p.marker).evaluate(env)]  # type: ignore[arg-type]


def _pip(*args: str, quiet: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", *(["--quiet"] if quiet else []), *args]
    return subprocess.run(cmd, capture_output=True, text=True)


def _download(pins: list[lockfile.Pin], dest: Path, target_args: list[str], work: Path) -> list[str]:
    """Download the wheels of `pins` into `dest`; the names of those that have no wheel for the target."""
    req = work / "download.txt"
    common = ["download", "--no-deps", "--require-hashes", "--only-binary=:all:", "--dest", str(dest), *target_args]
    remaining, missing = list(pins), []
    while remaining:  # pip names the first pin it finds no wheel for: set it aside and try the rest again
        req.write_text("\n".join(p.line() for p in remaining) + "\n", encoding="utf-8")
        done = _pip(*common, "-r", str(req))
        if done.returncode == 0:
            break
        found = re.search(r"No matching distribution found for ([A-Za-z0-9._-]+)==", done.stderr)
        pin = next((p for p in remaining if found and _canonical(p.name) == _canonical(found.group(1))), None)
        if pin is None:
            raise SystemExit(f"pip download failed ({' '.join(target_args)}):\n{done.stderr}")
        missing.append(f"{pin.name}=={pin.version}")
        remaining.remove(pin)
    return missing


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _wheel_for(pin: lockfile.Pin, wheels: Path) -> list[Path]:
    """The files in `wheels` whose hash the lock allows for `pin`."""
    allowed = set(pin.hashes)
    return [w for w in sorted(wheels.glob("*.whl")) if install_offline.sha256_file(w) in allowed]


def build_own_wheel(dest: Path, work: Path) -> Path:
    out = work / "own"
    done = _pip("wheel", "--no-deps", "--wheel-dir", str(out), str(ROOT))
    if done.returncode != 0:
        raise SystemExit(f"building warroom's wheel failed:\n{done.stderr}")
    (wheel,) = out.glob("warroom-*.whl")
    return Path(shutil.copy2(wheel, dest / wheel.name))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/wheelhouse", description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path, help="the folder to write (created; must be empty or absent)")
    parser.add_argument(
        "--platform",
        action="append",
        choices=[*PLATFORMS, "current"],
        help="a target platform, repeatable (default: all five); `current` is this machine and its Python only",
    )
    parser.add_argument("--python", action="append", choices=PYTHONS, help="CPython versions (default: all)")
    args = parser.parse_args(argv)
    out: Path = args.dir.resolve()
    if out.exists() and any(out.iterdir()):
        parser.error(f"{out} is not empty")
    wheels = out / "wheels"
    targets_dir = out / "targets"
    for d in (wheels, targets_dir):
        d.mkdir(parents=True, exist_ok=True)
    pins = lockfile.read_pins(lockfile.lock_path(""))
    report: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        own = build_own_wheel(wheels, work)
        own_pin = lockfile.Pin("warroom", own.name.split("-")[1], "", [install_offline.sha256_file(own)])
        print(f"built {own.name}", file=sys.stderr)
        for platform_name in args.platform or list(PLATFORMS):
            if platform_name == "current":
                todo = [(install_offline.target_name(), None, "", [])]
            else:
                platform = PLATFORMS[platform_name]
                todo = [
                    (
                        f"{platform.name}-cp{py.replace('.', '')}",
                        platform,
                        py,
                        [
                            *(arg for tag in platform.tags for arg in ("--platform", tag)),
                            "--implementation", "cp", "--python-version", py,
                            "--abi", f"cp{py.replace('.', '')}", "--abi", "abi3", "--abi", "none",
                        ],
                    )
                    for py in args.python or PYTHONS
                ]  # fmt: skip
            for name, platform, py, target_args in todo:
                needed = pins_for(pins, marker_environment(platform, py))
                missing = _download(needed, wheels, target_args, work)
                lines = [p.line() for p in needed if not any(m.startswith(f"{p.name}==") for m in missing)]
                (targets_dir / f"{name}.txt").write_text(
                    f"# warroom {own_pin.version} for {name}; install with install_offline.py\n"
                    + "\n".join([own_pin.line(), *lines])
                    + "\n",
                    encoding="utf-8",
                )
                report[name] = {"complete": not missing, "packages": len(needed) + 1, "no_wheel": missing}
                state = "complete" if not missing else f"INCOMPLETE, no wheel for: {'; '.join(missing)}"
                print(f"{name}: {len(needed) + 1} packages, {state}", file=sys.stderr)
    (out / "targets.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    in_house = {p.name: _wheel_for(p, wheels) for p in pins}
    sbom.write(out / "sbom.cdx.json", own, own_pin.version, pins, in_house, lockfile.read_via(lockfile.lock_path("")))
    shutil.copy2(Path(__file__).resolve().parent / "install_offline.py", out / "install_offline.py")
    sums = install_offline.write_sums(out)
    digest = hashlib.sha256(sums.read_bytes()).hexdigest()
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"wrote {out}: {len(list(wheels.glob('*.whl')))} wheels, {size / 1e6:.1f} MB", file=sys.stderr)
    print(f"SHA-256 of SHA256SUMS (write it down; install_offline.py --expect checks it): {digest}", file=sys.stderr)
    incomplete = [n for n, r in report.items() if not r["complete"]]
    if incomplete:
        print(f"incomplete targets (see targets.json): {', '.join(incomplete)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
