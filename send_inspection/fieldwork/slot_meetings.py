"""Fieldwork invitations as Outlook meeting requests from the logistics inbox's calendar, when mail goes by Exchange.

The timetable import leaves each changed slot's calendar messages pending (see `store`). With EWS or Graph,
instead of emailing those .ics files, the slot's meeting in the logistics calendar is brought to what the slot is
now: created (the invitation), updated (Exchange sends the update: to everyone when the time or place moved, else
to the attendees added, and a cancellation to those removed) or cancelled. The organiser is the logistics inbox,
as on the .ics messages; the meeting's text is the .ics description.

Each slot's meeting is found by our key, `<inspection>:fieldwork:<slot>`, through the meetings of the transport
(`mail.meetings`); a slot cancelled and later put back gets a new meeting, keyed
`<inspection>:fieldwork:<slot>#<n>`. The pending messages are cleared once Exchange has the slot as it is; on a
failure they stay, and the next pass tries again.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select

from send_inspection.catalogue.phases import FIELDWORK
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.mail_retry import MailFailures
from send_inspection.fieldwork.invitations import CalendarSender, description, sender_for
from send_inspection.fieldwork.timetable import Slot
from send_inspection.mail.ledger import STALE_CLAIM
from send_inspection.mail.meetings import Meeting, Meetings, request_meeting

log = logging.getLogger(__name__)

PHASE = FIELDWORK.key
CANCELLED_MESSAGE = "This meeting with the inspectors has been taken off the fieldwork timetable."


def meeting_key(inspection_id: str, slot_id: str) -> str:
    """Return the key of a slot's first meeting; later ones, after a cancellation, add '#<n>'."""
    return f"{inspection_id}:{PHASE}:{slot_id}"


def _current_key(meetings: Meetings, inspection_id: str, slot_id: str) -> tuple[str, bool]:
    """Return the key of the slot's meeting now, and whether that meeting was ever requested."""
    base = meeting_key(inspection_id, slot_id)
    rows = meetings.history(base)
    cancelled = sum(1 for _, status in rows if status == "cancelled")
    key = base if cancelled == 0 else f"{base}#{cancelled}"
    return key, any(row_key == key for row_key, _ in rows)


def _meeting(row: m.FieldworkSlot, key: str, *, sender: CalendarSender, staff: dict[str, m.Person]) -> Meeting:
    slot = Slot(slot_id=row.slot_id, kind=row.kind, title=row.title, start=row.start_at, end=row.end_at,
                location=row.location, attendees=tuple(row.attendees), debriefer=row.debriefer, focus=row.focus)
    return Meeting(key=key, organiser=sender.organizer, subject=row.title, body=description(slot, sender=sender),
                   location=row.location, start=row.start_at, end=row.end_at,
                   attendees=tuple(staff[p].email for p in row.attendees if p in staff))


def _bring_up_to_date(meetings: Meetings, row: m.FieldworkSlot, *, sender: CalendarSender,
                      staff: dict[str, m.Person], now: datetime) -> bool | None:
    """Make the slot's meeting what the slot is now; return whether anything was sent, None if it must wait."""
    key, requested = _current_key(meetings, row.inspection_id, row.slot_id)
    if row.cancelled:
        if not requested:
            return False  # never requested: nobody to tell
        return meetings.cancel(key, message=CANCELLED_MESSAGE, now=now).action == "cancelled"
    if not any(p in staff for p in row.attendees):
        return False
    return request_meeting(meetings, _meeting(row, key, sender=sender, staff=staff), now=now)


def send_slot_meetings(ctx: EngineContext, meetings: Meetings, inspection_id: str, *, staff: dict[str, m.Person],
                       now: datetime, mail: MailFailures, wake_times: list[datetime], origin: str | None = None) -> int:
    """Send each slot's (of `origin`'s) pending invitation, update or cancellation as an Outlook meeting.

    One that fails stays pending. A slot whose meeting another process is creating right now (or was, when it
    died) is looked at again once that process's claim would be stale (STALE_CLAIM), added to `wake_times`.
    """
    sender = sender_for(ctx.config.partnership, inspection_id=inspection_id, people=staff)
    with ctx.session() as session:
        query = select(m.FieldworkSlot).where(m.FieldworkSlot.inspection_id == inspection_id)
        if origin is not None:
            query = query.where(m.FieldworkSlot.origin == origin)
        rows = [row for row in session.scalars(query.order_by(m.FieldworkSlot.id)) if row.pending_calendar]
    sent = 0
    for row in rows:
        done: bool | None = None
        before = len(mail.failures)
        with mail.guard(meeting_key(inspection_id, row.slot_id)):
            done = _bring_up_to_date(meetings, row, sender=sender, staff=staff, now=now)
        if done is None:
            wake_times.append(now + STALE_CLAIM)
        if len(mail.failures) > before or done is None:
            continue
        sent += int(done)
        _clear(ctx, row.id, handled=list(row.pending_calendar))
        log.info("slot %s: meeting %s", row.slot_id, "sent" if done else "already up to date")
    return sent


def _clear(ctx: EngineContext, row_id: int, *, handled: list[dict]) -> None:
    """Drop the pending messages just handled, keeping any an import added meanwhile."""
    with ctx.session() as session:
        row = session.get(m.FieldworkSlot, row_id)
        assert row is not None
        pending = list(row.pending_calendar or [])
        row.pending_calendar = pending[len(handled):] if pending[:len(handled)] == handled else pending
        session.commit()
