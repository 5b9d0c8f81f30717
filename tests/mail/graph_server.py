"""A local Microsoft Graph endpoint and sign-in authority, over TLS on 127.0.0.1, for the real MSAL and our client.

The authority answers MSAL's tenant discovery (/{tenant}/v2.0/.well-known/openid-configuration) and its client
credentials token request, checking a client secret or a certificate's signed client assertion (RS256 with the
SHA-1 thumbprint, or PS256 with the SHA-256 one). Graph answers, for any mailbox of /users/{address}:

  sendMail; a draft: create, attachments (POST, or createUploadSession and ranged PUTs to its
  pre-authenticated URL, at most 4 MB each and in order), send, delete, and a look-up by extended property;
  events: create (a transactionId seen before gives the same event back), get, list by extended property,
  PATCH, cancel; the invitations, updates and cancellations Exchange sends for them are kept in `invitations`;
  inbox messages by delta query (@odata.nextLink pages of Prefer: odata.maxpagesize, then @odata.deltaLink;
  only changes and @removed entries afterwards; $filter receivedDateTime ge), their attachments and $value,
  PATCH of categories, child folders (list by displayName, create) and move.

Every Graph request needs a token it issued. At most four requests for one mailbox are served at once; a fifth
gets 429 with Retry-After, as Exchange Online answers. The script can throttle (429/503 with Retry-After), be busy,
refuse recipients, logins or every request, take its time over each request, do a request and then lose its
answer (the connection closed), or hold an answer back while a test kills the client.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit
from zoneinfo import ZoneInfo

import jwt
import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes

TENANT = "demo-tenant"
CLIENT_ID = "demo-client"
CLIENT_SECRET = "demo-client-secret"
SCOPE = "https://graph.microsoft.com/.default"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_CONCURRENT = 4
MAX_UPLOAD_PIECE = 4 * 1024 * 1024
# Windows' names of the time zones events may be written in, and the IANA names the calendar API also takes.
ZONES = {"GMT Standard Time": "Europe/London", "UTC": "UTC", "Europe/London": "Europe/London"}
_PROPERTY_FILTER = re.compile(r"^singleValueExtendedProperties/any\(ep:\s*ep/id eq '((?:[^']|'')*)' and "
                              r"ep/value eq '((?:[^']|'')*)'\)$", re.IGNORECASE)
_NAME_FILTER = re.compile(r"^displayName eq '((?:[^']|'')*)'$")
_RECEIVED_FILTER = re.compile(r"^receivedDateTime (ge|gt) (\S+)$")


class _Tls:
    """One certificate authority and one server certificate for 127.0.0.1, made once per test run."""

    _made: _Tls | None = None

    def __init__(self) -> None:
        self.ca = trustme.CA()
        self.server_cert = self.ca.issue_cert("127.0.0.1", "localhost")
        folder = Path(tempfile.mkdtemp(prefix="graph-ca-"))
        self.ca_bundle = folder / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_bundle))

    @classmethod
    def get(cls) -> _Tls:
        """Return the run's authority and certificate, making them the first time."""
        if cls._made is None:
            cls._made = cls()
        return cls._made


@dataclass(frozen=True)
class AppCertificate:
    """An app registration's certificate: the PEM the app signs with (key and certificate) and the thumbprints."""

    pem: str
    certificate_pem: bytes
    sha1: str
    sha256: str


def app_certificate() -> AppCertificate:
    """Return a new RSA certificate for the app registration, as uploaded to Entra ID."""
    leaf = trustme.CA(key_type=trustme.KeyType.RSA).issue_cert("demo-client.demo-county.example",
                                                              key_type=trustme.KeyType.RSA)
    certificate_pem = leaf.cert_chain_pems[0].bytes()
    cert = x509.load_pem_x509_certificate(certificate_pem)
    return AppCertificate(pem=leaf.private_key_pem.bytes().decode() + certificate_pem.decode(),
                          certificate_pem=certificate_pem, sha1=cert.fingerprint(hashes.SHA1()).hex().upper(),
                          sha256=cert.fingerprint(hashes.SHA256()).hex())


@dataclass
class Seen:
    """One HTTP request as it arrived."""

    method: str
    path: str
    query: dict[str, str]
    authorization: str | None
    prefer: str | None
    mailbox: str | None


@dataclass
class Attached:
    """A file (or item) attached to a message."""

    id: str
    name: str
    content_type: str
    data: bytes
    is_inline: bool = False
    kind: str = "file"


@dataclass
class Item:
    """A message in a mailbox folder: received in the inbox, or a draft being built."""

    id: str
    mailbox: str
    folder: str
    subject: str
    body: str
    sender: str
    sender_name: str
    internet_message_id: str
    received_at: datetime
    attachments: list[Attached] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    extended: dict[str, str] = field(default_factory=dict)
    kind: str = "message"
    change: int = 0
    draft: dict[str, Any] = field(default_factory=dict)


@dataclass
class Delivered:
    """A message Graph accepted to send: by sendMail or as a sent draft, with its attachments' bytes."""

    sender: str
    message: dict[str, Any]
    attachments: list[tuple[str, str, bytes]]
    save_to_sent_items: bool
    via: str

    def addresses(self, kind: str) -> list[str]:
        """Return the addresses of `kind` (toRecipients, ccRecipients, bccRecipients)."""
        return [r["emailAddress"]["address"] for r in self.message.get(kind, [])]

    @property
    def key(self) -> str:
        """Return the idempotency key the message carries as an internet header."""
        headers = {h["name"]: h["value"] for h in self.message.get("internetMessageHeaders", [])}
        properties = {p["id"]: p["value"] for p in self.message.get("singleValueExtendedProperties", [])}
        by_property = [v for k, v in properties.items() if k.endswith("Name X-Send-Inspection-Key")]
        return headers.get("X-Send-Inspection-Key") or (by_property[0] if by_property else "")

    @property
    def text(self) -> str:
        """Return the body's content."""
        return str(self.message.get("body", {}).get("content", ""))


