#!/usr/bin/env bash
# Run the product on its embedded defaults: Prefect server, sign-off web app with outbox, deployments.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PREFECT_SERVER_ANALYTICS_ENABLED=false
exec .venv/bin/send-inspection up
