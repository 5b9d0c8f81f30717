"""Outlook meeting requests through EWS, with the real exchangelib client, against a local EWS endpoint."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from send_inspection.calendar import LONDON
from send_inspection.db.models import EwsMeeting
from send_inspection.mail.ews import EwsTransport
from send_inspection.mail.ews_calendar import MEETING_KEY_PROPERTY, EwsMeetings, Meeting
from send_inspection.mail.transport import MailTransportError
from tests.mail.ews_server import SOAP, EwsServer, M, T

SHARED = "send.evidence@demo-county.example"
ATTENDEES = ("sam.lead@demo-county.example", "priya.director@demo-county.example")
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
KEY = "insp-1:core-group:day1"


def meetings(server: EwsServer, sessions: Callable[[], Session]) -> EwsMeetings:
    """Return the meetings adapter logging in to `server` as a delegate of the shared mailbox."""
    transport = EwsTransport(server.url, "Exchange2016", auth="basic", username="svc-send", secret="demo-secret",
                             max_wait=2.0)
    return EwsMeetings(transport, sessions)


def meeting(start: datetime = datetime(2026, 6, 15, 10, 0, tzinfo=LONDON), **overrides: object) -> Meeting:
    """Return the day-1 core group meeting: an hour from `start`, in Room 1, for two attendees."""
    fields: dict[str, object] = {
        "key": KEY,
        "organiser": SHARED,
        "subject": "SEND inspection: core group meeting",
        "body": "Agenda: the inspection timetable and the evidence plan.",
        "location": "County Hall, Room 1",
        "start": start,
        "end": start + timedelta(hours=1),
        "attendees": ATTENDEES,
    }
    fields.update(overrides)
    return Meeting(**fields)  # type: ignore[arg-type]


def soap_operation(xml: str) -> ET.Element:
    """Return the operation element (CreateItem, UpdateItem...) of a SOAP request body."""
    body = ET.fromstring(xml).find(f"{{{SOAP}}}Body")
    assert body is not None
    return body[0]


def stored(sessions: Callable[[], Session]) -> EwsMeeting:
    """Return the meeting row for KEY."""
    with sessions() as session:
        return session.scalars(select(EwsMeeting).where(EwsMeeting.key == KEY)).one()


@pytest.mark.parametrize(
    ("start", "wire_start", "wire_end"),
    [
        (datetime(2026, 6, 15, 10, 0, tzinfo=LONDON), "2026-06-15T10:00:00+01:00", "2026-06-15T11:00:00+01:00"),
        (datetime(2026, 11, 2, 10, 0, tzinfo=LONDON), "2026-11-02T10:00:00+00:00", "2026-11-02T11:00:00+00:00"),
    ],
    ids=["BST", "GMT"],
)
def test_meeting_request_carries_london_time_attendees_and_organiser(
    server: EwsServer, sessions: Callable[[], Session], start: datetime, wire_start: str, wire_end: str
) -> None:
    """One CreateItem saves the meeting in the shared calendar at its London wall time and invites everyone."""
    result = meetings(server, sessions).send(meeting(start), now=NOW)
    assert result.action == "created"
    assert server.operations() == ["CreateItem"]
    create = soap_operation(server.requests("CreateItem")[0])
    assert create.get("SendMeetingInvitations") == "SendToAllAndSaveCopy"
    assert create.get("MessageDisposition") == "SaveOnly"
    folder = create.find(f"{{{M}}}SavedItemFolderId/{{{T}}}DistinguishedFolderId")
    assert folder is not None and folder.get("Id") == "calendar"
    assert folder.findtext(f"{{{T}}}Mailbox/{{{T}}}EmailAddress") == SHARED
    item = create.find(f"{{{M}}}Items/{{{T}}}CalendarItem")
    assert item is not None
    assert item.findtext(f"{{{T}}}Start") == wire_start
    assert item.findtext(f"{{{T}}}End") == wire_end
    assert datetime.fromisoformat(wire_start) == start  # the same instant as the slot
    for zone in ("StartTimeZone", "EndTimeZone"):
        element = item.find(f"{{{T}}}{zone}")
        assert element is not None and element.get("Id") == "GMT Standard Time"  # Windows' name for Europe/London
    [entry] = server.calendar.values()
    assert entry.organizer == SHARED
    assert entry.attendees == list(ATTENDEES)
    assert (entry.subject, entry.location) == ("SEND inspection: core group meeting", "County Hall, Room 1")
    assert entry.extended == {MEETING_KEY_PROPERTY: KEY}
    [request] = server.meeting_mail
    assert (request.kind, request.organizer, request.to) == ("request", SHARED, list(ATTENDEES))
    assert server.seen[0].anchor_mailbox == SHARED
    row = stored(sessions)
    assert (row.status, row.ews_item_id, row.changekey, row.sequence) == ("sent", entry.item_id, entry.changekey, 0)


def test_the_same_meeting_again_sends_nothing(server: EwsServer, sessions: Callable[[], Session]) -> None:
    """A re-run with an unchanged meeting makes no request: the table knows it was sent."""
    meetings(server, sessions).send(meeting(), now=NOW)
    result = meetings(server, sessions).send(meeting(), now=NOW + timedelta(hours=1))
    assert result.action == "unchanged"
    assert server.operations() == ["CreateItem"]
    assert len(server.meeting_mail) == 1


def test_update_sends_the_changed_time(server: EwsServer, sessions: Callable[[], Session]) -> None:
    """Moving the slot across the clock change sends an UpdateItem of start and end only, in London time."""
    adapter = meetings(server, sessions)
    adapter.send(meeting(), now=NOW)
    first = stored(sessions)
    moved = meeting(datetime(2026, 11, 2, 14, 30, tzinfo=LONDON))
    result = adapter.send(moved, now=NOW + timedelta(days=1))
    assert (result.action, result.sequence) == ("updated", 1)
    assert server.operations() == ["CreateItem", "UpdateItem"]
    update = soap_operation(server.requests("UpdateItem")[0])
    assert update.get("SendMeetingInvitationsOrCancellations") == "SendToChangedAndSaveCopy"
    change = update.find(f"{{{M}}}ItemChanges/{{{T}}}ItemChange")
    assert change is not None
    item_id = change.find(f"{{{T}}}ItemId")
    assert item_id is not None
    assert (item_id.get("Id"), item_id.get("ChangeKey")) == (first.ews_item_id, first.changekey)
    fields = {
        s.find(f"{{{T}}}FieldURI").get("FieldURI"): s.find(f"{{{T}}}CalendarItem")[0]  # type: ignore[union-attr]
        for s in change.findall(f"{{{T}}}Updates/{{{T}}}SetItemField")
    }
    assert set(fields) == {"calendar:Start", "calendar:End", "calendar:StartTimeZone", "calendar:EndTimeZone"}
    assert fields["calendar:Start"].text == "2026-11-02T14:30:00+00:00"
    assert fields["calendar:End"].text == "2026-11-02T15:30:00+00:00"
    assert fields["calendar:StartTimeZone"].get("Id") == "GMT Standard Time"
    update_mail = server.meeting_mail[-1]
    assert (update_mail.kind, update_mail.to, update_mail.start) == ("update", list(ATTENDEES),
                                                                     "2026-11-02T14:30:00+00:00")
    row = stored(sessions)
    [entry] = server.calendar.values()
    assert (row.changekey, row.sequence) == (entry.changekey, 1)
    assert row.changekey != first.changekey
    assert row.start_at == moved.start


def test_a_new_place_can_be_sent_to_everyone(server: EwsServer, sessions: Callable[[], Session]) -> None:
    """notify="all" sends the update to all attendees, and only the location is set."""
    adapter = meetings(server, sessions)
    adapter.send(meeting(), now=NOW)
    adapter.send(meeting(location="County Hall, Room 2"), now=NOW, notify="all")
    update = soap_operation(server.requests("UpdateItem")[0])
    assert update.get("SendMeetingInvitationsOrCancellations") == "SendToAllAndSaveCopy"
    uris = [uri.get("FieldURI") for uri in update.iter(f"{{{T}}}FieldURI")]
    assert uris == ["calendar:Location"]
    assert server.calendar[stored(sessions).ews_item_id or ""].location == "County Hall, Room 2"


def test_a_cancellation_is_sent(server: EwsServer, sessions: Callable[[], Session]) -> None:
    """Cancelling sends a CancelCalendarItem with our message to every attendee, once; the key cannot come back."""
    adapter = meetings(server, sessions)
    adapter.send(meeting(), now=NOW)
    row = stored(sessions)
    result = adapter.cancel(KEY, message="The inspectors moved the meeting to day 2.", now=NOW)
    assert result.action == "cancelled"
    assert server.operations() == ["CreateItem", "CreateItem"]
    create = soap_operation(server.requests("CreateItem")[1])
    assert create.get("MessageDisposition") == "SendAndSaveCopy"
    copy_folder = create.find(f"{{{M}}}SavedItemFolderId/{{{T}}}DistinguishedFolderId")
    assert copy_folder is not None and copy_folder.get("Id") == "sentitems"
    assert copy_folder.findtext(f"{{{T}}}Mailbox/{{{T}}}EmailAddress") == SHARED
    cancel = create.find(f"{{{M}}}Items/{{{T}}}CancelCalendarItem")
    assert cancel is not None
    reference = cancel.find(f"{{{T}}}ReferenceItemId")
    assert reference is not None
    assert (reference.get("Id"), reference.get("ChangeKey")) == (row.ews_item_id, row.changekey)
    assert cancel.findtext(f"{{{T}}}NewBodyContent") == "The inspectors moved the meeting to day 2."
    cancellation = server.meeting_mail[-1]
    assert (cancellation.kind, cancellation.to) == ("cancellation", list(ATTENDEES))
    assert server.calendar[row.ews_item_id or ""].cancelled is True
    assert stored(sessions).status == "cancelled"
    assert adapter.cancel(KEY, message="again", now=NOW).action == "unchanged"
    assert len(server.operations()) == 2
    with pytest.raises(ValueError, match="cancelled"):
        adapter.send(meeting(), now=NOW)


def test_a_meeting_edited_in_outlook_is_still_cancelled(server: EwsServer, sessions: Callable[[], Session]) -> None:
    """When the stored change key is stale, the cancellation reads the current one and is sent with it."""
    adapter = meetings(server, sessions)
    adapter.send(meeting(), now=NOW)
    current = server.touch(stored(sessions).ews_item_id or "")
    adapter.cancel(KEY, message="Cancelled.", now=NOW)
    assert server.operations() == ["CreateItem", "CreateItem", "GetItem", "CreateItem"]
    retry = soap_operation(server.requests("CreateItem")[-1])
    reference = retry.find(f"{{{M}}}Items/{{{T}}}CancelCalendarItem/{{{T}}}ReferenceItemId")
    assert reference is not None and reference.get("ChangeKey") == current
    assert [mail.kind for mail in server.meeting_mail] == ["request", "cancellation"]


def test_a_meeting_deleted_in_outlook_is_recorded_as_cancelled(
    server: EwsServer, sessions: Callable[[], Session]
) -> None:
    """Cancelling a meeting no longer in the calendar sends nothing more and records it as cancelled."""
    adapter = meetings(server, sessions)
    adapter.send(meeting(), now=NOW)
    server.calendar[stored(sessions).ews_item_id or ""].cancelled = True  # the organiser deleted it in Outlook
    assert adapter.cancel(KEY, message="Cancelled.", now=NOW).action == "cancelled"
    row = stored(sessions)
    assert row.status == "cancelled" and "no longer in the calendar" in (row.error or "")
    assert [mail.kind for mail in server.meeting_mail] == ["request"]


def test_an_interrupted_create_is_found_again_not_sent_twice(
    server: EwsServer, sessions: Callable[[], Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process that dies after Exchange created the meeting leaves a claim; a later run finds the item by key."""
    crashing = meetings(server, sessions)

    def die(*args: object, **kwargs: object) -> None:
        raise SystemExit("killed")

    monkeypatch.setattr(crashing, "_record_sent", die)
    with pytest.raises(SystemExit):
        crashing.send(meeting(), now=NOW)
    assert stored(sessions).status == "creating"
    # A second process within the claim's lifetime leaves it alone.
    assert meetings(server, sessions).send(meeting(), now=NOW + timedelta(minutes=1)).action == "busy"
    result = meetings(server, sessions).send(meeting(), now=NOW + timedelta(minutes=6))
    assert result.action == "unchanged"
    assert server.operations() == ["CreateItem", "FindItem", "GetItem"]
    find = server.requests("FindItem")[0]
    assert f'PropertyName="{MEETING_KEY_PROPERTY}"' in find and f'Value="{KEY}"' in find
    assert [mail.kind for mail in server.meeting_mail] == ["request"]
    [entry] = server.calendar.values()
    assert stored(sessions).ews_item_id == entry.item_id
    # And it is then updated like any other meeting.
    later = meetings(server, sessions).send(meeting(datetime(2026, 6, 16, 10, 0, tzinfo=LONDON)),
                                            now=NOW + timedelta(minutes=7))
    assert later.action == "updated"
    assert server.operations()[-1] == "UpdateItem"


