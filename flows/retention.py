"""Retention: every night, export each inspection's record, then delete the data whose time has come."""

from __future__ import annotations

from prefect import flow
from prefect.runtime import flow_run

from send_inspection.calendar import to_london
from tasks.retention_tasks import apply_retention_task, publish_retention


def _run_name() -> str:
    """Name a run after its scheduled London date, e.g. 'retention 20 Feb 2024'."""
    scheduled = flow_run.scheduled_start_time
    return f"retention {to_london(scheduled):%d %b %Y}" if scheduled else "retention"


@flow(name="retention", flow_run_name=_run_name, log_prints=True)
def retention() -> str:
    """Apply the retention rules (retention.yaml) to every inspection; return what was deleted and held, in counts."""
    result = apply_retention_task()
    publish_retention(result)
    return result.summary()
