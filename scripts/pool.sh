#!/usr/bin/env bash
# The work-pool shape on this machine: create (or update) the process work pool with its concurrency limit and its
# queues, deploy prefect.yaml, and start SEND_INSPECTION_WORKERS workers (default 2), each started again if it exits.
#
# Runs in the foreground; Ctrl-C (or SIGTERM) stops the workers. Needs PREFECT_API_URL (and PREFECT_API_AUTH_STRING
# when the server requires it) and the same SEND_INSPECTION_* settings as the web app.
#   SEND_INSPECTION_FLOW_RUN_LIMIT  flow-run processes at once on the pool [two per core of this machine, at least 4];
#                                   runs beyond it wait Scheduled instead of fighting for the cores
#   SEND_INSPECTION_POOL            the work pool's name [send-inspection]
#   PREFECT_WORKER_QUERY_SECONDS    how often each worker asks for runs to start [2; Prefect's own is 10]: a decision
#                                   resumes its phase's run, which does what follows it, so this is how soon that runs
#   SEND_INSPECTION_WORKER_NICE     CPU priority of the workers and their flow runs [10]: the web app (a person waiting
#                                   on a page or the next ask) and the Prefect server come first on a shared machine
# More machines: docs/scale.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh >/dev/null
pool="${SEND_INSPECTION_POOL:-send-inspection}"
workers="${SEND_INSPECTION_WORKERS:-2}"
export PREFECT_WORKER_QUERY_SECONDS="${PREFECT_WORKER_QUERY_SECONDS:-2}"
niceness="${SEND_INSPECTION_WORKER_NICE:-10}"
limit="$(.venv/bin/python -c 'from send_inspection.live.worker import flow_run_limit; print(flow_run_limit())')"
prefect=".venv/bin/prefect"
"$prefect" work-pool inspect "$pool" >/dev/null 2>&1 || "$prefect" work-pool create "$pool" --type process >/dev/null
"$prefect" work-pool set-concurrency-limit "$pool" "$limit" >/dev/null
# Its queues, with the ticker's first in line for a free slot (send_inspection/catalogue/phases.py, WORK_QUEUES).
queues="$(.venv/bin/python -m send_inspection.live.work_queues "$pool")"
"$prefect" --no-prompt deploy --all >/dev/null
echo "work pool $pool: at most $limit flow runs at once; queues by priority: $queues; $workers workers at nice $niceness"

# A worker that exits (an unhandled server error, a crash) is started again after a pause, never in a hot loop.
supervise() {
  local name="$1"
  while true; do
    nice -n "$niceness" "$prefect" worker start --pool "$pool" --name "$name" --type process || true
    echo "worker $name exited; starting it again in 5 s" >&2
    sleep 5
  done
}
pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do pkill -TERM -P "$pid" 2>/dev/null || true; kill "$pid" 2>/dev/null || true; done
  wait
}
trap stop INT TERM EXIT
for n in $(seq 1 "$workers"); do
  supervise "${SEND_INSPECTION_WORKER_PREFIX:-worker}-$n" &
  pids+=("$!")
done
wait
