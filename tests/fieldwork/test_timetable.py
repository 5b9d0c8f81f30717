"""Tests for reading the fieldwork timetable (every problem by file, row and column) and comparing two versions."""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Sequence
from datetime import date, datetime, time
from pathlib import Path

import openpyxl
import pytest

from send_inspection.calendar import LONDON
from send_inspection.config.models import PartnershipConfig, Person
from send_inspection.fieldwork.timetable import (
    KINDS,
    Slot,
    Timetable,
    TimetableProblem,
    TimetableRefused,
    read_timetable,
    timetable_changes,
)

GOOD = Path(__file__).parent / "fieldwork-timetable.csv"
HEADER = ["Slot", "Kind", "Title", "Date", "Start", "End", "Location", "Attendees", "Debriefer", "Focus"]


@pytest.fixture(scope="module")
def people(demo_config: PartnershipConfig) -> list[Person]:
    """Return the Demo County people from partnership.yaml, and its parent carer forum."""
    return list(demo_config.partnership.parties())


@pytest.fixture(scope="module")
def good(people: list[Person]) -> Timetable:
    """Return the shipped test timetable (weeks 2 and 3 of a June 2023 inspection), read."""
    return read_timetable(GOOD, people=people)


def row(slot: str = "W3-TUE-05", **cells: str) -> list[str]:
    """Return one valid timetable row (a Tuesday of week 3), with any cell replaced by its lower-case column name."""
    values = {
        "slot": slot,
        "kind": "staff-meeting",
        "title": "Meeting with EHC coordinators",
        "date": "11/07/2023",
        "start": "10:00",
        "end": "11:00",
        "location": "Demo House, Room 2.14",
        "attendees": "hos-send; send-qa-manager",
        "debriefer": "inspection-coordinator",
        "focus": "Timeliness and quality of EHC plans",
    }
    values.update(cells)
    return [values[h.lower()] for h in HEADER]


def write(tmp_path: Path, rows: Sequence[Sequence[str]], *, header: Sequence[str] = HEADER,
          name: str = "timetable.csv") -> Path:
    """Write a CSV timetable with `header` and `rows` and return its path."""
    path = tmp_path / name
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def refused(path: Path, people: list[Person], **kwargs: object) -> list[TimetableProblem]:
    """Read `path`, expecting it refused, and return the problems."""
    with pytest.raises(TimetableRefused) as caught:
        read_timetable(path, people=people, **kwargs)  # type: ignore[arg-type]
    return caught.value.problems


def messages(problems: list[TimetableProblem]) -> list[str]:
    """Return each problem as the coordinator reads it."""
    return [str(p) for p in problems]


# ---------------------------------------------------------------- a good timetable


def test_good_timetable_reads_every_slot(good: Timetable) -> None:
    """The week 2 and week 3 timetable reads into 15 slots in row order, covering every kind of slot."""
    assert len(good) == 15
    assert [s.slot_id for s in good][:3] == ["W2-MON-01", "W2-MON-02", "W2-TUE-01"]
    assert {s.kind for s in good} == set(KINDS)


def test_slot_fields_are_read(good: Timetable) -> None:
    """A slot has its kind, title, London times, location, attendee ids in order, debriefer and focus."""
    slot = good.slot("W2-MON-01")
    assert slot == Slot(
        "W2-MON-01",
        "tracking-meeting",
        "Multi-agency tracking meeting: case DC-0142",
        datetime(2023, 7, 3, 10, 0, tzinfo=LONDON),
        datetime(2023, 7, 3, 11, 0, tzinfo=LONDON),
        "Microsoft Teams",
        ("hos-send", "cht-therapies", "hos-disabled-children"),
        debriefer="send-qa-manager",
        focus="Tracked case DC-0142: how the EHC plan's outcomes are reviewed and the therapy input",
    )
    assert slot.start.tzinfo is LONDON and slot.start.utcoffset().total_seconds() == 3600