def test_a_refused_request_is_reported_and_looked_for_before_trying_again(
    server: EwsServer, sessions: Callable[[], Session]
) -> None:
    """A refused CreateItem raises a non-retryable error naming the attendees; the next try looks first."""
    server.script.item_error = "ErrorInvalidRecipients"
    adapter = meetings(server, sessions)
    with pytest.raises(MailTransportError) as caught:
        adapter.send(meeting(), now=NOW)
    assert caught.value.retryable is False
    assert caught.value.refused == ATTENDEES
    assert stored(sessions).status == "uncertain"
    server.script.item_error = None
    fixed = dataclasses.replace(meeting(), attendees=(ATTENDEES[0],))
    assert adapter.send(fixed, now=NOW).action == "created"
    assert server.operations() == ["CreateItem", "FindItem", "CreateItem"]
    assert server.meeting_mail[-1].to == [ATTENDEES[0]]


@pytest.mark.parametrize("lost", ["no item id", "garbled", "dropped"])
def test_a_meeting_whose_answer_was_lost_is_looked_for_not_requested_twice(
    server: EwsServer, sessions: Callable[[], Session], lost: str
) -> None:
    """Exchange creates the meeting but its answer has no item id, is not XML or never comes: that is a mail problem
    that may pass, and the next attempt finds the meeting by its key instead of inviting everybody again."""
    server.script.lost_meeting_answer = lost
    with pytest.raises(MailTransportError) as caught:
        meetings(server, sessions).send(meeting(), now=NOW)
    assert caught.value.retryable is True
    assert stored(sessions).status == "uncertain"
    # The next pass, in a new process, long after the claim.
    result = meetings(server, sessions).send(meeting(), now=NOW + timedelta(minutes=10))
    assert result.action == "unchanged"
    assert server.operations() == ["CreateItem", "FindItem", "GetItem"]
    assert [mail.kind for mail in server.meeting_mail] == ["request"]
    [entry] = server.calendar.values()
    row = stored(sessions)
    assert (row.status, row.ews_item_id, row.attempts) == ("sent", entry.item_id, 2)


def test_a_meeting_must_be_complete() -> None:
    """A naive time, an end before the start or no attendees is refused when the meeting is built."""
    with pytest.raises(ValueError, match="aware"):
        meeting(datetime(2026, 6, 15, 10, 0))
    with pytest.raises(ValueError, match="ends before"):
        meeting(end=datetime(2026, 6, 15, 9, 0, tzinfo=LONDON))
    with pytest.raises(ValueError, match="attendees"):
        meeting(attendees=())
