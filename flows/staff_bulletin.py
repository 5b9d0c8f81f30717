"""The staff bulletin: tell all partnership staff how the inspection is going, from notification to feedback."""

from __future__ import annotations

from flows.phase_flow import phase_flow
from flows.phase_loop import run_phase_loop
from send_inspection.catalogue.phases import STAFF_BULLETIN
from tasks.bulletin_tasks import publish_bulletin, reconcile_bulletin_task


@phase_flow(STAFF_BULLETIN)
def staff_bulletin(inspection_id: str) -> str:
    """Send the staff bulletin on the coordinator's days until the feedback meeting, waiting in between.

    Args:
        inspection_id: The inspection (started on notification day).
    """
    return run_phase_loop(inspection_id, STAFF_BULLETIN.key, reconcile=lambda: reconcile_bulletin_task(inspection_id),
                          publish=publish_bulletin)
