"""Keep the ticker's runs out of operators' way: a tick that found nothing to do leaves no run behind it (ADR 0003)."""

from __future__ import annotations

from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterState,
    FlowRunFilterStateType,
    FlowRunFilterTags,
)
from prefect.client.schemas.objects import StateType

from send_inspection.catalogue.phases import TICKER

# The tag of a tick that found nothing to do: it is swept away by the next such tick.
IDLE = "idle"
# Runs swept by one tick at most (more are left to the next).
SWEEP_BATCH = 200


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
        for tick in (*idle, *unrun):
            client.delete_flow_run(tick.id)
        return len(idle) + len(unrun)
