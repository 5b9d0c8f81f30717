"""Evidence emailed to the evidence inbox about request N, taken through EWS (real exchangelib, local endpoint)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from send_inspection.db import models as m
from send_inspection.engine.additional_requests import reconcile_request, record_request
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import open_inspection
from send_inspection.intake.evidence_replies import request_number, take_evidence_reply
from send_inspection.intake.mailboxes import poll_inboxes
from send_inspection.mail.ews import EwsTransport
from send_inspection.mail.outbox import outbox_id_for, read_outbox_message
from send_inspection.mail.received import ReceivedAttachment
from send_inspection.web.app import create_app
from tests.conftest import NOTIFIED
from tests.intake.conftest import COORDINATOR, EVIDENCE, HOS, MONDAY, received
from tests.mail.ews_server import EwsServer

TOKEN = re.compile(r"/a/([A-Za-z0-9_-]+)")
PDF = b"%PDF-1.4\n1 0 obj << /Title (Annual review audit 2023) >> endobj\n%%EOF\n"
LOGO = ("image001.png", "image/png", b"\x89PNG\r\n\x1a\n signature logo", True)


@pytest.mark.parametrize(("subject", "number"), [
    ("RE: request-3 Additional evidence request 3 – please submit the evidence by Monday 03 July 2023, 17:00", 3),
    ("Re: Additional evidence request 12 from the inspectors: due Monday 03 July 2023, 18:00", 12),
    ("[Request 12] the audit", 12), ("Request no. 7", 7), ("FW: LATE: additional evidence request 4 was due", 4),
    ("The audit you asked for", None), ("request 3 and request 4", None), ("requests 3", None),
])
def test_the_request_number_is_read_from_the_subject(subject: str, number: int | None) -> None:
    """Our own subjects, replies to them and bracketed numbers name the request; none or two numbers name nothing."""
    assert request_number(subject) == number


def ask(ctx: EngineContext, iid: str, step: str) -> tuple[str, str]:
    """Return the personal link and the subject of the ask email for request 1's step."""
    key = f"{iid}:request:1:request-1:{step}:r1:ask"
    message = read_outbox_message(ctx.transport.folder, outbox_id_for(key))  # type: ignore[attr-defined]
    return "/a/" + TOKEN.search(message.text or "").group(1), message.subject  # type: ignore[union-attr]


@pytest.fixture
def request_at_submit(ctx: EngineContext, inspection: str) -> str:
    """Record request 1 for the head of service, who confirms it exists; return the subject of the submit ask."""
    record_request(ctx, inspection, "The annual review audit", inspector="Jane Smith", head_of_service=HOS[0])
    reconcile_request(ctx, inspection, 1)
    link, _ = ask(ctx, inspection, "confirm")
    answer = {"item_ref": "request-1", "step": "confirm", "round": "1", "outcome": "exists", "comment": "By 14:00"}
    assert TestClient(create_app(ctx)).post(link, data=answer).status_code == 200
    reconcile_request(ctx, inspection, 1)
    return ask(ctx, inspection, "submit")[1]


def item(ctx: EngineContext) -> m.RegisterItem:
    """Return request 1's item."""
    with ctx.session() as session:
        return session.scalars(select(m.RegisterItem).where(m.RegisterItem.ref == "request-1")).one()


def submissions(ctx: EngineContext) -> list[m.Submission]:
    """Return every submission, oldest first."""
    with ctx.session() as session:
        return list(session.scalars(select(m.Submission).order_by(m.Submission.id)))


def test_a_reply_with_a_file_answers_the_submit_step_and_the_file_is_stored(
        ctx: EngineContext, inspection: str, request_at_submit: str, server: EwsServer,
        transport: EwsTransport) -> None:
    """Replying to the submit ask with the file attached submits it, as the web upload would, and wakes request 1."""
    subject = request_at_submit
    assert subject.startswith("Additional evidence request 1 – please submit the evidence")
    sent = server.deliver(subject=f"RE: {subject}", sender=HOS[2], sender_name=HOS[1], mailbox=EVIDENCE,
                          body="Attached, thanks.", received_at=MONDAY - timedelta(minutes=1),
                          attachments=[("Annual review audit.pdf", "application/pdf", PDF), LOGO])
    result = poll_inboxes(ctx, transport, inspection_id=inspection)
    assert (dict(result.outcomes), result.to_wake) == ({"answered": 1}, ["request:1"])
    assert (item(ctx).step, item(ctx).round) == ("approve", 1)
    [submission] = submissions(ctx)  # the signature's logo is not evidence
    assert (submission.kind, submission.filename, submission.submitted_by) == ("file", "Annual review audit.pdf",
                                                                               HOS[0])
    assert submission.stored_path is not None and open(submission.stored_path, "rb").read() == PDF
    assert submission.stored_path.startswith(str(ctx.uploads_dir / inspection / "request-1"))
    assert submission.machine_checks is not None  # checked as a web upload is
    with ctx.session() as session:
        decision = session.scalars(select(m.Decision).where(m.Decision.step == "submit")).one()
    assert (decision.outcome, decision.decided_by, decision.user_agent) == (
        "submitted", HOS[0], f"email {sent.internet_message_id}")
    reconcile_request(ctx, inspection, 1)
    link, _ = ask(ctx, inspection, "approve")  # the accountable lead is asked to sign it off, and can download it
    assert TestClient(create_app(ctx)).get(f"{link}/file").content == PDF


