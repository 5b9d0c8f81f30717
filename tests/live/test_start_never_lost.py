"""An inspection is never lost: the coordinator's start is on record before its run exists, and a notification run
that dies before it opens the inspection is found by its lease and started afresh; so is one made in the Prefect UI,
of which nothing of ours knew; every email goes once. Then the Runs list: a tick that found nothing to do leaves no
run behind, while the tick that took the run over stays."""

from __future__ import annotations

import re
import sys
import time

import pytest

from tests.live.stack import PENDING_GRACE_SECONDS, LiveStack

pytestmark = pytest.mark.timeout(600)

INSPECTION = "demo-county-2030-07-01"
NOTIFIED = "2030-07-01T09:00"  # a Monday far ahead: no reminder falls due while the test runs
FROM_PREFECT = "demo-county-2030-07-08"  # the inspection of a run made in the Prefect UI, a week later
DAY2_ITEMS = ["child-level-data", "providers-settings", "1.1", "1.2", "1.3", "1.4", "1.5", "health-template"]
LISTS = ["boards", "chief-executive-and-members", "extended-board", "all-childrens-services", "schools-forum-chairs"]


def test_a_notification_run_killed_before_it_opens_the_inspection_is_taken_over(stack: LiveStack) -> None:
    """With no worker the start is shown with its run; the worker killed as it takes the run leaves it Pending
    ("Submitting") for good; the ticker marks it Crashed, a fresh run opens the inspection, each email goes once.
    A run made in the Prefect UI and killed the same way, whose inspection nothing of ours knew, is taken over too."""
    if "worker" in stack.procs:
        stack.kill("worker")
    out = stack.cli("start", "--notified-at", NOTIFIED, "--deliberate")  # ahead of time, on purpose
    status, dead_run, _ = stack.phase(INSPECTION, "notification")
    assert status == "launched" and dead_run in out
    shown = stack.cli("status", "--inspection", INSPECTION)
    assert "launched start requested by" in " ".join(shown.split())
    ui_run = stack.start_run("notification", notified_at="2030-07-08T09:00", deliberate=True)  # as the UI makes it

    # The worker takes both runs and is killed with their flow-run processes before either has opened anything.
    stack.spawn("worker", [sys.executable, "-m", "send_inspection.cli", "worker"])
    stack.wait_for(lambda: all(stack.flow_run(run)["state"]["type"] in ("PENDING", "RUNNING")
                               for run in (dead_run, ui_run)), seconds=120,
                   what="the worker to take both notification runs", every=0.05)
    stack.kill("worker")
    for run in (dead_run, ui_run):
        state = stack.flow_run(run)["state"]
        assert state["type"] == "PENDING", f"the run got further than intended: {state['type']}"
    assert stack.phase(INSPECTION, "notification")[0] == "launched" and stack.keys_of(INSPECTION) == {}
    assert stack.phase(FROM_PREFECT, "notification")[0] == "absent"  # nothing of ours knows of the UI's run
    killed_at = time.monotonic()

    stack.start_worker()
    stack.tick()  # not yet: a Pending run may be a busy machine starting its process
    assert stack.phase(INSPECTION, "notification")[1] == dead_run
    assert stack.phase(FROM_PREFECT, "notification")[0] == "absent"
    time.sleep(max(0.0, killed_at + PENDING_GRACE_SECONDS + 2 - time.monotonic()))
    assert stack.tick()["state"]["type"] == "COMPLETED"  # this tick, or a scheduled one just before it
    for iid, run in ((INSPECTION, dead_run), (FROM_PREFECT, ui_run)):
        crashed = stack.flow_run(run)["state"]
        assert crashed["type"] == "CRASHED"
        # Pending as the worker took it, or Submitting if the kill came after the worker named the state so.
        assert re.match(r"Dead run: its run has been (Submitting|Pending) with no sign of life since",
                        crashed["message"])
        fresh_run = stack.phase(iid, "notification")[1]
        assert stack.flow_run(fresh_run)["idempotency_key"] == f"{iid}:notification:after:{run}"

    for iid in (INSPECTION, FROM_PREFECT):
        expected = {f"{iid}:notification:list:{name}" for name in LISTS} | {f"{iid}:notification:core-group-meeting"}
        expected |= {f"{iid}:day2:{ref}:submit:r1:ask" for ref in DAY2_ITEMS}
        stack.wait_for(lambda iid=iid, expected=expected: expected <= set(stack.keys_of(iid))
                       and stack.phase(iid, "notification")[0] == "waiting" and stack.phase(iid, "day2")[0]
                       == "waiting", seconds=180, what=f"{iid} opened by the fresh run and its phases waiting")
        stack.assert_sent_once(iid, expected)
        # Our row says waiting just before the run suspends itself on the server.
        stack.wait_for(lambda iid=iid: stack.flow_run(stack.phase(iid, "notification")[1])["state"]["state_details"]
                       .get("pause_key") == "survey-links", seconds=60, what=f"{iid}'s day 1 suspended")


def test_a_tick_that_finds_nothing_to_do_leaves_no_run_behind(stack: LiveStack) -> None:
    """With every phase waiting, each idle tick deletes the idle one before it: the newest stays (the ticker is
    alive), and the tick that took the dead run over stays with its logs."""
    took_over = [log["flow_run_id"] for log in stack.api("POST", "/logs/filter", json={"logs": {"level": {"ge_": 40}}})
                 if log["message"].startswith(f"started {INSPECTION} notification afresh")]
    assert len(took_over) == 1, "runs after the take-over test"
    # The phases the fresh runs started (day 5, the bulletin, ...) may still be on their way: a tick launching one
    # acts. Once a tick finds nothing to do, every phase waits.
    stack.wait_for(lambda: "idle" in stack.tick()["tags"], seconds=300, what="a tick with nothing to do", every=1)
    first, second = stack.tick(), stack.tick()
    assert (first["state"]["type"], second["state"]["type"]) == ("COMPLETED", "COMPLETED")
    assert "idle" in second["tags"]
    body = {"flows": {"name": {"any_": ["ticker"]}}}
    ticks = {run["id"]: run for run in stack.api("POST", "/flow_runs/filter", json=body)}
    assert first["id"] not in ticks and took_over[0] in ticks and "idle" not in ticks[took_over[0]]["tags"]
    # At most one idle tick is left (this test's second, or a scheduled tick that ran after it and swept it).
    assert len([t for t in ticks.values() if "idle" in t["tags"] and t["state"]["type"] == "COMPLETED"]) == 1
