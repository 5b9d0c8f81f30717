"""The outbox web pages, through FastAPI's TestClient."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from send_inspection.mail.message import Attachment, OutgoingMessage
from send_inspection.mail.outbox import OutboxTransport, outbox_id_for
from send_inspection.web.outbox_pages import linkify, outbox_router
from send_inspection.web.templating import london, web_templates

WINTER = datetime(2026, 3, 2, 9, 5, tzinfo=UTC)
SUMMER = datetime(2026, 6, 1, 9, 5, tzinfo=UTC)
ICS = b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"


def message(key: str, to: str, **extra: object) -> OutgoingMessage:
    """Return a message whose text has a personal link and some HTML-looking text."""
    fields: dict[str, object] = {
        "key": key,
        "sender": "comms@demo.example",
        "sender_name": "Demo comms",
        "to": (to,),
        "subject": f"Evidence <due> for {key}",
        "text": f"Dear <script>alert(1)</script> Sam,\nOpen https://engine.example/a/{key}?x=1&y=2.\n",
        "html": f'<html><head></head><body><p>Hi "Sam"</p><a href="https://engine.example/a/{key}">Open</a></body></html>',
    }
    fields.update(extra)
    return OutgoingMessage(**fields)  # type: ignore[arg-type]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Return an outbox folder with two messages, one with a calendar attachment."""
    transport = OutboxTransport(tmp_path / "outbox")
    transport.send(message("k-winter", "a@demo.example"), sent_at=WINTER)
    transport.send(
        message("k-summer", "b@demo.example", attachments=(Attachment("invite.ics", "text/calendar", ICS),)),
        sent_at=SUMMER,
    )
    return tmp_path / "outbox"


def client_for(folder: Path) -> TestClient:
    """Return a test client for an app serving only the outbox router."""
    app = FastAPI()
    app.include_router(outbox_router(folder, web_templates()))
    return TestClient(app)


def test_list_shows_messages_newest_first_in_london_time(folder: Path) -> None:
    """The list shows both messages, newest first, with UK times (BST in summer) and escaped subjects."""
    response = client_for(folder).get("/outbox")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    body = response.text
    assert body.index("k-summer") < body.index("k-winter")
    assert "Mon 1 Jun 2026, 10:05 BST" in body
    assert "Mon 2 Mar 2026, 09:05 GMT" in body
    assert "Evidence &lt;due&gt; for k-summer" in body
    assert f'href="/outbox/{outbox_id_for("k-summer")}"' in body
    assert '<html lang="en">' in body and '<main id="main"' in body
    assert '<th scope="col">Subject</th>' in body
    assert "<script" not in body


def test_list_filter_by_recipient(folder: Path) -> None:
    """?to= keeps only the messages to that address, and an unknown address shows an empty state."""
    client = client_for(folder)
    body = client.get("/outbox", params={"to": "a@demo.example"}).text
    assert "k-winter" in body and "k-summer" not in body
    empty = client.get("/outbox", params={"to": "nobody@demo.example"}).text
    assert "No messages to nobody@demo.example" in empty
    assert "<table" not in empty


def test_empty_outbox_says_so(tmp_path: Path) -> None:
    """An outbox with no messages (even no folder yet) shows a clear empty state."""
    response = client_for(tmp_path / "none").get("/outbox")
    assert response.status_code == 200
    assert "The outbox is empty" in response.text


def test_message_page_has_clickable_link_and_escaped_text(folder: Path) -> None:
    """The message page links the URL in the text part and escapes everything else."""
    message_id = outbox_id_for("k-winter")
    response = client_for(folder).get(f"/outbox/{message_id}")
    assert response.status_code == 200
    body = response.text
    assert '<a href="https://engine.example/a/k-winter?x=1&amp;y=2" rel="noreferrer noopener">' in body
    assert "Dear &lt;script&gt;alert(1)&lt;/script&gt; Sam" in body
    assert "<script" not in body
    assert "default-src 'none'" in response.headers["content-security-policy"]


