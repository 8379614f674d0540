#!/usr/bin/env bash
# The README's second command: set up .venv, then run the test suite (args go to pytest).
# Default: everything but tests marked slow (under 10 minutes on 2 CPU cores).
# Everything: bash scripts/test.sh -m ""
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/ensure-venv.sh"
cd "$ROOT"
# The code's habits first (configuration in pyproject.toml and .importlinter): lint, the
# layers of docs/architecture.md, and types of the public API. Each stops the run when it fails.
ruff check .
ruff format --check .
lint-imports --no-cache
mypy
# pytest exits 5 when it ran no test: that is a failure here, as every non-zero status is
exec python -m pytest -m "not slow" "$@"
