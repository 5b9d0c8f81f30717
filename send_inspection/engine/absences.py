"""Dated absences in one inspection: while someone is away their deputy is asked instead, from the start."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext


class AbsenceRefused(ValueError):
    """The absence cannot be recorded; the message says which field is wrong. Nothing was recorded."""


@dataclass(frozen=True)
class AbsenceView:
    """An absence as people read it: who, their deputy, from when until when."""

    id: int
    person_key: str
    person_name: str
    deputy_name: str
    from_at: datetime
    until_at: datetime
    recorded_by: str


def absences_of(session: Session, inspection_id: str) -> list[m.Absence]:
    """Return every absence recorded in the inspection, earliest first."""
    return list(session.scalars(select(m.Absence).where(m.Absence.inspection_id == inspection_id)
                                .order_by(m.Absence.from_at, m.Absence.id)))


def covering(absences: list[m.Absence], person_key: str, now: datetime) -> m.Absence | None:
    """Return the absence of `person_key` that covers `now`, if any."""
    return next((a for a in absences if a.person_key == person_key and a.from_at <= now < a.until_at), None)


def next_change(absences: list[m.Absence], person_key: str, now: datetime) -> datetime | None:
    """Return when `person_key` next goes away or comes back after `now` (the chase must look again then)."""
    times = [t for a in absences if a.person_key == person_key for t in (a.from_at, a.until_at) if t > now]
    return min(times, default=None)


def record_absence(ctx: EngineContext, inspection_id: str, person_key: str, *, from_at: datetime,
                   until_at: datetime, recorded_by: str) -> AbsenceView:
    """Record that a person is away from `from_at` until `until_at`; every open phase looks again at once."""
    now = ctx.clock.now()
    if until_at <= from_at:
        raise AbsenceRefused("until: the end of the absence must come after its start")
    if until_at <= now:
        raise AbsenceRefused("until: this absence has already ended")
    with ctx.session() as session:
        person = _person(session, inspection_id, person_key)
        if not person.deputy_key:
            raise AbsenceRefused(f"person: {person.name} has no deputy in partnership.yaml, so nobody could be "
                                 "asked instead; give them one, or change the owner of their items")
        absence = m.Absence(inspection_id=inspection_id, person_key=person_key, from_at=from_at, until_at=until_at,
                            recorded_by=recorded_by, recorded_at=now)
        session.add(absence)
        _flag_open_phases(session, inspection_id, now=now)
        session.commit()
        return _view(session, inspection_id, absence)


def end_absence(ctx: EngineContext, inspection_id: str, absence_id: int) -> AbsenceView:
    """End an absence now (the person is back early); every open phase looks again at once."""
    now = ctx.clock.now()
    with ctx.session() as session:
        absence = session.get(m.Absence, absence_id)
        if absence is None or absence.inspection_id != inspection_id:
            raise AbsenceRefused("this absence is not recorded for this inspection")
        if absence.until_at <= now:
            raise AbsenceRefused("this absence has already ended")
        absence.until_at = max(now, absence.from_at)
        _flag_open_phases(session, inspection_id, now=now)
        session.commit()
        return _view(session, inspection_id, absence)


def absence_views(ctx: EngineContext, inspection_id: str) -> list[AbsenceView]:
    """Return the inspection's absences for people to read."""
    with ctx.session() as session:
        return [_view(session, inspection_id, a) for a in absences_of(session, inspection_id)]


def _person(session: Session, inspection_id: str, person_key: str) -> m.Person:
    person = session.scalars(select(m.Person).where(m.Person.inspection_id == inspection_id,
                                                    m.Person.person_key == person_key)).first()
    if person is None:
        raise AbsenceRefused(f"person: {person_key!r} is not one of this inspection's people")
    return person


def _view(session: Session, inspection_id: str, absence: m.Absence) -> AbsenceView:
    person = _person(session, inspection_id, absence.person_key)
    deputy = _person(session, inspection_id, person.deputy_key) if person.deputy_key else None
    return AbsenceView(id=absence.id, person_key=person.person_key, person_name=person.name,
                       deputy_name=deputy.name if deputy else "nobody", from_at=absence.from_at,
                       until_at=absence.until_at, recorded_by=absence.recorded_by)


def _flag_open_phases(session: Session, inspection_id: str, *, now: datetime) -> None:
    """Tell every unfinished phase of the inspection that something changed, so its next pass plans again."""
    for run in session.scalars(select(m.PhaseRun).where(m.PhaseRun.inspection_id == inspection_id,
                                                        m.PhaseRun.status != "done")):
        run.changes += 1
        run.updated_at = now
