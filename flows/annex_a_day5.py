"""Phase 3, Annex A day 5: the rest of the register, signed off by 12:00 and uploaded by 17:00 on day 5."""

from __future__ import annotations

from prefect import flow

from flows.naming import phase_run_name
from flows.register_phase import run_register_phase


@flow(name="annex-a-day-5", flow_run_name=phase_run_name("Annex A day 5"), log_prints=True,
      retries=2, retry_delay_seconds=60)  # a pass is safe to repeat from the top
def annex_a_day5(inspection_id: str) -> str:
    """Reconcile the day-5 register until every item is uploaded or explained, waiting without a process.

    Args:
        inspection_id: The inspection (started when day 2 is done, or at the day-2 deadline at the latest).
    """
    return run_register_phase(inspection_id, "day5")
