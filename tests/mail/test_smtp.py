"""The SMTP transport against a real aiosmtpd server on 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import cast

import pytest
from aiosmtpd.controller import Controller

from send_inspection.mail.message import OutgoingMessage, message_id_for
from send_inspection.mail.smtp import SmtpTransport
from send_inspection.mail.transport import MailTransport, MailTransportError
from tests.helpers import Collector, free_port

SENT_AT = datetime(2026, 3, 2, 9, 5, tzinfo=UTC)
SECRET_TEXT = "Your personal link: https://engine.example/a/secret-token"


@pytest.fixture
def server() -> Iterator[tuple[Collector, int]]:
    """Run an aiosmtpd server on a free port for the duration of a test."""
    handler = Collector()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def message(**overrides: object) -> OutgoingMessage:
    """Return a message with to, cc and bcc recipients and both parts."""
    fields: dict[str, object] = {
        "key": "insp-1:day2:1.3:approve:r1:ask:person-x",
        "sender": "comms@demo.example",
        "sender_name": "Demo comms",
        "to": ("sam@demo.example",),
        "cc": ("deputy@demo.example",),
        "bcc": ("audit@demo.example",),
        "subject": "Evidence due",
        "text": SECRET_TEXT + "\n",
        "html": '<p><a href="https://engine.example/a/secret-token">Open</a></p>',
    }
    fields.update(overrides)
    return OutgoingMessage(**fields)  # type: ignore[arg-type]


def test_smtp_is_a_mail_transport() -> None:
    """SmtpTransport satisfies the MailTransport protocol and is called "smtp"."""
    transport: MailTransport = SmtpTransport("127.0.0.1", 25)
    assert transport.name == "smtp"


def test_envelope_has_every_recipient_and_body_both_parts(server: tuple[Collector, int]) -> None:
    """The server receives to, cc and bcc in the envelope, both parts in the body and no Bcc header."""
    handler, port = server
    result = SmtpTransport("127.0.0.1", port, timeout=5).send(message(), sent_at=SENT_AT)
    assert result == message_id_for("insp-1:day2:1.3:approve:r1:ask:person-x")
    assert len(handler.envelopes) == 1
    envelope = handler.envelopes[0]
    assert envelope.mail_from == "comms@demo.example"
    assert envelope.rcpt_tos == ["sam@demo.example", "deputy@demo.example", "audit@demo.example"]
    raw = cast(bytes, envelope.original_content)
    assert b"audit@demo.example" not in raw
    parsed = cast(EmailMessage, message_from_bytes(raw, policy=default_policy))
    assert parsed["Message-ID"] == result
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    text = parsed.get_body(preferencelist=("plain",))
    assert text is not None and SECRET_TEXT in text.get_content()


def test_a_bcc_only_batch_of_500_goes_in_the_envelope_and_never_in_the_header(server: tuple[Collector, int]) -> None:
    """A survey batch of 500 Bcc and no To reaches all 500 through the envelope; the header shows none of them."""
    handler, port = server
    families = tuple(f"family{i:03d}@demo.example" for i in range(500))
    SmtpTransport("127.0.0.1", port, timeout=5).send(message(to=(), cc=(), bcc=families), sent_at=SENT_AT)
    [envelope] = handler.envelopes
    assert envelope.rcpt_tos == list(families)
    raw = cast(bytes, envelope.original_content)
    parsed = cast(EmailMessage, message_from_bytes(raw, policy=default_policy))
    assert parsed["To"] == "undisclosed-recipients:;" and parsed["Bcc"] is None and parsed["Cc"] is None
    assert b"family" not in raw


def test_server_not_running_is_retryable() -> None:
    """A port nobody listens on gives a retryable error naming the server."""
    port = free_port()
    with pytest.raises(MailTransportError) as caught:
        SmtpTransport("127.0.0.1", port, timeout=5).send(message(), sent_at=SENT_AT)
    assert caught.value.retryable is True
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert "secret-token" not in str(caught.value)


def test_silent_server_times_out_retryably() -> None:
    """A server that accepts the connection but never greets times out with a retryable error."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        with pytest.raises(MailTransportError) as caught:
            SmtpTransport("127.0.0.1", port, timeout=0.5).send(message(), sent_at=SENT_AT)
    assert caught.value.retryable is True
    assert "timed out" in str(caught.value)


def test_all_recipients_refused_550_is_not_retryable(server: tuple[Collector, int]) -> None:
    """A 550 for the only recipient is a permanent, non-retryable failure naming the address."""
    handler, port = server
    handler.refuse_rcpt["sam@demo.example"] = "550 5.1.1 No such user"
    with pytest.raises(MailTransportError) as caught:
        SmtpTransport("127.0.0.1", port, timeout=5).send(message(cc=(), bcc=()), sent_at=SENT_AT)
    assert caught.value.retryable is False
    assert caught.value.refused == ("sam@demo.example",)
    assert "550" in str(caught.value) and "sam@demo.example" in str(caught.value)
    assert "secret-token" not in str(caught.value)
    assert handler.envelopes == []


def test_one_recipient_refused_is_not_retryable(server: tuple[Collector, int]) -> None:
    """When one recipient is refused the others still get it, and the error must not cause a resend."""
    handler, port = server
    handler.refuse_rcpt["deputy@demo.example"] = "550 5.1.1 No such user"
    with pytest.raises(MailTransportError) as caught:
        SmtpTransport("127.0.0.1", port, timeout=5).send(message(), sent_at=SENT_AT)
    assert caught.value.retryable is False
    assert caught.value.refused == ("deputy@demo.example",)
    assert handler.envelopes[0].rcpt_tos == ["sam@demo.example", "audit@demo.example"]


def test_greylisting_451_on_every_recipient_is_retryable(server: tuple[Collector, int]) -> None:
    """A 4xx refusal of every recipient (greylisting) is retryable."""
    handler, port = server
    handler.refuse_rcpt["sam@demo.example"] = "451 4.7.1 Greylisted, try again later"
    with pytest.raises(MailTransportError) as caught:
        SmtpTransport("127.0.0.1", port, timeout=5).send(message(cc=(), bcc=()), sent_at=SENT_AT)
    assert caught.value.retryable is True


@pytest.mark.parametrize(
    ("reply", "retryable"), [("451 4.3.0 Try later", True), ("554 5.7.1 Rejected", False)]
)
def test_data_reply_code_decides_retry(server: tuple[Collector, int], reply: str, retryable: bool) -> None:
    """A 4xx answer to DATA is retryable and a 5xx one is not."""
    handler, port = server
    handler.data_reply = reply
    with pytest.raises(MailTransportError) as caught:
        SmtpTransport("127.0.0.1", port, timeout=5).send(message(), sent_at=SENT_AT)
    assert caught.value.retryable is retryable
    assert reply.split()[0] in str(caught.value)


def test_starttls_not_offered_is_not_retryable(server: tuple[Collector, int]) -> None:
    """Asking for STARTTLS from a server that does not offer it is a configuration error."""
    _handler, port = server
    with pytest.raises(MailTransportError) as caught:
        SmtpTransport("127.0.0.1", port, starttls=True, timeout=5).send(message(), sent_at=SENT_AT)
    assert caught.value.retryable is False
    assert "STARTTLS" in str(caught.value)
