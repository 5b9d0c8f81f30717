"""Tasks that reconcile an additional evidence request and show every request's timings to operators."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from send_inspection.catalogue.phases import artifact_key, phase_artifact_key
from send_inspection.engine.additional_requests import reconcile_request, requests_overview
from send_inspection.engine.passes import PassResult
from send_inspection.live.wiring import current_runtime
from tasks.artifacts import publish_markdown, publish_table


@task(name="reconcile-request", cache_policy=NO_CACHE, persist_result=False)
def reconcile_request_task(inspection_id: str, number: int) -> PassResult:
    """Send the notice and every ask, reminder and escalation now due for the request."""
    return reconcile_request(current_runtime().context, inspection_id, number)


def publish_requests(result: PassResult) -> None:
    """Show every request's timings as a table and this request's waiting reason (no request text)."""
    rows = requests_overview(current_runtime().context, result.inspection_id)
    publish_table(key=artifact_key(result.inspection_id, "additional-requests"), table=rows,
                  description="Additional evidence requests: received, due, step, state, time taken")
    publish_markdown(key=phase_artifact_key(result.inspection_id, result.phase, "status"),
                     markdown=f"**{result.reason}**", description="What this request is waiting for")
