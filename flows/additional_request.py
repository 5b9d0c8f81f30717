"""An additional evidence request from the inspectors, worked the same day: confirm, submit, sign off, send."""

from __future__ import annotations

from flows.phase_flow import phase_flow
from flows.phase_loop import run_phase_loop
from send_inspection.catalogue.phases import ADDITIONAL_REQUEST
from tasks.request_tasks import publish_requests, reconcile_request_task


@phase_flow(ADDITIONAL_REQUEST)
def additional_request(inspection_id: str, number: int) -> str:
    """Work one request until the LANO has sent the evidence (or the explanation) to the inspector.

    Args:
        inspection_id: The inspection, e.g. demo-county-2026-11-23.
        number: The request's number in the inspection (recorded with `send-inspection request add`).
    """
    return run_phase_loop(inspection_id, ADDITIONAL_REQUEST.phase(number),
                          reconcile=lambda: reconcile_request_task(inspection_id, number),
                          publish=publish_requests)
