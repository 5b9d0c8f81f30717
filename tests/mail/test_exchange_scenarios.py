"""One table of scenarios run through both ways of reaching Exchange, EWS and Graph, with the same expected outcome.

Each scenario drives the real engine (the day-1 pass, the fieldwork pass, the mailbox intake) with its mail going
through the real client library (exchangelib; MSAL and our Graph client) to the local endpoint of that protocol,
and returns what a person would see: the invitations Exchange sent, the meetings in the logistics calendar, the
requests recorded, the evidence taken, the mark on each message taken. The expected outcome is written once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from send_inspection.calendar import LONDON
from send_inspection.clock import VirtualClock
from send_inspection.config.loader import calendar_for
from send_inspection.config.models import PartnershipConfig
from send_inspection.db import models as m
from send_inspection.engine.additional_requests import reconcile_request, record_request
from send_inspection.engine.context import EngineContext
from send_inspection.engine.fieldwork_phase import reconcile_fieldwork
from send_inspection.engine.inspection import open_inspection
from send_inspection.engine.notification import day_one_pass
from send_inspection.fieldwork.store import save_timetable
from send_inspection.fieldwork.timetable import Slot
from send_inspection.intake.mailboxes import poll_inboxes
from send_inspection.mail.ews import EwsTransport
from send_inspection.mail.graph import GraphTransport
from send_inspection.mail.message import KEY_HEADER
from send_inspection.mail.transport import MailTransport
from send_inspection.web.app import create_app
from tests.conftest import NOTIFIED, fresh_database
from tests.mail.ews_server import EwsServer
from tests.mail.graph_server import CLIENT_SECRET, TENANT, GraphServer

LOGISTICS = "inspection-logistics@demo-county.example"
COMMS = "send-inspection.comms@demo-county.example"
EVIDENCE = "send.evidence@demo-county.example"
CORE_GROUP = ("samantha.cole-brierley@demo-county.example", "margaret.quinlan@demo-icb.nhs.example",
              "simon.oduya@demo-icb.nhs.example", "nadia.pemberton@demo-county.example",
              "owen.garside@demo-county.example", "leah.marchetti@demo-county.example",
              "hannah.merriweather@demo-icb.nhs.example", "tom.blakeley@demo-county.example")
SLOT_PEOPLE = ("catherine.lowther@demo-county.example", "samantha.cole-brierley@demo-county.example")
HOS = ("hos-send", "Catherine Lowther", "catherine.lowther@demo-county.example")
COORDINATOR = "leah.marchetti@demo-county.example"
MARK = "SEND inspection: taken in"
CORE = "SEND inspection: core group meeting"
WEEK2 = datetime(2023, 7, 3, 10, 0, tzinfo=LONDON)
PDF = b"%PDF-1.4\n1 0 obj << /Title (Annual review audit 2023) >> endobj\n%%EOF\n"


def at(day: int, hour: int) -> datetime:
    """Return a London time in July 2023 (week 3 is Monday 10 to Friday 14)."""
    return datetime(2023, 7, day, hour, 0, tzinfo=LONDON)


def slot(slot_id: str, start: datetime) -> Slot:
    """Return an hour's meeting slot with two attendees."""
    return Slot(slot_id=slot_id, kind="leaders-meeting", title=f"Meeting {slot_id} with SEND leaders", start=start,
                end=start + timedelta(hours=1), location="Demo House, Room 2", attendees=("hos-send", "dir-inclusion"),
                debriefer="hos-send", focus="Joint commissioning")


# ---- the two Exchanges, seen the same way ---------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """A message the server accepted to send: its ledger key, subject, text and Reply-To."""

    key: str
    subject: str
    text: str
    reply_to: tuple[str, ...]


class Exchange:
    """What a test sees of, and does to, a local Exchange endpoint, whichever protocol it speaks."""

    name: str

    def transport(self) -> MailTransport:
        """Return the product's transport to this endpoint."""
        raise NotImplementedError

    def invitations(self) -> list[tuple[str, tuple[str, ...], str, datetime]]:
        """Return each meeting message sent: kind, to, subject, start (London)."""
        raise NotImplementedError

    def calendar(self) -> list[tuple[str, datetime]]:
        """Return the meetings in the logistics calendar: subject and start (London), in start order."""
        raise NotImplementedError

    def sent(self) -> list[Sent]:
        """Return the messages sent, in order."""
        raise NotImplementedError

    def deliver(self, mailbox: str, *, subject: str, sender: str, body: str, received_at: datetime,
                attachments: list[tuple[str, str, bytes]] | None = None) -> str:
        """Put a message in a shared inbox; return its Message-ID."""
        raise NotImplementedError

    def marks(self, mailbox: str) -> list[list[str]]:
        """Return the categories of each message in the mailbox's inbox."""
        raise NotImplementedError

    def busy(self, on: bool) -> None:
        """Make the server refuse all work as busy (or stop)."""
        raise NotImplementedError

    def lose_next_meeting_answer(self) -> None:
        """Make the server create the next meeting, then lose its answer."""
        raise NotImplementedError


