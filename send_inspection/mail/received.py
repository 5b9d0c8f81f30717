"""What the mailbox intake is handed for each message received in a watched shared inbox, whichever the transport."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class ReceivedAttachment:
    """A file attached to a received message, with its bytes (left out of the repr)."""

    name: str = field(repr=False)
    content_type: str
    data: bytes = field(repr=False)
    is_inline: bool = False


@dataclass(frozen=True, kw_only=True)
class ReceivedMessage:
    """A message from the watched inbox, as handed to the callback; its text is left out of the repr."""

    mailbox: str
    internet_message_id: str
    # The mailbox's own id of the message: the EWS item id or the Graph message id.
    item_id: str
    received_at: datetime
    sender: str
    sender_name: str = field(repr=False)
    subject: str = field(repr=False)
    body_text: str = field(repr=False)
    attachments: tuple[ReceivedAttachment, ...] = ()
    # Names of attached items (a forwarded message, a meeting): not read here.
    item_attachments: tuple[str, ...] = field(default=(), repr=False)


@dataclass
class PollResult:
    """What one poll did, by internet message id: handed over, failed (to try again), given up on, skipped, marked."""

    listed: int = 0
    handled: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    gave_up: list[str] = field(default_factory=list)
    already_handled: int = 0
    busy: int = 0
    marked: int = 0


class Watcher(Protocol):
    """A watcher of one shared inbox (EWS or Graph): hands each new message over once per poll."""

    def poll(self, *, now: datetime) -> PollResult:
        """Hand every message not yet handled to the callback, oldest first."""
        ...


def message_key(message_id: str | None, item_id: str, *, source: str) -> str:
    """Return the key a message is kept by: its Message-ID, or for one without (drafts, some system messages) its
    `source`'s ("ews", "graph") id of it."""
    return message_id or f"<{source}-{hashlib.sha256(item_id.encode()).hexdigest()[:40]}@send-inspection.invalid>"
