"""A local EWS endpoint that speaks enough SOAP for the real exchangelib client to send mail through it.

It answers CreateItem (and an OAuth2 client-credentials token request), records what each request asked for,
and can be told to be busy, to refuse a recipient inside a bulk request, or to refuse every login.
Any other operation is recorded and answered with a SOAP fault, so a test sees an unexpected request at once.
"""

from __future__ import annotations

import base64
import json
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"
E = "http://schemas.microsoft.com/exchange/services/2006/errors"
EWS_PATH = "/EWS/Exchange.asmx"
TOKEN_PATH = "/tenant/oauth2/v2.0/token"

_HEADER = (
    f'<s:Header><h:ServerVersionInfo xmlns:h="{T}" MajorVersion="15" MinorVersion="1" MajorBuildNumber="2507"'
    ' MinorBuildNumber="6" Version="V2017_07_11"/></s:Header>'
)


@dataclass
class Seen:
    """One HTTP request as it arrived: path, SOAP operation (or "token") and the headers that matter here."""

    path: str
    operation: str
    anchor_mailbox: str | None
    authorization: str | None


@dataclass
class SentItem:
    """One message a CreateItem request asked the server to send, as parsed from the SOAP body."""

    disposition: str
    anchor_mailbox: str | None
    impersonated: str | None
    author: str | None
    to: list[str]
    cc: list[str]
    bcc: list[str]
    reply_to: list[str]
    subject: str
    body: str
    body_type: str
    internet_headers: dict[str, str]
    attachments: list[tuple[str, str, bytes]]


@dataclass
class Script:
    """What the server does next: busy answers to give, recipients or items to refuse, logins to refuse."""

    # Back-off (milliseconds) of each ErrorServerBusy fault still to give, one per CreateItem request.
    busy: list[int] = field(default_factory=list)
    # Recipient address -> EWS response code given for any item addressed to it.
    refuse: dict[str, str] = field(default_factory=dict)
    # EWS response code given for every item, whoever it is addressed to.
    item_error: str | None = None
    refuse_logins: bool = False


def _text(elem: ET.Element | None) -> str:
    return "" if elem is None or elem.text is None else elem.text


def _addresses(item: ET.Element, name: str) -> list[str]:
    container = item.find(f"{{{T}}}{name}")
    if container is None:
        return []
    return [_text(mailbox.find(f"{{{T}}}EmailAddress")) for mailbox in container.findall(f"{{{T}}}Mailbox")]


def _parse_item(item: ET.Element, *, disposition: str, anchor: str | None, impersonated: str | None) -> SentItem:
    body = item.find(f"{{{T}}}Body")
    author = item.find(f"{{{T}}}From/{{{T}}}Mailbox/{{{T}}}EmailAddress")
    headers: dict[str, str] = {}
    for prop in item.findall(f"{{{T}}}ExtendedProperty"):
        uri = prop.find(f"{{{T}}}ExtendedFieldURI")
        if uri is not None and uri.get("DistinguishedPropertySetId") == "InternetHeaders":
            headers[uri.get("PropertyName", "")] = _text(prop.find(f"{{{T}}}Value"))
    attachments = [
        (
            _text(att.find(f"{{{T}}}Name")),
            _text(att.find(f"{{{T}}}ContentType")),
            base64.b64decode(_text(att.find(f"{{{T}}}Content"))),
        )
        for att in item.findall(f"{{{T}}}Attachments/{{{T}}}FileAttachment")
    ]
    return SentItem(
        disposition=disposition,
        anchor_mailbox=anchor,
        impersonated=impersonated,
        author=None if author is None else _text(author),
        to=_addresses(item, "ToRecipients"),
        cc=_addresses(item, "CcRecipients"),
        bcc=_addresses(item, "BccRecipients"),
        reply_to=_addresses(item, "ReplyTo"),
        subject=_text(item.find(f"{{{T}}}Subject")),
        body=_text(body),
        body_type="" if body is None else body.get("BodyType", ""),
        internet_headers=headers,
        attachments=attachments,
    )


def _envelope(body: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{SOAP}">{_HEADER}<s:Body>{body}</s:Body>'
        "</s:Envelope>"
    ).encode()


def _fault(code: str, message: str, *, back_off_ms: int | None = None) -> bytes:
    values = "" if back_off_ms is None else f'<t:Value Name="BackOffMilliseconds">{back_off_ms}</t:Value>'
    return _envelope(
        f'<s:Fault><faultcode xmlns:a="{T}">a:{code}</faultcode><faultstring xml:lang="en-US">{escape(message)}'
        f'</faultstring><detail><e:ResponseCode xmlns:e="{E}">{code}</e:ResponseCode><e:Message xmlns:e="{E}">'
        f'{escape(message)}</e:Message><t:MessageXml xmlns:t="{T}">{values}</t:MessageXml></detail></s:Fault>'
    )


