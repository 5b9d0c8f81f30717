"""Phase runs in our database: which phase waits, why, until when, and which need waking."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext


@dataclass(frozen=True)
class WaitTicket:
    """What a phase needs to wait: the unique key of this wait, or the news that it should not wait."""

    key: str
    go_again: bool
    # The phase is carried by another flow run now (this one was taken for dead and replaced): stop.
    superseded: bool = False


def ensure_phase(ctx: EngineContext, inspection_id: str, phase: str, *, not_before: datetime | None = None) -> bool:
    """Create the phase's row if it is new (to start at `not_before` at the latest); return whether it was new."""
    with ctx.session() as session:
        exists = session.scalars(
            select(m.PhaseRun.id).where(m.PhaseRun.inspection_id == inspection_id, m.PhaseRun.phase == phase)
        ).first()
        if exists is not None:
            return False
        session.add(
            m.PhaseRun(inspection_id=inspection_id, phase=phase, status="pending", updated_at=ctx.clock.now(),
                       next_wake_at=not_before)
        )
        try:
            session.commit()
        except IntegrityError:
            return False
        return True


def note_news(session: Session, inspection_id: str, phase: str, *, now: datetime | None = None) -> None:
    """Count news for the phase (a decision, links given) in `session`, so it looks again; the caller commits."""
    run = session.scalars(
        select(m.PhaseRun).where(m.PhaseRun.inspection_id == inspection_id, m.PhaseRun.phase == phase)
    ).first()
    if run is not None:
        run.changes += 1
        if now is not None:
            run.updated_at = now


def get_phase(ctx: EngineContext, inspection_id: str, phase: str) -> m.PhaseRun | None:
    """Return the phase's row, if any."""
    with ctx.session() as session:
        return session.scalars(
            select(m.PhaseRun).where(m.PhaseRun.inspection_id == inspection_id, m.PhaseRun.phase == phase)
        ).first()


def record_flow_run(ctx: EngineContext, inspection_id: str, phase: str, flow_run_id: str) -> None:
    """Remember which Prefect flow run carries the phase."""
    with ctx.session() as session:
        run = session.scalars(
            select(m.PhaseRun).where(m.PhaseRun.inspection_id == inspection_id, m.PhaseRun.phase == phase)
        ).one()
        run.flow_run_id = flow_run_id
        if run.status == "pending":
            run.status = "launched"
        run.updated_at = ctx.clock.now()
        session.commit()


def begin_wait(
    ctx: EngineContext,
    inspection_id: str,
    phase: str,
    *,
    reason: str,
    next_wake_at: datetime | None,
    flow_run_id: str | None,
) -> WaitTicket:
    """Mark the phase waiting with a fresh wait key; say to go again if a decision came in meanwhile.

    A run that is no longer the phase's (the ticker took it for dead and started a fresh one) changes nothing and
    is told it was superseded.
    """
    with ctx.session() as session:
        run = session.scalars(
            select(m.PhaseRun)
            .where(m.PhaseRun.inspection_id == inspection_id, m.PhaseRun.phase == phase)
            .with_for_update()
        ).one()
        if flow_run_id and run.flow_run_id and run.flow_run_id != flow_run_id:
            return WaitTicket(key="", go_again=False, superseded=True)
        if run.changes > run.seen_changes:
            return WaitTicket(key="", go_again=True)
        run.wake_seq += 1
        run.recoveries = 0  # this run got as far as a wait: it is not in a crash loop
        run.status = "waiting"
        run.reason = reason
        run.next_wake_at = next_wake_at
        if flow_run_id:
            run.flow_run_id = flow_run_id
        run.updated_at = ctx.clock.now()
        session.commit()
        return WaitTicket(key=f"wake-{run.wake_seq}", go_again=False)


def finish_phase(ctx: EngineContext, inspection_id: str, phase: str, *, reason: str) -> None:
    """Mark the phase done."""
    with ctx.session() as session:
        run = session.scalars(
            select(m.PhaseRun).where(m.PhaseRun.inspection_id == inspection_id, m.PhaseRun.phase == phase)
        ).one()
        run.status, run.reason, run.next_wake_at = "done", reason, None
        run.recoveries = 0
        run.updated_at = ctx.clock.now()
        session.commit()


def due_phases(ctx: EngineContext, *, now: datetime, mode: str | None = None) -> list[m.PhaseRun]:
    """Return phases to act on now: waiting ones whose time came or that have news, and pending ones now due."""
    with ctx.session() as session:
        query = select(m.PhaseRun).join(m.Inspection, m.Inspection.id == m.PhaseRun.inspection_id).where(
            or_(
                (m.PhaseRun.status == "pending")
                & (or_(m.PhaseRun.next_wake_at.is_(None), m.PhaseRun.next_wake_at <= now)),
                (m.PhaseRun.status == "waiting")
                & (or_(m.PhaseRun.next_wake_at <= now, m.PhaseRun.changes > m.PhaseRun.seen_changes)),
            )
        )
        if mode is not None:
            query = query.where(m.Inspection.mode == mode)
        return list(session.scalars(query.order_by(m.PhaseRun.id)))


def beat(ctx: EngineContext, flow_run_id: str) -> int:
    """Renew the lease of every unfinished phase this flow run carries; return how many rows it renewed."""
    with ctx.session() as session:
        renewed = session.execute(
            update(m.PhaseRun)
            .where(m.PhaseRun.flow_run_id == flow_run_id, m.PhaseRun.status != "done")
            .values(heartbeat_at=ctx.clock.now())
            .execution_options(synchronize_session=False)
        )
        session.commit()
        return renewed.rowcount or 0
