"""Durations in config become timedeltas when it is loaded, keeping the words they were written in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from send_inspection.config.models import Chasing, Duration, PartnershipConfig


def test_the_demo_timeline_loads_its_durations_as_timedeltas(demo_config: PartnershipConfig) -> None:
    """Reminders, escalation gaps, request deadlines, debriefs and the token grace are timedeltas once loaded."""
    timeline = demo_config.timeline
    assert timeline.chasing.reminders_before == [timedelta(hours=3), timedelta(hours=1)]
    assert [d.text for d in timeline.chasing.reminders_before] == ["3h", "1h"]  # as the reminders' keys say
    assert timeline.token_valid_after_deadline == timedelta(days=3)
    assert timeline.additional_requests.confirm_within == timedelta(minutes=30)
    assert timeline.fieldwork.debrief_within == timedelta(hours=2)


def test_a_duration_that_is_not_one_is_refused_at_load() -> None:
    """A duration written wrong is refused by the config's validation, saying what was expected."""
    with pytest.raises(ValidationError, match="'3 hours' is not a duration like '30m', '3h' or '1d'"):
        Chasing(reminders_before=["3 hours"])
    assert Chasing(escalate_up_after="90m").model_dump()["escalate_up_after"] == "90m"
    assert Duration("90m") == timedelta(minutes=90)
