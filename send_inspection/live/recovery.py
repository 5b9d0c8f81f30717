"""Find phases whose flow run died and start each afresh: the ticker's first job (ADR 0003)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, FlowRunFilterState, FlowRunFilterStateType
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.states import Crashed, State

from send_inspection.calendar import to_london
from send_inspection.catalogue.phases import phase_label
from send_inspection.engine.context import EngineContext
from send_inspection.engine.phase_rows import MAX_RECOVERIES, CarriedPhase, carried_phases, give_up, take_over
from send_inspection.live.launcher import DeploymentLauncher

log = logging.getLogger(__name__)

# Prefect states of a phase's run that may mean its process died (checked against the lease) or that it ended
# without finishing the phase (a run that finishes it marks the phase done first).
SUSPECT = (StateType.RUNNING, StateType.PENDING, StateType.CRASHED, StateType.FAILED, StateType.COMPLETED)


class ZombieRecovery:
    """Find phases whose flow run died (worker killed, machine restarted) and give each a fresh run.

    A run is dead when Prefect says it crashed or failed, or when it is Running or Pending in Prefect but neither
    its state nor its process's heartbeat has moved for longer than the lease (Running) or the pending grace
    (Pending: its worker may still be starting its process). The dead run is marked Crashed with a message saying
    so, and a fresh run of the phase's deployment takes over; the reconciler does what is due.
    """

    def __init__(self, ctx: EngineContext, *, lease: timedelta, pending_grace: timedelta,
                 launcher: DeploymentLauncher | None = None) -> None:
        self.ctx, self.lease, self.pending_grace = ctx, lease, pending_grace
        self.launcher = launcher or DeploymentLauncher(ctx)

    def recover(self) -> list[str]:
        """Start a fresh run for every dead phase; return "<inspection> <phase>" of each phase taken over."""
        carried = {c.flow_run_id: c for c in carried_phases(self.ctx) if _is_uuid(c.flow_run_id)}
        recovered = []
        for flow_run in self._suspects(list(carried)):
            phase = carried[str(flow_run.id)]
            assert flow_run.state is not None
            last_seen = max(t for t in (flow_run.state.timestamp, phase.heartbeat_at) if t is not None)
            why = why_dead(flow_run.state, last_seen=last_seen, now=self.ctx.clock.now(), lease=self.lease,
                           pending_grace=self.pending_grace)
            if why is not None and self._take_over(phase, flow_run, why=why, last_seen=last_seen):
                recovered.append(f"{phase.inspection_id} {phase.phase}")
        return recovered

    def _suspects(self, flow_run_ids: list[str]) -> list[FlowRun]:
        if not flow_run_ids:
            return []
        with get_client(sync_client=True) as client:
            return client.read_flow_runs(flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=[UUID(i) for i in flow_run_ids]),
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=list(SUSPECT)))))

    def _take_over(self, phase: CarriedPhase, flow_run: FlowRun, *, why: str, last_seen: datetime) -> bool:
        label = f"{phase_label(phase.phase)} of {phase.inspection_id}"
        if phase.recoveries >= MAX_RECOVERIES:
            give_up(self.ctx, phase, reason=f"STUCK: {label} died {phase.recoveries + 1} times in a row, last "
                                            f"because {why}. Look at run {flow_run.id}, then run its deployment.")
            log.error("%s is stuck: %s fresh runs died in a row (%s)", label, phase.recoveries + 1, why)
            return False
        fresh = self.launcher.launch(phase.inspection_id, phase.phase,
                                     idempotency_key=f"{phase.inspection_id}:{phase.phase}:after:{flow_run.id}")
        # Recorded at once: the fresh run must find itself the phase's run when it first waits.
        taken = take_over(self.ctx, phase, fresh, reason=f"started afresh: {why}",
                          claimed_before=last_seen + self.lease / 3)
        message = f"Dead run: {why}. A fresh run ({fresh}) has taken over {label}."
        assert flow_run.state is not None
        if flow_run.state.type in (StateType.RUNNING, StateType.PENDING):
            with get_client(sync_client=True) as client:
                client.set_flow_run_state(flow_run.id, Crashed(message=message), force=True)
        if taken:
            log.error("%s", message)
        return taken


def why_dead(state: State, *, last_seen: datetime, now: datetime, lease: timedelta,
             pending_grace: timedelta) -> str | None:
    """Say why a phase's run in `state`, last seen alive at `last_seen`, is dead; None if it may be alive."""
    if state.type in (StateType.CRASHED, StateType.FAILED, StateType.COMPLETED):
        return f"its run ended {state.name} without finishing the phase ({state.message or 'no message'})"
    if state.type not in (StateType.RUNNING, StateType.PENDING):
        return None  # suspended, or scheduled and waiting for a worker
    allowed = pending_grace if state.type == StateType.PENDING else lease
    if now - last_seen > allowed:
        return (f"its run has been {state.name} with no sign of life since {to_london(last_seen):%H:%M:%S} "
                f"London time (allowed {allowed.total_seconds():g}s): its process stopped")
    return None


def _is_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True
