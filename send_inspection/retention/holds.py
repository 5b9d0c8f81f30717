"""Holds on deletion: a complaint about the inspection or a legal hold stops every deletion of its data until lifted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from send_inspection.db import models as m
from send_inspection.retention.plan import Hold

# The kinds of hold, as the coordinator chooses them.
HOLD_KINDS = {"complaint": "a complaint about the inspection", "legal": "a legal hold"}


class HoldRefused(ValueError):
    """A hold cannot be placed or lifted as asked; the message says which field and why (nothing changed)."""


def _check(text: str, field: str) -> str:
    """Return the text given for `field`, stripped, or refuse it when empty."""
    cleaned = " ".join((text or "").split())
    if len(cleaned) < 5:
        raise HoldRefused(f"{field}: say why, in a few words (kept in our database, never sent to Prefect)")
    return cleaned


def place_hold(session: Session, inspection_id: str, *, kind: str, reason: str, by: str,
               now: datetime) -> m.RetentionHold:
    """Record a hold on deleting the inspection's data; refuse an unknown inspection or kind, or no reason."""
    if session.get(m.Inspection, inspection_id) is None:
        raise HoldRefused(f"inspection: there is no inspection {inspection_id!r}")
    if kind not in HOLD_KINDS:
        raise HoldRefused(f"kind: choose one of {', '.join(HOLD_KINDS)}")
    hold = m.RetentionHold(inspection_id=inspection_id, kind=kind, reason=_check(reason, "reason"), placed_by=by,
                           placed_at=now)
    session.add(hold)
    session.flush()
    return hold


def lift_hold(session: Session, inspection_id: str, hold_id: int, *, reason: str, by: str,
              now: datetime) -> m.RetentionHold:
    """Lift a hold in force, saying why; refuse a hold that is not this inspection's or is already lifted."""
    hold = session.get(m.RetentionHold, hold_id)
    if hold is None or hold.inspection_id != inspection_id:
        raise HoldRefused(f"hold: {inspection_id} has no hold {hold_id}")
    if hold.lifted_at is not None:
        raise HoldRefused(f"hold: hold {hold_id} was lifted already")
    hold.lift_reason, hold.lifted_by, hold.lifted_at = _check(reason, "reason"), by, now
    return hold


def holds_in_force(session: Session, inspection_id: str) -> tuple[Hold, ...]:
    """Return the holds in force on the inspection, oldest first."""
    rows = session.scalars(select(m.RetentionHold).where(m.RetentionHold.inspection_id == inspection_id,
                                                         m.RetentionHold.lifted_at.is_(None))
                           .order_by(m.RetentionHold.id))
    return tuple(Hold(id=r.id, kind=r.kind, placed_by=r.placed_by, placed_at=r.placed_at) for r in rows)


def every_hold(session: Session, inspection_id: str) -> list[m.RetentionHold]:
    """Return every hold ever placed on the inspection, in force or lifted, oldest first."""
    return list(session.scalars(select(m.RetentionHold).where(m.RetentionHold.inspection_id == inspection_id)
                                .order_by(m.RetentionHold.id)))
