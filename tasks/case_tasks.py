"""Task that records the inspectors' selection of children to track and shows its coverage."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from send_inspection.catalogue.phases import artifact_key
from send_inspection.live.wiring import current_runtime
from tasks.artifacts import publish_markdown


@task(name="record-case-selection", cache_policy=NO_CACHE, persist_result=False)
def record_selection_task(inspection_id: str, case_ids: list[str], selected_by: str) -> str:
    """Record the case ids against the accepted lists and publish the coverage; return its markdown."""
    from send_inspection.cases.selection import SelectionRefused, refused_entries, select_from_stored

    try:
        coverage = select_from_stored(current_runtime().context, inspection_id, case_ids, selected_by=selected_by)
    except SelectionRefused as exc:
        if not exc.unknown:
            raise
        # Prefect keeps a failure's message, its log lines and events: never repeat what was typed there.
        raise SelectionRefused(refused_entries(case_ids, exc.unknown)) from None
    report = coverage.markdown()
    publish_markdown(artifact_key(inspection_id, "case-selection"), report,
                     description="The children selected for tracking: coverage (counts only)", every_time=True)
    return report


@task(name="start-tracked-cases", cache_policy=NO_CACHE, persist_result=False)
def start_tracked_cases_task(inspection_id: str) -> list[str]:
    """Start a tracked-case run for every selected child that has none yet; return their phases."""
    from send_inspection.engine.tracked_case import start_tracked_cases

    rt = current_runtime()
    started = start_tracked_cases(rt.context, inspection_id)
    for phase in started:
        rt.launcher.start(inspection_id, phase)
    return started
