"""A local EWS endpoint that speaks enough SOAP for the real exchangelib client to send mail through it.

It answers CreateItem (and an OAuth2 client-credentials token request), records what each request asked for,
and can be told to be busy, to refuse a recipient inside a bulk request, or to refuse every login.
It also keeps one calendar and an inbox (a message can be put in one mailbox's inbox only): CreateItem of a
CalendarItem (a meeting request) or of a CancelCalendarItem, UpdateItem of a calendar item or of a message's
categories, FindItem (inbox or calendar, with paging, sorting and a simple restriction), GetItem, GetAttachment,
and the inbox's child folders: FindFolder by display name, GetFolder, CreateFolder and MoveItem into one.
Any other operation is recorded and answered with a SOAP fault, so a test sees an unexpected request at once.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import pytest
from exchangelib.protocol import close_connections

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
    # The request body as sent, to assert on the exact SOAP XML.
    body: bytes = b""


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

    # Back-off (milliseconds) of each ErrorServerBusy fault still to give, one per SOAP request.
    busy: list[int] = field(default_factory=list)
    # Recipient address -> EWS response code given for any item addressed to it.
    refuse: dict[str, str] = field(default_factory=dict)
    # EWS response code given for every item, whoever it is addressed to.
    item_error: str | None = None
    refuse_logins: bool = False
    # How the next meeting CreateItem is answered after the meeting was created and its invitations sent:
    # "no item id" (a success without the item), "garbled" (not XML) or "dropped" (the connection is closed).
    lost_meeting_answer: str | None = None


@dataclass
class CalendarEntry:
    """A calendar item in the shared mailbox's calendar, as the meeting requests left it."""

    item_id: str
    changekey: str
    organizer: str | None
    subject: str
    body: str
    location: str
    start: str
    end: str
    start_timezone: str | None
    end_timezone: str | None
    attendees: list[str]
    extended: dict[str, str]
    cancelled: bool = False
    version: int = 0


@dataclass
class MeetingMail:
    """A meeting message the server sent to attendees: a request, an update or a cancellation."""

    kind: str
    item_id: str
    mode: str
    organizer: str | None
    to: list[str]
    subject: str
    start: str
    end: str
    location: str
    body: str


@dataclass
class InboxAttachment:
    """A file attached to a message in the inbox."""

    attachment_id: str
    name: str
    content_type: str
    data: bytes
    is_inline: bool = False


@dataclass
class InboxItem:
    """A message (or other item) in the shared mailbox's inbox."""

    item_id: str
    changekey: str
    kind: str
    received_at: datetime
    subject: str
    sender: str
    sender_name: str
    body: str
    internet_message_id: str
    attachments: list[InboxAttachment]
    # The shared mailbox whose inbox holds it; None: every mailbox's inbox shows it.
    mailbox: str | None = None
    categories: list[str] = field(default_factory=list)
    # "inbox", or the id of the child folder it was moved to.
    folder: str = "inbox"


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


def _success(operation: str, inner: str) -> str:
    return (f'<m:{operation}ResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>'
            f"{inner}</m:{operation}ResponseMessage>")


def _error(operation: str, code: str, inner: str = "") -> str:
    return (f'<m:{operation}ResponseMessage ResponseClass="Error"><m:MessageText>{code} for this item</m:MessageText>'
            f"<m:ResponseCode>{code}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>{inner}"
            f"</m:{operation}ResponseMessage>")


def _response(operation: str, messages: Sequence[str]) -> bytes:
    return _envelope(
        f'<m:{operation}Response xmlns:m="{M}" xmlns:t="{T}"><m:ResponseMessages>{"".join(messages)}'
        f"</m:ResponseMessages></m:{operation}Response>"
    )


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _mailbox_xml(tag: str, address: str, name: str = "") -> str:
    return (f"<t:{tag}><t:Mailbox><t:Name>{escape(name or address)}</t:Name><t:EmailAddress>{escape(address)}"
            "</t:EmailAddress><t:RoutingType>SMTP</t:RoutingType><t:MailboxType>OneOff</t:MailboxType></t:Mailbox>"
            f"</t:{tag}>")


def _extended_name(uri: ET.Element) -> str:
    return uri.get("PropertyName") or uri.get("PropertyTag") or uri.get("PropertyId") or ""


