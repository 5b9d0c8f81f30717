"""When the ticker takes a phase's run for dead: by its Prefect state and how long it went without a sign of life."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prefect.states import Completed, Crashed, Failed, Paused, Pending, Running, Scheduled, State

from send_inspection.live.recovery import why_dead

NOW = datetime(2030, 6, 24, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=90)
PENDING_GRACE = timedelta(seconds=450)  # five leases, the default


@pytest.mark.parametrize(("state", "silent", "dead"), [
    (Running(), timedelta(seconds=60), False),
    (Running(), timedelta(seconds=91), True),
    (Pending(), timedelta(seconds=300), False),  # the worker may still be starting its process on a busy machine
    (Pending(), timedelta(seconds=451), True),  # past its grace: the worker died before starting it
    (Crashed(message="killed"), timedelta(0), True),
    (Failed(message="boom"), timedelta(0), True),
    (Completed(), timedelta(0), True),  # ended without marking its phase done (a replaced run stopping)
    (Paused(reschedule=True), timedelta(days=3), False),  # suspended: waiting is its job
    (Scheduled(), timedelta(hours=1), False),  # waiting for a worker to come back
])
def test_a_run_is_dead_when_it_ended_or_went_silent_past_its_lease(state: State, silent: timedelta,
                                                                   dead: bool) -> None:
    """Ended runs are dead at once; a running one after a lease of silence, a pending one after its grace."""
    why = why_dead(state, last_seen=NOW - silent, now=NOW, lease=LEASE, pending_grace=PENDING_GRACE)
    assert (why is not None) is dead


def test_the_reason_says_how_long_the_run_was_silent_in_london_time() -> None:
    """The reason, shown on the Crashed run, gives the last sign of life in London time and what was allowed."""
    why = why_dead(Running(), last_seen=NOW - timedelta(minutes=2), now=NOW, lease=LEASE, pending_grace=PENDING_GRACE)
    assert why == ("its run has been Running with no sign of life since 09:58:00 London time (allowed 90s): "
                   "its process stopped")


def test_a_pending_run_is_given_the_grace_it_is_configured_with() -> None:
    """A worker that starts containers slowly gets a longer grace; the reason says how long was allowed."""
    slow = timedelta(minutes=15)
    assert why_dead(Pending(), last_seen=NOW - timedelta(minutes=10), now=NOW, lease=LEASE, pending_grace=slow) is None
    why = why_dead(Pending(), last_seen=NOW - timedelta(minutes=16), now=NOW, lease=LEASE, pending_grace=slow)
    assert why is not None and "(allowed 900s)" in why
