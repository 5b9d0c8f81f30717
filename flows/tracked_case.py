"""A tracked child's work, days 2 to 5: practitioners, the family's agreement, documents and meetings."""

from __future__ import annotations

from flows.phase_flow import phase_flow
from flows.phase_loop import run_phase_loop
from send_inspection.catalogue.phases import TRACKED_CASE
from tasks.tracked_case_tasks import publish_case, reconcile_case_task


@phase_flow(TRACKED_CASE)
def tracked_case(inspection_id: str, child_id: str) -> str:
    """Work one tracked child's steps until every document is reviewed and every meeting requested.

    Args:
        inspection_id: The inspection, e.g. demo-county-2026-11-23.
        child_id: The council's case id of the child (never a name); started by the case selection.
    """
    return run_phase_loop(
        inspection_id, TRACKED_CASE.phase(child_id),
        reconcile=lambda: reconcile_case_task(inspection_id, child_id), publish=publish_case,
    )