def test_iso_date_comma_separated_attendees_and_blank_debriefer(good: Timetable) -> None:
    """An ISO date and attendees separated by commas are read; a blank debriefer and focus are allowed."""
    wednesday = good.slot("W2-WED-01")
    assert wednesday.start == datetime(2023, 7, 5, 13, 0, tzinfo=LONDON)
    assert wednesday.attendees == ("hos-education", "hos-inclusion")
    kit = good.slot("W3-TUE-03")
    assert kit.debriefer is None and kit.focus == ""
    assert good.slot("W3-MON-01").location == "Demo House, Room 2.14 (inspectors' base)"


def test_for_person_lists_their_slots_in_time_order(good: Timetable) -> None:
    """The LANO's slots come back earliest first, the Thursday keep in touch meeting before Friday's feedback."""
    ids = [s.slot_id for s in good.for_person("head-improvement")]
    assert ids == ["W2-MON-02", "W3-MON-01", "W3-TUE-03", "W3-WED-03", "W3-THU-02", "W3-FRI-01"]


def test_xlsx_with_date_and_time_cells_reads_like_the_csv(
    tmp_path: Path, people: list[Person], good: Timetable
) -> None:
    """The same timetable saved as a workbook with real date and time cells gives the same slots."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    with GOOD.open(encoding="utf-8") as fh:
        for record in csv.DictReader(fh):
            day = record["Date"]
            cell_day = date.fromisoformat(day) if "-" in day else datetime.strptime(day, "%d/%m/%Y").date()
            start, end = (time.fromisoformat(record[c]) for c in ("Start", "End"))
            sheet.append([record["Slot"], record["Kind"], record["Title"], cell_day, start, end,
                          record["Location"], record["Attendees"], record["Debriefer"], record["Focus"]])
    path = tmp_path / "timetable.xlsx"
    book.save(path)
    assert read_timetable(path, people=people).slots == good.slots


def test_headings_in_any_case_and_optional_columns_left_out(tmp_path: Path, people: list[Person]) -> None:
    """Headings match whatever their case and spacing ('Slot id' is Slot); Debriefer and Focus may be left out."""
    header = ["slot id", "KIND", "Title", "date", "Start", "end", "Location", "attendees"]
    path = write(tmp_path, [row()[:8]], header=header)
    (slot,) = read_timetable(path, people=people)
    assert (slot.slot_id, slot.debriefer, slot.focus) == ("W3-TUE-05", None, "")


def test_blank_rows_are_skipped_and_rows_keep_their_numbers(tmp_path: Path, people: list[Person]) -> None:
    """A blank row is skipped, and a problem after it still names the row the spreadsheet shows."""
    path = write(tmp_path, [row("A"), [""] * 10, row("B", attendees="nobody")])
    (problem,) = refused(path, people)
    assert problem.row == 4


def test_kind_written_with_spaces_or_capitals_is_accepted(tmp_path: Path, people: list[Person]) -> None:
    """'Sampling Visit' is read as the kind sampling-visit, and 'HOS-SEND' as the person id hos-send."""
    path = write(tmp_path, [row(kind="Sampling Visit", attendees="HOS-SEND")])
    (slot,) = read_timetable(path, people=people)
    assert (slot.kind, slot.attendees) == ("sampling-visit", ("hos-send",))


def test_touching_slots_and_same_time_other_day_are_not_overlaps(tmp_path: Path, people: list[Person]) -> None:
    """One slot ending at 11:00 and the next starting at 11:00, or the same time on another day, are fine."""
    path = write(tmp_path, [
        row("A", start="10:00", end="11:00"),
        row("B", start="11:00", end="12:00"),
        row("C", date="12/07/2023", start="10:30", end="11:30"),
    ])
    assert [s.slot_id for s in read_timetable(path, people=people)] == ["A", "B", "C"]


# ---------------------------------------------------------------- each rule, by row and column


def test_unknown_person_suggests_the_closest_id(tmp_path: Path, people: list[Person]) -> None:
    """A misspelt attendee id is refused at its row and the Attendees column, suggesting the closest id."""
    path = write(tmp_path, [row("W3-TUE-05"), row("W3-TUE-06", start="14:00", end="15:00",
                                                  attendees="hos-sned; cht-camhs")])
    assert messages(refused(path, people)) == [
        "timetable.csv, row 3, column 'Attendees', slot W3-TUE-06: 'hos-sned' is not a person id in "
        "partnership.yaml (did you mean 'hos-send', Catherine Lowther?)"
    ]


def test_name_typed_instead_of_id_suggests_that_persons_id(tmp_path: Path, people: list[Person]) -> None:
    """A person's name written instead of their id suggests their id."""
    path = write(tmp_path, [row(attendees="Catherine Lowther")])
    (problem,) = refused(path, people)
    assert problem.message.endswith("(did you mean 'hos-send', Catherine Lowther?)")


