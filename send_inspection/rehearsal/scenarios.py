"""The demo rehearsal's cast: most on time, some late, one absent whose deputy steps in, one return."""

from __future__ import annotations

from datetime import timedelta

from send_inspection.rehearsal.staff import Behaviour


def demo_behaviours() -> dict[str, Behaviour]:
    """Return behaviours by person id for the Demo County rehearsal (everyone else answers in 45 minutes)."""
    return {
        # Absent all week: the deputy (the performance service manager) is escalated to and steps in.
        "hos-data": Behaviour(absent=True),
        # Slow but on time: answers after the reminders, before 17:00.
        "hos-participation": Behaviour(delay=timedelta(hours=6, minutes=30)),
        # Late: would answer at 18:30; the deputy escalated to at 17:00 answers first.
        "hos-education": Behaviour(delay=timedelta(hours=9, minutes=30)),
        # Returns the self-evaluation once with a comment.
        "dir-inclusion": Behaviour(delay=timedelta(minutes=40), returns_once=frozenset({"1.3"})),
    }


DEFAULT_DELAY = timedelta(minutes=45)
