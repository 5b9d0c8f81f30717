"""The EWS transport, with the real exchangelib client, against a local EWS endpoint on 127.0.0.1."""

from __future__ import annotations

import time

import pytest

from send_inspection.mail.ews import EwsTransport
from send_inspection.mail.message import KEY_HEADER, message_id_for
from send_inspection.mail.transport import MailTransport, MailTransportError
from tests.helpers import free_port
from tests.mail.ews_server import EwsServer
from tests.mail.samples import SECRET_LINK, SENT_AT, SHARED, message


def basic(server: EwsServer, **overrides: object) -> EwsTransport:
    """Return a transport logging in to `server` with a username and password (Exchange Server style)."""
    options: dict[str, object] = {"auth": "basic", "username": "svc-send", "secret": "demo-secret", "max_wait": 2.0}
    options.update(overrides)
    return EwsTransport(server.url, "Exchange2016", **options)  # type: ignore[arg-type]


def test_ews_is_a_mail_transport_and_building_it_calls_nobody() -> None:
    """EwsTransport satisfies MailTransport, is called "ews" and contacts no server until it sends."""
    transport: MailTransport = EwsTransport(
        f"http://127.0.0.1:{free_port()}/EWS/Exchange.asmx", auth="ntlm", username="DEMO\\svc-send", secret="x"
    )
    assert transport.name == "ews"


def test_create_item_carries_sender_recipients_subject_and_body(server: EwsServer) -> None:
    """One CreateItem request sends as the shared mailbox to to, cc and bcc, with subject, HTML body and key."""
    result = basic(server).send(message(), sent_at=SENT_AT)
    assert result == message_id_for("insp-1:day2:1.3:approve:r1:ask:person-x")
    assert server.operations() == ["CreateItem"]
    [item] = server.sent
    assert item.disposition == "SendOnly"
    assert item.anchor_mailbox == SHARED
    assert item.author == SHARED
    assert item.impersonated is None
    assert (item.to, item.cc, item.bcc) == (
        ["sam@demo-county.example"],
        ["deputy@demo-county.example"],
        ["audit@demo-county.example"],
    )
    assert item.reply_to == ["send.replies@demo-county.example"]
    assert item.subject == "Evidence due"
    assert (item.body_type, item.body) == ("HTML", f'<p><a href="{SECRET_LINK}">Open</a></p>')
    assert item.internet_headers == {KEY_HEADER: "insp-1:day2:1.3:approve:r1:ask:person-x"}
    assert item.attachments == [("invite.ics", "text/calendar", b"BEGIN:VCALENDAR\r\n")]


def test_a_bcc_only_batch_sends_no_to_recipients(server: EwsServer) -> None:
    """A survey batch of 500 addresses in Bcc and none in To goes as one CreateItem without ToRecipients."""
    families = tuple(f"family{i:03d}@demo-county.example" for i in range(500))
    basic(server).send(message(to=(), cc=(), bcc=families), sent_at=SENT_AT)
    [item] = server.sent
    assert (item.to, item.cc, item.bcc) == ([], [], list(families))
    [body] = server.requests("CreateItem")
    assert "ToRecipients" not in body and body.count("<t:Mailbox>") == 500 + 2  # the Bcc, From and ReplyTo


def test_text_only_message_sends_a_text_body(server: EwsServer) -> None:
    """Without an HTML part the plain text goes as a Text body."""
    basic(server).send(message(html=None, attachments=()), sent_at=SENT_AT)
    [item] = server.sent
    assert (item.body_type, item.body) == ("Text", f"Your personal link: {SECRET_LINK}\n")
    assert item.attachments == []


