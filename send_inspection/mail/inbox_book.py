"""The one door to the inbox_messages table: which messages of a watched inbox were taken, claimed and marked.

Both inbox watchers (EWS and Graph) keep here, by internet message id, each message they hand to the intake:
claimed while one watcher hands it over (so another leaves it alone), handled once the callback returned (never
handed over again), and marked once it carries the partnership's handled mark in the mailbox. What is kept is ids,
times and outcomes: never a message's text, subject or attachments, and none of them is logged.

Once, not exactly once: a process that dies after the callback returned and before the table recorded it hands
the message over again after STALE_CLAIM. Callbacks key what they record on the internet message id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from send_inspection.db.models import InboxMessage
from send_inspection.mail.received import PollResult, ReceivedMessage
from send_inspection.mail.transport import MailTransportError

log = logging.getLogger(__name__)

# A message claimed this recently is being handed over by another watcher (or one that died): leave it alone.
STALE_CLAIM = timedelta(minutes=5)
_MAX_TEXT = 2000


@dataclass(frozen=True)
class Unmarked:
    """A message taken and not yet marked in the mailbox: its key and where it was last seen."""

    key: str
    item_id: str


def check_watch(not_before: datetime, *, page_size: int, max_per_poll: int, max_attempts: int) -> None:
    """Refuse a watcher's options that cannot work: a naive not_before, a page or a limit under 1."""
    if not_before.tzinfo is None:
        raise ValueError("not_before: an aware datetime")
    if page_size < 1 or max_per_poll < 1 or max_attempts < 1:
        raise ValueError("page_size, max_per_poll and max_attempts: at least 1")


