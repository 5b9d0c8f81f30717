"""Outlook meeting requests as Graph events, with tokens from the real MSAL, against the local Graph endpoint."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from send_inspection.calendar import LONDON
from send_inspection.db.models import GraphEvent
from send_inspection.mail.graph import GraphTransport
from send_inspection.mail.graph_calendar import KEY_PROPERTY, GraphMeetings, transaction_id
from send_inspection.mail.meetings import Meeting
from send_inspection.mail.transport import MailTransportError
from send_inspection.mail.transports import meetings_for
from tests.mail.graph_server import CLIENT_SECRET, TENANT, GraphServer

LOGISTICS = "inspection-logistics@demo-county.example"
ATTENDEES = ("sam.lead@demo-county.example", "priya.director@demo-county.example")
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
KEY = "insp-1:notification:core-group-meeting"
EVENTS = f"/v1.0/users/{LOGISTICS}/events"


def meetings(server: GraphServer, sessions: Callable[[], Session]) -> GraphMeetings:
    """Return the meetings of the logistics calendar through `server` (a new one is what a new process builds)."""
    transport = GraphTransport(TENANT, "demo-client", secret=CLIENT_SECRET, authority=server.authority,
                               graph_base=server.graph_base, ca_bundle=server.ca_bundle, max_wait=2.0, timeout=5.0)
    found = meetings_for(transport, sessions)
    assert isinstance(found, GraphMeetings)
    return found


def meeting(start: datetime = datetime(2026, 6, 15, 10, 0, tzinfo=LONDON), **overrides: object) -> Meeting:
    """Return the day-1 core group meeting: an hour from `start`, in Room 1, for two attendees."""
    fields: dict[str, object] = {"key": KEY, "organiser": LOGISTICS, "subject": "SEND inspection: core group meeting",
                                 "body": "Agenda: the inspection timetable and the evidence plan.",
                                 "location": "County Hall, Room 1", "start": start, "end": start + timedelta(hours=1),
                                 "attendees": ATTENDEES}
    fields.update(overrides)
    return Meeting(**fields)  # type: ignore[arg-type]


def stored(sessions: Callable[[], Session]) -> GraphEvent:
    """Return the event row for KEY."""
    with sessions() as session:
        return session.scalars(select(GraphEvent).where(GraphEvent.key == KEY)).one()


def graph_calls(server: GraphServer) -> list[str]:
    """Return the Graph requests so far (not the sign-in)."""
    return [r for r in server.requests() if " /v1.0/" in r]


@pytest.mark.parametrize(("start", "wall"), [(datetime(2026, 6, 15, 10, 0, tzinfo=LONDON), "2026-06-15T10:00:00"),
                                             (datetime(2026, 11, 2, 10, 0, tzinfo=LONDON), "2026-11-02T10:00:00")],
                         ids=["BST", "GMT"])
def test_a_meeting_is_one_event_at_its_london_wall_time_with_attendees_key_and_transaction(
        graph_server: GraphServer, sessions: Callable[[], Session], start: datetime, wall: str) -> None:
    """A look-up by key, then one POST of the event in London wall time; Exchange invites the attendees."""
    result = meetings(graph_server, sessions).send(meeting(start), now=NOW)
    assert result.action == "created"
    assert graph_calls(graph_server) == [f"GET {EVENTS}", f"POST {EVENTS}"]
    assert graph_server.seen[-1].prefer == 'IdType="ImmutableId", outlook.timezone="GMT Standard Time"'
    [event] = graph_server.calendar(LOGISTICS)
    assert event.zone == "GMT Standard Time" and event.start == start  # Windows' name for Europe/London
    assert event.start.astimezone(LONDON).strftime("%Y-%m-%dT%H:%M:%S") == wall
    assert (event.subject, event.location, event.attendees) == ("SEND inspection: core group meeting",
                                                                "County Hall, Room 1", list(ATTENDEES))
    assert event.extended == {KEY_PROPERTY: KEY} and event.transaction_id == transaction_id(KEY)
    [invitation] = graph_server.invitations
    assert (invitation.kind, invitation.organizer, invitation.to) == ("request", LOGISTICS, list(ATTENDEES))
    row = stored(sessions)
    assert (row.status, row.event_id, row.change_key, row.sequence) == ("sent", event.id, event.change_key, 0)


def test_the_same_meeting_again_sends_nothing(graph_server: GraphServer, sessions: Callable[[], Session]) -> None:
    """A re-run with an unchanged meeting makes no request: the table knows it was sent."""
    meetings(graph_server, sessions).send(meeting(), now=NOW)
    before = len(graph_calls(graph_server))
    assert meetings(graph_server, sessions).send(meeting(), now=NOW + timedelta(hours=1)).action == "unchanged"
    assert len(graph_calls(graph_server)) == before and len(graph_server.invitations) == 1


def test_an_update_patches_exactly_what_changed(graph_server: GraphServer, sessions: Callable[[], Session]) -> None:
    """Moving the meeting across the clock change PATCHes start and end only; everyone gets the update."""
    adapter = meetings(graph_server, sessions)
    adapter.send(meeting(), now=NOW)
    moved = datetime(2026, 11, 2, 14, 30, tzinfo=LONDON)
    result = adapter.send(meeting(moved), now=NOW + timedelta(days=1))
    assert (result.action, result.sequence) == ("updated", 1)
    [event] = graph_server.calendar(LOGISTICS)
    assert graph_calls(graph_server)[-1] == f"PATCH {EVENTS}/{event.id}"
    assert event.start == moved and event.end == moved + timedelta(hours=1)
    update = graph_server.invitations[-1]
    assert (update.kind, update.to, update.start) == ("update", list(ATTENDEES), moved)
    assert stored(sessions).change_key == event.change_key


def test_a_new_attendee_only_is_invited_and_a_removed_one_told(graph_server: GraphServer,
                                                               sessions: Callable[[], Session]) -> None:
    """Changing only who comes PATCHes the attendees: the one added is invited, the one removed gets a cancellation."""
    adapter = meetings(graph_server, sessions)
    adapter.send(meeting(), now=NOW)
    adapter.send(meeting(attendees=(ATTENDEES[0], "owen.garside@demo-county.example")), now=NOW)
    assert [(i.kind, i.to) for i in graph_server.invitations[1:]] == [
        ("request", ["owen.garside@demo-county.example"]), ("cancellation", [ATTENDEES[1]])]


def test_a_cancellation_is_sent_with_the_message_and_recorded(graph_server: GraphServer,
                                                             sessions: Callable[[], Session]) -> None:
    """cancel posts the event's cancel with our words; the event leaves the calendar; again, nothing is sent."""
    adapter = meetings(graph_server, sessions)
    adapter.send(meeting(), now=NOW)
    result = adapter.cancel(KEY, message="Taken off the timetable.", now=NOW + timedelta(days=1))
    assert result.action == "cancelled"
    assert graph_server.calendar(LOGISTICS) == []
    cancellation = graph_server.invitations[-1]
    assert (cancellation.kind, cancellation.to, cancellation.body) == ("cancellation", list(ATTENDEES),
                                                                       "Taken off the timetable.")
    assert stored(sessions).status == "cancelled"
    assert adapter.cancel(KEY, message="again", now=NOW).action == "unchanged"
    with pytest.raises(ValueError, match="was cancelled"):
        adapter.send(meeting(), now=NOW)