def test_someone_not_in_partnership_yaml_is_written_as_a_name_and_address(tmp_path: Path,
                                                                         people: list[Person]) -> None:
    """A setting's lead written as Name <address> (or a bare address) is kept as written, capitals in the name too
    (the import finds them by address: see tests/fieldwork/test_store.py)."""
    path = write(tmp_path, [row(attendees="hos-send; Grace Okafor <Grace.Okafor@demo-valley-school.example>; "
                                          "grace.okafor@demo-valley-school.example",
                                debriefer="Tom Barraclough <tom.barraclough@demo-valley-school.example>")])
    (slot,) = read_timetable(path, people=people)
    assert slot.attendees == ("hos-send", "Grace Okafor <grace.okafor@demo-valley-school.example>",
                              "grace.okafor@demo-valley-school.example")
    assert slot.debriefer == "Tom Barraclough <tom.barraclough@demo-valley-school.example>"


def test_a_name_with_a_bad_address_is_refused_saying_how_to_write_one(tmp_path: Path, people: list[Person]) -> None:
    """An attendee with an '@' that is no address is refused at its row and column, with an example to follow."""
    path = write(tmp_path, [row(attendees="hos-send; Grace Okafor <grace.okafor@school>")])
    assert messages(refused(path, people)) == [
        "timetable.csv, row 2, column 'Attendees', slot W3-TUE-05: 'Grace Okafor <grace.okafor@school>' is not a "
        "name and address: write someone not in partnership.yaml as Name <address>, e.g. Grace Okafor "
        "<grace.okafor@school.example>"]


def test_unknown_debriefer_is_refused(tmp_path: Path, people: list[Person]) -> None:
    """A debriefer who is not in partnership.yaml is refused in the Debriefer column."""
    path = write(tmp_path, [row(debriefer="leah")])
    (problem,) = refused(path, people)
    assert (problem.row, problem.column) == (2, "Debriefer")
    assert "'leah' is not a person id" in problem.message


def test_overlapping_slots_for_one_person(tmp_path: Path, people: list[Person]) -> None:
    """Two slots that overlap for the Head of SEND are refused at the later row, naming both slots and her."""
    path = write(tmp_path, [
        row("W3-TUE-05", start="10:00", end="11:00", attendees="hos-send; send-qa-manager"),
        row("W3-TUE-06", start="09:00", end="09:45", attendees="hos-send"),
        row("W3-TUE-07", start="10:30", end="11:30", attendees="hos-send; cht-camhs", debriefer=""),
    ])
    assert messages(refused(path, people)) == [
        "timetable.csv, row 4, column 'Attendees', slot W3-TUE-07: slot 'W3-TUE-07' (11/07/2023 10:30-11:30) "
        "overlaps slot 'W3-TUE-05' (row 2, 11/07/2023 10:00-11:00) for hos-send (Catherine Lowther), "
        "who cannot be in both"
    ]


def test_overlap_names_everyone_in_both_slots(tmp_path: Path, people: list[Person]) -> None:
    """When two people are double-booked by the same two slots, one problem names them both."""
    path = write(tmp_path, [
        row("A", start="10:00", end="12:00", attendees="hos-send; cht-camhs; hos-data"),
        row("B", start="11:00", end="11:30", attendees="cht-camhs; hos-send"),
    ])
    (problem,) = refused(path, people)
    assert "for hos-send (Catherine Lowther), cht-camhs (Dr James Ardley)," in problem.message


