"""Keep the fieldwork timetable in the database, and a debrief item for every slot that names a debriefer."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from send_inspection.catalogue.phases import FIELDWORK
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.phase_rows import ensure_phase, note_news
from send_inspection.fieldwork.invitations import CalendarMessage, calendar_messages, sender_for
from send_inspection.fieldwork.timetable import Slot, TimetableChanges, timetable_changes

FIELDWORK_PHASE = FIELDWORK.key


class InspectionNotFound(ValueError):
    """The timetable names an inspection the database does not hold (yet); nothing was saved."""


def stored_slots(ctx: EngineContext, inspection_id: str) -> list[Slot]:
    """Return the timetable as last saved (cancelled slots left out)."""
    with ctx.session() as session:
        rows = session.scalars(select(m.FieldworkSlot).where(m.FieldworkSlot.inspection_id == inspection_id,
                                                             ~m.FieldworkSlot.cancelled).order_by(m.FieldworkSlot.id))
        return [_slot(r) for r in rows]


def _slot(row: m.FieldworkSlot) -> Slot:
    return Slot(slot_id=row.slot_id, kind=row.kind, title=row.title, start=row.start_at, end=row.end_at,
                location=row.location, attendees=tuple(row.attendees), debriefer=row.debriefer, focus=row.focus)


def _sequences(rows: Iterable[m.FieldworkSlot]) -> dict[str, int]:
    """Return the last SEQUENCE sent for each stored slot."""
    return {row.slot_id: row.version - 1 for row in rows}


def preview_timetable(ctx: EngineContext, inspection_id: str, slots: Iterable[Slot]) -> list[CalendarMessage]:
    """Return the invitations, updates and cancellations saving `slots` would send, without saving anything."""
    new = list(slots)
    with ctx.session() as session:
        if session.get(m.Inspection, inspection_id) is None:
            raise InspectionNotFound(f"no inspection {inspection_id!r} (yet)")
        rows = list(session.scalars(select(m.FieldworkSlot).where(m.FieldworkSlot.inspection_id == inspection_id)))
    changes = timetable_changes(stored_slots(ctx, inspection_id), new)
    sender = sender_for(ctx.config.partnership, inspection_id=inspection_id)
    return calendar_messages(changes, sender=sender, sequences=_sequences(rows), stamp=ctx.clock.now())


def save_timetable(ctx: EngineContext, inspection_id: str, slots: Iterable[Slot]) -> TimetableChanges:
    """Save a new version of the timetable, keep each slot's debrief item in step, and start fieldwork."""
    new = list(slots)
    with ctx.session() as session:
        if session.get(m.Inspection, inspection_id) is None:
            raise InspectionNotFound(f"no inspection {inspection_id!r} (yet): check the id with `send-inspection "
                                     "status`; a notification started a moment ago may still be opening it")
    changes = timetable_changes(stored_slots(ctx, inspection_id), new)
    now = ctx.clock.now()
    sender = sender_for(ctx.config.partnership, inspection_id=inspection_id)
    lano = ctx.config.partnership.roles.lano
    within = ctx.config.timeline.fieldwork.debrief_within
    with ctx.session() as session:
        rows = {r.slot_id: r for r in session.scalars(
            select(m.FieldworkSlot).where(m.FieldworkSlot.inspection_id == inspection_id))}
        items = {i.ref: i for i in session.scalars(select(m.RegisterItem).where(
            m.RegisterItem.inspection_id == inspection_id, m.RegisterItem.phase == FIELDWORK_PHASE))}
        marks = {x.name: x for x in session.scalars(select(m.Milestone).where(
            m.Milestone.inspection_id == inspection_id, m.Milestone.name.startswith("debrief-")))}
        sequences = _sequences(rows.values())
        for slot in new:
            row = rows.get(slot.slot_id)
            if row is None:
                row = m.FieldworkSlot(inspection_id=inspection_id, slot_id=slot.slot_id, version=0,
                                      pending_calendar=[])
                session.add(row)
                rows[slot.slot_id] = row
            changed = row.version == 0 or row.cancelled or _differs(row, slot)
            row.kind, row.title, row.start_at, row.end_at = slot.kind, slot.title, slot.start, slot.end
            row.location, row.attendees, row.debriefer, row.focus = slot.location, list(slot.attendees), \
                slot.debriefer, slot.focus
            row.cancelled = False
            if changed:
                row.version, row.updated_at = row.version + 1, now
            if slot.debriefer:
                _debrief_item(session, inspection_id, slot, items=items, marks=marks, due=slot.end + within, lano=lano)
        # The invitations, updates and cancellations this version needs, kept with their slot until sent.
        for message in calendar_messages(changes, sender=sender, sequences=sequences, stamp=now):
            target = rows[message.slot_id]
            target.pending_calendar = [*(target.pending_calendar or []), {
                "method": message.method, "sequence": message.sequence, "to": list(message.to), "ics": message.ics}]
        for slot in changes.removed:
            rows[slot.slot_id].cancelled = True
            rows[slot.slot_id].version += 1
            rows[slot.slot_id].updated_at = now
            item = items.get(f"debrief-{slot.slot_id}")
            if item is not None and item.outcome is None:
                item.outcome, item.done_at = "cancelled", now
        session.commit()
    ensure_phase(ctx, inspection_id, FIELDWORK_PHASE)
    _flag(ctx, inspection_id)
    return changes


def _differs(row: m.FieldworkSlot, slot: Slot) -> bool:
    return (row.start_at, row.end_at, row.location, set(row.attendees), row.title) != (
        slot.start, slot.end, slot.location, set(slot.attendees), slot.title)


def _debrief_item(session, inspection_id: str, slot: Slot, *, items: dict, marks: dict, due,  # noqa: ANN001
                  lano: str) -> None:
    """Create or move the slot's debrief item: asked when the slot ends, due `debrief_within` later."""
    name = f"debrief-{slot.slot_id}"
    if name in marks:
        marks[name].due_at = due
    else:
        marks[name] = m.Milestone(inspection_id=inspection_id, name=name, due_at=due)
        session.add(marks[name])
    item = items.get(name)
    if item is None:
        session.add(m.RegisterItem(
            inspection_id=inspection_id, ref=name, title=f"Debrief: {slot.title}"[:300], group_name="Debriefs",
            phase=FIELDWORK_PHASE, evidence_lead=slot.debriefer, accountable_lead=lano, deadlines={"debrief": name},
            step="debrief", round=1, step_started_at=slot.end))
    elif item.outcome is None or item.outcome == "cancelled":
        item.evidence_lead, item.step_started_at = slot.debriefer, slot.end
        item.outcome = item.done_at = None


def _flag(ctx: EngineContext, inspection_id: str) -> None:
    """Make a waiting fieldwork phase look again (the new timetable may need invitations)."""
    with ctx.session() as session:
        note_news(session, inspection_id, FIELDWORK_PHASE)
        session.commit()
