"""Tests for the .ics invitation: Europe/London times with a VTIMEZONE, folding, escaping, a stable UID."""

from __future__ import annotations

from datetime import UTC, datetime

from send_inspection.calendar import LONDON
from send_inspection.mail.invite import meeting_invite

START = datetime(2023, 6, 26, 11, 0, tzinfo=LONDON)
END = datetime(2023, 6, 26, 12, 0, tzinfo=LONDON)
STAMP = datetime(2023, 6, 26, 9, 5, tzinfo=LONDON)


def invite(**overrides: object) -> bytes:
    """Return the .ics bytes of the day-1 core group meeting, with any argument overridden."""
    args: dict[str, object] = {
        "uid_key": "demo-county-2023-06-26:core-meeting",
        "start": START,
        "end": END,
        "summary": "SEND inspection: core group meeting",
        "location": "Demo House, Room 1 (and Teams)",
        "description": "First meeting of the core group.",
        "organizer": "inspection-logistics@demo-county.example",
        "attendees": ["sam@demo-county.example", "kim@demo-county.example"],
        "stamp": STAMP,
    }
    args.update(overrides)
    return meeting_invite(**args).data  # type: ignore[arg-type]


def physical_lines(data: bytes) -> list[str]:
    """Split the .ics into its physical lines, checking every one ends with CRLF."""
    text = data.decode("utf-8")
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", "") and "\r" not in text.replace("\r\n", "")
    return text[:-2].split("\r\n")


def content_lines(data: bytes) -> list[str]:
    """Return the unfolded content lines of the .ics (a CRLF followed by one space continues a line)."""
    return data.decode("utf-8").replace("\r\n ", "")[:-2].split("\r\n")


def properties(lines: list[str], component: str) -> dict[str, str]:
    """Return name (with parameters) -> value of the lines directly inside the first `component`."""
    start = lines.index(f"BEGIN:{component}")
    result: dict[str, str] = {}
    depth = 0
    for line in lines[start + 1:]:
        if line == f"END:{component}" and depth == 0:
            return result
        if line.startswith("BEGIN:"):
            depth += 1
        elif line.startswith("END:"):
            depth -= 1
        elif depth == 0:
            name, _, value = line.partition(":")
            result[name] = value
    raise AssertionError(f"no END:{component}")


def test_attachment_metadata() -> None:
    """The invitation is invite.ics, text/calendar with METHOD=REQUEST."""
    attachment = meeting_invite("k", START, END, summary="s", location="l", description="d",
                                organizer="o@demo-county.example", attendees=[], stamp=STAMP)
    assert attachment.filename == "invite.ics"
    assert attachment.content_type == "text/calendar; method=REQUEST"


def test_structure_and_method() -> None:
    """The calendar is a VCALENDAR 2.0 REQUEST holding one VTIMEZONE then one VEVENT."""
    lines = content_lines(invite())
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    cal = properties(lines, "VCALENDAR")
    assert cal == {"PRODID": "-//send-inspection//EN", "VERSION": "2.0", "METHOD": "REQUEST"}
    begins = [line for line in lines if line.startswith("BEGIN:")]
    assert begins == ["BEGIN:VCALENDAR", "BEGIN:VTIMEZONE", "BEGIN:DAYLIGHT", "BEGIN:STANDARD", "BEGIN:VEVENT"]
    assert lines.index("END:VTIMEZONE") < lines.index("BEGIN:VEVENT")


def test_dtstart_dtend_in_london_summer_time() -> None:
    """11:00-12:00 BST is written as London wall time with TZID=Europe/London, not converted to UTC."""
    event = properties(content_lines(invite()), "VEVENT")
    assert event["DTSTART;TZID=Europe/London"] == "20230626T110000"
    assert event["DTEND;TZID=Europe/London"] == "20230626T120000"
    assert "DTSTART" not in event
    # DTSTAMP is UTC with a Z.
    assert event["DTSTAMP"] == "20230626T080500Z"


def test_utc_input_is_written_as_london_time() -> None:
    """A start given in UTC (10:00Z in June) is written as 11:00 London time."""
    event = properties(content_lines(invite(start=datetime(2023, 6, 26, 10, 0, tzinfo=UTC),
                                            end=datetime(2023, 6, 26, 11, 0, tzinfo=UTC))), "VEVENT")
    assert event["DTSTART;TZID=Europe/London"] == "20230626T110000"
    assert event["DTEND;TZID=Europe/London"] == "20230626T120000"


