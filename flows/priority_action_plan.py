"""Outcome 3: the priority action plan, one item per area the inspectors named, drafted, signed off, submitted."""

from __future__ import annotations

from prefect import flow

from flows.naming import phase_run_name
from flows.register_phase import run_phase_loop
from tasks.report_tasks import publish_action_plan_task, reconcile_action_plan_task


@flow(name="priority-action-plan", flow_run_name=phase_run_name("priority action plan"), log_prints=True,
      retries=2, retry_delay_seconds=60)
def priority_action_plan(inspection_id: str) -> str:
    """Work each area's priority action plan until every one is submitted to the inspectorate.

    Args:
        inspection_id: The inspection (started when its final report, outcome 3, is published).
    """
    return run_phase_loop(inspection_id, "action-plan", reconcile=lambda: reconcile_action_plan_task(inspection_id),
                          publish=publish_action_plan_task)
