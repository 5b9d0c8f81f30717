"""Tests for the fieldwork calendar messages, each parsed with the icalendar package: times, METHOD, SEQUENCE, UID."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import icalendar
import pytest

from send_inspection.calendar import LONDON
from send_inspection.config.models import PartnershipConfig, Person
from send_inspection.fieldwork.invitations import (
    CalendarSender,
    attendee_cancellation,
    calendar_attachment,
    calendar_messages,
    sender_for,
    slot_cancellation,
    slot_request,
    slot_uid,
)
from send_inspection.fieldwork.timetable import Slot, Timetable, read_timetable, timetable_changes

GOOD = Path(__file__).parent / "fieldwork-timetable.csv"
STAMP = datetime(2023, 7, 6, 15, 20, tzinfo=LONDON)  # week 2, when the fieldwork timetable is agreed

# A slot on a GMT date: week 3 of an inspection notified on Monday 6 November 2023.
WINTER = Slot(
    "W3-TUE-02",
    "sampling-visit",
    "Sampling visit: Riverside Primary School (resourced provision)",
    datetime(2023, 11, 21, 9, 30, tzinfo=LONDON),
    datetime(2023, 11, 21, 12, 0, tzinfo=LONDON),
    "Riverside Primary School, Church Street, Demo Town",
    ("hos-education", "hos-inclusion"),
    debriefer="lead-evidence-officer",
    focus="Speech and language support in the resourced provision",
)


@pytest.fixture(scope="module")
def sender(demo_config: PartnershipConfig) -> CalendarSender:
    """Return the Demo County logistics inbox as the sender for the June 2023 inspection."""
    return sender_for(demo_config.partnership, inspection_id="demo-county-2023-06-26")


@pytest.fixture(scope="module")
def timetable(demo_config: PartnershipConfig) -> Timetable:
    """Return the shipped test timetable (weeks 2 and 3 in July 2023, British Summer Time)."""
    return read_timetable(GOOD, people=demo_config.partnership.parties())


def parse(ics: str) -> tuple[icalendar.Calendar, icalendar.Event]:
    """Parse the .ics with icalendar, checking its line endings and lengths, and return the calendar and its event."""
    raw = ics.encode("utf-8")
    assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b"")
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))
    calendar = icalendar.Calendar.from_ical(ics)
    (event,) = calendar.walk("VEVENT")
    return calendar, event


def emails(event: icalendar.Event) -> list[str]:
    """Return the attendees' addresses, without mailto:."""
    attendees = event.get("ATTENDEE", [])
    attendees = attendees if isinstance(attendees, list) else [attendees]
    return [str(a).removeprefix("mailto:") for a in attendees]


def test_request_on_a_bst_date(sender: CalendarSender, timetable: Timetable) -> None:
    """A July slot is a REQUEST at 13:30-14:30 Europe/London wall time (12:30 UTC), with a VTIMEZONE."""
    calendar, event = parse(slot_request(timetable.slot("W3-TUE-02"), sender=sender, stamp=STAMP))
    assert calendar["METHOD"] == "REQUEST" and calendar["VERSION"] == "2.0"
    assert event["DTSTART"].params["TZID"] == "Europe/London" and event["DTEND"].params["TZID"] == "Europe/London"
    start, end = event.decoded("DTSTART"), event.decoded("DTEND")
    assert (start.replace(tzinfo=None), end.replace(tzinfo=None)) == (datetime(2023, 7, 11, 13, 30),
                                                                      datetime(2023, 7, 11, 14, 30))
    assert start.astimezone(UTC) == datetime(2023, 7, 11, 12, 30, tzinfo=UTC)
    assert event.decoded("DTSTAMP") == STAMP.astimezone(UTC)
    # The VTIMEZONE itself (not the tz database) gives BST on this date.
    (vtimezone,) = calendar.walk("VTIMEZONE")
    assert vtimezone["TZID"] == "Europe/London"
    assert start.replace(tzinfo=vtimezone.to_tz(lookup_tzid=False)).utcoffset() == timedelta(hours=1)


def test_request_on_a_gmt_date(sender: CalendarSender) -> None:
    """A November slot keeps its 09:30-12:00 wall time under Europe/London, which is UTC that day."""
    calendar, event = parse(slot_request(WINTER, sender=sender, stamp=STAMP))
    assert event["DTSTART"].params["TZID"] == "Europe/London"
    start, end = event.decoded("DTSTART"), event.decoded("DTEND")
    assert (start.replace(tzinfo=None), end.replace(tzinfo=None)) == (datetime(2023, 11, 21, 9, 30),
                                                                      datetime(2023, 11, 21, 12, 0))
    assert start.astimezone(UTC) == datetime(2023, 11, 21, 9, 30, tzinfo=UTC)
    (vtimezone,) = calendar.walk("VTIMEZONE")
    assert start.replace(tzinfo=vtimezone.to_tz(lookup_tzid=False)).utcoffset() == timedelta(0)


