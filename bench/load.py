"""Many inspections at once on the production shape: do they all open, does every email go once, how slow is it?

For each N asked (default 1, 20 and 40) it starts the pool shape afresh (PostgreSQL for the Prefect server and the
product, scripts/pool.sh with two workers, the web app, an SMTP server on loopback that keeps every message), gives
one inspection its 15 day-2 decisions alone (the baseline), then starts N inspections on N notification dates at
once and gives each its 15 decisions through the staff links, as a browser does, all inspections in parallel. It
prints one markdown row per N: inspections that reached their first wait, decision (the button pressed) → next email
p95 (and the baseline's), how long the link's page took to open (p95), HTTP 5xx answered by the Prefect server,
workers that died, runs left Running or Pending (for over a minute once the pool's queue is empty), emails sent more
than once; and a second row: the ticker's runs under the
load (how many, run time p50 and max, how late the latest started), and how much each of the N inspections grew the
product's and the Prefect server's databases.

    bash scripts/with-postgres.sh .venv/bin/python bench/load.py [--n 1 20 40]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.machine import machine  # noqa: E402
from tests.live.conftest import TEST_DB_URL, fresh_database  # noqa: E402
from tests.live.stack import LiveStack, start_pool_stack, stop_stack  # noqa: E402

FIRST_DAY = date(2031, 1, 6)  # a Monday far ahead: no reminder falls due while the bench runs
ITEMS = ["1.1", "1.2", "1.3", "1.4", "1.5"]
STEPS = [("submit", "submitted", "approve"), ("approve", "approved", "check"), ("check", "approved", "upload")]
WAIT = 900.0  # seconds an email or a first wait may take before it counts as never
LEFT_AFTER = 60.0  # seconds Running or Pending after the load settled before a run counts as left behind


def notified_on(n: int) -> date:
    """Return the n-th working day from the first, each inspection its own notification date."""
    day = FIRST_DAY
    for _ in range(n):
        day += timedelta(days=3 if day.weekday() == 4 else 1)
    return day


def inspection_id(day: date) -> str:
    """Return the id the engine gives an inspection of the demo partnership notified on `day`."""
    return f"demo-county-{day.isoformat()}"


def percentile(values: list[float], q: float) -> float:
    """Return the q-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


def opened(stack: LiveStack, iid: str) -> bool:
    """Say whether an inspection reached its first wait: day 1 waiting for the survey links, day 2 for answers."""
    return stack.phase(iid, "notification")[0] == "waiting" and stack.phase(iid, "day2")[0] == "waiting"


def start(stack: LiveStack, day: date) -> str:
    """Start the inspection notified on `day` from the command line, as the coordinator would."""
    stack.cli("start", "--notified-at", f"{day.isoformat()}T09:00", "--deliberate", timeout=600)
    return inspection_id(day)


def decide(stack: LiveStack, iid: str) -> list[tuple[float, float]]:
    """Give the inspection's 15 day-2 decisions one after another, as a person does: open the link, press the button.

    Return, for each, the seconds from pressing the button (the decision) to the next email, and the seconds the
    link's page took to open.
    """
    took = []
    for step, outcome, then in STEPS:
        for ref in ITEMS:
            asked, following = f"{iid}:day2:{ref}:{step}:r1:ask", f"{iid}:day2:{ref}:{then}:r1:ask"
            deadline = time.monotonic() + WAIT
            while asked not in stack.mail.arrived:
                if time.monotonic() > deadline:
                    return took
                time.sleep(0.2)
            token = stack.token_for(asked)
            opening = time.monotonic()
            page = stack.open_link(token)
            pressed = time.monotonic()
            response = stack.press(token, page, outcome)
            if response.status_code != 200:
                continue
            while following not in stack.mail.arrived and time.monotonic() - pressed < WAIT:
                time.sleep(0.05)
            # When the SMTP server took the email, not when this thread next looked.
            took.append((stack.mail.arrived.get(following, time.monotonic()) - pressed, pressed - opening))
    return took


def server_errors(stack: LiveStack) -> int:
    """Count the HTTP 5xx the Prefect server's clients were answered, as the processes logged them."""
    names = [p.stem for p in stack.root.glob("*.log")]
    return sum(stack.log(name).count(f"Server error '{code}") for name in names for code in (500, 502, 503))


def busy_runs(stack: LiveStack) -> int:
    """Count the flow runs Running, Pending, or Scheduled for a time already come (queued for a slot)."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    running = {"flow_runs": {"state": {"type": {"any_": ["RUNNING", "PENDING"]}}}}
    queued = {"flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}, "expected_start_time": {"before_": now}}}
    return len(stack.api("POST", "/flow_runs/filter", json=running)) + len(
        stack.api("POST", "/flow_runs/filter", json=queued))


def settle(stack: LiveStack) -> None:
    """Wait until the pool has worked through every run the load made (each phase's wake after the web app's asks)."""
    deadline = time.monotonic() + WAIT
    while busy_runs(stack) and time.monotonic() < deadline:
        time.sleep(5)
    time.sleep(10)  # the last runs' processes end after they suspend


def left_running(stack: LiveStack) -> list[str]:
    """Return the flow runs left Running or Pending for over a minute once the load has settled (a tick, a resumed
    phase starting just then is not left), each as "<flow> <state> for <seconds> s"."""
    body = {"flow_runs": {"state": {"type": {"any_": ["RUNNING", "PENDING"]}}}}
    flows = {f["id"]: f["name"] for f in stack.api("POST", "/flows/filter", json={})}
    now = time.time()
    left = []
    for run in stack.api("POST", "/flow_runs/filter", json=body):
        since = datetime.fromisoformat(run["state"]["timestamp"]).timestamp()
        if now - since > LEFT_AFTER:
            left.append(f"{flows.get(run['flow_id'], '?')} {run['state']['name']} for {now - since:.0f} s")
    return left


def database_bytes(url: str) -> int:
    """Return the size of the PostgreSQL database at `url` in bytes."""
    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one())
    finally:
        engine.dispose()


def ticker_runs(stack: LiveStack, since: str) -> dict[str, object]:
    """Return the ticker's finished runs since `since` (ISO time): how many, run time p50 and max, latest start."""
    body = {"flows": {"name": {"any_": ["ticker"]}},
            "flow_runs": {"start_time": {"after_": since}, "state": {"type": {"any_": ["COMPLETED", "FAILED"]}}},
            "limit": 200}
    runs = stack.api("POST", "/flow_runs/filter", json=body)
    took = [r["total_run_time"] for r in runs]
    late = [r["estimated_start_time_delta"] or 0.0 for r in runs]
    return {"ticks": len(runs), "tick_p50": round(statistics.median(took), 1) if took else None,
            "tick_max": round(max(took), 1) if took else None, "tick_late_max": round(max(late), 1) if late else None}


