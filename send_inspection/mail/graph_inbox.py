"""Watch a shared inbox through Microsoft Graph and hand each message received to a callback once, even across restarts.

Each poll runs one round of the inbox's delta query: from the @odata.deltaLink the last round ended with (kept in
`mailbox_deltas`), or for a first round from the messages received since `not_before`; it follows the
@odata.nextLink pages to the new @odata.deltaLink. Every new message it returns is noted in `inbox_messages`
before the new deltaLink is kept, so a message noted and not yet handed over (a callback that failed, more than
`max_per_poll` at once, a process that died) is handed over by a later poll by its id, not lost with the round.

Then each message noted and not yet handled is handed over, oldest first: its text as plain text, its file
attachments' bytes through $value (large ones too: their bytes as they are, not base64 inside JSON), the names of
attached items. Then each message taken gets the partnership's handled mark: its category added (PATCH), or a move
to its folder under the inbox (made if it is missing). Only ids and counts are logged: never a subject, a text or
an attachment's name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from send_inspection.config.models import HandledMark
from send_inspection.db.models import MailboxDelta
from send_inspection.mail.graph import GraphTransport, odata_text
from send_inspection.mail.inbox_book import InboxBook, as_utc, check_watch, hand_over
from send_inspection.mail.received import PollResult, ReceivedAttachment, ReceivedMessage, message_key

log = logging.getLogger(__name__)

READ_WRITE = "Mail.ReadWrite"
FOLDER = "inbox"
_SELECT = "id,internetMessageId,receivedDateTime,subject,from,sender,body,hasAttachments,categories"
_MESSAGE = "#microsoft.graph.message"


def _utc_text(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _received_at(entry: dict[str, Any]) -> datetime:
    return as_utc(str(entry["receivedDateTime"]).replace("Z", "+00:00"))


class GraphInboxWatcher:
    """Hand each message received in a shared inbox to `handle` once; delta state and messages kept in our database."""

    def __init__(
        self,
        transport: GraphTransport,
        sessions: Callable[[], Session],
        *,
        mailbox: str,
        handle: Callable[[ReceivedMessage], str | None],
        not_before: datetime,
        mark: HandledMark | None = None,
        page_size: int = 50,
        max_per_poll: int = 100,
        max_attempts: int = 5,
    ) -> None:
        check_watch(not_before, page_size=page_size, max_per_poll=max_per_poll, max_attempts=max_attempts)
        self.client = transport.client
        self.mailbox = mailbox
        self.handle = handle
        self.not_before = not_before
        self.mark = mark
        self.page_size = page_size
        self.max_per_poll = max_per_poll
        self.max_attempts = max_attempts
        self._sessions = sessions
        self.book = InboxBook(sessions, mailbox)
        self._folder_id: str | None = None

    # --- the delta state ------------------------------------------------------------------------------------

    def _state(self) -> MailboxDelta | None:
        with self._sessions() as session:
            return session.scalars(select(MailboxDelta).where(MailboxDelta.mailbox == self.mailbox,
                                                              MailboxDelta.folder == FOLDER)).first()

    def _first_link(self) -> tuple[str, dict[str, str] | None]:
        """Return where this round starts: the last round's deltaLink, or a first round from `not_before` on."""
        state = self._state()
        if state is not None and as_utc(state.not_before) == as_utc(self.not_before):
            return state.delta_link, None
        # No round yet, or one for another inspection: a first round from this inspection's notification.
        url = self.client.user_url(self.mailbox, f"/mailFolders/{FOLDER}/messages/delta")
        return url, {"$select": _SELECT, "$filter": f"receivedDateTime ge {_utc_text(self.not_before)}"}

    def _keep(self, delta_link: str, *, now: datetime) -> None:
        with self._sessions() as session:
            state = session.scalars(select(MailboxDelta).where(MailboxDelta.mailbox == self.mailbox,
                                                               MailboxDelta.folder == FOLDER)).first()
            if state is None:
                state = MailboxDelta(mailbox=self.mailbox, folder=FOLDER, rounds=0)
                session.add(state)
            state.not_before, state.delta_link, state.updated_at = self.not_before, delta_link, now
            state.rounds = (state.rounds or 0) + 1
            session.commit()

    # --- Graph ----------------------------------------------------------------------------------------------

    def _get(self, url: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        prefer = f'odata.maxpagesize={self.page_size}, outlook.body-content-type="text"'
        return self.client.call("GET", url, mailbox=self.mailbox, needs=READ_WRITE, params=params,
                                headers={"Prefer": prefer}).json()

    def _round(self, *, now: datetime, result: PollResult) -> dict[str, dict[str, Any]]:
        """Run one delta round; note each new message; keep the new deltaLink; return the messages by id."""
        url, params = self._first_link()
        seen: dict[str, dict[str, Any]] = {}
        while True:
            page = self._get(url, params)
            for entry in page.get("value", []):
                if "@removed" in entry or entry.get("@odata.type", _MESSAGE) != _MESSAGE:
                    continue  # gone from the inbox, or a meeting request or response: not a message for the intake
                seen[entry["id"]] = entry
            if "@odata.nextLink" in page:
                url, params = page["@odata.nextLink"], None
                continue
            break
        result.listed = len(seen)
        for entry in sorted(seen.values(), key=lambda e: e.get("receivedDateTime", "")):
            key = message_key(entry.get("internetMessageId"), entry["id"], source="graph")
            self.book.note(key, entry["id"], _received_at(entry), now=now)
        if "@odata.deltaLink" in page:
            self._keep(page["@odata.deltaLink"], now=now)
        return seen

    def _message(self, item_id: str, seen: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
        if item_id in seen:
            return seen[item_id]
        answer = self.client.call("GET", self.client.user_url(self.mailbox, f"/messages/{item_id}"),
                                  mailbox=self.mailbox, needs=READ_WRITE, params={"$select": _SELECT},
                                  headers={"Prefer": 'outlook.body-content-type="text"'}, allow=(404,))
        return None if answer.status_code == 404 else answer.json()

    def _received(self, entry: dict[str, Any], key: str) -> ReceivedMessage:
        files: list[ReceivedAttachment] = []
        items: list[str] = []
        if entry.get("hasAttachments"):
            url = self.client.user_url(self.mailbox, f"/messages/{entry['id']}/attachments")
            listed = self.client.call("GET", url, mailbox=self.mailbox, needs=READ_WRITE,
                                      params={"$select": "id,name,contentType,size,isInline"}).json()
            for attachment in listed.get("value", []):
                kind = attachment.get("@odata.type", "")
                if kind == "#microsoft.graph.fileAttachment":
                    data = self.client.download(f"{url}/{attachment['id']}/$value", mailbox=self.mailbox,
                                                needs=READ_WRITE)
                    files.append(ReceivedAttachment(
                        name=attachment.get("name") or "attachment", data=data,
                        content_type=attachment.get("contentType") or "application/octet-stream",
                        is_inline=bool(attachment.get("isInline"))))
                else:
                    items.append(attachment.get("name") or "item")
        sender = (entry.get("from") or entry.get("sender") or {}).get("emailAddress") or {}
        return ReceivedMessage(
            mailbox=self.mailbox, internet_message_id=key, item_id=entry["id"],
            received_at=_received_at(entry),
            sender=sender.get("address") or "", sender_name=sender.get("name") or "",
            subject=entry.get("subject") or "", body_text=(entry.get("body") or {}).get("content") or "",
            attachments=tuple(files), item_attachments=tuple(items),
        )

    # --- the handled mark -----------------------------------------------------------------------------------

    def _handled_folder(self, name: str) -> str:
        """Return the id of the folder `name` under the inbox, making it if it is not there."""
        if self._folder_id is None:
            url = self.client.user_url(self.mailbox, f"/mailFolders/{FOLDER}/childFolders")
            found = self.client.call("GET", url, mailbox=self.mailbox, needs=READ_WRITE,
                                     params={"$filter": f"displayName eq {odata_text(name)}"}).json()
            folders = found.get("value", [])
            self._folder_id = folders[0]["id"] if folders else self.client.call(
                "POST", url, mailbox=self.mailbox, needs=READ_WRITE, json={"displayName": name}).json()["id"]
        return self._folder_id

    def _mark_all(self, seen: dict[str, dict[str, Any]], *, now: datetime, result: PollResult) -> None:
        """Give every message taken and not yet marked the handled mark: its category, or a move to its folder."""
        if self.mark is None:
            return
        for unmarked in self.book.unmarked():
            url = self.client.user_url(self.mailbox, f"/messages/{unmarked.item_id}")
            moved: str | None = None
            if self.mark.category is not None:
                entry = self._message(unmarked.item_id, seen)
                categories = list((entry or {}).get("categories") or [])
                if entry is not None and self.mark.category not in categories:
                    self.client.call("PATCH", url, mailbox=self.mailbox, needs=READ_WRITE, allow=(404,),
                                     json={"categories": [*categories, self.mark.category]})
            else:
                answer = self.client.call("POST", f"{url}/move", mailbox=self.mailbox, needs=READ_WRITE,
                                          json={"destinationId": self._handled_folder(self.mark.folder or "")},
                                          allow=(404,))
                moved = answer.json().get("id") if answer.status_code != 404 else None
            # A 404: deleted or moved by a person since it was taken; nothing is left to mark.
            self.book.marked(unmarked.key, now=now, item_id=moved)
            result.marked += 1

    # --- the interface ----------------------------------------------------------------------------------------

    def poll(self, *, now: datetime) -> PollResult:
        """Take the inbox's changes since the last round, then hand every message not yet handled over, oldest first."""
        result = PollResult()
        seen = self._round(now=now, result=result)
        result.already_handled = len(self.book.handled_item_ids(list(seen)))
        for key, item_id in self.book.open_messages(limit=self.max_per_poll):
            entry = self._message(item_id, seen)
            if entry is None:
                # Deleted from the mailbox before it could be taken: nothing to hand over.
                self.book.finish(key, handled_at=now, outcome="gone from the mailbox before it was taken",
                                 error="not found in the mailbox")
                continue
            hand_over(self.book, key, item_id, _received_at(entry),
                      read=lambda e=entry, k=key: self._received(e, k), handle=self.handle, now=now,
                      max_attempts=self.max_attempts, result=result)
        self._mark_all(seen, now=now, result=result)
        return result
