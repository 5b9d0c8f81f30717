"""Watching a shared inbox through EWS, with the real exchangelib client, against a local EWS endpoint."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from send_inspection.config.models import HandledMark
from send_inspection.db.models import InboxMessage
from send_inspection.mail.ews import EwsTransport
from send_inspection.mail.inbox_watch import InboxWatcher
from send_inspection.mail.received import ReceivedMessage
from send_inspection.mail.transport import MailTransportError
from tests.mail.ews_server import SOAP, EwsServer, M, T
from tests.mail.samples import Recorder

SHARED = "send.evidence@demo-county.example"
INSPECTOR = "lead.inspector@inspectors.demo-county.example"
MONDAY = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)
PDF = b"%PDF-1.7\n\x00\xff\xfe binary \x80\x81 bytes\n%%EOF"


def watcher(server: EwsServer, sessions: Callable[[], Session], handle: Callable[[ReceivedMessage], str | None],
            **options: object) -> InboxWatcher:
    """Return a watcher of the shared inbox on `server` (a new one is what a restarted process builds)."""
    transport = EwsTransport(server.url, "Exchange2016", auth="basic", username="svc-send", secret="demo-secret",
                             max_wait=2.0)
    settings: dict[str, object] = {"mailbox": SHARED, "handle": handle, "not_before": MONDAY - timedelta(days=1)}
    settings.update(options)
    return InboxWatcher(transport, sessions, **settings)  # type: ignore[arg-type]


def deliver(server: EwsServer, subject: str, minutes: int, **options: object) -> str:
    """Put a message from the lead inspector into the inbox `minutes` after Monday 09:00; return its Message-ID."""
    fields: dict[str, object] = {"sender": INSPECTOR, "sender_name": "Lead Inspector",
                                 "body": f"{subject}: please send the evidence by 16:00."}
    fields.update(options)
    item = server.deliver(subject=subject, received_at=MONDAY + timedelta(minutes=minutes), **fields)  # type: ignore[arg-type]
    return item.internet_message_id


def rows(sessions: Callable[[], Session]) -> list[InboxMessage]:
    """Return the inbox table, oldest message first."""
    with sessions() as session:
        return list(session.scalars(select(InboxMessage).order_by(InboxMessage.received_at)))


def test_a_new_message_is_handed_over_once_even_after_a_restart(
    server: EwsServer, sessions: Callable[[], Session]
) -> None:
    """A message is handed over with its details, then neither a second poll nor a new watcher hands it again."""
    message_id = deliver(server, "Additional evidence request 1", 5)
    handle = Recorder()
    first = watcher(server, sessions, handle).poll(now=MONDAY + timedelta(minutes=10))
    assert first.handled == [message_id]
    [message] = handle.received
    assert message.internet_message_id == message_id
    assert (message.sender, message.sender_name) == (INSPECTOR, "Lead Inspector")
    assert message.subject == "Additional evidence request 1"
    assert message.body_text == "Additional evidence request 1: please send the evidence by 16:00."
    assert message.received_at == MONDAY + timedelta(minutes=5)
    assert message.mailbox == SHARED and message.item_id == server.inbox[0].item_id
    [row] = rows(sessions)
    assert (row.internet_message_id, row.item_id, row.attempts) == (message_id, message.item_id, 1)
    assert row.handled_at == MONDAY + timedelta(minutes=10)
    assert row.outcome == f"recorded {message_id}"
    again = watcher(server, sessions, handle)
    assert again.poll(now=MONDAY + timedelta(minutes=11)).handled == []
    restarted = watcher(server, sessions, handle)
    later = restarted.poll(now=MONDAY + timedelta(minutes=12))
    assert (later.handled, later.already_handled) == ([], 1)
    assert len(handle.received) == 1
    assert server.operations().count("GetItem") == 1  # known messages are not even read again


def test_attachments_arrive_as_bytes(server: EwsServer, sessions: Callable[[], Session]) -> None:
    """Every file attachment is read with GetAttachment and handed over with its name, type and exact bytes."""
    docx = b"PK\x03\x04 a word document"
    deliver(server, "Evidence attached", 1, attachments=[("SEF summary.pdf", "application/pdf", PDF),
                                                          ("EHCP audit.docx", "application/vnd.openxmlformats-"
                                                           "officedocument.wordprocessingml.document", docx)])
    handle = Recorder()
    watcher(server, sessions, handle).poll(now=MONDAY + timedelta(minutes=2))
    [message] = handle.received
    assert [(a.name, a.data) for a in message.attachments] == [("SEF summary.pdf", PDF), ("EHCP audit.docx", docx)]
    assert message.attachments[0].content_type == "application/pdf"
    assert server.operations() == ["FindItem", "GetItem", "GetAttachment", "GetAttachment"]
    assert "binary" not in repr(message)  # the bytes stay out of the repr, and so out of any log line


def test_a_message_whose_callback_raises_is_handed_over_again_next_poll(
    server: EwsServer, sessions: Callable[[], Session], caplog: pytest.LogCaptureFixture
) -> None:
    """A failing callback leaves its message unhandled and reported; the others go on; the next poll retries it."""
    failing = deliver(server, "Request A", 1)
    fine = deliver(server, "Request B", 2)
    handle = Recorder()
    handle.fail = {"Request A"}
    caplog.set_level(logging.INFO)
    first = watcher(server, sessions, handle).poll(now=MONDAY + timedelta(minutes=5))
    assert first.handled == [fine]
    assert first.failed == [(failing, "RuntimeError: the evidence request could not be recorded")]
    assert f"{failing} not handled" in caplog.text
    open_row = next(row for row in rows(sessions) if row.internet_message_id == failing)
    assert (open_row.handled_at, open_row.claimed_at, open_row.attempts) == (None, None, 1)
    handle.fail = set()
    second = watcher(server, sessions, handle).poll(now=MONDAY + timedelta(minutes=6))
    assert (second.handled, second.failed) == ([failing], [])
    assert [m.subject for m in handle.received] == ["Request A", "Request B", "Request A"]
    assert watcher(server, sessions, handle).poll(now=MONDAY + timedelta(minutes=7)).handled == []
    assert all(row.handled_at is not None for row in rows(sessions))


def test_a_message_that_keeps_failing_is_given_up_on(server: EwsServer, sessions: Callable[[], Session]) -> None:
    """After max_attempts failures the message is marked as given up, reported, and not handed over again."""
    poison = deliver(server, "Unreadable", 1)
    handle = Recorder()
    handle.fail = {"Unreadable"}
    watch = watcher(server, sessions, handle, max_attempts=2)
    assert watch.poll(now=MONDAY + timedelta(minutes=2)).failed[0][0] == poison
    assert watch.poll(now=MONDAY + timedelta(minutes=3)).gave_up == [poison]
    assert watch.poll(now=MONDAY + timedelta(minutes=4)).handled == []
    [row] = rows(sessions)
    assert row.outcome == "gave up after 2 attempts" and row.error is not None
    assert len(handle.received) == 2


def test_the_inbox_is_listed_newest_first_in_pages_and_handed_over_oldest_first(
    server: EwsServer, sessions: Callable[[], Session]
) -> None:
    """FindItem pages through the inbox newest first, `page_size` at a time; the callback gets the oldest first."""
    ids = [deliver(server, f"Request {n}", n) for n in range(1, 6)]
    handle = Recorder()
    result = watcher(server, sessions, handle, page_size=2).poll(now=MONDAY + timedelta(minutes=10))
    assert result.handled == ids
    finds = [soap(xml) for xml in server.requests("FindItem")]
    assert len(finds) == 3
    for offset, find in zip((0, 2, 4), finds, strict=True):
        view = find.find(f"{{{M}}}IndexedPageItemView")
        assert view is not None and (view.get("MaxEntriesReturned"), view.get("Offset")) == ("2", str(offset))
        order = find.find(f"{{{M}}}SortOrder/{{{T}}}FieldOrder")
        assert order is not None and order.get("Order") == "Descending"
        folder = find.find(f"{{{M}}}ParentFolderIds/{{{T}}}DistinguishedFolderId")
        assert folder is not None and folder.get("Id") == "inbox"
        assert folder.findtext(f"{{{T}}}Mailbox/{{{T}}}EmailAddress") == SHARED
    assert server.operations().count("GetItem") == 3  # read in pages of two too


def test_the_next_poll_looks_back_from_the_last_message_handled(
    server: EwsServer, sessions: Callable[[], Session]
) -> None:
    """The first poll starts at not_before, the next an hour before the newest message handled; older ones are left."""
    deliver(server, "Last week", -7 * 24 * 60)
    handle = Recorder()
    watch = watcher(server, sessions, handle, not_before=MONDAY - timedelta(days=1))
    watch.poll(now=MONDAY)
    deliver(server, "Today", 30)
    watch.poll(now=MONDAY + timedelta(hours=1))
    watch.poll(now=MONDAY + timedelta(hours=2))
    starts = [soap(xml).find(f"{{{M}}}Restriction//{{{T}}}Constant").get("Value")  # type: ignore[union-attr]
              for xml in server.requests("FindItem")]
    assert starts == ["2026-06-14T09:00:00Z", "2026-06-14T09:00:00Z", "2026-06-15T08:30:00Z"]
    assert [m.subject for m in handle.received] == ["Today"]


def test_other_items_and_second_copies_are_not_handed_over(server: EwsServer, sessions: Callable[[], Session]) -> None:
    """A meeting response in the inbox is skipped, and a second copy of a message (same Message-ID) is not handed."""
    server.deliver(subject="Accepted: core group", sender=INSPECTOR, body="", received_at=MONDAY,
                   kind="MeetingResponse")
    message_id = deliver(server, "Request", 1)
    deliver(server, "Request", 2, internet_message_id=message_id)
    handle = Recorder()
    result = watcher(server, sessions, handle).poll(now=MONDAY + timedelta(minutes=5))
    assert (result.listed, result.handled, result.already_handled) == (2, [message_id], 1)
    assert [m.subject for m in handle.received] == ["Request"]
    [row] = rows(sessions)
    assert row.item_id == server.inbox[2].item_id  # where the message is now


def test_each_message_taken_gets_the_category_and_a_failed_one_does_not(
    server: EwsServer, sessions: Callable[[], Session]
) -> None:
    """The partnership's category is added to each message taken (its own kept); a failing one stays unmarked."""
    deliver(server, "Request A", 1)
    deliver(server, "Request B", 2)
    server.inbox[0].categories = ["Red category"]
    handle = Recorder()
    handle.fail = {"Request B"}
    mark = HandledMark(category="SEND inspection: taken in")
    first = watcher(server, sessions, handle, mark=mark).poll(now=MONDAY + timedelta(minutes=5))
    assert first.marked == 1
    assert [i.categories for i in server.inbox] == [["Red category", "SEND inspection: taken in"], []]
    assert "item:Categories" in server.requests("UpdateItem")[0]
    handle.fail = set()
    second = watcher(server, sessions, handle, mark=mark).poll(now=MONDAY + timedelta(minutes=6))
    assert second.marked == 1 and server.inbox[1].categories == ["SEND inspection: taken in"]
    assert all(row.marked_at is not None for row in rows(sessions))
    assert watcher(server, sessions, handle, mark=mark).poll(now=MONDAY + timedelta(minutes=7)).marked == 0


