# Shared by scripts/run, scripts/test and scripts/bench: make .venv if needed and (re)install it from the lock
# file when the lock changes. The dependencies come from requirements/ (exact versions, hashes checked); warroom
# itself is installed in editable mode. A lock that no longer matches pyproject.toml's dependencies stops here
# with a message to run scripts/lock, rather than installing something else than pyproject.toml asks for.
# Usage: . scripts/_venv.sh EXTRAS   (EXTRAS: "", "test" or "test,bench")
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
extras="${1:-}"
py="${PYTHON:-python3}"
if ! "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "warroom needs Python 3.11 or newer (found: $("$py" --version 2>&1))." >&2
  exit 1
fi
if ! "$py" "$root/scripts/lockfile.py" check "$extras"; then
  exit 1
fi
lock="$("$py" "$root/scripts/lockfile.py" path "$extras")"
venv="$root/.venv"
if [ ! -x "$venv/bin/python" ]; then
  echo "Creating $venv ..." >&2
  "$py" -m venv "$venv"
fi
stamp="$venv/.warroom-installed-${extras:-base}"
want="$(cat "$lock" "$root/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "Installing warroom${extras:+ with [$extras]} into .venv from ${lock#"$root/"} ..." >&2
  pip=("$venv/bin/python" -m pip --disable-pip-version-check)
  "${pip[@]}" install --quiet --require-hashes -r "$lock" >&2
  (cd "$root" && "${pip[@]}" install --quiet --no-deps -e .) >&2
  echo "$want" > "$stamp"
fi