def _create_item_response(outcomes: list[str | None]) -> bytes:
    messages = []
    for code in outcomes:
        if code is None:
            messages.append(
                '<m:CreateItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>'
                "<m:Items/></m:CreateItemResponseMessage>"
            )
        else:
            messages.append(
                f'<m:CreateItemResponseMessage ResponseClass="Error"><m:MessageText>{code} for this item'
                f"</m:MessageText><m:ResponseCode>{code}</m:ResponseCode><m:DescriptiveLinkKey>0"
                "</m:DescriptiveLinkKey><m:Items/></m:CreateItemResponseMessage>"
            )
    return _envelope(
        f'<m:CreateItemResponse xmlns:m="{M}" xmlns:t="{T}"><m:ResponseMessages>{"".join(messages)}'
        "</m:ResponseMessages></m:CreateItemResponse>"
    )


class EwsServer:
    """Serve EWS on 127.0.0.1 in a thread; `sent` holds every message accepted, `seen` every request."""

    def __init__(self, *, username: str = "svc-send", password: str = "demo-secret", token: str = "demo-token",
                 client_id: str = "demo-client", client_secret: str = "demo-client-secret") -> None:
        self.username, self.password = username, password
        self.token, self.client_id, self.client_secret = token, client_id, client_secret
        self.script = Script()
        self.seen: list[Seen] = []
        self.sent: list[SentItem] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="ews-server", daemon=True)

    @property
    def url(self) -> str:
        """Return the EWS service endpoint URL."""
        return f"http://127.0.0.1:{self.port}{EWS_PATH}"

    @property
    def token_url(self) -> str:
        """Return the OAuth2 token endpoint URL."""
        return f"http://127.0.0.1:{self.port}{TOKEN_PATH}"

    def operations(self) -> list[str]:
        """Return the operations requested so far, in order."""
        with self._lock:
            return [seen.operation for seen in self.seen]

    def start(self) -> EwsServer:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> EwsServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def _authorized(self, authorization: str | None) -> bool:
        if self.script.refuse_logins or not authorization:
            return False
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer":
            return value == self.token
        if scheme.lower() == "basic":
            return base64.b64decode(value).decode() == f"{self.username}:{self.password}"
        return False

    def _token(self, form: dict[str, list[str]]) -> tuple[int, bytes]:
        given = {key: values[0] for key, values in form.items()}
        if (
            self.script.refuse_logins
            or given.get("grant_type") != "client_credentials"
            or given.get("client_id") != self.client_id
            or given.get("client_secret") != self.client_secret
        ):
            return 401, json.dumps({"error": "invalid_client", "error_description": "bad client secret"}).encode()
        return 200, json.dumps({"token_type": "Bearer", "expires_in": 3599, "access_token": self.token}).encode()

    def _soap(self, root: ET.Element, *, anchor: str | None) -> tuple[int, bytes]:
        body = root.find(f"{{{SOAP}}}Body")
        operation = body[0] if body is not None and len(body) else None
        if operation is None or operation.tag != f"{{{M}}}CreateItem":
            return 500, _fault("ErrorInvalidRequest", "This test server only answers CreateItem")
        if self.script.busy:
            back_off = self.script.busy.pop(0)
            return 500, _fault("ErrorServerBusy", "The server cannot service this request right now.",
                               back_off_ms=back_off)
        impersonated = root.find(f"{{{SOAP}}}Header/{{{T}}}ExchangeImpersonation/{{{T}}}ConnectingSID/"
                                 f"{{{T}}}PrimarySmtpAddress")
        disposition = operation.get("MessageDisposition", "")
        outcomes: list[str | None] = []
        items = operation.find(f"{{{M}}}Items")
        for item in [] if items is None else list(items):
            parsed = _parse_item(item, disposition=disposition, anchor=anchor,
                                 impersonated=None if impersonated is None else _text(impersonated))
            refused = [self.script.refuse[a] for a in (*parsed.to, *parsed.cc, *parsed.bcc) if a in self.script.refuse]
            if self.script.item_error:
                refused.insert(0, self.script.item_error)
            if refused:
                outcomes.append(refused[0])
            else:
                self.sent.append(parsed)
                outcomes.append(None)
        return 200, _create_item_response(outcomes)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
                """Keep the test output quiet."""

            def do_POST(self) -> None:  # noqa: N802 - stdlib hook name
                """Answer a token request or a SOAP request."""
                data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                anchor = self.headers.get("X-AnchorMailbox")
                authorization = self.headers.get("Authorization")
                with server._lock:
                    if self.path == TOKEN_PATH:
                        server.seen.append(Seen(self.path, "token", anchor, authorization))
                        status, payload = server._token(parse_qs(data.decode()))
                        self._answer(status, payload, content_type="application/json")
                        return
                    try:
                        root = ET.fromstring(data)
                        body = root.find(f"{{{SOAP}}}Body")
                        operation = body[0].tag.split("}")[-1] if body is not None and len(body) else "?"
                    except ET.ParseError:
                        root, operation = None, "?"
                    server.seen.append(Seen(self.path, operation, anchor, authorization))
                    if self.path != EWS_PATH or root is None:
                        self._answer(404, b"Not found", content_type="text/plain")
                        return
                    if not server._authorized(authorization):
                        self._answer(401, b"401 Unauthorized", content_type="text/plain",
                                     extra={"WWW-Authenticate": 'Basic realm="demo-county.example"'})
                        return
                    status, payload = server._soap(root, anchor=anchor)
                self._answer(status, payload, content_type="text/xml; charset=utf-8")

            def _answer(self, status: int, payload: bytes, *, content_type: str,
                        extra: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in (extra or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

        return Handler
