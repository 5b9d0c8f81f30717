"""The notification flow (the Prefect form's door) refuses a call time over a day ago before anything is opened or
sent, fails once with the reason, and a deliberate back-dated start says so first in its log."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
from prefect.client.schemas.sorting import LogSort
from sqlalchemy import func, select

from flows.notification import notification
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.rehearsal.driver import InlineLauncher, NoWaker, RehearsalWaiter
from send_inspection.rehearsal.parked_runs import ParkedRuns
from send_inspection.rehearsal.privacy_scan import flush_prefect
from send_inspection.runtime import Runtime, use_runtime
from tests.conftest import NOTIFIED

# Prefect's own lines, before and after the flow's code runs.
PREFECT_LINES = ("Beginning flow run", "Finished in state", "Created task run")


def runtime(ctx: EngineContext) -> Runtime:
    """Return a rehearsal runtime on `ctx` whose waits end the run (no driver)."""
    return Runtime(context=ctx, waiter=RehearsalWaiter(ctx, ParkedRuns()), launcher=InlineLauncher(ctx),
                   waker=NoWaker(), mode="rehearsal")


def run_logs(flow_run_id: UUID) -> list[str]:
    """Return the flow run's log lines in order, its tasks' included, without Prefect's own bookkeeping lines."""
    flush_prefect()
    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])),
                                sort=LogSort.TIMESTAMP_ASC)
    return [log.message for log in logs if not log.message.startswith(PREFECT_LINES)]


def count(ctx: EngineContext, model: type) -> int:
    """Return how many rows `model` has."""
    with ctx.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_call_eleven_days_ago_fails_the_run_once_and_sends_nothing(prefect_harness: None,
                                                                     ctx: EngineContext) -> None:
    """Eleven days after the call the run fails at once with the reason (no retry): no inspection, no email."""
    ctx.clock.set(NOTIFIED + timedelta(days=11))  # type: ignore[attr-defined]
    with use_runtime(runtime(ctx)):
        state = notification(notified_at=NOTIFIED, return_state=True)
    assert state.is_failed()
    assert (state.message or "").startswith("The time of the call, Mon 26 Jun 2023 09:00, is 11 days ago: ")
    assert count(ctx, m.Inspection) == count(ctx, m.EmailRecord) == 0
    assert not list(ctx.transport.folder.glob("*"))  # type: ignore[attr-defined]
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(state.state_details.flow_run_id)
    assert (run.run_count, run.state_type.value) == (1, "FAILED")
    assert run_logs(run.id)[0] == state.message


def test_a_deliberate_back_dated_start_says_so_first(prefect_harness: None, ctx: EngineContext) -> None:
    """Said to be deliberate, the back-dated start opens the inspection, and its first log line says so."""
    ctx.clock.set(NOTIFIED + timedelta(days=11))  # type: ignore[attr-defined]
    with use_runtime(runtime(ctx)):
        state = notification(notified_at=NOTIFIED, deliberate=True, return_state=True)
    assert state.is_completed(), state.message
    assert count(ctx, m.Inspection) == 1 and count(ctx, m.EmailRecord) > 0
    first = run_logs(state.state_details.flow_run_id)[0]
    assert first.startswith("Deliberately back-dated start: the call is given as Mon 26 Jun 2023 09:00, 11 days ago")


def test_a_call_on_the_clock_starts_as_rehearsals_do(prefect_harness: None, ctx: EngineContext) -> None:
    """On a virtual clock at the time of the call (as every rehearsal runs) the start needs no word and logs none."""
    with use_runtime(runtime(ctx)):
        state = notification(notified_at=NOTIFIED, return_state=True)
    assert state.is_completed(), state.message
    assert not [line for line in run_logs(state.state_details.flow_run_id) if "eliberate" in line]
