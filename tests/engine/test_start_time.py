"""The time of the inspectors' call: within the last day, else refused unless the coordinator says it is deliberate."""

from __future__ import annotations

from datetime import timedelta

import pytest

from send_inspection.clock import VirtualClock
from send_inspection.engine.start_time import StartTime, check_start_time
from tests.conftest import NOTIFIED


@pytest.mark.parametrize("after", [timedelta(0), timedelta(minutes=20), timedelta(hours=23), timedelta(days=1)])
def test_a_call_within_the_last_day_starts(after: timedelta) -> None:
    """A call up to a day ago (the next morning's start included) is accepted without a word."""
    assert check_start_time(NOTIFIED, clock=VirtualClock(NOTIFIED + after), deliberate=False) == StartTime()


def test_a_call_eleven_days_ago_is_refused_saying_why() -> None:
    """A call 11 days ago is refused: it would send every overdue ask at once; how to insist is given."""
    verdict = check_start_time(NOTIFIED, clock=VirtualClock(NOTIFIED + timedelta(days=11)), deliberate=False)
    assert verdict.note is None
    assert verdict.refused == (
        "The time of the call, Mon 26 Jun 2023 09:00, is 11 days ago: an inspection started now would send at once "
        "every ask whose deadline has passed, and the late reports. Give the time of today's call. Nothing was started "
        "or sent. If a back-dated start is deliberate, say so (--deliberate on the command line, or tick 'deliberate' "
        "in the Prefect form).")


def test_a_call_just_over_a_day_ago_is_refused() -> None:
    """Twenty-five hours ago is more than a day: refused."""
    verdict = check_start_time(NOTIFIED, clock=VirtualClock(NOTIFIED + timedelta(hours=25)), deliberate=False)
    assert verdict.refused is not None and "is 25 hours ago" in verdict.refused


def test_a_call_in_the_future_is_refused() -> None:
    """Any time ahead of the clock is refused, even a minute."""
    verdict = check_start_time(NOTIFIED, clock=VirtualClock(NOTIFIED - timedelta(minutes=1)), deliberate=False)
    assert verdict.refused is not None
    assert verdict.refused.startswith("The time of the call, Mon 26 Jun 2023 09:00, is less than an hour in the future")


def test_a_deliberate_start_is_accepted_with_a_note() -> None:
    """Said to be deliberate, a back-dated or future start goes ahead, with the sentence its log begins with."""
    back = check_start_time(NOTIFIED, clock=VirtualClock(NOTIFIED + timedelta(days=11)), deliberate=True)
    assert back == StartTime(note="Deliberately back-dated start: the call is given as Mon 26 Jun 2023 09:00, 11 days "
                                  "ago; every ask whose deadline has passed goes at once, and late reports follow")
    ahead = check_start_time(NOTIFIED, clock=VirtualClock(NOTIFIED - timedelta(days=3)), deliberate=True)
    assert ahead.refused is None and (ahead.note or "").startswith("Deliberate start ahead of time")