def test_winter_time_keeps_wall_clock() -> None:
    """In November (GMT) 09:00 London is written 090000, the same wall time as in summer."""
    event = properties(content_lines(invite(start=datetime(2023, 11, 6, 9, 0, tzinfo=LONDON),
                                            end=datetime(2023, 11, 6, 10, 0, tzinfo=LONDON))), "VEVENT")
    assert event["DTSTART;TZID=Europe/London"] == "20231106T090000"
    assert event["DTEND;TZID=Europe/London"] == "20231106T100000"


def test_vtimezone_describes_europe_london() -> None:
    """The VTIMEZONE is Europe/London: BST +0100 from the last Sunday of March, GMT from the last of October."""
    lines = content_lines(invite())
    assert properties(lines, "VTIMEZONE") == {"TZID": "Europe/London"}
    assert properties(lines, "DAYLIGHT") == {
        "TZOFFSETFROM": "+0000",
        "TZOFFSETTO": "+0100",
        "TZNAME": "BST",
        "DTSTART": "19700329T010000",
        "RRULE": "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
    }
    assert properties(lines, "STANDARD") == {
        "TZOFFSETFROM": "+0100",
        "TZOFFSETTO": "+0000",
        "TZNAME": "GMT",
        "DTSTART": "19701025T020000",
        "RRULE": "FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
    }


def test_event_fields_and_attendees() -> None:
    """The event has its summary, escaped location, organizer and one ATTENDEE line per person."""
    lines = content_lines(invite())
    event = properties(lines, "VEVENT")
    assert event["SEQUENCE"] == "0"
    assert event["SUMMARY"] == "SEND inspection: core group meeting"
    assert event["LOCATION"] == "Demo House\\, Room 1 (and Teams)"
    assert event["DESCRIPTION"] == "First meeting of the core group."
    assert event["ORGANIZER"] == "mailto:inspection-logistics@demo-county.example"
    attendees = [line for line in lines if line.startswith("ATTENDEE")]
    assert attendees == [
        "ATTENDEE;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:sam@demo-county.example",
        "ATTENDEE;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:kim@demo-county.example",
    ]


def test_uid_is_stable_per_key() -> None:
    """The UID depends only on the key, so a re-send updates the same meeting; another key gives another UID."""
    uid = properties(content_lines(invite()), "VEVENT")["UID"]
    assert uid.endswith("@send-inspection.invalid")
    assert len(uid.split("@")[0]) == 32
    assert properties(content_lines(invite(stamp=END, sequence=1)), "VEVENT")["UID"] == uid
    assert properties(content_lines(invite(uid_key="other")), "VEVENT")["UID"] != uid


def test_sequence_is_written() -> None:
    """An updated invitation carries its SEQUENCE number."""
    assert properties(content_lines(invite(sequence=2)), "VEVENT")["SEQUENCE"] == "2"


def test_text_escaping() -> None:
    """Backslashes, semicolons, commas and newlines in text are escaped as RFC 5545 requires."""
    event = properties(content_lines(invite(summary="A; B, C\\D", description="line 1\nline 2")), "VEVENT")
    assert event["SUMMARY"] == "A\\; B\\, C\\\\D"
    assert event["DESCRIPTION"] == "line 1\\nline 2"


def test_long_lines_are_folded_at_75_octets() -> None:
    """A long description is folded into lines of at most 75 octets that unfold back to the original."""
    description = "Sites, roles and the frequency of keep-in-touch meetings – agreed by the core group. " * 4
    data = invite(description=description)
    physical = physical_lines(data)
    assert all(len(line.encode("utf-8")) <= 75 for line in physical)
    assert any(line.startswith(" ") for line in physical)
    event = properties(content_lines(data), "VEVENT")
    assert event["DESCRIPTION"] == description.replace(",", "\\,")
    # Folding never splits a multi-byte character: every physical line is valid UTF-8 on its own.
    for line in data.split(b"\r\n"):
        line.decode("utf-8")


def test_folding_keeps_multibyte_characters_whole() -> None:
    """A run of 3-byte characters is folded between characters, never inside one."""
    description = "€" * 60
    data = invite(description=description)
    for line in data.split(b"\r\n"):
        assert len(line) <= 75
        line.decode("utf-8")
    assert properties(content_lines(data), "VEVENT")["DESCRIPTION"] == description


def test_windows_newlines_are_escaped() -> None:
    """A description with CRLF line breaks is escaped to '\\n' without leaving a bare CR in the content line."""
    data = invite(description="line 1\r\nline 2")
    physical_lines(data)
    assert properties(content_lines(data), "VEVENT")["DESCRIPTION"] == "line 1\\nline 2"
