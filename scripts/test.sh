#!/usr/bin/env bash
# Run the tests (and ruff) in .venv, installing what they need first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh test
export PREFECT_SERVER_ANALYTICS_ENABLED=false
.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"
