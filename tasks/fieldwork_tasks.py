"""Tasks that reconcile fieldwork and show the debriefs and requests to operators."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from send_inspection.catalogue.phases import artifact_key
from send_inspection.engine.additional_requests import requests_overview
from send_inspection.engine.fieldwork_phase import reconcile_fieldwork
from send_inspection.engine.passes import PassResult
from send_inspection.fieldwork.store import stored_slots
from send_inspection.fieldwork.timetable import KIND_TITLES
from send_inspection.live.wiring import current_runtime
from tasks.artifacts import publish_table


@task(name="reconcile-fieldwork", cache_policy=NO_CACHE, persist_result=False)
def reconcile_fieldwork_task(inspection_id: str) -> PassResult:
    """Send the timetable's invitations, chase debriefs, and act on red ones and requested documents."""
    return reconcile_fieldwork(current_runtime().context, inspection_id)


def publish_fieldwork(result: PassResult) -> None:
    """Show the debriefs and the requests as artifacts."""
    ctx = current_runtime().context
    kinds = {s.slot_id: s.kind for s in stored_slots(ctx, result.inspection_id)}  # a title is typed: show the kind
    rows = [{"slot": (slot := s.ref.removeprefix("debrief-")), "meeting": KIND_TITLES.get(kinds.get(slot, ""), "—"),
             "debriefer": s.owner_name or "—", "due": s.due_at, "state": s.outcome or ("LATE" if s.late else "open")}
            for s in result.items]
    publish_table(key=artifact_key(result.inspection_id, "debriefs"), table=rows,
                  description=f"Debriefs: {result.reason}")
    publish_table(key=artifact_key(result.inspection_id, "additional-requests"),
                  table=requests_overview(ctx, result.inspection_id),
                  description="Additional evidence requests: received, due, step, state, time taken")
