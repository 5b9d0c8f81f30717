"""The past/future check of a notification time: a start far in the past or in the future must be deliberate."""

from __future__ import annotations

from datetime import datetime, timedelta

from send_inspection.calendar import to_london

# A call more than this long ago is taken for a typing slip unless the coordinator says it is deliberate: every ask
# and LATE report of the days since would go at once.
PAST_ALLOWED = timedelta(days=1)


class NotificationTimeRefused(ValueError):
    """The notification time is more than a day in the past or in the future and not marked deliberate."""


def check_notification_time(notified_at: datetime, *, now: datetime, deliberate: bool) -> None:
    """Refuse a notification time more than a day in the past or in the future, unless it is deliberate."""
    if deliberate:
        return
    when = f"{to_london(notified_at):%a %d %b %Y %H:%M}"
    if notified_at > now:
        raise NotificationTimeRefused(
            f"notified at {when} is in the future: give the time the lead inspector phoned, or say the start is "
            "deliberate (a rehearsal of a coming date)")
    if now - notified_at > PAST_ALLOWED:
        raise NotificationTimeRefused(
            f"notified at {when} is more than a day ago: every ask and late report of the days since would go at "
            "once; check the date, or say the back-dated start is deliberate")
