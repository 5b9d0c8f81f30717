"""Calendar messages (.ics, RFC 5545 / iTIP RFC 5546) for the slots of the fieldwork timetable.

Every slot has one UID for the whole inspection, so each message about it replaces the attendee's copy:

    new slot                 METHOD:REQUEST, SEQUENCE 0, to every attendee
    changed slot             METHOD:REQUEST, a higher SEQUENCE, same UID, to the attendees kept and added
    attendee taken off it    METHOD:CANCEL naming only them, same SEQUENCE as the update (RFC 5546 3.2.5:
                             no STATUS, since the slot itself goes ahead)
    slot cancelled           METHOD:CANCEL with STATUS:CANCELLED, a higher SEQUENCE, to every attendee

Times are Europe/London wall times with TZID=Europe/London and a VTIMEZONE; the organiser is the
logistics inbox, which arranges the inspectors' timetable (Appendix F of the guidance for managers).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

from send_inspection.calendar import to_london
from send_inspection.config.models import Partnership
from send_inspection.fieldwork.timetable import KIND_TITLES, Slot, TimetableChanges
from send_inspection.mail.invite import VTIMEZONE, escape_text, fold_line
from send_inspection.mail.message import MESSAGE_ID_DOMAIN, Attachment

Method = Literal["REQUEST", "CANCEL"]
_FMT = "%Y%m%dT%H%M%S"
_UNSAFE_PARAM = re.compile(r"[;:,]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Invitee(Protocol):
    """Someone an invitation names: a person of partnership.yaml, or one the inspection keeps (db `people`)."""

    name: str
    email: str
    role: str


@dataclass(frozen=True)
class CalendarSender:
    """Who sends the fieldwork invitations (the logistics inbox), for which inspection, and who the ids are."""

    inspection_id: str
    organizer: str
    organizer_name: str
    people: Mapping[str, Invitee]
    enquiries: str = ""  # where staff send requests for information (the comms inbox)

    def person(self, person_id: str) -> Invitee:
        """Return the person with this id."""
        try:
            return self.people[person_id]
        except KeyError:
            raise KeyError(f"{person_id!r} is not a person id of the inspection") from None


def sender_for(partnership: Partnership, *, inspection_id: str,
               people: Mapping[str, Invitee] | None = None) -> CalendarSender:
    """Return the sender of an inspection's invitations; `people` by key (default: partnership.yaml's)."""
    return CalendarSender(
        inspection_id=inspection_id,
        organizer=partnership.inboxes.logistics.address,
        organizer_name=partnership.roles.sender_name,
        # by default the staff and the parent carer forum of partnership.yaml
        people=people if people is not None else {p.id: p for p in partnership.parties()},
        enquiries=partnership.inboxes.comms.address,
    )


def slot_uid(slot_id: str, *, inspection_id: str) -> str:
    """Return the slot's UID: the same for every message about this slot in this inspection."""
    digest = hashlib.sha256(f"{inspection_id}:fieldwork:{slot_id}".encode()).hexdigest()[:32]
    return f"{digest}@{MESSAGE_ID_DOMAIN}"


def _param(value: str) -> str:
    """Return a parameter value, quoted when it holds ';', ':' or ',' (a double quote cannot appear in one)."""
    value = _CONTROL.sub(" ", value).replace('"', "'")
    return f'"{value}"' if _UNSAFE_PARAM.search(value) else value


def _attendee(person: Invitee, *, rsvp: bool) -> str:
    params = ["CUTYPE=INDIVIDUAL", "ROLE=REQ-PARTICIPANT", "PARTSTAT=NEEDS-ACTION", f"RSVP={str(rsvp).upper()}"]
    return f"ATTENDEE;{';'.join(params)};CN={_param(person.name)}:mailto:{person.email}"


def description(slot: Slot, *, sender: CalendarSender) -> str:
    """Return the text shown in the invitation: the kind of slot, its focus, the debrief and the evidence rule."""
    lines = [f"{KIND_TITLES.get(slot.kind, slot.kind)}, part of the area SEND inspection's fieldwork timetable."]
    if slot.focus:
        lines.append(f"Focus: {slot.focus}")
    if slot.debriefer:
        who = sender.person(slot.debriefer)
        lines.append(
            f"Debrief: {who.name} ({who.role}) will contact you after this slot to hear how it went, "
            "whether any information was requested and any concerns."
        )
    rule = "Do not share documents, data or audits with the inspectors directly"
    lines.append(f"{rule}: send any request to {sender.enquiries}." if sender.enquiries else f"{rule}.")
    lines.append(f"Timetable slot {slot.slot_id}.")
    return "\n".join(lines)


