"""Fixtures for the mailbox intake tests: the local EWS endpoint, a transport to it and an open inspection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from send_inspection.calendar import LONDON
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import open_inspection
from send_inspection.mail.ews import EwsTransport
from send_inspection.mail.received import ReceivedAttachment, ReceivedMessage
from tests.conftest import NOTIFIED
from tests.mail.ews_server import EwsServer

COMMS = "send-inspection.comms@demo-county.example"
EVIDENCE = "send.evidence@demo-county.example"
LANO = ("head-improvement", "Nadia Pemberton", "nadia.pemberton@demo-county.example")
HOS = ("hos-send", "Catherine Lowther", "catherine.lowther@demo-county.example")
COORDINATOR = ("inspection-coordinator", "Leah Marchetti", "leah.marchetti@demo-county.example")
MONDAY = datetime(2023, 7, 3, 10, 0, tzinfo=LONDON)  # week 2 of the demo inspection


@pytest.fixture
def transport(server: EwsServer) -> EwsTransport:
    """Return an EWS transport logging in to the local endpoint as the service account."""
    return EwsTransport(server.url, "Exchange2016", auth="basic", username="svc-send", secret="demo-secret",
                        max_wait=2.0)


@pytest.fixture
def inspection(ctx: EngineContext) -> str:
    """Open the demo inspection and move the clock to Monday of week 2, 10:00."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    ctx.clock.set(MONDAY)  # type: ignore[attr-defined]
    return iid


def received(body: str, *, subject: str = "FW: Request for evidence", sender: tuple[str, str, str] = COORDINATOR,
             mailbox: str = COMMS, message_id: str = "<fw-1@demo-county.example>",
             attachments: tuple[ReceivedAttachment, ...] = ()) -> ReceivedMessage:
    """Return a message as the inbox watcher hands it over, sent by `sender` (id, name, address)."""
    return ReceivedMessage(mailbox=mailbox, internet_message_id=message_id, item_id="AAMkTest=",
                           received_at=(MONDAY - timedelta(minutes=5)).astimezone(UTC), sender=sender[2],
                           sender_name=sender[1], subject=subject, body_text=body, attachments=attachments)
