"""Outlook meeting requests from a shared mailbox's calendar through EWS: send, update and cancel, by our own key.

A meeting is saved in the shared mailbox's calendar (so Exchange makes that mailbox the organiser) and the
invitations go out with it (SendToAllAndSaveCopy). Start and end are sent in Europe/London with the
"GMT Standard Time" StartTimeZone/EndTimeZone, so Outlook shows the meeting at its British wall time on either
side of the clock changes.

Each meeting is found again by our own key through the `ews_meetings` table, which keeps the EWS item id and the
change key Exchange returned: a flow re-run, a retry or another process never has to carry EWS ids around (flow
parameters are shown in the Prefect UI) and sends nothing twice. The table also keeps a digest of each field as
last sent, so an update sends only what changed, and a re-run with nothing changed sends nothing.
The key is also written on the calendar item itself (a named property), so a process that died after Exchange
created the meeting but before the table recorded it finds that item again instead of inviting everybody twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Literal

from exchangelib import Attendee, Body, CalendarItem, EWSDateTime, EWSTimeZone, ExtendedProperty, Mailbox
from exchangelib.errors import ErrorIrresolvableConflict, ErrorItemNotFound, ErrorStaleObject
from exchangelib.fields import ExtendedPropertyField
from exchangelib.folders import Calendar, SentItems
from exchangelib.items import (
    ALWAYS_OVERWRITE,
    ID_ONLY,
    SEND_TO_ALL_AND_SAVE_COPY,
    SEND_TO_CHANGED_AND_SAVE_COPY,
    CancelCalendarItem,
)
from exchangelib.properties import ReferenceItemId
from exchangelib.services import GetItem
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from send_inspection.db.models import EwsMeeting
from send_inspection.mail.ews import EwsTransport, mailbox_folder
from send_inspection.mail.meetings import FIELDS as _FIELDS
from send_inspection.mail.meetings import MEETING_KEY_PROPERTY, Meeting, MeetingResult
from send_inspection.mail.meetings import field_digests as _field_digests
from send_inspection.mail.meetings import meeting_digests as _digests
from send_inspection.mail.transport import MailTransportError

log = logging.getLogger(__name__)

LONDON_EWS = EWSTimeZone("Europe/London")
# A claim younger than this belongs to a process that may still be creating the meeting: leave it alone.
STALE_CLAIM = timedelta(minutes=5)



class _MeetingKey(ExtendedProperty):
    """Our meeting key, as a named string property on the calendar item."""

    distinguished_property_set_id = "PublicStrings"
    property_name = MEETING_KEY_PROPERTY
    property_type = "String"


def _fields_with_key() -> object:
    fields = CalendarItem.FIELDS.copy()
    # Extended properties go where the Item schema puts them, after the Item fields, before the calendar ones.
    fields.insert(fields.index_by_name(CalendarItem.INSERT_AFTER_FIELD) + 1,
                  ExtendedPropertyField("meeting_key", value_cls=_MeetingKey))
    return fields


class _KeyedCalendarItem(CalendarItem):
    """A CalendarItem carrying our meeting key; CalendarItem itself is left unchanged."""

    FIELDS = _fields_with_key()


class _KeyedCalendar(Calendar):
    """The calendar folder, reading its items as keyed calendar items (to search by our key)."""

    supported_item_models = (_KeyedCalendarItem,)
    ITEM_MODEL_MAP = {_KeyedCalendarItem.response_tag(): _KeyedCalendarItem}


def _london(moment: datetime) -> EWSDateTime:
    return EWSDateTime.from_datetime(moment).astimezone(LONDON_EWS)


def _attendees(addresses: Sequence[str]) -> list[Attendee]:
    return [Attendee(mailbox=Mailbox(email_address=a), response_type="Unknown") for a in addresses]


class EwsMeetings:
    """Send, update and cancel Outlook meeting requests from a shared mailbox, finding each by our own key."""

    def __init__(self, transport: EwsTransport, sessions: Callable[[], Session]) -> None:
        self.transport = transport
        self._sessions = sessions

    # --- the table ------------------------------------------------------------------------------------------

    def history(self, base_key: str) -> list[tuple[str, str]]:
        """Return (key, status) of every meeting keyed `base_key` or `base_key#<n>`."""
        with self._sessions() as session:
            return [(key, status) for key, status in session.execute(
                select(EwsMeeting.key, EwsMeeting.status).where(or_(
                    EwsMeeting.key == base_key, EwsMeeting.key.startswith(f"{base_key}#", autoescape=True))))]

    def _row(self, key: str) -> EwsMeeting | None:
        with self._sessions() as session:
            return session.scalars(select(EwsMeeting).where(EwsMeeting.key == key)).first()

    def _claim(self, meeting: Meeting, *, now: datetime) -> EwsMeeting | None:
        """Claim the creation of `meeting`; return the claimed row, or None if another process holds it."""
        with self._sessions() as session:
            existing = session.scalars(select(EwsMeeting).where(EwsMeeting.key == meeting.key)).first()
            if existing is None:
                row = EwsMeeting(key=meeting.key, mailbox=meeting.organiser, status="creating", attempts=1,
                                 claimed_at=now, attendees=[], sent_digests={}, sequence=0)
                session.add(row)
                try:
                    session.commit()
                except IntegrityError:
                    session.rollback()
                    return None
                session.refresh(row)
                return row
            if existing.status == "creating" and now - existing.claimed_at < STALE_CLAIM:
                return None
            # Conditional on the attempt count read above: of two processes re-claiming at once, one wins.
            claimed = session.execute(
                update(EwsMeeting)
                .where(EwsMeeting.key == meeting.key, EwsMeeting.attempts == existing.attempts)
                .values(status="creating", claimed_at=now, attempts=existing.attempts + 1)
                .execution_options(synchronize_session=False)
            )
            session.commit()
            if claimed.rowcount != 1:
                return None
            # Read the row as it is now: the session's copy of it still has the attempt count read above.
            return session.scalars(select(EwsMeeting).where(EwsMeeting.key == meeting.key)
                                   .execution_options(populate_existing=True)).one()

    def _record(self, key: str, **values: object) -> EwsMeeting:
        with self._sessions() as session:
            row = session.scalars(select(EwsMeeting).where(EwsMeeting.key == key)).one()
            for name, value in values.items():
                setattr(row, name, value)
            session.commit()
            session.refresh(row)
            return row

    def _record_sent(self, meeting: Meeting, item_id: str, changekey: str, *, now: datetime, sequence: int,
                     created: bool) -> EwsMeeting:
        values: dict[str, object] = {
            "status": "sent", "ews_item_id": item_id, "changekey": changekey, "sequence": sequence,
            "start_at": meeting.start, "end_at": meeting.end, "location": meeting.location,
            "attendees": list(meeting.attendees), "sent_digests": _digests(meeting), "last_sent_at": now,
            "error": None,
        }
        if created:
            values["created_at"] = now
        return self._record(meeting.key, **values)

    # --- EWS ------------------------------------------------------------------------------------------------

    def _find_by_key(self, mailbox: str, key: str) -> CalendarItem | None:
        """Return the calendar item carrying `key` (subject, place, times, attendees), if Exchange has one."""
        account = self.transport.account_for(mailbox)
        calendar = mailbox_folder(account, _KeyedCalendar)
        # Ids only, then GetItem in this folder: asked for more, exchangelib first reads the mailbox's folder tree.
        found = self.transport.call(lambda: list(calendar.filter(meeting_key=key).values_list("id", "changekey")[:2]),
                                    mailbox=mailbox)
        ids = [(item_id, changekey) for item_id, changekey in found if item_id]
        if not ids:
            return None
        if len(ids) > 1:
            log.warning("meeting %s: %d calendar items carry this key; using the first", key, len(ids))
        [item] = self.transport.call(
            lambda: list(account.fetch(ids=ids[:1], folder=calendar,
                                       only_fields=["subject", "location", "start", "end", "required_attendees"])),
            mailbox=mailbox,
        )
        if isinstance(item, Exception):
            raise self.transport.classify(item, mailbox=mailbox)
        return item

    def _create(self, meeting: Meeting) -> tuple[str, str]:
        account = self.transport.account_for(meeting.organiser)
        item = _KeyedCalendarItem(
            account=account,
            folder=mailbox_folder(account, Calendar),
            subject=meeting.subject,
            body=Body(meeting.body),
            location=meeting.location,
            start=_london(meeting.start),
            end=_london(meeting.end),
            required_attendees=_attendees(meeting.attendees),
            is_response_requested=True,
            meeting_key=meeting.key,
        )
        try:
            self.transport.call(lambda: item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY),
                                mailbox=meeting.organiser, recipients=meeting.attendees)
        except MailTransportError:
            raise
        except Exception as exc:  # noqa: BLE001 - exchangelib could not read the answer (no item in it, say)
            raise self._answer_lost(meeting, f"{type(exc).__name__}: {exc}") from exc
        if not item.id:
            raise self._answer_lost(meeting, "no item id in it")
        return item.id, item.changekey

    def _answer_lost(self, meeting: Meeting, what: str) -> MailTransportError:
        """Return the mail problem of a meeting request whose answer could not be read: it may have been created."""
        return MailTransportError(
            f"ews {self.transport.server}: the answer to the meeting request {meeting.key} could not be read ({what}); "
            "the meeting may exist all the same: it is looked for by its key before it is requested again",
            retryable=True)

    def _update(self, meeting: Meeting, row: EwsMeeting, changed: list[str], *, notify: str) -> tuple[str, str]:
        account = self.transport.account_for(meeting.organiser)
        # A plain CalendarItem: exchangelib then also sends StartTimeZone/EndTimeZone with a changed start or end.
        item = CalendarItem(
            account=account,
            folder=mailbox_folder(account, Calendar),
            id=row.ews_item_id,
            changekey=row.changekey,
            subject=meeting.subject,
            body=Body(meeting.body),
            location=meeting.location,
            start=_london(meeting.start),
            end=_london(meeting.end),
            required_attendees=_attendees(meeting.attendees),
        )
        names = {"attendees": "required_attendees"}
        update_fields = [names.get(name, name) for name in changed]
        mode = SEND_TO_ALL_AND_SAVE_COPY if notify == "all" else SEND_TO_CHANGED_AND_SAVE_COPY
        # Our database is the source of truth for what, when and where: overwrite an edit made in Outlook.
        self.transport.call(
            lambda: item.save(update_fields=update_fields, conflict_resolution=ALWAYS_OVERWRITE,
                              send_meeting_invitations=mode),
            mailbox=meeting.organiser, recipients=meeting.attendees,
        )
        return item.id, item.changekey

    def _changekey_now(self, mailbox: str, item_id: str) -> str:
        account = self.transport.account_for(mailbox)
        [fresh] = self.transport.call(
            lambda: list(GetItem(account=account).call(items=[(item_id, None)], additional_fields=None,
                                                       shape=ID_ONLY)),
            mailbox=mailbox,
        )
        if isinstance(fresh, Exception):
            raise self.transport.classify(fresh, mailbox=mailbox)
        return fresh.changekey

    def _send_cancellation(self, row: EwsMeeting, message: str) -> bool:
        """Send the cancellation; return False when the meeting is no longer in the calendar (nothing to cancel)."""
        account = self.transport.account_for(row.mailbox)
        sent_items = mailbox_folder(account, SentItems)

        def cancel(changekey: str | None) -> None:
            item = CancelCalendarItem(account=account,
                                      reference_item_id=ReferenceItemId(id=row.ews_item_id, changekey=changekey),
                                      new_body=Body(message))
            self.transport.call(lambda: item.send(save_copy=True, copy_to_folder=sent_items), mailbox=row.mailbox,
                                recipients=row.attendees)

        try:
            try:
                cancel(row.changekey)
            except MailTransportError as exc:
                if not isinstance(exc.__cause__, ErrorStaleObject | ErrorIrresolvableConflict):
                    raise
                # Someone changed the meeting in Outlook since we last did: cancel the meeting as it is now.
                cancel(self._changekey_now(row.mailbox, str(row.ews_item_id)))
        except MailTransportError as exc:
            if isinstance(exc.__cause__, ErrorItemNotFound):
                # Deleted in Outlook (which told the attendees), or cancelled by an attempt whose answer was lost.
                return False
            raise
        return True

    # --- the interface ----------------------------------------------------------------------------------------

    def send(self, meeting: Meeting, *, now: datetime, notify: Literal["changed", "all"] = "changed") -> MeetingResult:
        """Send the meeting request, or an update of what changed since the last one; nothing if nothing changed.

        With notify="changed" Exchange sends the update to every attendee when the time or the place changed,
        else only to attendees added (and a cancellation to those removed); notify="all" sends it to everyone.
        """
        row = self._row(meeting.key)
        if row is not None and row.status == "cancelled":
            raise ValueError(f"meeting {meeting.key} was cancelled: request it again under a new key")
        if row is not None and row.mailbox.casefold() != meeting.organiser.casefold():
            raise ValueError(f"meeting {meeting.key} is in the calendar of {row.mailbox}, not {meeting.organiser}")
        if row is None or row.status != "sent":
            claimed = self._claim(meeting, now=now)
            if claimed is None:
                return MeetingResult(meeting.key, "busy", None, 0)
            found: CalendarItem | None = None
            if claimed.attempts > 1:
                # An earlier attempt may have created the meeting before it could record it: look for it first.
                found = self._find_by_key(meeting.organiser, meeting.key)
            if found is None:
                try:
                    item_id, changekey = self._create(meeting)
                except Exception as exc:
                    # It may exist all the same (an answer lost on the way back): the next attempt looks first.
                    self._record(meeting.key, status="uncertain", error=str(exc))
                    raise
                self._record_sent(meeting, item_id, changekey, now=now, sequence=0, created=True)
                log.info("meeting %s: requested from %s", meeting.key, meeting.organiser)
                return MeetingResult(meeting.key, "created", item_id, 0)
            log.warning("meeting %s: found in the calendar after an interrupted attempt; not invited again",
                        meeting.key)
            # Compare with what the calendar holds (Exchange reformats bodies: the body is taken as sent).
            sent = _field_digests(
                subject=found.subject or "", body=meeting.body, location=found.location or "", start=found.start,
                end=found.end, attendees=[a.mailbox.email_address for a in found.required_attendees or ()],
            )
            row = self._record(meeting.key, status="sent", ews_item_id=found.id, changekey=found.changekey,
                               created_at=now, sent_digests=sent, error=None)
        digests = _digests(meeting)
        changed = [name for name in _FIELDS if row.sent_digests.get(name) != digests[name]]
        if not changed:
            return MeetingResult(meeting.key, "unchanged", row.ews_item_id, row.sequence)
        item_id, changekey = self._update(meeting, row, changed, notify=notify)
        row = self._record_sent(meeting, item_id, changekey, now=now, sequence=row.sequence + 1, created=False)
        log.info("meeting %s: update sent (%s)", meeting.key, ", ".join(changed))
        return MeetingResult(meeting.key, "updated", item_id, row.sequence)

    def cancel(self, key: str, *, message: str, now: datetime) -> MeetingResult:
        """Cancel the meeting with our key `key`, sending attendees the cancellation with `message`."""
        row = self._row(key)
        if row is None:
            raise KeyError(f"no meeting with the key {key}")
        if row.status == "cancelled":
            return MeetingResult(key, "unchanged", row.ews_item_id, row.sequence)
        if row.status != "sent":
            found = self._find_by_key(row.mailbox, key)
            if found is None:
                # Never created: there is nobody to tell.
                self._record(key, status="cancelled", cancelled_at=now)
                return MeetingResult(key, "cancelled", None, row.sequence)
            row = self._record(key, status="sent", ews_item_id=found.id, changekey=found.changekey,
                               attendees=[a.mailbox.email_address for a in found.required_attendees or ()])
        if self._send_cancellation(row, message):
            self._record(key, status="cancelled", cancelled_at=now, error=None)
            log.info("meeting %s: cancelled", key)
        else:
            self._record(key, status="cancelled", cancelled_at=now,
                         error="no longer in the calendar when cancelled: no cancellation sent by us")
            log.warning("meeting %s: no longer in the calendar of %s; recorded as cancelled", key, row.mailbox)
        return MeetingResult(key, "cancelled", row.ews_item_id, row.sequence)
