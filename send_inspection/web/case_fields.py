"""Read the fields of the tracked-case pages that are not people: the time and place a team booked for a meeting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from send_inspection.calendar import LONDON, to_london
from send_inspection.engine.decisions import DecisionRefused

# The identify page's fields (see cases/people_form.py for what each holds).
IDENTIFY_FIELDS = ("practitioner_name", "practitioner_email", "practitioner_role", "settings", "others")
# The longest place kept (a timetable slot's location).
MAX_LOCATION = 300


@dataclass(frozen=True)
class BookedMeeting:
    """A meeting booked for a tracked child: the comment its answer records, and its time and place as data."""

    comment: str
    details: dict[str, str]


def _start(value: str) -> datetime:
    """Return the date and time written (Europe/London wall time); refuse one without a time or not a date."""
    value = value.strip()
    if not value:
        raise DecisionRefused("give the date and time requested for the meeting", field="slot")
    if "T" not in value and " " not in value:
        raise DecisionRefused(f"{value!r} has no time: give the date and the time requested, e.g. 2023-07-04T10:00",
                              field="slot")
    try:
        return datetime.fromisoformat(value).replace(tzinfo=LONDON)
    except ValueError as exc:
        raise DecisionRefused(f"{value!r} is not a date and time (use the date picker, or write 2023-07-04T10:00)",
                              field="slot") from exc


def booked_meeting(slot: str, location: str, *, note: str = "", now: datetime,
                   latest: datetime | None) -> BookedMeeting:
    """Return the booking of a meeting at `slot` in `location`; refuse a bad time, one passed or after fieldwork."""
    start = _start(slot)
    if start <= now:
        raise DecisionRefused(f"{start:%a %d %b %Y %H:%M} has passed: give a time still to come", field="slot")
    if latest is not None and start >= latest:
        raise DecisionRefused(f"the inspection's fieldwork ends {to_london(latest):%a %d %b %Y %H:%M}: give a time "
                              "before then", field="slot")
    place = " ".join(location.split())
    if not place:
        raise DecisionRefused("say where the meeting is: a room, a setting's name and address, or Teams",
                              field="location")
    if len(place) > MAX_LOCATION:
        raise DecisionRefused(f"keep the place under {MAX_LOCATION} characters", field="location")
    text = f"booked for {start:%a %d %b %Y %H:%M} (Europe/London) at {place}"
    note = " ".join(note.split())[:500]
    return BookedMeeting(comment=f"{text}; {note}" if note else text,
                         details={"start": start.isoformat(), "location": place})
