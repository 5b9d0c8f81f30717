"""Open an inspection: freeze its milestones, people and register in the database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from send_inspection.calendar import to_london
from send_inspection.catalogue.phases import NOTIFICATION
from send_inspection.config.models import STEPS, PartnershipConfig
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.phase_rows import add_phase, request_start
from send_inspection.engine.start_time import require_start_time
from send_inspection.timeline import compute_timeline

INSPECTION_KINDS = ("full", "monitoring")


def inspection_id_for(config: PartnershipConfig, notified_at: datetime) -> str:
    """Return the readable id of an inspection: partnership id and notification date."""
    return f"{config.partnership.partnership.id}-{to_london(notified_at).date().isoformat()}"


def open_inspection(
    ctx: EngineContext,
    notified_at: datetime,
    *,
    mode: str = "live",
    inspection_id: str | None = None,
    kind: str = "full",
) -> str:
    """Create the inspection with its milestones, people and register, unless it exists; return its id.

    A "monitoring" inspection's register is the focused areas (register.yaml monitoring_items), not Annex A.
    """
    if kind not in INSPECTION_KINDS:
        raise ValueError(f"kind must be one of {', '.join(INSPECTION_KINDS)} (got {kind!r})")
    cfg = ctx.config
    inspection_id = inspection_id or inspection_id_for(cfg, notified_at)
    now = ctx.clock.now()
    with ctx.session() as session:
        if session.get(m.Inspection, inspection_id) is not None:
            return inspection_id
        session.add(
            m.Inspection(
                id=inspection_id,
                partnership_id=cfg.partnership.partnership.id,
                partnership_name=cfg.partnership.partnership.name,
                mode=mode,
                kind=kind,
                notified_at=notified_at,
                created_at=now,
            )
        )
        session.flush()
        timeline = compute_timeline(notified_at, cfg.timeline.rules(), ctx.calendar)
        for name, due in timeline.items():
            session.add(m.Milestone(inspection_id=inspection_id, name=name, due_at=due))
        for p in cfg.partnership.parties():  # the staff, and the parent carer forum, asked and invited by id
            session.add(
                m.Person(
                    inspection_id=inspection_id,
                    person_key=p.id,
                    name=p.name,
                    role=p.role,
                    email=p.email,
                    deputy_key=p.deputy,
                    escalates_to_key=p.escalates_to,
                )
            )
        roles = cfg.partnership.roles
        for item in cfg.annex_a.items_for(kind):
            session.add(
                m.RegisterItem(
                    inspection_id=inspection_id,
                    ref=item.ref,
                    title=item.title,
                    group_name=cfg.annex_a.group(item.group).name,
                    phase=item.phase,
                    evidence_lead=item.evidence_lead,
                    accountable_lead=cfg.annex_a.accountable_lead(item),
                    deadlines={step: cfg.step_milestone(item, step) for step in STEPS},
                    step="submit",
                    round=1,
                    step_started_at=now,
                    waits_for=item.waits_for,
                    step_owners={step: roles.person_for(role)
                                 for step, role in cfg.annex_a.answering_roles(item).items()},
                )
            )
        add_phase(session, inspection_id, NOTIFICATION.key, now=now)
        session.commit()
    return inspection_id


def inspection_exists(ctx: EngineContext, inspection_id: str) -> bool:
    """Say whether the inspection has been opened."""
    with ctx.session() as session:
        return session.get(m.Inspection, inspection_id) is not None


def milestones(session: Session, inspection_id: str) -> dict[str, datetime]:
    """Return the inspection's milestones by name."""
    rows = session.scalars(select(m.Milestone).where(m.Milestone.inspection_id == inspection_id))
    return {row.name: row.due_at for row in rows}


def milestone_at(ctx: EngineContext, inspection_id: str, name: str) -> datetime:
    """Return when the inspection's milestone `name` falls."""
    with ctx.session() as session:
        return session.scalars(select(m.Milestone.due_at).where(m.Milestone.inspection_id == inspection_id,
                                                                 m.Milestone.name == name)).one()


def people(session: Session, inspection_id: str) -> dict[str, m.Person]:
    """Return the inspection's people by key."""
    rows = session.scalars(select(m.Person).where(m.Person.inspection_id == inspection_id))
    return {row.person_key: row for row in rows}


def open_requested(ctx: EngineContext, notified_at: datetime, *, inspection_id: str, kind: str, deliberate: bool,
                   by: str) -> str | None:
    """Check the time of the call, open the inspection and record its start as asked for by `by`, before any run of
    it is recorded (ADR 0003); return the note a deliberate start logs."""
    if kind not in INSPECTION_KINDS:
        raise ValueError(f"kind: choose one of {', '.join(INSPECTION_KINDS)}")
    note = require_start_time(notified_at, clock=ctx.clock, deliberate=deliberate)
    open_inspection(ctx, notified_at, inspection_id=inspection_id, kind=kind)
    request_start(ctx, inspection_id, NOTIFICATION.key, by=by)
    return note