class Ews(Exchange):
    """The local EWS endpoint, through exchangelib."""

    name = "ews"

    def __init__(self, server: EwsServer) -> None:
        self.server = server

    def transport(self) -> MailTransport:
        """Return an EWS transport logging in as the service account."""
        return EwsTransport(self.server.url, "Exchange2016", auth="basic", username="svc-send", secret="demo-secret",
                            max_wait=1.0)

    def invitations(self) -> list[tuple[str, tuple[str, ...], str, datetime]]:
        """Return each meeting message sent."""
        return [(mail.kind, tuple(mail.to), mail.subject, datetime.fromisoformat(mail.start).astimezone(LONDON))
                for mail in self.server.meeting_mail]

    def calendar(self) -> list[tuple[str, datetime]]:
        """Return the meetings in the calendar."""
        return sorted(((entry.subject, datetime.fromisoformat(entry.start).astimezone(LONDON))
                       for entry in self.server.calendar.values() if not entry.cancelled), key=lambda e: e[1])

    def sent(self) -> list[Sent]:
        """Return the messages sent."""
        return [Sent(item.internet_headers.get(KEY_HEADER, ""), item.subject, item.body, tuple(item.reply_to))
                for item in self.server.sent]

    def deliver(self, mailbox: str, *, subject: str, sender: str, body: str, received_at: datetime,
                attachments: list[tuple[str, str, bytes]] | None = None) -> str:
        """Put a message in the mailbox's inbox."""
        return self.server.deliver(subject=subject, sender=sender, body=body, received_at=received_at,
                                   mailbox=mailbox, attachments=attachments or []).internet_message_id

    def marks(self, mailbox: str) -> list[list[str]]:
        """Return the categories of each message in the mailbox's inbox."""
        return [item.categories for item in self.server.inbox if item.mailbox == mailbox]

    def busy(self, on: bool) -> None:
        """Answer every item ErrorServerBusy."""
        self.server.script.item_error = "ErrorServerBusy" if on else None

    def lose_next_meeting_answer(self) -> None:
        """Create the next meeting, then close the connection without an answer."""
        self.server.script.lost_meeting_answer = "dropped"


class Graph(Exchange):
    """The local Graph endpoint and authority, through MSAL and our Graph client."""

    name = "graph"

    def __init__(self, server: GraphServer) -> None:
        self.server = server

    def transport(self) -> MailTransport:
        """Return a Graph transport signing in with the client secret."""
        return GraphTransport(TENANT, "demo-client", secret=CLIENT_SECRET, authority=self.server.authority,
                              graph_base=self.server.graph_base, ca_bundle=self.server.ca_bundle, max_wait=1.0,
                              timeout=5.0)

    def invitations(self) -> list[tuple[str, tuple[str, ...], str, datetime]]:
        """Return each meeting message sent."""
        return [(i.kind, tuple(i.to), i.subject, i.start.astimezone(LONDON)) for i in self.server.invitations]

    def calendar(self) -> list[tuple[str, datetime]]:
        """Return the meetings in the calendar."""
        return sorted(((e.subject, e.start.astimezone(LONDON)) for e in self.server.calendar(LOGISTICS)),
                      key=lambda e: e[1])

    def sent(self) -> list[Sent]:
        """Return the messages sent."""
        return [Sent(d.key, str(d.message.get("subject", "")), d.text, tuple(d.addresses("replyTo")))
                for d in self.server.sent]

    def deliver(self, mailbox: str, *, subject: str, sender: str, body: str, received_at: datetime,
                attachments: list[tuple[str, str, bytes]] | None = None) -> str:
        """Put a message in the mailbox's inbox."""
        return self.server.deliver(mailbox, subject=subject, sender=sender, body=body, received_at=received_at,
                                   attachments=attachments or []).internet_message_id

    def marks(self, mailbox: str) -> list[list[str]]:
        """Return the categories of each message in the mailbox's inbox."""
        return [item.categories for item in self.server.in_folder(mailbox, "inbox")]

    def busy(self, on: bool) -> None:
        """Answer every Graph request 503 with a Retry-After beyond the ceiling."""
        self.server.script.busy = on

    def lose_next_meeting_answer(self) -> None:
        """Create the next event, then close the connection without an answer."""
        self.server.script.lose_answer = lambda method, path: method == "POST" and path.endswith("/events")


