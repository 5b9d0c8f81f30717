"""Samples the Exchange and Graph tests share: an outgoing message from the shared mailbox, an inbox callback."""

from __future__ import annotations

from datetime import UTC, datetime

from send_inspection.mail.message import Attachment, OutgoingMessage
from send_inspection.mail.received import ReceivedMessage

SENT_AT = datetime(2026, 3, 2, 9, 5, tzinfo=UTC)
SHARED = "send.evidence@demo-county.example"
SECRET_LINK = "https://engine.demo-county.example/a/secret-token"


def message(**overrides: object) -> OutgoingMessage:
    """Return a message from the shared mailbox with to, cc and bcc recipients, both parts and an invitation."""
    fields: dict[str, object] = {
        "key": "insp-1:day2:1.3:approve:r1:ask:person-x",
        "sender": SHARED,
        "sender_name": "Demo County SEND evidence",
        "to": ("sam@demo-county.example",),
        "cc": ("deputy@demo-county.example",),
        "bcc": ("audit@demo-county.example",),
        "reply_to": "send.replies@demo-county.example",
        "subject": "Evidence due",
        "text": f"Your personal link: {SECRET_LINK}\n",
        "html": f'<p><a href="{SECRET_LINK}">Open</a></p>',
        "attachments": (Attachment("invite.ics", "text/calendar; method=REQUEST", b"BEGIN:VCALENDAR\r\n"),),
    }
    fields.update(overrides)
    return OutgoingMessage(**fields)  # type: ignore[arg-type]


class Recorder:
    """An inbox watcher's callback that records what it is handed and fails for the subjects it is told to."""

    def __init__(self) -> None:
        self.received: list[ReceivedMessage] = []
        self.fail: set[str] = set()

    def __call__(self, message: ReceivedMessage) -> str:
        """Record the message; raise if its subject is one to fail."""
        self.received.append(message)
        if message.subject in self.fail:
            raise RuntimeError("the evidence request could not be recorded")
        return f"recorded {message.internet_message_id}"