@pytest.mark.parametrize("bad", ["9.30", "25:00", "10:75", "half nine", "10:00:30"])
def test_bad_time(tmp_path: Path, people: list[Person], bad: str) -> None:
    """A start time that is not HH:MM (24-hour) is refused in the Start column, quoting what was written."""
    path = write(tmp_path, [row(start=bad)])
    assert messages(refused(path, people)) == [
        f"timetable.csv, row 2, column 'Start', slot W3-TUE-05: {bad!r} is not a time: write HH:MM, 24-hour, "
        "e.g. 09:30 or 14:00"
    ]


def test_missing_column(tmp_path: Path, people: list[Person]) -> None:
    """A timetable without an End column is refused at row 1 naming the column, without a problem per row."""
    header = [h for h in HEADER if h != "End"]
    rows = [[c for h, c in zip(HEADER, row(s), strict=True) if h != "End"] for s in ("A", "B")]
    path = write(tmp_path, rows, header=header)
    assert messages(refused(path, people)) == [
        "timetable.csv, row 1, column 'End': missing column 'End'; columns found: 'Slot', 'Kind', 'Title', "
        "'Date', 'Start', 'Location', 'Attendees', 'Debriefer', 'Focus'"
    ]


@pytest.mark.parametrize("end", ["09:30", "10:00"])
def test_end_not_after_start(tmp_path: Path, people: list[Person], end: str) -> None:
    """A slot ending before, or as, it starts is refused in the End column."""
    path = write(tmp_path, [row(start="10:00", end=end)])
    assert messages(refused(path, people)) == [
        f"timetable.csv, row 2, column 'End', slot W3-TUE-05: the slot ends at {end}, not after it starts (10:00)"
    ]


def test_unknown_kind_suggests_the_closest(tmp_path: Path, people: list[Person]) -> None:
    """A misspelt kind is refused in the Kind column with the closest kind suggested."""
    path = write(tmp_path, [row(kind="tracking meting")])
    (problem,) = refused(path, people)
    assert problem.column == "Kind"
    assert problem.message == "unknown kind 'tracking meting' (did you mean 'tracking-meeting'?)"


def test_kinds_can_be_restricted(tmp_path: Path, people: list[Person]) -> None:
    """With kinds limited to tracking meetings, a staff meeting is refused and the allowed kinds listed."""
    path = write(tmp_path, [row()])
    (problem,) = refused(path, people, kinds=("tracking-meeting",))
    assert problem.message == "kind 'staff-meeting' is not allowed in this timetable (kinds: tracking-meeting)"


@pytest.mark.parametrize("bad", ["31/02/2023", "11-07-2023", "Tuesday"])
def test_bad_date(tmp_path: Path, people: list[Person], bad: str) -> None:
    """A date that does not exist or is in another format is refused in the Date column."""
    path = write(tmp_path, [row(date=bad)])
    (problem,) = refused(path, people)
    assert (problem.column, problem.message) == ("Date", f"{bad!r} is not a date: write dd/mm/yyyy or yyyy-mm-dd")


def test_duplicate_slot_id(tmp_path: Path, people: list[Person]) -> None:
    """A slot id used twice is refused at the repeat, naming the row that first used it."""
    path = write(tmp_path, [row("W3-TUE-05"), row("w3-tue-05", date="12/07/2023")])
    assert messages(refused(path, people)) == [
        "timetable.csv, row 3, column 'Slot', slot w3-tue-05: duplicate slot id 'w3-tue-05' (first used in row 2): "
        "give each slot its own id"
    ]


def test_blank_required_cells(tmp_path: Path, people: list[Person]) -> None:
    """Blank slot id, title, location and attendees are each refused in their own column."""
    path = write(tmp_path, [row("", title="", location="", attendees="")])
    assert [(p.column, p.message.split(":")[0]) for p in refused(path, people)] == [
        ("Slot", "no slot id"),
        ("Title", "no title"),
        ("Location", "no location"),
        ("Attendees", "no attendees"),
    ]


def test_too_long_slot_id_and_title(tmp_path: Path, people: list[Person]) -> None:
    """A slot id over 80 characters or a title over 300 is refused in its column."""
    path = write(tmp_path, [row("W3-" + "X" * 78, title="Meeting " * 40)])
    assert [(p.column, p.message) for p in refused(path, people)] == [
        ("Slot", "too long: at most 80 characters (81 written)"),
        ("Title", "too long: at most 300 characters (319 written)"),
    ]