def test_message_page_sandboxes_the_html_part(folder: Path) -> None:
    """The HTML part is in a sandboxed iframe's escaped srcdoc, with links aimed at the top window."""
    body = client_for(folder).get(f"/outbox/{outbox_id_for('k-winter')}").text
    match = re.search(
        r'<iframe [^>]*sandbox="allow-popups allow-top-navigation-by-user-activation"[^>]*>', body
    )
    assert match is not None
    iframe = match.group(0)
    assert 'srcdoc="&lt;html&gt;&lt;head&gt;&lt;base target=&#34;_top&#34;&gt;' in iframe
    assert "&lt;p&gt;Hi &#34;Sam&#34;&lt;/p&gt;" in iframe
    assert "allow-scripts" not in iframe and "allow-same-origin" not in iframe


def test_message_page_lists_attachments_and_downloads_them(folder: Path) -> None:
    """Attachments are listed with a download link that returns their bytes."""
    client = client_for(folder)
    message_id = outbox_id_for("k-summer")
    body = client.get(f"/outbox/{message_id}").text
    url = f"/outbox/{message_id}/attachments/0"
    assert f'href="{url}"' in body and "invite.ics" in body
    response = client.get(url)
    assert response.status_code == 200
    assert response.content == ICS
    assert response.headers["content-type"].startswith("text/calendar")
    assert 'filename="invite.ics"' in response.headers["content-disposition"]
    assert client.get(f"/outbox/{message_id}/attachments/1").status_code == 404
    assert client.get(f"/outbox/{message_id}/attachments/x").status_code == 404


def test_eml_download(folder: Path) -> None:
    """/outbox/<id>.eml returns the raw message as message/rfc822."""
    message_id = outbox_id_for("k-winter")
    response = client_for(folder).get(f"/outbox/{message_id}.eml")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("message/rfc822")
    assert f'filename="{message_id}.eml"' in response.headers["content-disposition"]
    assert b"X-Send-Inspection-Key: k-winter" in response.content


@pytest.mark.parametrize(
    "path",
    [
        "/outbox/0123456789abcdef01234567",
        "/outbox/not-hex",
        "/outbox/zz.eml",
        "/outbox/0123456789abcdef01234567/attachments/0",
    ],
)
def test_unknown_message_is_a_404_page(folder: Path, path: str) -> None:
    """An unknown or malformed id gives the HTML not-found page with status 404."""
    response = client_for(folder).get(path)
    assert response.status_code == 404
    assert "Page not found" in response.text
    assert 'href="/outbox"' in response.text


def test_encoded_traversal_is_not_served(tmp_path: Path, folder: Path) -> None:
    """An id with an encoded "../" reaches no file outside the outbox."""
    (folder.parent / "secret.eml").write_text("Subject: secret\r\n\r\nTOP SECRET\r\n", encoding="utf-8")
    client = client_for(folder)
    for path in ("/outbox/..%2Fsecret", "/outbox/..%2Fsecret.eml", "/outbox/%2E%2E%2Fsecret.eml"):
        response = client.get(path)
        assert response.status_code == 404
        assert "TOP SECRET" not in response.text


def test_linkify_escapes_around_links() -> None:
    """linkify escapes text, links only http(s) URLs and leaves trailing punctuation outside."""
    html = str(linkify('<b> see https://a.example/x?a=1&b="2". javascript:alert(1)'))
    assert html.startswith("&lt;b&gt; see ")
    assert '<a href="https://a.example/x?a=1&amp;b=" rel="noreferrer noopener">' in html
    assert "&#34;2&#34;. javascript" in html
    assert "javascript:alert(1)" in html and 'href="javascript' not in html


def test_london_formats_both_seasons() -> None:
    """london() shows GMT in winter and BST in summer."""
    assert london(WINTER) == "Mon 2 Mar 2026, 09:05 GMT"
    assert london(SUMMER) == "Mon 1 Jun 2026, 10:05 BST"