def test_organizer_attendees_and_text(sender: CalendarSender, timetable: Timetable) -> None:
    """The logistics inbox organises; each attendee needs to act and is asked to reply; the text is the slot's."""
    slot = timetable.slot("W2-MON-01")
    _, event = parse(slot_request(slot, sender=sender, stamp=STAMP))
    organizer = event["ORGANIZER"]
    assert str(organizer) == "mailto:inspection-logistics@demo-county.example"
    assert organizer.params["CN"] == "Demo County SEND Inspection Team"
    assert emails(event) == ["catherine.lowther@demo-county.example", "rebecca.stannard@demo-icb.nhs.example",
                             "michael.osei-bonsu@demo-county.example"]
    for attendee in event["ATTENDEE"]:
        assert attendee.params["PARTSTAT"] == "NEEDS-ACTION" and attendee.params["RSVP"] == "TRUE"
        assert attendee.params["ROLE"] == "REQ-PARTICIPANT"
    assert [a.params["CN"] for a in event["ATTENDEE"]] == ["Catherine Lowther", "Rebecca Stannard",
                                                           "Michael Osei-Bonsu"]
    assert event["SUMMARY"] == "Multi-agency tracking meeting: case DC-0142"
    assert event["LOCATION"] == "Microsoft Teams" and event["STATUS"] == "CONFIRMED"
    text = event["DESCRIPTION"]
    assert "Focus: Tracked case DC-0142" in text
    assert "Debrief: Fiona Hargreaves (SEND Quality Assurance and Audit Manager) will contact you" in text
    assert "send any request to send-inspection.comms@demo-county.example" in text


def test_update_keeps_uid_and_raises_sequence(sender: CalendarSender, timetable: Timetable) -> None:
    """Moving a slot sends a REQUEST with the same UID, a higher SEQUENCE and the new times."""
    slot = timetable.slot("W3-TUE-01")
    moved = dataclasses.replace(slot, start=datetime(2023, 7, 11, 13, 0, tzinfo=LONDON),
                                end=datetime(2023, 7, 11, 15, 30, tzinfo=LONDON))
    _, first = parse(slot_request(slot, sender=sender, stamp=STAMP))
    calendar, update = parse(slot_request(moved, sender=sender, stamp=STAMP + timedelta(hours=1), sequence=1))
    assert calendar["METHOD"] == "REQUEST"
    assert update["UID"] == first["UID"] == slot_uid("W3-TUE-01", inspection_id="demo-county-2023-06-26")
    assert (first.decoded("SEQUENCE"), update.decoded("SEQUENCE")) == (0, 1)
    assert update.decoded("DTSTART").replace(tzinfo=None) == datetime(2023, 7, 11, 13, 0)


def test_cancellation(sender: CalendarSender, timetable: Timetable) -> None:
    """Cancelling a slot is METHOD:CANCEL, STATUS:CANCELLED, same UID, a higher SEQUENCE, to every attendee."""
    slot = timetable.slot("W3-WED-02")
    _, request = parse(slot_request(slot, sender=sender, stamp=STAMP))
    calendar, cancel = parse(slot_cancellation(slot, sender=sender, stamp=STAMP, sequence=1))
    assert calendar["METHOD"] == "CANCEL"
    assert cancel["STATUS"] == "CANCELLED"
    assert cancel["UID"] == request["UID"] and cancel.decoded("SEQUENCE") == 1
    assert emails(cancel) == ["catherine.lowther@demo-county.example", "lucy.penhaligon@demo-icb.nhs.example"]
    assert cancel["DTSTART"].params["TZID"] == "Europe/London"


def test_attendee_cancellation_names_only_those_removed(sender: CalendarSender, timetable: Timetable) -> None:
    """Taking one person off a slot that goes ahead sends them a CANCEL naming only them, without STATUS."""
    slot = timetable.slot("W3-WED-01")
    calendar, cancel = parse(attendee_cancellation(slot, ["hos-disabled-children"], sender=sender, stamp=STAMP,
                                                   sequence=2))
    assert calendar["METHOD"] == "CANCEL" and "STATUS" not in cancel
    assert emails(cancel) == ["michael.osei-bonsu@demo-county.example"]
    assert cancel.decoded("SEQUENCE") == 2


def test_uid_is_stable_per_slot_and_inspection() -> None:
    """The UID depends only on the inspection and the slot id."""
    uid = slot_uid("W3-TUE-01", inspection_id="demo-county-2023-06-26")
    assert uid == slot_uid("W3-TUE-01", inspection_id="demo-county-2023-06-26")
    assert uid.endswith("@send-inspection.invalid")
    assert uid != slot_uid("W3-TUE-02", inspection_id="demo-county-2023-06-26")
    assert uid != slot_uid("W3-TUE-01", inspection_id="demo-county-2023-11-06")


def test_names_and_text_with_special_characters(sender: CalendarSender) -> None:
    """A name with a comma is quoted in CN, and a location with commas and semicolons survives the round trip."""
    person = Person(id="locum", name="Ashdown, Megan: locum", role="Locum SENCO", email="m.ashdown@demo-county.example")
    custom = dataclasses.replace(sender, people={**sender.people, "locum": person})
    slot = dataclasses.replace(WINTER, attendees=("locum",), location="Hall; Block B, Riverside Primary School")
    _, event = parse(slot_request(slot, sender=custom, stamp=STAMP))
    assert event["ATTENDEE"].params["CN"] == "Ashdown, Megan: locum"
    assert str(event["ATTENDEE"]) == "mailto:m.ashdown@demo-county.example"
    assert event["LOCATION"] == "Hall; Block B, Riverside Primary School"


