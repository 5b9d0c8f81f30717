"""Read the fieldwork timetable from a spreadsheet, refusing it with every problem; compare two versions of it.

The inspection team keeps the inspectors' timetable (the week 2 virtual meetings and the week 3 on-site
week) as a spreadsheet, one slot a row, the headings in row 1 (matched whatever their case or spacing):

    Slot       a short id, unique in the file, kept when the slot is edited (e.g. W3-TUE-02)
    Kind       one of KINDS (tracking-meeting, leaders-meeting, staff-meeting, ...)
    Title      what the attendees see as the meeting's subject
    Date       dd/mm/yyyy or yyyy-mm-dd (or a workbook date cell)
    Start      HH:MM, 24-hour, Europe/London wall time (or a workbook time cell)
    End        HH:MM, after Start on the same day
    Location   a room, a setting's name and address, or "Teams"
    Attendees  person ids from partnership.yaml (or the parent carer forum's id), separated by ';' or ','; someone
               not in partnership.yaml (a setting's lead, a front-line practitioner) as `Name <address>`, or by the
               address alone if the inspection already knows them (named on a tracked case): they are invited like
               staff
    Debriefer  optional: the person id (or `Name <address>`) who debriefs the attendees after the slot
    Focus      optional: free text, e.g. the lines of enquiry or the children's case ids to be discussed

Debriefer and Focus may be left out; every other column is required. A problem names the file, the row
as the spreadsheet shows it (the header is row 1), the column heading and the slot id, and the file is
refused as a whole (TimetableRefused): nothing partial is ever returned.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING

from send_inspection.calendar import LONDON, london_time, to_london
from send_inspection.childdata.dates import FORMATS as DATE_FORMATS
from send_inspection.childdata.dates import parse_date, uk
from send_inspection.config.models import Person
from send_inspection.engine.named_people import parse_name_and_address
from send_inspection.locations import where

if TYPE_CHECKING:  # pandas is imported by read_table, only when a timetable file is read
    import pandas as pd

KINDS: tuple[str, ...] = (
    "tracking-meeting",
    "leaders-meeting",
    "staff-meeting",
    "children-and-families",
    "parent-carer-forum",
    "sampling-visit",
    "opening-meeting",
    "keeping-in-touch",
    "feedback-meeting",
)

# How each kind is described to the people invited (the wording of the guidance for managers).
KIND_TITLES: dict[str, str] = {
    "tracking-meeting": "Multi-agency tracking meeting",
    "leaders-meeting": "Meeting with leaders",
    "staff-meeting": "Meeting with practitioners and staff",
    "children-and-families": "Meeting with children, young people and families",
    "parent-carer-forum": "Meeting with the parent carer forum",
    "sampling-visit": "Sampling visit to a provider or setting",
    "opening-meeting": "Opening meeting with leaders",
    "keeping-in-touch": "Keep in touch meeting with leaders and the LANO",
    "feedback-meeting": "Feedback meeting",
    # The partnership's own meetings on the timetable (never in the inspectors' file).
    "practitioners-briefing": "Briefing for the practitioners of a tracked child",
    "internal-kit": "Internal keeping-in-touch (KIT) meeting of the core group",
}

# Slot field -> the column heading the spreadsheet uses.
COLUMNS: dict[str, str] = {
    "slot_id": "Slot",
    "kind": "Kind",
    "title": "Title",
    "date": "Date",
    "start": "Start",
    "end": "End",
    "location": "Location",
    "attendees": "Attendees",
    "debriefer": "Debriefer",
    "focus": "Focus",
}
OPTIONAL_COLUMNS = frozenset({"debriefer", "focus"})
# Longest text kept per cell (the database's columns for a slot): the slot id, and the title and location.
MAX_LENGTH = {"slot_id": 80, "title": 300, "location": 300}

_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")  # HH:MM, or HH:MM:00 from a workbook time cell
_SEPARATORS = re.compile(r"[;,\n]")


# ---------------------------------------------------------------- slots and problems


@dataclass(frozen=True)
class Slot:
    """One slot of the inspectors' timetable: who meets, when (Europe/London), where and about what."""

    slot_id: str
    kind: str
    title: str
    start: datetime
    end: datetime
    location: str
    attendees: tuple[str, ...]
    debriefer: str | None = None
    focus: str = ""

    def __post_init__(self) -> None:
        # Times are kept in Europe/London so that equal slots compare equal whatever zone they were given in.
        object.__setattr__(self, "start", to_london(self.start))
        object.__setattr__(self, "end", to_london(self.end))
        if not isinstance(self.attendees, tuple):
            object.__setattr__(self, "attendees", tuple(self.attendees))
        if self.end <= self.start:
            raise ValueError(f"slot {self.slot_id!r} must end after it starts")

    def overlaps(self, other: Slot) -> bool:
        """Say whether the two slots share any time (one ending as the other starts is not an overlap)."""
        return self.start < other.end and other.start < self.end

    def when(self) -> str:
        """Return `dd/mm/yyyy HH:MM-HH:MM` in London time."""
        return f"{uk(self.start.date())} {self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class TimetableProblem:
    """One thing wrong in the timetable: the file, the spreadsheet row and column, the slot id, and what."""

    file: str
    message: str
    row: int | None = None
    column: str | None = None
    slot_id: str | None = None

    def __str__(self) -> str:
        """Return `file, row R, column 'C', slot S: message`, leaving out what is not known."""
        place = where(self.file, row=self.row, column=self.column, label="slot", ident=self.slot_id)
        return f"{place}: {self.message}"


