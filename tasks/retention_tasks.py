"""Tasks of the retention run: apply the rules, and show operators what was deleted or held (figures and ids only)."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from send_inspection.live.wiring import current_runtime
from send_inspection.retention.service import RetentionPass, apply_retention
from tasks.artifacts import publish_table


# No retries: a run that failed part way is finished by the next one (each kind's deletion is one transaction).
@task(name="apply-retention", cache_policy=NO_CACHE, persist_result=False)
def apply_retention_task() -> RetentionPass:
    """Export the record of each inspection with data due for deletion, then delete what is due and not held."""
    result = apply_retention(current_runtime().context)
    get_run_logger().info("%s", result.summary())
    return result


def publish_retention(result: RetentionPass) -> None:
    """Show each kind of data deleted or held in this run as a table artifact."""
    if result.rows:
        publish_table("retention", result.rows, description=result.summary())
