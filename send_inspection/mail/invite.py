"""Calendar invitations (.ics, RFC 5545) with Europe/London times."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime

from send_inspection.calendar import to_london
from send_inspection.mail.message import Attachment

# Europe/London: BST from 01:00 UTC on the last Sunday of March, GMT from the last Sunday of October.
VTIMEZONE = """BEGIN:VTIMEZONE
TZID:Europe/London
BEGIN:DAYLIGHT
TZOFFSETFROM:+0000
TZOFFSETTO:+0100
TZNAME:BST
DTSTART:19700329T010000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0100
TZOFFSETTO:+0000
TZNAME:GMT
DTSTART:19701025T020000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE"""


def escape_text(text: str) -> str:
    """Escape text for an iCalendar TEXT value (backslash, semicolon, comma and newlines)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold_line(line: str) -> str:
    """Fold a content line into lines of at most 75 octets, never inside a UTF-8 character."""
    out, data = [], line.encode("utf-8")
    while len(data) > 74:
        cut = 74
        while (data[cut] & 0xC0) == 0x80:
            cut -= 1
        out.append(data[:cut].decode("utf-8"))
        data = data[cut:]
    out.append(data.decode("utf-8"))
    return "\r\n ".join(out)


def meeting_invite(
    uid_key: str,
    start: datetime,
    end: datetime,
    *,
    summary: str,
    location: str,
    description: str,
    organizer: str,
    attendees: Iterable[str],
    stamp: datetime,
    sequence: int = 0,
) -> Attachment:
    """Return a METHOD:REQUEST invitation for a meeting in Europe/London wall time."""
    fmt = "%Y%m%dT%H%M%S"
    uid = hashlib.sha256(uid_key.encode()).hexdigest()[:32] + "@send-inspection.invalid"
    lines = [
        "BEGIN:VCALENDAR",
        "PRODID:-//send-inspection//EN",
        "VERSION:2.0",
        "METHOD:REQUEST",
        *VTIMEZONE.splitlines(),
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"SEQUENCE:{sequence}",
        f"DTSTAMP:{stamp.astimezone(UTC).strftime(fmt)}Z",
        f"DTSTART;TZID=Europe/London:{to_london(start).strftime(fmt)}",
        f"DTEND;TZID=Europe/London:{to_london(end).strftime(fmt)}",
        f"SUMMARY:{escape_text(summary)}",
        f"LOCATION:{escape_text(location)}",
        f"DESCRIPTION:{escape_text(description)}",
        f"ORGANIZER:mailto:{organizer}",
        *[f"ATTENDEE;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:{a}" for a in attendees],
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    body = "\r\n".join(fold_line(line) for line in lines) + "\r\n"
    return Attachment(filename="invite.ics", content_type="text/calendar; method=REQUEST", data=body.encode())