def test_files_sent_before_the_submit_step_are_kept_and_nothing_moves_on(
        ctx: EngineContext, inspection: str) -> None:
    """Evidence sent while the head of service should still confirm is kept with the request, the step unanswered."""
    record_request(ctx, inspection, "The annual review audit", inspector="Jane Smith", head_of_service=HOS[0])
    files = (ReceivedAttachment("audit.pdf", "application/pdf", PDF), ReceivedAttachment("run.exe", "x", b"MZ"))
    message = received("Here it is.", subject="[Request 1] audit", sender=HOS, attachments=files)
    handled = take_evidence_reply(ctx, inspection, message)
    assert handled.outcome == ("kept: request 1 at confirm: 1 file(s) kept, 1 refused (type, content or size), "
                               "not answered")
    assert handled.wake_phase is None and item(ctx).step == "confirm"
    again = take_evidence_reply(ctx, inspection, message)  # handed over again: the same file is not kept twice
    assert again.outcome == "ignored: request 1: 0 file(s) kept, 1 refused (type, content or size), 1 already held"
    assert [s.filename for s in submissions(ctx)] == ["audit.pdf"]


def test_a_file_from_someone_not_asked_is_kept_without_answering(ctx: EngineContext, inspection: str,
                                                                 request_at_submit: str) -> None:
    """A member of staff who was not asked for the step can send a file, but only the person asked answers."""
    files = (ReceivedAttachment("audit.pdf", "application/pdf", PDF),)
    handled = take_evidence_reply(ctx, inspection, received("Here.", subject=f"RE: {request_at_submit}",
                                                            sender=COORDINATOR, attachments=files))
    assert handled.kind == "kept" and item(ctx).step == "submit"


def test_messages_that_match_nothing_are_ignored_without_error(
        ctx: EngineContext, inspection: str, request_at_submit: str, server: EwsServer,
        transport: EwsTransport) -> None:
    """No request number, an unknown request, no file, a stranger or our own inbox: ignored, nothing recorded."""
    pdf = [("audit.pdf", "application/pdf", PDF)]
    for minutes, (subject, sender, attachments) in enumerate([
        ("The audit you asked for", HOS[2], pdf), ("RE: request 9", HOS[2], pdf),
        (f"RE: {request_at_submit}", HOS[2], []), (f"RE: {request_at_submit}", "someone@elsewhere.example", pdf),
        (f"RE: {request_at_submit}", EVIDENCE, pdf),
    ]):
        server.deliver(subject=subject, sender=sender, body="-", mailbox=EVIDENCE, attachments=attachments,
                       received_at=MONDAY - timedelta(minutes=10 - minutes))
    result = poll_inboxes(ctx, transport, inspection_id=inspection, inboxes=("evidence",))
    assert (result.handed_over, dict(result.outcomes), result.failed) == ({"evidence": 5}, {"ignored": 5}, 0)
    assert submissions(ctx) == [] and item(ctx).step == "submit"
    with ctx.session() as session:
        outcomes = sorted(r.outcome or "" for r in session.scalars(select(m.InboxMessage)))
    assert outcomes == ["ignored: no request 9 in this inspection", "ignored: no request number in the subject",
                        "ignored: request 1: no file attached",
                        "ignored: request 1: sent from an address not in partnership.yaml",
                        "ignored: sent from one of the shared inboxes"]


def test_pressing_reply_on_the_submit_ask_sent_through_exchange_answers_the_request(
        ctx: EngineContext, server: EwsServer, transport: EwsTransport) -> None:
    """Request 1's asks go by EWS with Reply-To the evidence inbox; the head of service's reply submits the file."""
    ews = replace(ctx, transport=transport)  # the engine's mail through the local EWS endpoint, same database
    iid = open_inspection(ews, NOTIFIED, mode="rehearsal")
    ews.clock.set(MONDAY)  # type: ignore[attr-defined]
    record_request(ews, iid, "The annual review audit", inspector="Jane Smith", head_of_service=HOS[0])
    reconcile_request(ews, iid, 1)
    [confirm] = [item for item in server.sent if item.subject.startswith("Additional evidence request 1 – please")]
    assert confirm.reply_to == [EVIDENCE] and confirm.to == [HOS[2]]
    answer = {"item_ref": "request-1", "step": "confirm", "round": "1", "outcome": "exists", "comment": "By 14:00"}
    link = "/a/" + TOKEN.search(confirm.body).group(1)  # type: ignore[union-attr]
    assert TestClient(create_app(ews)).post(link, data=answer).status_code == 200
    reconcile_request(ews, iid, 1)
    [ask] = [item for item in server.sent if "please submit the evidence" in item.subject]
    assert ask.reply_to == [EVIDENCE]
    # The head of service presses Reply in Outlook: the reply goes to the Reply-To address, the file attached.
    server.deliver(subject=f"RE: {ask.subject}", sender=HOS[2], sender_name=HOS[1], mailbox=ask.reply_to[0],
                   body="Attached.", received_at=MONDAY + timedelta(minutes=1),
                   attachments=[("Annual review audit.pdf", "application/pdf", PDF)])
    ews.clock.advance(timedelta(minutes=2))  # type: ignore[attr-defined]
    result = poll_inboxes(ews, transport, inspection_id=iid)
    assert (dict(result.outcomes), result.to_wake) == ({"answered": 1}, ["request:1"])
    assert item(ews).step == "approve" and [s.filename for s in submissions(ews)] == ["Annual review audit.pdf"]
