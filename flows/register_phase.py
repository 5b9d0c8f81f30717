"""The body shared by the Annex A phase flows: reconcile, publish, then finish or wait without a process."""

from __future__ import annotations

from send_inspection.runtime import current_runtime
from tasks.inspection_tasks import finish_phase_task, start_phase_task
from tasks.register_tasks import publish_register_task, reconcile_register_task

# The phase each Annex A phase starts when it is done (if not started already).
NEXT_PHASE = {"day2": "day5"}


def run_register_phase(inspection_id: str, phase: str) -> str:
    """Reconcile the phase's register until every item is uploaded or explained, waiting between passes."""
    rt = current_runtime()
    while True:
        result = reconcile_register_task(inspection_id, phase)
        publish_register_task(result)
        if result.done:
            finish_phase_task(inspection_id, phase, result.reason)
            if phase in NEXT_PHASE:
                start_phase_task(inspection_id, NEXT_PHASE[phase])
            return result.reason
        if not rt.waiter.wait(inspection_id, phase, reason=result.reason, next_wake_at=result.next_wake_at):
            return result.reason
