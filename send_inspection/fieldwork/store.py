"""Keep the timetable in the database: the inspectors' slots, the partnership's own meetings, and debrief items.

The timetable is one table of slots, each saying who put it there (`origin`): the inspectors' import
("timetable"), a tracked child's meeting ("case:<case id>") or a keeping-in-touch meeting ("kit"). Each origin
saves its own slots (`save_slots`): a slot it no longer lists is cancelled, the others' slots are left be. So a
re-import of the inspectors' timetable merges with the meetings the partnership arranged and cancels none of them.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from send_inspection.catalogue.phases import FIELDWORK
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import people
from send_inspection.engine.named_people import add_named_person, find_by_address, parse_name_and_address
from send_inspection.engine.phase_rows import ensure_phase, note_news
from send_inspection.fieldwork.invitations import CalendarMessage, calendar_messages, sender_for
from send_inspection.fieldwork.timetable import (
    Slot,
    TimetableChanges,
    TimetableProblem,
    TimetableRefused,
    timetable_changes,
)

FIELDWORK_PHASE = FIELDWORK.key
# The origin of the inspectors' slots.
TIMETABLE = "timetable"


class InspectionNotFound(ValueError):
    """The timetable names an inspection the database does not hold (yet); nothing was saved."""


class SlotIdTaken(ValueError):
    """The inspectors' timetable gives a slot the id of one of the partnership's own meetings; nothing was saved."""


def stored_slots(ctx: EngineContext, inspection_id: str, *, origin: str | None = None) -> list[Slot]:
    """Return the timetable as last saved (cancelled slots left out): one origin's slots, or all of them."""
    with ctx.session() as session:
        query = select(m.FieldworkSlot).where(m.FieldworkSlot.inspection_id == inspection_id,
                                              ~m.FieldworkSlot.cancelled)
        if origin is not None:
            query = query.where(m.FieldworkSlot.origin == origin)
        return [_slot(r) for r in session.scalars(query.order_by(m.FieldworkSlot.id))]


def _slot(row: m.FieldworkSlot) -> Slot:
    return Slot(slot_id=row.slot_id, kind=row.kind, title=row.title, start=row.start_at, end=row.end_at,
                location=row.location, attendees=tuple(row.attendees), debriefer=row.debriefer, focus=row.focus)


def _sequences(rows: Iterable[m.FieldworkSlot]) -> dict[str, int]:
    """Return the last SEQUENCE sent for each stored slot."""
    return {row.slot_id: row.version - 1 for row in rows}


def _check_ids(session, inspection_id: str, new: list[Slot], *, file: str) -> None:  # noqa: ANN001
    """Refuse an inspectors' slot given the id of one of the partnership's own meetings on the timetable."""
    ours = dict(session.execute(select(m.FieldworkSlot.slot_id, m.FieldworkSlot.origin).where(
        m.FieldworkSlot.inspection_id == inspection_id, m.FieldworkSlot.origin != TIMETABLE)).all())
    taken = [TimetableProblem(file, f"this id is the partnership's own meeting on the timetable ({ours[s.slot_id]}): "
                                    "give the inspectors' slot another id", column="Slot", slot_id=s.slot_id)
             for s in new if s.slot_id in ours]
    if taken:
        raise TimetableRefused(taken)


def preview_timetable(ctx: EngineContext, inspection_id: str, slots: Iterable[Slot]) -> list[CalendarMessage]:
    """Return the invitations, updates and cancellations saving `slots` would send, without saving anything.

    Someone the timetable names by an address the inspection does not know yet is shown as written.
    """
    new = list(slots)
    with ctx.session() as session:
        if session.get(m.Inspection, inspection_id) is None:
            raise InspectionNotFound(f"no inspection {inspection_id!r} (yet)")
        _check_ids(session, inspection_id, new, file=getattr(slots, "file", "timetable"))
        rows = list(session.scalars(select(m.FieldworkSlot).where(m.FieldworkSlot.inspection_id == inspection_id,
                                                                  m.FieldworkSlot.origin == TIMETABLE)))
        invitees: dict = dict(people(session, inspection_id))
        new = [_named_by_key(session, inspection_id, s, add=None) for s in new]
    invitees |= {ref: named for s in new for ref in (*s.attendees, s.debriefer)
                 if ref and (named := parse_name_and_address(ref)) is not None}
    changes = timetable_changes(stored_slots(ctx, inspection_id, origin=TIMETABLE), new)
    sender = sender_for(ctx.config.partnership, inspection_id=inspection_id, people=invitees)
    return calendar_messages(changes, sender=sender, sequences=_sequences(rows), stamp=ctx.clock.now())