def _calendar(
    slot: Slot,
    *,
    sender: CalendarSender,
    method: Method,
    sequence: int,
    stamp: datetime,
    attendees: Iterable[str],
    status: str | None,
    rsvp: bool,
) -> str:
    """Return one VCALENDAR with the Europe/London VTIMEZONE and the slot's VEVENT."""
    if sequence < 0:
        raise ValueError("SEQUENCE cannot be negative")
    people = [sender.person(p) for p in attendees]
    lines = [
        "BEGIN:VCALENDAR",
        "PRODID:-//send-inspection//fieldwork timetable//EN",
        "VERSION:2.0",
        "CALSCALE:GREGORIAN",
        f"METHOD:{method}",
        *VTIMEZONE.splitlines(),
        "BEGIN:VEVENT",
        f"UID:{slot_uid(slot.slot_id, inspection_id=sender.inspection_id)}",
        f"SEQUENCE:{sequence}",
        f"DTSTAMP:{stamp.astimezone(UTC).strftime(_FMT)}Z",
        f"DTSTART;TZID=Europe/London:{to_london(slot.start).strftime(_FMT)}",
        f"DTEND;TZID=Europe/London:{to_london(slot.end).strftime(_FMT)}",
        f"SUMMARY:{escape_text(slot.title)}",
        f"LOCATION:{escape_text(slot.location)}",
        f"DESCRIPTION:{escape_text(description(slot, sender=sender))}",
        *([f"STATUS:{status}"] if status else []),
        "TRANSP:OPAQUE",
        f"ORGANIZER;CN={_param(sender.organizer_name)}:mailto:{sender.organizer}",
        *[_attendee(p, rsvp=rsvp) for p in people],
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(fold_line(line) for line in lines) + "\r\n"


def slot_request(slot: Slot, *, sender: CalendarSender, stamp: datetime, sequence: int = 0) -> str:
    """Return the METHOD:REQUEST invitation to the slot for all its attendees (a higher `sequence` for an update)."""
    return _calendar(slot, sender=sender, method="REQUEST", sequence=sequence, stamp=stamp,
                     attendees=slot.attendees, status="CONFIRMED", rsvp=True)


def slot_cancellation(slot: Slot, *, sender: CalendarSender, stamp: datetime, sequence: int) -> str:
    """Return the METHOD:CANCEL, STATUS:CANCELLED message that cancels the slot for all its attendees."""
    return _calendar(slot, sender=sender, method="CANCEL", sequence=sequence, stamp=stamp,
                     attendees=slot.attendees, status="CANCELLED", rsvp=False)


def attendee_cancellation(
    slot: Slot, removed: Iterable[str], *, sender: CalendarSender, stamp: datetime, sequence: int
) -> str:
    """Return the METHOD:CANCEL message telling the `removed` attendees they are no longer in the slot."""
    return _calendar(slot, sender=sender, method="CANCEL", sequence=sequence, stamp=stamp,
                     attendees=removed, status=None, rsvp=False)


def calendar_attachment(ics: str) -> Attachment:
    """Return the .ics as an email attachment whose content type names its METHOD."""
    method = "CANCEL" if "\r\nMETHOD:CANCEL\r\n" in ics else "REQUEST"
    filename = "cancel.ics" if method == "CANCEL" else "invite.ics"
    return Attachment(filename=filename, content_type=f"text/calendar; method={method}", data=ics.encode("utf-8"))


# ---------------------------------------------------------------- what to send for a new timetable


@dataclass(frozen=True)
class CalendarMessage:
    """One calendar message to send: which slot, which method and SEQUENCE, to which person ids, and the .ics."""

    slot_id: str
    method: Method
    sequence: int
    to: tuple[str, ...]
    ics: str


def calendar_messages(
    changes: TimetableChanges, *, sender: CalendarSender, sequences: Mapping[str, int], stamp: datetime
) -> list[CalendarMessage]:
    """Return the messages a new version of the timetable needs; `sequences` holds the last SEQUENCE sent per slot.

    A new slot gets a request (SEQUENCE 0) to every attendee; a changed slot the next SEQUENCE: a request to
    the attendees kept (when more than its attendee list changed) and added, and a cancellation to those
    removed; a removed slot a cancellation to all its attendees.
    """
    out: list[CalendarMessage] = []
    for slot in changes.added:
        ics = slot_request(slot, sender=sender, stamp=stamp, sequence=0)
        out.append(CalendarMessage(slot.slot_id, "REQUEST", 0, slot.attendees, ics))
    for change in changes.changed:
        sequence = sequences.get(change.slot_id, 0) + 1
        to = (*change.update_to, *change.invite_to)
        if to:
            ics = slot_request(change.new, sender=sender, stamp=stamp, sequence=sequence)
            out.append(CalendarMessage(change.slot_id, "REQUEST", sequence, to, ics))
        if change.cancel_to:
            ics = attendee_cancellation(change.new, change.cancel_to, sender=sender, stamp=stamp, sequence=sequence)
            out.append(CalendarMessage(change.slot_id, "CANCEL", sequence, change.cancel_to, ics))
    for slot in changes.removed:
        sequence = sequences.get(slot.slot_id, 0) + 1
        ics = slot_cancellation(slot, sender=sender, stamp=stamp, sequence=sequence)
        out.append(CalendarMessage(slot.slot_id, "CANCEL", sequence, slot.attendees, ics))
    return out
