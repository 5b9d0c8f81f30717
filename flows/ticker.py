"""The ticker: every minute, wake the phases whose next reminder or deadline has come."""

from __future__ import annotations

from prefect import flow

from tasks.ticker_tasks import wake_due_phases_task


@flow(name="ticker", log_prints=True)
def ticker() -> int:
    """Wake every phase that is due; return how many were woken."""
    return wake_due_phases_task()
