"""Read the keeping-in-touch forms: the day-1 agreement, a member's representatives, a meeting's record.

Each reader checks the whole form and raises FormRefused listing every problem by field and line, so nothing is
recorded until the form is right; what it returns is the data the keeping-in-touch phase acts on (kept with the
answer in our database). People are named by their id, by an address the inspection knows, or as `Name <address>`
when they are not in partnership.yaml (they are then added to the inspection's people by the phase).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from send_inspection.calendar import to_london
from send_inspection.childdata.dates import FORMATS as DATE_FORMATS
from send_inspection.childdata.dates import parse_date
from send_inspection.engine.decisions import DecisionRefused
from send_inspection.engine.named_people import MAX_TEXT, parse_name_and_address
from send_inspection.fieldwork.timetable import parse_clock, wall_clock

# The longest issue kept (a register item's title) and the longest notes.
MAX_ISSUE = 300
MAX_NOTES = 2000
# Returns the key of the inspection's person with this id or address, or None.
Resolve = Callable[[str], str | None]


class FormRefused(DecisionRefused):
    """The form cannot be accepted; `lines` says what is wrong where."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("nothing was recorded: correct the fields below and send the form again")
        self.lines = lines


@dataclass(frozen=True)
class OfferedMeeting:
    """A keeping-in-touch meeting the form offers: its day, its slot id and when it starts."""

    day: date
    slot_id: str
    start: datetime

    @property
    def label(self) -> str:
        """Return how the form names it, e.g. `Tue 14 Nov 17:30`."""
        return f"{to_london(self.start):%a %d %b %H:%M}"


def read_agreement(days: Sequence[str], bases: dict[str, str], *, offered: Sequence[OfferedMeeting],
                   members: dict[str, str], now: datetime) -> dict[str, object]:
    """Return the days agreed (ISO dates) and each member's base; refuse a day not offered or passed, a base missing."""
    problems: list[str] = []
    by_day = {m.day.isoformat(): m for m in offered}
    chosen = list(dict.fromkeys(d.strip() for d in days if d.strip()))
    for text in chosen:
        meeting = by_day.get(text)
        if meeting is None:
            problems.append(f"KIT days: {text!r} is not one of the days offered")
        elif meeting.start <= now:
            problems.append(f"KIT days: the meeting of {meeting.label} has started: untick it")
    if not chosen:
        problems.append("KIT days: tick at least one day")
    kept: dict[str, str] = {}
    for key, name in members.items():
        site = " ".join(bases.get(key, "").split())
        if not site:
            problems.append(f"where {name} will be based: missing")
        elif len(site) > MAX_TEXT:
            problems.append(f"where {name} will be based: keep it under {MAX_TEXT} characters")
        kept[key] = site
    if problems:
        raise FormRefused(problems)
    return {"days": sorted(chosen), "bases": kept}


def _person(text: str, *, where: str, resolve: Resolve, problems: list[str]) -> dict[str, str] | None:
    """Return {"key"} for someone the inspection knows, {"name", "email"} for someone new; None after a problem."""
    text = " ".join(text.split())
    if not text:
        problems.append(f"{where}: say who")
        return None
    if "@" not in text:
        key = resolve(text.lower())
        if key is None:
            problems.append(f"{where}: {text!r} is not a person id of the inspection; write someone else as "
                            "Name <address>, e.g. Jasmine Fairweather <jasmine.fairweather@demo-icb.nhs.example>")
            return None
        return {"key": key}
    person = parse_name_and_address(text)
    if person is None:
        problems.append(f"{where}: {text!r} is not a name and address like Jane Smith <jane.smith@example.org>")
        return None
    key = resolve(person.email)
    if key is not None:
        return {"key": key}
    if not person.name:
        problems.append(f"{where}: {person.email} is new to the inspection: give their name too, as Name <address>")
        return None
    return {"name": person.name, "email": person.email}


def read_representatives(named: dict[str, str], *, offered: Sequence[OfferedMeeting], member: str,
                         resolve: Resolve) -> dict[str, object]:
    """Return the representative named for each meeting (by slot id); refuse an unknown one or none at all."""
    problems: list[str] = []
    chosen: dict[str, dict[str, str]] = {}
    for meeting in offered:
        text = named.get(meeting.slot_id, "")
        if not text.strip():
            continue
        who = _person(text, where=f"representative at {meeting.label}", resolve=resolve, problems=problems)
        if who is not None and who.get("key") == member:
            problems.append(f"representative at {meeting.label}: name someone other than yourself")
        elif who is not None:
            chosen[meeting.slot_id] = who
    if not chosen and not problems:
        problems.append("name a representative for at least one meeting (leave the meetings you come to empty)")
    if problems:
        raise FormRefused(problems)
    return {"representatives": chosen}


def _deadline(text: str, *, where: str, now: datetime, problems: list[str]) -> datetime | None:
    """Return the deadline written as a date and a time (London), or None after a problem."""
    parts = text.split()
    day = parse_date(parts[0]) if len(parts) == 2 else None
    at = parse_clock(parts[1]) if day is not None else None
    moment = wall_clock(day, at) if day is not None and at is not None else None
    if moment is None:
        problems.append(f"{where}: {text!r} is not a date and time: write {DATE_FORMATS} and HH:MM, "
                        "e.g. 15/11/2023 12:00")
        return None
    if moment <= now:
        problems.append(f"{where}: {moment:%a %d %b %Y %H:%M} has passed: give a deadline still to come")
        return None
    return moment


def read_record(issues: str, notes: str, *, now: datetime, resolve: Resolve) -> dict[str, object]:
    """Return the issues raised (each with its owner and deadline) and the notes; refuse a line that is not right."""
    problems: list[str] = []
    raised: list[dict[str, object]] = []
    for number, line in enumerate(issues.splitlines(), start=1):
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split(";")]
        where = f"issues, line {number}"
        if len(cells) != 3:
            problems.append(f"{where}: expected 3 parts separated by ';' (issue; owner; deadline), found {len(cells)}")
            continue
        text, owner, due = cells
        if not text:
            problems.append(f"{where}: the issue is missing")
        elif len(text) > MAX_ISSUE:
            problems.append(f"{where}: keep the issue under {MAX_ISSUE} characters")
        who = _person(owner, where=f"{where}, owner", resolve=resolve, problems=problems)
        moment = _deadline(due, where=f"{where}, deadline", now=now, problems=problems)
        if text and len(text) <= MAX_ISSUE and who is not None and moment is not None:
            raised.append({"text": text, "owner": who, "due": moment.isoformat()})
    notes = notes.strip()
    if len(notes) > MAX_NOTES:
        problems.append(f"notes: keep them under {MAX_NOTES} characters")
    if problems:
        raise FormRefused(problems)
    return {"issues": raised, "notes": notes}