def as_utc(value: datetime | str) -> datetime:
    """Return a plain aware UTC datetime (SQLite gives aggregates back as text or naive datetimes)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return datetime.fromtimestamp(moment.timestamp(), UTC)


class InboxBook:
    """The messages of one watched mailbox in inbox_messages."""

    def __init__(self, sessions: Callable[[], Session], mailbox: str) -> None:
        self._sessions = sessions
        self.mailbox = mailbox

    def since(self, not_before: datetime, *, overlap: timedelta) -> datetime:
        """Return when a listing starts looking: before the oldest unhandled message or the newest handled."""
        with self._sessions() as session:
            mine = InboxMessage.mailbox == self.mailbox
            oldest_open = session.scalar(select(func.min(InboxMessage.received_at))
                                         .where(mine, InboxMessage.handled_at.is_(None)))
            newest_done = session.scalar(select(func.max(InboxMessage.received_at))
                                         .where(mine, InboxMessage.handled_at.is_not(None)))
        marks = [mark for mark in (oldest_open, newest_done) if mark is not None]
        if not marks:
            return not_before
        # The overlap catches a message moved into the inbox with an older received time.
        return max(not_before, min(as_utc(mark) for mark in marks) - overlap)

    def handled_item_ids(self, item_ids: Sequence[str]) -> set[str]:
        """Return which of these mailbox ids belong to messages already handled."""
        with self._sessions() as session:
            return set(session.scalars(select(InboxMessage.item_id).where(
                InboxMessage.mailbox == self.mailbox, InboxMessage.item_id.in_(item_ids),
                InboxMessage.handled_at.is_not(None))))

    def note(self, key: str, item_id: str, received_at: datetime, *, now: datetime) -> bool:
        """Note a message seen in the inbox, to be handed over by this poll or a later one; False if it was known."""
        with self._sessions() as session:
            row = session.scalars(select(InboxMessage).where(InboxMessage.mailbox == self.mailbox,
                                                             InboxMessage.internet_message_id == key)).first()
            if row is not None:
                row.item_id = item_id  # where the message is now
                session.commit()
                return False
            session.add(InboxMessage(mailbox=self.mailbox, internet_message_id=key, item_id=item_id,
                                     received_at=received_at, first_seen_at=now, attempts=0))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return False
            return True

    def open_messages(self, *, limit: int) -> list[tuple[str, str]]:
        """Return (key, item id) of messages noted and not yet handled, oldest first."""
        with self._sessions() as session:
            return [(key, item_id) for key, item_id in session.execute(
                select(InboxMessage.internet_message_id, InboxMessage.item_id)
                .where(InboxMessage.mailbox == self.mailbox, InboxMessage.handled_at.is_(None))
                .order_by(InboxMessage.received_at, InboxMessage.id).limit(limit))]

    def claim(self, key: str, item_id: str, received_at: datetime, *, now: datetime,
              result: PollResult) -> int | None:
        """Claim the message for this watcher; return its attempt number, or None when it is not ours to hand."""
        with self._sessions() as session:
            row = session.scalars(select(InboxMessage).where(InboxMessage.mailbox == self.mailbox,
                                                             InboxMessage.internet_message_id == key)).first()
            if row is not None and row.handled_at is not None:
                # The same message again (a second copy, or moved out and back): note where it is now, skip it.
                row.item_id = item_id
                session.commit()
                result.already_handled += 1
                return None
            if row is not None and row.claimed_at is not None and now - row.claimed_at < STALE_CLAIM:
                result.busy += 1
                return None
            if row is None:
                session.add(InboxMessage(mailbox=self.mailbox, internet_message_id=key, item_id=item_id,
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
                .values(claimed_at=now, attempts=attempt, item_id=item_id)
                .execution_options(synchronize_session=False)
            )
            session.commit()
            if claimed.rowcount != 1:
                result.busy += 1
                return None
            return attempt

    def finish(self, key: str, **values: object) -> None:
        """Release the claim on the message, recording `values` (handled_at, outcome, error...)."""
        with self._sessions() as session:
            session.execute(
                update(InboxMessage)
                .where(InboxMessage.mailbox == self.mailbox, InboxMessage.internet_message_id == key)
                .values(claimed_at=None, **values)
                .execution_options(synchronize_session=False)
            )
            session.commit()

    def unmarked(self) -> list[Unmarked]:
        """Return the messages taken (not given up on) that do not yet carry the handled mark in the mailbox."""
        with self._sessions() as session:
            return [Unmarked(key, item_id) for key, item_id in session.execute(
                select(InboxMessage.internet_message_id, InboxMessage.item_id).where(
                    InboxMessage.mailbox == self.mailbox, InboxMessage.handled_at.is_not(None),
                    InboxMessage.error.is_(None), InboxMessage.marked_at.is_(None))
                .order_by(InboxMessage.received_at))]

    def marked(self, key: str, *, now: datetime, item_id: str | None = None) -> None:
        """Record that the message now carries the handled mark (and its id, if marking moved it)."""
        values: dict[str, object] = {"marked_at": now}
        if item_id is not None:
            values["item_id"] = item_id
        with self._sessions() as session:
            session.execute(update(InboxMessage).where(InboxMessage.mailbox == self.mailbox,
                                                       InboxMessage.internet_message_id == key).values(**values)
                            .execution_options(synchronize_session=False))
            session.commit()


def hand_over(book: InboxBook, key: str, item_id: str, received_at: datetime, *,
              read: Callable[[], ReceivedMessage], handle: Callable[[ReceivedMessage], str | None],
              now: datetime, max_attempts: int, result: PollResult) -> None:
    """Claim one message, read it, hand it to `handle` and record the outcome; a failure of the server stops here."""
    attempt = book.claim(key, item_id, received_at, now=now, result=result)
    if attempt is None:
        return
    try:
        message = read()
    except MailTransportError:
        # The server, not the message: give the attempt back and stop this poll.
        book.finish(key, attempts=attempt - 1)
        raise
    try:
        outcome = handle(message)
    except Exception as exc:  # noqa: BLE001 - any failure of the callback leaves the message for the next poll
        error = f"{type(exc).__name__}: {exc}"[:_MAX_TEXT]
        if attempt >= max_attempts:
            book.finish(key, handled_at=now, outcome=f"gave up after {attempt} attempts", error=error)
            result.gave_up.append(key)
            # The log goes to Prefect: the failure's kind only (its text may quote the message); the row has it.
            log.error("inbox %s: gave up on %s after %d attempts: %s", book.mailbox, key, attempt,
                      type(exc).__name__)
        else:
            book.finish(key, error=error)
            result.failed.append((key, error))
            log.error("inbox %s: %s not handled (attempt %d of %d), will try again: %s", book.mailbox, key,
                      attempt, max_attempts, type(exc).__name__)
        return
    book.finish(key, handled_at=now, outcome=(outcome or "handled")[:_MAX_TEXT], error=None)
    result.handled.append(key)
    log.info("inbox %s: handed over %s", book.mailbox, key)
