"""One tick at a time: when a tick stands down for another, and when it is too late to act."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from send_inspection.live.ticks import Tick, why_stand_down

NOW = datetime(2030, 6, 24, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=90)


def test_a_tick_stands_down_for_an_earlier_tick_still_within_its_lease() -> None:
    """Another tick started 10 s before this one and still running: this one does nothing."""
    me = Tick("b", due_at=NOW, started_at=NOW)
    assert why_stand_down(me, [Tick("a", due_at=None, started_at=NOW - timedelta(seconds=10))], now=NOW,
                          lease=LEASE) == "tick a is running"


def test_a_tick_killed_with_its_worker_holds_the_others_back_only_for_the_lease() -> None:
    """A tick left Running by a killed worker, started over a lease ago, no longer stops the next one."""
    me = Tick("b", due_at=NOW, started_at=NOW)
    zombie = Tick("a", due_at=None, started_at=NOW - LEASE - timedelta(seconds=1))
    assert why_stand_down(me, [zombie], now=NOW, lease=LEASE) is None


def test_of_two_ticks_started_together_exactly_one_goes() -> None:
    """Same start time: the lower id goes, the other stands down, so they never both act nor both stand down."""
    a, b = Tick("a", due_at=NOW, started_at=NOW), Tick("b", due_at=NOW, started_at=NOW)
    assert why_stand_down(a, [b], now=NOW, lease=LEASE) is None
    assert why_stand_down(b, [a], now=NOW, lease=LEASE) == "tick a is running"


def test_a_scheduled_tick_over_two_minutes_late_does_nothing() -> None:
    """Ticks that waited for a worker do not pile their passes up behind each other; the next on-time tick acts."""
    assert why_stand_down(Tick("a", due_at=NOW - timedelta(minutes=3), started_at=NOW), [], now=NOW, lease=LEASE)
    assert why_stand_down(Tick("a", due_at=NOW - timedelta(seconds=50), started_at=NOW), [], now=NOW,
                          lease=LEASE) is None
