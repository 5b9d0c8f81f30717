"""The production shape: Prefect server and product on PostgreSQL, prefect.yaml deployed, two pool workers.

Runs in the PostgreSQL pass of scripts/test.sh (SEND_INSPECTION_TEST_DB_URL set by scripts/with-postgres.sh);
skipped otherwise. The stack (tests/live/conftest.py, shared with the console's test) makes two databases of its own
on that server: one for the product, one for Prefect.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.live.stack import POOL, LiveStack

pytestmark = pytest.mark.timeout(600)

INSPECTION = "demo-county-2030-06-24"
NOTIFIED = "2030-06-24T09:00"
DAY2_ITEMS = ["child-level-data", "providers-settings", "1.1", "1.2", "1.3", "1.4", "1.5", "health-template"]
LISTS = ["boards", "chief-executive-and-members", "extended-board", "all-childrens-services", "schools-forum-chairs"]


def key(*parts: str) -> str:
    """Return a ledger key of the test inspection."""
    return ":".join((INSPECTION, *parts))


def test_prefect_yaml_deploys_every_flow_to_the_pool_and_two_workers_poll_it(pool: LiveStack) -> None:
    """`prefect deploy --all` from the project root makes every deployment on the pool, the ticker's on the queue
    first in line for a free slot; two workers are online."""
    deployments = pool.api("POST", "/deployments/filter", json={})
    assert len(deployments) >= 12
    assert {d["work_pool_name"] for d in deployments} == {POOL}
    assert {d["name"] for d in deployments} == {"send-inspection"}
    queues = {q["name"]: q["priority"] for q in pool.api("POST", f"/work_pools/{POOL}/queues/filter", json={})}
    assert queues == {"ticker": 1, "default": 2}
    ticker = pool.api("POST", "/deployments/filter", json={"flows": {"name": {"any_": ["ticker"]}}})
    assert [d["work_queue_name"] for d in ticker] == ["ticker"]
    assert {d["work_queue_name"] for d in deployments if d["id"] != ticker[0]["id"]} == {"default"}
    # A pool whose queues an operator changed is put back as declared when the script runs again.
    pool.api("PATCH", f"/work_pools/{POOL}/queues/ticker", json={"priority": 5})
    fixed = subprocess.run([sys.executable, "-m", "send_inspection.live.work_queues", POOL], env=pool.env,
                           capture_output=True, text=True, timeout=120, check=True)
    assert fixed.stdout.strip() == "ticker 1, default 2"
    workers = pool.pool_workers()
    assert sorted(w["name"] for w in workers) == ["worker-1", "worker-2"]
    assert all(w["status"] == "ONLINE" for w in workers)


def test_an_inspection_runs_through_the_pool_on_postgresql(pool: LiveStack) -> None:
    """Day 1 and day 2 run on the pool's workers, send once each, suspend, and a decision wakes day 2 again."""
    pool.cli("start", "--notified-at", NOTIFIED, "--deliberate")  # ahead of time, on purpose

    def day2_suspended() -> bool:
        status, run, _ = pool.phase(INSPECTION, "day2")
        return status == "waiting" and run is not None and pool.suspended_with(run) is not None

    pool.wait_for(lambda: pool.phase(INSPECTION, "notification")[0] == "waiting" and day2_suspended(),
                  seconds=240, what="both phases waiting on the pool")
    expected = {key("notification", "list", name) for name in LISTS} | {key("notification", "core-group-meeting")}
    expected |= {key("day2", ref, "submit", "r1", "ask") for ref in DAY2_ITEMS}
    assert expected <= set(pool.received_keys())
    assert [k for k, n in pool.received_keys().items() if n > 1] == []

    day2 = pool.flow_run(pool.phase(INSPECTION, "day2")[1])
    assert day2["work_pool_name"] == POOL and day2["state"]["name"] == "Suspended"

    response = pool.answer(pool.token_for(key("day2", "1.1", "submit", "r1", "ask")), "submitted")
    assert response.status_code == 200, response.text[:300]
    asked = key("day2", "1.1", "approve", "r1", "ask")
    pool.wait_for(lambda: asked in pool.received_keys(), seconds=180, what="the accountable lead's ask")
    assert pool.message(asked).to == ("samantha.cole-brierley@demo-county.example",)
    pool.wait_for(day2_suspended, seconds=120, what="day 2 to wait again")

    # Both stores are PostgreSQL: the product's rows and Prefect's own flow runs.
    assert pool.db_url.startswith("postgresql")
    assert pool.query("select count(*) from decisions")[0][0] == 1
    prefect_db = make_url(pool.env["PREFECT_API_DATABASE_CONNECTION_URL"]).set(drivername="postgresql+psycopg")
    engine = create_engine(prefect_db)
    try:
        with engine.connect() as conn:
            on_pool = text("select count(*) from flow_run r join work_queue q on q.id = r.work_queue_id "
                           "join work_pool p on p.id = q.work_pool_id where p.name = :p")
            runs = conn.execute(on_pool, {"p": POOL}).scalar()
    finally:
        engine.dispose()
    assert runs >= 3  # day 1, day 2 and the staff bulletin at least (and the ticker's runs)


def test_the_pool_queues_runs_past_its_limit_and_a_dead_worker_is_started_again(pool: LiveStack) -> None:
    """The pool has a concurrency limit sized for the machine, and a worker that dies (killed) is started again by
    scripts/pool.sh under its name."""
    from send_inspection.live.worker import flow_run_limit

    assert pool.api("GET", f"/work_pools/{POOL}")["concurrency_limit"] == flow_run_limit()

    def worker_one() -> list[str]:  # only among the processes the stack's pool script started (its session)
        session = str(pool.procs["pool"].pid)
        return subprocess.run(["pgrep", "-s", session, "-f", "--", "worker start .*--name worker-1"],
                              capture_output=True, text=True, check=False).stdout.split()

    (first,) = worker_one()
    os.kill(int(first), signal.SIGKILL)
    pool.wait_for(lambda: "worker worker-1 exited; starting it again" in pool.log("pool"), seconds=30,
                  what="the script to see the worker gone")
    pool.wait_for(lambda: worker_one() not in ([], [first]), seconds=60, what="worker-1 started again")
