"""Sending through Microsoft Graph with tokens from the real MSAL, against the local Graph endpoint and authority."""

from __future__ import annotations

import base64
import threading
import time

import pytest

from send_inspection.mail.graph import KEY_PROPERTY, UPLOAD_CHUNK, GraphTransport
from send_inspection.mail.message import KEY_HEADER, Attachment, message_id_for
from send_inspection.mail.transport import MailTransport, MailTransportError
from tests.helpers import free_port
from tests.mail.graph_server import CLIENT_SECRET, TENANT, GraphServer, app_certificate
from tests.mail.samples import SECRET_LINK, SENT_AT, SHARED, message

SEND = f"POST /v1.0/users/{SHARED}/sendMail"
DISCOVERY = f"GET /{TENANT}/v2.0/.well-known/openid-configuration"
TOKEN = f"POST /{TENANT}/oauth2/v2.0/token"
MB = 1024 * 1024


def graph(server: GraphServer, **overrides: object) -> GraphTransport:
    """Return a transport signing in at `server`'s authority with the client secret and sending through it."""
    options: dict[str, object] = {"secret": CLIENT_SECRET, "authority": server.authority,
                                  "graph_base": server.graph_base, "ca_bundle": server.ca_bundle, "max_wait": 5.0,
                                  "timeout": 5.0}
    options.update(overrides)
    return GraphTransport(TENANT, "demo-client", **options)  # type: ignore[arg-type]


def test_graph_is_a_mail_transport_and_building_it_calls_nobody() -> None:
    """GraphTransport satisfies MailTransport, is called "graph" and contacts no server until it sends."""
    port = free_port()
    transport: MailTransport = GraphTransport(TENANT, "demo-client", secret="x", authority=f"https://127.0.0.1:{port}",
                                              graph_base=f"https://127.0.0.1:{port}/v1.0")
    assert transport.name == "graph"


def test_send_mail_signs_in_with_msal_and_carries_every_field(graph_server: GraphServer) -> None:
    """MSAL finds the tenant and gets a token; one sendMail as the shared mailbox maps every field, keeps no copy."""
    result = graph(graph_server).send(message(), sent_at=SENT_AT)
    assert result == message_id_for("insp-1:day2:1.3:approve:r1:ask:person-x")
    assert graph_server.requests() == [DISCOVERY, TOKEN, SEND]
    assert graph_server.seen[2].authorization == "Bearer demo-token-1"
    assert graph_server.seen[2].prefer == 'IdType="ImmutableId"'
    [sent] = graph_server.sent
    assert (sent.sender, sent.save_to_sent_items, sent.via) == (SHARED, False, "sendMail")
    body = sent.message
    assert body["subject"] == "Evidence due"
    assert body["body"] == {"contentType": "HTML", "content": f'<p><a href="{SECRET_LINK}">Open</a></p>'}
    assert body["from"] == {"emailAddress": {"address": SHARED, "name": "Demo County SEND evidence"}}
    assert (sent.addresses("toRecipients"), sent.addresses("ccRecipients"), sent.addresses("bccRecipients")) == (
        ["sam@demo-county.example"], ["deputy@demo-county.example"], ["audit@demo-county.example"])
    assert body["replyTo"] == [{"emailAddress": {"address": "send.replies@demo-county.example"}}]
    assert body["internetMessageHeaders"] == [{"name": KEY_HEADER, "value": "insp-1:day2:1.3:approve:r1:ask:person-x"}]
    [attachment] = body["attachments"]
    assert attachment["@odata.type"] == "#microsoft.graph.fileAttachment"
    assert (attachment["name"], attachment["contentType"]) == ("invite.ics", "text/calendar")
    assert base64.b64decode(attachment["contentBytes"]) == b"BEGIN:VCALENDAR\r\n"


@pytest.mark.parametrize("with_thumbprint", [True, False], ids=["key and SHA-1 thumbprint", "key and certificate"])
def test_a_certificate_signs_in_with_a_client_assertion(with_thumbprint: bool) -> None:
    """With the certificate's key and thumbprint MSAL signs an RS256 assertion (x5t); with the certificate, PS256."""
    certificate = app_certificate()
    with GraphServer(certificate=certificate) as server:
        options = {"certificate": certificate.pem, "secret": None,
                   "thumbprint": certificate.sha1 if with_thumbprint else None}
        graph(server, **options).send(message(), sent_at=SENT_AT)
        [header] = server.assertions
        assert len(server.sent) == 1
    if with_thumbprint:
        assert header["alg"] == "RS256" and "x5t" in header
    else:
        assert header["alg"] == "PS256" and "x5t#S256" in header and header["x5c"]


