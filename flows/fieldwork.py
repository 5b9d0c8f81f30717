"""Fieldwork, weeks 2 and 3: debriefs after each meeting, red ones at once, requested documents, daily KIT."""

from __future__ import annotations

from prefect import flow

from flows.naming import phase_run_name
from flows.register_phase import run_phase_loop
from tasks.fieldwork_tasks import publish_fieldwork_task, reconcile_fieldwork_task


@flow(name="fieldwork", flow_run_name=phase_run_name("fieldwork"), log_prints=True, retries=2,
      retry_delay_seconds=60)
def fieldwork(inspection_id: str) -> str:
    """Work the fieldwork timetable until the feedback meeting: debriefs, red alerts, requests, KIT summaries.

    Args:
        inspection_id: The inspection (started when its timetable is first imported).
    """
    return run_phase_loop(inspection_id, "fieldwork", reconcile=lambda: reconcile_fieldwork_task(inspection_id),
                          publish=publish_fieldwork_task)
