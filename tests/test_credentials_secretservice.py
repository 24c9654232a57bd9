"""`warroom creds` against a real Secret Service: a private gnome-keyring-daemon on a private D-Bus session.

Runs only where `dbus-run-session` and `gnome-keyring-daemon` are installed (Debian: dbus, gnome-keyring;
.ci/run installs them when it can) and skips with the reason otherwise. Everything lives under tmp_path:
the keyring files, the D-Bus session and the workspace, never the developer's own keyring.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import subprocess_env

SECRET = "SecretService-Leak-Canary-4d1f0b7e"
TOKEN = "SsTok9x7c5v3b1n2m4q6w8e0"
REPO = Path(__file__).resolve().parents[1]

# Reads the Secret Service directly; prints a digest, never the value, so the output can be searched too.
PROBE = """
import hashlib, json, sys
from keyring.backends.SecretService import Keyring
k = Keyring()
blob = k.get_password(sys.argv[1], sys.argv[2])
print(json.dumps({"priority": k.priority, "sha256": blob and hashlib.sha256(blob.encode()).hexdigest()}))
"""

SCRIPT = """
set -eu
printf '%s' "$KEYRING_UNLOCK" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
"$PY" -c "$PROBE" probe probe >/dev/null
echo "=== ready"
"$PY" -m app.cli --home "$WH" creds set ss1 --kind password --username int@acme.example --domain acme.my
echo "=== set $?"
"$PY" -m app.cli --home "$WH" creds list --json
echo "=== stored"
"$PY" -c "$PROBE" warroom-salesforce ss1
"$PY" -m app.cli --home "$WH" creds delete ss1
echo "=== after delete"
"$PY" -c "$PROBE" warroom-salesforce ss1
"""


def _missing() -> str | None:
    for tool in ("dbus-run-session", "gnome-keyring-daemon"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian: apt-get install dbus gnome-keyring)"
    try:
        import secretstorage  # noqa: F401
    except ImportError:
        return "the secretstorage package is not installed"
    if sys.platform != "linux":
        return "the Secret Service is a Linux desktop service"
    return None


@pytest.mark.skipif(_missing() is not None, reason=str(_missing()))
def test_creds_round_trip_through_a_real_secret_service(tmp_path: Path) -> None:
    fake_home = tmp_path / "user"
    runtime = tmp_path / "run"
    workspace = tmp_path / "ws"
    for d in (fake_home, runtime, workspace):
        d.mkdir(mode=0o700)
    env = subprocess_env(workspace)
    env.update(
        {
            "HOME": str(fake_home),
            "XDG_DATA_HOME": str(fake_home / ".local" / "share"),
            "XDG_CONFIG_HOME": str(fake_home / ".config"),
            "XDG_CACHE_HOME": str(fake_home / ".cache"),
            "XDG_RUNTIME_DIR": str(runtime),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.SecretService.Keyring",
            "KEYRING_UNLOCK": "unlock-the-test-keyring",
            "PY": sys.executable,
            "PROBE": PROBE,
            "WH": str(workspace),
            "PYTHONPATH": str(REPO),
        }
    )
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    env.pop("WARROOM_KEYRING", None)
    proc = subprocess.run(
        ["dbus-run-session", "--", "bash", "-c", SCRIPT],
        input=f"{SECRET}\n{TOKEN}\n",
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if "=== ready" not in proc.stdout:
        pytest.skip(f"could not start a private Secret Service here: {proc.stderr.strip()[-300:]}")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "=== set 0" in out, proc.stderr
    listed = json.loads(out.split("=== set 0\n")[1].split("=== stored")[0])
    assert listed == [{"alias": "ss1", "kind": "password", "store": "keyring"}]
    stored = json.loads(out.split("=== stored\n")[1].splitlines()[0])
    assert stored["priority"] > 0
    expected = json.dumps(
        {"version": 1, "kind": "password", "password": SECRET, "security_token": TOKEN}, separators=(",", ":")
    )
    assert stored["sha256"] == hashlib.sha256(expected.encode()).hexdigest()
    assert json.loads(out.split("=== after delete\n")[1].splitlines()[0])["sha256"] is None
    # The secret went to the Secret Service only: not printed, not in the workspace or anywhere under tmp
    # except gnome-keyring's own encrypted store (which must not hold it in the clear either).
    assert SECRET not in out and SECRET not in proc.stderr
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    assert os.listdir(fake_home / ".local" / "share" / "keyrings")