@pytest.fixture(params=["ews", "graph"])
def exchange(request: pytest.FixtureRequest) -> Iterator[Exchange]:
    """Run the scenario against the local EWS endpoint, then against the local Graph endpoint."""
    if request.param == "ews":
        yield Ews(request.getfixturevalue("server"))
    else:
        yield Graph(request.getfixturevalue("graph_server"))


@pytest.fixture
def engine(tmp_path: Path, demo_config: PartnershipConfig, clock: VirtualClock, exchange: Exchange) -> EngineContext:
    """Return an engine context on the Demo County config whose mail goes through `exchange`."""
    return EngineContext(config=demo_config, calendar=calendar_for(demo_config), db_url=fresh_database(tmp_path),
                         clock=clock, transport=exchange.transport(), base_url="http://testserver",
                         uploads_dir=tmp_path / "uploads", check_links=False)


# ---- the scenarios --------------------------------------------------------------------------------------------


def _fieldwork(ctx: EngineContext, slots: list[Slot]) -> tuple[str, int]:
    """Open the inspection, import `slots` at 09:00 on Monday of week 3 and run the fieldwork pass."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    ctx.clock.set(at(10, 9))  # type: ignore[attr-defined]
    save_timetable(ctx, iid, slots)
    return iid, reconcile_fieldwork(ctx, iid).sent


def invitation(ctx: EngineContext, exchange: Exchange) -> object:
    """Day 1 invites the core group; the timetable's slots are invited; passes again send nothing."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    day1 = day_one_pass(ctx, iid)
    ctx.clock.set(at(10, 9))  # type: ignore[attr-defined]
    save_timetable(ctx, iid, [slot("S1", at(10, 10)), slot("S2", at(10, 14))])
    fieldwork = reconcile_fieldwork(ctx, iid)
    again = (day_one_pass(ctx, iid).sent, reconcile_fieldwork(ctx, iid).sent)
    ics = [s.key for s in exchange.sent() if "core-group-meeting" in s.key or "calendar" in s.key]
    return (day1.done, fieldwork.sent, again, exchange.invitations(), exchange.calendar(), ics)


def update(ctx: EngineContext, exchange: Exchange) -> object:
    """S1 moves to 11:00: exactly its meeting is updated, for its attendees; S2 is left alone."""
    iid, _ = _fieldwork(ctx, [slot("S1", at(10, 10)), slot("S2", at(10, 14))])
    save_timetable(ctx, iid, [slot("S1", at(10, 11)), slot("S2", at(10, 14))])
    return (reconcile_fieldwork(ctx, iid).sent, exchange.invitations()[2:], exchange.calendar())


def cancellation(ctx: EngineContext, exchange: Exchange) -> object:
    """S2 is taken off the timetable: its attendees get a cancellation and it leaves the calendar."""
    iid, _ = _fieldwork(ctx, [slot("S1", at(10, 10)), slot("S2", at(10, 14))])
    save_timetable(ctx, iid, [slot("S1", at(10, 10))])
    return (reconcile_fieldwork(ctx, iid).sent, exchange.invitations()[2:], exchange.calendar())


def forwarded_request(ctx: EngineContext, exchange: Exchange) -> object:
    """A request forwarded to the comms inbox is recorded once, for the head of service named; the message is marked."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    ctx.clock.set(WEEK2)  # type: ignore[attr-defined]
    body = (f"Head of service: {HOS[0]}\n\n-----Original Message-----\nFrom: Jane Smith HMI "
            "<jane.smith@inspectors.example>\nSent: 03 July 2023 09:40\nSubject: Request for evidence\n\n"
            "Please send the annual review audit for 2023.")
    exchange.deliver(COMMS, subject="FW: Request for evidence", sender=COORDINATOR, body=body,
                     received_at=WEEK2 - timedelta(minutes=5))
    first = poll_inboxes(ctx, exchange.transport(), inspection_id=iid)
    second = poll_inboxes(ctx, exchange.transport(), inspection_id=iid)  # a restarted process
    with ctx.session() as session:
        requests = [(r.number, r.head_of_service, r.inspector, r.asked)
                    for r in session.scalars(select(m.EvidenceRequest))]
    return (first.recorded, second.recorded, requests, exchange.marks(COMMS))


def evidence_reply(ctx: EngineContext, exchange: Exchange) -> object:
    """The head of service replies to the submit ask with the file: it answers request 1's submit step, once."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    ctx.clock.set(WEEK2)  # type: ignore[attr-defined]
    record_request(ctx, iid, "The annual review audit", inspector="Jane Smith", head_of_service=HOS[0])
    reconcile_request(ctx, iid, 1)
    [confirm] = [s for s in exchange.sent() if s.key == f"{iid}:request:1:request-1:confirm:r1:ask"]
    link = "/a/" + confirm.text.split("/a/", 1)[1].split()[0].split('"')[0]
    answer = {"item_ref": "request-1", "step": "confirm", "round": "1", "outcome": "exists", "comment": "By 14:00"}
    assert TestClient(create_app(ctx)).post(link, data=answer).status_code == 200
    reconcile_request(ctx, iid, 1)
    [ask] = [s for s in exchange.sent() if s.key == f"{iid}:request:1:request-1:submit:r1:ask"]
    exchange.deliver(ask.reply_to[0], subject=f"RE: {ask.subject}", sender=HOS[2], body="Attached.",
                     received_at=WEEK2 + timedelta(minutes=1),
                     attachments=[("Annual review audit.pdf", "application/pdf", PDF)])
    ctx.clock.advance(timedelta(minutes=2))  # type: ignore[attr-defined]
    first = poll_inboxes(ctx, exchange.transport(), inspection_id=iid)
    second = poll_inboxes(ctx, exchange.transport(), inspection_id=iid)
    with ctx.session() as session:
        files = [(s.filename, s.submitted_by) for s in session.scalars(select(m.Submission))]
        step = session.scalars(select(m.RegisterItem.step).where(m.RegisterItem.ref == "request-1")).one()
    return (ask.reply_to, dict(first.outcomes), first.to_wake, dict(second.outcomes), step, files,
            exchange.marks(EVIDENCE))


