"""Dead phase runs in our database: the phases whose run may have died, and a fresh run taking one over."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.mail.meetings import release_claims

# Fresh runs started in a row for one phase before the ticker stops and leaves it to an operator.
MAX_RECOVERIES = 3
# Phase statuses with a flow run that should be alive or suspended.
CARRIED = ("launched", "running", "waiting")


@dataclass(frozen=True)
class CarriedPhase:
    """An unfinished phase and the flow run carrying it, with the last heartbeat of that run's process."""

    inspection_id: str
    phase: str
    flow_run_id: str
    status: str
    heartbeat_at: datetime | None
    recoveries: int


def carried_phases(ctx: EngineContext, *, mode: str = "live") -> list[CarriedPhase]:
    """Return every unfinished phase that a flow run carries (whose run could have died)."""
    with ctx.session() as session:
        rows = session.execute(
            select(m.PhaseRun).join(m.Inspection, m.Inspection.id == m.PhaseRun.inspection_id).where(
                m.PhaseRun.status.in_(CARRIED), m.PhaseRun.flow_run_id.is_not(None), m.Inspection.mode == mode
            ).order_by(m.PhaseRun.id)
        ).scalars()
        return [CarriedPhase(inspection_id=r.inspection_id, phase=r.phase, flow_run_id=str(r.flow_run_id),
                             status=r.status, heartbeat_at=r.heartbeat_at, recoveries=r.recoveries) for r in rows]


def take_over(
    ctx: EngineContext, dead: CarriedPhase, fresh_flow_run_id: str, *, reason: str, claimed_before: datetime
) -> bool:
    """Hand the phase from its dead run to a fresh one and free the emails the dead run was sending.

    Nothing changes unless the phase still points at the dead run (two tickers recover it once). The dead run's
    claims on emails (taken before `claimed_before`, when it was last alive) are marked failed, so the fresh run
    sends them now instead of after the ledger's stale-claim wait; one the mail server had accepted in the instant
    before the process died goes again, with the same Message-ID. Its claims on meetings are made uncertain, so the
    fresh run looks each up by its key before creating it. Return whether this call took the phase over.
    """
    now = ctx.clock.now()
    with ctx.session() as session:
        moved = session.execute(
            update(m.PhaseRun)
            .where(m.PhaseRun.inspection_id == dead.inspection_id, m.PhaseRun.phase == dead.phase,
                   m.PhaseRun.flow_run_id == dead.flow_run_id)
            .values(flow_run_id=fresh_flow_run_id, status="launched", heartbeat_at=None, reason=reason,
                    recoveries=m.PhaseRun.recoveries + 1, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1:
            session.rollback()
            return False
        session.execute(
            update(m.EmailRecord)
            .where(m.EmailRecord.key.startswith(f"{dead.inspection_id}:{dead.phase}:", autoescape=True),
                   m.EmailRecord.status == "claimed", m.EmailRecord.claimed_at <= claimed_before)
            .values(status="failed", error=f"the run sending it ({dead.flow_run_id}) died before it was marked sent")
            .execution_options(synchronize_session=False)
        )
        # A meeting the dead run was creating may exist: the fresh run looks it up at once instead of waiting.
        release_claims(session, key_prefix=f"{dead.inspection_id}:{dead.phase}:", claimed_before=claimed_before,
                       why=f"the run creating it ({dead.flow_run_id}) died before it recorded the answer")
        session.commit()
        return True


def give_up(ctx: EngineContext, dead: CarriedPhase, *, reason: str) -> None:
    """Leave a phase whose fresh runs keep dying to an operator: it is marked stuck and not started again."""
    with ctx.session() as session:
        session.execute(
            update(m.PhaseRun)
            .where(m.PhaseRun.inspection_id == dead.inspection_id, m.PhaseRun.phase == dead.phase,
                   m.PhaseRun.flow_run_id == dead.flow_run_id)
            .values(status="stuck", reason=reason, updated_at=ctx.clock.now())
            .execution_options(synchronize_session=False)
        )
        session.commit()
