"""The demo forum's meeting with the inspectors: a week-2 slot, on the timetable the inspectors send that Monday."""

from __future__ import annotations

from datetime import date, time, timedelta

from send_inspection.calendar import london_time
from send_inspection.fieldwork.timetable import Slot

FORUM_SLOT = "W2-WED-FORUM"


def forum_meeting(onsite_monday: date) -> Slot:
    """Return the forum's remote meeting with the inspectors on the Wednesday of week 2, 10:00 to 11:00."""
    start = london_time(onsite_monday - timedelta(days=5), time(10, 0))
    return Slot(slot_id=FORUM_SLOT, kind="parent-carer-forum", title="Meeting with the Demo County Parent Carer Forum",
                start=start, end=start + timedelta(hours=1), location="Microsoft Teams",
                attendees=("parent-carer-forum", "pcf-liaison", "hos-participation"), debriefer="pcf-liaison",
                focus="How families are heard; the forum's views on the self-evaluation")
