"""Before the inspectors arrive: the logistics, the opening meeting and the forum's views, each owned and due."""

from __future__ import annotations

from flows.phase_flow import phase_flow
from flows.phase_loop import run_phase_loop
from send_inspection.catalogue.phases import ONSITE
from tasks.onsite_tasks import publish_onsite, reconcile_onsite_task


@phase_flow(ONSITE)
def onsite_preparation(inspection_id: str) -> str:
    """Work the tasks of onsite.yaml until every one is done, waiting between passes.

    Args:
        inspection_id: The inspection (started on notification day).
    """
    return run_phase_loop(inspection_id, ONSITE.key, reconcile=lambda: reconcile_onsite_task(inspection_id),
                          publish=publish_onsite)
