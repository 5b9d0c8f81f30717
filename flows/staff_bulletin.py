"""The staff bulletin: tell all partnership staff how the inspection is going, from notification to feedback."""

from __future__ import annotations

from prefect import flow

from flows.naming import phase_run_name
from flows.register_phase import run_phase_loop
from tasks.bulletin_tasks import publish_bulletin_task, reconcile_bulletin_task


@flow(name="staff-bulletin", flow_run_name=phase_run_name("staff bulletin"), log_prints=True, retries=2,
      retry_delay_seconds=60)
def staff_bulletin(inspection_id: str) -> str:
    """Send the staff bulletin on the coordinator's days until the feedback meeting, waiting in between.

    Args:
        inspection_id: The inspection (started on notification day).
    """
    return run_phase_loop(inspection_id, "bulletin", reconcile=lambda: reconcile_bulletin_task(inspection_id),
                          publish=publish_bulletin_task)
