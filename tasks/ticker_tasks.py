"""Tasks of the ticker: start afresh the phases whose run died, wake those due, launch those not yet started."""

from __future__ import annotations

from datetime import timedelta

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from send_inspection.engine.phase_rows import due_phases, needs_run
from send_inspection.live.wiring import current_runtime
from send_inspection.settings import load_settings


@task(name="may-tick", cache_policy=NO_CACHE, persist_result=False)
def may_tick_task() -> bool:
    """Say whether this tick goes on: not while an earlier tick still runs, nor when it is itself stale."""
    from prefect.runtime import flow_run

    from send_inspection.live.ticks import stand_down_reason

    if flow_run.id is None:
        return True
    why = stand_down_reason(str(flow_run.id), lease=timedelta(seconds=load_settings().phase_lease),
                            now=current_runtime().context.clock.now())
    if why:
        get_run_logger().info("this tick does nothing: %s", why)
    return why is None


@task(name="recover-dead-phases", cache_policy=NO_CACHE, persist_result=False)
def recover_dead_phases_task() -> int:
    """Mark each phase run that died Crashed and start a fresh run in its place (a notification run started in Prefect
    that died before it opened its inspection too); return how many."""
    from send_inspection.live.recovery import ZombieRecovery
    from send_inspection.live.unopened_starts import adopt_unopened_starts

    rt, settings = current_runtime(), load_settings()
    lease, pending_grace = timedelta(seconds=settings.phase_lease), timedelta(seconds=settings.pending_grace)
    try:  # a start made in Prefect that never opened its inspection: recorded here, taken over below
        adopt_unopened_starts(rt.context, lease=lease, pending_grace=pending_grace)
    except Exception:  # noqa: BLE001 - shown, and never in the way of the dead phases' recovery and the wakes
        get_run_logger().exception("could not look for notification runs made in Prefect that never opened")
    recovered = ZombieRecovery(rt.context, lease=lease, pending_grace=pending_grace).recover()
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
        if run.flow_run_id is None:
            if not needs_run(run):
                continue  # the coordinator's own run, started from Prefect, is opening it
            rt.launcher.start(run.inspection_id, run.phase)
        else:
            waker.wake(run.inspection_id, run.phase, reason="ticker: a reminder or deadline is due", due_at=now)
        logger.info("woke %s %s", run.inspection_id, run.phase)
        touched += 1
    return touched


@task(name="sweep-idle-ticks", cache_policy=NO_CACHE, persist_result=False)
def sweep_idle_ticks_task() -> int:
    """Mark this tick idle and delete the earlier idle ticks, so the Runs list shows the phases first."""
    from prefect.runtime import flow_run

    from send_inspection.live.ticks import sweep_idle_ticks

    return sweep_idle_ticks(str(flow_run.id)) if flow_run.id else 0
