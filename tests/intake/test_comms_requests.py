"""Inspectors' requests forwarded to the comms inbox, taken through EWS (real exchangelib, local endpoint)."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from send_inspection.calendar import to_london
from send_inspection.db import models as m
from send_inspection.engine.additional_requests import reconcile_request
from send_inspection.engine.context import EngineContext
from send_inspection.engine.phase_rows import get_phase
from send_inspection.intake.comms_requests import message_marker, record_forwarded
from send_inspection.intake.handled import Handled
from send_inspection.intake.mailboxes import HANDLERS, poll_inboxes
from send_inspection.mail.ews import EwsTransport
from send_inspection.mail.outbox import outbox_id_for, read_outbox_message
from send_inspection.mail.received import ReceivedMessage
from tests.helpers import assert_reads_as_reviewed
from tests.intake.conftest import COMMS, COORDINATOR, EVIDENCE, HOS, LANO, MONDAY, received
from tests.mail.ews_server import EwsServer

REQUEST = "Please send the annual review audit for 2023, with its action plan."
INSPECTOR = ("Jane Smith", "jane.smith@inspectors.example")


def forward(server: EwsServer, note: str, *, minutes: int = 5, sender: tuple[str, str, str] = COORDINATOR,
            subject: str = "FW: Request for evidence", message_id: str | None = None) -> str:
    """Deliver to the comms inbox a forward of the inspector's request with `note` above it; return its id."""
    body = (f"{note}\n\n________________________________\nFrom: {INSPECTOR[0]} <{INSPECTOR[1]}>\n"
            f"Sent: Monday, July 3, 2023 9:41 AM\nTo: {LANO[1]} <{LANO[2]}>\nSubject: Request for evidence\n\n"
            f"{REQUEST}\n")
    item = server.deliver(subject=subject, sender=sender[2], sender_name=sender[1], body=body, mailbox=COMMS,
                          received_at=MONDAY - timedelta(minutes=30) + timedelta(minutes=minutes),
                          internet_message_id=message_id)
    return item.internet_message_id


def requests(ctx: EngineContext) -> list[m.EvidenceRequest]:
    """Return every additional evidence request, by number."""
    with ctx.session() as session:
        return list(session.scalars(select(m.EvidenceRequest).order_by(m.EvidenceRequest.number)))


def notices(ctx: EngineContext) -> list[m.EmailRecord]:
    """Return the ledger rows of the missing-head-of-service notices."""
    with ctx.session() as session:
        return list(session.scalars(select(m.EmailRecord).where(
            m.EmailRecord.template == "request_head_of_service_missing").order_by(m.EmailRecord.id)))


def test_a_forwarded_request_starts_one_request_however_often_it_is_polled(
        ctx: EngineContext, inspection: str, server: EwsServer, transport: EwsTransport,
        caplog: pytest.LogCaptureFixture) -> None:
    """One forward records one request, whether polled twice, by a restarted process or handed over again."""
    caplog.set_level(logging.DEBUG, logger="send_inspection")
    message_id = forward(server, f"Head of service: {HOS[0]}")
    first = poll_inboxes(ctx, transport, inspection_id=inspection)
    assert (first.recorded, first.handed_over) == ([1], {"comms": 1, "evidence": 0})
    [request] = requests(ctx)
    assert (request.number, request.source, request.recorded_by) == (1, "email", message_id)
    assert (request.head_of_service, request.inspector, request.asked) == (HOS[0], INSPECTOR[0], REQUEST)
    assert request.received_at == MONDAY
    phase = get_phase(ctx, inspection, "request:1")
    assert phase is not None and phase.status == "pending"  # the ticker (or the intake task) starts its run
    again = poll_inboxes(ctx, transport, inspection_id=inspection)
    restarted = EwsTransport(server.url, "Exchange2016", auth="basic", username="svc-send", secret="demo-secret")
    after_restart = poll_inboxes(ctx, restarted, inspection_id=inspection)
    assert again.recorded == after_restart.recorded == [] and again.handed_over["comms"] == 0
    with ctx.session() as session:  # a process that died before the inbox table noted the message
        session.execute(delete(m.InboxMessage))
        session.commit()
    handed_again = poll_inboxes(ctx, transport, inspection_id=inspection)
    assert (handed_again.handed_over["comms"], dict(handed_again.outcomes)) == (1, {"duplicate": 1})
    assert len(requests(ctx)) == 1 and notices(ctx) == []
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert message_id in logged  # ids are logged ...
    for text in ("Request for evidence", "annual review audit", "Jane Smith", "Head of service"):
        assert text not in logged  # ... never the message's subject or text


