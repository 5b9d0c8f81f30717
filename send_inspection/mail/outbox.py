"""The embedded default transport: every message is written as a .eml file in a local folder.

The folder plays the part of a mail server for demos, rehearsals and tests; `list_outbox` and
`read_outbox_message` are the reading side used by the web outbox pages.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import cast

from send_inspection.mail.message import (
    KEY_HEADER,
    Attachment,
    OutgoingMessage,
    all_recipients,
    message_id_for,
    to_email_message,
)
from send_inspection.mail.transport import MailTransportError

# Written only into outbox files, like the Delivered-To/X-Original-To headers a local delivery
# agent adds: the envelope recipients, so the outbox can show who got a message in Bcc.
ENVELOPE_HEADER = "X-Envelope-To"

_ID = re.compile(r"^[0-9a-f]{24}$")
_URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?'\""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def outbox_id_for(key: str) -> str:
    """Return the outbox file id (24 hex digits) of the message sent with idempotency key `key`."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


def link_spans(text: str) -> list[tuple[int, int]]:
    """Return the (start, end) spans of the http(s) URLs in `text`, trimmed of trailing punctuation."""
    spans: list[tuple[int, int]] = []
    for match in _URL.finditer(text):
        start, end = match.span()
        while end > start:
            last = text[end - 1]
            if last in _TRAILING:
                end -= 1
            elif last == ")" and text.count("(", start, end) < text.count(")", start, end):
                end -= 1
            else:
                break
        if text[start:end].rstrip("/").lower() not in {"http:", "https:"}:
            spans.append((start, end))
    return spans


def find_links(text: str) -> list[str]:
    """Return the http(s) URLs in `text`, in order, without trailing punctuation."""
    return [text[start:end] for start, end in link_spans(text)]


class OutboxTransport:
    """Write each message to `folder/<id>.eml`; the same key always maps to the same single file."""

    name = "outbox"

    def __init__(self, folder: Path, *, durable: bool = True) -> None:
        self.folder = Path(folder)
        # Wait for the disk before reporting a message sent; a rehearsal's throwaway outbox need not.
        self.durable = durable

    def path_for(self, key: str) -> Path:
        """Return the file the message with idempotency key `key` is (or would be) written to."""
        return self.folder / f"{outbox_id_for(key)}.eml"

    def send(self, message: OutgoingMessage, *, sent_at: datetime) -> str:
        """Write `message` to the outbox folder unless that key was already sent; return the Message-ID."""
        built = to_email_message(message, sent_at=sent_at)
        message_id = message_id_for(message.key)
        target = self.path_for(message.key)
        if target.exists():
            # Idempotent: the first send is what "was delivered"; a retry must not change it.
            return message_id
        # Folded one address per line: a long Bcc list must not exceed the 998-character line limit.
        envelope = ",\r\n ".join(all_recipients(message))
        data = f"{ENVELOPE_HEADER}: {envelope}\r\n".encode("ascii") + built.as_bytes(
            policy=built.policy.clone(linesep="\r\n")
        )
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, temp_name = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".eml.tmp")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    if self.durable:
                        os.fsync(handle.fileno())
                os.replace(temp_name, target)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp_name)
                raise
        except OSError as exc:
            retryable = not isinstance(exc, PermissionError | NotADirectoryError | FileExistsError)
            raise MailTransportError(
                f"outbox {self.folder}: cannot write message: {exc.strerror or exc}",
                retryable=retryable,
            ) from exc
        return message_id


@dataclass
class OutboxEntry:
    """One message of the outbox as shown in a list."""

    id: str
    subject: str
    sender: str
    to: list[str]
    cc: list[str]
    date: datetime
    key: str


@dataclass(frozen=True)
class OutboxAttachment:
    """An attachment of an outbox message; `index` is its position for download links."""

    index: int
    filename: str
    content_type: str
    size: int


@dataclass
class OutboxMessageView:
    """Everything the outbox message page shows about one message."""

    id: str
    headers: list[tuple[str, str]]
    subject: str
    sender: str
    to: list[str]
    cc: list[str]
    bcc: list[str]
    reply_to: str | None
    date: datetime
    message_id: str
    key: str
    text: str | None
    html: str | None
    links: list[str]
    attachments: list[OutboxAttachment]


def _path(folder: Path, message_id: str) -> Path:
    if not isinstance(message_id, str) or not _ID.match(message_id):
        raise KeyError(message_id)
    path = Path(folder) / f"{message_id}.eml"
    if not path.is_file():
        raise KeyError(message_id)
    return path


def _addresses(message: EmailMessage, header: str) -> list[str]:
    value = message.get(header)
    if value is None:
        return []
    addresses = getattr(value, "addresses", None)
    if addresses is None:
        return [part.strip() for part in str(value).split(",") if part.strip()]
    return [address.addr_spec for address in addresses]


