"""Read the fields of the tracked-case pages that are not people: the meeting slot a team requested."""

from __future__ import annotations

from datetime import datetime

from send_inspection.engine.decisions import DecisionRefused

# The identify page's fields (see cases/people_form.py for what each holds).
IDENTIFY_FIELDS = ("practitioner_name", "practitioner_email", "practitioner_role", "settings", "others")


def requested_slot(value: str, *, note: str = "") -> str:
    """Return the comment recording a requested meeting slot (Europe/London wall time); refuse a bad one."""
    value = value.strip()
    if not value:
        raise DecisionRefused("give the date and time requested for the meeting", field="slot")
    if "T" not in value and " " not in value:
        raise DecisionRefused(f"{value!r} has no time: give the date and the time requested, e.g. 2023-07-04T10:00",
                              field="slot")
    try:
        slot = datetime.fromisoformat(value)
    except ValueError as exc:
        raise DecisionRefused(f"{value!r} is not a date and time (use the date picker, or write 2023-07-04T10:00)",
                              field="slot") from exc
    text = f"requested for {slot:%a %d %b %Y %H:%M} (Europe/London)"
    note = " ".join(note.split())[:500]
    return f"{text}; {note}" if note else text