def test_the_head_of_service_line_names_the_person_by_id_address_or_name(
        ctx: EngineContext, inspection: str, server: EwsServer, transport: EwsTransport) -> None:
    """'Head of service:' or 'Service:' picks the person by id, email or full name; 'Inspector:' names the inspector."""
    forward(server, "Service: hos-education", minutes=1)
    forward(server, f"Head of service: {HOS[2].upper()}\nInspector: Tom Brown HMI", minutes=2)
    forward(server, "service:   graham pocklington", minutes=3)
    result = poll_inboxes(ctx, transport, inspection_id=inspection, inboxes=("comms",))
    assert result.recorded == [1, 2, 3]
    assert [(r.head_of_service, r.inspector) for r in requests(ctx)] == [
        ("hos-education", INSPECTOR[0]), (HOS[0], "Tom Brown HMI"), ("hos-education", INSPECTOR[0])]
    assert notices(ctx) == []


@pytest.mark.parametrize(("note", "said"), [
    ("Thanks, over to you.", 'It had no line "Head of service: <name>"'),
    ("Head of service: hos-nobody", 'Its line "Head of service: hos-nobody" does not name anyone'),
], ids=["missing", "unknown"])
def test_a_missing_or_unknown_head_of_service_goes_to_the_lano_who_is_told(
        ctx: EngineContext, inspection: str, server: EwsServer, transport: EwsTransport, note: str,
        said: str) -> None:
    """Without a known head of service the LANO gets the request, and the request's run tells LANO and forwarder
    once why."""
    forward(server, note)
    poll_inboxes(ctx, transport, inspection_id=inspection)
    reconcile_request(ctx, inspection, 1)
    with ctx.session() as session:  # handed over again: still one request and one notice
        session.execute(delete(m.InboxMessage))
        session.commit()
    poll_inboxes(ctx, transport, inspection_id=inspection)
    reconcile_request(ctx, inspection, 1)
    [request] = requests(ctx)
    assert (request.head_of_service, request.forwarded_by, request.lano_stands_in) == (LANO[0], COORDINATOR[0], True)
    [notice] = notices(ctx)
    message = read_outbox_message(ctx.transport.folder, outbox_id_for(notice.key))  # type: ignore[attr-defined]
    assert (message.to, message.cc) == ([LANO[2], COORDINATOR[2]], [COMMS])
    assert message.sender.endswith(f"<{COMMS}>")
    assert message.subject == "Additional evidence request 1: no head of service named, so it is with the LANO"
    assert said in " ".join((message.text or "").split())
    assert_reads_as_reviewed(ctx.transport.folder, notice.key,  # type: ignore[attr-defined]
                             kind=f"request_head_of_service_missing.{'unknown' if 'nobody' in note else 'missing'}",
                             at=to_london(notice.sent_at).isoformat(timespec="minutes"))
    with ctx.session() as session:
        [row] = session.scalars(select(m.InboxMessage)).all()
    assert row.outcome is not None and row.outcome.startswith("duplicate: request 1 (")


def test_a_request_forwarded_in_the_evening_is_recorded_and_the_lano_told_in_the_morning(
        ctx: EngineContext, inspection: str, server: EwsServer, transport: EwsTransport) -> None:
    """Forwarded at 20:00 without a head of service: recorded at once, the notice waits for 07:30 the next day."""
    ctx.clock.set(MONDAY.replace(hour=20, minute=2))  # type: ignore[attr-defined]
    forward(server, "Thanks, over to you.", minutes=10 * 60)  # 09:30 + 10h = 19:30
    assert poll_inboxes(ctx, transport, inspection_id=inspection).recorded == [1]
    evening = reconcile_request(ctx, inspection, 1)
    assert notices(ctx) == [] and "held for the quiet hours until Tue 04 Jul 07:30" in evening.reason
    ctx.clock.set(MONDAY.replace(day=4, hour=7, minute=30))  # type: ignore[attr-defined]
    reconcile_request(ctx, inspection, 1)
    assert [n.sent_at for n in notices(ctx)] == [MONDAY.replace(day=4, hour=7, minute=30)]


