"""Tasks that reconcile a tracked child's work and show its progress to operators (by case id only)."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from send_inspection.engine.register_phase import STEP_LABELS, PassResult
from send_inspection.engine.tracked_case import case_overview, child_of, reconcile_case
from send_inspection.runtime import current_runtime
from tasks.artifacts import publish_markdown, publish_table
from tasks.retry_policy import MAIL_RETRY_DELAYS, retry_if_transient


def artifact_key(*parts: str) -> str:
    """Return a Prefect artifact key (lower-case letters, digits and dashes) made of `parts`."""
    text = "-".join(parts).lower()
    return "".join(c if c.isalnum() else "-" for c in text)


@task(name="reconcile-tracked-case", cache_policy=NO_CACHE, persist_result=False,
      retries=len(MAIL_RETRY_DELAYS), retry_delay_seconds=MAIL_RETRY_DELAYS, retry_condition_fn=retry_if_transient)
def reconcile_case_task(inspection_id: str, child_id: str) -> PassResult:
    """Open the steps the case has reached and send every ask, reminder and escalation now due."""
    return reconcile_case(current_runtime().context, inspection_id, child_id)


@task(name="publish-tracked-case", cache_policy=NO_CACHE, persist_result=False)
def publish_case_task(result: PassResult) -> None:
    """Show the case's steps and the overview of every tracked case as artifacts."""
    child_id = child_of(result.phase) or ""
    rows = [
        {
            "step": s.title.split(": ", 1)[-1],
            "waiting for": "—" if s.outcome else STEP_LABELS.get(s.step, s.step),
            "owner": s.owner or "—",
            "due": s.due_at,
            "round": s.round,
            "state": s.outcome or ("LATE" if s.late else "open"),
        }
        for s in result.items
    ]
    publish_table(key=artifact_key(result.inspection_id, "case", child_id), table=rows,
                  description=f"Tracked case {child_id}: {result.reason}")
    overview = case_overview(current_runtime().context, result.inspection_id)
    publish_table(key=artifact_key(result.inspection_id, "tracked-cases"), table=overview,
                  description="Every tracked case (case ids only): state and steps done")
    publish_markdown(key=artifact_key(result.inspection_id, "case", child_id, "status"),
                     markdown=f"**{result.reason}**", description="What this tracked case is waiting for")
