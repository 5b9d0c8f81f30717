"""The internal keeping-in-touch (KIT) meetings, weeks 1 to 3: the day-1 agreement, invitations, actions, summaries."""

from __future__ import annotations

from flows.phase_flow import phase_flow
from flows.phase_loop import run_phase_loop
from send_inspection.catalogue.phases import KEEPING_IN_TOUCH
from tasks.kit_tasks import publish_kit, reconcile_kit_task


@phase_flow(KEEPING_IN_TOUCH)
def keeping_in_touch(inspection_id: str) -> str:
    """Run the KIT meetings the core group agrees on day 1 until the feedback meeting and their last action is done.

    Args:
        inspection_id: The inspection, e.g. demo-county-2026-11-23 (started by its notification phase).
    """
    return run_phase_loop(inspection_id, KEEPING_IN_TOUCH.key, reconcile=lambda: reconcile_kit_task(inspection_id),
                          publish=publish_kit)