def save_timetable(ctx: EngineContext, inspection_id: str, slots: Iterable[Slot]) -> TimetableChanges:
    """Save a new version of the inspectors' timetable, keep each slot's debrief item in step, and start fieldwork.

    People the timetable names by address (`Name <address>`) are added to the inspection's people, once each. The
    partnership's own meetings (tracked children's, keeping in touch) stay as they are.
    """
    with ctx.session() as session:
        if session.get(m.Inspection, inspection_id) is None:
            raise InspectionNotFound(f"no inspection {inspection_id!r} (yet): check the id with `send-inspection "
                                     "status`; a notification started a moment ago may still be opening it")
    new = list(slots)
    with ctx.session() as session:
        _check_ids(session, inspection_id, new, file=getattr(slots, "file", "timetable"))
        new = [_named_by_key(session, inspection_id, s, add=ctx.config.partnership.roles.coordinator) for s in new]
        session.commit()
    changes = save_slots(ctx, inspection_id, new, origin=TIMETABLE)
    ensure_phase(ctx, inspection_id, FIELDWORK_PHASE)
    _flag(ctx, inspection_id)
    return changes


def _named_by_key(session, inspection_id: str, slot: Slot, *, add: str | None) -> Slot:  # noqa: ANN001
    """Return the slot with everyone it names by address replaced by their key.

    Someone new is added to the inspection's people, escalating to `add` (the coordinator); with `add` None nobody is
    added, and someone new stays as written.
    """
    from dataclasses import replace

    def key(ref: str | None) -> str | None:
        person = parse_name_and_address(ref) if ref and "@" in ref else None
        if person is None:
            return ref
        if add is None:
            return find_by_address(session, inspection_id, person.email) or ref
        return add_named_person(session, inspection_id, person, origin=TIMETABLE, key_prefix=TIMETABLE,
                                escalates_to=add)

    attendees = tuple(dict.fromkeys(str(key(a)) for a in slot.attendees))
    return replace(slot, attendees=attendees, debriefer=key(slot.debriefer))


def save_slots(ctx: EngineContext, inspection_id: str, slots: Iterable[Slot], *, origin: str) -> TimetableChanges:
    """Save the slots `origin` has on the timetable now, and the calendar messages each change needs.

    A slot of `origin` left out is cancelled (its attendees are told); slots of other origins are left be. Nothing is
    written when nothing changed.
    """
    new = list(slots)
    changes = timetable_changes(stored_slots(ctx, inspection_id, origin=origin), new)
    if not changes:
        return changes
    with ctx.session() as session:
        others = dict(session.execute(select(m.FieldworkSlot.slot_id, m.FieldworkSlot.origin).where(
            m.FieldworkSlot.inspection_id == inspection_id, m.FieldworkSlot.origin != origin,
            m.FieldworkSlot.slot_id.in_([s.slot_id for s in new]))).all())
    if others:
        slot_id, other = next(iter(others.items()))
        raise SlotIdTaken(f"slot id {slot_id!r} is already on the timetable ({other}); nothing was saved")
    now = ctx.clock.now()
    lano = ctx.config.partnership.roles.lano
    within = ctx.config.timeline.fieldwork.debrief_within
    with ctx.session() as session:
        sender = sender_for(ctx.config.partnership, inspection_id=inspection_id,
                            people=people(session, inspection_id))
        rows = {r.slot_id: r for r in session.scalars(
            select(m.FieldworkSlot).where(m.FieldworkSlot.inspection_id == inspection_id,
                                          m.FieldworkSlot.origin == origin))}
        items = {i.ref: i for i in session.scalars(select(m.RegisterItem).where(
            m.RegisterItem.inspection_id == inspection_id, m.RegisterItem.phase == FIELDWORK_PHASE))}
        marks = {x.name: x for x in session.scalars(select(m.Milestone).where(
            m.Milestone.inspection_id == inspection_id, m.Milestone.name.startswith("debrief-")))}
        sequences = _sequences(rows.values())
        for slot in new:
            row = rows.get(slot.slot_id)
            if row is None:
                row = m.FieldworkSlot(inspection_id=inspection_id, slot_id=slot.slot_id, version=0,
                                      pending_calendar=[], origin=origin)
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
