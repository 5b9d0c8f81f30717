"""Watching a shared inbox by Graph delta query, with tokens from the real MSAL, against the local Graph endpoint."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from send_inspection.config.models import HandledMark
from send_inspection.db.models import InboxMessage, MailboxDelta
from send_inspection.mail.graph import GraphTransport
from send_inspection.mail.graph_inbox import GraphInboxWatcher
from send_inspection.mail.received import ReceivedMessage
from send_inspection.mail.transport import MailTransportError
from tests.mail.graph_server import CLIENT_SECRET, TENANT, GraphServer
from tests.mail.samples import Recorder

SHARED = "send.evidence@demo-county.example"
INSPECTOR = "lead.inspector@inspectors.demo-county.example"
MONDAY = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)
PDF = b"%PDF-1.7\n\x00\xff\xfe binary \x80\x81 bytes\n%%EOF"
DELTA = f"GET /v1.0/users/{SHARED}/mailFolders/inbox/messages/delta"


def watcher(server: GraphServer, sessions: Callable[[], Session], handle: Callable[[ReceivedMessage], str | None],
            **options: object) -> GraphInboxWatcher:
    """Return a watcher of the shared inbox through `server` (a new one is what a restarted process builds)."""
    transport = GraphTransport(TENANT, "demo-client", secret=CLIENT_SECRET, authority=server.authority,
                               graph_base=server.graph_base, ca_bundle=server.ca_bundle, max_wait=2.0, timeout=5.0)
    settings: dict[str, object] = {"mailbox": SHARED, "handle": handle, "not_before": MONDAY - timedelta(days=1),
                                   "mark": HandledMark(category="SEND inspection: taken in")}
    settings.update(options)
    return GraphInboxWatcher(transport, sessions, **settings)  # type: ignore[arg-type]


def deliver(server: GraphServer, subject: str, minutes: int, **options: object) -> str:
    """Put a message from the lead inspector into the inbox `minutes` after Monday 09:00; return its Message-ID."""
    fields: dict[str, object] = {"sender": INSPECTOR, "sender_name": "Lead Inspector",
                                 "body": f"{subject}: please send the evidence by 16:00."}
    fields.update(options)
    item = server.deliver(SHARED, subject=subject, received_at=MONDAY + timedelta(minutes=minutes),
                          **fields)  # type: ignore[arg-type]
    return item.internet_message_id


def rows(sessions: Callable[[], Session]) -> list[InboxMessage]:
    """Return the inbox table, oldest message first."""
    with sessions() as session:
        return list(session.scalars(select(InboxMessage).order_by(InboxMessage.received_at)))


def delta_state(sessions: Callable[[], Session]) -> MailboxDelta:
    """Return the kept delta state of the shared inbox."""
    with sessions() as session:
        return session.scalars(select(MailboxDelta)).one()


def test_a_new_message_is_handed_over_once_and_marked_even_after_a_restart(
        graph_server: GraphServer, sessions: Callable[[], Session]) -> None:
    """The first round asks from not_before; the message is handed over and gets the category; later rounds do not."""
    message_id = deliver(graph_server, "Additional evidence request 1", 5)
    handle = Recorder()
    first = watcher(graph_server, sessions, handle).poll(now=MONDAY + timedelta(minutes=10))
    assert (first.handled, first.marked) == ([message_id], 1)
    delta = next(seen for seen in graph_server.seen if seen.path.endswith("/delta"))
    assert delta.query["$filter"] == "receivedDateTime ge 2026-06-14T09:00:00Z"
    assert 'outlook.body-content-type="text"' in (delta.prefer or "")
    [message] = handle.received
    assert message.internet_message_id == message_id
    assert (message.sender, message.sender_name) == (INSPECTOR, "Lead Inspector")
    assert message.subject == "Additional evidence request 1"
    assert message.body_text == "Additional evidence request 1: please send the evidence by 16:00."
    assert message.received_at == MONDAY + timedelta(minutes=5)
    [item] = graph_server.in_folder(SHARED, "inbox")
    assert item.categories == ["SEND inspection: taken in"] and message.item_id == item.id
    [row] = rows(sessions)
    assert (row.internet_message_id, row.item_id, row.attempts, row.outcome) == (
        message_id, item.id, 1, f"recorded {message_id}")
    assert row.marked_at == MONDAY + timedelta(minutes=10)
    assert "$deltatoken=" in delta_state(sessions).delta_link
    restarted = watcher(graph_server, sessions, handle).poll(now=MONDAY + timedelta(minutes=12))
    assert (restarted.handled, restarted.already_handled) == ([], 1)  # the category changed it: seen, not handed
    assert watcher(graph_server, sessions, handle).poll(now=MONDAY + timedelta(minutes=13)).listed == 0
    assert len(handle.received) == 1
    assert [s.query.get("$deltatoken") is not None for s in graph_server.seen if s.path.endswith("/delta")] == [
        False, True, True]


def test_the_delta_round_follows_next_links_and_keeps_the_delta_link(
        graph_server: GraphServer, sessions: Callable[[], Session]) -> None:
    """Five messages in pages of two: three delta requests, the last ending with the deltaLink kept in our database."""
    ids = [deliver(graph_server, f"Request {n}", n) for n in range(1, 6)]
    handle = Recorder()
    result = watcher(graph_server, sessions, handle, page_size=2).poll(now=MONDAY + timedelta(minutes=10))
    assert result.handled == ids  # oldest first
    deltas = [s for s in graph_server.seen if s.path.endswith("/delta")]
    assert len(deltas) == 3 and [bool(s.query.get("$skiptoken")) for s in deltas] == [False, True, True]
    assert all("odata.maxpagesize=2" in (s.prefer or "") for s in deltas)
    state = delta_state(sessions)
    assert (state.rounds, state.not_before) == (1, MONDAY - timedelta(days=1))
    deliver(graph_server, "Request 6", 6)
    later = watcher(graph_server, sessions, handle, page_size=2).poll(now=MONDAY + timedelta(minutes=20))
    assert [m.subject for m in handle.received[5:]] == ["Request 6"]
    assert later.handled == [handle.received[5].internet_message_id]
    assert delta_state(sessions).rounds == 2


def test_attachments_arrive_as_bytes_large_ones_too(graph_server: GraphServer,
                                                    sessions: Callable[[], Session]) -> None:
    """File attachments are read through $value, a 9 MB one too; an attached item is named, not read."""
    large = bytes(range(256)) * (9 * 1024 * 1024 // 256)
    deliver(graph_server, "Evidence attached", 1, attachments=[("SEF summary.pdf", "application/pdf", PDF),
                                                                ("audit.xlsx", "application/vnd.ms-excel", large),
                                                                ("logo.png", "image/png", b"\x89PNG", True)],
            item_attachments=["FW: the original request"])
    handle = Recorder()
    watcher(graph_server, sessions, handle).poll(now=MONDAY + timedelta(minutes=2))
    [message] = handle.received
    assert [(a.name, a.data, a.is_inline) for a in message.attachments] == [
        ("SEF summary.pdf", PDF, False), ("audit.xlsx", large, False), ("logo.png", b"\x89PNG", True)]
    assert message.item_attachments == ("FW: the original request",)
    values = [s for s in graph_server.seen if s.path.endswith("/$value")]
    assert len(values) == 3
    listing = next(s for s in graph_server.seen if s.path.endswith("/attachments"))
    assert "contentBytes" not in listing.query["$select"]  # the bytes come raw, never as base64 JSON
    assert "binary" not in repr(message)


def test_a_message_whose_callback_raises_is_handed_over_again_by_its_id(
        graph_server: GraphServer, sessions: Callable[[], Session]) -> None:
    """The delta round moves on, but the failed message stays noted: the next poll reads it by id and hands it over."""
    failing = deliver(graph_server, "Request A", 1)
    fine = deliver(graph_server, "Request B", 2)
    handle = Recorder()
    handle.fail = {"Request A"}
    first = watcher(graph_server, sessions, handle).poll(now=MONDAY + timedelta(minutes=5))
    assert first.handled == [fine] and [key for key, _ in first.failed] == [failing]
    assert [i.categories for i in graph_server.in_folder(SHARED, "inbox")] == [[], ["SEND inspection: taken in"]]
    handle.fail = set()
    second = watcher(graph_server, sessions, handle).poll(now=MONDAY + timedelta(minutes=6))
    assert (second.handled, second.marked) == ([failing], 1)
    item_id = graph_server.in_folder(SHARED, "inbox")[0].id
    assert f"GET /v1.0/users/{SHARED}/messages/{item_id}" in graph_server.requests()


def test_more_than_one_poll_can_take_waits_for_the_next(graph_server: GraphServer,
                                                        sessions: Callable[[], Session]) -> None:
    """Over max_per_poll new messages: the rest are noted and taken by the next poll, none lost with the round."""
    ids = [deliver(graph_server, f"Request {n}", n) for n in range(1, 5)]
    handle = Recorder()
    assert watcher(graph_server, sessions, handle, max_per_poll=3).poll(now=MONDAY).handled == ids[:3]
    assert watcher(graph_server, sessions, handle, max_per_poll=3).poll(now=MONDAY).handled == ids[3:]


def test_with_a_handled_folder_each_message_taken_is_moved_there(
        graph_server: GraphServer, sessions: Callable[[], Session]) -> None:
    """The folder is made under the inbox once; each message taken moves there and leaves the inbox's delta."""
    deliver(graph_server, "Request A", 1)
    deliver(graph_server, "Request B", 2)
    handle = Recorder()
    mark = HandledMark(folder="Taken in")
    assert watcher(graph_server, sessions, handle, mark=mark).poll(now=MONDAY).marked == 2
    assert graph_server.in_folder(SHARED, "inbox") == [] and len(graph_server.in_folder(SHARED, "Taken in")) == 2
    deliver(graph_server, "Request C", 3)
    later = watcher(graph_server, sessions, handle, mark=mark).poll(now=MONDAY + timedelta(minutes=5))
    assert (len(later.handled), later.marked) == (1, 1)
    assert graph_server.requests().count(f"POST /v1.0/users/{SHARED}/mailFolders/inbox/childFolders") == 1


