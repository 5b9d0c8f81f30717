"""The Microsoft Graph transport against a local token endpoint and sendMail on 127.0.0.1."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator

import pytest

from send_inspection.mail.graph import GraphTransport
from send_inspection.mail.message import KEY_HEADER, message_id_for
from send_inspection.mail.transport import MailTransport, MailTransportError
from tests.helpers import free_port
from tests.mail.graph_server import GraphServer
from tests.mail.samples import SECRET_LINK, SENT_AT, SHARED, message

SEND_PATH = f"/v1.0/users/{SHARED}/sendMail"
TOKEN = "/demo-tenant/oauth2/v2.0/token"


@pytest.fixture
def server() -> Iterator[GraphServer]:
    """Run the local Graph stand-in for the duration of a test."""
    with GraphServer() as graph:
        yield graph


def graph(server: GraphServer, **overrides: object) -> GraphTransport:
    """Return a transport using `server` for both the token and sendMail."""
    options: dict[str, object] = {"secret": "demo-client-secret", "token_url": server.token_url,
                                  "graph_base": server.graph_base, "max_wait": 5.0, "timeout": 5.0}
    options.update(overrides)
    return GraphTransport("demo-tenant", "demo-client", **options)  # type: ignore[arg-type]


def test_graph_is_a_mail_transport_and_building_it_calls_nobody() -> None:
    """GraphTransport satisfies MailTransport, is called "graph" and contacts no server until it sends."""
    transport: MailTransport = GraphTransport("demo-tenant", "demo-client", secret="x",
                                              token_url=f"http://127.0.0.1:{free_port()}/token")
    assert transport.name == "graph"


def test_send_mail_carries_sender_recipients_subject_body_and_key(server: GraphServer) -> None:
    """A token request, then one sendMail for the shared mailbox with every field of the message mapped."""
    result = graph(server).send(message(), sent_at=SENT_AT)
    assert result == message_id_for("insp-1:day2:1.3:approve:r1:ask:person-x")
    assert server.requests() == [f"POST {TOKEN}", f"POST {SEND_PATH}"]
    assert server.seen[1].authorization == "Bearer demo-token-1"
    [(sender, body)] = server.sent
    assert sender == SHARED
    assert body["saveToSentItems"] is False
    sent = body["message"]
    assert sent["subject"] == "Evidence due"
    assert sent["body"] == {"contentType": "HTML", "content": f'<p><a href="{SECRET_LINK}">Open</a></p>'}
    assert sent["from"] == {"emailAddress": {"address": SHARED, "name": "Demo County SEND evidence"}}
    assert sent["toRecipients"] == [{"emailAddress": {"address": "sam@demo-county.example"}}]
    assert sent["ccRecipients"] == [{"emailAddress": {"address": "deputy@demo-county.example"}}]
    assert sent["bccRecipients"] == [{"emailAddress": {"address": "audit@demo-county.example"}}]
    assert sent["replyTo"] == [{"emailAddress": {"address": "send.replies@demo-county.example"}}]
    assert sent["internetMessageHeaders"] == [{"name": KEY_HEADER, "value": "insp-1:day2:1.3:approve:r1:ask:person-x"}]
    [attachment] = sent["attachments"]
    assert attachment["@odata.type"] == "#microsoft.graph.fileAttachment"
    assert (attachment["name"], attachment["contentType"]) == ("invite.ics", "text/calendar")
    assert base64.b64decode(attachment["contentBytes"]) == b"BEGIN:VCALENDAR\r\n"


def test_text_only_message_sends_a_text_body(server: GraphServer) -> None:
    """Without an HTML part the plain text goes with contentType Text and no attachments."""
    graph(server).send(message(html=None, attachments=(), reply_to=None), sent_at=SENT_AT)
    sent = server.sent[0][1]["message"]
    assert sent["body"] == {"contentType": "Text", "content": f"Your personal link: {SECRET_LINK}\n"}
    assert "attachments" not in sent and "replyTo" not in sent


def test_a_bcc_only_batch_sends_an_empty_to_list(server: GraphServer) -> None:
    """A survey batch of 500 addresses in Bcc goes as one sendMail with no To or Cc recipient."""
    families = tuple(f"family{i:03d}@demo-county.example" for i in range(500))
    graph(server).send(message(to=(), cc=(), bcc=families), sent_at=SENT_AT)
    sent = server.sent[0][1]["message"]
    assert (sent["toRecipients"], sent["ccRecipients"]) == ([], [])
    assert [r["emailAddress"]["address"] for r in sent["bccRecipients"]] == list(families)


def test_token_is_cached_until_shortly_before_it_expires(server: GraphServer) -> None:
    """Two sends share one token; a token about to expire is renewed before the next send."""
    transport = graph(server)
    transport.send(message(), sent_at=SENT_AT)
    transport.send(message(key="second"), sent_at=SENT_AT)
    assert server.requests().count(f"POST {TOKEN}") == 1
    server.script.expires_in = 60  # inside the renewal margin: never reused
    fresh = graph(server)
    fresh.send(message(), sent_at=SENT_AT)
    fresh.send(message(key="second"), sent_at=SENT_AT)
    assert server.requests().count(f"POST {TOKEN}") == 3


def test_throttled_429_waits_for_retry_after_then_succeeds(server: GraphServer) -> None:
    """A 429 with Retry-After: 1 is waited out and the send then succeeds."""
    server.script.throttle = [(429, "1")]
    started = time.monotonic()
    graph(server).send(message(), sent_at=SENT_AT)
    assert time.monotonic() - started >= 1.0
    assert server.requests() == [f"POST {TOKEN}", f"POST {SEND_PATH}", f"POST {SEND_PATH}"]
    assert len(server.sent) == 1


def test_retry_after_beyond_the_ceiling_is_retryable_at_once(server: GraphServer) -> None:
    """A Retry-After longer than the ceiling gives a retryable error naming the server, without waiting."""
    server.script.throttle = [(503, "120")]
    started = time.monotonic()
    with pytest.raises(MailTransportError) as caught:
        graph(server, max_wait=5.0).send(message(), sent_at=SENT_AT)
    assert time.monotonic() - started < 1.0
    assert caught.value.retryable is True
    assert "busy" in str(caught.value) and f"127.0.0.1:{server.port}" in str(caught.value)
    assert server.sent == []


def test_invalid_recipient_is_not_retryable(server: GraphServer) -> None:
    """A 400 ErrorInvalidRecipients is not retried and lists the message's recipients as refused."""
    server.script.refuse["sam@demo-county.example"] = "ErrorInvalidRecipients"
    with pytest.raises(MailTransportError) as caught:
        graph(server).send(message(cc=(), bcc=()), sent_at=SENT_AT)
    assert caught.value.retryable is False
    assert caught.value.refused == ("sam@demo-county.example",)
    assert "secret-token" not in str(caught.value)


