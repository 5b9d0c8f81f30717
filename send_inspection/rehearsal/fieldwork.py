"""The demo fieldwork: 3 virtual meetings in week 2, then 40 slots in week 3, a slot moved, 8 requests made in
meetings, 2 asked in debriefs, a red one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from send_inspection.calendar import london_time
from send_inspection.engine.additional_requests import record_request
from send_inspection.engine.context import EngineContext
from send_inspection.fieldwork.store import save_timetable
from send_inspection.fieldwork.timetable import Slot

# Heads of service who meet the inspectors and debrief (first of each pair), in turn through the week.
PAIRS = (("hos-send", "sm-performance"), ("hos-education", "hos-inclusion"), ("icb-commissioning", "icb-send-lead"),
         ("cht-therapies", "hos-participation"), ("hos-commissioning", "hos-send"), ("hos-inclusion", "hos-education"))
KINDS = ("tracking-meeting", "leaders-meeting", "staff-meeting", "children-and-families", "sampling-visit")
DAYS = ("MON", "TUE", "WED", "THU", "FRI")
# The slot whose debrief is red (given at 19:40, after the quiet hours began: it goes to the director at once), and
# the slots where the inspectors asked for a document.
RED_SLOT = "W3-WED-8"
RED_DEBRIEF_AFTER = timedelta(hours=2, minutes=50)
DOCUMENT_SLOTS = {"W3-THU-6": "Annual reviews audit 2023", "W3-FRI-2": "Short breaks sufficiency report"}
CHANGED_SLOT = "W3-THU-3"
# Requests as the inspectors make them: (day index, time, head of service, what they asked for).
REQUESTS = (
    (0, time(10, 30), "hos-send", "EHC plan timeliness by month for the last two years"),
    (0, time(16, 30), "hos-education", "Attendance of children on SEN support in the last term"),
    (1, time(11, 0), "icb-commissioning", "Waiting times for neurodevelopmental assessment"),
    (1, time(14, 0), "hos-inclusion", "The alternative provision quality assurance framework"),
    (2, time(9, 30), "hos-commissioning", "The short breaks statement and its last review"),
    (2, time(13, 0), "cht-therapies", "Speech and language therapy caseloads by school phase"),
    (3, time(10, 0), "hos-participation", "Minutes of the last two parent carer forum meetings"),
    (3, time(15, 0), "hos-send", "The SEND quality assurance framework"),
)


# Someone the inspectors' timetable names who is not in partnership.yaml: a school's SENCo, invited by address.
SENCO = "Grace Okafor <grace.okafor@demo-valley-school.example>"


def week2_timetable(monday: date) -> list[Slot]:
    """Return the inspectors' week-2 virtual meetings (the week starting `monday`), one naming a SENCo by address."""
    def meeting(slot_id: str, day: int, hour: int, kind: str, title: str, attendees: tuple[str, ...],
                debriefer: str) -> Slot:
        start = london_time(monday + timedelta(days=day), time(hour, 0))
        return Slot(slot_id=slot_id, kind=kind, title=title, start=start, end=start + timedelta(minutes=50),
                    location="Teams", attendees=attendees, debriefer=debriefer, focus="Lines of enquiry")

    return [
        meeting("W2-TUE-1", 1, 10, "leaders-meeting", "Virtual meeting with SEND leaders",
                ("dir-inclusion", "hos-send"), "hos-send"),
        meeting("W2-WED-1", 2, 15, "staff-meeting", "Virtual meeting with SENCos", ("hos-inclusion", SENCO),
                "hos-inclusion"),
        meeting("W2-THU-1", 3, 16, "children-and-families", "Virtual meeting with parents and carers",
                ("pcf-liaison", "hos-participation"), "hos-participation"),
    ]


def week3_timetable(monday: date) -> list[Slot]:
    """Return the demo's 40 fieldwork slots: an opening meeting, 38 meetings and visits, the feedback meeting."""
    slots = []
    for d, day_name in enumerate(DAYS):
        day = monday + timedelta(days=d)
        for n in range(1, 9):
            start = london_time(day, time(8 + n, 0))
            first, second = PAIRS[(d * 8 + n) % len(PAIRS)]
            kind = KINDS[(d + n) % len(KINDS)]
            title = f"{kind.replace('-', ' ').capitalize()} {day_name.title()} {n}"
            if (d, n) == (0, 1):
                kind, title, first, second = "opening-meeting", "Opening meeting with the inspectors", "dcs", \
                    "head-improvement"
            if (d, n) == (4, 6):
                kind, title, first, second = "feedback-meeting", "Feedback meeting", "dcs", "dir-inclusion"
            slots.append(Slot(slot_id=f"W3-{day_name}-{n}", kind=kind, title=title, start=start,
                              end=start + timedelta(minutes=50), location="Demo House, Room 3",
                              attendees=(first, second), debriefer=first, focus="Lines of enquiry"))
    return slots


def _moved(slots: list[Slot]) -> list[Slot]:
    """Return the timetable with the changed slot moved to another room."""
    from dataclasses import replace

    return [replace(s, location="Demo House, Room 7 (moved)") if s.slot_id == CHANGED_SLOT else s for s in slots]


def fieldwork_events(ctx: EngineContext, iid: str, *, monday: date,
                     slots: list[Slot]) -> list[tuple[datetime, Callable[[], int]]]:
    """Return the week's scripted happenings: the timetable change on Tuesday and the inspectors' requests."""
    events: list[tuple[datetime, Callable[[], int]]] = [
        (london_time(monday + timedelta(days=1), time(8, 0)), lambda: _change(ctx, iid, slots)),
    ]
    for d, at, hos, asked in REQUESTS:
        events.append((london_time(monday + timedelta(days=d), at), _asker(ctx, iid, hos, asked)))
    return events


def _change(ctx: EngineContext, iid: str, slots: list[Slot]) -> int:
    save_timetable(ctx, iid, _moved(slots))
    return 1


def _asker(ctx: EngineContext, iid: str, hos: str, asked: str) -> Callable[[], int]:
    def ask() -> int:
        record_request(ctx, iid, asked, inspector="Lead inspector (Demo)", head_of_service=hos, source="form")
        return 1

    return ask