def test_too_long_slot_id_alone_is_refused(tmp_path: Path, people: list[Person]) -> None:
    """A slot id over 80 characters is refused even when the rest of the row is good."""
    path = write(tmp_path, [row("W3-" + "X" * 78)])
    assert messages(refused(path, people)) == [
        "timetable.csv, row 2, column 'Slot': too long: at most 80 characters (81 written)"
    ]


def test_time_skipped_when_the_clocks_go_forward(tmp_path: Path, people: list[Person]) -> None:
    """01:30 on 26 March 2023 does not exist in London and is refused."""
    path = write(tmp_path, [row(date="26/03/2023", start="01:30", end="02:30")])
    (problem,) = refused(path, people)
    assert problem.message == "01:30 does not exist on 26/03/2023 in London: the clocks go forward an hour"


def test_several_problems_are_listed_at_once(tmp_path: Path, people: list[Person]) -> None:
    """Every problem in the file is listed together, by row, and nothing is returned."""
    path = write(tmp_path, [
        row("W3-WED-01", date="12/07/2023"),
        row("W3-WED-02", date="12/07/2023", start="14:00", end="13:00"),
        row("W3-WED-03", date="12/07/2023", kind="visit", attendees="hos-send; dir-inclusoin"),
        row("W3-WED-04", date="12/07/2023", start="10:30", end="11:30", attendees="send-qa-manager"),
        row("W3-WED-05", date="12/07/2023", start="noon", end="13:00"),
    ])
    with pytest.raises(TimetableRefused) as caught:
        read_timetable(path, people=people)
    problems = caught.value.problems
    assert [(p.row, p.column) for p in problems] == [
        (3, "End"), (4, "Kind"), (4, "Attendees"), (5, "Attendees"), (6, "Start")
    ]
    text = str(caught.value)
    assert text.startswith("timetable refused: 5 problem(s); nothing was read\n")
    assert "overlaps slot 'W3-WED-01' (row 2, 12/07/2023 10:00-11:00) for send-qa-manager (Fiona Hargreaves)" in text


def test_problem_without_row_or_column(tmp_path: Path, people: list[Person]) -> None:
    """A file that is not a spreadsheet, or has no slots, is refused with the file named."""
    text_file = tmp_path / "timetable.docx"
    text_file.write_text("not a spreadsheet")
    assert messages(refused(text_file, people)) == [
        "timetable.docx: cannot read this file: save the timetable as .csv or .xlsx"
    ]
    assert messages(refused(write(tmp_path, []), people)) == ["timetable.csv: the timetable has no slots"]
    assert messages(refused(tmp_path / "missing.csv", people)) == ["missing.csv: file not found"]


# ---------------------------------------------------------------- comparing two versions


def test_moved_slot(good: Timetable) -> None:
    """A slot moved to another time is changed, and its attendees all need an update."""
    old = good.slot("W3-TUE-02")
    moved = dataclasses.replace(old, start=datetime(2023, 7, 11, 15, 0, tzinfo=LONDON),
                                end=datetime(2023, 7, 11, 16, 0, tzinfo=LONDON))
    changes = timetable_changes(good, [moved if s is old else s for s in good])
    (change,) = changes.changed
    assert (changes.added, changes.removed) == ((), ())
    assert change.slot_id == "W3-TUE-02" and change.fields == ("start", "end") and change.moved
    assert change.update_to == ("cht-camhs", "cht-therapies")
    assert (change.invite_to, change.cancel_to) == ((), ())
    assert len(changes.unchanged) == 14


def test_attendee_added(good: Timetable) -> None:
    """Adding the Head of Data to a slot invites only her; the others need no update."""
    old = good.slot("W3-WED-02")
    new = dataclasses.replace(old, attendees=(*old.attendees, "hos-data"))
    (change,) = timetable_changes(good, [new if s is old else s for s in good]).changed
    assert change.fields == ("attendees",) and not change.moved
    assert (change.added_attendees, change.removed_attendees) == (("hos-data",), ())
    assert (change.update_to, change.invite_to, change.cancel_to) == ((), ("hos-data",), ())
    assert change.kept_attendees == ("hos-send", "icb-commissioning")


