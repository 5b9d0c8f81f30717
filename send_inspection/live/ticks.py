"""One tick at a time, none late, and none left behind idle: the ticker's runs kept out of operators' way (ADR 0003).

Prefect's own deployment concurrency limit was tried for "one tick at a time": a tick whose worker was killed holds
its slot until Prefect's lease on it runs out (300 s, renewed by the engine, not settable), and every tick meanwhile
is cancelled, so phases went unwoken and dead runs untaken for five minutes. A tick stands down instead when another
tick started earlier and is still within the phase lease (a tick takes seconds), or when it is itself stale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterStartTime,
    FlowRunFilterState,
    FlowRunFilterStateType,
    FlowRunFilterTags,
)
from prefect.client.schemas.objects import StateType
from prefect.exceptions import ObjectNotFound

from send_inspection.catalogue.phases import TICKER

# The tag of a tick that found nothing to do: it is swept away by the next such tick.
IDLE = "idle"
# Runs swept by one tick at most (more are left to the next).
SWEEP_BATCH = 200
# A scheduled tick this late (workers were down or the pool busy) stands down: a newer tick is due or running.
STALE = timedelta(minutes=2)


@dataclass(frozen=True)
class Tick:
    """A run of the ticker: its id, when it was due and when it started."""

    flow_run_id: str
    due_at: datetime | None
    started_at: datetime | None


def why_stand_down(me: Tick, running: Sequence[Tick], *, now: datetime, lease: timedelta) -> str | None:
    """Say why this tick should do nothing (another earlier tick runs and is alive, or this one is stale); None: go.

    A running tick is taken for alive within the lease after its start (a tick takes seconds; a killed one then stops
    holding the others back). Of two ticks started together, the one that started first (then the lower id) goes.
    """
    if me.due_at is not None and now - me.due_at > STALE:
        return f"this tick was due at {me.due_at:%H:%M:%S} UTC, over {STALE.total_seconds():g}s ago"
    mine = (me.started_at or now, me.flow_run_id)
    for other in running:
        if other.flow_run_id == me.flow_run_id or other.started_at is None or now - other.started_at > lease:
            continue
        if (other.started_at, other.flow_run_id) < mine:
            return f"tick {other.flow_run_id} is running"
    return None


def stand_down_reason(flow_run_id: str, *, lease: timedelta, now: datetime) -> str | None:
    """Ask Prefect for the ticks running beside this one; say why this one should do nothing, or None to go on."""
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(UUID(flow_run_id))
        others = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[TICKER.flow_name])),
            flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(not_any_=[run.id]), start_time=FlowRunFilterStartTime(after_=now - lease),
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.RUNNING]))))
    me = Tick(flow_run_id, due_at=run.expected_start_time if run.auto_scheduled else None, started_at=run.start_time)
    return why_stand_down(me, [Tick(str(o.id), due_at=None, started_at=o.start_time) for o in others], now=now,
                          lease=lease)


def sweep_idle_ticks(flow_run_id: str) -> int:
    """Tag this tick idle and delete the earlier idle ticks and the ticks cancelled unrun; return how many went.

    The newest idle tick stays (it shows the ticker is alive); a tick that started, woke or took over a phase stays
    with its logs, as do the phases' own runs, so those are what the Runs list shows.
    """
    me = UUID(flow_run_id)
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(me)
        client.update_flow_run(me, tags=sorted({*run.tags, IDLE}))
        ticks = FlowFilter(name=FlowFilterName(any_=[TICKER.flow_name]))
        idle = client.read_flow_runs(flow_filter=ticks, limit=SWEEP_BATCH, flow_run_filter=FlowRunFilter(
            id=FlowRunFilterId(not_any_=[me]), tags=FlowRunFilterTags(all_=[IDLE]),
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.COMPLETED]))))
        unrun = client.read_flow_runs(flow_filter=ticks, limit=SWEEP_BATCH, flow_run_filter=FlowRunFilter(
            id=FlowRunFilterId(not_any_=[me]),
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.CANCELLED]))))
        gone = 0
        for tick in (*idle, *unrun):
            try:
                client.delete_flow_run(tick.id)
                gone += 1
            except ObjectNotFound:
                pass  # a tick running beside this one swept it first
        return gone
