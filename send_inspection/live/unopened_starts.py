"""Find a notification run started in Prefect itself that died before it opened its inspection, and record its start.

The console and the command line record the coordinator's start before they create the run, so the lease recovery
sees a run that dies before it opens the inspection. A run made in the Prefect UI (or through its API) has no such
record: until its flow opens the inspection, nothing of ours knows of it. The ticker asks Prefect for such runs; for
each that is dead by the lease's rules and whose inspection has no notification phase, it opens the inspection from
the run's own parameters and records the run as the phase's, so the lease recovery takes it over in the same tick
(ADR 0003). A start the start-time rule refuses is not started again: the run is tagged and logged instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterExpectedStartTime,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import FlowRun, StateType

from send_inspection.calendar import LONDON
from send_inspection.catalogue.phases import NOTIFICATION
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import INSPECTION_KINDS, inspection_id_for, open_requested
from send_inspection.engine.phase_rows import get_phase, record_flow_run
from send_inspection.engine.start_time import NotificationTimeRefused
from send_inspection.live.recovery import why_dead

log = logging.getLogger(__name__)

# Runs expected to start longer ago than this are left to operators (Prefect keeps its runs; ours would not be new).
ADOPT_WITHIN = timedelta(days=7)
# The tag of an unopened run whose start the start-time rule refuses: it is not looked at again.
NOT_STARTED_AGAIN = "not-started-again"
BATCH = 200


@dataclass(frozen=True)
class UnopenedStart:
    """What a notification run was started with: the inspection it would open, the time of the call and the kind."""

    inspection_id: str
    notified_at: datetime
    kind: str
    deliberate: bool


def start_of(ctx: EngineContext, flow_run: FlowRun) -> UnopenedStart | None:
    """Return what the run was started with, or None when its parameters could never have opened an inspection."""
    params = flow_run.parameters or {}
    try:
        notified_at = params["notified_at"]
        if isinstance(notified_at, str):
            notified_at = datetime.fromisoformat(notified_at)
    except (KeyError, ValueError):
        return None
    if not isinstance(notified_at, datetime):
        return None
    if notified_at.tzinfo is None:
        notified_at = notified_at.replace(tzinfo=LONDON)  # as the flow reads a time typed without a zone
    kind = str(params.get("kind") or "full")
    if kind not in INSPECTION_KINDS:
        return None
    inspection_id = str(params.get("inspection_id") or inspection_id_for(ctx.config, notified_at))
    return UnopenedStart(inspection_id, notified_at, kind, deliberate=bool(params.get("deliberate")))


def adopt_unopened_starts(ctx: EngineContext, *, lease: timedelta, pending_grace: timedelta) -> list[str]:
    """Record the start of each dead notification run whose inspection was never opened; return those inspections."""
    now = ctx.clock.now()
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[NOTIFICATION.deployment.flow_name])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(
                    any_=[StateType.PENDING, StateType.RUNNING, StateType.CRASHED])),
                expected_start_time=FlowRunFilterExpectedStartTime(after_=now - ADOPT_WITHIN)),
            limit=BATCH)
    adopted = []
    for flow_run in runs:
        state = flow_run.state
        if state is None or NOT_STARTED_AGAIN in flow_run.tags:
            continue
        why = why_dead(state, last_seen=state.timestamp, now=now, lease=lease, pending_grace=pending_grace)
        start = start_of(ctx, flow_run)
        if why is None or start is None or get_phase(ctx, start.inspection_id, NOTIFICATION.key) is not None:
            continue  # alive, not an inspection's start, or a start we know of (the lease recovery's)
        try:
            open_requested(ctx, start.notified_at, inspection_id=start.inspection_id, kind=start.kind,
                           deliberate=start.deliberate, by=f"the Prefect run {flow_run.name}")
        except NotificationTimeRefused as refused:
            with get_client(sync_client=True) as client:
                client.update_flow_run(flow_run.id, tags=sorted({*flow_run.tags, NOT_STARTED_AGAIN}))
            log.error("run %s died before it opened %s and is not started again: %s", flow_run.name,
                      start.inspection_id, refused)
            continue
        record_flow_run(ctx, start.inspection_id, NOTIFICATION.key, str(flow_run.id))
        log.error("run %s died before it opened %s (%s); its start is recorded and it is taken over", flow_run.name,
                  start.inspection_id, why)
        adopted.append(start.inspection_id)
    return adopted
