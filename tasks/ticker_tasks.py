"""Tasks of the ticker: start afresh the phases whose run died, wake those due, launch those not yet started."""

from __future__ import annotations

from datetime import timedelta

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from send_inspection.catalogue.phases import phase_catalogue
from send_inspection.engine.phase_rows import due_phases
from send_inspection.live.wiring import current_runtime
from send_inspection.settings import load_settings


@task(name="recover-dead-phases", cache_policy=NO_CACHE, persist_result=False)
def recover_dead_phases_task() -> int:
    """Mark each phase run that died Crashed and start a fresh run in its place; return how many."""
    from send_inspection.live.recovery import ZombieRecovery

    rt = current_runtime()
    recovered = ZombieRecovery(rt.context, lease=timedelta(seconds=load_settings().phase_lease)).recover()
    for phase in recovered:
        get_run_logger().error("started %s afresh: its run had died (see that run's Crashed message)", phase)
    return len(recovered)


@task(name="wake-due-phases", cache_policy=NO_CACHE, persist_result=False)
def wake_due_phases_task() -> int:
    """Resume each waiting phase that is due and launch each pending one; return how many were touched."""
    from send_inspection.live.waker import PrefectWaker

    rt = current_runtime()
    waker = PrefectWaker(rt.context)
    now = rt.context.clock.now()
    logger = get_run_logger()
    touched = 0
    for run in due_phases(rt.context, now=now, mode="live"):
        if run.status == "pending" and run.flow_run_id is None:
            if phase_catalogue().spec(run.phase).starts.by_coordinator:
                continue  # the coordinator's own run carries it
            rt.launcher.start(run.inspection_id, run.phase)
        else:
            waker.wake(run.inspection_id, run.phase, reason="ticker: a reminder or deadline is due", due_at=now)
        logger.info("woke %s %s", run.inspection_id, run.phase)
        touched += 1
    return touched
