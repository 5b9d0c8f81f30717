"""Task that wakes every phase whose reminder or deadline has come, and launches any not yet started."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from send_inspection.engine.phases import due_phases
from send_inspection.runtime import current_runtime


@task(name="wake-due-phases", cache_policy=NO_CACHE, persist_result=False)
def wake_due_phases_task() -> int:
    """Resume each waiting phase that is due and launch each pending one; return how many were touched."""
    rt = current_runtime()
    now = rt.context.clock.now()
    logger = get_run_logger()
    touched = 0
    for run in due_phases(rt.context, now=now, mode="live"):
        if run.status == "pending" and run.flow_run_id is None:
            if run.phase == "notification":
                continue  # the coordinator's own run carries it
            rt.launcher.start(run.inspection_id, run.phase)
        else:
            rt.waker.wake(run.inspection_id, run.phase, reason="ticker: a reminder or deadline is due")
        logger.info("woke %s %s", run.inspection_id, run.phase)
        touched += 1
    return touched
