# Shared by scripts/run and scripts/test: make .venv if needed and (re)install when pyproject changes.
# Usage: . scripts/_venv.sh EXTRAS   (EXTRAS: "" or "test")
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
extras="${1:-}"
py="${PYTHON:-python3}"
if ! "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "warroom needs Python 3.11 or newer (found: $("$py" --version 2>&1))." >&2
  exit 1
fi
venv="$root/.venv"
if [ ! -x "$venv/bin/python" ]; then
  echo "Creating $venv ..." >&2
  "$py" -m venv "$venv"
fi
spec="."
[ -n "$extras" ] && spec=".[$extras]"
stamp="$venv/.warroom-installed-${extras:-base}"
want="$(cat "$root/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "Installing warroom${extras:+ with [$extras]} into .venv ..." >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
  (cd "$root" && "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$spec") >&2
  echo "$want" > "$stamp"
fi
