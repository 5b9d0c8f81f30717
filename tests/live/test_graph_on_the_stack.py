"""One inspection on the real stack (Prefect server, worker, web app) with its mail through Microsoft Graph.

The worker, the web app and the command line sign in with the real MSAL at the local authority and call the local
Graph endpoint of tests/mail/graph_server.py over TLS. The notification starts day 2; the fieldwork timetable's
slots become events in the logistics calendar, each once although the worker is killed while Graph creates one;
a forwarded request and an evidence reply are taken in by the mailbox-intake deployment. The tests run in order on
one stack and one inspection.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from send_inspection.calendar import LONDON
from tests.live.stack import LEASE_SECONDS, LiveStack, start_stack, stop_stack
from tests.mail.graph_server import GraphServer

pytestmark = pytest.mark.timeout(600)

NOTIFIED = "2030-09-02T09:00"  # a Monday far ahead (so deliberately dated): no reminder falls due meanwhile
INSPECTION = "demo-county-2030-09-02"
LOGISTICS = "inspection-logistics@demo-county.example"
COMMS = "send-inspection.comms@demo-county.example"
HOS = ("hos-send", "catherine.lowther@demo-county.example")
COORDINATOR = "leah.marchetti@demo-county.example"
# Graph's back-off ceiling and request timeout for the stack: quick failures, time enough to kill mid-create.
GRAPH_MAX_WAIT, GRAPH_TIMEOUT = 1, 5
TIMETABLE = """Slot,Kind,Title,Date,Start,End,Location,Attendees,Debriefer,Focus
W3-MON-01,leaders-meeting,Meeting with leaders: strategic oversight,16/09/2030,10:00,11:00,Microsoft Teams,\
dir-inclusion; hos-send,hos-send,Governance
W3-MON-02,staff-meeting,Meeting with SENCOs and early years practitioners,16/09/2030,14:00,15:00,\
"Demo House, Room 2.14",hos-education; hos-inclusion,hos-send,Early identification
W3-TUE-01,staff-meeting,Meeting with CAMHS and therapies practitioners,17/09/2030,13:30,14:30,\
"Demo House, Room 2.14",cht-camhs; cht-therapies,hos-send,Waiting times
"""
PDF = b"%PDF-1.4\n1 0 obj << /Title (Annual review audit 2030) >> endobj\n%%EOF\n"


@pytest.fixture(scope="module")
def graph() -> Iterator[GraphServer]:
    """Run the local Graph endpoint and authority for the module's stack."""
    with GraphServer() as server:
        yield server


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, graph: GraphServer) -> Iterator[LiveStack]:
    """Start the Prefect server, the web app and the worker once, with SEND_INSPECTION_MAIL=graph."""
    env = {**graph.env(), "SEND_INSPECTION_GRAPH_MAX_WAIT": str(GRAPH_MAX_WAIT),
           "SEND_INSPECTION_GRAPH_TIMEOUT": str(GRAPH_TIMEOUT)}
    live = start_stack(Path(tmp_path_factory.mktemp("live-graph")), mail="graph", env=env)
    try:
        yield live
    finally:
        stop_stack(live)


def key(*parts: str) -> str:
    """Return a ledger key of the test inspection."""
    return ":".join((INSPECTION, *parts))


def sent(graph: GraphServer) -> Counter[str]:
    """Count the messages Graph accepted to send for the inspection, by ledger key."""
    return Counter(d.key for d in graph.sent if d.key.startswith(f"{INSPECTION}:"))


def message(graph: GraphServer, wanted: str) -> Any:
    """Return the message Graph accepted with this ledger key."""
    found = [d for d in graph.sent if d.key == wanted]
    assert found, f"no message {wanted}; got {sorted(sent(graph))}"
    return found[0]


def token_in(text: str) -> str:
    """Return the personal link token in an email's text."""
    return text.split("/a/", 1)[1].split('"')[0].split()[0].split("<")[0]


def events(graph: GraphServer) -> Counter[str]:
    """Count the events in the logistics calendar by subject."""
    return Counter(e.subject for e in graph.calendar(LOGISTICS))


