"""Tasks that reconcile a tracked child's work and show its progress to operators (by case id only)."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from send_inspection.catalogue.phases import TRACKED_CASE, artifact_key, phase_artifact_key
from send_inspection.catalogue.steps import step_label
from send_inspection.engine.passes import PassResult
from send_inspection.engine.tracked_case import case_overview, reconcile_case
from send_inspection.live.wiring import current_runtime
from tasks.artifacts import publish_markdown, publish_table


@task(name="reconcile-tracked-case", cache_policy=NO_CACHE, persist_result=False)
def reconcile_case_task(inspection_id: str, child_id: str) -> PassResult:
    """Open the steps the case has reached and send every ask, reminder and escalation now due."""
    return reconcile_case(current_runtime().context, inspection_id, child_id)


def publish_case(result: PassResult) -> None:
    """Show the case's steps and the overview of every tracked case as artifacts."""
    child_id = TRACKED_CASE.value_of(result.phase)
    rows = [
        {
            "step": s.title.split(": ", 1)[-1],
            "waiting for": "—" if s.outcome else step_label(s.step),
            "owner": s.owner_name or "—",
            "due": s.due_at,
            "round": s.round,
            "state": s.outcome or ("LATE" if s.late else "open"),
        }
        for s in result.items
    ]
    publish_table(key=phase_artifact_key(result.inspection_id, result.phase), table=rows,
                  description=f"Tracked case {child_id}: {result.reason}")
    overview = case_overview(current_runtime().context, result.inspection_id)
    publish_table(key=artifact_key(result.inspection_id, "tracked-cases"), table=overview,
                  description="Every tracked case (case ids only): state and steps done")
    publish_markdown(key=phase_artifact_key(result.inspection_id, result.phase, "status"),
                     markdown=f"**{result.reason}**", description="What this tracked case is waiting for")
