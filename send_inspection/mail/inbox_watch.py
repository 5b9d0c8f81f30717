"""Watch a shared inbox through EWS and hand each message received to a callback once, even across restarts.

Each poll lists the inbox newest first (FindItem, a page at a time) from a little before the last message
handled, skips what the `inbox_messages` table already holds, reads the rest (GetItem: subject, sender, plain
text body, internet message id, attachments; GetAttachment for each file's bytes) and hands them over oldest
first. A message counts as handled once the callback has returned and the table says so: a callback that raises
leaves it unhandled, to be handed over again at the next poll (up to `max_attempts` times), and the others go on.

What is kept is the internet message id, the EWS item id, times and outcomes: never a message's text, subject or
attachments, and none of them is logged. Attachments are handed to the callback as bytes, for it to store.

Once, not exactly once: a process that dies after the callback returned and before the table recorded it hands
the message over again after STALE_CLAIM. Callbacks should key what they record on the internet message id.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from exchangelib import FileAttachment, ItemAttachment, Message
from exchangelib.folders import Inbox
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from send_inspection.db.models import InboxMessage
from send_inspection.mail.ews import EwsTransport, mailbox_folder
from send_inspection.mail.transport import MailTransportError

log = logging.getLogger(__name__)

# A message claimed this recently is being handed over by another watcher (or one that died): leave it alone.
STALE_CLAIM = timedelta(minutes=5)
_FETCHED = ["subject", "author", "sender", "text_body", "message_id", "datetime_received", "attachments"]
_MAX_TEXT = 2000


@dataclass(frozen=True)
class ReceivedAttachment:
    """A file attached to a received message, with its bytes (left out of the repr)."""

    name: str
    content_type: str
    data: bytes = field(repr=False)
    is_inline: bool = False


@dataclass(frozen=True, kw_only=True)
class ReceivedMessage:
    """A message from the watched inbox, as handed to the callback; its text is left out of the repr."""

    mailbox: str
    internet_message_id: str
    ews_item_id: str
    received_at: datetime
    sender: str
    sender_name: str = field(repr=False)
    subject: str = field(repr=False)
    body_text: str = field(repr=False)
    attachments: tuple[ReceivedAttachment, ...] = ()
    # Names of attached items (a forwarded message, a meeting): not read here.
    item_attachments: tuple[str, ...] = ()


@dataclass
class PollResult:
    """What one poll did, by internet message id: handed over, failed (to try again), given up on, skipped."""

    listed: int = 0
    handled: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    gave_up: list[str] = field(default_factory=list)
    already_handled: int = 0
    busy: int = 0


@dataclass(frozen=True)
class _Listed:
    item_id: str
    changekey: str
    received_at: datetime


def _message_key(message_id: str | None, item_id: str) -> str:
    # Drafts and some system messages have no Message-ID: key them by their EWS id instead.
    return message_id or f"<ews-{hashlib.sha256(item_id.encode()).hexdigest()[:40]}@send-inspection.invalid>"


class InboxWatcher:
    """Hand each message received in a shared inbox to `handle` once; the table remembers across restarts."""

    def __init__(
        self,
        transport: EwsTransport,
        sessions: Callable[[], Session],
        *,
        mailbox: str,
        handle: Callable[[ReceivedMessage], str | None],
        not_before: datetime,
        page_size: int = 50,
        max_per_poll: int = 100,
        max_attempts: int = 5,
        overlap: timedelta = timedelta(hours=1),
    ) -> None:
        if not_before.tzinfo is None:
            raise ValueError("not_before: an aware datetime")
        if page_size < 1 or max_per_poll < 1 or max_attempts < 1:
            raise ValueError("page_size, max_per_poll and max_attempts: at least 1")
        self.transport = transport
        self.mailbox = mailbox
        self.handle = handle
        self.not_before = not_before
        self.page_size = page_size
        self.max_per_poll = max_per_poll
        self.max_attempts = max_attempts
        self.overlap = overlap
        self._sessions = sessions

    # --- the table ------------------------------------------------------------------------------------------

    def since(self) -> datetime:
        """Return when the next poll starts looking: before the oldest unhandled message or the newest handled."""
        with self._sessions() as session:
            mine = InboxMessage.mailbox == self.mailbox
            oldest_open = session.scalar(select(func.min(InboxMessage.received_at))
                                         .where(mine, InboxMessage.handled_at.is_(None)))
            newest_done = session.scalar(select(func.max(InboxMessage.received_at))
                                         .where(mine, InboxMessage.handled_at.is_not(None)))
        marks = [mark for mark in (oldest_open, newest_done) if mark is not None]
        if not marks:
            return self.not_before
        # SQLite gives aggregates back as text or naive datetimes; they are stored in UTC.
        earliest = min(_as_utc(mark) for mark in marks)
        # The overlap catches a message moved into the inbox with an older received time.
        return max(self.not_before, earliest - self.overlap)

    def _handled_item_ids(self, item_ids: Sequence[str]) -> set[str]:
        with self._sessions() as session:
            rows = session.scalars(select(InboxMessage.ews_item_id).where(
                InboxMessage.mailbox == self.mailbox, InboxMessage.ews_item_id.in_(item_ids),
                InboxMessage.handled_at.is_not(None)))
            return set(rows)

    def _claim(self, key: str, item_id: str, received_at: datetime, *, now: datetime,
               result: PollResult) -> int | None:
        """Claim the message for this watcher; return its attempt number, or None when it is not ours to hand."""
        with self._sessions() as session:
            row = session.scalars(select(InboxMessage).where(InboxMessage.mailbox == self.mailbox,
                                                             InboxMessage.internet_message_id == key)).first()
            if row is not None and row.handled_at is not None:
                # The same message again (a second copy, or moved out and back): note where it is now, skip it.
                row.ews_item_id = item_id
                session.commit()
                result.already_handled += 1
                return None
            if row is not None and row.claimed_at is not None and now - row.claimed_at < STALE_CLAIM:
                result.busy += 1
                return None
            if row is None:
                session.add(InboxMessage(mailbox=self.mailbox, internet_message_id=key, ews_item_id=item_id,
                                         received_at=received_at, first_seen_at=now, claimed_at=now, attempts=1))
                try:
                    session.commit()
                except IntegrityError:
                    session.rollback()
                    result.busy += 1
                    return None
                return 1
            # Conditional on the attempt count read above: of two watchers claiming at once, one wins.
            attempt = row.attempts + 1
            claimed = session.execute(
                update(InboxMessage)
                .where(InboxMessage.id == row.id, InboxMessage.attempts == row.attempts)
                .values(claimed_at=now, attempts=attempt, ews_item_id=item_id)
                .execution_options(synchronize_session=False)
            )
            session.commit()
            if claimed.rowcount != 1:
                result.busy += 1
                return None
            return attempt

    def _finish(self, key: str, **values: object) -> None:
        with self._sessions() as session:
            session.execute(
                update(InboxMessage)
                .where(InboxMessage.mailbox == self.mailbox, InboxMessage.internet_message_id == key)
                .values(claimed_at=None, **values)
                .execution_options(synchronize_session=False)
            )
            session.commit()

    # --- EWS ------------------------------------------------------------------------------------------------

    def _list(self, since: datetime) -> list[_Listed]:
        """List the messages received since `since`, newest first, one page of `page_size` per request."""
        inbox = mailbox_folder(self.transport.account_for(self.mailbox), Inbox)
        query = inbox.filter(datetime_received__gte=since).order_by("-datetime_received").only("datetime_received")
        query.page_size = self.page_size
        found = self.transport.call(lambda: list(query), mailbox=self.mailbox)
        listed: dict[str, _Listed] = {}
        for item in found:
            # Meeting requests, responses and other items are not messages for the callback.
            if isinstance(item, Message) and item.id and item.datetime_received is not None:
                listed.setdefault(item.id, _Listed(item.id, item.changekey, _as_utc(item.datetime_received)))
        return list(listed.values())

    def _read(self, batch: Sequence[_Listed]) -> list[Message]:
        account = self.transport.account_for(self.mailbox)
        inbox = mailbox_folder(account, Inbox)
        ids = [(listed.item_id, listed.changekey) for listed in batch]
        fetched = self.transport.call(
            lambda: list(account.fetch(ids=ids, folder=inbox, only_fields=_FETCHED, chunk_size=self.page_size)),
            mailbox=self.mailbox,
        )
        # A message deleted between the listing and the reading comes back as an error: it is simply gone.
        return [item for item in fetched if isinstance(item, Message)]

    def _received(self, item: Message, key: str, received_at: datetime) -> ReceivedMessage:
        files: list[ReceivedAttachment] = []
        items: list[str] = []
        for attachment in item.attachments or ():
            if isinstance(attachment, FileAttachment):
                data = self.transport.call(lambda a=attachment: a.content, mailbox=self.mailbox)
                files.append(ReceivedAttachment(name=attachment.name or "attachment",
                                                content_type=attachment.content_type or "application/octet-stream",
                                                data=data or b"", is_inline=bool(attachment.is_inline)))
            elif isinstance(attachment, ItemAttachment):
                items.append(attachment.name or "item")
        sender = item.author or item.sender
        return ReceivedMessage(
            mailbox=self.mailbox,
            internet_message_id=key,
            ews_item_id=item.id,
            received_at=received_at,
            sender=(sender.email_address or "") if sender else "",
            sender_name=(sender.name or "") if sender else "",
            subject=item.subject or "",
            body_text=item.text_body or "",
            attachments=tuple(files),
            item_attachments=tuple(items),
        )

    # --- the interface ----------------------------------------------------------------------------------------

    def poll(self, *, now: datetime) -> PollResult:
        """Hand every message received since the last poll and not yet handled to the callback, oldest first."""
        result = PollResult()
        listed = self._list(self.since())
        result.listed = len(listed)
        handled = self._handled_item_ids([entry.item_id for entry in listed])
        result.already_handled = sum(1 for entry in listed if entry.item_id in handled)
        todo = sorted((entry for entry in listed if entry.item_id not in handled), key=lambda e: e.received_at)
        todo = todo[:self.max_per_poll]
        received_at = {entry.item_id: entry.received_at for entry in todo}
        for start in range(0, len(todo), self.page_size):
            for item in self._read(todo[start:start + self.page_size]):
                when = received_at.get(item.id) or _as_utc(item.datetime_received)
                self._hand_over(item, when, now=now, result=result)
        return result

    def _hand_over(self, item: Message, received_at: datetime, *, now: datetime, result: PollResult) -> None:
        key = _message_key(item.message_id, item.id)
        attempt = self._claim(key, item.id, received_at, now=now, result=result)
        if attempt is None:
            return
        try:
            message = self._received(item, key, received_at)
        except MailTransportError:
            # The server, not the message: give the attempt back and stop this poll.
            self._finish(key, attempts=attempt - 1)
            raise
        try:
            outcome = self.handle(message)
        except Exception as exc:  # noqa: BLE001 - any failure of the callback leaves the message for the next poll
            error = f"{type(exc).__name__}: {exc}"[:_MAX_TEXT]
            if attempt >= self.max_attempts:
                self._finish(key, handled_at=now, outcome=f"gave up after {attempt} attempts", error=error)
                result.gave_up.append(key)
                # The log goes to Prefect: the failure's kind only (its text may quote the message); the row has it.
                log.error("inbox %s: gave up on %s after %d attempts: %s", self.mailbox, key, attempt,
                          type(exc).__name__)
            else:
                self._finish(key, error=error)
                result.failed.append((key, error))
                log.error("inbox %s: %s not handled (attempt %d of %d), will try again: %s", self.mailbox, key,
                          attempt, self.max_attempts, type(exc).__name__)
            return
        self._finish(key, handled_at=now, outcome=(outcome or "handled")[:_MAX_TEXT], error=None)
        result.handled.append(key)
        log.info("inbox %s: handed over %s", self.mailbox, key)


def _as_utc(value: datetime | str) -> datetime:
    """Return a plain aware UTC datetime (not exchangelib's EWSDateTime, which the database cannot convert)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return datetime.fromtimestamp(moment.timestamp(), UTC)