class TimetableRefused(Exception):
    """The timetable cannot be used and nothing was read from it; `problems` lists everything found wrong."""

    def __init__(self, problems: list[TimetableProblem]) -> None:
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        """Return a count line, then one problem per line."""
        head = f"timetable refused: {len(self.problems)} problem(s); nothing was read"
        return "\n".join([head, *(str(p) for p in self.problems)])


@dataclass(frozen=True)
class Timetable:
    """Every slot of one timetable file, in the order of its rows."""

    file: str
    slots: tuple[Slot, ...]

    def __iter__(self) -> Iterator[Slot]:
        """Iterate over the slots in row order."""
        return iter(self.slots)

    def __len__(self) -> int:
        """Return the number of slots."""
        return len(self.slots)

    def slot(self, slot_id: str) -> Slot:
        """Return the slot with this id."""
        for s in self.slots:
            if s.slot_id == slot_id:
                return s
        raise KeyError(slot_id)

    def for_person(self, person_id: str) -> list[Slot]:
        """Return the slots `person_id` attends, earliest first."""
        return sorted((s for s in self.slots if person_id in s.attendees), key=lambda s: (s.start, s.slot_id))


# ---------------------------------------------------------------- reading


def _heading_key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text).lower())


def _kind_key(text: str) -> str:
    return re.sub(r"[\s_]+", "-", text.strip().lower())


def parse_clock(text: str) -> time | None:
    """Return the time `text` holds (HH:MM, 24-hour, or HH:MM:00 from a workbook time cell), or None."""
    m = _TIME.match(text.strip())
    if not m or (m.group(3) not in (None, "00")):
        return None
    hour, minute = int(m.group(1)), int(m.group(2))
    return time(hour, minute) if hour < 24 and minute < 60 else None


def wall_clock(day: date, at: time) -> datetime | None:
    """Return `at` on `day` in Europe/London, or None when the clocks going forward skip that time."""
    moment = london_time(day, at)
    back = moment.astimezone(UTC).astimezone(LONDON)
    return moment if (back.date(), back.time()) == (day, at) else None


def _split_ids(text: str) -> list[str]:
    """Return the ids in a cell, lower-case (a name and address as written), in order, each once."""
    ids = [part.strip() if "@" in part else part.strip().lower() for part in _SEPARATORS.split(text)]
    return list(dict.fromkeys(i for i in ids if i))


