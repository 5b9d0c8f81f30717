"""Tasks that open an inspection and start, wait on and finish its phases."""

from __future__ import annotations

from datetime import datetime

from prefect import get_client, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from send_inspection.engine.inspection import inspection_exists, inspection_id_for, milestone_at, open_inspection
from send_inspection.engine.phase_rows import ensure_phase, finish_phase, get_phase, record_flow_run
from send_inspection.engine.start_time import check_start_time
from send_inspection.live.wiring import current_runtime


@task(name="check-start-time", cache_policy=NO_CACHE, persist_result=False)
def check_start_time_task(notified_at: datetime, inspection_id: str | None, deliberate: bool) -> str | None:
    """Refuse a new inspection's call time over a day ago or ahead unless deliberate; return why, or None.

    A deliberate start logs so before anything else. A refusal turns off this run's retries: they would be refused.
    """
    ctx = current_runtime().context
    verdict = check_start_time(notified_at, clock=ctx.clock, deliberate=deliberate)
    logger = get_run_logger()
    if verdict.note:
        logger.warning(verdict.note)
    if inspection_exists(ctx, inspection_id or inspection_id_for(ctx.config, notified_at)):
        return None  # opened by the console or the CLI after the same check, or a resumed or retried run
    if verdict.refused:
        logger.error(verdict.refused)
        _no_more_tries()
    return verdict.refused


def _no_more_tries() -> None:
    """Set this flow run's retries to none, so that the failure it is about to give is final."""
    if flow_run.id is None:
        return
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(flow_run.id)
        client.update_flow_run(run.id, empirical_policy=run.empirical_policy.model_copy(update={"retries": 0}))


@task(name="open-inspection", cache_policy=NO_CACHE, persist_result=False)
def open_inspection_task(notified_at: datetime, inspection_id: str | None = None, kind: str = "full") -> str:
    """Create the inspection (milestones, people, register) unless it exists; return its id."""
    rt = current_runtime()
    return open_inspection(rt.context, notified_at, mode=rt.mode, inspection_id=inspection_id, kind=kind)


@task(name="start-phase", cache_policy=NO_CACHE, persist_result=False, retries=3, retry_delay_seconds=5)
def start_phase_task(inspection_id: str, phase: str, not_before_milestone: str | None = None) -> None:
    """Start a phase of the inspection once: now, or leave it for the ticker until a milestone comes."""
    rt = current_runtime()
    not_before = milestone_at(rt.context, inspection_id, not_before_milestone) if not_before_milestone else None
    ensure_phase(rt.context, inspection_id, phase, not_before=not_before)
    if not_before is not None and not_before > rt.context.clock.now():
        return  # the ticker launches it when its time comes, unless another phase starts it first
    run = get_phase(rt.context, inspection_id, phase)
    if run is not None and run.flow_run_id is None and run.status == "pending":
        rt.launcher.start(inspection_id, phase)


@task(name="claim-phase", cache_policy=NO_CACHE, persist_result=False)
def claim_phase_task(inspection_id: str, phase: str) -> None:
    """Record the phase as carried by the current flow run (the coordinator's own run, for notification)."""
    ctx = current_runtime().context
    ensure_phase(ctx, inspection_id, phase)
    record_flow_run(ctx, inspection_id, phase, str(flow_run.id or "inline"))


@task(name="finish-phase", cache_policy=NO_CACHE, persist_result=False)
def finish_phase_task(inspection_id: str, phase: str, reason: str) -> None:
    """Mark a phase done."""
    finish_phase(current_runtime().context, inspection_id, phase, reason=reason)
