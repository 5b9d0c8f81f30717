"""Phase 2, Annex A day 2: chase every day-2 item through lead → accountable lead → director → LANO upload."""

from __future__ import annotations

from flows.phase_flow import phase_flow
from flows.phase_loop import run_phase_loop
from send_inspection.catalogue.phases import ANNEX_A_DAY2
from tasks.annex_a_tasks import publish_annex_a, reconcile_annex_a_task


@phase_flow(ANNEX_A_DAY2)
def annex_a_day2(inspection_id: str) -> str:
    """Reconcile the day-2 register until every item is uploaded or explained, waiting without a process.

    Args:
        inspection_id: The inspection, e.g. demo-county-2023-06-26 (the notification phase starts this run).
    """
    return run_phase_loop(inspection_id, ANNEX_A_DAY2.key,
                          reconcile=lambda: reconcile_annex_a_task(inspection_id, ANNEX_A_DAY2.key),
                          publish=publish_annex_a)