def test_a_new_inspection_starts_a_new_round(graph_server: GraphServer, sessions: Callable[[], Session]) -> None:
    """A delta state kept for another notification time is not used: a first round from the new one."""
    deliver(graph_server, "Old", -60 * 24 * 10)
    deliver(graph_server, "New", 1)
    handle = Recorder()
    watcher(graph_server, sessions, handle, not_before=MONDAY - timedelta(days=30)).poll(now=MONDAY)
    assert [m.subject for m in handle.received] == ["Old", "New"]
    deliver(graph_server, "Newer", 2)
    watcher(graph_server, sessions, handle, not_before=MONDAY).poll(now=MONDAY + timedelta(minutes=5))
    assert [m.subject for m in handle.received] == ["Old", "New", "Newer"]
    assert delta_state(sessions).not_before == MONDAY


def test_meeting_messages_are_not_handed_over(graph_server: GraphServer, sessions: Callable[[], Session]) -> None:
    """A meeting response in the inbox is not a message for the intake."""
    graph_server.deliver(SHARED, subject="Accepted: core group", sender=INSPECTOR, body="", received_at=MONDAY,
                         kind="eventMessage")
    deliver(graph_server, "Request", 1)
    handle = Recorder()
    assert watcher(graph_server, sessions, handle).poll(now=MONDAY + timedelta(minutes=5)).listed == 1
    assert [m.subject for m in handle.received] == ["Request"]


