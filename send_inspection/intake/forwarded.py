"""Read a forwarded inspector's request: the forwarder's note with its lines, and the request below the header.

A forwarded message looks like this (Outlook, Gmail and Apple Mail write the header block a little differently):

    Head of service: hos-send          <- the forwarder's note: these lines say who does what
    Inspector: Jane Smith

    ________________________________   <- a separator line (or "-----Original Message-----",
    From: Jane Smith <jane@...>           "---------- Forwarded message ---------", "Begin forwarded message:")
    Sent: Monday, July 10, 2023 10:15  <- the forwarding header lines (From, Sent, Date, To, Cc, Subject)
    Subject: Request for evidence

    Please send the latest ...         <- what the inspector asked: the request recorded

What was asked is the text below the forwarding header; a message with no such header (forwarded as an
attachment, or written afresh) gives its whole text without the note's lines. The note's lines are only read
above the header, so a "Service:" line in the inspector's own signature is never taken for one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import parseaddr

_FORWARD_SUBJECT = re.compile(r"^\s*(?:\[[^\]]*\]\s*)*fwd?\s*:", re.IGNORECASE)
_SEPARATOR = re.compile(
    r"^\s*(?:_{8,}|-{2,}\s*(?:original message|forwarded message)\s*-{2,}|begin forwarded message:?)\s*$",
    re.IGNORECASE,
)
_HEADER = re.compile(r"^\s*\*?(from|sent|date|to|cc|subject)\s*:\*?\s*(.*)$", re.IGNORECASE)
_NOTE_LINE = re.compile(r"^\s*(head of service|service|inspector)\s*:\s*(.*?)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class ForwardedRequest:
    """What a forwarded request says: the request itself, who the note names, and who first sent it."""

    asked: str
    # The value of the note's "Head of service:" (or "Service:") line, if it has one.
    head_of_service: str | None
    # The value of the note's "Inspector:" line, if it has one.
    inspector: str | None
    # The display name and address on the forwarded header's From line, if there is one.
    original_name: str
    original_address: str
    # Whether the note has a "Head of service:" or "Inspector:" line (a plain "Service:" line does not count):
    # such a line marks a message written to record a request, even without "FW:" in its subject.
    explicit: bool = False


def is_forward_subject(subject: str) -> bool:
    """Say whether a subject starts as a forward does ("FW:", "Fwd:", after any "[EXTERNAL]"-style tags)."""
    return bool(_FORWARD_SUBJECT.match(subject))


def _header_start(lines: list[str]) -> int | None:
    """Return the index of the first line of the forwarding header: a separator, or From: followed by Sent/Date."""
    for index, line in enumerate(lines):
        if _SEPARATOR.match(line):
            return index
        found = _HEADER.match(line)
        if found and found.group(1).lower() == "from":
            following = [_HEADER.match(other) for other in lines[index + 1:index + 6]]
            if any(h and h.group(1).lower() in ("sent", "date") for h in following):
                return index
    return None


def _header_end(lines: list[str], start: int) -> tuple[int, str]:
    """Return where the header block ends (the first line of the forwarded text) and its From value."""
    index = start + 1 if _SEPARATOR.match(lines[start]) else start
    while index < len(lines) and not lines[index].strip():
        index += 1
    sender = ""
    last_was_header = False
    while index < len(lines):
        line = lines[index]
        header = _HEADER.match(line)
        if header:
            if header.group(1).lower() == "from" and not sender:
                sender = header.group(2).strip()
            last_was_header = True
        elif last_was_header and line[:1] in (" ", "\t") and line.strip():
            pass  # a header value carried on to the next line (a long To: list)
        else:
            break
        index += 1
    return index, sender


def read_forwarded(body: str) -> ForwardedRequest:
    """Split a forwarded message's text into the forwarder's note lines and the request below the header."""
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    start = _header_start(lines)
    note_lines = lines if start is None else lines[:start]
    values: dict[str, str] = {}
    kept: list[str] = []
    explicit = False
    for line in note_lines:
        found = _NOTE_LINE.match(line)
        if found:
            label = found.group(1).lower()
            name = "inspector" if label == "inspector" else "head_of_service"
            values.setdefault(name, found.group(2))
            explicit = explicit or label != "service"
        else:
            kept.append(line)
    original_name = original_address = ""
    if start is None:
        asked = "\n".join(kept)
    else:
        end, sender = _header_end(lines, start)
        asked = "\n".join(lines[end:])
        original_name, original_address = parseaddr(sender)
        if not original_address and "@" in sender:
            original_address = sender.strip("<> ")
    return ForwardedRequest(
        asked=asked.strip(),
        head_of_service=values.get("head_of_service") or None,
        inspector=values.get("inspector") or None,
        original_name=original_name.strip().strip('"'),
        original_address=original_address.strip(),
        explicit=explicit,
    )

