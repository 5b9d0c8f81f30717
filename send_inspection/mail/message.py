"""Outgoing mail as plain data, and its conversion to a standards-compliant email message."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime

MESSAGE_ID_DOMAIN = "send-inspection.invalid"
KEY_HEADER = "X-Send-Inspection-Key"

# Same shape as the config's check (something@domain.tld), but also refuses characters that would
# change the meaning of an address header (angle brackets, commas, quotes...) and non-ASCII, which
# would need SMTPUTF8 support from every relay on the way.
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_MIME_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$")
_MAX_KEY_LENGTH = 500
# Headers are written with the RFC 5322 hard limit instead of the 78-character soft one, so a long
# idempotency key (which has no spaces to fold at) stays greppable instead of becoming encoded words.
# It is applied after the body is set, because the body's transfer encoding must still be chosen
# against 78-character lines.
_HEADER_POLICY = default_policy.clone(max_line_length=998)


@dataclass(frozen=True)
class Attachment:
    """A file attached to a message, such as a text/calendar invitation."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class OutgoingMessage:
    """One email the engine wants to send, identified by its idempotency key."""

    key: str
    sender: str
    to: tuple[str, ...]
    subject: str
    text: str
    html: str | None = None
    sender_name: str = ""
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    reply_to: str | None = None
    attachments: tuple[Attachment, ...] = ()

    def __post_init__(self) -> None:
        # A bare string would otherwise be iterated character by character; lists are made
        # tuples so the message stays hashable and immutable.
        for name in ("to", "cc", "bcc"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, (value,))
            elif not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))
        if not isinstance(self.attachments, tuple):
            object.__setattr__(self, "attachments", tuple(self.attachments))


def is_sendable_address(value: str) -> bool:
    """Return whether `value` is an address the engine can put in a header and send to."""
    return bool(_EMAIL.match(value))


def message_id_for(key: str) -> str:
    """Return the deterministic Message-ID for an idempotency key."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{MESSAGE_ID_DOMAIN}>"


def all_recipients(msg: OutgoingMessage) -> list[str]:
    """Return the envelope recipients (to, cc, bcc), without duplicates, in order."""
    seen: set[str] = set()
    result: list[str] = []
    for address in (*msg.to, *msg.cc, *msg.bcc):
        folded = address.casefold()
        if folded not in seen:
            seen.add(folded)
            result.append(address)
    return result


def _check_header_text(field: str, value: str) -> None:
    if _CONTROL.search(value):
        raise ValueError(f"{field}: contains a line break or control character")


def _check_address(field: str, value: str) -> None:
    _check_header_text(field, value)
    if not _EMAIL.match(value):
        raise ValueError(f"{field}: {value!r} is not an email address")


def _validate(msg: OutgoingMessage) -> None:
    if not msg.key:
        raise ValueError("key: must not be empty")
    if len(msg.key) > _MAX_KEY_LENGTH:
        raise ValueError(f"key: longer than {_MAX_KEY_LENGTH} characters")
    _check_header_text("key", msg.key)
    _check_address("sender", msg.sender)
    _check_header_text("sender_name", msg.sender_name)
    _check_header_text("subject", msg.subject)
    for field in ("to", "cc", "bcc"):
        for address in getattr(msg, field):
            _check_address(field, address)
    if not (msg.to or msg.cc or msg.bcc):
        raise ValueError("to: a message needs at least one recipient (to, cc or bcc)")
    if msg.reply_to is not None:
        _check_address("reply_to", msg.reply_to)
    for index, attachment in enumerate(msg.attachments):
        field = f"attachments[{index}]"
        if not attachment.filename or any(c in attachment.filename for c in "/\\"):
            raise ValueError(f"{field}.filename: {attachment.filename!r} is not a plain file name")
        _check_header_text(f"{field}.filename", attachment.filename)
        _check_header_text(f"{field}.content_type", attachment.content_type)
        mime_type, _params = _split_content_type(attachment.content_type)
        if not _MIME_TYPE.match(mime_type):
            raise ValueError(f"{field}.content_type: {attachment.content_type!r} is not a MIME type")


def _split_content_type(content_type: str) -> tuple[str, dict[str, str]]:
    """Split "text/calendar; method=REQUEST" into the MIME type and its parameters."""
    mime_type, *raw_params = (part.strip() for part in content_type.split(";"))
    params: dict[str, str] = {}
    for raw in raw_params:
        if not raw:
            continue
        name, sep, value = raw.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"content_type: bad parameter {raw!r} in {content_type!r}")
        params[name.strip().lower()] = value.strip().strip('"')
    return mime_type.lower(), params


def to_email_message(msg: OutgoingMessage, *, sent_at: datetime) -> EmailMessage:
    """Build the RFC 5322 message for `msg`, dated `sent_at`; Bcc goes in the envelope only."""
    if sent_at.tzinfo is None or sent_at.utcoffset() is None:
        raise ValueError("sent_at: must be a timezone-aware datetime")
    _validate(msg)

    email = EmailMessage(policy=default_policy)
    email["From"] = Address(display_name=msg.sender_name, addr_spec=msg.sender)
    if msg.to:
        email["To"] = ", ".join(msg.to)
    else:
        # Bcc/Cc-only message: say so rather than leaving the To header out.
        email["To"] = "undisclosed-recipients:;"
    if msg.cc:
        email["Cc"] = ", ".join(msg.cc)
    if msg.reply_to is not None:
        email["Reply-To"] = msg.reply_to
    email["Subject"] = msg.subject
    email["Date"] = format_datetime(sent_at)
    email["Message-ID"] = message_id_for(msg.key)
    email[KEY_HEADER] = msg.key

    email.set_content(msg.text)
    if msg.html is not None:
        email.add_alternative(msg.html, subtype="html")
    for attachment in msg.attachments:
        mime_type, params = _split_content_type(attachment.content_type)
        maintype, subtype = mime_type.split("/", 1)
        email.add_attachment(
            attachment.data,
            maintype=maintype,
            subtype=subtype,
            filename=attachment.filename,
            params=params,
        )
    _set_deterministic_boundaries(email, msg)
    email.policy = _HEADER_POLICY
    return email


def _set_deterministic_boundaries(email: EmailMessage, msg: OutgoingMessage) -> None:
    """Derive MIME boundaries from the key so the same send always produces the same bytes."""
    digest = hashlib.sha256(msg.key.encode("utf-8")).hexdigest()[:24]
    haystacks = [msg.text, msg.html or ""]
    for index, part in enumerate(part for part in email.walk() if part.is_multipart()):
        boundary = f"=_send-inspection_{digest}_{index}"
        # 7bit/8bit text is written as is; keep Python's random boundary if ours occurs in it.
        if not any(boundary in text for text in haystacks):
            part.set_boundary(boundary)