def test_unknown_attendee_is_an_error(sender: CalendarSender) -> None:
    """A slot naming someone who is not in partnership.yaml cannot be written."""
    with pytest.raises(KeyError, match="'nobody' is not a person id"):
        slot_request(dataclasses.replace(WINTER, attendees=("nobody",)), sender=sender, stamp=STAMP)


def test_attachment_content_types(sender: CalendarSender) -> None:
    """A request is attached as invite.ics with method=REQUEST, a cancellation as cancel.ics with method=CANCEL."""
    request = calendar_attachment(slot_request(WINTER, sender=sender, stamp=STAMP))
    cancel = calendar_attachment(slot_cancellation(WINTER, sender=sender, stamp=STAMP, sequence=1))
    assert (request.filename, request.content_type) == ("invite.ics", "text/calendar; method=REQUEST")
    assert (cancel.filename, cancel.content_type) == ("cancel.ics", "text/calendar; method=CANCEL")
    assert icalendar.Calendar.from_ical(cancel.data)["METHOD"] == "CANCEL"


def test_messages_for_a_new_version_of_the_timetable(sender: CalendarSender, timetable: Timetable) -> None:
    """A moved visit, an added and a removed attendee, a cancelled and a new slot each get the right messages."""
    slots = {s.slot_id: s for s in timetable}
    visit, kit, therapies = slots["W3-TUE-01"], slots["W3-TUE-03"], slots["W3-WED-01"]
    slots["W3-TUE-01"] = dataclasses.replace(visit, start=visit.start + timedelta(hours=4),
                                             end=visit.end + timedelta(hours=4))
    slots["W3-TUE-03"] = dataclasses.replace(kit, attendees=(*kit.attendees, "icb-dir-nursing"))
    slots["W3-WED-01"] = dataclasses.replace(therapies, attendees=("hos-short-breaks",))
    del slots["W3-WED-02"]
    slots["W3-THU-03"] = dataclasses.replace(WINTER, slot_id="W3-THU-03", start=datetime(2023, 7, 13, 9, 30,
                                             tzinfo=LONDON), end=datetime(2023, 7, 13, 12, 0, tzinfo=LONDON))
    changes = timetable_changes(timetable, slots.values())
    sent = calendar_messages(changes, sender=sender, sequences={"W3-TUE-01": 1, "W3-WED-02": 0}, stamp=STAMP)
    assert [(m.slot_id, m.method, m.sequence, m.to) for m in sent] == [
        ("W3-THU-03", "REQUEST", 0, ("hos-education", "hos-inclusion")),
        ("W3-TUE-01", "REQUEST", 2, ("hos-education",)),
        ("W3-TUE-03", "REQUEST", 1, ("icb-dir-nursing",)),
        ("W3-WED-01", "CANCEL", 1, ("hos-disabled-children",)),
        ("W3-WED-02", "CANCEL", 1, ("hos-send", "icb-commissioning")),
    ]
    for message in sent:
        calendar, event = parse(message.ics)
        assert calendar["METHOD"] == message.method and event.decoded("SEQUENCE") == message.sequence
        assert event["UID"] == slot_uid(message.slot_id, inspection_id="demo-county-2023-06-26")
    _, moved = parse(sent[1].ics)
    assert moved.decoded("DTSTART").replace(tzinfo=None) == datetime(2023, 7, 11, 13, 30)
    _, added = parse(sent[2].ics)  # the new attendee sees everyone in the slot, herself included
    assert "margaret.quinlan@demo-icb.nhs.example" in emails(added) and len(emails(added)) == 4
    _, whole = parse(sent[4].ics)
    assert whole["STATUS"] == "CANCELLED"
    _, one = parse(sent[3].ics)
    assert "STATUS" not in one


def test_negative_sequence_is_refused(sender: CalendarSender) -> None:
    """SEQUENCE cannot be negative."""
    with pytest.raises(ValueError, match="SEQUENCE"):
        slot_request(WINTER, sender=sender, stamp=STAMP, sequence=-1)


def test_the_parent_carer_forum_is_invited_to_its_meeting_with_the_inspectors(sender: CalendarSender,
                                                                                timetable: Timetable) -> None:
    """The timetable names the forum by its id: its address is invited with its liaison officer."""
    slot = timetable.slot("W2-TUE-01")
    assert slot.kind == "parent-carer-forum"
    _, event = parse(slot_request(slot, sender=sender, stamp=STAMP))
    assert emails(event) == ["parent-carer-forum@demo-county.example", "megan.ashdown@demo-county.example",
                             "chloe.trevethan@demo-county.example"]
    assert "CN=Demo County Parent Carer Forum" in slot_request(slot, sender=sender, stamp=STAMP).replace("\r\n ", "")
