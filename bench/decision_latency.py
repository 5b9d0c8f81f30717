"""Measure decision latency on the local stack: a POST of a decision → the next email in the outbox.

Starts a real Prefect server (SQLite), the worker, the sign-off web app (outbox transport) and an empty
suspend probe; gives 24 decisions one after another through the web app; and reports, beside them, the
floor of the suspend design (an empty suspended flow resumed → Completed), measured in the same run with its
probes spread among the decisions, so that both are measured under the same load.

    .venv/bin/python bench/decision_latency.py [--decisions 24] [--probes 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from uuid import UUID

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from bench.machine import machine  # noqa: E402
from tests.live.stack import LiveStack, start_stack, stop_stack  # noqa: E402

INSPECTION = "demo-county-2030-06-24"
NOTIFIED_ON = date(2030, 6, 24)
ITEMS = ["child-level-data", "providers-settings", "1.1", "1.2", "1.3", "1.4", "1.5", "health-template"]
NEXT = {"submit": "approve", "approve": "check", "check": "upload"}
ANSWER = {"submit": "submitted", "approve": "approved", "check": "approved"}


def percentile(values: list[float], q: float) -> float:
    """Return the q-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


def summary(values: list[float]) -> dict[str, float]:
    """Return n, median, p95 and max in seconds."""
    return {"n": len(values), "p50": round(statistics.median(values), 2), "p95": round(percentile(values, 95), 2),
            "max": round(max(values), 2)}


def suspended(stack: LiveStack, flow_run_id: str) -> bool:
    """Say whether the flow run is suspended."""
    return stack.flow_run(flow_run_id)["state"]["type"] == "PAUSED"


def decide_once(stack: LiveStack, day2: str, step: str, ref: str) -> tuple[float, float]:
    """Give one decision; return seconds to the next email and to the run being suspended again."""
    stack.wait_for(lambda: suspended(stack, day2), seconds=60, what="day 2 suspended")
    token = stack.token_for(f"{INSPECTION}:day2:{ref}:{step}:r1:ask")
    page = stack.open_link(token)  # the person opens the link first
    nxt = f"{INSPECTION}:day2:{ref}:{NEXT[step]}:r1:ask"
    waits = stack.phase(INSPECTION, "day2")[2]
    started = time.perf_counter()  # the button pressed
    response = stack.press(token, page, ANSWER[step], lists_as_of=NOTIFIED_ON)
    assert response.status_code == 200, response.text[:300]
    stack.wait_for(lambda: stack.has_sent(nxt), seconds=60, what=nxt, every=0.02)
    to_email = time.perf_counter() - started
    # Resumed, through its pass, and suspended under its next wait (the web app sends the ask before it wakes the
    # run, so the run is often still suspended under the old wait when the email has gone).
    stack.wait_for(lambda: stack.phase(INSPECTION, "day2")[2] > waits and suspended(stack, day2), seconds=60,
                   what="day 2 suspended again", every=0.02)
    return to_email, time.perf_counter() - started


def probe_once(stack: LiveStack) -> float:
    """Run the empty probe once; return seconds from its resume to Completed."""
    from prefect.deployments import run_deployment
    from prefect.flow_runs import resume_flow_run

    run = run_deployment("suspend-probe/probe", timeout=0)
    stack.wait_for(lambda: suspended(stack, str(run.id)), seconds=60, what="the probe suspended")
    started = time.perf_counter()
    resume_flow_run(UUID(str(run.id)), run_input={"reason": "go"})
    stack.wait_for(lambda: stack.flow_run(str(run.id))["state"]["type"] == "COMPLETED", seconds=60,
                   what="the probe completed", every=0.02)
    return time.perf_counter() - started


def measure(stack: LiveStack, *, decisions: int, probes: int) -> tuple[list[float], list[float], list[float]]:
    """Give the decisions with the floor's probes spread evenly among them; return the three lists of seconds.

    Interleaved, not one after the other: on shared cores the load changes within minutes, and the ratio of the
    decisions to the floor means something only when both were measured under the same load.
    """
    to_email, to_wait, floor = [], [], []
    day2 = stack.phase(INSPECTION, "day2")[1]
    plan = [(step, ref) for step in ("submit", "approve", "check") for ref in ITEMS][:decisions]
    for given, (step, ref) in enumerate(plan, start=1):
        email, wait = decide_once(stack, day2, step, ref)
        to_email.append(email)
        to_wait.append(wait)
        while len(floor) < probes * given // len(plan):
            floor.append(probe_once(stack))
    while len(floor) < probes:
        floor.append(probe_once(stack))
    return to_email, to_wait, floor


def main() -> int:
    """Run the benchmark and print its results as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=24)
    parser.add_argument("--probes", type=int, default=10)
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="decision-latency-") as tmp:
        stack = start_stack(Path(tmp), mail="outbox")
        try:
            os.environ.update({k: v for k, v in stack.env.items() if k.startswith("PREFECT_")})
            stack.spawn("probe", [sys.executable, str(ROOT / "bench" / "suspend_probe.py")])
            stack.wait_for(lambda: stack.deployment_count() >= 13, seconds=60, what="the probe deployment")
            stack.cli("start", "--notified-at", "2030-06-24T09:00", "--deliberate")  # ahead of time, on purpose
            stack.wait_for(lambda: stack.phase(INSPECTION, "day2")[0] == "waiting", seconds=120, what="day 2")
            stack.cli("survey-links", "--inspection", INSPECTION, "--children-young-people", "https://s.example/c",
                      "--parents-carers", "https://s.example/p", "--practitioners", "https://s.example/w")
            to_email, to_wait, floor = measure(stack, decisions=args.decisions, probes=args.probes)
        finally:
            stop_stack(stack)
    result = {
        "decision_to_next_email_s": summary(to_email),
        "decision_to_run_waiting_again_s": summary(to_wait),
        "floor_empty_suspended_flow_resumed_to_completed_s": summary(floor),
        "load_average_1_5_15_min": {"before": [round(x, 2) for x in load_before],
                                    "after": [round(x, 2) for x in os.getloadavg()]},
        "machine": machine("prefect", "sqlalchemy"),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