def test_a_certificate_without_its_key_or_thumbprint_is_a_setting_to_fix(graph_server: GraphServer) -> None:
    """A PEM holding only the certificate, or a key without a thumbprint or certificate, is refused without a try."""
    certificate = app_certificate()
    for pem in (certificate.certificate_pem.decode(), certificate.pem.split("-----BEGIN CERTIFICATE-----")[0]):
        with pytest.raises(MailTransportError) as caught:
            graph(graph_server, secret=None, certificate=pem).send(message(), sent_at=SENT_AT)
        assert caught.value.retryable is False and "PEM" in str(caught.value)
    assert graph_server.requests() == []


def test_the_token_is_cached_and_renewed_by_msal(graph_server: GraphServer) -> None:
    """Two sends share one token; a token about to expire is renewed by MSAL before the next send."""
    transport = graph(graph_server)
    transport.send(message(), sent_at=SENT_AT)
    transport.send(message(key="second"), sent_at=SENT_AT)
    assert graph_server.requests().count(TOKEN) == 1
    graph_server.script.expires_in = 60  # within MSAL's five minutes of renewal
    fresh = graph(graph_server)
    fresh.send(message(), sent_at=SENT_AT)
    fresh.send(message(key="second"), sent_at=SENT_AT)
    assert graph_server.requests().count(TOKEN) == 3


def test_a_revoked_token_is_renewed_once(graph_server: GraphServer) -> None:
    """A 401 for a token the server no longer takes: MSAL's cache is emptied, a new token fetched, the send goes."""
    transport = graph(graph_server)
    transport.send(message(), sent_at=SENT_AT)
    graph_server.revoke_tokens()
    transport.send(message(key="second"), sent_at=SENT_AT)
    assert graph_server.requests()[-3:] == [SEND, TOKEN, SEND]
    assert len(graph_server.sent) == 2


def test_401_after_a_fresh_token_is_a_login_failure(graph_server: GraphServer) -> None:
    """A 401 from sendMail is tried once more with a new token, then reported as a login failure, not retried."""
    graph_server.script.refuse_all = 401
    with pytest.raises(MailTransportError) as caught:
        graph(graph_server).send(message(), sent_at=SENT_AT)
    assert caught.value.retryable is False
    assert "login refused" in str(caught.value)
    assert graph_server.requests() == [DISCOVERY, TOKEN, SEND, TOKEN, SEND]


def test_throttled_429_waits_for_retry_after_then_succeeds(graph_server: GraphServer) -> None:
    """A 429 with Retry-After: 1 is waited out and the send then succeeds."""
    graph_server.script.throttle = [(429, "1")]
    started = time.monotonic()
    graph(graph_server).send(message(), sent_at=SENT_AT)
    assert time.monotonic() - started >= 1.0
    assert graph_server.requests()[-2:] == [SEND, SEND]
    assert len(graph_server.sent) == 1


def test_retry_after_beyond_the_ceiling_is_retryable_at_once(graph_server: GraphServer) -> None:
    """A 503 whose Retry-After is longer than the ceiling gives a retryable error naming the server, without waiting."""
    graph_server.script.throttle = [(503, "120")]
    started = time.monotonic()
    with pytest.raises(MailTransportError) as caught:
        graph(graph_server, max_wait=5.0).send(message(), sent_at=SENT_AT)
    assert time.monotonic() - started < 1.0
    assert caught.value.retryable is True
    assert "busy" in str(caught.value) and f"127.0.0.1:{graph_server.port}" in str(caught.value)
    assert graph_server.sent == []


