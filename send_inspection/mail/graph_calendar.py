"""Outlook meeting requests as events of a shared mailbox's calendar through Microsoft Graph, by our own key.

An event created in the shared mailbox's calendar with attendees makes that mailbox the organiser, and Exchange
sends the invitations; a PATCH of the event sends the update (Exchange tells everyone of a new time, place or
text, and the attendees added or removed); cancel sends the cancellation and takes the event off the calendar.
Times go as London wall time in "GMT Standard Time", Windows' name for Europe/London, so Outlook shows the meeting
at its British time on either side of the clock changes.

Each meeting is found again by our key through the `graph_events` table (event id, change key, what was last
sent, as digests): a re-run with nothing changed sends nothing, an update sends only the fields that changed.
The key is also written on the event itself, in the same named property as the EWS meetings carry, and every
create is preceded by a look-up of that key: an event made by an attempt whose answer was lost, by a process that
died before it could record it, or by EWS before the partnership moved to Graph, is found instead of created
again. The create carries a transactionId made from the key, so Graph makes no second event for a create it
receives twice.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from send_inspection.calendar import to_london
from send_inspection.db.models import GraphEvent
from send_inspection.mail.graph import GraphTransport, property_filter
from send_inspection.mail.graph_client import error_of
from send_inspection.mail.meetings import (
    FIELDS,
    MEETING_KEY_PROPERTY,
    Meeting,
    MeetingResult,
    field_digests,
    meeting_digests,
)

log = logging.getLogger(__name__)

# Windows' name of Europe/London, which every Exchange calendar method takes.
LONDON_WINDOWS = "GMT Standard Time"
LONDON = ZoneInfo("Europe/London")
# Graph's id of our key's named property: the PublicStrings set, as EWS names it.
KEY_PROPERTY = f"String {{00020329-0000-0000-C000-000000000046}} Name {MEETING_KEY_PROPERTY}"
CALENDARS = "Calendars.ReadWrite"
TRANSACTIONS = uuid.UUID("5e7d1a52-3c0e-4b8e-9d55-6f1f2f0f7a11")  # the namespace of our transactionIds
# Added to the longest one Graph call can take: a claim older than that belongs to a process that is gone.
CLAIM_MARGIN = timedelta(seconds=10)
_SELECT = "id,changeKey,subject,start,end,location,attendees"


def transaction_id(key: str) -> str:
    """Return the transactionId of the create of the meeting keyed `key` (the same for every attempt)."""
    return str(uuid.uuid5(TRANSACTIONS, key))


def _wall(moment: datetime) -> dict[str, str]:
    return {"dateTime": to_london(moment).replace(tzinfo=None).isoformat(timespec="seconds"),
            "timeZone": LONDON_WINDOWS}


def _moment(value: dict[str, str]) -> datetime:
    """Return the aware time of a dateTimeTimeZone answered in London time (Prefer: outlook.timezone)."""
    zone = value.get("timeZone")
    if zone not in (LONDON_WINDOWS, "Europe/London"):
        raise ValueError(f"a time in {zone!r}, not London time as asked")
    return datetime.fromisoformat(value["dateTime"].split(".")[0]).replace(tzinfo=LONDON)


def _fields(meeting: Meeting) -> dict[str, Any]:
    """Return each field of `meeting` as Graph's event resource writes it."""
    return {
        "subject": {"subject": meeting.subject},
        "body": {"body": {"contentType": "text", "content": meeting.body}},
        "location": {"location": {"displayName": meeting.location}},
        "start": {"start": _wall(meeting.start)},
        "end": {"end": _wall(meeting.end)},
        "attendees": {"attendees": [{"emailAddress": {"address": a}, "type": "required"}
                                    for a in meeting.attendees]},
    }