def test_with_a_handled_folder_each_message_taken_is_moved_there(
    server: EwsServer, sessions: Callable[[], Session]
) -> None:
    """The folder is made under the inbox once, each message taken is moved into it, and no poll sees it again."""
    deliver(server, "Request A", 1)
    deliver(server, "Request B", 2)
    handle = Recorder()
    mark = HandledMark(folder="Taken in")
    result = watcher(server, sessions, handle, mark=mark).poll(now=MONDAY + timedelta(minutes=5))
    assert result.marked == 2
    folder = server.folders[(SHARED, "Taken in")]
    assert [i.folder for i in server.inbox] == [folder, folder]
    assert [row.item_id for row in rows(sessions)] == [i.item_id for i in server.inbox]  # their ids after the move
    deliver(server, "Request C", 3)
    later = watcher(server, sessions, handle, mark=mark).poll(now=MONDAY + timedelta(minutes=6))
    assert (later.listed, later.marked) == (1, 1)
    assert server.operations().count("CreateFolder") == 1


def test_no_message_text_or_attachment_is_logged_or_kept(
    server: EwsServer, sessions: Callable[[], Session], caplog: pytest.LogCaptureFixture
) -> None:
    """Neither the logs (at INFO, ours at DEBUG) nor the table hold a subject, a body or attachment bytes."""
    deliver(server, "Child A.B. EHCP", 1, body="Confidential body about a child", attachments=[("plan.pdf",
                                                                                               "application/pdf", PDF)])
    deliver(server, "Failing", 2, body="Another confidential body")
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="send_inspection")
    handle = Recorder()
    handle.fail = {"Failing"}
    watcher(server, sessions, handle).poll(now=MONDAY + timedelta(minutes=5))
    for secret in ("Child A.B.", "Confidential body", "Another confidential", "%PDF"):
        assert secret not in caplog.text
        for row in rows(sessions):
            assert all(secret not in str(value) for value in vars(row).values())


def test_a_server_that_stays_busy_fails_the_poll_and_hands_nothing(
    server: EwsServer, sessions: Callable[[], Session]
) -> None:
    """When FindItem cannot be answered the poll raises a retryable error and nothing is recorded."""
    deliver(server, "Request", 1)
    server.script.busy = [60_000]
    handle = Recorder()
    with pytest.raises(MailTransportError) as caught:
        watcher(server, sessions, handle).poll(now=MONDAY + timedelta(minutes=5))
    assert caught.value.retryable is True
    assert handle.received == [] and rows(sessions) == []


def soap(xml: str) -> ET.Element:
    """Return the operation element of a SOAP request body."""
    body = ET.fromstring(xml).find(f"{{{SOAP}}}Body")
    assert body is not None
    return body[0]
