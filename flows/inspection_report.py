"""After fieldwork: the draft report, the partnership's response within 10 working days, the final report."""

from __future__ import annotations

from prefect import flow

from flows.naming import phase_run_name
from flows.register_phase import run_phase_loop
from tasks.report_tasks import publish_report_task, reconcile_report_task


@flow(name="inspection-report", flow_run_name=phase_run_name("after fieldwork"), log_prints=True, retries=2,
      retry_delay_seconds=60)
def inspection_report(inspection_id: str) -> str:
    """Work the draft report, the response and the final report's publication, waiting between stages.

    Args:
        inspection_id: The inspection (started when fieldwork ends or the feedback is recorded).
    """
    return run_phase_loop(inspection_id, "report", reconcile=lambda: reconcile_report_task(inspection_id),
                          publish=publish_report_task)
