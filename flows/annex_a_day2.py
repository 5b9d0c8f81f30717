"""Phase 2, Annex A day 2: chase every day-2 item through lead → accountable lead → director → LANO upload."""

from __future__ import annotations

from prefect import flow

from flows.naming import phase_run_name
from send_inspection.runtime import current_runtime
from tasks.inspection_tasks import finish_phase_task
from tasks.register_tasks import publish_register_task, reconcile_register_task

PHASE = "day2"


@flow(name="annex-a-day-2", flow_run_name=phase_run_name("Annex A day 2"), log_prints=True,
      retries=2, retry_delay_seconds=60)  # a pass is safe to repeat from the top
def annex_a_day2(inspection_id: str) -> str:
    """Reconcile the day-2 register until every item is uploaded or explained, waiting without a process.

    Args:
        inspection_id: The inspection, e.g. demo-county-2023-06-26 (the notification phase starts this run).
    """
    rt = current_runtime()
    while True:
        result = reconcile_register_task(inspection_id, PHASE)
        publish_register_task(result)
        if result.done:
            finish_phase_task(inspection_id, PHASE, result.reason)
            return result.reason
        if not rt.waiter.wait(inspection_id, PHASE, reason=result.reason, next_wake_at=result.next_wake_at):
            return result.reason
