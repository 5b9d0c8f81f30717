"""Tasks that reconcile the days before the inspectors arrive and show each task to operators by id and role."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from send_inspection.cases.case_file_views import case_files_opened, opened_by_day
from send_inspection.catalogue.phases import phase_artifact_key
from send_inspection.catalogue.steps import step_label
from send_inspection.engine.onsite_phase import reconcile_onsite
from send_inspection.engine.passes import PassResult
from send_inspection.live.wiring import current_runtime
from tasks.artifacts import publish_markdown, publish_table


@task(name="reconcile-onsite", cache_policy=NO_CACHE, persist_result=False)
def reconcile_onsite_task(inspection_id: str) -> PassResult:
    """Open the tasks now due before the inspectors arrive and send every ask, reminder and escalation due."""
    return reconcile_onsite(current_runtime().context, inspection_id)


def onsite_rows(result: PassResult, roles: dict[str, str]) -> list[dict[str, object]]:
    """Return each task as operators see it: its reference, step, owner's id and role, deadline and state."""
    return [{"task": s.ref, "waiting for": "—" if s.outcome else step_label(s.step), "owner": s.owner or "—",
             "role": roles.get(s.owner, "—"), "due": s.due_at, "state": s.outcome or ("LATE" if s.late else "open")}
            for s in result.items]


def publish_onsite(result: PassResult) -> None:
    """Show the tasks before the inspectors arrive, and what the phase waits for, as artifacts."""
    ctx = current_runtime().context
    roles = {p.id: p.role for p in ctx.config.partnership.parties()}
    iid, phase = result.inspection_id, result.phase
    publish_table(key=phase_artifact_key(iid, phase), table=onsite_rows(result, roles),
                  description="Before the inspectors arrive: each task by reference, owner (id and role) and state")
    publish_markdown(key=phase_artifact_key(iid, phase, "status"), markdown=f"**{result.reason}**",
                     description="What this phase is waiting for")
    opened = opened_by_day(case_files_opened(ctx, iid))
    if opened:  # counts only: which cases is kept in our database (send-inspection case-files list)
        publish_table(key=phase_artifact_key(iid, phase, "case-files"),
                      table=[{"day": day, "case files opened": n} for day, n in opened.items()],
                      description="Case files the inspectors opened, by day (counts only)")
