"""Milestones of an inspection, worked out by hand for the shipped Demo County timeline."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from send_inspection import PROJECT_ROOT
from send_inspection.calendar import LONDON, WorkingCalendar
from send_inspection.config.loader import load_config, timeline_for
from send_inspection.config.models import PartnershipConfig
from send_inspection.timeline import AfterRule, DayRule, TimelineError, compute_timeline

CAL = WorkingCalendar()

# Notified Monday 26 June 2023 (the Hertfordshire inspection of the seeds). Working days:
# 1 Mon 26 Jun, 2 Tue 27, 4 Thu 29, 5 Fri 30, 6 Mon 3 Jul, 11 Mon 10 Jul, 15 Fri 14 Jul.
# After the feedback meeting: 14 working days -> Thu 3 Aug; 30 working days -> Fri 25 Aug.
EXPECTED_JUNE_2023 = {
    "evidence_leads_initial_due": "2023-06-26T17:00:00+01:00",
    "health_template_contacts_due": "2023-06-27T08:00:00+01:00",
    "health_template_due": "2023-06-27T09:00:00+01:00",
    "accountable_review_initial_due": "2023-06-27T10:00:00+01:00",
    "director_check_initial_due": "2023-06-27T11:00:00+01:00",
    "annex_a_initial_due": "2023-06-27T12:00:00+01:00",
    "child_level_data_due": "2023-06-27T12:00:00+01:00",
    "providers_list_due": "2023-06-27T12:00:00+01:00",
    "cases_selected_expected": "2023-06-27T17:00:00+01:00",
    "tracked_case_practitioners_due": "2023-06-28T12:00:00+01:00",
    "tracked_case_agreement_due": "2023-06-28T17:00:00+01:00",
    "evidence_leads_final_due": "2023-06-29T17:00:00+01:00",
    "tracked_case_documents_due": "2023-06-29T17:00:00+01:00",
    "accountable_signoff_final_due": "2023-06-30T12:00:00+01:00",
    "director_check_final_due": "2023-06-30T15:00:00+01:00",
    "annex_a_final_due": "2023-06-30T17:00:00+01:00",
    "tracked_case_reviews_due": "2023-06-30T10:00:00+01:00",
    "tracked_cases_collated_due": "2023-06-30T11:00:00+01:00",
    "tracked_cases_info_due": "2023-06-30T17:00:00+01:00",
    "surveys_close": "2023-07-03T09:00:00+01:00",
    "setup_call_due": "2023-06-26T17:00:00+01:00",
    "opening_headlines_due": "2023-07-04T12:00:00+01:00",
    "opening_attendees_due": "2023-07-04T17:00:00+01:00",
    "forum_views_due": "2023-07-04T17:00:00+01:00",
    "logistics_rooms_due": "2023-07-05T17:00:00+01:00",
    "opening_attendee_list_due": "2023-07-06T12:00:00+01:00",
    "opening_presentation_due": "2023-07-06T17:00:00+01:00",
    "logistics_it_due": "2023-07-06T17:00:00+01:00",
    "welcome_pack_due": "2023-07-07T12:00:00+01:00",
    "onsite_start": "2023-07-10T09:00:00+01:00",
    "feedback_meeting": "2023-07-14T14:00:00+01:00",
    "draft_report_expected_by": "2023-08-03T17:00:00+01:00",
    "final_report_expected_by": "2023-08-25T17:00:00+01:00",
}


@pytest.fixture(scope="module")
def demo() -> PartnershipConfig:
    """Load the shipped Demo County config."""
    return load_config(PROJECT_ROOT / "config" / "demo-county")


def iso(timeline: dict[str, datetime]) -> dict[str, str]:
    """Return the timeline as ISO strings, keeping its order."""
    return {name: moment.isoformat() for name, moment in timeline.items()}


def test_demo_timeline_june_2023(demo: PartnershipConfig) -> None:
    """Notified Monday 26 June 2023 at 09:00, every milestone lands as worked out by hand, in file order."""
    timeline = iso(timeline_for(demo, datetime(2023, 6, 26, 9, 0)))
    assert timeline == EXPECTED_JUNE_2023
    assert list(timeline) == list(EXPECTED_JUNE_2023)


def test_timeline_is_the_same_for_any_zone_of_notification(demo: PartnershipConfig) -> None:
    """09:00 London given as 08:00 UTC gives the same timeline as naive 09:00."""
    utc = datetime.fromisoformat("2023-06-26T08:00:00+00:00")
    assert iso(timeline_for(demo, utc)) == EXPECTED_JUNE_2023


def test_late_evening_utc_notification_counts_london_day(demo: PartnershipConfig) -> None:
    """23:30 UTC on Sunday 25 June 2023 is 00:30 Monday in London, so Monday is day 1."""
    timeline = timeline_for(demo, datetime.fromisoformat("2023-06-25T23:30:00+00:00"))
    assert timeline["evidence_leads_initial_due"].isoformat() == "2023-06-26T17:00:00+01:00"


def test_october_clock_change(demo: PartnershipConfig) -> None:
    """Notified Monday 23 October 2023: day 5 is BST, day 6 (after the clocks go back) is GMT at 09:00."""
    timeline = iso(timeline_for(demo, datetime(2023, 10, 23, 9, 30)))
    assert timeline["annex_a_final_due"] == "2023-10-27T17:00:00+01:00"
    assert timeline["tracked_cases_info_due"] == "2023-10-27T17:00:00+01:00"
    assert timeline["surveys_close"] == "2023-10-30T09:00:00+00:00"
    assert timeline["onsite_start"] == "2023-11-06T09:00:00+00:00"
    assert timeline["feedback_meeting"] == "2023-11-10T14:00:00+00:00"


def test_after_rule_without_time_keeps_wall_time_across_clock_change() -> None:
    """One working day after Friday 27 October 2023 17:00 BST is Monday 30 October 17:00 GMT."""
    rules = {"friday": DayRule(day=5, at=time(17)), "monday": AfterRule(after="friday", working_days=1)}
    timeline = compute_timeline(datetime(2023, 10, 23, 9, tzinfo=LONDON), rules, CAL)
    assert timeline["monday"].isoformat() == "2023-10-30T17:00:00+00:00"


def test_christmas_spanning_inspection(demo: PartnershipConfig) -> None:
    """Notified Monday 14 December 2026: 25 and 28 December 2026 and 1 January 2027 are skipped."""
    timeline = iso(timeline_for(demo, datetime(2026, 12, 14, 9, 0)))
    assert timeline["annex_a_initial_due"] == "2026-12-15T12:00:00+00:00"
    assert timeline["annex_a_final_due"] == "2026-12-18T17:00:00+00:00"
    assert timeline["surveys_close"] == "2026-12-21T09:00:00+00:00"
    # Days 6-10: Mon 21, Tue 22, Wed 23, Thu 24, then Tue 29 Dec; 11 is Wed 30 Dec.
    assert timeline["onsite_start"] == "2026-12-30T09:00:00+00:00"
    # Days 12-15: Thu 31 Dec, Mon 4, Tue 5, Wed 6 Jan 2027.
    assert timeline["feedback_meeting"] == "2027-01-06T14:00:00+00:00"
    assert timeline["draft_report_expected_by"] == "2027-01-26T17:00:00+00:00"
    assert timeline["final_report_expected_by"] == "2027-02-17T17:00:00+00:00"


def test_christmas_days_by_number() -> None:
    """Inspection days 9 to 13 from 14 December 2026 skip Christmas, Boxing Day (observed) and New Year."""
    rules = {f"day{n}": DayRule(day=n, at=time(9)) for n in range(9, 14)}
    timeline = compute_timeline(datetime(2026, 12, 14, 9, tzinfo=LONDON), rules, CAL)
    days = [moment.date() for moment in timeline.values()]
    assert days == [
        date(2026, 12, 24),
        date(2026, 12, 29),
        date(2026, 12, 30),
        date(2026, 12, 31),
        date(2027, 1, 4),
    ]


def test_rules_may_refer_to_later_rules() -> None:
    """An 'after' rule may name a milestone defined after it; the result keeps the rules' order."""
    rules = {
        "report": AfterRule(after="feedback", working_days=2, at=time(17)),
        "feedback": DayRule(day=15, at=time(14)),
    }
    timeline = compute_timeline(datetime(2023, 6, 26, 9, tzinfo=LONDON), rules, CAL)
    assert list(timeline) == ["report", "feedback"]
    assert timeline["report"].isoformat() == "2023-07-18T17:00:00+01:00"


