"""Phase 2, Annex A day 2: chase every day-2 item through lead → accountable lead → director → LANO upload."""

from __future__ import annotations

from prefect import flow

from flows.naming import phase_run_name
from flows.register_phase import run_register_phase


@flow(name="annex-a-day-2", flow_run_name=phase_run_name("Annex A day 2"), log_prints=True,
      retries=2, retry_delay_seconds=60)  # a pass is safe to repeat from the top
def annex_a_day2(inspection_id: str) -> str:
    """Reconcile the day-2 register until every item is uploaded or explained, waiting without a process.

    Args:
        inspection_id: The inspection, e.g. demo-county-2023-06-26 (the notification phase starts this run).
    """
    return run_register_phase(inspection_id, "day2")