@dataclass
class Event:
    """An event in a mailbox's calendar."""

    id: str
    mailbox: str
    change_key: str
    transaction_id: str | None
    subject: str
    body: str
    location: str
    start: datetime
    end: datetime
    zone: str
    attendees: list[str]
    extended: dict[str, str]
    cancelled: bool = False
    version: int = 0


@dataclass
class Invitation:
    """A meeting message Exchange sent for an event: a request, an update or a cancellation."""

    kind: str
    event_id: str
    organizer: str
    to: list[str]
    subject: str
    start: datetime
    end: datetime
    location: str
    body: str


@dataclass
class Upload:
    """An attachment upload session: where its bytes go and how far they came."""

    item_id: str
    mailbox: str
    name: str
    content_type: str
    size: int
    token: str
    data: bytearray = field(default_factory=bytearray)


@dataclass
class Script:
    """What the server does next."""

    # (status, Retry-After or None) answers to give to the next Graph requests, one each.
    throttle: list[tuple[int, str | None]] = field(default_factory=list)
    # While true, every Graph request answers 503 with Retry-After: 120.
    busy: bool = False
    # Recipient address -> Graph error code given for any message addressed to it.
    refuse: dict[str, str] = field(default_factory=dict)
    refuse_tokens: bool = False
    # HTTP status (401 or 403) given to every Graph request.
    refuse_all: int | None = None
    expires_in: int = 3599
    # Seconds each Graph request takes, while it holds one of its mailbox's slots.
    delay: float = 0.0
    # (method, path) of a request to do and then answer nothing (the connection closed): once.
    lose_answer: Callable[[str, str], bool] | None = None
    # (method, path, JSON body) of a request whose answer is kept back, once its work is done, until this is None.
    hold: Callable[[str, str, Any], bool] | None = None


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, sort_keys=True).encode()).decode().rstrip("=")


