"""Tasks that reconcile the keeping-in-touch meetings and show them to operators (ids, roles and figures only)."""

from __future__ import annotations

from datetime import date

from prefect import task
from prefect.cache_policies import NO_CACHE

from send_inspection.catalogue.phases import phase_artifact_key
from send_inspection.catalogue.steps import step_label
from send_inspection.engine.fieldwork_phase import kit_markdown, kit_summary
from send_inspection.engine.kit import is_action, kit_overview, reconcile_kit
from send_inspection.engine.passes import PassResult
from send_inspection.live.wiring import current_runtime
from tasks.artifacts import publish_markdown, publish_table


@task(name="reconcile-keeping-in-touch", cache_policy=NO_CACHE, persist_result=False)
def reconcile_kit_task(inspection_id: str) -> PassResult:
    """Arrange the agreed KIT meetings, chase their records and actions, and send the summaries now due."""
    return reconcile_kit(current_runtime().context, inspection_id)


def publish_kit(result: PassResult) -> None:
    """Show the KIT meetings, the open asks and actions (by ref and owner id), and each summary sent, as artifacts."""
    ctx = current_runtime().context
    iid, phase = result.inspection_id, result.phase
    publish_table(key=phase_artifact_key(iid, phase, "meetings"), table=kit_overview(ctx, iid),
                  description="Keeping-in-touch meetings: when, invited, record, summary, actions (figures only)")
    rows = [{"ref": s.ref, "asks": step_label(s.step) if s.outcome is None else "—", "owner": s.owner or "—",
             "due": s.due_at, "state": s.outcome or ("LATE" if s.late else "open")}
            for s in result.items if is_action(s.ref) or s.outcome is None]
    publish_table(key=phase_artifact_key(iid, phase, "asks"), table=rows,
                  description="Keeping-in-touch asks and actions by ref and owner id (what an issue says is not shown)")
    publish_markdown(key=phase_artifact_key(iid, phase, "status"), markdown=f"**{result.reason}**",
                     description="What keeping in touch is waiting for")
    for text in result.summaries_sent:  # each KIT summary once, when its email went
        day = date.fromisoformat(text)
        publish_markdown(key=phase_artifact_key(iid, phase, "summary", text),
                         markdown=kit_markdown(kit_summary(ctx, iid, day)),
                         description=f"Keeping-in-touch summary, {day:%a %d %b}")