def test_no_more_than_four_requests_at_once_for_a_mailbox(graph_server: GraphServer) -> None:
    """Ten threads sending as one shared mailbox never have more than four requests in the server at once."""
    graph_server.script.delay = 0.2
    transport = graph(graph_server)
    transport.send(message(key="first"), sent_at=SENT_AT)  # the token, before the crowd
    threads = [threading.Thread(target=transport.send, args=(message(key=f"k{i}"),), kwargs={"sent_at": SENT_AT})
               for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(graph_server.sent) == 11
    assert graph_server.max_in_flight[SHARED] == 4
    assert graph_server.requests().count(SEND) == 11  # none was refused for concurrency


def test_a_fifth_request_at_once_is_throttled_and_waits(graph_server: GraphServer) -> None:
    """A fifth concurrent request is answered 429 with Retry-After, as Exchange Online does; it is waited out."""
    graph_server.script.delay = 0.3
    transports = [graph(graph_server) for _ in range(5)]  # five processes, each within its own limit
    for transport in transports:
        transport.send(message(key="warm"), sent_at=SENT_AT)
    threads = [threading.Thread(target=t.send, args=(message(key=f"k{i}"),), kwargs={"sent_at": SENT_AT})
               for i, t in enumerate(transports)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert graph_server.max_in_flight[SHARED] == 4
    assert len(graph_server.sent) == 10  # the refused one went after its Retry-After


def test_a_large_attachment_goes_through_an_upload_session(graph_server: GraphServer) -> None:
    """Over 3 MB: a draft deleted once sent, the small file posted, the large one in ranged PUTs of at most 4 MB."""
    big = bytes(range(256)) * (7 * MB // 256 + 13)
    small = Attachment("summary.txt", "text/plain", b"summary")
    report = Attachment("report.pdf", "application/pdf", big)
    graph(graph_server).send(message(attachments=(small, report)), sent_at=SENT_AT)
    user = f"/v1.0/users/{SHARED}"
    requests = [r for r in graph_server.requests() if r not in (DISCOVERY, TOKEN)]
    draft = next(r for r in requests if r.startswith(f"POST {user}/messages/")).split("/")[5]
    puts = [seen for seen in graph_server.seen if seen.method == "PUT"]
    assert requests[:5] == [f"GET {user}/mailFolders/drafts/messages", f"POST {user}/messages",
                            f"POST {user}/messages/{draft}/attachments",
                            f"POST {user}/messages/{draft}/attachments/createUploadSession", puts[0].method + " "
                            + puts[0].path]
    assert requests[-1] == f"POST {user}/messages/{draft}/send"
    assert len(puts) == -(-len(big) // UPLOAD_CHUNK) == 2
    assert all(seen.authorization is None for seen in puts)  # the upload URL carries its own authorisation
    [sent] = graph_server.sent
    assert sent.via == "draft" and sent.save_to_sent_items is False
    assert sent.attachments == [("summary.txt", "text/plain", b"summary"), ("report.pdf", "application/pdf", big)]
    assert sent.key == "insp-1:day2:1.3:approve:r1:ask:person-x"
    assert graph_server.in_folder(SHARED, "drafts") == []  # deleted once sent


def test_a_draft_left_by_a_process_that_died_is_deleted_before_sending_again(graph_server: GraphServer) -> None:
    """A draft of the same message left by an attempt that died is found by its key and deleted; one message goes."""
    report = Attachment("report.pdf", "application/pdf", b"x" * (4 * MB))
    transport = graph(graph_server)
    left = {"subject": "Evidence due", "singleValueExtendedProperties": [
        {"id": KEY_PROPERTY, "value": "insp-1:day2:1.3:approve:r1:ask:person-x"}]}
    transport.client.call("POST", transport.client.user_url(SHARED, "/messages"), mailbox=SHARED,
                          needs="Mail.ReadWrite", json=left)
    assert len(graph_server.in_folder(SHARED, "drafts")) == 1
    transport.send(message(attachments=(report,)), sent_at=SENT_AT)
    assert graph_server.in_folder(SHARED, "drafts") == []
    assert len(graph_server.sent) == 1


def test_an_upload_that_fails_deletes_its_draft(graph_server: GraphServer) -> None:
    """A piece of the upload refused for good: the error is raised and the draft with the links is deleted."""
    report = Attachment("report.pdf", "application/pdf", b"x" * (4 * MB))
    graph_server.script.lose_answer = lambda method, path: method == "PUT"  # the answer to the first piece is lost
    with pytest.raises(MailTransportError) as caught:
        graph(graph_server).send(message(attachments=(report,)), sent_at=SENT_AT)
    assert caught.value.retryable is True
    assert graph_server.in_folder(SHARED, "drafts") == [] and graph_server.sent == []


def test_invalid_recipient_is_not_retryable(graph_server: GraphServer) -> None:
    """A 400 ErrorInvalidRecipients is not retried and lists the message's recipients as refused."""
    graph_server.script.refuse["sam@demo-county.example"] = "ErrorInvalidRecipients"
    with pytest.raises(MailTransportError) as caught:
        graph(graph_server).send(message(cc=(), bcc=()), sent_at=SENT_AT)
    assert caught.value.retryable is False
    assert caught.value.refused == ("sam@demo-county.example",)
    assert "secret-token" not in str(caught.value)


def test_403_says_which_permission_to_grant_and_how_to_scope_it(graph_server: GraphServer) -> None:
    """A 403 from sendMail is not retryable and names Mail.Send, the mailbox and the scoping to check."""
    graph_server.script.refuse_all = 403
    with pytest.raises(MailTransportError) as caught:
        graph(graph_server).send(message(), sent_at=SENT_AT)
    assert caught.value.retryable is False
    assert "Mail.Send" in str(caught.value) and SHARED in str(caught.value)
    assert "RBAC for Applications" in str(caught.value) and "application access policy" in str(caught.value)


def test_a_refused_secret_is_not_retryable_and_is_never_shown(graph_server: GraphServer) -> None:
    """The authority refusing the client secret gives an error naming the ids, never the secret, and no Graph call."""
    with pytest.raises(MailTransportError) as caught:
        graph(graph_server, secret="wrong-secret").send(message(), sent_at=SENT_AT)
    assert caught.value.retryable is False
    assert "invalid_client" in str(caught.value) and "client id (demo-client)" in str(caught.value)
    assert "wrong-secret" not in str(caught.value)
    assert graph_server.requests() == [DISCOVERY, TOKEN]


def test_an_unknown_tenant_is_a_setting_to_fix(graph_server: GraphServer) -> None:
    """MSAL's tenant discovery refused: not retryable, and the error says to check the tenant id."""
    with pytest.raises(MailTransportError) as caught:
        GraphTransport("other-tenant", "demo-client", secret=CLIENT_SECRET, authority=graph_server.authority,
                       graph_base=graph_server.graph_base, ca_bundle=graph_server.ca_bundle,
                       timeout=5.0).send(message(), sent_at=SENT_AT)
    assert caught.value.retryable is False
    assert "tenant id (other-tenant)" in str(caught.value)


def test_an_untrusted_server_certificate_is_refused(graph_server: GraphServer) -> None:
    """Without the local authority's CA bundle the TLS certificate is not trusted and nothing is sent."""
    with pytest.raises(MailTransportError) as caught:
        graph(graph_server, ca_bundle=None).send(message(), sent_at=SENT_AT)
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)
    assert graph_server.sent == []


def test_server_not_running_is_retryable_and_names_the_server() -> None:
    """A closed port gives a retryable error naming the endpoint it could not reach."""
    port = free_port()
    transport = GraphTransport(TENANT, "demo-client", secret="x", authority=f"https://127.0.0.1:{port}",
                               graph_base=f"https://127.0.0.1:{port}/v1.0", timeout=2.0)
    with pytest.raises(MailTransportError) as caught:
        transport.send(message(), sent_at=SENT_AT)
    assert caught.value.retryable is True
    assert f"127.0.0.1:{port}" in str(caught.value)


def test_send_many_refuses_one_message_and_sends_the_others(graph_server: GraphServer) -> None:
    """In send_many a refused recipient stops that message only; the others are sent."""
    graph_server.script.refuse["p1@demo-county.example"] = "ErrorInvalidRecipients"
    messages = [
        message(key=f"k{i}", to=(f"p{i}@demo-county.example",), cc=(), bcc=(), attachments=()) for i in range(3)
    ]
    outcomes = graph(graph_server).send_many(messages, sent_at=SENT_AT)
    assert outcomes[0] == message_id_for("k0") and outcomes[2] == message_id_for("k2")
    assert isinstance(outcomes[1], MailTransportError) and outcomes[1].refused == ("p1@demo-county.example",)
    assert len(graph_server.sent) == 2


def test_send_many_stops_at_a_login_failure(graph_server: GraphServer) -> None:
    """A permission failure fails every message of send_many without trying the rest."""
    graph_server.script.refuse_all = 403
    outcomes = graph(graph_server).send_many([message(key=f"k{i}") for i in range(3)], sent_at=SENT_AT)
    assert all(isinstance(o, MailTransportError) and not o.retryable for o in outcomes)
    assert graph_server.requests().count(SEND) == 1
