#!/usr/bin/env bash
# Run ruff and the tests in .venv, installing what they need first, the browser tests among them in Debian's
# Chromium (installed if missing); then the database tests again on a throwaway PostgreSQL server (set
# SEND_INSPECTION_SKIP_POSTGRES=1 to skip that part), with the production shape on it: the Prefect server on PostgreSQL
# too behind its API auth string, prefect.yaml deployed, two workers on the work pool (tests/live/test_pool_on_postgres.py),
# and an inspection driven from the coordinator's console alone (tests/live/test_console_on_the_stack.py).
# Each pass runs in SEND_INSPECTION_TEST_PROCESSES pytest processes (default 3 on the 2-core reference machine: the
# live files mostly wait on the servers and flow runs they start; 1 runs in one process): a file's tests stay together
# and in order, files sharing a live stack go to the same process, and the long files go first (tests/conftest.py).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh test
export PREFECT_SERVER_ANALYTICS_ENABLED=false
.venv/bin/ruff check .
processes="${SEND_INSPECTION_TEST_PROCESSES:-3}"
parallel=()
if [ "$processes" != "1" ]; then parallel=(-n "$processes"); fi
# The pages in headless Chromium, checked with axe-core; a missing browser fails the run instead of skipping.
bash scripts/install-browser.sh
SEND_INSPECTION_BROWSER_TESTS=1 .venv/bin/python -m pytest "${parallel[@]}" "$@"
if [ "${SEND_INSPECTION_SKIP_POSTGRES:-0}" != "1" ]; then
  bash scripts/with-postgres.sh .venv/bin/python -m pytest "${parallel[@]}" "$@" tests/engine tests/web tests/cases tests/db tests/test_tokens.py tests/evidence/test_library.py \
    tests/mail/test_ledger.py tests/mail/test_distribution.py tests/mail/test_ews_calendar.py tests/mail/test_inbox_watch.py \
    tests/mail/test_graph_calendar.py tests/mail/test_graph_inbox.py tests/mail/test_exchange_scenarios.py \
    tests/intake tests/fieldwork/test_ews_invitations.py tests/rehearsal/test_privacy_scan.py tests/coordinator tests/console \
    tests/retention \
    tests/live/test_pool_on_postgres.py tests/live/test_console_on_the_stack.py
fi