def test_a_meeting_deleted_in_outlook_is_recorded_as_cancelled_without_a_second_notice(
        graph_server: GraphServer, sessions: Callable[[], Session]) -> None:
    """The organiser deleted the event in Outlook (which told everyone): cancel finds it gone and sends nothing."""
    adapter = meetings(graph_server, sessions)
    adapter.send(meeting(), now=NOW)
    graph_server.calendar(LOGISTICS)[0].cancelled = True
    assert adapter.cancel(KEY, message="x", now=NOW).action == "cancelled"
    assert len(graph_server.invitations) == 1
    assert "no longer in the calendar" in (stored(sessions).error or "")


def test_a_lost_answer_is_looked_up_not_created_twice(graph_server: GraphServer,
                                                      sessions: Callable[[], Session]) -> None:
    """Graph creates the event but the answer never comes: a retryable mail problem; the next attempt finds it."""
    graph_server.script.lose_answer = lambda method, path: (method, path) == ("POST", EVENTS)
    with pytest.raises(MailTransportError) as caught:
        meetings(graph_server, sessions).send(meeting(), now=NOW)
    assert caught.value.retryable is True
    assert stored(sessions).status == "uncertain"
    result = meetings(graph_server, sessions).send(meeting(), now=NOW + timedelta(minutes=10))
    assert result.action == "unchanged"
    assert len(graph_server.calendar(LOGISTICS)) == 1 and [i.kind for i in graph_server.invitations] == ["request"]
    row = stored(sessions)
    assert (row.status, row.attempts, row.event_id) == ("sent", 2, graph_server.calendar(LOGISTICS)[0].id)


def test_a_create_received_twice_makes_one_event(graph_server: GraphServer, sessions: Callable[[], Session]) -> None:
    """The same transactionId sent again (a retry Graph already did) gives the same event back, not a second one."""
    adapter = meetings(graph_server, sessions)
    first = adapter._create(meeting(), transaction_id(KEY))
    second = adapter._create(meeting(), transaction_id(KEY))
    assert first["id"] == second["id"] and len(graph_server.calendar(LOGISTICS)) == 1
    assert len(graph_server.invitations) == 1


def test_an_event_made_before_our_table_knew_it_is_found_by_its_key(
        graph_server: GraphServer, sessions: Callable[[], Session]) -> None:
    """An event already carrying the key (made by EWS before the move to Graph, or a lost database) is adopted,
    and only what differs from it is updated."""
    adapter = meetings(graph_server, sessions)
    adapter._create(meeting(location="County Hall, Room 9"), "made-elsewhere")
    result = adapter.send(meeting(), now=NOW)
    assert (result.action, len(graph_server.calendar(LOGISTICS))) == ("updated", 1)
    assert graph_server.calendar(LOGISTICS)[0].location == "County Hall, Room 1"
    assert [i.kind for i in graph_server.invitations] == ["request", "update"]


def test_a_claim_by_a_live_process_is_left_alone_and_a_stale_one_taken_over(
        graph_server: GraphServer, sessions: Callable[[], Session]) -> None:
    """Another process creating the meeting right now: busy; once its claim is older than any call can take: ours."""
    adapter = meetings(graph_server, sessions)
    assert adapter._claim(meeting(), now=NOW) is not None
    assert adapter.send(meeting(), now=NOW + timedelta(seconds=5)).action == "busy"
    assert graph_calls(graph_server) == []
    later = NOW + adapter.stale_claim + timedelta(seconds=1)
    assert adapter.send(meeting(), now=later).action == "created"
    assert stored(sessions).attempts == 2
