"""The loop every waiting phase runs: reconcile, publish, then finish or wait without a process."""

from __future__ import annotations

from collections.abc import Callable

from send_inspection.engine.register_phase import PassResult
from send_inspection.runtime import current_runtime
from tasks.inspection_tasks import finish_phase_task, start_phase_task
from tasks.register_tasks import publish_register_task, reconcile_register_task

# The phase each Annex A phase starts when it is done (if not started already).
NEXT_PHASE = {"day2": "day5", "fieldwork": "report"}


def run_phase_loop(
    inspection_id: str,
    phase: str,
    *,
    reconcile: Callable[[], PassResult],
    publish: Callable[[PassResult], None],
) -> str:
    """Reconcile the phase until it is done, publishing each pass and waiting between passes."""
    rt = current_runtime()
    while True:
        result = reconcile()
        publish(result)
        if result.done:
            finish_phase_task(inspection_id, phase, result.reason)
            if phase in NEXT_PHASE:
                start_phase_task(inspection_id, NEXT_PHASE[phase])
            return result.reason
        if not rt.waiter.wait(inspection_id, phase, reason=result.reason, next_wake_at=result.next_wake_at):
            return result.reason


def run_register_phase(inspection_id: str, phase: str) -> str:
    """Reconcile the phase's register until every item is uploaded or explained, waiting between passes."""
    return run_phase_loop(inspection_id, phase, reconcile=lambda: reconcile_register_task(inspection_id, phase),
                          publish=publish_register_task)
