"""An additional evidence request from the inspectors, worked the same day: confirm, submit, sign off, send."""

from __future__ import annotations

from prefect import flow

from flows.naming import phase_run_name
from flows.register_phase import run_phase_loop
from tasks.request_tasks import publish_requests_task, reconcile_request_task


@flow(name="additional-evidence-request",
      flow_run_name=phase_run_name("additional evidence request", param="number"), log_prints=True, retries=2,
      retry_delay_seconds=60)
def additional_request(inspection_id: str, number: int) -> str:
    """Work one request until the LANO has sent the evidence (or the explanation) to the inspector.

    Args:
        inspection_id: The inspection, e.g. demo-county-2026-11-23.
        number: The request's number in the inspection (recorded with `send-inspection request add`).
    """
    return run_phase_loop(inspection_id, f"request:{number}",
                          reconcile=lambda: reconcile_request_task(inspection_id, number),
                          publish=publish_requests_task)