def test_401_on_send_is_not_retryable_after_one_fresh_token(server: GraphServer) -> None:
    """A 401 from sendMail is tried once more with a new token, then reported as a login failure."""
    server.script.refuse_sends = 401
    with pytest.raises(MailTransportError) as caught:
        graph(server).send(message(), sent_at=SENT_AT)
    assert caught.value.retryable is False
    assert "login refused" in str(caught.value)
    assert server.requests() == [f"POST {TOKEN}", f"POST {SEND_PATH}", f"POST {TOKEN}", f"POST {SEND_PATH}"]


def test_403_says_which_permission_to_grant(server: GraphServer) -> None:
    """A 403 from sendMail is not retryable and names the Mail.Send permission and the mailbox."""
    server.script.refuse_sends = 403
    with pytest.raises(MailTransportError) as caught:
        graph(server).send(message(), sent_at=SENT_AT)
    assert caught.value.retryable is False
    assert "Mail.Send" in str(caught.value) and SHARED in str(caught.value)


def test_token_refused_is_not_retryable(server: GraphServer) -> None:
    """A token endpoint refusing the client secret gives a non-retryable error that does not show the secret."""
    with pytest.raises(MailTransportError) as caught:
        graph(server, secret="wrong-secret").send(message(), sent_at=SENT_AT)
    assert caught.value.retryable is False
    assert server.token_url in str(caught.value) and "client id (demo-client)" in str(caught.value)
    assert "wrong-secret" not in str(caught.value)
    assert server.requests() == [f"POST {TOKEN}"]


def test_server_not_running_is_retryable_and_names_the_server() -> None:
    """A closed port gives a retryable error naming the endpoint it could not reach."""
    port = free_port()
    transport = GraphTransport("demo-tenant", "demo-client", secret="x", token_url=f"http://127.0.0.1:{port}/t",
                               graph_base=f"http://127.0.0.1:{port}/v1.0", timeout=2.0)
    with pytest.raises(MailTransportError) as caught:
        transport.send(message(), sent_at=SENT_AT)
    assert caught.value.retryable is True
    assert f"127.0.0.1:{port}" in str(caught.value)


def test_send_many_refuses_one_message_and_sends_the_others(server: GraphServer) -> None:
    """In send_many a refused recipient stops that message only; the others are sent."""
    server.script.refuse["p1@demo-county.example"] = "ErrorInvalidRecipients"
    messages = [
        message(key=f"k{i}", to=(f"p{i}@demo-county.example",), cc=(), bcc=(), attachments=()) for i in range(3)
    ]
    outcomes = graph(server).send_many(messages, sent_at=SENT_AT)
    assert outcomes[0] == message_id_for("k0") and outcomes[2] == message_id_for("k2")
    assert isinstance(outcomes[1], MailTransportError) and outcomes[1].refused == ("p1@demo-county.example",)
    assert len(server.sent) == 2


def test_send_many_stops_at_a_login_failure(server: GraphServer) -> None:
    """A login failure fails every message of send_many without trying the rest."""
    server.script.refuse_sends = 403
    outcomes = graph(server).send_many([message(key=f"k{i}") for i in range(3)], sent_at=SENT_AT)
    assert all(isinstance(o, MailTransportError) and not o.retryable for o in outcomes)
    assert server.requests().count(f"POST {SEND_PATH}") == 1
