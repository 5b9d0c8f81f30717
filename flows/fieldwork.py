"""Fieldwork, weeks 2 and 3: debriefs after each meeting, red ones at once, requested documents, daily KIT."""

from __future__ import annotations

from flows.phase_flow import phase_flow
from flows.phase_loop import run_phase_loop
from send_inspection.catalogue.phases import FIELDWORK
from tasks.fieldwork_tasks import publish_fieldwork, reconcile_fieldwork_task


@phase_flow(FIELDWORK)
def fieldwork(inspection_id: str) -> str:
    """Work the fieldwork timetable until the feedback meeting: debriefs, red alerts, requests, KIT summaries.

    Args:
        inspection_id: The inspection (started when its timetable is first imported).
    """
    return run_phase_loop(inspection_id, FIELDWORK.key, reconcile=lambda: reconcile_fieldwork_task(inspection_id),
                          publish=publish_fieldwork)
