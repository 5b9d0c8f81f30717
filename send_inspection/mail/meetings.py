"""Outlook meeting requests from a shared mailbox's calendar, whichever way Exchange is reached (EWS or Graph).

The engine asks `meetings_for(transport, sessions)` (mail.transports) for the meetings of its mail transport and
gets an object with the `Meetings` interface, or None when mail goes another way (then invitations go as .ics
emails). Each meeting is found by our own key; `send` brings Exchange's meeting to what the meeting is now (a
request, an update of what changed, or nothing) and `cancel` cancels it. Exchange sends the invitations, updates
and cancellations.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from sqlalchemy import update
from sqlalchemy.orm import Session

from send_inspection.mail.ledger import MailDeferred
from send_inspection.mail.transport import MailTransportError

Action = Literal["created", "updated", "unchanged", "cancelled", "busy"]
# The fields of a meeting compared with what was last sent, in the order an update names them.
FIELDS = ("subject", "body", "location", "start", "end", "attendees")
# The named property (PublicStrings set) that carries our key on the organiser's calendar item, by EWS or Graph.
MEETING_KEY_PROPERTY = "SendInspectionMeetingKey"


@dataclass(frozen=True, kw_only=True)
class Meeting:
    """A meeting to request from the shared mailbox's calendar: our key, what, when (aware datetimes), where, who."""

    key: str
    organiser: str
    subject: str
    body: str
    location: str
    start: datetime
    end: datetime
    attendees: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.key or len(self.key) > 300:
            raise ValueError("meeting key: 1 to 300 characters")
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError(f"meeting {self.key}: start and end must be aware datetimes")
        if self.end <= self.start:
            raise ValueError(f"meeting {self.key}: ends before it starts")
        if not self.attendees:
            raise ValueError(f"meeting {self.key}: no attendees")


@dataclass(frozen=True)
class MeetingResult:
    """What one call did to a meeting: created, updated, unchanged, cancelled, or busy (another process has it)."""

    key: str
    action: Action
    # Exchange's id of the meeting: the EWS item id or the Graph event id.
    item_id: str | None
    sequence: int


class Meetings(Protocol):
    """Send, update and cancel meeting requests from a shared mailbox's calendar, finding each by our key."""

    def send(self, meeting: Meeting, *, now: datetime, notify: Literal["changed", "all"] = "changed") -> MeetingResult:
        """Send the meeting request, or an update of what changed since the last one; nothing if nothing changed."""
        ...

    def cancel(self, key: str, *, message: str, now: datetime) -> MeetingResult:
        """Cancel the meeting with our key `key`, sending attendees the cancellation with `message`."""
        ...

    def history(self, base_key: str) -> list[tuple[str, str]]:
        """Return (key, status) of every meeting keyed `base_key` or `base_key#<n>`."""
        ...


class HeldMeetings:
    """A calendar whose requests, updates and cancellations wait for the partnership's quiet hours to end."""

    def __init__(self, meetings: Meetings, *, allowed: Callable[[datetime], datetime]) -> None:
        self._meetings = meetings
        self._allowed = allowed  # when something due now may go

    def _hold(self, key: str, now: datetime) -> None:
        """Raise MailDeferred if nothing may go now: the caller tries again when it says."""
        if (at := self._allowed(now)) > now:
            raise MailDeferred(key, at)

    def send(self, meeting: Meeting, *, now: datetime, notify: Literal["changed", "all"] = "changed") -> MeetingResult:
        """Send the meeting request or its update, unless the quiet hours hold it back (MailDeferred)."""
        self._hold(meeting.key, now)
        return self._meetings.send(meeting, now=now, notify=notify)

    def cancel(self, key: str, *, message: str, now: datetime) -> MeetingResult:
        """Cancel the meeting, unless the quiet hours hold the cancellation back (MailDeferred)."""
        self._hold(key, now)
        return self._meetings.cancel(key, message=message, now=now)

    def history(self, base_key: str) -> list[tuple[str, str]]:
        """Return (key, status) of every meeting keyed `base_key` or `base_key#<n>`."""
        return self._meetings.history(base_key)


def field_digests(*, subject: str, body: str, location: str, start: datetime, end: datetime,
                  attendees: Sequence[str]) -> dict[str, str]:
    """Return a digest of each field as sent (subject and body are never kept themselves)."""
    values = {
        "subject": subject,
        "body": body,
        "location": location,
        # Instants, not how they were written: 10:00+01:00 and 09:00Z are the same start.
        "start": str(start.timestamp()),
        "end": str(end.timestamp()),
        "attendees": "\n".join(sorted(a.casefold() for a in attendees)),
    }
    return {name: hashlib.sha256(value.encode()).hexdigest() for name, value in values.items()}


def meeting_digests(meeting: Meeting) -> dict[str, str]:
    """Return the field digests of `meeting`."""
    return field_digests(subject=meeting.subject, body=meeting.body, location=meeting.location,
                         start=meeting.start, end=meeting.end, attendees=meeting.attendees)


def release_meeting_claims(session: Session, prefix: str, *, claimed_before: datetime, error: str) -> None:
    """Make the meeting creations on keys starting with `prefix` claimed before `claimed_before` uncertain.

    The next attempt then claims them at once and looks each meeting up by its key before creating it, instead of
    waiting for the claim to go stale. Both tables follow the same claim rules (EWS and Graph).
    """
    from send_inspection.db.models import EwsMeeting, GraphEvent

    for table in (EwsMeeting, GraphEvent):
        session.execute(
            update(table)
            .where(table.key.startswith(prefix, autoescape=True), table.status == "creating",
                   table.claimed_at <= claimed_before)
            .values(status="uncertain", error=error)
            .execution_options(synchronize_session=False)
        )


def request_meeting(meetings: Meetings, meeting: Meeting, *, now: datetime) -> bool | None:
    """Bring `meeting` in Exchange to what it is now; return whether anything went, None while another process has it.

    True: the request (or an update) went to the attendees; False: Exchange already has the meeting as it is; None:
    another process is creating it right now (look again later). A meeting that cannot be sent as asked (it was
    cancelled, or is in another mailbox's calendar) is a setting to put right: a MailTransportError not retried.
    """
    try:
        result = meetings.send(meeting, now=now)
    except ValueError as exc:
        raise MailTransportError(str(exc), retryable=False) from exc
    if result.action == "busy":
        return None
    return result.action in ("created", "updated")
