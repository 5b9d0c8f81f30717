"""Phase rows (`phase_runs`): the one module that reads and writes them.

A phase's row says whether it is pending, launched, running, waiting, done or stuck, why it waits and until when,
which Prefect flow run carries it (and that run's last heartbeat), and a counter of news (decisions, links given)
the phase has not yet seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.mail.ledger import release_claims
from send_inspection.mail.meetings import release_meeting_claims
from send_inspection.tokens import close_links

# Fresh runs started in a row for one phase before the ticker stops and leaves it to an operator.
MAX_RECOVERIES = 3
# Phase statuses with a flow run that should be alive or suspended.
CARRIED = ("launched", "running", "waiting")


@dataclass(frozen=True)
class WaitTicket:
    """What a phase needs to wait: the unique key of this wait, or the news that it should not wait."""

    key: str
    go_again: bool
    # The phase is carried by another flow run now (this one was taken for dead and replaced): stop.
    superseded: bool = False


@dataclass(frozen=True)
class CarriedPhase:
    """An unfinished phase and the flow run carrying it, with the last heartbeat of that run's process."""

    inspection_id: str
    phase: str
    flow_run_id: str
    status: str
    heartbeat_at: datetime | None
    recoveries: int


def _row(inspection_id: str, phase: str):  # noqa: ANN202 - a select of one phase's row
    """Return the query of one phase's row."""
    return select(m.PhaseRun).where(m.PhaseRun.inspection_id == inspection_id, m.PhaseRun.phase == phase)


def add_phase(session: Session, inspection_id: str, phase: str, *, now: datetime,
              not_before: datetime | None = None) -> None:
    """Add a pending row for the phase to `session` (to start at `not_before` at the latest); the caller commits."""
    session.add(m.PhaseRun(inspection_id=inspection_id, phase=phase, status="pending", updated_at=now,
                           next_wake_at=not_before))


def ensure_phase(ctx: EngineContext, inspection_id: str, phase: str, *, not_before: datetime | None = None) -> bool:
    """Create the phase's row if it is new (to start at `not_before` at the latest); return whether it was new."""
    with ctx.session() as session:
        if session.scalars(_row(inspection_id, phase)).first() is not None:
            return False
        add_phase(session, inspection_id, phase, now=ctx.clock.now(), not_before=not_before)
        try:
            session.commit()
        except IntegrityError:
            return False
        return True


def get_phase(ctx: EngineContext, inspection_id: str, phase: str) -> m.PhaseRun | None:
    """Return the phase's row, if any."""
    with ctx.session() as session:
        return session.scalars(_row(inspection_id, phase)).first()


def inspection_phases(ctx: EngineContext, inspection_id: str | None = None) -> list[m.PhaseRun]:
    """Return the rows of every phase (of one inspection), in the order they were started."""
    with ctx.session() as session:
        query = select(m.PhaseRun).order_by(m.PhaseRun.id)
        if inspection_id is not None:
            query = query.where(m.PhaseRun.inspection_id == inspection_id)
        return list(session.scalars(query))


def note_news(session: Session, inspection_id: str, phase: str, *, now: datetime | None = None) -> None:
    """Count news for the phase (a decision, links given) in `session`, so it looks again; the caller commits."""
    run = session.scalars(_row(inspection_id, phase)).first()
    if run is not None:
        run.changes += 1
        if now is not None:
            run.updated_at = now


def claim_pass(session: Session, inspection_id: str, phase: str, *, now: datetime) -> None:
    """Mark the phase running and every decision so far as seen by this pass; commit."""
    run = session.scalars(_row(inspection_id, phase)).one()
    run.seen_changes = run.changes
    run.status, run.updated_at = "running", now
    session.commit()


def make_due_now(ctx: EngineContext, inspection_id: str, phase: str) -> None:
    """Let a pending phase start at once (a later start time no longer holds it back)."""
    with ctx.session() as session:
        run = session.scalars(_row(inspection_id, phase)).one()
        if run.status == "pending":
            run.next_wake_at = None
            session.commit()


def record_flow_run(ctx: EngineContext, inspection_id: str, phase: str, flow_run_id: str) -> None:
    """Remember which Prefect flow run carries the phase."""
    with ctx.session() as session:
        run = session.scalars(_row(inspection_id, phase)).one()
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
        run = session.scalars(_row(inspection_id, phase).with_for_update()).one()
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
    """Mark the phase done; when it was the last one open, the inspection's personal links stop working."""
    with ctx.session() as session:
        run = session.scalars(_row(inspection_id, phase)).one()
        run.status, run.reason, run.next_wake_at = "done", reason, None
        run.recoveries = 0
        run.updated_at = ctx.clock.now()
        session.flush()
        still_open = session.scalar(select(m.PhaseRun.id).where(m.PhaseRun.inspection_id == inspection_id,
                                                                m.PhaseRun.status != "done").limit(1))
        if still_open is None:
            close_links(session, inspection_id, now=run.updated_at)
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


def all_done(ctx: EngineContext) -> bool:
    """Say whether every phase of every inspection is done."""
    with ctx.session() as session:
        return session.scalar(select(m.PhaseRun.id).where(m.PhaseRun.status != "done").limit(1)) is None


def next_wake(ctx: EngineContext) -> datetime | None:
    """Return the earliest time a waiting or pending phase is to wake, if any."""
    with ctx.session() as session:
        return session.scalar(
            select(m.PhaseRun.next_wake_at)
            .where(m.PhaseRun.status.in_(("waiting", "pending")), m.PhaseRun.next_wake_at.is_not(None))
            .order_by(m.PhaseRun.next_wake_at)
            .limit(1)
        )


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
    """Hand the phase from its dead run to a fresh one and free the emails and meetings the dead run was sending.

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
        release_claims(session, f"{dead.inspection_id}:{dead.phase}:", claimed_before=claimed_before,
                       error=f"the run sending it ({dead.flow_run_id}) died before it was marked sent")
        # A meeting the dead run was creating may exist: the fresh run looks it up at once instead of waiting.
        release_meeting_claims(session, f"{dead.inspection_id}:{dead.phase}:", claimed_before=claimed_before,
                               error=f"the run creating it ({dead.flow_run_id}) died before it recorded the answer")
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
