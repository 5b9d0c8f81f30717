"""Day 2, 17:00: the coordinator enters the case ids of the children the inspectors chose to track."""

from __future__ import annotations

from prefect import flow

from flows.naming import phase_run_name
from send_inspection.cases.selection import CaseId
from tasks.case_tasks import record_selection_task, start_tracked_cases_task


@flow(name="case-selection", flow_run_name=phase_run_name("case selection"), log_prints=True)
def case_selection(inspection_id: str, case_ids: list[CaseId], selected_by: str = "inspection-coordinator") -> str:
    """Record the children the inspectors chose (by case id), report their coverage and start their tracked cases.

    Args:
        inspection_id: The inspection, e.g. demo-county-2026-11-23.
        case_ids: The council's case ids of the children named by the inspectors (ids only, never names: the form
            takes letters and digits with at least one digit, no spaces).
        selected_by: Who entered the selection.
    """
    report = record_selection_task(inspection_id, case_ids, selected_by)
    start_tracked_cases_task(inspection_id)
    return report
