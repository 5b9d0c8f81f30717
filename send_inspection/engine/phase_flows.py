"""Say which flow carries each phase, and its parameters besides the inspection id (by the flow's name)."""

from __future__ import annotations

from send_inspection.engine.additional_requests import request_of
from send_inspection.engine.tracked_case import child_of

# Phases with one flow each; tracked cases ("case:<id>") and requests ("request:<n>") take a parameter too.
PHASE_FLOWS = {"notification": "notification", "day2": "annex-a-day-2", "day5": "annex-a-day-5",
               "fieldwork": "fieldwork", "bulletin": "staff-bulletin",
               "report": "inspection-report", "action-plan": "priority-action-plan"}


def phase_flow(phase: str) -> tuple[str, dict[str, object]]:
    """Return the name of the flow that carries `phase` and its parameters besides the inspection id."""
    if (child_id := child_of(phase)) is not None:
        return "tracked-case", {"child_id": child_id}
    if (number := request_of(phase)) is not None:
        return "additional-evidence-request", {"number": number}
    return PHASE_FLOWS[phase], {}