def test_attendee_removed_while_the_room_changes(good: Timetable) -> None:
    """Taking someone off a slot that also changes room cancels for them and updates the rest."""
    old = good.slot("W3-WED-01")
    new = dataclasses.replace(old, attendees=("hos-short-breaks",), location="Oakfield Short Breaks Centre, Hall")
    (change,) = timetable_changes(good, [new if s is old else s for s in good]).changed
    assert change.fields == ("location", "attendees") and change.moved
    assert change.update_to == ("hos-short-breaks",)
    assert (change.invite_to, change.cancel_to) == ((), ("hos-disabled-children",))


def test_slot_cancelled_and_slot_added(good: Timetable) -> None:
    """A slot no longer in the timetable is removed, and a slot with a new id is added."""
    extra = dataclasses.replace(good.slot("W3-WED-02"), slot_id="W3-WED-04", start=datetime(2023, 7, 12, 11, 0,
                                tzinfo=LONDON), end=datetime(2023, 7, 12, 12, 0, tzinfo=LONDON))
    new = [s for s in good if s.slot_id != "W3-TUE-01"] + [extra]
    changes = timetable_changes(good, new)
    assert [s.slot_id for s in changes.removed] == ["W3-TUE-01"]
    assert [s.slot_id for s in changes.added] == ["W3-WED-04"]
    assert changes.changed == () and changes


def test_same_timetable_and_reordered_attendees_are_no_change(good: Timetable) -> None:
    """Reading the same file again, or listing a slot's attendees in another order, changes nothing."""
    old = good.slot("W2-MON-01")
    reordered = dataclasses.replace(old, attendees=tuple(reversed(old.attendees)))
    assert not timetable_changes(good, good)
    assert not timetable_changes(good, [reordered if s is old else s for s in good])


def test_changes_between_two_files(tmp_path: Path, people: list[Person], good: Timetable) -> None:
    """An edited copy of the file (a visit moved to the afternoon, a tracking meeting cancelled) compares as such."""
    text = GOOD.read_text(encoding="utf-8")
    text = text.replace("W3-TUE-01,sampling-visit,Sampling visit: Brookfield Special School,11/07/2023,09:30,12:00",
                        "W3-TUE-01,sampling-visit,Sampling visit: Brookfield Special School,11/07/2023,13:00,15:30")
    text = "\n".join(line for line in text.splitlines() if not line.startswith("W3-WED-02,")) + "\n"
    edited = tmp_path / "timetable-v2.csv"
    edited.write_text(text, encoding="utf-8")
    changes = timetable_changes(good, read_timetable(edited, people=people))
    assert [(c.slot_id, c.fields) for c in changes.changed] == [("W3-TUE-01", ("start", "end"))]
    assert changes.changed[0].new.start == datetime(2023, 7, 11, 13, 0, tzinfo=LONDON)
    assert [s.slot_id for s in changes.removed] == ["W3-WED-02"] and changes.added == ()


def test_slot_refuses_naive_times_and_end_before_start() -> None:
    """A Slot built in code needs aware times and must end after it starts."""
    start = datetime(2023, 7, 11, 10, 0, tzinfo=LONDON)
    with pytest.raises(ValueError, match="naive"):
        Slot("X", "staff-meeting", "t", datetime(2023, 7, 11, 10, 0), start, "Teams", ("hos-send",))
    with pytest.raises(ValueError, match="end after"):
        Slot("X", "staff-meeting", "t", start, start, "Teams", ("hos-send",))


def test_people_given_as_ids_only(tmp_path: Path) -> None:
    """With only person ids known, an unknown id still gets the closest id suggested, without a name."""
    path = write(tmp_path, [row(attendees="hos-sned", debriefer="")])
    (problem,) = refused(path, ["hos-send", "send-qa-manager"])  # type: ignore[list-item]
    assert problem.message == "'hos-sned' is not a person id in partnership.yaml (did you mean 'hos-send'?)"