def test_cyclic_rules_raise() -> None:
    """Two milestones that wait for each other raise TimelineError naming the cycle."""
    rules = {"a": AfterRule(after="b", working_days=1), "b": AfterRule(after="a", working_days=1)}
    with pytest.raises(TimelineError, match="depends on itself: a -> b -> a"):
        compute_timeline(datetime(2023, 6, 26, 9, tzinfo=LONDON), rules, CAL)


def test_self_referring_rule_raises() -> None:
    """A milestone that waits for itself raises TimelineError."""
    with pytest.raises(TimelineError, match="depends on itself"):
        compute_timeline(
            datetime(2023, 6, 26, 9, tzinfo=LONDON), {"a": AfterRule(after="a", working_days=0)}, CAL
        )


def test_unknown_rule_raises() -> None:
    """A milestone that waits for one that does not exist raises TimelineError naming both."""
    rules = {"report": AfterRule(after="feedback", working_days=14)}
    with pytest.raises(TimelineError, match="'report' refers to unknown milestone 'feedback'"):
        compute_timeline(datetime(2023, 6, 26, 9, tzinfo=LONDON), rules, CAL)


def test_naive_notification_is_refused_by_compute_timeline() -> None:
    """compute_timeline needs an aware notification time (timeline_for is the one that assumes London)."""
    with pytest.raises(ValueError):
        compute_timeline(datetime(2023, 6, 26, 9), {"d1": DayRule(day=1, at=time(17))}, CAL)