def busy_server(ctx: EngineContext, exchange: Exchange) -> object:
    """Exchange busy on day 1: nothing is done, the phase tries again in 5 minutes; then the meeting goes, once."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    exchange.busy(True)
    failed = day_one_pass(ctx, iid)
    exchange.busy(False)
    ctx.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    later = day_one_pass(ctx, iid)
    return (failed.done, len(failed.mail_failures), failed.next_wake_at, later.done, later.sent,
            exchange.invitations(), exchange.calendar())


def lost_answer(ctx: EngineContext, exchange: Exchange) -> object:
    """Exchange creates the meeting but the answer is lost: a mail problem; the next pass finds it, invites nobody."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    exchange.lose_next_meeting_answer()
    first = day_one_pass(ctx, iid)
    ctx.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    second = day_one_pass(ctx, iid)
    return (first.done, [f.split(":")[2] for f in first.mail_failures], second.done, second.sent,
            exchange.invitations(), exchange.calendar())


@dataclass(frozen=True)
class Scenario:
    """A scenario, and what it must come to through either protocol."""

    name: str
    run: Callable[[EngineContext, Exchange], object]
    expected: Any


CORE_AT = datetime(2023, 6, 26, 11, 0, tzinfo=LONDON)
SCENARIOS = [
    Scenario("invitation", invitation, (
        True, 2, (0, 0),
        [("request", CORE_GROUP, CORE, CORE_AT),
         ("request", SLOT_PEOPLE, "Meeting S1 with SEND leaders", at(10, 10)),
         ("request", SLOT_PEOPLE, "Meeting S2 with SEND leaders", at(10, 14))],
        [(CORE, CORE_AT), ("Meeting S1 with SEND leaders", at(10, 10)), ("Meeting S2 with SEND leaders", at(10, 14))],
        [])),
    Scenario("update", update, (
        1, [("update", SLOT_PEOPLE, "Meeting S1 with SEND leaders", at(10, 11))],
        [("Meeting S1 with SEND leaders", at(10, 11)), ("Meeting S2 with SEND leaders", at(10, 14))])),
    Scenario("cancellation", cancellation, (
        1, [("cancellation", SLOT_PEOPLE, "Meeting S2 with SEND leaders", at(10, 14))],
        [("Meeting S1 with SEND leaders", at(10, 10))])),
    Scenario("forwarded request", forwarded_request, (
        [1], [], [(1, HOS[0], "Jane Smith HMI", "Please send the annual review audit for 2023.")], [[MARK]])),
    Scenario("evidence reply", evidence_reply, (
        (EVIDENCE,), {"answered": 1}, ["request:1"], {}, "approve", [("Annual review audit.pdf", HOS[0])],
        [[MARK]])),
    Scenario("busy server", busy_server, (
        False, 6, NOTIFIED + timedelta(minutes=5), True, 6, [("request", CORE_GROUP, CORE, CORE_AT)],
        [(CORE, CORE_AT)])),
    Scenario("lost answer", lost_answer, (
        False, ["core-group-meeting"], True, 0, [("request", CORE_GROUP, CORE, CORE_AT)], [(CORE, CORE_AT)])),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_the_scenario_comes_to_the_same_through_ews_and_graph(scenario: Scenario, engine: EngineContext,
                                                              exchange: Exchange) -> None:
    """The scenario, run through this protocol, comes to the outcome written once for both."""
    assert scenario.run(engine, exchange) == scenario.expected
