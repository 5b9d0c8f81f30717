"""The rule for the time of the inspectors' call: an inspection starts from a call made in the last day.

A call time more than a day ago opens an inspection whose early deadlines have passed: every ask whose deadline
is gone goes at once, late, with LATE reports. A time in the future starts nothing for days and then everything.
Both are typing mistakes far more often than intended, so they are refused unless the coordinator says the start
is deliberate (recovering after an outage, or a drill); a deliberate start says so first in its log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from send_inspection.calendar import to_london
from send_inspection.clock import Clock

# How long after the call an inspection may still be started without saying so: the coordinator starts it on the
# day of the call, or the next morning at the latest.
LATEST_START = timedelta(days=1)
# How the coordinator says a start is deliberate, in the words of each door.
DELIBERATE = "--deliberate on the command line, or tick 'deliberate' in the Prefect form"


@dataclass(frozen=True)
class StartTime:
    """What the rule says of a call time: refused (why), or accepted with a note to log first (a deliberate one)."""

    refused: str | None = None
    note: str | None = None


def _span(delta: timedelta) -> str:
    hours = round(delta.total_seconds() / 3600)
    if hours >= 48:
        return f"{round(hours / 24)} days"
    return f"{hours} hour{'' if hours == 1 else 's'}" if hours else "less than an hour"


def check_start_time(notified_at: datetime, *, clock: Clock, deliberate: bool) -> StartTime:
    """Judge the time of the call against the clock: refuse one over a day ago or ahead, unless deliberate."""
    now = clock.now()
    call = f"{to_london(notified_at):%a %d %b %Y %H:%M}"
    if notified_at > now:
        ahead = _span(notified_at - now)
        if deliberate:
            return StartTime(note=f"Deliberate start ahead of time: the call is given as {call}, {ahead} from now; "
                                  "nothing is asked before its time")
        return StartTime(refused=f"The time of the call, {call}, is {ahead} in the future: give the time the lead "
                                 f"inspector phoned. Nothing was started or sent. If it is deliberate, say so "
                                 f"({DELIBERATE}).")
    if now - notified_at > LATEST_START:
        ago = _span(now - notified_at)
        if deliberate:
            return StartTime(note=f"Deliberately back-dated start: the call is given as {call}, {ago} ago; every ask "
                                  "whose deadline has passed goes at once, and late reports follow")
        return StartTime(refused=f"The time of the call, {call}, is {ago} ago: an inspection started now would send "
                                 "at once every ask whose deadline has passed, and the late reports. Give the time of "
                                 f"today's call. Nothing was started or sent. If a back-dated start is deliberate, "
                                 f"say so ({DELIBERATE}).")
    return StartTime()


class NotificationTimeRefused(ValueError):
    """The time of the call is more than a day ago or in the future, and the start is not marked deliberate."""


def require_start_time(notified_at: datetime, *, clock: Clock, deliberate: bool) -> str | None:
    """Refuse the time of the call as `check_start_time` says; return the note a deliberate start logs first."""
    verdict = check_start_time(notified_at, clock=clock, deliberate=deliberate)
    if verdict.refused:
        raise NotificationTimeRefused(verdict.refused)
    return verdict.note
