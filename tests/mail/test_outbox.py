"""The outbox transport and its reader."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from send_inspection.mail.message import Attachment, OutgoingMessage, message_id_for
from send_inspection.mail.outbox import (
    OutboxTransport,
    find_links,
    list_outbox,
    outbox_id_for,
    read_outbox_attachment,
    read_outbox_message,
    read_outbox_raw,
)
from send_inspection.mail.transport import MailTransport

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def message(key: str, to: str = "sam@demo.example", **extra: object) -> OutgoingMessage:
    """Return a small message with the given key and recipient."""
    fields: dict[str, object] = {
        "key": key,
        "sender": "comms@demo.example",
        "sender_name": "Demo comms",
        "to": (to,),
        "subject": f"Subject {key}",
        "text": f"Hello,\nyour link (https://engine.example/a/{key}).\nThanks\n",
        "html": f'<p><a href="https://engine.example/a/{key}">link</a></p>',
    }
    fields.update(extra)
    return OutgoingMessage(**fields)  # type: ignore[arg-type]


def test_outbox_is_a_mail_transport(tmp_path: Path) -> None:
    """OutboxTransport satisfies the MailTransport protocol and is called "outbox"."""
    transport: MailTransport = OutboxTransport(tmp_path)
    assert transport.name == "outbox"


def test_send_creates_folder_and_returns_message_id(tmp_path: Path) -> None:
    """Sending into a missing folder creates it and returns the key's Message-ID."""
    folder = tmp_path / "nested" / "outbox"
    result = OutboxTransport(folder).send(message("k1"), sent_at=T0)
    assert result == message_id_for("k1")
    assert [p.name for p in folder.iterdir()] == [f"{outbox_id_for('k1')}.eml"]


def test_same_key_twice_leaves_one_file(tmp_path: Path) -> None:
    """Sending the same key twice leaves exactly one file, the first one, and no temporary files."""
    transport = OutboxTransport(tmp_path)
    first = transport.send(message("k1"), sent_at=T0)
    second = transport.send(message("k1", subject="Changed"), sent_at=T0 + timedelta(hours=1))
    assert first == second
    files = list(tmp_path.iterdir())
    assert len(files) == 1
    assert read_outbox_message(tmp_path, outbox_id_for("k1")).subject == "Subject k1"


def test_list_is_newest_first_and_filters(tmp_path: Path) -> None:
    """list_outbox orders by Date, newest first, and filters by any recipient including Bcc."""
    transport = OutboxTransport(tmp_path)
    transport.send(message("old", to="a@demo.example"), sent_at=T0)
    transport.send(
        message("new", to="b@demo.example", cc=("c@demo.example",)), sent_at=T0 + timedelta(days=1)
    )
    transport.send(
        message("mid", to="a@demo.example", bcc=("hidden@demo.example",)), sent_at=T0 + timedelta(hours=2)
    )
    entries = list_outbox(tmp_path)
    assert [e.key for e in entries] == ["new", "mid", "old"]
    assert entries[0].to == ["b@demo.example"]
    assert entries[0].cc == ["c@demo.example"]
    assert entries[0].date == T0 + timedelta(days=1)
    assert entries[0].subject == "Subject new"
    assert "comms@demo.example" in entries[0].sender
    assert entries[0].id == outbox_id_for("new")
    assert [e.key for e in list_outbox(tmp_path, recipient="A@demo.example")] == ["mid", "old"]
    assert [e.key for e in list_outbox(tmp_path, recipient="c@demo.example")] == ["new"]
    assert [e.key for e in list_outbox(tmp_path, recipient="hidden@demo.example")] == ["mid"]
    assert list_outbox(tmp_path, recipient="nobody@demo.example") == []


def test_list_of_missing_folder_is_empty(tmp_path: Path) -> None:
    """A folder that does not exist yet is an empty outbox."""
    assert list_outbox(tmp_path / "missing") == []


def test_read_message_gives_parts_links_and_attachments(tmp_path: Path) -> None:
    """read_outbox_message returns headers, both parts, the text links and attachment names."""
    ics = b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
    msg = message(
        "k1",
        bcc=("hidden@demo.example",),
        attachments=(Attachment("invite.ics", "text/calendar; method=REQUEST", ics),),
    )
    OutboxTransport(tmp_path).send(msg, sent_at=T0)
    view = read_outbox_message(tmp_path, outbox_id_for("k1"))
    assert view.subject == "Subject k1"
    assert view.to == ["sam@demo.example"]
    assert view.bcc == ["hidden@demo.example"]
    assert view.key == "k1"
    assert view.message_id == message_id_for("k1")
    assert view.date == T0
    assert view.text is not None and view.text.startswith("Hello,\nyour link")
    assert view.html is not None and 'href="https://engine.example/a/k1"' in view.html
    assert view.links == ["https://engine.example/a/k1"]
    assert [(a.filename, a.content_type, a.size) for a in view.attachments] == [
        ("invite.ics", "text/calendar", len(ics))
    ]
    assert ("Subject", "Subject k1") in view.headers
    assert all(name != "X-Envelope-To" for name, _value in view.headers)
    assert read_outbox_attachment(tmp_path, view.id, index=0).data == ics
    assert read_outbox_raw(tmp_path, view.id).startswith(b"X-Envelope-To:")
    with pytest.raises(KeyError):
        read_outbox_attachment(tmp_path, view.id, index=1)


def test_bcc_stays_out_of_the_message_headers(tmp_path: Path) -> None:
    """The outbox file records Bcc only in the envelope line, never in a Bcc or To header."""
    OutboxTransport(tmp_path).send(message("k1", bcc=("hidden@demo.example",)), sent_at=T0)
    raw = read_outbox_raw(tmp_path, outbox_id_for("k1"))
    assert b"Bcc:" not in raw
    assert raw.count(b"hidden@demo.example") == 1


@pytest.mark.parametrize(
    "bad_id",
    [
        "../../etc/passwd",
        "..",
        "",
        "ABCDEF0123456789ABCDEF01",
        "0" * 23,
        "0" * 25,
        "0" * 24 + "/x",
        "zz" * 12,
    ],
)
def test_bad_or_unknown_ids_raise_key_error(tmp_path: Path, bad_id: str) -> None:
    """Ids that are not 24 lowercase hex digits of an existing file raise KeyError."""
    outside = tmp_path / "secret.eml"
    outside.write_bytes(b"Subject: secret\r\n\r\nsecret\r\n")
    folder = tmp_path / "outbox"
    OutboxTransport(folder).send(message("k1"), sent_at=T0)
    with pytest.raises(KeyError):
        read_outbox_message(folder, bad_id)
    with pytest.raises(KeyError):
        read_outbox_raw(folder, bad_id)


def test_traversal_to_a_real_file_is_refused(tmp_path: Path) -> None:
    """A relative path reaching an existing .eml outside the folder is refused."""
    (tmp_path / "secret.eml").write_bytes(b"Subject: secret\r\n\r\nsecret\r\n")
    folder = tmp_path / "outbox"
    folder.mkdir()
    with pytest.raises(KeyError):
        read_outbox_raw(folder, "../secret")


def test_find_links_trims_punctuation() -> None:
    """find_links returns http(s) URLs without the punctuation that ends a sentence."""
    text = "See https://a.example/x?y=1&z=2. Or (https://b.example/p_(q)), then http://c.example!"
    assert find_links(text) == ["https://a.example/x?y=1&z=2", "https://b.example/p_(q)", "http://c.example"]
