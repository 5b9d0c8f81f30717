"""Measure a whole-inspection rehearsal, one ticker run, and what waiting holds (processes while suspended).

1. The whole-inspection rehearsal (notification to the published report, on a virtual clock, against a temporary
   Prefect server): wall time and CPU time of this process, flow runs and task runs it made, emails sent.
2. On the real local stack (Prefect server on SQLite, the worker serving the deployments, the web app, the
   outbox): an inspection is started and both of its first phases wait suspended; then, for `--waits` seconds,
   the worker's process tree is sampled every second (processes held while suspended: the target is 0 beyond
   the worker itself), and `--ticks` ticker runs are started through the deployment, each timed from creation to
   Completed, with the time Prefect measured it running.

    .venv/bin/python bench/whole_inspection.py [--ticks 5] [--waits 20] [--skip-stack]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

import httpx  # noqa: E402

from bench.machine import machine  # noqa: E402
from tests.live.stack import LiveStack, start_stack, stop_stack  # noqa: E402

INSPECTION = "demo-county-2030-06-24"
NOTIFIED = "2030-06-24T09:00"


def rehearsal(workdir: Path) -> dict[str, object]:
    """Run the whole-inspection rehearsal once against a temporary Prefect server; return its figures."""
    from prefect.settings import PREFECT_API_TLS_INSECURE_SKIP_VERIFY, PREFECT_API_URL, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    from send_inspection.rehearsal.whole_inspection import rehearse_whole_inspection

    with prefect_test_harness(server_startup_timeout=120), \
            temporary_settings(updates={PREFECT_API_TLS_INSECURE_SKIP_VERIFY: True}):
        started, cpu = time.perf_counter(), time.process_time()
        report, summary = rehearse_whole_inspection(workdir)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        api = PREFECT_API_URL.value()
        flow_runs = httpx.post(f"{api}/flow_runs/count", json={}, timeout=30).json()
        task_runs = httpx.post(f"{api}/task_runs/count", json={}, timeout=30).json()
    return {"wall_s": round(wall, 1), "cpu_s_this_process": round(cpu, 1), "flow_runs": flow_runs,
            "task_runs": task_runs, "emails": len(report.emails), "answers": len(report.answers),
            "late_answers": len(summary.late_answers),
            "phases_done": f"{sum(s == 'done' for s in report.phases.values())} of {len(report.phases)}",
            "virtual_end": report.finished_at}


def descendants(pid: int) -> list[int]:
    """Return the pids of every process below `pid` (read from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def all_waiting(stack: LiveStack) -> bool:
    """Say whether every started phase of the inspection waits with its run suspended (none not yet started runs)."""
    rows = stack.query("select phase, status, flow_run_id from phase_runs where inspection_id = :i", i=INSPECTION)
    started = [(status, run) for _, status, run in rows if run]
    return len(started) >= 2 and all(status == "waiting" and stack.suspended_with(run) for status, run in started) \
        and all(status in ("waiting", "pending") for _, status, _ in rows)


def flow_of(stack: LiveStack, pid: int) -> str:
    """Name the flow whose run the process carries (from its PREFECT__FLOW_RUN_ID), or its command line."""
    try:
        environ = dict(item.split("=", 1) for item in Path(f"/proc/{pid}/environ").read_text().split("\0")
                       if "=" in item)
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "(ended before it was read)"
    run_id = environ.get("PREFECT__FLOW_RUN_ID")
    if not run_id:
        return command[:120]
    flow_id = stack.flow_run(run_id)["flow_id"]
    return "flow run of " + httpx.get(f"{stack.api_url}/flows/{flow_id}", timeout=10).json()["name"]


def on_the_stack(ticks: int, waits: int) -> dict[str, object]:
    """Start the local stack, let an inspection wait, sample the worker's processes and time ticker runs."""
    stack = start_stack(Path(tempfile.mkdtemp(prefix="bench-whole-")), mail="outbox")
    try:
        baseline = len(descendants(stack.procs["worker"].pid))  # the worker's own helpers, before any flow run
        stack.cli("start", "--notified-at", NOTIFIED, "--deliberate")  # ahead of time, on purpose
        stack.wait_for(lambda: all_waiting(stack), seconds=240, what="every phase waiting, its run suspended")
        samples, held = [], set()
        for _ in range(waits):
            now = set(descendants(stack.procs["worker"].pid))
            samples.append(len(now) - baseline)
            held |= {flow_of(stack, pid) for pid in now}
            time.sleep(1)
        api = stack.api_url
        deployment = httpx.post(f"{api}/deployments/filter", json={"flows": {"name": {"any_": ["ticker"]}}},
                                timeout=10).json()[0]
        took, running = [], []
        for _ in range(ticks):
            created = time.perf_counter()
            run = httpx.post(f"{api}/deployments/{deployment['id']}/create_flow_run", json={}, timeout=10).json()
            stack.wait_for(lambda rid=run["id"]: stack.flow_run(rid)["state"]["type"] == "COMPLETED", seconds=120,
                           what="a ticker run", every=0.1)
            took.append(time.perf_counter() - created)
            running.append(stack.flow_run(run["id"])["total_run_time"])
    finally:
        stop_stack(stack)
    return {
        # One sample a second from the moment every started phase was suspended: a run's process takes a few
        # seconds to exit after its suspension; what matters is what is held once it has.
        "processes_held_while_suspended": {"per_second": samples, "last_10_s_max": max(samples[-10:]),
                                           "seen": sorted(held)},
        "ticker_created_to_completed_s": {"n": len(took), "p50": round(statistics.median(took), 2),
                                          "max": round(max(took), 2)},
        "ticker_running_s": {"p50": round(statistics.median(running), 2), "max": round(max(running), 2)},
    }


def main() -> None:
    """Run the measures and print them as JSON, with the machine."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=5)
    parser.add_argument("--waits", type=int, default=20)
    parser.add_argument("--skip-stack", action="store_true", help="measure the rehearsal only")
    parser.add_argument("--stack-only", action="store_true", help="measure on the real stack only")
    args = parser.parse_args()
    result: dict[str, object] = {"machine": machine("prefect", "sqlalchemy")}
    if not args.stack_only:
        result["whole_inspection_rehearsal"] = rehearsal(Path(tempfile.mkdtemp(prefix="bench-rehearsal-")))
    print(json.dumps(result, indent=2), flush=True)
    if not args.skip_stack:
        result["live_stack"] = on_the_stack(args.ticks, args.waits)
        print(json.dumps(result["live_stack"], indent=2))


if __name__ == "__main__":
    main()
