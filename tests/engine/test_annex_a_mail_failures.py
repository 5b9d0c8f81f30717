"""A register pass when mail fails: one refused address or a down server stops nothing else and loses nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from send_inspection.db import models as m
from send_inspection.engine.annex_a import reconcile_annex_a
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import open_inspection
from send_inspection.engine.mail_retry import MailRetry
from send_inspection.engine.phase_rows import ensure_phase
from send_inspection.mail.ledger import MailLedger
from send_inspection.mail.message import OutgoingMessage, all_recipients
from send_inspection.mail.outbox import OutboxTransport
from send_inspection.mail.transport import MailTransportError
from tests.conftest import NOTIFIED

BEN = "ben.hollinshead@demo-county.example"  # evidence lead of child-level-data and 1.2


class FaultyTransport:
    """The outbox, but refusing some addresses for good, or down altogether, or delivering only in part."""

    name = "faulty"

    def __init__(self, inner: OutboxTransport) -> None:
        self.inner = inner
        self.refuse: set[str] = set()
        self.partial: set[str] = set()
        self.down = False
        self.attempts: list[str] = []

    def send(self, message: OutgoingMessage, *, sent_at: datetime) -> str:
        """Deliver, or fail the way this transport is set up to."""
        self.attempts.append(message.key)
        if self.down:
            raise MailTransportError("smtp 127.0.0.1:25: connection refused", retryable=True)
        recipients = set(all_recipients(message))
        if recipients & self.refuse:
            raise MailTransportError("smtp: all recipients refused (550 no such user)", retryable=False,
                                     refused=tuple(recipients & self.refuse))
        message_id = self.inner.send(message, sent_at=sent_at)
        if recipients & self.partial:
            raise MailTransportError("smtp: delivered to 1 of 2 recipients", retryable=False,
                                     refused=tuple(recipients & self.partial), partial=True)
        return message_id


@pytest.fixture
def faulty(ctx: EngineContext) -> FaultyTransport:
    """Put a faulty transport in front of the context's outbox."""
    transport = FaultyTransport(ctx.transport)  # type: ignore[arg-type]
    ctx.transport = transport  # type: ignore[assignment]
    ctx.ledger = MailLedger(ctx._factory, transport)  # type: ignore[attr-defined]
    return transport


@pytest.fixture
def iid(ctx: EngineContext) -> str:
    """Open the demo inspection and its day-2 phase."""
    inspection_id = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    ensure_phase(ctx, inspection_id, "day2")
    return inspection_id


def statuses(ctx: EngineContext) -> dict[str, str]:
    """Return the ledger status by key suffix (without the inspection id)."""
    from send_inspection.db import models as m

    with ctx.session() as session:
        return {r.key.split(":", 1)[1]: r.status for r in session.query(m.EmailRecord)}


def test_a_refused_address_stops_no_other_ask_and_is_not_retried(ctx: EngineContext, faulty: FaultyTransport,
                                                                  iid: str) -> None:
    """A permanently refused lead gets status 'refused', the other six asks go, and a later pass leaves it alone."""
    faulty.refuse = {BEN}
    result = reconcile_annex_a(ctx, iid, "day2")
    assert result.sent == 6
    assert sorted(k for k, s in statuses(ctx).items() if s == "refused") == [
        "day2:1.2:submit:r1:ask", "day2:child-level-data:submit:r1:ask"]
    assert result.reason.startswith("MAIL PROBLEM: 2 email(s) not sent (see the logs). Waiting for 8 of 8 items:")
    # Prefect is told what failed in the product's words; the server's answer is kept in the ledger.
    assert len(result.mail_failures) == 2 and result.mail_failures[0].endswith(": 1 recipient(s) refused")
    with ctx.session() as session:
        assert "550 no such user" in session.scalars(select(m.EmailRecord.error).where(
            m.EmailRecord.status == "refused")).first()
    assert result.next_wake_at == datetime(2023, 6, 26, 14, 0, tzinfo=NOTIFIED.tzinfo)  # no hurry to retry

    faulty.attempts.clear()
    again = reconcile_annex_a(ctx, iid, "day2")
    assert again.sent == 0 and faulty.attempts == []


def test_a_down_mail_server_is_retried_soon_and_nothing_is_lost(ctx: EngineContext, faulty: FaultyTransport,
                                                                iid: str, clock) -> None:  # noqa: ANN001
    """With the server down the pass sends nothing and wakes after the policy's last delay; then every ask goes once."""
    ctx.mail_retry = MailRetry.from_seconds((10, 60, 300))  # SEND_INSPECTION_MAIL_RETRY_DELAYS' default
    faulty.down = True
    result = reconcile_annex_a(ctx, iid, "day2")
    assert result.sent == 0 and len(result.mail_failures) == 8
    assert result.next_wake_at == NOTIFIED + timedelta(minutes=5)
    assert "trying again at 09:05" in result.reason
    assert set(statuses(ctx).values()) == {"failed"}

    faulty.down = False
    clock.set(NOTIFIED + timedelta(minutes=5))
    result = reconcile_annex_a(ctx, iid, "day2")
    assert result.sent == 8 and result.mail_failures == []
    assert set(statuses(ctx).values()) == {"sent"}
    assert not result.reason.startswith("MAIL PROBLEM")
    clock.set(NOTIFIED + timedelta(minutes=6))
    assert reconcile_annex_a(ctx, iid, "day2").sent == 0


def test_a_partly_delivered_email_counts_as_sent(ctx: EngineContext, faulty: FaultyTransport, iid: str) -> None:
    """When the server took the message for some recipients it is marked sent, so no one gets a second copy."""
    faulty.partial = {BEN}
    result = reconcile_annex_a(ctx, iid, "day2")
    assert result.sent == 8 and result.mail_failures == []
    assert set(statuses(ctx).values()) == {"sent"}