def run_once(n: int, root: Path) -> dict[str, object]:
    """Start the stack afresh, measure one inspection alone, then N at once; return the row's figures."""
    prefect_url, product_url = fresh_database("prefect_bench"), fresh_database("send_inspection_bench")
    prefect_db = make_url(prefect_url).set(drivername="postgresql+asyncpg")
    stack = start_pool_stack(root, product_db=product_url,
                             prefect_db=prefect_db.render_as_string(hide_password=False), workers=2)
    try:
        alone = start(stack, notified_on(0))
        stack.wait_for(lambda: opened(stack, alone), seconds=WAIT, what="the baseline inspection", every=1)
        baseline = decide(stack, alone)
        days = [notified_on(i) for i in range(1, n + 1)]
        sizes = database_bytes(product_url), database_bytes(prefect_url)
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())  # the ticks under the load, not before
        began = time.monotonic()
        with ThreadPoolExecutor(max_workers=min(n, 8)) as starting:
            ids = list(starting.map(lambda d: start(stack, d), days))
        with ThreadPoolExecutor(max_workers=n) as deciding:
            samples = [s for took in deciding.map(lambda i: decide(stack, i), ids) for s in took]
        reached = sum(1 for i in ids if stack.phase(i, "day2")[0] in ("waiting", "running", "done"))
        decided = time.monotonic()
        settle(stack)
        keys = stack.received_keys()
        loaded, alone_took = [d for d, _ in samples], [d for d, _ in baseline]
        return {
            "N": n, "opened": f"{reached}/{n}", "decisions": len(samples), "of": 15 * n,
            "p95": round(percentile(loaded, 95), 2) if loaded else None,
            "baseline_p95": round(percentile(alone_took, 95), 2) if alone_took else None,
            "baseline_p50": round(statistics.median(alone_took), 2) if alone_took else None,
            "ratio": round(percentile(loaded, 95) / percentile(alone_took, 95), 1) if loaded and alone_took else None,
            "page_p95": round(percentile([o for _, o in samples], 95), 2) if samples else None,
            "baseline_page_p95": round(percentile([o for _, o in baseline], 95), 2) if baseline else None,
            "server_5xx": server_errors(stack),
            "workers_died": stack.log("pool").count("exited; starting it again"),
            "left": (left := left_running(stack)), "left_running_or_pending": len(left),
            "emails": sum(keys.values()), "sent_twice": sum(1 for c in keys.values() if c > 1),
            "minutes": round((decided - began) / 60, 1),
            "settled_minutes": round((time.monotonic() - began) / 60, 1),
            **ticker_runs(stack, since),
            "product_kb_each": round((database_bytes(product_url) - sizes[0]) / 1024 / n),
            "prefect_kb_each": round((database_bytes(prefect_url) - sizes[1]) / 1024 / n),
        }
    finally:
        stop_stack(stack)


def main() -> int:
    """Run the bench for each N asked and print the rows."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1, 20, 40])
    args = parser.parse_args()
    if not TEST_DB_URL.startswith("postgresql"):
        print("run through scripts/with-postgres.sh (it sets SEND_INSPECTION_TEST_DB_URL)", file=sys.stderr)
        return 2
    print(json.dumps(machine("prefect", "sqlalchemy"), indent=1))
    print("| N | inspections open | decisions measured | decision → next email p95 (baseline alone) | ratio | "
          "link's page opens p95 (alone) | Prefect 5xx | workers died | runs left Running/Pending | "
          "emails (sent twice) | minutes to the last decision (to the pool's queue empty) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for n in args.n:
        with tempfile.TemporaryDirectory(prefix=f"load-{n}-") as root:
            row = run_once(n, Path(root))
        rows.append(row)
        print(f"| {row['N']} | {row['opened']} | {row['decisions']}/{row['of']} | {row['p95']} s "
              f"({row['baseline_p95']} s) | {row['ratio']}× | {row['page_p95']} s ({row['baseline_page_p95']} s) | "
              f"{row['server_5xx']} | {row['workers_died']} | "
              f"{row['left_running_or_pending']} | {row['emails']} ({row['sent_twice']}) | {row['minutes']} "
              f"({row['settled_minutes']}) |",
              flush=True)
    print("\n| N | ticker runs | tick run time p50 / max | latest tick start | product database per inspection | "
          "Prefect database per inspection |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['N']} | {row['ticks']} | {row['tick_p50']} s / {row['tick_max']} s | {row['tick_late_max']} s "
              f"late | {row['product_kb_each']} KB | {row['prefect_kb_each']} KB |")
    print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
