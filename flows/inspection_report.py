"""After fieldwork: the draft report, the partnership's response within 10 working days, the final report."""

from __future__ import annotations

from flows.phase_flow import phase_flow
from flows.phase_loop import run_phase_loop
from send_inspection.catalogue.phases import AFTER_FIELDWORK
from tasks.report_tasks import publish_report, reconcile_report_task


@phase_flow(AFTER_FIELDWORK)
def inspection_report(inspection_id: str) -> str:
    """Work the draft report, the response and the final report's publication, waiting between stages.

    Args:
        inspection_id: The inspection (started when fieldwork ends or the feedback is recorded).
    """
    return run_phase_loop(inspection_id, AFTER_FIELDWORK.key, reconcile=lambda: reconcile_report_task(inspection_id),
                          publish=publish_report)