def _date(message: EmailMessage, path: Path) -> datetime:
    raw = message.get("Date")
    try:
        if raw is not None:
            parsed = getattr(raw, "datetime", None) or parsedate_to_datetime(str(raw))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return parsed
    except (TypeError, ValueError):
        pass
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    except OSError:
        return _EPOCH


def _header(message: EmailMessage, name: str) -> str:
    value = message.get(name)
    return "" if value is None else str(value)


def list_outbox(folder: Path, *, recipient: str | None = None,
                exclude: Collection[str] = frozenset()) -> list[OutboxEntry]:
    """List the outbox messages newest first, optionally only those to `recipient`, skipping ids in `exclude`."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    wanted = recipient.strip().casefold() if recipient and recipient.strip() else None
    parser = BytesHeaderParser(policy=default_policy)
    entries: list[OutboxEntry] = []
    for found in os.scandir(folder):  # a plain directory read: the outbox is listed often and can hold thousands
        message_id, suffix = os.path.splitext(found.name)
        if suffix != ".eml" or message_id in exclude or not _ID.match(message_id):
            continue
        path = Path(found.path)
        try:
            with path.open("rb") as handle:
                message = cast(EmailMessage, parser.parse(handle))
        except OSError:
            continue
        to = _addresses(message, "To")
        cc = _addresses(message, "Cc")
        if wanted is not None:
            everyone = {a.casefold() for a in (*to, *cc, *_addresses(message, ENVELOPE_HEADER))}
            if wanted not in everyone:
                continue
        entries.append(
            OutboxEntry(
                id=message_id,
                subject=_header(message, "Subject"),
                sender=_header(message, "From"),
                to=to,
                cc=cc,
                date=_date(message, path),
                key=_header(message, KEY_HEADER),
            )
        )
    entries.sort(key=lambda entry: entry.id, reverse=True)
    entries.sort(key=lambda entry: entry.date, reverse=True)
    return entries


def read_outbox_raw(folder: Path, message_id: str) -> bytes:
    """Return the raw .eml bytes of an outbox message; unknown or malformed ids raise KeyError."""
    return _path(folder, message_id).read_bytes()


def _load(folder: Path, message_id: str) -> tuple[Path, EmailMessage]:
    path = _path(folder, message_id)
    return path, cast(EmailMessage, message_from_bytes(path.read_bytes(), policy=default_policy))


def _text_of(part: EmailMessage | None) -> str | None:
    if part is None:
        return None
    try:
        return cast(str, part.get_content())
    except (LookupError, ValueError):
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else None


def read_outbox_message(folder: Path, message_id: str) -> OutboxMessageView:
    """Read one outbox message for display; unknown or malformed ids raise KeyError."""
    path, message = _load(folder, message_id)
    text = _text_of(cast(EmailMessage | None, message.get_body(preferencelist=("plain",))))
    html = _text_of(cast(EmailMessage | None, message.get_body(preferencelist=("html",))))
    if text is not None:
        text = text.replace("\r\n", "\n")
    attachments = [
        OutboxAttachment(
            index=index,
            filename=part.get_filename() or f"attachment-{index + 1}",
            content_type=part.get_content_type(),
            size=len(part.get_payload(decode=True) or b""),
        )
        for index, part in enumerate(message.iter_attachments())
    ]
    to = _addresses(message, "To")
    cc = _addresses(message, "Cc")
    shown = {a.casefold() for a in (*to, *cc)}
    bcc = [a for a in _addresses(message, ENVELOPE_HEADER) if a.casefold() not in shown]
    reply_to = message.get("Reply-To")
    return OutboxMessageView(
        id=message_id,
        headers=[(name, str(value)) for name, value in message.items() if name != ENVELOPE_HEADER],
        subject=_header(message, "Subject"),
        sender=_header(message, "From"),
        to=to,
        cc=cc,
        bcc=bcc,
        reply_to=None if reply_to is None else str(reply_to),
        date=_date(message, path),
        message_id=_header(message, "Message-ID"),
        key=_header(message, KEY_HEADER),
        text=text,
        html=html,
        links=find_links(text or ""),
        attachments=attachments,
    )


def read_outbox_attachment(folder: Path, message_id: str, *, index: int) -> Attachment:
    """Return attachment number `index` of an outbox message; KeyError if there is none."""
    _unused, message = _load(folder, message_id)
    parts = list(message.iter_attachments())
    if not 0 <= index < len(parts):
        raise KeyError(f"{message_id}/attachments/{index}")
    part = parts[index]
    content_type = part.get_content_type()
    return Attachment(
        filename=part.get_filename() or f"attachment-{index + 1}",
        content_type=content_type,
        data=part.get_payload(decode=True) or b"",
    )
