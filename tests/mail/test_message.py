"""Building RFC 5322 messages from OutgoingMessage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import cast

import pytest

from send_inspection.mail.message import (
    Attachment,
    OutgoingMessage,
    all_recipients,
    message_id_for,
    to_email_message,
)

SENT_AT = datetime(2026, 3, 2, 9, 5, tzinfo=UTC)
ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"


def make(**overrides: object) -> OutgoingMessage:
    """Return a complete message, with some fields replaced."""
    fields: dict[str, object] = {
        "key": "insp-1:day2:1.3:approve:r1:ask:person-x",
        "sender": "comms@demo-county.example",
        "sender_name": "Demo County SEND partnership",
        "to": ("sam.lead@demo-county.example",),
        "cc": ("deputy@demo-county.example",),
        "bcc": ("audit@demo-county.example",),
        "reply_to": "comms@demo-county.example",
        "subject": "Evidence due for item 1.3",
        "text": "Dear Sam,\nYour link: https://engine.example/a/tok123\n",
        "html": '<p>Dear Sam,</p><p><a href="https://engine.example/a/tok123">Open</a></p>',
    }
    fields.update(overrides)
    return OutgoingMessage(**fields)  # type: ignore[arg-type]


def roundtrip(email: EmailMessage) -> EmailMessage:
    """Serialise and parse back a message, as a receiving server would."""
    return cast(EmailMessage, message_from_bytes(email.as_bytes(), policy=default_policy))


def test_text_and_html_are_alternatives() -> None:
    """A message with html is multipart/alternative with the text part first and the html part second."""
    parsed = roundtrip(to_email_message(make(), sent_at=SENT_AT))
    assert parsed.get_content_type() == "multipart/alternative"
    parts = list(parsed.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert "https://engine.example/a/tok123" in parts[0].get_content()
    assert '<a href="https://engine.example/a/tok123">' in parts[1].get_content()


def test_text_only_message_is_single_part() -> None:
    """Without html the message is a single text/plain part."""
    parsed = roundtrip(to_email_message(make(html=None), sent_at=SENT_AT))
    assert parsed.get_content_type() == "text/plain"
    assert not parsed.is_multipart()


def test_headers_are_written() -> None:
    """From has the display name; To, Cc, Reply-To, Subject, Date and the key header are set."""
    parsed = roundtrip(to_email_message(make(), sent_at=SENT_AT))
    assert parsed["From"].addresses[0].display_name == "Demo County SEND partnership"
    assert parsed["From"].addresses[0].addr_spec == "comms@demo-county.example"
    assert parsed["To"] == "sam.lead@demo-county.example"
    assert parsed["Cc"] == "deputy@demo-county.example"
    assert parsed["Reply-To"] == "comms@demo-county.example"
    assert parsed["Subject"] == "Evidence due for item 1.3"
    assert parsed["Date"].datetime == SENT_AT
    assert parsed["X-Send-Inspection-Key"] == "insp-1:day2:1.3:approve:r1:ask:person-x"


def test_date_comes_from_sent_at_with_its_offset() -> None:
    """The Date header is sent_at itself, in its own offset, not the wall clock."""
    bst = datetime(2026, 6, 1, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    parsed = roundtrip(to_email_message(make(), sent_at=bst))
    assert parsed["Date"] == "Mon, 01 Jun 2026 10:00:00 +0100"


def test_naive_sent_at_is_refused() -> None:
    """A naive sent_at raises ValueError naming sent_at."""
    with pytest.raises(ValueError, match="sent_at"):
        to_email_message(make(), sent_at=datetime(2026, 3, 2, 9, 5))


def test_bcc_is_not_a_header_but_is_a_recipient() -> None:
    """Bcc addresses never appear in the message bytes but are in all_recipients."""
    raw = to_email_message(make(), sent_at=SENT_AT).as_bytes()
    assert b"audit@demo-county.example" not in raw
    assert b"Bcc" not in raw
    assert "audit@demo-county.example" in all_recipients(make())


def test_all_recipients_deduplicates_in_order() -> None:
    """all_recipients lists to, cc then bcc, dropping repeats (case-insensitively)."""
    msg = make(to=("a@x.example", "b@x.example"), cc=("B@x.example", "c@x.example"), bcc=("a@x.example",))
    assert all_recipients(msg) == ["a@x.example", "b@x.example", "c@x.example"]


def test_bcc_only_message_has_undisclosed_to() -> None:
    """A message with only Bcc recipients says undisclosed-recipients in To."""
    msg = make(to=(), cc=(), bcc=("a@x.example", "b@x.example"))
    parsed = roundtrip(to_email_message(msg, sent_at=SENT_AT))
    assert parsed["To"].groups[0].display_name == "undisclosed-recipients"
    assert parsed["To"].addresses == ()


def test_message_id_is_deterministic() -> None:
    """The same key always gives the same Message-ID, different keys different ones."""
    first = roundtrip(to_email_message(make(), sent_at=SENT_AT))["Message-ID"]
    again = roundtrip(to_email_message(make(), sent_at=SENT_AT + timedelta(hours=1)))["Message-ID"]
    other = message_id_for("insp-1:day2:1.3:approve:r1:remind:person-x")
    assert first == again == message_id_for("insp-1:day2:1.3:approve:r1:ask:person-x")
    assert other != first
    assert first.startswith("<") and first.endswith("@send-inspection.invalid>")


def test_same_message_gives_same_bytes() -> None:
    """Building the same message twice gives identical bytes (deterministic MIME boundaries)."""
    msg = make(attachments=(Attachment("invite.ics", "text/calendar; method=REQUEST", ICS),))
    first = to_email_message(msg, sent_at=SENT_AT).as_bytes()
    assert to_email_message(msg, sent_at=SENT_AT).as_bytes() == first


def test_long_key_header_stays_readable() -> None:
    """A key longer than a header line is written as is, not as encoded words."""
    key = "insp-1:" + "x" * 150
    raw = to_email_message(make(key=key), sent_at=SENT_AT).as_bytes()
    assert f"X-Send-Inspection-Key: {key}\n".encode() in raw


def test_non_ascii_subject_and_name_roundtrip() -> None:
    """Non-ASCII subject and display name are encoded and decode back unchanged."""
    msg = make(subject="Réunion – item 1.3", sender_name="Cyngor Sir – SEND")
    parsed = roundtrip(to_email_message(msg, sent_at=SENT_AT))
    assert parsed["Subject"] == "Réunion – item 1.3"
    assert parsed["From"].addresses[0].display_name == "Cyngor Sir – SEND"


def test_calendar_attachment_is_attached() -> None:
    """An .ics attachment makes the message multipart/mixed with the alternative and the invitation."""
    msg = make(attachments=(Attachment("invite.ics", "text/calendar; method=REQUEST", ICS),))
    parsed = roundtrip(to_email_message(msg, sent_at=SENT_AT))
    assert parsed.get_content_type() == "multipart/mixed"
    body = parsed.get_body(preferencelist=("plain",))
    assert body is not None and "Dear Sam" in body.get_content()
    attachments = list(parsed.iter_attachments())
    assert len(attachments) == 1
    invite = attachments[0]
    assert invite.get_filename() == "invite.ics"
    assert invite.get_content_type() == "text/calendar"
    assert invite.get_param("method") == "REQUEST"
    assert invite.get_payload(decode=True) == ICS


def test_lists_are_accepted_as_tuples() -> None:
    """Recipient lists and a single address string are stored as tuples."""
    fields: dict[str, object] = {"to": "b@x.example", "cc": ["c@x.example"]}
    msg = OutgoingMessage(key="k", sender="a@x.example", subject="s", text="t", **fields)  # type: ignore[arg-type]
    assert msg.to == ("b@x.example",)
    assert msg.cc == ("c@x.example",)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("subject", "Hello\r\nBcc: victim@evil.example"),
        ("subject", "Hello\nX-Injected: 1"),
        ("sender_name", "Comms\r\nBcc: victim@evil.example"),
        ("key", "k\nX-Injected: 1"),
        ("reply_to", "comms@x.example\r\nBcc: victim@evil.example"),
    ],
)
def test_header_injection_is_refused(field: str, value: str) -> None:
    """A CR or LF in any header field raises ValueError naming the field."""
    with pytest.raises(ValueError, match=field):
        to_email_message(make(**{field: value}), sent_at=SENT_AT)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("to", ("not-an-address",)),
        ("to", ("a@x.example\r\nBcc: victim@evil.example",)),
        ("cc", ("Sam <sam@x.example>",)),
        ("bcc", ("a@x.example, b@x.example",)),
        ("sender", "comms"),
        ("reply_to", "comms@"),
    ],
)
def test_bad_addresses_are_refused(field: str, value: object) -> None:
    """Something that is not a single email address raises ValueError naming the field."""
    with pytest.raises(ValueError, match=field):
        to_email_message(make(**{field: value}), sent_at=SENT_AT)


def test_no_recipient_is_refused() -> None:
    """A message with no recipient at all raises ValueError."""
    with pytest.raises(ValueError, match="recipient"):
        to_email_message(make(to=(), cc=(), bcc=()), sent_at=SENT_AT)


def test_bad_attachment_filename_is_refused() -> None:
    """An attachment file name with a line break or a path raises ValueError naming the attachment."""
    for name in ("invite\r\n.ics", "../invite.ics"):
        msg = make(attachments=(Attachment(name, "text/calendar", ICS),))
        with pytest.raises(ValueError, match=r"attachments\[0\]\.filename"):
            to_email_message(msg, sent_at=SENT_AT)
