"""The ticker: every minute, start afresh the phases whose run died, then wake those whose time has come; a tick
that did nothing leaves no run behind."""

from __future__ import annotations

from prefect import flow
from prefect.runtime import flow_run

from send_inspection.calendar import to_london
from tasks.ticker_tasks import may_tick_task, recover_dead_phases_task, sweep_idle_ticks_task, wake_due_phases_task


def _tick_name() -> str:
    """Name a tick after its scheduled London time, e.g. 'tick 23 Nov 11:05'."""
    scheduled = flow_run.scheduled_start_time
    return f"tick {to_london(scheduled):%d %b %H:%M}" if scheduled else "tick"


@flow(name="ticker", flow_run_name=_tick_name, log_prints=True)
def ticker() -> int:
    """Start afresh every phase whose run died, then wake every phase that is due; return how many were woken.

    A tick that did neither leaves no run behind: the next such tick deletes it (the newest stays, to show the ticker
    is alive), so operators see the phases' runs and the ticks that acted first.
    """
    if not may_tick_task():  # another tick still runs, or this one is stale: one tick at a time, none late
        sweep_idle_ticks_task()
        return 0
    recovered = recover_dead_phases_task()
    woken = wake_due_phases_task()
    if recovered == 0 and woken == 0:
        sweep_idle_ticks_task()
    return woken