def named(ref: str) -> str | None:
    """Return `Name <address>` as the timetable keeps someone written by address (None if it is not an address)."""
    person = parse_name_and_address(ref)
    if person is None:
        return None
    return f"{person.name} <{person.email}>" if person.name else person.email


class _Reader:
    """Check one timetable's rows, collecting every problem."""

    def __init__(self, file: str, headings: dict[str, str], *, people: dict[str, str], kinds: tuple[str, ...]):
        self.file = file
        self.headings = headings  # field -> the heading as written in the file
        self.people = people  # person id -> name ('' when only ids are known)
        self.kinds = kinds
        self.problems: list[TimetableProblem] = []

    def problem(self, row: int, name: str, message: str, *, slot_id: str | None) -> None:
        """Note a problem in column `name` (a Slot field) of `row`."""
        column = self.headings.get(name, COLUMNS[name])
        self.problems.append(TimetableProblem(self.file, message, row=row, column=column, slot_id=slot_id or None))

    def who(self, person_id: str) -> str:
        """Return `id (Name)`, or the id alone when no name is known."""
        name = self.people.get(person_id, "")
        return f"{person_id} ({name})" if name else person_id

    def unknown_person(self, ref: str) -> str:
        """Say that `ref` is not a person id, suggesting the closest one (or the id of a person so named)."""
        by_name = [pid for pid, name in self.people.items() if name and name.lower() == ref.lower()]
        close = by_name or difflib.get_close_matches(ref, sorted(self.people), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        if close and self.people[close[0]]:
            hint = f" (did you mean {close[0]!r}, {self.people[close[0]]}?)"
        if not hint:
            hint = "; write someone not in it as Name <address>"
        return f"{ref!r} is not a person id in partnership.yaml{hint}"

    def person_ids(self, row: int, name: str, text: str, *, slot_id: str) -> list[str] | None:
        """Return the known person ids in a cell, or None after noting each unknown one."""
        if name not in self.headings:
            return None if name not in OPTIONAL_COLUMNS else []
        ids: list[str] = []
        unknown = []
        for ref in _split_ids(text):
            kept = named(ref) if "@" in ref else ref
            if kept is None:
                message = (f"{ref!r} is not a name and address: write someone not in partnership.yaml as "
                           "Name <address>, e.g. Grace Okafor <grace.okafor@school.example>")
                self.problem(row, name, message, slot_id=slot_id)
                unknown.append(ref)
            elif "@" not in kept and kept not in self.people:
                self.problem(row, name, self.unknown_person(ref), slot_id=slot_id)
                unknown.append(ref)
            else:
                ids.append(kept)
        return None if unknown else list(dict.fromkeys(ids))

    def required(self, row: int, name: str, text: str, message: str, *, slot_id: str) -> str | None:
        """Return the cell's text, or None after noting `message` when it is blank."""
        if name not in self.headings:
            return None
        if not text:
            self.problem(row, name, message, slot_id=slot_id)
            return None
        if len(text) > MAX_LENGTH.get(name, len(text)):
            message = f"too long: at most {MAX_LENGTH[name]} characters ({len(text)} written)"
            self.problem(row, name, message, slot_id=slot_id if name != "slot_id" else None)
            return None
        return text

    def kind(self, row: int, text: str, *, slot_id: str) -> str | None:
        """Return the slot's kind, or None after noting why it is not one."""
        if "kind" not in self.headings:
            return None
        if not text:
            self.problem(row, "kind", f"no kind: write one of {', '.join(self.kinds)}", slot_id=slot_id)
            return None
        key = _kind_key(text)
        if key in self.kinds:
            return key
        allowed = ", ".join(self.kinds)
        if key in KINDS:  # a kind the caller left out of `kinds`
            self.problem(row, "kind", f"kind {key!r} is not allowed in this timetable (kinds: {allowed})",
                         slot_id=slot_id)
            return None
        close = difflib.get_close_matches(key, self.kinds, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"kinds: {allowed}"
        self.problem(row, "kind", f"unknown kind {text!r} ({hint})", slot_id=slot_id)
        return None

    def day(self, row: int, text: str, *, slot_id: str) -> date | None:
        """Return the slot's date, or None after noting why it is not one."""
        if "date" not in self.headings:
            return None
        found = parse_date(text) if text else None
        if found is None:
            said = f"{text!r} is not a date" if text else "no date"
            self.problem(row, "date", f"{said}: write {DATE_FORMATS}", slot_id=slot_id)
        return found

    def clock(self, row: int, name: str, text: str, *, slot_id: str) -> time | None:
        """Return a start or end time, or None after noting why it is not one."""
        if name not in self.headings:
            return None
        found = parse_clock(text) if text else None
        if found is None:
            said = f"{text!r} is not a time" if text else f"no {COLUMNS[name].lower()} time"
            self.problem(row, name, f"{said}: write HH:MM, 24-hour, e.g. 09:30 or 14:00", slot_id=slot_id)
        return found

    def moment(self, row: int, name: str, day: date, at: time, *, slot_id: str) -> datetime | None:
        """Return `at` on `day` in London, or None after noting that the time does not exist that day."""
        found = wall_clock(day, at)
        if found is None:
            message = f"{at:%H:%M} does not exist on {uk(day)} in London: the clocks go forward an hour"
            self.problem(row, name, message, slot_id=slot_id)
        return found

    def slot(self, record: dict[str, str], row: int) -> Slot | None:
        """Return the row's slot, or None after noting every problem in it."""
        cell = {name: record.get(self.headings[name], "") if name in self.headings else "" for name in COLUMNS}
        written = cell["slot_id"]
        slot_id = self.required(row, "slot_id", written, "no slot id: give every slot a short unique id, "
                                "e.g. W3-TUE-02", slot_id=written)
        written = slot_id or ""  # a slot id too long to keep is not repeated in every problem
        kind = self.kind(row, cell["kind"], slot_id=written)
        title = self.required(row, "title", cell["title"], "no title: write what the attendees will see",
                              slot_id=written)
        day = self.day(row, cell["date"], slot_id=written)
        start_at = self.clock(row, "start", cell["start"], slot_id=written)
        end_at = self.clock(row, "end", cell["end"], slot_id=written)
        start = end = None
        if day is not None and start_at is not None and end_at is not None:
            start = self.moment(row, "start", day, start_at, slot_id=written)
            end = self.moment(row, "end", day, end_at, slot_id=written)
            if start and end and end <= start:
                message = f"the slot ends at {end_at:%H:%M}, not after it starts ({start_at:%H:%M})"
                self.problem(row, "end", message, slot_id=written)
                end = None
        location = self.required(row, "location", cell["location"],
                                 "no location: write the room, the setting's name and address, or 'Teams'",
                                 slot_id=written)
        attendees = self.person_ids(row, "attendees", cell["attendees"], slot_id=written)
        if attendees == []:
            message = "no attendees: list the person ids of who attends, separated by ';'"
            self.problem(row, "attendees", message, slot_id=written)
            attendees = None
        debriefers = self.person_ids(row, "debriefer", cell["debriefer"], slot_id=written)
        if debriefers is not None and len(debriefers) > 1:
            self.problem(row, "debriefer", "name one debriefer", slot_id=written)
            debriefers = None
        if not (slot_id and kind and title and start and end and location and attendees) or debriefers is None:
            return None
        return Slot(slot_id, kind, title, start, end, location, tuple(attendees),
                    debriefer=debriefers[0] if debriefers else None, focus=cell["focus"])

    def duplicates(self, rows: list[tuple[int, str]]) -> None:
        """Note each slot id used again, at the repeat, naming the row that first used it."""
        first: dict[str, int] = {}
        for row, slot_id in rows:
            key = slot_id.casefold()
            if not slot_id:
                continue
            if key in first:
                message = f"duplicate slot id {slot_id!r} (first used in row {first[key]}): give each slot its own id"
                self.problem(row, "slot_id", message, slot_id=slot_id)
            else:
                first[key] = row

    def overlaps(self, slots: list[tuple[int, Slot]]) -> None:
        """Note every pair of slots that overlap for someone who attends both, at the later row."""
        ordered = sorted(slots, key=lambda rs: (rs[1].start, rs[0]))
        for i, (row_a, a) in enumerate(ordered):
            for row_b, b in ordered[i + 1:]:
                if b.start >= a.end:
                    break
                shared = [p for p in a.attendees if p in b.attendees]
                if not shared:
                    continue
                (first_row, first), (row, later) = sorted([(row_a, a), (row_b, b)], key=lambda rs: rs[0])
                people = ", ".join(self.who(p) for p in shared)
                message = (
                    f"slot {later.slot_id!r} ({later.when()}) overlaps slot {first.slot_id!r} "
                    f"(row {first_row}, {first.when()}) for {people}, who cannot be in both"
                )
                self.problem(row, "attendees", message, slot_id=later.slot_id)


def _headings(file: str, columns: list[str]) -> tuple[dict[str, str], list[TimetableProblem]]:
    """Return field -> heading for the columns found, and a problem for each required column missing."""
    found: dict[str, str] = {}
    for heading in columns:
        key = _heading_key(heading)
        # "Slot id" is read as Slot (the field's own name), "start " or "START" as Start.
        name = next((n for n in COLUMNS if key in (_heading_key(COLUMNS[n]), n.replace("_", ""))), None)
        if name and name not in found:
            found[name] = heading
    seen = ", ".join(repr(c) for c in columns) or "none"
    problems = [
        TimetableProblem(file, f"missing column {COLUMNS[n]!r}; columns found: {seen}", row=1, column=COLUMNS[n])
        for n in COLUMNS
        if n not in found and n not in OPTIONAL_COLUMNS
    ]
    return found, problems


def _known_people(people: Iterable[str | Person]) -> dict[str, str]:
    known: dict[str, str] = {}
    for p in people:
        if isinstance(p, str):
            known[p] = known.get(p, "")
        else:
            known[p.id] = p.name
    return known


def read_timetable(
    path: Path | str,
    *,
    people: Iterable[str | Person],
    kinds: Iterable[str] = KINDS,
    sheet: str | None = None,
) -> Timetable:
    """Read the timetable at `path` (.csv or .xlsx); raise TimetableRefused listing every problem if any.

    `people` are the partnership's person ids (or Person objects, whose names then appear in messages and
    are recognised when typed instead of an id); `kinds` the slot kinds allowed.
    """
    from send_inspection.childdata.reading import ROW, Unreadable, read_table  # pandas: only to read a file

    path = Path(path)
    file = path.name
    if path.suffix.lower() not in (".csv", ".xlsx"):
        raise TimetableRefused([TimetableProblem(file, "cannot read this file: save the timetable as .csv or .xlsx")])
    try:
        raw = read_table(path, sheet=sheet)
    except Unreadable as exc:
        raise TimetableRefused([TimetableProblem(file, str(exc))]) from exc
    headings, problems = _headings(file, [c for c in raw.columns if c != ROW])
    reader = _Reader(file, headings, people=_known_people(people), kinds=tuple(kinds))
    reader.problems += problems
    if raw.empty:
        reader.problems.append(TimetableProblem(file, "the timetable has no slots"))
    records = _records(raw)
    slots = [(row, reader.slot(record, row)) for row, record in records]
    if "slot_id" in headings:
        reader.duplicates([(row, record.get(headings["slot_id"], "")) for row, record in records])
    reader.overlaps([(row, s) for row, s in slots if s is not None])
    if reader.problems:  # by row; within a row, in the order found (column by column, then across rows)
        raise TimetableRefused(sorted(reader.problems, key=lambda p: p.row or 0))
    return Timetable(file, tuple(s for _, s in slots if s is not None))


def _records(raw: pd.DataFrame) -> list[tuple[int, dict[str, str]]]:
    """Return each record as (spreadsheet row, heading -> text)."""
    from send_inspection.childdata.reading import ROW

    columns = [c for c in raw.columns if c != ROW]
    rows = raw[ROW].tolist()
    values = raw[columns].to_numpy(dtype=object).tolist() if columns else [[] for _ in rows]
    return [
        (int(row), dict(zip(columns, map(str, cells), strict=True))) for row, cells in zip(rows, values, strict=True)
    ]


# ---------------------------------------------------------------- comparing two versions


# What a slot's invitation shows; a difference in any of them is a change to the slot.
COMPARED: tuple[str, ...] = ("kind", "title", "start", "end", "location", "attendees", "debriefer", "focus")


@dataclass(frozen=True)
class SlotChange:
    """One slot in both versions whose details differ: what changed and who was added to it or removed."""

    old: Slot
    new: Slot
    fields: tuple[str, ...]
    added_attendees: tuple[str, ...] = ()
    removed_attendees: tuple[str, ...] = ()

    @property
    def slot_id(self) -> str:
        """Return the slot's id."""
        return self.new.slot_id

    @property
    def kept_attendees(self) -> tuple[str, ...]:
        """Return the attendees in both versions, in the new order."""
        return tuple(p for p in self.new.attendees if p in self.old.attendees)

    @property
    def moved(self) -> bool:
        """Say whether the slot's time or place changed."""
        return any(f in self.fields for f in ("start", "end", "location"))

    @property
    def update_to(self) -> tuple[str, ...]:
        """Return who needs an updated invitation: the kept attendees, unless only the attendee list changed."""
        return self.kept_attendees if any(f != "attendees" for f in self.fields) else ()

    @property
    def invite_to(self) -> tuple[str, ...]:
        """Return who needs a first invitation: the attendees added."""
        return self.added_attendees

    @property
    def cancel_to(self) -> tuple[str, ...]:
        """Return who needs a cancellation: the attendees removed."""
        return self.removed_attendees


@dataclass(frozen=True)
class TimetableChanges:
    """How a new version of the timetable differs from the old one, slot by slot."""

    added: tuple[Slot, ...] = ()
    changed: tuple[SlotChange, ...] = ()
    removed: tuple[Slot, ...] = ()
    unchanged: tuple[Slot, ...] = field(default=(), repr=False)

    def __bool__(self) -> bool:
        """Say whether anything was added, changed or removed."""
        return bool(self.added or self.changed or self.removed)


def _differences(old: Slot, new: Slot) -> tuple[str, ...]:
    """Return the names of the compared fields that differ (attendees compared as a set)."""
    differ = []
    for name in COMPARED:
        a, b = getattr(old, name), getattr(new, name)
        if (set(a) != set(b)) if name == "attendees" else (a != b):
            differ.append(name)
    return tuple(differ)


def timetable_changes(old: Iterable[Slot], new: Iterable[Slot]) -> TimetableChanges:
    """Compare two versions of the timetable by slot id: the slots added, changed and removed."""
    old_by_id = {s.slot_id: s for s in old}
    new_slots = list(new)
    new_ids = {s.slot_id for s in new_slots}
    added, changed, unchanged = [], [], []
    for slot in new_slots:
        before = old_by_id.get(slot.slot_id)
        if before is None:
            added.append(slot)
            continue
        differ = _differences(before, slot)
        if not differ:
            unchanged.append(slot)
            continue
        changed.append(
            SlotChange(
                before,
                slot,
                differ,
                added_attendees=tuple(p for p in slot.attendees if p not in before.attendees),
                removed_attendees=tuple(p for p in before.attendees if p not in slot.attendees),
            )
        )
    removed = tuple(s for s in old_by_id.values() if s.slot_id not in new_ids)
    return TimetableChanges(tuple(added), tuple(changed), removed, tuple(unchanged))
