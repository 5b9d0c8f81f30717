"""Tasks that send the staff bulletins now due and show each one sent to operators."""

from __future__ import annotations

from datetime import date

from prefect import task
from prefect.cache_policies import NO_CACHE

from send_inspection.catalogue.phases import phase_artifact_key
from send_inspection.engine.passes import PassResult
from send_inspection.engine.staff_bulletin import bulletin_figures, bulletin_markdown, reconcile_bulletin
from send_inspection.live.wiring import current_runtime
from tasks.artifacts import publish_markdown


@task(name="reconcile-staff-bulletin", cache_policy=NO_CACHE, persist_result=False)
def reconcile_bulletin_task(inspection_id: str) -> PassResult:
    """Send the staff bulletin now due, if any, and say when the next one goes."""
    return reconcile_bulletin(current_runtime().context, inspection_id)


def publish_bulletin(result: PassResult) -> None:
    """Show each bulletin sent in this pass as a markdown artifact (figures only)."""
    ctx = current_runtime().context
    for text in result.summaries_sent:
        day = date.fromisoformat(text)
        figures = bulletin_figures(ctx, result.inspection_id, day=day, now=ctx.clock.now())
        publish_markdown(phase_artifact_key(result.inspection_id, result.phase, text), bulletin_markdown(figures),
                         description=f"Staff bulletin, {day:%a %d %b}", every_time=True)
