"""The interface every way of sending mail implements, and the error it raises."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from send_inspection.mail.message import OutgoingMessage


class MailTransportError(Exception):
    """Sending failed; `retryable` says whether trying the same send again later may succeed."""

    def __init__(self, message: str, *, retryable: bool, refused: tuple[str, ...] = (), partial: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
        # Recipients the server refused.
        self.refused = refused
        # True when the server accepted the message for some recipients: it counts as sent.
        self.partial = partial


class MailTransport(Protocol):
    """Deliver an outgoing message somewhere: the local outbox folder or an SMTP server."""

    name: str

    def send(self, message: OutgoingMessage, *, sent_at: datetime) -> str:
        """Send `message` dated `sent_at` and return its Message-ID."""
        ...
