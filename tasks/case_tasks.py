"""Task that records the inspectors' selection of children to track and shows its coverage."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from send_inspection.runtime import current_runtime


@task(name="record-case-selection", cache_policy=NO_CACHE, persist_result=False)
def record_selection_task(inspection_id: str, case_ids: list[str], selected_by: str) -> str:
    """Record the case ids against the accepted lists and publish the coverage; return its markdown."""
    from send_inspection.cases.selection import record_selection
    from send_inspection.childdata.store import MANIFEST, load_stored
    from send_inspection.web.child_data_upload import data_folder

    ctx = current_runtime().context
    folder = data_folder(ctx, inspection_id, "child-level-data")
    if not (folder / MANIFEST).exists():
        raise RuntimeError(f"{inspection_id}: no accepted child-level data lists yet; the data lead uploads them first")
    coverage = record_selection(ctx, inspection_id, load_stored(folder), case_ids, selected_by=selected_by)
    report = coverage.markdown()
    create_markdown_artifact(key=f"{inspection_id}-case-selection".lower(), markdown=report,
                             description="The children selected for tracking: coverage (counts only)")
    return report