def _unb64(text: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error(status: int, code: str, message: str = "") -> tuple[int, dict[str, Any], dict[str, str]]:
    return status, {"error": {"code": code, "message": message or code}}, {}


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _odata(value: str) -> str:
    return value.replace("''", "'")


class _Answer(Exception):
    """Stop handling a request and give this answer."""

    def __init__(self, status: int, code: str, message: str = "") -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class GraphServer:
    """Serve the authority and Graph over TLS on 127.0.0.1 in a thread, recording every request."""

    def __init__(self, *, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET,
                 certificate: AppCertificate | None = None) -> None:
        self.client_id, self.client_secret, self.certificate = client_id, client_secret, certificate
        self.tls = _Tls.get()
        self.script = Script()
        self.seen: list[Seen] = []
        self.sent: list[Delivered] = []
        self.items: dict[str, Item] = {}
        self.events: dict[str, Event] = {}
        self.invitations: list[Invitation] = []
        self.folders: dict[tuple[str, str], str] = {}  # (mailbox, display name) -> folder id, under the inbox
        self.uploads: dict[str, Upload] = {}
        self.tokens: dict[str, float] = {}  # access token -> when it expires (monotonic)
        self.tokens_issued = 0
        self.assertions: list[dict[str, Any]] = []  # the headers of the client assertions accepted
        self.max_in_flight: dict[str, int] = {}
        self.holding: str | None = None
        self._in_flight: dict[str, int] = {}
        self._removed: list[tuple[str, str, str, int]] = []  # (mailbox, folder, item id, change) of items gone
        self._change = itertools.count(1)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._slots_lock = threading.Lock()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.tls.server_cert.configure_cert(context)
        self._httpd = _TlsServer(("127.0.0.1", 0), self._handler_class(), context)
        self._httpd.daemon_threads = True
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="graph-server", daemon=True)

    # --- addresses ------------------------------------------------------------------------------------------

    @property
    def origin(self) -> str:
        """Return https://127.0.0.1:<port>."""
        return f"https://127.0.0.1:{self.port}"

    @property
    def authority(self) -> str:
        """Return the authority's host URL (the tenant is added by the client)."""
        return self.origin

    @property
    def graph_base(self) -> str:
        """Return the Graph base URL (the /v1.0 root)."""
        return f"{self.origin}/v1.0"

    @property
    def token_url(self) -> str:
        """Return the token endpoint's URL."""
        return f"{self.origin}/{TENANT}/oauth2/v2.0/token"

    @property
    def ca_bundle(self) -> Path:
        """Return the PEM file of the authority that signed this server's certificate."""
        return self.tls.ca_bundle

    def env(self) -> dict[str, str]:
        """Return the product's settings for mail through this server with the client secret."""
        return {"SEND_INSPECTION_MAIL": "graph", "SEND_INSPECTION_GRAPH_TENANT_ID": TENANT,
                "SEND_INSPECTION_GRAPH_CLIENT_ID": self.client_id,
                "SEND_INSPECTION_GRAPH_SECRET": self.client_secret,
                "SEND_INSPECTION_GRAPH_AUTHORITY": self.authority, "SEND_INSPECTION_GRAPH_BASE": self.graph_base,
                "SEND_INSPECTION_GRAPH_CA_BUNDLE": str(self.ca_bundle)}

    # --- what a test looks at ---------------------------------------------------------------------------------

    def requests(self) -> list[str]:
        """Return "METHOD path" for every request so far, in order."""
        with self._lock:
            return [f"{seen.method} {seen.path}" for seen in self.seen]

    def calendar(self, mailbox: str | None = None) -> list[Event]:
        """Return the events in the calendars (of `mailbox` only, if given), not cancelled, oldest first."""
        with self._lock:
            return [e for e in self.events.values()
                    if not e.cancelled and (mailbox is None or e.mailbox.casefold() == mailbox.casefold())]

    def in_folder(self, mailbox: str, folder: str) -> list[Item]:
        """Return the items of a mailbox's folder ("inbox", "drafts", or a child folder's display name)."""
        with self._lock:
            wanted = self.folders.get((mailbox.casefold(), folder), folder)
            return [i for i in self.items.values() if i.mailbox.casefold() == mailbox.casefold()
                    and i.folder == wanted]

    # --- what a test does -----------------------------------------------------------------------------------

    def deliver(self, mailbox: str, *, subject: str, sender: str, body: str, received_at: datetime,
                sender_name: str = "", internet_message_id: str | None = None,
                attachments: Sequence[tuple[str, str, bytes] | tuple[str, str, bytes, bool]] = (),
                item_attachments: Sequence[str] = (), kind: str = "message") -> Item:
        """Put a message into the mailbox's inbox as if just received; attachments are (name, type, data[, inline])."""
        with self._lock:
            n = next(self._ids)
            item = Item(
                id=f"AAMkAGraphMsg{n:04d}=", mailbox=mailbox, folder="inbox", subject=subject, body=body,
                sender=sender, sender_name=sender_name,
                internet_message_id=internet_message_id or f"<graph-{n}@inspectors.demo-county.example>",
                received_at=received_at.astimezone(UTC), kind=kind, change=next(self._change),
                attachments=[Attached(f"AAMkAttach{n:04d}-{i}=", *a) for i, a in enumerate(attachments)]
                + [Attached(f"AAMkItem{n:04d}-{i}=", name, "message/rfc822", b"", kind="item")
                   for i, name in enumerate(item_attachments)],
            )
            self.items[item.id] = item
            return item

    def revoke_tokens(self) -> None:
        """Make every token issued so far invalid, as a revoked app secret or an expired token would."""
        with self._lock:
            self.tokens.clear()

    def start(self) -> GraphServer:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> GraphServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # --- the authority --------------------------------------------------------------------------------------

    def _discovery(self, tenant: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        if tenant != TENANT:
            return 400, {"error": "invalid_tenant",
                         "error_description": f"AADSTS90002: Tenant '{tenant}' not found."}, {}
        root = f"{self.origin}/{tenant}"
        return 200, {"token_endpoint": f"{root}/oauth2/v2.0/token",
                     "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
                     "issuer": f"{root}/v2.0", "token_endpoint_auth_methods_supported":
                         ["client_secret_post", "private_key_jwt", "client_secret_basic"]}, {}

    def _token(self, form: dict[str, str]) -> tuple[int, dict[str, Any], dict[str, str]]:
        refused = (401, {"error": "invalid_client",
                         "error_description": "AADSTS7000215: Invalid client secret provided."}, {})
        if (self.script.refuse_tokens or form.get("grant_type") != "client_credentials"
                or form.get("client_id") != self.client_id):
            return refused
        if form.get("scope") != SCOPE:
            return 400, {"error": "invalid_scope", "error_description": "AADSTS70011: The scope is not valid."}, {}
        if "client_assertion" in form:
            problem = self._check_assertion(form)
            if problem:
                return 401, {"error": "invalid_client", "error_description": f"AADSTS700027: {problem}"}, {}
        elif form.get("client_secret") != self.client_secret:
            return refused
        self.tokens_issued += 1
        token = f"demo-token-{self.tokens_issued}"
        self.tokens[token] = time.monotonic() + self.script.expires_in
        return 200, {"token_type": "Bearer", "expires_in": self.script.expires_in,
                     "ext_expires_in": self.script.expires_in, "access_token": token}, {}

    def _check_assertion(self, form: dict[str, str]) -> str | None:
        """Say what is wrong with a certificate's client assertion, or None if it is good."""
        if self.certificate is None or form.get("client_assertion_type") != ASSERTION_TYPE:
            return "no certificate is registered for the app, or the assertion type is wrong"
        assertion = form["client_assertion"]
        header = jwt.get_unverified_header(assertion)
        x5t = header.get("x5t#S256") or header.get("x5t")
        wanted = self.certificate.sha256 if "x5t#S256" in header else self.certificate.sha1
        if not x5t or base64.urlsafe_b64decode(x5t + "=" * (-len(x5t) % 4)).hex().upper() != wanted.upper():
            return "the assertion's thumbprint is not the registered certificate's"
        key = x509.load_pem_x509_certificate(self.certificate.certificate_pem).public_key()
        try:
            claims = jwt.decode(assertion, key, algorithms=["RS256", "PS256"], audience=self.token_url,
                                issuer=self.client_id, options={"require": ["exp", "jti", "sub"]})
        except jwt.PyJWTError as exc:
            return f"the signature or claims did not verify ({exc})"
        if claims["sub"] != self.client_id:
            return "the assertion's subject is not the app"
        self.assertions.append(header)
        return None

    # --- Graph: routing -------------------------------------------------------------------------------------

    def _graph(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
               body: bytes) -> tuple[int, Any, dict[str, str]]:
        """Answer one Graph request (the caller holds the lock)."""
        if path.startswith("/upload/"):
            return self._upload_piece(path.split("/")[2], query, headers, body)
        token = (headers.get("authorization") or "").removeprefix("Bearer ")
        if self.tokens.get(token, 0) < time.monotonic():
            return _error(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
        if self.script.refuse_all == 401:
            return _error(401, "InvalidAuthenticationToken", "Access token validation failure.")
        if self.script.refuse_all == 403:
            return _error(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        parts = path.split("/")
        if len(parts) < 4 or parts[1] != "v1.0" or parts[2] != "users":
            return _error(404, "ResourceNotFound", "Resource not found for the segment.")
        mailbox, rest = unquote(parts[3]), parts[4:]
        payload = json.loads(body) if body and headers.get("content-type", "").startswith("application/json") \
            else None
        route = self._route(method, rest)
        if route is None:
            return _error(400, "BadRequest", f"This endpoint does not answer {method} {'/'.join(rest)}")
        try:
            return route(mailbox, rest, query=query, headers=headers, payload=payload)
        except _Answer as answer:
            return _error(answer.status, answer.code, answer.message)

    def _route(self, method: str, rest: list[str]) -> Callable[..., tuple[int, Any, dict[str, str]]] | None:
        shape_parts = list(rest)
        if shape_parts and shape_parts[0] in ("messages", "events") and len(shape_parts) > 1:
            shape_parts[1] = "{id}"
        if len(shape_parts) > 3 and shape_parts[2] == "attachments" and shape_parts[3] != "createUploadSession":
            shape_parts[3] = "{id}"
        shape = "/".join(shape_parts)
        routes: dict[tuple[str, str], Callable[..., tuple[int, Any, dict[str, str]]]] = {
            ("POST", "sendMail"): self._send_mail,
            ("POST", "messages"): self._create_draft,
            ("GET", "messages/{id}"): self._get_message,
            ("PATCH", "messages/{id}"): self._patch_message,
            ("DELETE", "messages/{id}"): self._delete_message,
            ("GET", "messages/{id}/attachments"): self._list_attachments,
            ("POST", "messages/{id}/attachments"): self._add_attachment,
            ("POST", "messages/{id}/attachments/createUploadSession"): self._create_upload,
            ("GET", "messages/{id}/attachments/{id}/$value"): self._attachment_value,
            ("POST", "messages/{id}/send"): self._send_draft,
            ("POST", "messages/{id}/move"): self._move,
            ("GET", "mailFolders/drafts/messages"): self._list_drafts,
            ("GET", "mailFolders/inbox/messages/delta"): self._delta,
            ("GET", "mailFolders/inbox/childFolders"): self._child_folders,
            ("POST", "mailFolders/inbox/childFolders"): self._create_folder,
            ("POST", "events"): self._create_event,
            ("GET", "events"): self._list_events,
            ("GET", "events/{id}"): self._get_event,
            ("PATCH", "events/{id}"): self._patch_event,
            ("POST", "events/{id}/cancel"): self._cancel_event,
        }
        return routes.get((method, shape))

    # --- Graph: sending -------------------------------------------------------------------------------------

    def _refused(self, message: dict[str, Any]) -> None:
        for kind in ("toRecipients", "ccRecipients", "bccRecipients"):
            for recipient in message.get(kind, []):
                code = self.script.refuse.get(recipient["emailAddress"]["address"])
                if code:
                    raise _Answer(400, code, "At least one recipient isn't valid.")

    def _send_mail(self, mailbox: str, rest: list[str], *, payload: Any, **_: Any) -> tuple[int, Any, dict[str, str]]:
        message = (payload or {}).get("message", {})
        self._refused(message)
        attachments = [(a["name"], a.get("contentType", ""), base64.b64decode(a["contentBytes"]))
                       for a in message.get("attachments", [])]
        self.sent.append(Delivered(mailbox, message, attachments, bool(payload.get("saveToSentItems", True)),
                                   "sendMail"))
        return 202, None, {}

    def _item(self, mailbox: str, item_id: str) -> Item:
        item = self.items.get(item_id)
        if item is None or item.mailbox.casefold() != mailbox.casefold():
            raise _Answer(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        return item

    def _new_id(self, prefix: str) -> str:
        return f"AAMkAG{prefix}{next(self._ids):04d}="

    def _create_draft(self, mailbox: str, rest: list[str], *, payload: Any,
                      **_: Any) -> tuple[int, Any, dict[str, str]]:
        draft = dict(payload or {})
        extended = {p["id"]: p["value"] for p in draft.get("singleValueExtendedProperties", [])}
        item = Item(id=self._new_id("Draft"), mailbox=mailbox, folder="drafts", subject=draft.get("subject", ""),
                    body=draft.get("body", {}).get("content", ""), sender=mailbox, sender_name="",
                    internet_message_id="", received_at=datetime.now(UTC), extended=extended, draft=draft,
                    change=next(self._change))
        self.items[item.id] = item
        return 201, {"id": item.id, "subject": item.subject, "isDraft": True}, {}

    def _add_attachment(self, mailbox: str, rest: list[str], *, payload: Any,
                        **_: Any) -> tuple[int, Any, dict[str, str]]:
        item = self._item(mailbox, rest[1])
        data = base64.b64decode(payload["contentBytes"])
        if len(data) >= 3 * 1024 * 1024:
            raise _Answer(413, "ErrorRequestEntityTooLarge", "Attachments of 3 MB or more need an upload session.")
        attached = Attached(self._new_id("Att"), payload["name"], payload.get("contentType", ""), data)
        item.attachments.append(attached)
        return 201, {"id": attached.id, "name": attached.name, "size": len(data)}, {}

    def _create_upload(self, mailbox: str, rest: list[str], *, payload: Any,
                       **_: Any) -> tuple[int, Any, dict[str, str]]:
        item = self._item(mailbox, rest[1])
        spec = (payload or {}).get("AttachmentItem", {})
        if spec.get("attachmentType") != "file" or int(spec.get("size", 0)) < 1:
            raise _Answer(400, "ErrorInvalidRequest", "AttachmentItem needs attachmentType file and a size.")
        session = self._new_id("Upload")
        upload = Upload(item.id, mailbox, spec["name"], spec.get("contentType", "application/octet-stream"),
                        int(spec["size"]), token=hashlib.sha256(session.encode()).hexdigest()[:24])
        self.uploads[session] = upload
        url = f"{self.origin}/upload/{quote(session)}?authtoken={upload.token}"
        return 201, {"uploadUrl": url, "expirationDateTime": _iso(datetime.now(UTC) + timedelta(hours=1)),
                     "nextExpectedRanges": ["0-"]}, {}

    def _upload_piece(self, session: str, query: dict[str, str], headers: dict[str, str],
                      body: bytes) -> tuple[int, Any, dict[str, str]]:
        upload = self.uploads.get(unquote(session))
        if upload is None or query.get("authtoken") != upload.token:
            return _error(404, "ErrorItemNotFound", "The upload session was not found or its token is wrong.")
        if headers.get("authorization"):
            return _error(400, "ErrorInvalidRequest", "The upload URL is pre-authenticated: send no Authorization.")
        found = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", headers.get("content-range", ""))
        if found is None:
            return _error(400, "ErrorInvalidRequest", "Content-Range is required: bytes {start}-{end}/{total}.")
        start, end, total = (int(g) for g in found.groups())
        if total != upload.size or start != len(upload.data) or end - start + 1 != len(body):
            return 416, {"error": {"code": "InvalidRange", "message": "The range is not the one expected."},
                         "nextExpectedRanges": [f"{len(upload.data)}-"]}, {}
        if len(body) > MAX_UPLOAD_PIECE:
            return _error(413, "ErrorRequestEntityTooLarge", "Upload at most 4 MB in one PUT.")
        upload.data.extend(body)
        if len(upload.data) < upload.size:
            return 200, {"expirationDateTime": _iso(datetime.now(UTC) + timedelta(hours=1)),
                         "nextExpectedRanges": [f"{len(upload.data)}-"]}, {}
        item = self.items[upload.item_id]
        attached = Attached(self._new_id("Att"), upload.name, upload.content_type, bytes(upload.data))
        item.attachments.append(attached)
        del self.uploads[unquote(session)]
        location = f"{self.graph_base}/users/{quote(upload.mailbox)}/messages/{item.id}/attachments/{attached.id}"
        return 201, None, {"Location": location}

    def _send_draft(self, mailbox: str, rest: list[str], **_: Any) -> tuple[int, Any, dict[str, str]]:
        item = self._item(mailbox, rest[1])
        if item.folder != "drafts":
            raise _Answer(400, "ErrorInvalidOperation", "Only a draft can be sent.")
        self._refused(item.draft)
        self.sent.append(Delivered(mailbox, item.draft, [(a.name, a.content_type, a.data) for a in item.attachments],
                                   item.extended.get("Boolean 0x0E01") != "true", "draft"))
        if item.extended.get("Boolean 0x0E01") == "true":
            self._remove(item)
        return 202, None, {}

    def _remove(self, item: Item) -> None:
        del self.items[item.id]
        self._removed.append((item.mailbox.casefold(), item.folder, item.id, next(self._change)))

    def _delete_message(self, mailbox: str, rest: list[str], **_: Any) -> tuple[int, Any, dict[str, str]]:
        self._remove(self._item(mailbox, rest[1]))
        return 204, None, {}

    def _list_drafts(self, mailbox: str, rest: list[str], *, query: dict[str, str],
                     **_: Any) -> tuple[int, Any, dict[str, str]]:
        prop, value = self._property_filter(query)
        found = [i for i in self.items.values() if i.mailbox.casefold() == mailbox.casefold()
                 and i.folder == "drafts" and i.extended.get(prop) == value]
        return 200, {"value": [{"id": i.id} for i in found]}, {}

    @staticmethod
    def _property_filter(query: dict[str, str]) -> tuple[str, str]:
        found = _PROPERTY_FILTER.match(query.get("$filter", ""))
        if found is None:
            raise _Answer(400, "ErrorInvalidUrlQueryFilter", "The filter is not one this endpoint understands.")
        return _odata(found.group(1)), _odata(found.group(2))

    # --- Graph: the calendar --------------------------------------------------------------------------------

    def _when(self, value: Any) -> tuple[datetime, str]:
        zone = ZONES.get(str((value or {}).get("timeZone")))
        if zone is None:
            raise _Answer(400, "TimeZoneNotSupportedException", f"A valid TimeZone value must be specified: "
                                                                 f"{(value or {}).get('timeZone')!r}.")
        wall = datetime.fromisoformat(str(value["dateTime"]).split(".")[0])
        if wall.tzinfo is not None:
            raise _Answer(400, "ErrorInvalidRequest", "dateTime is a wall time: no offset.")
        return wall.replace(tzinfo=ZoneInfo(zone)), str(value["timeZone"])

    def _event_json(self, event: Event, headers: dict[str, str]) -> dict[str, Any]:
        wanted = re.search(r'outlook\.timezone="([^"]+)"', headers.get("prefer", ""))
        zone = wanted.group(1) if wanted and wanted.group(1) in ZONES else "UTC"

        def wall(moment: datetime) -> dict[str, str]:
            local = moment.astimezone(ZoneInfo(ZONES[zone]))
            return {"dateTime": local.replace(tzinfo=None).isoformat() + ".0000000", "timeZone": zone}

        return {"id": event.id, "changeKey": event.change_key, "transactionId": event.transaction_id,
                "subject": event.subject, "body": {"contentType": "text", "content": event.body},
                "location": {"displayName": event.location}, "start": wall(event.start), "end": wall(event.end),
                "isCancelled": event.cancelled, "organizer": {"emailAddress": {"address": event.mailbox}},
                "attendees": [{"type": "required", "emailAddress": {"address": a},
                               "status": {"response": "none"}} for a in event.attendees]}

    def _invite(self, kind: str, event: Event, to: list[str], body: str | None = None) -> None:
        if to:
            self.invitations.append(Invitation(kind, event.id, event.mailbox, list(to), event.subject, event.start,
                                               event.end, event.location, event.body if body is None else body))

    def _create_event(self, mailbox: str, rest: list[str], *, payload: Any, headers: dict[str, str],
                      **_: Any) -> tuple[int, Any, dict[str, str]]:
        given = payload or {}
        transaction = given.get("transactionId")
        if transaction:
            for event in self.events.values():
                if event.transaction_id == transaction and event.mailbox.casefold() == mailbox.casefold():
                    return 201, self._event_json(event, headers), {}  # the same create again: nothing new
        start, zone = self._when(given.get("start"))
        end, _ = self._when(given.get("end"))
        n = next(self._ids)
        event = Event(id=f"AAMkAGEvent{n:04d}=", mailbox=mailbox, change_key=f"DwAAABYAAA{n:04d}v0",
                      transaction_id=transaction, subject=given.get("subject", ""),
                      body=given.get("body", {}).get("content", ""),
                      location=given.get("location", {}).get("displayName", ""), start=start, end=end, zone=zone,
                      attendees=[a["emailAddress"]["address"] for a in given.get("attendees", [])],
                      extended={p["id"]: p["value"] for p in given.get("singleValueExtendedProperties", [])})
        self.events[event.id] = event
        self._invite("request", event, event.attendees)
        return 201, self._event_json(event, headers), {}

    def _event(self, mailbox: str, event_id: str) -> Event:
        event = self.events.get(event_id)
        if event is None or event.cancelled or event.mailbox.casefold() != mailbox.casefold():
            raise _Answer(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        return event

    def _list_events(self, mailbox: str, rest: list[str], *, query: dict[str, str], headers: dict[str, str],
                     **_: Any) -> tuple[int, Any, dict[str, str]]:
        prop, value = self._property_filter(query)
        found = [e for e in self.events.values() if e.mailbox.casefold() == mailbox.casefold()
                 and not e.cancelled and e.extended.get(prop) == value]
        return 200, {"value": [self._event_json(e, headers) for e in found]}, {}

    def _get_event(self, mailbox: str, rest: list[str], *, headers: dict[str, str],
                   **_: Any) -> tuple[int, Any, dict[str, str]]:
        return 200, self._event_json(self._event(mailbox, rest[1]), headers), {}

    def _patch_event(self, mailbox: str, rest: list[str], *, payload: Any, headers: dict[str, str],
                     **_: Any) -> tuple[int, Any, dict[str, str]]:
        event = self._event(mailbox, rest[1])
        given = payload or {}
        if "transactionId" in given:
            raise _Answer(400, "ErrorInvalidRequest", "transactionId cannot be changed.")
        before = (event.subject, event.body, event.location, event.start, event.end)
        old_attendees = list(event.attendees)
        if "subject" in given:
            event.subject = given["subject"]
        if "body" in given:
            event.body = given["body"].get("content", "")
        if "location" in given:
            event.location = given["location"].get("displayName", "")
        if "start" in given:
            event.start, event.zone = self._when(given["start"])
        if "end" in given:
            event.end, _ = self._when(given["end"])
        if "attendees" in given:
            event.attendees = [a["emailAddress"]["address"] for a in given["attendees"]]
        event.version += 1
        event.change_key = f"{event.change_key.rsplit('v', 1)[0]}v{event.version}"
        # Exchange tells everyone of a change to the meeting itself; attendees added get it, removed ones are told.
        if before != (event.subject, event.body, event.location, event.start, event.end):
            self._invite("update", event, event.attendees)
        else:
            self._invite("request", event, [a for a in event.attendees if a not in old_attendees])
        self._invite("cancellation", event, [a for a in old_attendees if a not in event.attendees])
        return 200, self._event_json(event, headers), {}

    def _cancel_event(self, mailbox: str, rest: list[str], *, payload: Any,
                      **_: Any) -> tuple[int, Any, dict[str, str]]:
        event = self._event(mailbox, rest[1])
        event.cancelled = True
        self._invite("cancellation", event, event.attendees, body=str((payload or {}).get("Comment", "")))
        return 202, None, {}

    # --- Graph: the inbox -----------------------------------------------------------------------------------

    def _message_json(self, item: Item, select: set[str], headers: dict[str, str]) -> dict[str, Any]:
        text = 'outlook.body-content-type="text"' in headers.get("prefer", "")
        full: dict[str, Any] = {
            "id": item.id, "receivedDateTime": _iso(item.received_at), "subject": item.subject,
            "from": {"emailAddress": {"name": item.sender_name, "address": item.sender}},
            "sender": {"emailAddress": {"name": item.sender_name, "address": item.sender}},
            "internetMessageId": item.internet_message_id, "hasAttachments": bool(item.attachments),
            "body": {"contentType": "text", "content": item.body} if text
            else {"contentType": "html", "content": f"<html><body><pre>{item.body}</pre></body></html>"},
            "categories": list(item.categories), "parentFolderId": item.folder,
        }
        if item.kind != "message":
            full["@odata.type"] = f"#microsoft.graph.{item.kind}"
        return {k: v for k, v in full.items() if not select or k in select or k in ("id", "@odata.type")}

    def _delta(self, mailbox: str, rest: list[str], *, query: dict[str, str], headers: dict[str, str],
               **_: Any) -> tuple[int, Any, dict[str, str]]:
        if "$skiptoken" in query:
            state = _unb64(query["$skiptoken"])
        elif "$deltatoken" in query:
            state = {**_unb64(query["$deltatoken"]), "offset": 0, "upto": None}
        else:
            received = query.get("$filter", "")
            found = _RECEIVED_FILTER.match(received) if received else None
            if received and found is None:
                raise _Answer(400, "ErrorInvalidUrlQueryFilter", "Only receivedDateTime ge/gt can filter a delta.")
            state = {"since": 0, "offset": 0, "upto": None, "select": query.get("$select", ""),
                     "filter": [found.group(1), found.group(2)] if found else None}
        upto = state["upto"] if state["upto"] is not None else next(self._change)
        since = state["since"]
        select = {s for s in state["select"].split(",") if s}
        entries: list[dict[str, Any]] = []
        for item in sorted(self.items.values(), key=lambda i: (i.received_at, i.id)):
            if (item.mailbox.casefold() == mailbox.casefold() and item.folder == "inbox"
                    and since < item.change <= upto and self._received_ok(item, state["filter"])):
                entries.append(self._message_json(item, select, headers))
        for owner, folder, item_id, change in self._removed:
            if owner == mailbox.casefold() and folder == "inbox" and since < change <= upto and since > 0:
                entries.append({"id": item_id, "@removed": {"reason": "deleted"}})
        wanted = re.search(r"odata\.maxpagesize=(\d+)", headers.get("prefer", ""))
        size = int(wanted.group(1)) if wanted else 10
        page = entries[state["offset"]:state["offset"] + size]
        link = f"{self.graph_base}/users/{quote(mailbox, safe='@')}/mailFolders/inbox/messages/delta"
        answer: dict[str, Any] = {"value": page}
        if state["offset"] + size < len(entries):
            answer["@odata.nextLink"] = f"{link}?$skiptoken=" + _b64({**state, "upto": upto,
                                                                        "offset": state["offset"] + size})
        else:
            answer["@odata.deltaLink"] = f"{link}?$deltatoken=" + _b64({"since": upto, "select": state["select"],
                                                                          "filter": state["filter"]})
        return 200, answer, {}

    @staticmethod
    def _received_ok(item: Item, received: list[str] | None) -> bool:
        if not received:
            return True
        bound = datetime.fromisoformat(received[1].replace("Z", "+00:00"))
        return item.received_at >= bound if received[0] == "ge" else item.received_at > bound

    def _get_message(self, mailbox: str, rest: list[str], *, query: dict[str, str], headers: dict[str, str],
                     **_: Any) -> tuple[int, Any, dict[str, str]]:
        select = {s for s in query.get("$select", "").split(",") if s}
        return 200, self._message_json(self._item(mailbox, rest[1]), select, headers), {}

    def _touch(self, item: Item) -> None:
        item.change = next(self._change)

    def _patch_message(self, mailbox: str, rest: list[str], *, payload: Any, headers: dict[str, str],
                       **_: Any) -> tuple[int, Any, dict[str, str]]:
        item = self._item(mailbox, rest[1])
        if set(payload or {}) - {"categories"}:
            raise _Answer(400, "ErrorInvalidRequest", "This endpoint only changes categories.")
        item.categories = list(payload["categories"])
        self._touch(item)
        return 200, self._message_json(item, set(), headers), {}

    def _list_attachments(self, mailbox: str, rest: list[str], *, query: dict[str, str],
                          **_: Any) -> tuple[int, Any, dict[str, str]]:
        item = self._item(mailbox, rest[1])
        select = {s for s in query.get("$select", "").split(",") if s}
        value = []
        for a in item.attachments:
            entry = {"@odata.type": f"#microsoft.graph.{a.kind}Attachment", "id": a.id, "name": a.name,
                     "contentType": a.content_type, "size": len(a.data), "isInline": a.is_inline}
            if a.kind == "file" and (not select or "contentBytes" in select):
                entry["contentBytes"] = base64.b64encode(a.data).decode()
            value.append(entry)
        return 200, {"value": value}, {}

    def _attachment_value(self, mailbox: str, rest: list[str], **_: Any) -> tuple[int, Any, dict[str, str]]:
        item = self._item(mailbox, rest[1])
        for a in item.attachments:
            if a.id == rest[3] and a.kind == "file":
                return 200, a.data, {"Content-Type": "application/octet-stream"}
        raise _Answer(404, "ErrorItemNotFound", "The attachment was not found.")

    def _child_folders(self, mailbox: str, rest: list[str], *, query: dict[str, str],
                       **_: Any) -> tuple[int, Any, dict[str, str]]:
        found = _NAME_FILTER.match(query.get("$filter", ""))
        if found is None:
            raise _Answer(400, "ErrorInvalidUrlQueryFilter", "Filter child folders by displayName eq.")
        name = _odata(found.group(1))
        folder = self.folders.get((mailbox.casefold(), name))
        return 200, {"value": [] if folder is None else [{"id": folder, "displayName": name}]}, {}

    def _create_folder(self, mailbox: str, rest: list[str], *, payload: Any,
                       **_: Any) -> tuple[int, Any, dict[str, str]]:
        name = (payload or {}).get("displayName", "")
        if (mailbox.casefold(), name) in self.folders:
            raise _Answer(409, "ErrorFolderExists", "A folder with the specified name already exists.")
        folder = self._new_id("Folder")
        self.folders[(mailbox.casefold(), name)] = folder
        return 201, {"id": folder, "displayName": name}, {}

    def _move(self, mailbox: str, rest: list[str], *, payload: Any, headers: dict[str, str],
              **_: Any) -> tuple[int, Any, dict[str, str]]:
        item = self._item(mailbox, rest[1])
        destination = (payload or {}).get("destinationId", "")
        if destination not in self.folders.values():
            raise _Answer(404, "ErrorItemNotFound", "The destination folder was not found.")
        self._removed.append((item.mailbox.casefold(), item.folder, item.id, next(self._change)))
        item.folder = destination
        self._touch(item)
        return 201, self._message_json(item, set(), headers), {}

    # --- HTTP -----------------------------------------------------------------------------------------------

    def _enter(self, mailbox: str | None) -> bool:
        """Take one of the mailbox's request slots; False if all four are taken."""
        if mailbox is None:
            return True
        with self._slots_lock:
            busy = self._in_flight.get(mailbox, 0)
            if busy >= MAX_CONCURRENT:
                return False
            self._in_flight[mailbox] = busy + 1
            self.max_in_flight[mailbox] = max(self.max_in_flight.get(mailbox, 0), busy + 1)
            return True

    def _leave(self, mailbox: str | None) -> None:
        if mailbox is not None:
            with self._slots_lock:
                self._in_flight[mailbox] -= 1

    def _mailbox_of(self, path: str) -> str | None:
        parts = path.split("/")
        if path.startswith("/upload/"):
            upload = self.uploads.get(unquote(parts[2]))
            return None if upload is None else upload.mailbox.casefold()
        return unquote(parts[3]).casefold() if len(parts) > 3 and parts[1:3] == ["v1.0", "users"] else None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
                """Keep the test output quiet."""

            def do_GET(self) -> None:  # noqa: N802 - stdlib hook name
                """Answer a GET."""
                self._handle("GET")

            def do_POST(self) -> None:  # noqa: N802 - stdlib hook name
                """Answer a POST."""
                self._handle("POST")

            def do_PATCH(self) -> None:  # noqa: N802 - stdlib hook name
                """Answer a PATCH."""
                self._handle("PATCH")

            def do_PUT(self) -> None:  # noqa: N802 - stdlib hook name
                """Answer a PUT."""
                self._handle("PUT")

            def do_DELETE(self) -> None:  # noqa: N802 - stdlib hook name
                """Answer a DELETE."""
                self._handle("DELETE")

            def _handle(self, method: str) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                parts = urlsplit(self.path)
                path = parts.path
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                headers = {k.lower(): v for k, v in self.headers.items()}
                mailbox = server._mailbox_of(path) if path.startswith(("/v1.0/", "/upload/")) else None
                with server._lock:
                    server.seen.append(Seen(method, path, query, headers.get("authorization"), headers.get("prefer"),
                                            mailbox))
                if not server._enter(mailbox):
                    status, payload, extra = _error(429, "ApplicationThrottled",
                                                    "MailboxConcurrency: too many concurrent requests")
                    self._answer(status, payload, {**extra, "Retry-After": "1"})
                    return
                try:
                    if server.script.delay and mailbox is not None:
                        time.sleep(server.script.delay)
                    status, payload, extra = self._work(method, path, query, headers, body, mailbox)
                finally:
                    server._leave(mailbox)
                lose = server.script.lose_answer
                if lose is not None and 200 <= status < 300 and lose(method, path):
                    server.script.lose_answer = None
                    self.close_connection = True  # done, but the answer never comes
                    return
                hold = server.script.hold
                if hold is not None and 200 <= status < 300 and hold(method, path, _json_or_none(body)):
                    server.holding = f"{method} {path}"
                    while server.script.hold is not None:
                        time.sleep(0.05)
                    server.holding = None
                self._answer(status, payload, extra)

            def _work(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes,
                      mailbox: str | None) -> tuple[int, Any, dict[str, str]]:
                with server._lock:
                    tenant = path.split("/")[1] if path.count("/") >= 1 else ""
                    if method == "GET" and path == f"/{tenant}/v2.0/.well-known/openid-configuration":
                        return server._discovery(tenant)
                    if method == "POST" and path == f"/{TENANT}/oauth2/v2.0/token":
                        return server._token({k: v[0] for k, v in parse_qs(body.decode()).items()})
                    if not path.startswith(("/v1.0/", "/upload/")):
                        return _error(404, "ResourceNotFound")
                    if server.script.busy:
                        return 503, {"error": {"code": "ServiceUnavailable", "message": "busy"}}, \
                            {"Retry-After": "120"}
                    if server.script.throttle:
                        status, retry_after = server.script.throttle.pop(0)
                        return status, {"error": {"code": "ApplicationThrottled", "message": "Too many requests."}}, \
                            ({} if retry_after is None else {"Retry-After": retry_after})
                    return server._graph(method, path, query, headers, body)

            def _answer(self, status: int, payload: Any, extra: dict[str, str]) -> None:
                if isinstance(payload, bytes):
                    data, kind = payload, extra.pop("Content-Type", "application/octet-stream")
                else:
                    data, kind = (b"" if payload is None else json.dumps(payload).encode()), "application/json"
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler


class _TlsServer(ThreadingHTTPServer):
    """A threading HTTP server whose connections speak TLS; each handshake is done in its connection's thread."""

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler],
                 context: ssl.SSLContext) -> None:
        super().__init__(address, handler)
        self.context = context

    def get_request(self) -> tuple[Any, Any]:
        """Accept a connection and wrap it in TLS without handshaking yet."""
        sock, address = super().get_request()
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Do the TLS handshake, then serve the connection."""
        try:
            request.do_handshake()
        except (ssl.SSLError, OSError):
            return
        super().finish_request(request, client_address)


@pytest.fixture
def graph_server() -> Iterator[GraphServer]:
    """Run the local Graph endpoint and authority for a test."""
    with GraphServer() as server:
        yield server