def test_no_message_text_or_attachment_name_is_logged_or_kept(
        graph_server: GraphServer, sessions: Callable[[], Session], caplog: pytest.LogCaptureFixture) -> None:
    """Neither the logs (httpx's too) nor our tables hold a subject, a body, an attachment's name or its bytes."""
    deliver(graph_server, "Child A.B. EHCP", 1, body="Confidential body about a child",
            attachments=[("Child A.B. plan.pdf", "application/pdf", PDF)])
    deliver(graph_server, "Failing", 2, body="Another confidential body")
    caplog.set_level(logging.DEBUG)
    handle = Recorder()
    handle.fail = {"Failing"}
    watcher(graph_server, sessions, handle).poll(now=MONDAY + timedelta(minutes=5))
    for secret in ("Child A.B.", "Confidential body", "Another confidential", "%PDF"):
        assert secret not in caplog.text
        for row in rows(sessions):
            assert all(secret not in str(value) for value in vars(row).values())
        assert secret not in delta_state(sessions).delta_link


def test_a_server_that_stays_busy_fails_the_poll_and_hands_nothing(
        graph_server: GraphServer, sessions: Callable[[], Session]) -> None:
    """When the delta query answers 503 beyond the ceiling the poll raises a retryable error and keeps no state."""
    deliver(graph_server, "Request", 1)
    handle = Recorder()
    watcher(graph_server, sessions, handle).client.tokens.token()  # signed in; Graph itself is busy
    graph_server.script.busy = True
    with pytest.raises(MailTransportError) as caught:
        watcher(graph_server, sessions, handle).poll(now=MONDAY + timedelta(minutes=5))
    assert caught.value.retryable is True
    assert handle.received == [] and rows(sessions) == []
    with sessions() as session:
        assert session.scalars(select(MailboxDelta)).first() is None
    graph_server.script.busy = False
    assert len(watcher(graph_server, sessions, handle).poll(now=MONDAY + timedelta(minutes=7)).handled) == 1
