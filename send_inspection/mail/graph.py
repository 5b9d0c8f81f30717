"""Send mail through Microsoft Graph (Exchange Online without EWS), as the partnership's shared mailbox.

A message whose attachments come to at most 3 MB goes in one sendMail request. A larger one is built as a draft
in the shared mailbox: each attachment under 3 MB is added with one request, each larger one through an upload
session (ranged PUTs of at most 4 MB to its pre-authenticated URL), then the draft is sent. The draft is marked
to be deleted once sent and carries our key, so a draft left by a process that died is found and deleted before
the message is built again: neither a second copy nor a draft full of personal links stays in the mailbox.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from send_inspection.mail.graph_auth import ClientCredential, GraphTokens
from send_inspection.mail.graph_client import GRAPH_BASE, GraphClient, GraphError
from send_inspection.mail.message import (
    KEY_HEADER,
    Attachment,
    OutgoingMessage,
    all_recipients,
    message_id_for,
    to_email_message,
)
from send_inspection.mail.transport import MailTransportError

# Attachments up to this size in all go inside sendMail's JSON (base64 makes 4 MB of them, Graph's request limit).
INLINE_LIMIT = 3 * 1024 * 1024
# Each PUT of an upload session: a multiple of 320 KiB, under Graph's 4 MB.
UPLOAD_CHUNK = 12 * 320 * 1024
# The internet headers' property set: a named property in it is written into the sent message's headers.
INTERNET_HEADERS = "{00020386-0000-0000-C000-000000000046}"
KEY_PROPERTY = f"String {INTERNET_HEADERS} Name {KEY_HEADER}"
# PidTagDeleteAfterSubmit: Exchange deletes the draft once sent instead of keeping it in Sent Items.
DELETE_AFTER_SUBMIT = "Boolean 0x0E01"
SEND = "Mail.Send"
READ_WRITE = "Mail.ReadWrite"


def _recipients(addresses: Sequence[str]) -> list[dict[str, dict[str, str]]]:
    return [{"emailAddress": {"address": address}} for address in addresses]


def _file_attachment(attachment: Attachment) -> dict[str, str]:
    return {
        "@odata.type": "#microsoft.graph.fileAttachment",
        "name": attachment.filename,
        "contentType": attachment.content_type.split(";")[0].strip(),
        "contentBytes": base64.b64encode(attachment.data).decode("ascii"),
    }


def message_json(message: OutgoingMessage, *, inline_attachments: bool = True) -> dict[str, Any]:
    """Return the Graph message resource for `message`, with the idempotency key as an internet header."""
    sender: dict[str, str] = {"address": message.sender}
    if message.sender_name:
        sender["name"] = message.sender_name
    body = (
        {"contentType": "HTML", "content": message.html}
        if message.html is not None
        else {"contentType": "Text", "content": message.text}
    )
    result: dict[str, Any] = {
        "subject": message.subject,
        # Graph takes one body: the HTML one when there is one (Exchange derives the plain text part).
        "body": body,
        "from": {"emailAddress": sender},
        "toRecipients": _recipients(message.to),
        "ccRecipients": _recipients(message.cc),
        "bccRecipients": _recipients(message.bcc),
        "internetMessageHeaders": [{"name": KEY_HEADER, "value": message.key}],
    }
    if message.reply_to is not None:
        result["replyTo"] = _recipients([message.reply_to])
    if message.attachments and inline_attachments:
        result["attachments"] = [_file_attachment(a) for a in message.attachments]
    return result


def _draft_json(message: OutgoingMessage) -> dict[str, Any]:
    """Return the draft of a large message: the key as a findable named property, deleted once sent."""
    draft = message_json(message, inline_attachments=False)
    del draft["internetMessageHeaders"]  # the same header, written by the named property below
    draft["singleValueExtendedProperties"] = [{"id": KEY_PROPERTY, "value": message.key},
                                              {"id": DELETE_AFTER_SUBMIT, "value": "true"}]
    return draft


def odata_text(value: str) -> str:
    """Return `value` as an OData string literal (quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def property_filter(property_id: str, value: str) -> str:
    """Return the $filter that finds items whose single-value extended property `property_id` is `value`."""
    return (f"singleValueExtendedProperties/Any(ep: ep/id eq {odata_text(property_id)} and "
            f"ep/value eq {odata_text(value)})")


class GraphTransport:
    """Send each message through Graph as its sender, the shared mailbox, with an app-only token from MSAL."""

    name = "graph"

    def __init__(
        self,
        tenant_id: str,
        client_id: str,
        *,
        secret: str | Callable[[], str] | None = None,
        certificate: str | Callable[[], str] | None = None,
        thumbprint: str | None = None,
        authority: str = "https://login.microsoftonline.com",
        graph_base: str = GRAPH_BASE,
        max_wait: float = 300.0,
        timeout: float = 30.0,
        ca_bundle: Path | None = None,
    ) -> None:
        if (secret is None) == (certificate is None):
            raise ValueError("give a client secret or a certificate (its PEM), not both and not neither")
        given = secret if secret is not None else certificate
        read: Callable[[], str] = given if callable(given) else (lambda: str(given))
        credential = ClientCredential(read=read, kind="secret" if secret is not None else "certificate",
                                      thumbprint=thumbprint)
        tokens = GraphTokens(tenant_id, client_id, credential, authority=authority, ca_bundle=ca_bundle,
                             timeout=timeout)
        self.client = GraphClient(tokens, graph_base=graph_base, max_wait=max_wait, timeout=timeout,
                                  ca_bundle=ca_bundle)

    @property
    def server(self) -> str:
        """Return the Graph base URL for error messages and logs."""
        return self.client.graph_base

    @property
    def graph_base(self) -> str:
        """Return the Graph base URL."""
        return self.client.graph_base

    @property
    def max_wait(self) -> float:
        """Return the most seconds one request waits on the server's back-off before it fails."""
        return self.client.max_wait

    def close(self) -> None:
        """Close the HTTP connections."""
        self.client.close()

    def send(self, message: OutgoingMessage, *, sent_at: datetime) -> str:
        """Send `message` from its sender's mailbox to every recipient and return its Message-ID."""
        to_email_message(message, sent_at=sent_at)  # the same checks as every transport: raises ValueError
        recipients = tuple(all_recipients(message))
        if sum(len(a.data) for a in message.attachments) <= INLINE_LIMIT:
            # Not saved in Sent Items: the messages carry personal links, which anyone with access to the shared
            # mailbox could otherwise open, and the email ledger already records every send.
            self.client.call("POST", self.client.user_url(message.sender, "/sendMail"), mailbox=message.sender,
                             needs=SEND, json={"message": message_json(message), "saveToSentItems": False},
                             recipients=recipients)
        else:
            self._send_large(message, recipients)
        return message_id_for(message.key)

    def _send_large(self, message: OutgoingMessage, recipients: tuple[str, ...]) -> None:
        """Build the message as a draft, attach each file (large ones by upload session), then send it."""
        mailbox = message.sender
        self._delete_left_drafts(message)
        draft = self.client.call("POST", self.client.user_url(mailbox, "/messages"), mailbox=mailbox,
                                 needs=READ_WRITE, json=_draft_json(message)).json()
        draft_url = self.client.user_url(mailbox, f"/messages/{draft['id']}")
        try:
            for attachment in message.attachments:
                if len(attachment.data) < INLINE_LIMIT:
                    self.client.call("POST", f"{draft_url}/attachments", mailbox=mailbox, needs=READ_WRITE,
                                     json=_file_attachment(attachment))
                else:
                    self._upload(draft_url, attachment, mailbox=mailbox)
            self.client.call("POST", f"{draft_url}/send", mailbox=mailbox, needs=SEND, recipients=recipients)
        except GraphError:
            self._delete_quietly(draft_url, mailbox=mailbox)
            raise

    def _upload(self, draft_url: str, attachment: Attachment, *, mailbox: str) -> None:
        """Attach a large file through an upload session, in order, from where the server says it expects."""
        size = len(attachment.data)
        session = self.client.call("POST", f"{draft_url}/attachments/createUploadSession", mailbox=mailbox,
                                   needs=READ_WRITE, json={"AttachmentItem": {
                                       "attachmentType": "file", "name": attachment.filename, "size": size,
                                       "contentType": attachment.content_type.split(";")[0].strip()}}).json()
        upload_url = session["uploadUrl"]
        start = _next_start(session, default=0)
        while start < size:
            end = min(start + UPLOAD_CHUNK, size)
            # The URL carries its own authorisation: no token goes with these PUTs.
            answer = self.client.call("PUT", upload_url, mailbox=mailbox, needs=READ_WRITE, signed=False,
                                      content=attachment.data[start:end],
                                      headers={"Content-Range": f"bytes {start}-{end - 1}/{size}",
                                               "Content-Type": "application/octet-stream"})
            if answer.status_code == 201:
                return
            start = _next_start(answer.json(), default=end)
        raise self.client.fail(f"the upload session of an attachment of {size} bytes ended without the server "
                               "saying it was complete", retryable=True)

    def _delete_left_drafts(self, message: OutgoingMessage) -> None:
        """Delete any draft of this message a process left before it could send it."""
        found = self.client.call(
            "GET", self.client.user_url(message.sender, "/mailFolders/drafts/messages"), mailbox=message.sender,
            needs=READ_WRITE, params={"$filter": property_filter(KEY_PROPERTY, message.key), "$select": "id"},
        ).json().get("value", [])
        for left in found:
            self._delete_quietly(self.client.user_url(message.sender, f"/messages/{left['id']}"),
                                 mailbox=message.sender)

    def _delete_quietly(self, url: str, *, mailbox: str) -> None:
        try:
            self.client.call("DELETE", url, mailbox=mailbox, needs=READ_WRITE, allow=(404,))
        except GraphError:
            pass  # found and deleted before the next attempt builds the message again

    def send_many(
        self, messages: Sequence[OutgoingMessage], *, sent_at: datetime
    ) -> list[str | MailTransportError]:
        """Send `messages` one by one; return, in order, each one's Message-ID or the error that stopped it."""
        outcomes: list[str | MailTransportError] = []
        stopped: GraphError | None = None
        for message in messages:
            if stopped is not None:
                outcomes.append(stopped)
                continue
            try:
                outcomes.append(self.send(message, sent_at=sent_at))
            except GraphError as exc:
                outcomes.append(exc)
                if exc.applies_to_all:
                    # A login failure or an outage: the next messages would fail the same way; none is tried.
                    stopped = exc
            except ValueError as exc:
                outcomes.append(self.client.fail(f"{message.key}: not sent: {exc}", retryable=False))
        return outcomes


def _next_start(session: dict[str, Any], *, default: int) -> int:
    """Return where the upload goes on: the start of the server's first nextExpectedRanges entry."""
    ranges = session.get("nextExpectedRanges") or []
    if not ranges:
        return default
    return int(str(ranges[0]).split("-")[0])
