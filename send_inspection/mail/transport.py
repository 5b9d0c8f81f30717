"""The interface every way of sending mail implements, and the error it raises."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from send_inspection.mail.message import OutgoingMessage


class MailTransportError(Exception):
    """Sending failed; `retryable` says whether trying the same send again later may succeed."""

    def __init__(self, message: str, *, retryable: bool, refused: tuple[str, ...] = (), partial: bool = False,
                 reason: str | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        # Recipients the server refused.
        self.refused = refused
        # True when the server accepted the message for some recipients: it counts as sent.
        self.partial = partial
        # What went wrong in the product's own words: no address, no subject, nothing the server said back.
        self.reason = reason

    def for_operators(self) -> str:
        """Say what went wrong for Prefect's logs and artifacts: counts and the product's words only.

        The message itself (addresses, the server's answer, which may quote a subject) stays in the ledger.
        """
        if self.partial:
            return f"delivered in part: {len(self.refused)} recipient(s) refused"
        if self.refused:
            return f"{len(self.refused)} recipient(s) refused"
        if self.reason:
            return self.reason
        return "the mail server could not take it now" if self.retryable else "the mail server refused it"


class MailTransport(Protocol):
    """Deliver an outgoing message somewhere: the local outbox folder or an SMTP server."""

    name: str

    def send(self, message: OutgoingMessage, *, sent_at: datetime) -> str:
        """Send `message` dated `sent_at` and return its Message-ID."""
        ...
