"""The keeping-in-touch forms: every problem named by field and line, nothing accepted until the form is right."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from send_inspection.calendar import LONDON
from send_inspection.kit.forms import (
    FormRefused,
    OfferedMeeting,
    read_agreement,
    read_record,
    read_representatives,
)

NOW = datetime(2023, 11, 13, 11, 45, tzinfo=LONDON)
OFFERED = [OfferedMeeting(day=date(2023, 11, d), slot_id=f"KIT-2023-11-{d}", start=datetime(2023, 11, d, 17, 30,
                                                                                               tzinfo=LONDON))
           for d in (13, 14, 15)]
MEMBERS = {"dir-inclusion": "Samantha Cole-Brierley", "head-improvement": "Nadia Pemberton"}
KNOWN = {"hos-send": "hos-send", "catherine.lowther@demo-county.example": "hos-send",
         "owen.castell@demo-county.example": "case-dc1001-1"}


def resolve(ref: str) -> str | None:
    """Find a known person by id or address, as the inspection's people would."""
    return KNOWN.get(ref)


def refused(call, *args, **kwargs) -> list[str]:  # noqa: ANN001, ANN002, ANN003
    """Return the problem lines a refused form gives."""
    with pytest.raises(FormRefused) as caught:
        call(*args, **kwargs)
    return caught.value.lines


def test_the_agreement_keeps_the_days_ticked_and_each_managers_base() -> None:
    """Days offered and still to come are kept in order, once; each member's base is kept, spaces tidied."""
    details = read_agreement(["2023-11-15", "2023-11-13", "2023-11-15"],
                             {"dir-inclusion": " Demo  House ", "head-improvement": "County Hall"},
                             offered=OFFERED, members=MEMBERS, now=NOW)
    assert details == {"days": ["2023-11-13", "2023-11-15"],
                       "bases": {"dir-inclusion": "Demo House", "head-improvement": "County Hall"}}


def test_an_agreement_without_days_or_a_base_or_with_a_day_passed_is_refused() -> None:
    """No day, a day not offered, a meeting already started and a missing base are each named."""
    assert refused(read_agreement, [], {"dir-inclusion": "Demo House"}, offered=OFFERED, members=MEMBERS,
                   now=NOW) == ["KIT days: tick at least one day", "where Nadia Pemberton will be based: missing"]
    late = datetime(2023, 11, 13, 17, 45, tzinfo=LONDON)
    assert refused(read_agreement, ["2023-11-13", "2023-12-25"], {k: "Demo House" for k in MEMBERS},
                   offered=OFFERED, members=MEMBERS, now=late) == [
        "KIT days: the meeting of Mon 13 Nov 17:30 has started: untick it",
        "KIT days: '2023-12-25' is not one of the days offered"]


def test_representatives_are_known_people_or_a_name_and_address() -> None:
    """An id, a known address and a new Name <address> are each kept; the meetings left empty are attended."""
    named = {"KIT-2023-11-13": "HOS-SEND", "KIT-2023-11-14": "catherine.lowther@demo-county.example",
             "KIT-2023-11-15": "Jasmine Fairweather <Jasmine.Fairweather@demo-icb.nhs.example>"}
    assert read_representatives(named, offered=OFFERED, member="dir-inclusion", resolve=resolve) == {
        "representatives": {"KIT-2023-11-13": {"key": "hos-send"}, "KIT-2023-11-14": {"key": "hos-send"},
                            "KIT-2023-11-15": {"name": "Jasmine Fairweather",
                                               "email": "jasmine.fairweather@demo-icb.nhs.example"}}}


def test_an_unknown_representative_or_none_at_all_is_refused() -> None:
    """An unknown id, a new address without a name, oneself and an empty form are refused, each by meeting."""
    named = {"KIT-2023-11-13": "nobody", "KIT-2023-11-14": "new.person@demo-icb.nhs.example",
             "KIT-2023-11-15": "hos-send"}
    lines = refused(read_representatives, named, offered=OFFERED, member="hos-send", resolve=resolve)
    assert lines[0].startswith("representative at Mon 13 Nov 17:30: 'nobody' is not a person id of the inspection")
    assert lines[1:] == [
        "representative at Tue 14 Nov 17:30: new.person@demo-icb.nhs.example is new to the inspection: give their "
        "name too, as Name <address>",
        "representative at Wed 15 Nov 17:30: name someone other than yourself"]
    assert refused(read_representatives, {}, offered=OFFERED, member="hos-send", resolve=resolve) == [
        "name a representative for at least one meeting (leave the meetings you come to empty)"]


def test_each_issue_raised_keeps_its_owner_and_deadline() -> None:
    """Each line is an issue, its owner (known or new) and its deadline in London time; blank lines are skipped."""
    issues = ("Book the base room; hos-send; 14/11/2023 12:00\n\n"
              "Send the briefing notes; Owen Castell <owen.castell@demo-county.example>; 2023-11-15 16:30\n"
              "Call the school; Grace Okafor <grace.okafor@demo-valley-school.example>; 15/11/2023 09:00")
    details = read_record(issues, " Everyone is well. ", now=NOW, resolve=resolve)
    assert details == {"notes": "Everyone is well.", "issues": [
        {"text": "Book the base room", "owner": {"key": "hos-send"}, "due": "2023-11-14T12:00:00+00:00"},
        {"text": "Send the briefing notes", "owner": {"key": "case-dc1001-1"}, "due": "2023-11-15T16:30:00+00:00"},
        {"text": "Call the school",
         "owner": {"name": "Grace Okafor", "email": "grace.okafor@demo-valley-school.example"},
         "due": "2023-11-15T09:00:00+00:00"}]}
    assert read_record("", "", now=NOW, resolve=resolve) == {"issues": [], "notes": ""}


def test_a_bad_issue_line_is_refused_naming_the_line_and_part() -> None:
    """Too few parts, a missing issue, an unknown owner, a deadline that is no date or has passed: each named."""
    issues = ("Book the base room; hos-send\n"
              " ; hos-send; 14/11/2023 12:00\n"
              "Call the school; the head; 14/11/2023 12:00\n"
              "Chase the data; hos-send; tomorrow\n"
              "Chase the figures; hos-send; 13/11/2023 09:00")
    lines = refused(read_record, issues, "", now=NOW, resolve=resolve)
    assert lines[0] == "issues, line 1: expected 3 parts separated by ';' (issue; owner; deadline), found 2"
    assert lines[1] == "issues, line 2: the issue is missing"
    assert lines[2].startswith("issues, line 3, owner: 'the head' is not a person id of the inspection")
    assert lines[3] == ("issues, line 4, deadline: 'tomorrow' is not a date and time: write dd/mm/yyyy or yyyy-mm-dd "
                        "and HH:MM, e.g. 15/11/2023 12:00")
    assert lines[4] == "issues, line 5, deadline: Mon 13 Nov 2023 09:00 has passed: give a deadline still to come"