def test_invitations_go_as_events_each_once_though_the_worker_dies_mid_create(stack: LiveStack, graph: GraphServer,
                                                                               tmp_path: Path) -> None:
    """The notification invites the core group with an event and starts day 2, whose asks go by sendMail; the
    timetable's slots become events; the worker killed while Graph creates the second is replaced, the dead run's
    event is found by its key, and each event exists once, each invitation sent once."""
    stack.cli("start", "--notified-at", NOTIFIED, "--deliberate")
    day2_asks = {key("day2", ref, "submit", "r1", "ask") for ref in ("1.1", "1.2", "1.3")}
    # Day 2's asks are all sent before the worker is killed below: the kill is to catch an event being created.
    stack.wait_for(lambda: day2_asks <= set(sent(graph)), seconds=300, what="day 2's asks through Graph")
    assert events(graph) == {"SEND inspection: core group meeting": 1}
    second = "Meeting with SENCOs and early years practitioners"
    graph.script.hold = lambda method, path, body: (method == "POST" and path.endswith("/events")
                                                   and (body or {}).get("subject") == second)
    try:
        timetable = tmp_path / "timetable.csv"
        timetable.write_text(TIMETABLE)
        stack.cli("timetable", "import", "--inspection", INSPECTION, str(timetable), "--yes")
        # A tick starts the fieldwork phase (as the every-minute schedule would); not waited for, so that the worker
        # is killed while Graph still holds the event's answer, before the client's own timeout.
        stack.start_run("ticker")
        stack.wait_for(lambda: graph.holding is not None, seconds=300, what="Graph creating the second slot's event")
        stack.kill("worker")
        killed_at = time.monotonic()
    finally:
        graph.script.hold = None  # the event exists; its answer goes to a dead process
    assert events(graph)[second] == 1
    rows = dict(stack.query("select key, status from graph_events"))
    # The dead process never heard it was made: still 'creating', or 'uncertain' if its request had timed out first.
    assert rows[key("fieldwork", "W3-MON-02")] in ("creating", "uncertain")

    stack.start_worker()
    time.sleep(max(0.0, killed_at + LEASE_SECONDS + 1 - time.monotonic()))
    # The dead fieldwork run is found by its lease and started afresh (by this tick or the every-minute one); its
    # claim on the event being made is released, so the fresh run looks the event up instead of waiting.
    assert stack.tick()["state"]["type"] == "COMPLETED"
    slots = {"Meeting with leaders: strategic oversight", second, "Meeting with CAMHS and therapies practitioners"}
    stack.wait_for(lambda: slots <= set(events(graph)) and stack.phase(INSPECTION, "fieldwork")[0] == "waiting",
                   seconds=300, what="every slot's event and fieldwork waiting")
    assert events(graph) == {"SEND inspection: core group meeting": 1, **dict.fromkeys(slots, 1)}
    requests = Counter(i.subject for i in graph.invitations if i.kind == "request")
    assert requests == {"SEND inspection: core group meeting": 1, **dict.fromkeys(slots, 1)}
    statuses = dict(stack.query("select key, status from graph_events"))
    assert set(statuses.values()) == {"sent"} and len(statuses) == 4
    [(attempts, error)] = stack.query("select attempts, error from graph_events where key = :k",
                                      k=key("fieldwork", "W3-MON-02"))
    assert attempts >= 2 and error is None  # looked up and found by a later attempt (the event exists once, above)
    core = next(e for e in graph.calendar(LOGISTICS) if e.subject.startswith("SEND inspection"))
    assert core.zone == "GMT Standard Time" and core.start.astimezone(LONDON).hour == 11
    assert all(count == 1 for count in sent(graph).values())
    assert all(d.via == "sendMail" and not d.save_to_sent_items for d in graph.sent)
    assert max(graph.max_in_flight.values()) <= 4


def test_a_forwarded_request_and_an_evidence_reply_are_taken_in_by_the_intake(stack: LiveStack,
                                                                              graph: GraphServer) -> None:
    """A request forwarded to comms becomes request 1, once, and starts its run; the head of service's reply to the
    submit ask, with the file, answers it; each message taken carries the partnership's category."""
    received = datetime(2030, 9, 16, 9, 45, tzinfo=LONDON)  # during fieldwork, after the notification
    body = (f"Head of service: {HOS[0]}\n\n-----Original Message-----\nFrom: Jane Smith HMI "
            "<jane.smith@inspectors.example>\nSent: 16 September 2030 09:40\nSubject: Request for evidence\n\n"
            "Please send the annual review audit for 2030.")
    forward = graph.deliver(COMMS, subject="FW: Request for evidence", sender=COORDINATOR, body=body,
                            received_at=received)
    assert stack.run_now("mailbox-intake")["state"]["type"] == "COMPLETED"
    assert stack.query("select number, head_of_service, recorded_by from evidence_requests") == [
        (1, HOS[0], forward.internet_message_id)]
    confirm = key("request:1", "request-1", "confirm", "r1", "ask")
    stack.wait_for(lambda: confirm in sent(graph), seconds=300, what="request 1's first ask")
    assert stack.answer(token_in(message(graph, confirm).text), "exists", comment="By 14:00").status_code == 200
    submit = key("request:1", "request-1", "submit", "r1", "ask")
    stack.wait_for(lambda: submit in sent(graph), seconds=300, what="request 1's submit ask")

    ask = message(graph, submit)
    [reply_to] = ask.addresses("replyTo")
    graph.deliver(reply_to, subject=f"RE: {ask.message['subject']}", sender=HOS[1], body="Attached.",
                  received_at=received + timedelta(hours=1),
                  attachments=[("Annual review audit.pdf", "application/pdf", PDF)])
    assert stack.run_now("mailbox-intake")["state"]["type"] == "COMPLETED"
    approve = key("request:1", "request-1", "approve", "r1", "ask")
    stack.wait_for(lambda: approve in sent(graph), seconds=300, what="the sign-off ask after the emailed evidence")
    assert stack.query("select d.outcome, d.decided_by from decisions d join register_items r on r.id = d.item_id "
                       "where r.ref = 'request-1' and d.step = 'submit'") == [("submitted", HOS[0])]
    assert stack.query("select filename from submissions") == [("Annual review audit.pdf",)]
    assert [i.categories for i in graph.in_folder(COMMS, "inbox")] == [["SEND inspection: taken in"]]
    assert [i.categories for i in graph.in_folder(reply_to, "inbox")] == [["SEND inspection: taken in"]]
    assert stack.run_now("mailbox-intake")["state"]["type"] == "COMPLETED"  # nothing is taken twice
    assert len(stack.query("select id from evidence_requests")) == 1
    assert all(count == 1 for count in sent(graph).values())
