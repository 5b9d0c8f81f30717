#!/usr/bin/env bash
# Run ruff and the tests in .venv, installing what they need first; then the database tests again on
# a throwaway PostgreSQL server (set SEND_INSPECTION_SKIP_POSTGRES=1 to skip that part).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh test
export PREFECT_SERVER_ANALYTICS_ENABLED=false
.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"
if [ "${SEND_INSPECTION_SKIP_POSTGRES:-0}" != "1" ]; then
  bash scripts/with-postgres.sh .venv/bin/python -m pytest "$@" tests/engine tests/web tests/cases tests/db tests/test_tokens.py tests/evidence/test_library.py \
    tests/mail/test_ledger.py tests/mail/test_distribution.py tests/mail/test_ews_calendar.py tests/mail/test_inbox_watch.py \
    tests/intake tests/fieldwork/test_ews_invitations.py
fi