def test_messages_that_are_not_forwarded_requests_are_left_alone(
        ctx: EngineContext, inspection: str, server: EwsServer, transport: EwsTransport) -> None:
    """Replies, forwards from outside the partnership, our own mail and forwards of it are ignored, without error."""
    server.deliver(subject="RE: Request for evidence", sender=HOS[2], sender_name=HOS[1], mailbox=COMMS,
                   body="Thanks, I will look.\n\nFrom: Jane Smith\nSent: Monday\n\nPlease send it.",
                   received_at=MONDAY - timedelta(minutes=20))
    forward(server, "Head of service: hos-send", minutes=11, sender=("", "A Parent", "parent@home.example"))
    forward(server, "Head of service: hos-send", minutes=12, sender=("", "Comms", COMMS))
    server.deliver(subject="FW: Reminder: request-1 please submit", sender=HOS[2], sender_name=HOS[1],
                   mailbox=COMMS, received_at=MONDAY - timedelta(minutes=10),
                   body=f"FYI\n\nFrom: Demo County SEND Inspection Team <{EVIDENCE}>\nSent: Monday\n\nPlease submit.")
    result = poll_inboxes(ctx, transport, inspection_id=inspection)
    assert (result.handed_over["comms"], dict(result.outcomes), result.failed) == (4, {"ignored": 4}, 0)
    assert requests(ctx) == [] and notices(ctx) == []
    with ctx.session() as session:
        outcomes = sorted(r.outcome or "" for r in session.scalars(select(m.InboxMessage)))
    assert outcomes == ["ignored: a forward of the engine's own email",
                        "ignored: forwarded from an address not in partnership.yaml",
                        "ignored: not a forwarded request", "ignored: sent from one of the shared inboxes"]


def test_a_long_message_id_is_kept_shortened_and_still_unique() -> None:
    """An id longer than the column keeps its start and a digest, so two long ids never share a marker."""
    one, two = "<" + "a" * 90 + "1@x>", "<" + "a" * 90 + "2@x>"
    assert len(message_marker(one)) == 80 and message_marker(one) != message_marker(two)
    assert message_marker("<short@x>") == "<short@x>"


def test_a_request_with_nothing_asked_is_not_recorded(ctx: EngineContext, inspection: str) -> None:
    """A forward with no text below its header is left alone and says why."""
    handled = record_forwarded(ctx, inspection, received("Head of service: hos-send\n\n-----Original Message-----\n"
                                                         "From: Jane Smith\nSent: Monday\n\n"))
    assert handled.outcome == "ignored: not recorded: what the inspector asked for is missing"
    assert requests(ctx) == []


def test_a_forward_that_came_before_1600_is_due_the_same_day_even_if_polled_after(
        ctx: EngineContext, inspection: str, server: EwsServer, transport: EwsTransport) -> None:
    """The due time counts from when the forward arrived (15:59), not from the poll that found it (16:03)."""
    ctx.clock.set(MONDAY.replace(hour=16, minute=3))  # type: ignore[attr-defined]
    forward(server, "Head of service: hos-send", minutes=6 * 60 + 29)  # 09:30 + 6h29 = 15:59
    poll_inboxes(ctx, transport, inspection_id=inspection)
    [request] = requests(ctx)
    assert request.due_at == MONDAY.replace(hour=18)


def test_a_failure_is_kept_and_logged_without_the_message_text(
        ctx: EngineContext, inspection: str, server: EwsServer, transport: EwsTransport,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """A handler failing with the message's text in its error leaves the message to try again, naming only the kind."""
    def fail(ctx: EngineContext, inspection_id: str, message: ReceivedMessage) -> Handled:
        raise ValueError(f"could not store {message.body_text!r}")

    monkeypatch.setitem(HANDLERS, "comms", fail)
    caplog.set_level(logging.DEBUG, logger="send_inspection")
    forward(server, "Head of service: hos-send")
    result = poll_inboxes(ctx, transport, inspection_id=inspection, inboxes=("comms",))
    assert (result.failed, result.handed_over) == (1, {"comms": 0})
    with ctx.session() as session:
        [row] = session.scalars(select(m.InboxMessage)).all()
    assert (row.handled_at, row.error) == (None, "IntakeFailed: ValueError while taking the message")
    assert "annual review audit" not in "\n".join(record.getMessage() for record in caplog.records)
