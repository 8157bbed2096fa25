# Sourced by the other scripts: make sure .venv exists and holds the project with
# its dev extra, then put it first on PATH. Only Python 3.10+ is needed beforehand.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-$ROOT/.venv}"
STAMP="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
supported() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; }
if ! supported "$PYTHON"; then
    printf 'cqrs needs Python 3.10 or newer; %s is %s. Set PYTHON=/path/to/python3.1x.\n' \
        "$PYTHON" "$("$PYTHON" --version 2>&1 || echo 'not found')" >&2
    exit 1
fi
if [ -x "$VENV/bin/python" ] && ! supported "$VENV/bin/python"; then
    # Created once with an older Python: every install would fail; start over.
    printf '%s uses %s, which cqrs does not support: rebuilding it\n' \
        "$VENV" "$("$VENV/bin/python" --version 2>&1)" >&2
    rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
if [ ! -f "$STAMP" ]; then
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e ".[dev]"
    rm -f "$VENV"/.installed-*
    touch "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