class GraphMeetings:
    """Send, update and cancel Outlook meeting requests as Graph events, finding each by our own key."""

    def __init__(self, transport: GraphTransport, sessions: Callable[[], Session]) -> None:
        self.client = transport.client
        self._sessions = sessions
        self.stale_claim = timedelta(seconds=self.client.longest_call) + CLAIM_MARGIN

    # --- the table ------------------------------------------------------------------------------------------

    def history(self, base_key: str) -> list[tuple[str, str]]:
        """Return (key, status) of every meeting keyed `base_key` or `base_key#<n>`."""
        with self._sessions() as session:
            return [(key, status) for key, status in session.execute(
                select(GraphEvent.key, GraphEvent.status).where(or_(
                    GraphEvent.key == base_key, GraphEvent.key.startswith(f"{base_key}#", autoescape=True))))]

    def _row(self, key: str) -> GraphEvent | None:
        with self._sessions() as session:
            return session.scalars(select(GraphEvent).where(GraphEvent.key == key)
                                   .execution_options(populate_existing=True)).first()

    def _claim(self, meeting: Meeting, *, now: datetime) -> GraphEvent | None:
        """Claim the creation of `meeting`; return the claimed row, or None while another process holds it."""
        with self._sessions() as session:
            session.add(GraphEvent(key=meeting.key, mailbox=meeting.organiser, status="creating", attempts=1,
                                   transaction_id=transaction_id(meeting.key), claimed_at=now, attendees=[],
                                   sent_digests={}, sequence=0))
            try:
                session.commit()
                return self._row(meeting.key)
            except IntegrityError:
                session.rollback()
        row = self._row(meeting.key)
        assert row is not None
        if row.status == "creating" and now - row.claimed_at < self.stale_claim:
            return None
        with self._sessions() as session:
            # Conditional on the attempt count read above: of two processes claiming at once, one wins.
            claimed = session.execute(
                update(GraphEvent).where(GraphEvent.key == meeting.key, GraphEvent.attempts == row.attempts)
                .values(status="creating", claimed_at=now, attempts=row.attempts + 1)
                .execution_options(synchronize_session=False))
            session.commit()
        return self._row(meeting.key) if claimed.rowcount == 1 else None

    def _record(self, key: str, **values: object) -> GraphEvent:
        with self._sessions() as session:
            session.execute(update(GraphEvent).where(GraphEvent.key == key).values(**values)
                            .execution_options(synchronize_session=False))
            session.commit()
        row = self._row(key)
        assert row is not None
        return row

    def _record_sent(self, meeting: Meeting, event: dict[str, Any], *, now: datetime, sequence: int,
                     created: bool) -> GraphEvent:
        values: dict[str, object] = {
            "status": "sent", "event_id": event["id"], "change_key": event.get("changeKey"), "sequence": sequence,
            "start_at": meeting.start, "end_at": meeting.end, "location": meeting.location,
            "attendees": list(meeting.attendees), "sent_digests": meeting_digests(meeting), "last_sent_at": now,
            "error": None,
        }
        if created:
            values["created_at"] = now
        return self._record(meeting.key, **values)

    # --- Graph ----------------------------------------------------------------------------------------------

    def _events_url(self, mailbox: str, path: str = "") -> str:
        return self.client.user_url(mailbox, f"/events{path}")

    def _call(self, method: str, url: str, *, mailbox: str, **kwargs: Any) -> Any:
        headers = {"Prefer": f'outlook.timezone="{LONDON_WINDOWS}"'}
        return self.client.call(method, url, mailbox=mailbox, needs=CALENDARS, headers=headers, **kwargs)

    def _find_by_key(self, mailbox: str, key: str) -> dict[str, Any] | None:
        """Return the event carrying `key` in the mailbox's calendar, if there is one."""
        found = self._call("GET", self._events_url(mailbox), mailbox=mailbox,
                           params={"$filter": property_filter(KEY_PROPERTY, key), "$select": _SELECT}).json()
        events = found.get("value", [])
        if len(events) > 1:
            log.warning("meeting %s: %d events carry this key; using the first", key, len(events))
        return events[0] if events else None

    def _create(self, meeting: Meeting, transaction: str) -> dict[str, Any]:
        body: dict[str, Any] = {}
        for part in _fields(meeting).values():
            body.update(part)
        body.update({"responseRequested": True, "transactionId": transaction,
                     "singleValueExtendedProperties": [{"id": KEY_PROPERTY, "value": meeting.key}]})
        event = self._call("POST", self._events_url(meeting.organiser), mailbox=meeting.organiser, json=body,
                           recipients=meeting.attendees).json()
        if not event.get("id"):
            raise self.client.fail(f"the answer to the meeting request {meeting.key} has no event id; it may exist "
                                   "all the same: it is looked for by its key before it is requested again",
                                   retryable=True)
        return event

    def _update(self, meeting: Meeting, row: GraphEvent, changed: list[str]) -> dict[str, Any]:
        body: dict[str, Any] = {}
        fields = _fields(meeting)
        for name in changed:
            body.update(fields[name])
        # Our database is the source of truth for what, when and where: an edit made in Outlook is overwritten.
        return self._call("PATCH", self._events_url(meeting.organiser, f"/{row.event_id}"), mailbox=meeting.organiser,
                          json=body, recipients=meeting.attendees).json()

    # --- the interface ----------------------------------------------------------------------------------------

    def send(self, meeting: Meeting, *, now: datetime, notify: Literal["changed", "all"] = "changed") -> MeetingResult:
        """Send the meeting request, or an update of what changed since the last one; nothing if nothing changed.

        Exchange decides who an update goes to (`notify` is for EWS, which lets the sender choose): everyone when
        the meeting itself changed, else the attendees added (and a cancellation to those removed).
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
            try:
                # Looked for before any create: made by an attempt that lost its answer or died, or made by EWS.
                found = self._find_by_key(meeting.organiser, meeting.key)
                if found is None:
                    event = self._create(meeting, claimed.transaction_id)
                    self._record_sent(meeting, event, now=now, sequence=0, created=True)
                    log.info("meeting %s: requested from %s", meeting.key, meeting.organiser)
                    return MeetingResult(meeting.key, "created", event["id"], 0)
            except Exception as exc:
                # It may exist all the same (an answer lost on the way back): the next attempt looks first.
                self._record(meeting.key, status="uncertain", error=f"{type(exc).__name__}: {exc}"[:2000])
                raise
            if claimed.attempts > 1:
                log.warning("meeting %s: found in the calendar after an interrupted attempt; not invited again",
                            meeting.key)
            # Compare with what the calendar holds (Exchange reformats bodies: the body is taken as sent).
            sent = field_digests(
                subject=found.get("subject") or "", body=meeting.body,
                location=(found.get("location") or {}).get("displayName") or "", start=_moment(found["start"]),
                end=_moment(found["end"]),
                attendees=[a["emailAddress"]["address"] for a in found.get("attendees") or ()])
            row = self._record(meeting.key, status="sent", event_id=found["id"], change_key=found.get("changeKey"),
                               created_at=now, sent_digests=sent, error=None)
        digests = meeting_digests(meeting)
        changed = [name for name in FIELDS if row.sent_digests.get(name) != digests[name]]
        if not changed:
            return MeetingResult(meeting.key, "unchanged", row.event_id, row.sequence)
        event = self._update(meeting, row, changed)
        row = self._record_sent(meeting, event, now=now, sequence=row.sequence + 1, created=False)
        log.info("meeting %s: update sent (%s)", meeting.key, ", ".join(changed))
        return MeetingResult(meeting.key, "updated", row.event_id, row.sequence)

    def cancel(self, key: str, *, message: str, now: datetime) -> MeetingResult:
        """Cancel the meeting with our key `key`, sending attendees the cancellation with `message`."""
        row = self._row(key)
        if row is None:
            raise KeyError(f"no meeting with the key {key}")
        if row.status == "cancelled":
            return MeetingResult(key, "unchanged", row.event_id, row.sequence)
        if row.status != "sent":
            found = self._find_by_key(row.mailbox, key)
            if found is None:
                # Never created: there is nobody to tell.
                self._record(key, status="cancelled", cancelled_at=now)
                return MeetingResult(key, "cancelled", None, row.sequence)
            row = self._record(key, status="sent", event_id=found["id"], change_key=found.get("changeKey"),
                               attendees=[a["emailAddress"]["address"] for a in found.get("attendees") or ()])
        answer = self._call("POST", self._events_url(row.mailbox, f"/{row.event_id}/cancel"), mailbox=row.mailbox,
                            json={"Comment": message}, allow=(404,), recipients=tuple(row.attendees))
        if answer.status_code == 404 and error_of(answer)[0] != "ErrorItemNotFound":
            raise self.client.refusal(answer, mailbox=row.mailbox, needs=CALENDARS)
        if answer.status_code == 404:
            # Deleted in Outlook (which told the attendees), or cancelled by an attempt whose answer was lost.
            self._record(key, status="cancelled", cancelled_at=now,
                         error="no longer in the calendar when cancelled: no cancellation sent by us")
            log.warning("meeting %s: no longer in the calendar of %s; recorded as cancelled", key, row.mailbox)
        else:
            self._record(key, status="cancelled", cancelled_at=now, error=None)
            log.info("meeting %s: cancelled", key)
        return MeetingResult(key, "cancelled", row.event_id, row.sequence)

