"""Offline installation: a wheelhouse built for this machine installs into a fresh virtual environment with no
package index, and the installed `warroom` runs the demo headless. Building the wheelhouse needs the package index
(as on the machine that prepares the laptop); installing from it does not. A tampered wheelhouse installs nothing.

Which pins a target platform gets (environment markers) is checked without any download."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import install_offline  # noqa: E402
import lockfile  # noqa: E402
import wheelhouse  # noqa: E402


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _names(platform: str, python: str) -> set[str]:
    pins = lockfile.read_pins(lockfile.lock_path(""))
    env = wheelhouse.marker_environment(wheelhouse.PLATFORMS[platform], python)
    return {p.name for p in wheelhouse.pins_for(pins, env)}


def test_each_target_gets_the_pins_its_markers_select():
    windows, linux = _names("windows-amd64", "3.11"), _names("linux-x86_64", "3.13")
    assert "pywin32-ctypes" in windows and "jeepney" not in windows and "secretstorage" not in windows
    assert "jeepney" in linux and "pywin32-ctypes" not in linux
    assert "importlib-metadata" in windows and "importlib-metadata" not in linux  # python_full_version < '3.12'
    assert {"textual", "simple-salesforce", "holidays", "cryptography"} <= windows & linux


def test_the_installer_refuses_a_wheelhouse_that_does_not_match_its_sums(tmp_path: Path):
    (tmp_path / "wheels").mkdir()
    (tmp_path / "wheels" / "a.whl").write_bytes(b"wheel")
    sums = install_offline.write_sums(tmp_path)
    assert install_offline.verify_sums(tmp_path, None) == []
    assert install_offline.verify_sums(tmp_path, "0" * 64)[0].startswith("SHA256SUMS has SHA-256")
    (tmp_path / "wheels" / "a.whl").write_bytes(b"WHEEL")
    (tmp_path / "wheels" / "b.whl").write_bytes(b"extra")
    assert install_offline.verify_sums(tmp_path, None) == [
        "wheels/a.whl does not match its SHA-256",
        "wheels/b.whl is not listed in SHA256SUMS",
    ]
    for outside in ("../outside", "/etc/hostname"):
        sums.write_text(f"{'0' * 64}  {outside}\n")
        assert "is not `SHA256  PATH`" in install_offline.verify_sums(tmp_path, None)[0]


@pytest.mark.slow
def test_a_wheelhouse_for_this_machine_installs_with_no_index_and_runs_the_demo_headless(tmp_path: Path):
    house = tmp_path / "wheelhouse"
    built = subprocess.run(
        [str(ROOT / "scripts" / "wheelhouse"), str(house), "--platform", "current"],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    digest = built.stderr.split("SHA-256 of SHA256SUMS", 1)[1].split(":", 1)[1].split()[0]
    report = json.loads((house / "targets.json").read_text())
    assert report == {install_offline.target_name(): report[install_offline.target_name()]}
    assert report[install_offline.target_name()]["complete"] is True
    sbom = json.loads((house / "sbom.cdx.json").read_text())
    assert sbom["bomFormat"] == "CycloneDX" and sbom["specVersion"] == "1.5"
    assert {c["name"] for c in sbom["components"]} >= {"textual", "simple-salesforce", "holidays", "rich"}
    assert all(ref["hashes"][0]["alg"] == "SHA-256" for c in sbom["components"] for ref in c["externalReferences"])
    depends = {d["ref"]: set(d["dependsOn"]) for d in sbom["dependencies"]}
    own = sbom["metadata"]["component"]["bom-ref"]
    assert own.startswith("pkg:pypi/warroom@") and any(r.startswith("pkg:pypi/textual@") for r in depends[own])
    listed = {line.split("  ", 1)[1] for line in (house / "SHA256SUMS").read_text().splitlines()}
    assert {"sbom.cdx.json", "install_offline.py", "targets.json"} <= listed
    assert {f"wheels/{w.name}" for w in (house / "wheels").iterdir()} <= listed

    laptop = tmp_path / "laptop"
    laptop.mkdir()
    offline = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUAL_ENV"))}
    offline |= {"PIP_INDEX_URL": f"http://127.0.0.1:{_closed_port()}/simple", "PIP_NO_INDEX": "1"}
    venv = laptop / "venv"
    installer = [sys.executable, str(house / "install_offline.py"), str(house), "--venv", str(venv)]
    done = subprocess.run([*installer, "--expect", digest], cwd=laptop, env=offline, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr

    run = offline | {
        "WARROOM_HOME": str(laptop / "home"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        "WARROOM_ACTOR": "tester",
    }
    warroom = str(venv / "bin" / "warroom")
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import app; print(app.__file__)"],
        cwd=laptop,
        env=run,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(venv))  # the installed wheel, not this checkout
    version = subprocess.run([warroom, "--version"], cwd=laptop, env=run, capture_output=True, text=True, check=True)
    assert version.stdout.startswith("warroom 0.") and "textual " in version.stdout
    demo = subprocess.run(
        [warroom, "demo"], cwd=laptop, env=run, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120
    )
    assert demo.returncode == 0, demo.stderr
    assert "no console" in demo.stdout and "logged in" in demo.stdout and "\x1b[" not in demo.stdout

    (house / "targets" / f"{install_offline.target_name()}.txt").write_text("warroom==0.0.0\n")
    refused = subprocess.run(
        [*installer[:-1], str(laptop / "other")], cwd=laptop, env=offline, capture_output=True, text=True
    )
    assert refused.returncode == 1 and "does not match its SHA-256" in refused.stderr
    assert not (laptop / "other").exists()
