"""Outcome 3: the priority action plan, one item per area the inspectors named, drafted, signed off, submitted."""

from __future__ import annotations

from flows.phase_flow import phase_flow
from flows.phase_loop import run_phase_loop
from send_inspection.catalogue.phases import PRIORITY_ACTION_PLAN
from tasks.report_tasks import publish_action_plan, reconcile_action_plan_task


@phase_flow(PRIORITY_ACTION_PLAN)
def priority_action_plan(inspection_id: str) -> str:
    """Work each area's priority action plan until every one is submitted to the inspectorate.

    Args:
        inspection_id: The inspection (started when its final report, outcome 3, is published).
    """
    return run_phase_loop(inspection_id, PRIORITY_ACTION_PLAN.key,
                          reconcile=lambda: reconcile_action_plan_task(inspection_id), publish=publish_action_plan)
