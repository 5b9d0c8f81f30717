"""Phase 3, Annex A day 5: the rest of the register, signed off by 12:00 and uploaded by 17:00 on day 5."""

from __future__ import annotations

from flows.phase_flow import phase_flow
from flows.phase_loop import run_phase_loop
from send_inspection.catalogue.phases import ANNEX_A_DAY5
from tasks.annex_a_tasks import publish_annex_a, reconcile_annex_a_task


@phase_flow(ANNEX_A_DAY5)
def annex_a_day5(inspection_id: str) -> str:
    """Reconcile the day-5 register until every item is uploaded or explained, waiting without a process.

    Args:
        inspection_id: The inspection (started when day 2 is done, or at the day-2 deadline at the latest).
    """
    return run_phase_loop(inspection_id, ANNEX_A_DAY5.key,
                          reconcile=lambda: reconcile_annex_a_task(inspection_id, ANNEX_A_DAY5.key),
                          publish=publish_annex_a)
