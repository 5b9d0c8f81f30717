"""Send the invitations, updates and cancellations the timetable left pending on one origin's slots.

Each phase sends for the slots it puts on the timetable: fieldwork for the inspectors' import, each tracked child's
phase for its meetings, keeping in touch for its meetings. The way is the same for all: an email with the .ics
(outbox or SMTP), or an Outlook meeting request from the logistics inbox's calendar when mail goes by EWS or Graph.
Either waits for the partnership's quiet hours to end. A message that fails or is held stays pending, and the next
pass tries again; the ledger's key means nothing goes twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from send_inspection.calendar import to_london
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.mail_retry import MailFailures
from send_inspection.engine.outgoing import compose, when
from send_inspection.fieldwork.invitations import calendar_attachment
from send_inspection.mail.transports import meetings_for


def send_slot_invitations(ctx: EngineContext, inspection_id: str, *, origin: str, key_prefix: str,
                          staff: dict[str, m.Person], now: datetime, mail: MailFailures,
                          wake_times: list[datetime]) -> int:
    """Send what is pending on `origin`'s slots, keyed under `key_prefix`; keep any that fail; return how many went."""
    meetings = meetings_for(ctx.transport, ctx.session,
                            allowed=lambda due: ctx.send_window.may_send_at("slot_invitation", due))
    if meetings is not None:  # real Outlook meeting requests (EWS or Graph) instead of .ics emails
        from send_inspection.fieldwork.slot_meetings import send_slot_meetings

        return send_slot_meetings(ctx, meetings, inspection_id, staff=staff, now=now, mail=mail,
                                  wake_times=wake_times, origin=origin)
    sent = 0
    with ctx.session() as session:
        rows = list(session.scalars(select(m.FieldworkSlot).where(m.FieldworkSlot.inspection_id == inspection_id,
                                                                  m.FieldworkSlot.origin == origin)
                                    .order_by(m.FieldworkSlot.id)))
        for row in rows:
            left = []
            for message in row.pending_calendar or []:
                key = (f"{key_prefix}:calendar:{row.slot_id}:s{message['sequence']}:{message['method']}:"
                       + ",".join(message["to"]))[:300]
                before = len(mail.failures) + len(mail.deferred)
                with mail.guard(key):
                    sent += int(ctx.ledger.send_once(
                        key, lambda row=row, message=message, key=key: compose(
                            ctx, "slot_invitation", key=key, sender_inbox="logistics",
                            to=[staff[p].email for p in message["to"] if p in staff],
                            attachments=(calendar_attachment(message["ics"]),), slot=row,
                            inspectors=row.origin == "timetable",
                            method=message["method"], start=when(row.start_at), end=f"{to_london(row.end_at):%H:%M}"),
                        inspection_id=inspection_id, template="slot_invitation", now=now))
                if len(mail.failures) + len(mail.deferred) > before:  # failed or held back: kept for later
                    left.append(message)
            if left != (row.pending_calendar or []):
                row.pending_calendar = left
        session.commit()
    return sent
