"""Tests for MailLedger.send_once: one send per key, failed sends stay claimable, stale claims are taken over."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from send_inspection.clock import VirtualClock
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import open_inspection
from send_inspection.mail.ledger import STALE_CLAIM, MailLedger
from send_inspection.mail.message import OutgoingMessage, message_id_for
from send_inspection.mail.outbox import OutboxTransport, list_outbox
from send_inspection.mail.transport import MailTransportError
from tests.conftest import NOTIFIED

IID = "demo-county-2023-06-26"
KEY = f"{IID}:test:hello"


class FakeTransport:
    """A transport that records what it sends and can be told to fail the next sends."""

    name = "fake"

    def __init__(self) -> None:
        self.sent: list[tuple[OutgoingMessage, datetime]] = []
        self.failures: list[MailTransportError] = []

    def send(self, message: OutgoingMessage, *, sent_at: datetime) -> str:
        """Record the message, or raise the next queued failure."""
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((message, sent_at))
        return message_id_for(message.key)


def message(key: str = KEY, subject: str = "Hello") -> OutgoingMessage:
    """Return a small message with the given key."""
    return OutgoingMessage(key=key, sender="comms@demo-county.example", to=("sam@demo-county.example",),
                           cc=("kim@demo-county.example",), subject=subject, text="Hello\n")


@pytest.fixture
def fake() -> FakeTransport:
    """Return a fresh recording transport."""
    return FakeTransport()


@pytest.fixture
def mail(ctx: EngineContext, fake: FakeTransport) -> MailLedger:
    """Open the demo inspection (the ledger's rows belong to one) and return a ledger on the fake transport."""
    open_inspection(ctx, NOTIFIED)
    return MailLedger(ctx.session, fake)


def record(ctx: EngineContext, key: str = KEY) -> m.EmailRecord:
    """Return the ledger row of `key`."""
    with ctx.session() as session:
        return session.scalars(select(m.EmailRecord).where(m.EmailRecord.key == key)).one()


def send(mail: MailLedger, now: datetime, *, key: str = KEY, subject: str = "Hello",
         built: list[str] | None = None) -> bool:
    """Call send_once for `key` at `now`, noting in `built` each time the message is built."""
    def build() -> OutgoingMessage:
        if built is not None:
            built.append(key)
        return message(key, subject)

    return mail.send_once(key, build, inspection_id=IID, template="test", now=now, due_at=NOTIFIED)


def test_same_key_twice_sends_once(ctx: EngineContext, mail: MailLedger, fake: FakeTransport) -> None:
    """The second send_once of a key returns False, does not build the message and sends nothing."""
    built: list[str] = []
    assert send(mail, NOTIFIED, built=built) is True
    assert send(mail, NOTIFIED + timedelta(hours=1), subject="Changed", built=built) is False
    assert built == [KEY]
    assert [(msg.subject, at) for msg, at in fake.sent] == [("Hello", NOTIFIED)]
    row = record(ctx)
    assert (row.status, row.attempts, row.template, row.transport) == ("sent", 1, "test", "fake")
    assert (row.subject, row.recipients) == ("Hello", ["sam@demo-county.example", "kim@demo-county.example"])
    assert (row.message_id, row.sent_at, row.claimed_at, row.due_at, row.error) == (
        message_id_for(KEY), NOTIFIED, NOTIFIED, NOTIFIED, None)
    assert mail.already_sent(KEY) is True


def test_different_keys_each_send(mail: MailLedger, fake: FakeTransport) -> None:
    """Two keys are two emails; sent_keys lists them by prefix."""
    assert send(mail, NOTIFIED, key=f"{IID}:a:1") is True
    assert send(mail, NOTIFIED, key=f"{IID}:a:2") is True
    assert send(mail, NOTIFIED, key=f"{IID}:b:1") is True
    assert [msg.key for msg, _ in fake.sent] == [f"{IID}:a:1", f"{IID}:a:2", f"{IID}:b:1"]
    assert mail.sent_keys(f"{IID}:a:") == {f"{IID}:a:1", f"{IID}:a:2"}
    assert mail.already_sent(f"{IID}:c:1") is False


def test_transport_error_leaves_key_claimable(ctx: EngineContext, mail: MailLedger, fake: FakeTransport) -> None:
    """A MailTransportError is raised, the key is marked failed (not sent) and a later call sends it."""
    fake.failures.append(MailTransportError("421 try again later", retryable=True))
    with pytest.raises(MailTransportError, match="421 try again later"):
        send(mail, NOTIFIED)
    row = record(ctx)
    assert (row.status, row.attempts, row.error, row.sent_at, row.message_id) == (
        "failed", 1, "421 try again later", None, None)
    assert mail.already_sent(KEY) is False
    assert mail.sent_keys(IID) == set()
    assert fake.sent == []

    later = NOTIFIED + timedelta(minutes=1)
    assert send(mail, later) is True
    row = record(ctx)
    assert (row.status, row.attempts, row.error, row.sent_at, row.claimed_at) == ("sent", 2, None, later, later)
    assert [at for _, at in fake.sent] == [later]
    assert send(mail, later + timedelta(minutes=1)) is False


def test_build_error_leaves_key_claimable(ctx: EngineContext, mail: MailLedger, fake: FakeTransport) -> None:
    """An error while building the message is recorded with its type and the key can be sent later."""
    def broken() -> OutgoingMessage:
        raise KeyError("template")

    with pytest.raises(KeyError):
        mail.send_once(KEY, broken, inspection_id=IID, template="test", now=NOTIFIED)
    assert (record(ctx).status, record(ctx).error) == ("failed", "KeyError: 'template'")
    assert send(mail, NOTIFIED) is True
    assert len(fake.sent) == 1


def test_fresh_claim_is_not_taken_over(ctx: EngineContext, mail: MailLedger, fake: FakeTransport) -> None:
    """A claim younger than 5 minutes (another process sending right now) is left alone."""
    with ctx.session() as session:
        session.add(m.EmailRecord(key=KEY, inspection_id=IID, template="test", recipients=[], subject="",
                                  status="claimed", transport="fake", claimed_at=NOTIFIED, attempts=1))
        session.commit()
    assert send(mail, NOTIFIED + STALE_CLAIM - timedelta(seconds=1)) is False
    assert fake.sent == []
    assert (record(ctx).status, record(ctx).attempts) == ("claimed", 1)


@pytest.mark.parametrize("age", [timedelta(minutes=5), timedelta(minutes=6), timedelta(hours=3)])
def test_stale_claim_is_reclaimed(ctx: EngineContext, mail: MailLedger, fake: FakeTransport, age: timedelta) -> None:
    """A claim 5 minutes old or more, never marked sent, is claimed again and the message is sent."""
    assert STALE_CLAIM == timedelta(minutes=5)
    with ctx.session() as session:
        session.add(m.EmailRecord(key=KEY, inspection_id=IID, template="test", recipients=[], subject="",
                                  status="claimed", transport="fake", claimed_at=NOTIFIED, attempts=1))
        session.commit()
    now = NOTIFIED + age
    assert send(mail, now) is True
    row = record(ctx)
    assert (row.status, row.attempts, row.claimed_at, row.sent_at) == ("sent", 2, now, now)
    # The retry carries the same Message-ID as the first attempt would have.
    assert row.message_id == message_id_for(KEY)
    assert len(fake.sent) == 1


def test_process_dying_mid_send_is_retried_after_stale_claim(
    ctx: EngineContext, mail: MailLedger, fake: FakeTransport
) -> None:
    """An interrupt (not an Exception) while sending leaves the claim; it is retried only once it is stale."""
    def interrupted() -> OutgoingMessage:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        mail.send_once(KEY, interrupted, inspection_id=IID, template="test", now=NOTIFIED)
    assert record(ctx).status == "claimed"
    assert send(mail, NOTIFIED + timedelta(minutes=4)) is False
    assert send(mail, NOTIFIED + timedelta(minutes=5)) is True
    assert record(ctx).status == "sent"
    assert len(fake.sent) == 1


def test_with_outbox_transport_writes_one_file(ctx: EngineContext, tmp_path: Path, clock: VirtualClock) -> None:
    """Through the outbox transport, two send_once calls with one key leave a single .eml file."""
    open_inspection(ctx, NOTIFIED)
    folder = tmp_path / "ledger-outbox"
    mail = MailLedger(ctx.session, OutboxTransport(folder))
    assert send(mail, clock.now()) is True
    assert send(mail, clock.now()) is False
    entries = list_outbox(folder)
    assert [(e.key, e.subject, e.to) for e in entries] == [(KEY, "Hello", ["sam@demo-county.example"])]
    assert record(ctx).transport == "outbox"
