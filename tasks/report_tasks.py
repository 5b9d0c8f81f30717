"""Tasks that reconcile the weeks after fieldwork and show each item's state to operators (no report text)."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from send_inspection.catalogue.phases import phase_artifact_key
from send_inspection.catalogue.steps import step_label
from send_inspection.engine.action_plan import reconcile_action_plan
from send_inspection.engine.passes import PassResult
from send_inspection.engine.report_phase import reconcile_report
from send_inspection.live.wiring import current_runtime
from tasks.artifacts import publish_table


@task(name="reconcile-report", cache_policy=NO_CACHE, persist_result=False)
def reconcile_report_task(inspection_id: str) -> PassResult:
    """Open the stages reached after fieldwork and send every ask, reminder and escalation now due."""
    return reconcile_report(current_runtime().context, inspection_id)


def _rows(result: PassResult) -> list[dict[str, object]]:
    return [{"item": s.ref, "waiting for": "—" if s.outcome else step_label(s.step),
             "owner": s.owner_name or "—", "due": s.due_at, "state": s.outcome or ("LATE" if s.late else "open")}
            for s in result.items]


def publish_report(result: PassResult) -> None:
    """Show the items after fieldwork (reference, step, owner, due, state) as a table artifact."""
    publish_table(key=phase_artifact_key(result.inspection_id, result.phase), table=_rows(result),
                  description=f"After fieldwork: {result.reason}")


@task(name="reconcile-action-plan", cache_policy=NO_CACHE, persist_result=False)
def reconcile_action_plan_task(inspection_id: str) -> PassResult:
    """Open each area's priority action plan and send every ask, reminder and escalation now due."""
    return reconcile_action_plan(current_runtime().context, inspection_id)


def publish_action_plan(result: PassResult) -> None:
    """Show each area's priority action plan (reference, step, owner, due, state) as a table artifact."""
    publish_table(key=phase_artifact_key(result.inspection_id, result.phase), table=_rows(result),
                  description=f"Priority action plan: {result.reason}")
