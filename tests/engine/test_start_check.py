"""The past/future check of a notification time: more than a day ago or in the future needs `deliberate`."""

from __future__ import annotations

from datetime import timedelta

import pytest

from send_inspection.engine.start_check import NotificationTimeRefused, check_notification_time
from tests.conftest import NOTIFIED


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(hours=-23)])
def test_a_call_within_the_last_day_is_accepted(offset: timedelta) -> None:
    """A call up to a day ago starts without more ado."""
    check_notification_time(NOTIFIED + offset, now=NOTIFIED, deliberate=False)


@pytest.mark.parametrize(("offset", "says"), [(timedelta(days=-11), "is more than a day ago"),
                                              (timedelta(minutes=5), "is in the future")])
def test_a_call_far_in_the_past_or_in_the_future_is_refused_unless_deliberate(offset: timedelta, says: str) -> None:
    """Eleven days back or five minutes ahead is refused, naming the time; marked deliberate, it is accepted."""
    with pytest.raises(NotificationTimeRefused, match=says):
        check_notification_time(NOTIFIED + offset, now=NOTIFIED, deliberate=False)
    check_notification_time(NOTIFIED + offset, now=NOTIFIED, deliberate=True)
