"""Watch a shared inbox through EWS and hand each message received to a callback once, even across restarts.

Each poll lists the inbox newest first (FindItem, a page at a time) from a little before the last message
handled, skips what the `inbox_messages` table already holds, reads the rest (GetItem: subject, sender, plain
text body, internet message id, categories, attachments; GetAttachment for each file's bytes) and hands them over
oldest first. A message counts as handled once the callback has returned and the table says so: a callback that
raises leaves it unhandled, to be handed over again at the next poll (up to `max_attempts` times), and the others
go on. Each message taken then gets the partnership's handled mark in the mailbox: its category added
(UpdateItem), or a move to its folder under the inbox (MoveItem; the folder is made if it is missing).

The table (`inbox_book`) keeps ids, times and outcomes: never a message's text, subject or attachments, and none
of them is logged. Attachments are handed to the callback as bytes, for it to store.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from exchangelib import FileAttachment, Folder, ItemAttachment, Message
from exchangelib.errors import DoesNotExist, ErrorFolderNotFound, ErrorItemNotFound
from exchangelib.folders import Inbox
from exchangelib.folders.queryset import SHALLOW, SingleFolderQuerySet
from exchangelib.services import CreateFolder
from sqlalchemy.orm import Session

from send_inspection.config.models import HandledMark
from send_inspection.mail.ews import EwsTransport, mailbox_folder
from send_inspection.mail.inbox_book import InboxBook, as_utc, check_watch, hand_over
from send_inspection.mail.received import PollResult, ReceivedAttachment, ReceivedMessage, message_key

log = logging.getLogger(__name__)

_FETCHED = ["subject", "author", "sender", "text_body", "message_id", "datetime_received", "categories",
            "attachments"]


@dataclass(frozen=True)
class _Listed:
    item_id: str
    changekey: str
    received_at: datetime


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
        mark: HandledMark | None = None,
        page_size: int = 50,
        max_per_poll: int = 100,
        max_attempts: int = 5,
        overlap: timedelta = timedelta(hours=1),
    ) -> None:
        check_watch(not_before, page_size=page_size, max_per_poll=max_per_poll, max_attempts=max_attempts)
        self.transport = transport
        self.mailbox = mailbox
        self.handle = handle
        self.not_before = not_before
        self.mark = mark
        self.page_size = page_size
        self.max_per_poll = max_per_poll
        self.max_attempts = max_attempts
        self.overlap = overlap
        self.book = InboxBook(sessions, mailbox)

    def since(self) -> datetime:
        """Return when the next poll starts looking: before the oldest unhandled message or the newest handled."""
        return self.book.since(self.not_before, overlap=self.overlap)

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
                listed.setdefault(item.id, _Listed(item.id, item.changekey, as_utc(item.datetime_received)))
        return list(listed.values())

    def _read(self, ids: Sequence[tuple[str, str | None]], *, only: list[str]) -> list[Message]:
        account = self.transport.account_for(self.mailbox)
        inbox = mailbox_folder(account, Inbox)
        fetched = self.transport.call(
            lambda: list(account.fetch(ids=ids, folder=inbox, only_fields=only, chunk_size=self.page_size)),
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
            item_id=item.id,
            received_at=received_at,
            sender=(sender.email_address or "") if sender else "",
            sender_name=(sender.name or "") if sender else "",
            subject=item.subject or "",
            body_text=item.text_body or "",
            attachments=tuple(files),
            item_attachments=tuple(items),
        )

    # --- the handled mark -----------------------------------------------------------------------------------

    def _mark_all(self, *, now: datetime, result: PollResult) -> None:
        """Give every message taken and not yet marked the handled mark: its category, or a move to its folder."""
        if self.mark is None:
            return
        todo = self.book.unmarked()
        if not todo:
            return
        account = self.transport.account_for(self.mailbox)
        found = {item.id: item for item in self._read([(u.item_id, None) for u in todo], only=["categories"])}
        gone = [u for u in todo if u.item_id not in found]
        for unmarked in gone:
            # Deleted or moved by a person since it was taken: nothing left to mark.
            self.book.marked(unmarked.key, now=now)
        present = [u for u in todo if u.item_id in found]
        if not present:
            return
        if self.mark.category is not None:
            updates = []
            for unmarked in present:
                item = found[unmarked.item_id]
                item.categories = [*(item.categories or []), self.mark.category]
                updates.append((item, ["categories"]))
            outcomes = self.transport.call(lambda: account.bulk_update(items=updates), mailbox=self.mailbox)
            new_ids = [None] * len(present)
        else:
            folder = self._folder(self.mark.folder or "")
            outcomes = self.transport.call(
                lambda: account.bulk_move(ids=[(found[u.item_id].id, found[u.item_id].changekey) for u in present],
                                          to_folder=folder), mailbox=self.mailbox)
            new_ids = [o[0] if isinstance(o, tuple) else None for o in outcomes]
        for unmarked, outcome, new_id in zip(present, outcomes, new_ids, strict=False):
            if isinstance(outcome, ErrorItemNotFound):
                self.book.marked(unmarked.key, now=now)
            elif isinstance(outcome, Exception):
                raise self.transport.classify(outcome, mailbox=self.mailbox)
            else:
                self.book.marked(unmarked.key, now=now, item_id=new_id)
                result.marked += 1

    def _folder(self, name: str) -> Folder:
        """Return the folder `name` under the inbox, making it if it is not there."""
        inbox = mailbox_folder(self.transport.account_for(self.mailbox), Inbox)

        def find_or_make() -> Folder:
            try:
                return SingleFolderQuerySet(account=inbox.account, folder=inbox).depth(SHALLOW).get(name=name)
            except (DoesNotExist, ErrorFolderNotFound):
                pass
            # CreateFolder itself: exchangelib's Folder.save() first reads the mailbox's folder tree.
            return CreateFolder(account=inbox.account).get(parent_folder=inbox,
                                                           folders=[Folder(root=inbox.root, name=name)])

        return self.transport.call(find_or_make, mailbox=self.mailbox)

    # --- the interface ----------------------------------------------------------------------------------------

    def poll(self, *, now: datetime) -> PollResult:
        """Hand every message received since the last poll and not yet handled to the callback, oldest first."""
        result = PollResult()
        listed = self._list(self.since())
        result.listed = len(listed)
        handled = self.book.handled_item_ids([entry.item_id for entry in listed])
        result.already_handled = sum(1 for entry in listed if entry.item_id in handled)
        todo = sorted((entry for entry in listed if entry.item_id not in handled), key=lambda e: e.received_at)
        todo = todo[:self.max_per_poll]
        received_at = {entry.item_id: entry.received_at for entry in todo}
        for start in range(0, len(todo), self.page_size):
            batch = todo[start:start + self.page_size]
            for item in self._read([(entry.item_id, entry.changekey) for entry in batch], only=_FETCHED):
                when = received_at.get(item.id) or as_utc(item.datetime_received)
                key = message_key(item.message_id, item.id, source="ews")
                hand_over(self.book, key, item.id, when, read=lambda i=item, k=key, w=when: self._received(i, k, w),
                          handle=self.handle, now=now, max_attempts=self.max_attempts, result=result)
        self._mark_all(now=now, result=result)
        return result