def test_oauth2_gets_a_token_once_and_impersonates_the_shared_mailbox(
    server: EwsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With client credentials the transport fetches one token, then sends by impersonating the shared mailbox."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the local token endpoint is plain http
    transport = EwsTransport(server.url, auth="oauth2", tenant_id="demo-tenant", client_id="demo-client",
                             secret="demo-client-secret", token_url=server.token_url, max_wait=2.0)
    transport.send(message(), sent_at=SENT_AT)
    transport.send(message(key="second"), sent_at=SENT_AT)
    assert server.operations() == ["token", "CreateItem", "CreateItem"]
    assert [seen.authorization for seen in server.seen[1:]] == ["Bearer demo-token", "Bearer demo-token"]
    assert [item.impersonated for item in server.sent] == [SHARED, SHARED]


def test_server_busy_with_a_back_off_is_retried_then_succeeds(server: EwsServer) -> None:
    """An ErrorServerBusy asking for a 20 ms back-off is waited out and the same request then succeeds."""
    server.script.busy = [20]
    result = basic(server).send(message(), sent_at=SENT_AT)
    assert result == message_id_for(message().key)
    assert server.operations() == ["CreateItem", "CreateItem"]
    assert len(server.sent) == 1


def test_back_off_beyond_the_ceiling_is_retryable_at_once(server: EwsServer) -> None:
    """A back-off longer than the ceiling gives a retryable error naming the server, without waiting."""
    server.script.busy = [60_000]
    started = time.monotonic()
    with pytest.raises(MailTransportError) as caught:
        basic(server, max_wait=0.5).send(message(), sent_at=SENT_AT)
    assert time.monotonic() - started < 5
    assert caught.value.retryable is True
    assert "busy" in str(caught.value) and f"127.0.0.1:{server.port}" in str(caught.value)
    assert "secret-token" not in str(caught.value)
    assert server.sent == []


def test_many_short_back_offs_add_up_to_the_ceiling(server: EwsServer) -> None:
    """Short back-offs count together: a server that stays busy is given up on once the ceiling is reached."""
    server.script.busy = [100] * 20
    with pytest.raises(MailTransportError) as caught:
        basic(server, max_wait=0.25).send(message(), sent_at=SENT_AT)
    assert caught.value.retryable is True
    assert server.operations().count("CreateItem") == 3  # two 100 ms waits fit under 250 ms, a third does not
    assert server.sent == []


def test_bulk_send_catches_a_per_item_error_and_counts_only_the_others(server: EwsServer) -> None:
    """In a bulk send one item's ErrorInvalidRecipients refuses that message only; the others count as sent."""
    server.script.refuse["p1@demo-county.example"] = "ErrorInvalidRecipients"
    messages = [
        message(key=f"k{i}", to=(f"p{i}@demo-county.example",), cc=(), bcc=(), attachments=()) for i in range(3)
    ]
    outcomes = basic(server, chunk_size=2).send_many(messages, sent_at=SENT_AT)
    assert outcomes[0] == message_id_for("k0") and outcomes[2] == message_id_for("k2")
    refused = outcomes[1]
    assert isinstance(refused, MailTransportError)
    assert refused.retryable is False and refused.partial is False
    assert refused.refused == ("p1@demo-county.example",)
    assert "ErrorInvalidRecipients" in str(refused)
    assert server.operations() == ["CreateItem", "CreateItem"]  # two chunks: [k0, k1] and [k2]
    assert [item.to for item in server.sent] == [["p0@demo-county.example"], ["p2@demo-county.example"]]


def test_bulk_send_that_fails_as_a_whole_counts_nothing_as_sent(server: EwsServer) -> None:
    """When the bulk request itself stays busy past the ceiling, every message gets a retryable error."""
    server.script.busy = [60_000]
    messages = [message(key=f"k{i}") for i in range(3)]
    outcomes = basic(server, max_wait=0.5).send_many(messages, sent_at=SENT_AT)
    assert all(isinstance(o, MailTransportError) and o.retryable for o in outcomes)
    assert server.sent == []


def test_single_send_to_an_invalid_recipient_is_not_retryable(server: EwsServer) -> None:
    """A single send refused with ErrorMailRecipientNotFound is not retried and lists the recipients."""
    server.script.refuse["sam@demo-county.example"] = "ErrorMailRecipientNotFound"
    with pytest.raises(MailTransportError) as caught:
        basic(server).send(message(cc=(), bcc=()), sent_at=SENT_AT)
    assert caught.value.retryable is False
    assert caught.value.refused == ("sam@demo-county.example",)


@pytest.mark.parametrize(
    ("code", "retryable", "hint"),
    [
        ("ErrorSendAsDenied", False, "Send As"),
        ("ErrorNonExistentMailbox", False, f"the mailbox {SHARED} exists"),
        ("ErrorQuotaExceeded", True, "ErrorQuotaExceeded"),
        ("ErrorMessageSizeExceeded", False, "ErrorMessageSizeExceeded"),
    ],
)
def test_item_errors_are_classified(server: EwsServer, code: str, retryable: bool, hint: str) -> None:
    """A refused sender is a setting to fix, a full quota passes, an oversized message fails again."""
    server.script.item_error = code
    with pytest.raises(MailTransportError) as caught:
        basic(server).send(message(), sent_at=SENT_AT)
    assert caught.value.retryable is retryable
    assert hint in str(caught.value)
    assert caught.value.refused == ()


def test_server_not_running_is_retryable_and_names_the_server() -> None:
    """A closed port gives a retryable error naming the server and saying what to check."""
    port = free_port()
    transport = EwsTransport(f"http://127.0.0.1:{port}/EWS/Exchange.asmx", auth="basic", username="svc-send",
                             secret="demo-secret", max_wait=2.0)
    with pytest.raises(MailTransportError) as caught:
        transport.send(message(), sent_at=SENT_AT)
    assert caught.value.retryable is True
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert "cannot reach the server" in str(caught.value)


def test_login_refused_with_401_is_not_retryable(server: EwsServer) -> None:
    """An HTTP 401 is a failed login: reported at once, not retried as throttling, and the password not shown."""
    with pytest.raises(MailTransportError) as caught:
        basic(server, secret="wrong-password").send(message(), sent_at=SENT_AT)
    assert caught.value.retryable is False
    assert "login refused" in str(caught.value) and "svc-send" in str(caught.value)
    assert "wrong-password" not in str(caught.value)
    assert server.operations() == ["CreateItem"]


def test_token_refused_is_not_retryable(server: EwsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A token endpoint refusing the client secret gives a non-retryable error naming what to check."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    transport = EwsTransport(server.url, auth="oauth2", tenant_id="demo-tenant", client_id="demo-client",
                             secret="wrong-secret", token_url=server.token_url)
    with pytest.raises(MailTransportError) as caught:
        transport.send(message(), sent_at=SENT_AT)
    assert caught.value.retryable is False
    assert "client id (demo-client)" in str(caught.value)
    assert "wrong-secret" not in str(caught.value)
    assert server.operations() == ["token"]


def test_secret_is_read_once_and_only_when_first_needed(server: EwsServer) -> None:
    """A secret given as a function (a Prefect Secret block) is read at the first send, not when built."""
    reads: list[int] = []

    def secret() -> str:
        reads.append(1)
        return "demo-secret"

    transport = basic(server, secret=secret)
    assert reads == []
    transport.send(message(), sent_at=SENT_AT)
    transport.send(message(key="again"), sent_at=SENT_AT)
    assert reads == [1]


def test_missing_secret_block_is_not_retryable(server: EwsServer) -> None:
    """A secret that cannot be found (a ValueError from the reader) is a setting to fix, not a passing failure."""

    def secret() -> str:
        raise ValueError("SEND_INSPECTION_EWS_SECRET_BLOCK='ews': no such Prefect Secret block")

    with pytest.raises(MailTransportError) as caught:
        basic(server, secret=secret).send(message(), sent_at=SENT_AT)
    assert caught.value.retryable is False
    assert "SEND_INSPECTION_EWS_SECRET_BLOCK" in str(caught.value)
    assert server.seen == []


@pytest.mark.parametrize(
    ("endpoint", "options", "complaint"),
    [
        ("http://mail.demo-county.example/EWS/Exchange.asmx", {"auth": "ntlm", "username": "u"}, "https"),
        ("https://mail.demo-county.example/EWS/Exchange.asmx", {"auth": "kerberos", "username": "u"}, "auth"),
        ("https://mail.demo-county.example/EWS/Exchange.asmx", {"auth": "oauth2"}, "tenant_id"),
        ("https://mail.demo-county.example/EWS/Exchange.asmx", {"auth": "ntlm"}, "username"),
    ],
)
def test_bad_configuration_is_refused_when_built(endpoint: str, options: dict[str, str], complaint: str) -> None:
    """A plain-http remote endpoint, an unknown login kind or a missing login detail fails at once."""
    with pytest.raises(ValueError, match=complaint):
        EwsTransport(endpoint, secret="x", **options)  # type: ignore[arg-type]
