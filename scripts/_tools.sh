# Shared by scripts/lock and scripts/wheelhouse: the tools environment .venv-tools (uv, packaging), installed
# from requirements/tools.txt with hashes; from pyproject.toml's `tools` ranges only while that lock is missing
# or out of date (scripts/lock then rewrites it).
# Usage: . scripts/_tools.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${PYTHON:-python3}"
if ! "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "warroom's scripts need Python 3.11 or newer (found: $("$py" --version 2>&1))." >&2
  exit 1
fi
tools="$root/.venv-tools"
[ -x "$tools/bin/python" ] || "$py" -m venv "$tools" >&2
tools_lock="$root/requirements/tools.txt"
if "$py" "$root/scripts/lockfile.py" check tools 2>/dev/null; then
  want="$(sha256sum "$tools_lock" | cut -d' ' -f1)"
  if [ "$(cat "$tools/.installed" 2>/dev/null || true)" != "$want" ]; then
    "$tools/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes -r "$tools_lock" >&2
    echo "$want" > "$tools/.installed"
  fi
else
  mapfile -t ranges < <("$py" -c 'import tomllib; print("\n".join(tomllib.load(open("'"$root"'/pyproject.toml", "rb"))["project"]["optional-dependencies"]["tools"]))')
  "$tools/bin/python" -m pip install --quiet --disable-pip-version-check "${ranges[@]}" >&2
  rm -f "$tools/.installed"
fi