class EwsServer:
    """Serve EWS on 127.0.0.1 in a thread; `sent` holds every message accepted, `seen` every request."""

    def __init__(self, *, username: str = "svc-send", password: str = "demo-secret", token: str = "demo-token",
                 client_id: str = "demo-client", client_secret: str = "demo-client-secret") -> None:
        self.username, self.password = username, password
        self.token, self.client_id, self.client_secret = token, client_id, client_secret
        self.script = Script()
        self.seen: list[Seen] = []
        self.sent: list[SentItem] = []
        # The shared mailbox's calendar (by item id), the meeting mail it sent, and its inbox.
        self.calendar: dict[str, CalendarEntry] = {}
        self.meeting_mail: list[MeetingMail] = []
        self.inbox: list[InboxItem] = []
        # The inbox's child folders: (mailbox, display name) -> folder id.
        self.folders: dict[tuple[str, str], str] = {}
        self._ids = itertools.count(1)
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

    def requests(self, operation: str) -> list[str]:
        """Return the SOAP bodies of the requests for `operation` so far, as text."""
        with self._lock:
            return [seen.body.decode() for seen in self.seen if seen.operation == operation]

    def deliver(
        self,
        *,
        subject: str,
        sender: str,
        body: str,
        received_at: datetime,
        sender_name: str = "",
        internet_message_id: str | None = None,
        attachments: Sequence[tuple[str, str, bytes] | tuple[str, str, bytes, bool]] = (),
        kind: str = "Message",
        mailbox: str | None = None,
    ) -> InboxItem:
        """Put a message into the inbox (of `mailbox` only, if given) as if just received; attachments are
        (name, type, data, and optionally is_inline)."""
        with self._lock:
            n = next(self._ids)
            item = InboxItem(
                item_id=f"AAMkInbox{n:04d}=",
                changekey=f"CQAAABYAAAInbox{n:04d}",
                kind=kind,
                received_at=received_at.astimezone(UTC),
                subject=subject,
                sender=sender,
                sender_name=sender_name,
                body=body,
                internet_message_id=internet_message_id or f"<msg-{n}@inspectors.demo-county.example>",
                attachments=[InboxAttachment(f"AAMkAttach{n:04d}-{i}=", *attachment)
                             for i, attachment in enumerate(attachments)],
                mailbox=mailbox,
            )
            self.inbox.append(item)
            return item

    def touch(self, item_id: str) -> str:
        """Change a calendar item as a person in Outlook would (a new change key); return the new change key."""
        with self._lock:
            entry = self.calendar[item_id]
            entry.version += 1
            entry.changekey = f"DwAAABYAAA{item_id[-6:-1]}v{entry.version}"
            return entry.changekey

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
        name = "" if operation is None else operation.tag.split("}")[-1]
        handlers = {
            "CreateItem": self._create_item,
            "UpdateItem": self._update_item,
            "FindItem": self._find_item,
            "GetItem": self._get_item,
            "GetAttachment": self._get_attachment,
            "FindFolder": self._find_folder,
            "GetFolder": self._get_folder,
            "CreateFolder": self._create_folder,
            "MoveItem": self._move_item,
        }
        if operation is None or name not in handlers or operation.tag != f"{{{M}}}{name}":
            return 500, _fault("ErrorInvalidRequest", f"This test server only answers {', '.join(handlers)}")
        if self.script.busy:
            back_off = self.script.busy.pop(0)
            return 500, _fault("ErrorServerBusy", "The server cannot service this request right now.",
                               back_off_ms=back_off)
        impersonated = root.find(f"{{{SOAP}}}Header/{{{T}}}ExchangeImpersonation/{{{T}}}ConnectingSID/"
                                 f"{{{T}}}PrimarySmtpAddress")
        acting = anchor if impersonated is None else _text(impersonated)
        return handlers[name](operation, anchor=anchor, impersonated=None if impersonated is None
                              else _text(impersonated), acting=acting)

    def _create_item(self, operation: ET.Element, *, anchor: str | None, impersonated: str | None,
                     acting: str | None) -> tuple[int, bytes]:
        items = operation.find(f"{{{M}}}Items")
        children = [] if items is None else list(items)
        if children and children[0].tag == f"{{{T}}}CalendarItem":
            return self._create_meetings(operation, children, acting=acting)
        if children and children[0].tag == f"{{{T}}}CancelCalendarItem":
            return self._cancel_meetings(children)
        disposition = operation.get("MessageDisposition", "")
        outcomes: list[str | None] = []
        for item in children:
            parsed = _parse_item(item, disposition=disposition, anchor=anchor, impersonated=impersonated)
            refused = [self.script.refuse[a] for a in (*parsed.to, *parsed.cc, *parsed.bcc) if a in self.script.refuse]
            if self.script.item_error:
                refused.insert(0, self.script.item_error)
            if refused:
                outcomes.append(refused[0])
            else:
                self.sent.append(parsed)
                outcomes.append(None)
        return 200, _create_item_response(outcomes)

    # --- calendar -------------------------------------------------------------------------------------------

    def _new_ids(self, prefix: str) -> tuple[str, str]:
        n = next(self._ids)
        return f"AAMk{prefix}{n:04d}=", f"DwAAABYAAA{n:04d}=v0"

    def _create_meetings(self, operation: ET.Element, items: list[ET.Element], *,
                         acting: str | None) -> tuple[int, bytes]:
        mode = operation.get("SendMeetingInvitations", "")
        folder_mailbox = operation.find(f"{{{M}}}SavedItemFolderId/{{{T}}}DistinguishedFolderId/{{{T}}}Mailbox/"
                                        f"{{{T}}}EmailAddress")
        # Exchange makes the owner of the calendar the item is saved in the organiser.
        organizer = acting if folder_mailbox is None else _text(folder_mailbox)
        messages = []
        for item in items:
            item_id, changekey = self._new_ids("Cal")
            start_tz = item.find(f"{{{T}}}StartTimeZone")
            end_tz = item.find(f"{{{T}}}EndTimeZone")
            entry = CalendarEntry(
                item_id=item_id,
                changekey=changekey,
                organizer=organizer,
                subject=_text(item.find(f"{{{T}}}Subject")),
                body=_text(item.find(f"{{{T}}}Body")),
                location=_text(item.find(f"{{{T}}}Location")),
                start=_text(item.find(f"{{{T}}}Start")),
                end=_text(item.find(f"{{{T}}}End")),
                start_timezone=None if start_tz is None else start_tz.get("Id"),
                end_timezone=None if end_tz is None else end_tz.get("Id"),
                attendees=[_text(a) for a in item.findall(f"{{{T}}}RequiredAttendees/{{{T}}}Attendee/{{{T}}}Mailbox/"
                                                          f"{{{T}}}EmailAddress")],
                extended=self._extended(item),
            )
            if self.script.item_error:
                messages.append(_error("CreateItem", self.script.item_error, "<m:Items/>"))
                continue
            self.calendar[item_id] = entry
            if mode != "SendToNone":
                self._notify("request", entry, mode=mode, to=entry.attendees)
            messages.append(_success("CreateItem", f'<m:Items><t:CalendarItem><t:ItemId Id="{item_id}" '
                                                   f'ChangeKey="{changekey}"/></t:CalendarItem></m:Items>'))
        lost, self.script.lost_meeting_answer = self.script.lost_meeting_answer, None
        if lost == "no item id":
            return 200, _response("CreateItem", [_success("CreateItem", "<m:Items/>")])
        if lost == "garbled":
            return 200, b"<?xml version='1.0'?><s:Envelope><s:Body><m:CreateItemResp"
        if lost == "dropped":
            return 0, b""
        return 200, _response("CreateItem", messages)

    def _extended(self, item: ET.Element) -> dict[str, str]:
        values = {}
        for prop in item.findall(f"{{{T}}}ExtendedProperty"):
            uri = prop.find(f"{{{T}}}ExtendedFieldURI")
            if uri is not None:
                values[_extended_name(uri)] = _text(prop.find(f"{{{T}}}Value"))
        return values

    def _notify(self, kind: str, entry: CalendarEntry, *, mode: str, to: list[str], body: str | None = None) -> None:
        self.meeting_mail.append(MeetingMail(kind=kind, item_id=entry.item_id, mode=mode, organizer=entry.organizer,
                                             to=list(to), subject=entry.subject, start=entry.start, end=entry.end,
                                             location=entry.location, body=entry.body if body is None else body))

    def _bump(self, entry: CalendarEntry) -> None:
        entry.version += 1
        entry.changekey = f"{entry.changekey.rsplit('v', 1)[0]}v{entry.version}"

    def _cancel_meetings(self, items: list[ET.Element]) -> tuple[int, bytes]:
        messages = []
        for item in items:
            ref = item.find(f"{{{T}}}ReferenceItemId")
            entry = None if ref is None else self.calendar.get(ref.get("Id", ""))
            if entry is None or entry.cancelled:
                messages.append(_error("CreateItem", "ErrorItemNotFound", "<m:Items/>"))
                continue
            if ref is not None and ref.get("ChangeKey") and ref.get("ChangeKey") != entry.changekey:
                messages.append(_error("CreateItem", "ErrorStaleObject", "<m:Items/>"))
                continue
            entry.cancelled = True
            self._bump(entry)
            self._notify("cancellation", entry, mode="SendToAllAndSaveCopy", to=entry.attendees,
                         body=_text(item.find(f"{{{T}}}NewBodyContent")))
            messages.append(_success("CreateItem", "<m:Items/>"))
        return 200, _response("CreateItem", messages)

    def _update_item(self, operation: ET.Element, *, anchor: str | None, impersonated: str | None,
                     acting: str | None) -> tuple[int, bytes]:
        mode = operation.get("SendMeetingInvitationsOrCancellations", "")
        resolution = operation.get("ConflictResolution", "")
        messages = []
        for change in operation.findall(f"{{{M}}}ItemChanges/{{{T}}}ItemChange"):
            ref = change.find(f"{{{T}}}ItemId")
            message = self._find_by_id("" if ref is None else ref.get("Id", ""))
            if isinstance(message, InboxItem):
                messages.append(self._update_message(message, change))
                continue
            entry = None if ref is None else self.calendar.get(ref.get("Id", ""))
            if entry is None or entry.cancelled:
                messages.append(_error("UpdateItem", "ErrorItemNotFound", "<m:Items/>"))
                continue
            if ref is not None and ref.get("ChangeKey") != entry.changekey and resolution != "AlwaysOverwrite":
                messages.append(_error("UpdateItem", "ErrorIrresolvableConflict", "<m:Items/>"))
                continue
            before = (entry.start, entry.end, entry.location)
            old_attendees = list(entry.attendees)
            for update in change.findall(f"{{{T}}}Updates/*"):
                values = update.find(f"{{{T}}}CalendarItem")
                uri = update.find(f"{{{T}}}FieldURI")
                name = "" if uri is None else uri.get("FieldURI", "").split(":")[-1]
                value = None if values is None or not len(values) else values[0]
                self._apply(entry, name, value, deleted=update.tag == f"{{{T}}}DeleteItemField")
            self._bump(entry)
            if mode not in ("", "SendToNone"):
                moved = before != (entry.start, entry.end, entry.location)
                if mode.startswith("SendToChanged") and not moved:
                    to = [a for a in entry.attendees if a not in old_attendees]
                else:
                    to = list(entry.attendees)
                removed = [a for a in old_attendees if a not in entry.attendees]
                if to:
                    self._notify("update", entry, mode=mode, to=to)
                if removed:
                    self._notify("cancellation", entry, mode=mode, to=removed)
            messages.append(_success("UpdateItem", f'<m:Items><t:CalendarItem><t:ItemId Id="{entry.item_id}" '
                                                   f'ChangeKey="{entry.changekey}"/></t:CalendarItem></m:Items>'
                                                   "<m:ConflictResults><t:Count>0</t:Count></m:ConflictResults>"))
        return 200, _response("UpdateItem", messages)

    def _update_message(self, item: InboxItem, change: ET.Element) -> str:
        """Change a message's categories (the only field of a message this endpoint changes)."""
        for update in change.findall(f"{{{T}}}Updates/*"):
            uri = update.find(f"{{{T}}}FieldURI")
            if uri is None or uri.get("FieldURI") != "item:Categories":
                return _error("UpdateItem", "ErrorInvalidPropertySet", "<m:Items/>")
            deleted = update.tag == f"{{{T}}}DeleteItemField"
            item.categories = [] if deleted else [
                _text(value) for value in update.findall(f"{{{T}}}Message/{{{T}}}Categories/{{{T}}}String")]
        n = int(item.changekey.rsplit("v", 1)[1]) + 1 if "v" in item.changekey[-4:] else 1
        item.changekey = f"{item.changekey.rsplit('v', 1)[0]}v{n}"
        return _success("UpdateItem", f'<m:Items><t:Message><t:ItemId Id="{item.item_id}" '
                                      f'ChangeKey="{item.changekey}"/></t:Message></m:Items>'
                                      "<m:ConflictResults><t:Count>0</t:Count></m:ConflictResults>")

    # --- the inbox's child folders --------------------------------------------------------------------------

    def _parent_mailbox(self, operation: ET.Element, path: str) -> str | None:
        parent = operation.find(f"{{{M}}}{path}/{{{T}}}DistinguishedFolderId")
        if parent is None or parent.get("Id") != "inbox":
            return None
        return _text(parent.find(f"{{{T}}}Mailbox/{{{T}}}EmailAddress")).casefold()

    def _find_folder(self, operation: ET.Element, **_: str | None) -> tuple[int, bytes]:
        owner = self._parent_mailbox(operation, "ParentFolderIds")
        if owner is None:
            return 200, _response("FindFolder", [_error("FindFolder", "ErrorFolderNotFound")])
        wanted = operation.find(f".//{{{T}}}FieldURIOrConstant/{{{T}}}Constant")
        name = None if wanted is None else wanted.get("Value")
        found = [(n, folder_id) for (mailbox, n), folder_id in self.folders.items()
                 if mailbox == owner and (name is None or n.casefold() == name.casefold())]
        folders = "".join(f'<t:Folder><t:FolderId Id="{folder_id}" ChangeKey="AQAAAA{folder_id[-6:]}"/>'
                          f"<t:DisplayName>{escape(n)}</t:DisplayName><t:FolderClass>IPF.Note</t:FolderClass>"
                          "</t:Folder>" for n, folder_id in found)
        root = (f'<m:RootFolder IndexedPagingOffset="{len(found)}" TotalItemsInView="{len(found)}" '
                f'IncludesLastItemInRange="true"><t:Folders>{folders}</t:Folders></m:RootFolder>')
        return 200, _response("FindFolder", [_success("FindFolder", root)])

    def _get_folder(self, operation: ET.Element, **_: str | None) -> tuple[int, bytes]:
        names = {folder_id: name for (_, name), folder_id in self.folders.items()}
        messages = []
        for ref in operation.findall(f"{{{M}}}FolderIds/{{{T}}}FolderId"):
            folder_id = ref.get("Id", "")
            if folder_id not in names:
                messages.append(_error("GetFolder", "ErrorFolderNotFound", "<m:Folders/>"))
                continue
            messages.append(_success("GetFolder", f'<m:Folders><t:Folder><t:FolderId Id="{folder_id}" '
                                                  f'ChangeKey="AQAAAA{folder_id[-6:]}"/><t:FolderClass>IPF.Note'
                                                  f"</t:FolderClass><t:DisplayName>{escape(names[folder_id])}"
                                                  "</t:DisplayName></t:Folder></m:Folders>"))
        return 200, _response("GetFolder", messages)

    def _create_folder(self, operation: ET.Element, **_: str | None) -> tuple[int, bytes]:
        owner = self._parent_mailbox(operation, "ParentFolderId")
        name = _text(operation.find(f"{{{M}}}Folders/{{{T}}}Folder/{{{T}}}DisplayName"))
        if owner is None or not name:
            return 200, _response("CreateFolder", [_error("CreateFolder", "ErrorInvalidRequest", "<m:Folders/>")])
        if (owner, name) in self.folders:
            return 200, _response("CreateFolder", [_error("CreateFolder", "ErrorFolderExists", "<m:Folders/>")])
        folder_id = f"AAMkFolder{next(self._ids):04d}="
        self.folders[(owner, name)] = folder_id
        return 200, _response("CreateFolder", [_success(
            "CreateFolder", f'<m:Folders><t:Folder><t:FolderId Id="{folder_id}" ChangeKey="AQAAAA{folder_id[-6:]}"/>'
                            "</t:Folder></m:Folders>")])

    def _move_item(self, operation: ET.Element, **_: str | None) -> tuple[int, bytes]:
        target = operation.find(f"{{{M}}}ToFolderId/{{{T}}}FolderId")
        folder_id = "" if target is None else target.get("Id", "")
        messages = []
        for ref in operation.findall(f"{{{M}}}ItemIds/{{{T}}}ItemId"):
            item = self._find_by_id(ref.get("Id", ""))
            if not isinstance(item, InboxItem) or folder_id not in self.folders.values():
                messages.append(_error("MoveItem", "ErrorItemNotFound", "<m:Items/>"))
                continue
            # Exchange gives a moved item a new id.
            item.item_id = f"AAMkMoved{next(self._ids):04d}="
            item.folder = folder_id
            messages.append(_success("MoveItem", f'<m:Items><t:Message><t:ItemId Id="{item.item_id}" '
                                                 f'ChangeKey="{item.changekey}"/></t:Message></m:Items>'))
        return 200, _response("MoveItem", messages)

    def _apply(self, entry: CalendarEntry, name: str, value: ET.Element | None, *, deleted: bool) -> None:
        text = "" if deleted or value is None else _text(value)
        if name == "RequiredAttendees":
            entry.attendees = [] if deleted or value is None else [
                _text(a) for a in value.findall(f"{{{T}}}Attendee/{{{T}}}Mailbox/{{{T}}}EmailAddress")]
        elif name in ("StartTimeZone", "EndTimeZone"):
            setattr(entry, "start_timezone" if name == "StartTimeZone" else "end_timezone",
                    None if value is None else value.get("Id"))
        elif name in ("Subject", "Body", "Location", "Start", "End"):
            setattr(entry, name.lower(), text)

    # --- finding and reading items -------------------------------------------------------------------------

    def _folder_items(self, operation: ET.Element) -> tuple[str, list[InboxItem | CalendarEntry]]:
        folder = operation.find(f"{{{M}}}ParentFolderIds/{{{T}}}DistinguishedFolderId")
        name = "" if folder is None else folder.get("Id", "")
        if name == "inbox":
            owner = _text(folder.find(f"{{{T}}}Mailbox/{{{T}}}EmailAddress")).casefold() if folder is not None else ""
            return name, [item for item in self.inbox if item.folder == "inbox"
                          and (item.mailbox is None or item.mailbox.casefold() == owner)]
        if name == "calendar":
            return name, [entry for entry in self.calendar.values() if not entry.cancelled]
        return name, []

    def _value(self, item: InboxItem | CalendarEntry, uri: ET.Element) -> str | datetime | None:
        if uri.tag == f"{{{T}}}ExtendedFieldURI":
            return item.extended.get(_extended_name(uri)) if isinstance(item, CalendarEntry) else None
        field_uri = uri.get("FieldURI", "")
        if isinstance(item, InboxItem):
            return {"item:DateTimeReceived": item.received_at, "item:Subject": item.subject}.get(field_uri)
        return {"item:Subject": item.subject, "calendar:Start": _parse_time(item.start)}.get(field_uri)

    def _matches(self, item: InboxItem | CalendarEntry, condition: ET.Element) -> bool:
        tag = condition.tag.split("}")[-1]
        if tag == "And":
            return all(self._matches(item, part) for part in condition)
        if tag == "Or":
            return any(self._matches(item, part) for part in condition)
        if tag == "Not":
            return not self._matches(item, condition[0])
        uri = condition[0]
        constant = condition.find(f"{{{T}}}FieldURIOrConstant/{{{T}}}Constant")
        have = self._value(item, uri)
        want: str | datetime = "" if constant is None else constant.get("Value", "")
        if have is None:
            return False
        if isinstance(have, datetime):
            want = _parse_time(str(want))
        compare = {
            "IsEqualTo": lambda a, b: a == b,
            "IsNotEqualTo": lambda a, b: a != b,
            "IsGreaterThan": lambda a, b: a > b,
            "IsGreaterThanOrEqualTo": lambda a, b: a >= b,
            "IsLessThan": lambda a, b: a < b,
            "IsLessThanOrEqualTo": lambda a, b: a <= b,
        }[tag]
        return bool(compare(have, want))

    def _sort_key(self, uri: ET.Element) -> Callable[[InboxItem | CalendarEntry], str]:
        def key(item: InboxItem | CalendarEntry) -> str:
            value = self._value(item, uri)
            return _utc(value) if isinstance(value, datetime) else str(value or "")

        return key

    def _find_item(self, operation: ET.Element, **_: str | None) -> tuple[int, bytes]:
        folder, items = self._folder_items(operation)
        restriction = operation.find(f"{{{M}}}Restriction")
        if restriction is not None and len(restriction):
            items = [item for item in items if self._matches(item, restriction[0])]
        for order in reversed(operation.findall(f"{{{M}}}SortOrder/{{{T}}}FieldOrder")):
            uri = order.find(f"{{{T}}}FieldURI")
            if uri is not None:
                items.sort(key=self._sort_key(uri), reverse=order.get("Order") == "Descending")
        view = operation.find(f"{{{M}}}IndexedPageItemView")
        offset = 0 if view is None else int(view.get("Offset", "0"))
        limit = len(items) if view is None or view.get("MaxEntriesReturned") is None else int(
            view.get("MaxEntriesReturned", "0"))
        page = items[offset:offset + limit]
        wanted = operation.findall(f"{{{M}}}ItemShape/{{{T}}}AdditionalProperties/*")
        rendered = "".join(self._render(item, wanted) for item in page)
        last = "true" if offset + len(page) >= len(items) else "false"
        root = (f'<m:RootFolder IndexedPagingOffset="{offset + len(page)}" TotalItemsInView="{len(items)}" '
                f'IncludesLastItemInRange="{last}"><t:Items>{rendered}</t:Items></m:RootFolder>')
        if folder not in ("inbox", "calendar"):
            return 200, _response("FindItem", [_error("FindItem", "ErrorFolderNotFound")])
        return 200, _response("FindItem", [_success("FindItem", root)])

    def _find_by_id(self, item_id: str) -> InboxItem | CalendarEntry | None:
        for item in self.inbox:
            if item.item_id == item_id:
                return item
        return self.calendar.get(item_id)

    def _get_item(self, operation: ET.Element, **_: str | None) -> tuple[int, bytes]:
        wanted = operation.findall(f"{{{M}}}ItemShape/{{{T}}}AdditionalProperties/*")
        messages = []
        for ref in operation.findall(f"{{{M}}}ItemIds/{{{T}}}ItemId"):
            item = self._find_by_id(ref.get("Id", ""))
            if item is None or (isinstance(item, CalendarEntry) and item.cancelled):
                messages.append(_error("GetItem", "ErrorItemNotFound", "<m:Items/>"))
            else:
                messages.append(_success("GetItem", f"<m:Items>{self._render(item, wanted)}</m:Items>"))
        return 200, _response("GetItem", messages)

    def _render(self, item: InboxItem | CalendarEntry, wanted: list[ET.Element]) -> str:
        uris = {uri.get("FieldURI", "") for uri in wanted if uri.tag == f"{{{T}}}FieldURI"}
        parts = []
        if isinstance(item, CalendarEntry):
            parts.append(f'<t:ItemId Id="{item.item_id}" ChangeKey="{item.changekey}"/>')
            if "item:Subject" in uris:
                parts.append(f"<t:Subject>{escape(item.subject)}</t:Subject>")
            for uri in wanted:
                if uri.tag == f"{{{T}}}ExtendedFieldURI" and _extended_name(uri) in item.extended:
                    attrs = " ".join(f'{k}="{escape(v)}"' for k, v in uri.attrib.items())
                    parts.append(f"<t:ExtendedProperty><t:ExtendedFieldURI {attrs}/><t:Value>"
                                 f"{escape(item.extended[_extended_name(uri)])}</t:Value></t:ExtendedProperty>")
            # Exchange answers in the request's TimeZoneContext; exchangelib asks for UTC.
            if "calendar:Start" in uris:
                parts.append(f"<t:Start>{_utc(_parse_time(item.start))}</t:Start>")
            if "calendar:End" in uris:
                parts.append(f"<t:End>{_utc(_parse_time(item.end))}</t:End>")
            if "calendar:Location" in uris:
                parts.append(f"<t:Location>{escape(item.location)}</t:Location>")
            if "calendar:RequiredAttendees" in uris and item.attendees:
                attendees = "".join(
                    f"<t:Attendee><t:Mailbox><t:EmailAddress>{escape(a)}</t:EmailAddress></t:Mailbox>"
                    "<t:ResponseType>Unknown</t:ResponseType></t:Attendee>" for a in item.attendees
                )
                parts.append(f"<t:RequiredAttendees>{attendees}</t:RequiredAttendees>")
            if "calendar:Organizer" in uris and item.organizer:
                parts.append(_mailbox_xml("Organizer", item.organizer))
            return f"<t:CalendarItem>{''.join(parts)}</t:CalendarItem>"
        parts.append(f'<t:ItemId Id="{item.item_id}" ChangeKey="{item.changekey}"/>')
        if "item:Subject" in uris:
            parts.append(f"<t:Subject>{escape(item.subject)}</t:Subject>")
        if "item:DateTimeReceived" in uris:
            parts.append(f"<t:DateTimeReceived>{_utc(item.received_at)}</t:DateTimeReceived>")
        if "item:HasAttachments" in uris:
            parts.append(f"<t:HasAttachments>{'true' if item.attachments else 'false'}</t:HasAttachments>")
        if "item:Attachments" in uris and item.attachments:
            files = "".join(
                f'<t:FileAttachment><t:AttachmentId Id="{a.attachment_id}"/><t:Name>{escape(a.name)}</t:Name>'
                f"<t:ContentType>{escape(a.content_type)}</t:ContentType><t:Size>{len(a.data)}</t:Size>"
                f"<t:IsInline>{'true' if a.is_inline else 'false'}</t:IsInline></t:FileAttachment>"
                for a in item.attachments
            )
            parts.append(f"<t:Attachments>{files}</t:Attachments>")
        if "item:Categories" in uris and item.categories:
            strings = "".join(f"<t:String>{escape(c)}</t:String>" for c in item.categories)
            parts.append(f"<t:Categories>{strings}</t:Categories>")
        if "item:TextBody" in uris:
            parts.append(f'<t:TextBody BodyType="Text">{escape(item.body)}</t:TextBody>')
        if "message:Sender" in uris:
            parts.append(_mailbox_xml("Sender", item.sender, item.sender_name))
        if "message:From" in uris:
            parts.append(_mailbox_xml("From", item.sender, item.sender_name))
        if "message:InternetMessageId" in uris:
            parts.append(f"<t:InternetMessageId>{escape(item.internet_message_id)}</t:InternetMessageId>")
        return f"<t:{item.kind}>{''.join(parts)}</t:{item.kind}>"

    def _get_attachment(self, operation: ET.Element, **_: str | None) -> tuple[int, bytes]:
        by_id = {a.attachment_id: a for item in self.inbox for a in item.attachments}
        messages = []
        for ref in operation.findall(f"{{{M}}}AttachmentIds/{{{T}}}AttachmentId"):
            attachment = by_id.get(ref.get("Id", ""))
            if attachment is None:
                messages.append(_error("GetAttachment", "ErrorItemNotFound", "<m:Attachments/>"))
                continue
            content = base64.b64encode(attachment.data).decode()
            messages.append(_success(
                "GetAttachment",
                f'<m:Attachments><t:FileAttachment><t:AttachmentId Id="{attachment.attachment_id}"/>'
                f"<t:Name>{escape(attachment.name)}</t:Name><t:ContentType>{escape(attachment.content_type)}"
                f"</t:ContentType><t:Content>{content}</t:Content></t:FileAttachment></m:Attachments>",
            ))
        return 200, _response("GetAttachment", messages)

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
                    server.seen.append(Seen(self.path, operation, anchor, authorization, data))
                    if self.path != EWS_PATH or root is None:
                        self._answer(404, b"Not found", content_type="text/plain")
                        return
                    if not server._authorized(authorization):
                        self._answer(401, b"401 Unauthorized", content_type="text/plain",
                                     extra={"WWW-Authenticate": 'Basic realm="demo-county.example"'})
                        return
                    status, payload = server._soap(root, anchor=anchor)
                if status == 0:  # the answer is lost: close the connection without one
                    self.close_connection = True
                    return
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


@pytest.fixture
def server() -> Iterator[EwsServer]:
    """Run the local EWS endpoint for a test; drop exchangelib's cached connections to it afterwards."""
    with EwsServer() as ews:
        yield ews
    close_connections()
