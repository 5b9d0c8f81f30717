"""Working days in England: weekends, bank holidays, inspection day numbers."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from send_inspection.calendar import LONDON, WorkingCalendar, london_time, to_london

CAL = WorkingCalendar()


@pytest.mark.parametrize(
    ("day", "why"),
    [
        (date(2024, 4, 1), "Easter Monday"),
        (date(2023, 8, 28), "late August bank holiday"),
        (date(2026, 12, 25), "Christmas Day, a Friday"),
        (date(2026, 12, 28), "Boxing Day substitute, Monday"),
        (date(2020, 5, 8), "VE Day: the early May bank holiday moved to a Friday"),
        (date(2027, 1, 1), "New Year's Day"),
    ],
)
def test_bank_holidays_are_not_working_days(day: date, why: str) -> None:
    """England and Wales bank holidays are neither working days nor mistaken for weekends."""
    assert CAL.is_bank_holiday(day), why
    assert not CAL.is_working_day(day), why


def test_moved_early_may_holiday_leaves_first_monday_working() -> None:
    """In 2020 the first Monday of May was a normal working day, as the holiday moved to 8 May."""
    assert CAL.is_working_day(date(2020, 5, 4))


def test_christmas_week_2026_working_days() -> None:
    """Between Christmas Eve and New Year 2027 only 29, 30 and 31 December 2026 are working days."""
    days = [date(2026, 12, d) for d in range(24, 32)] + [date(2027, 1, 1), date(2027, 1, 4)]
    working = [d for d in days if CAL.is_working_day(d)]
    assert working == [
        date(2026, 12, 24),
        date(2026, 12, 29),
        date(2026, 12, 30),
        date(2026, 12, 31),
        date(2027, 1, 4),
    ]


def test_weekends_are_not_working_days() -> None:
    """Saturdays and Sundays are not working days; an ordinary Monday is."""
    assert not CAL.is_working_day(date(2023, 6, 24))
    assert not CAL.is_working_day(date(2023, 6, 25))
    assert CAL.is_working_day(date(2023, 6, 26))
    assert not CAL.is_bank_holiday(date(2023, 6, 24))


def test_next_working_day_skips_weekend_and_holiday() -> None:
    """The next working day after Good Friday 2024 is the Tuesday after Easter Monday."""
    assert CAL.next_working_day(date(2024, 3, 29)) == date(2024, 4, 2)
    assert CAL.next_working_day(date(2024, 4, 2)) == date(2024, 4, 2)


def test_add_working_days_crosses_bank_holiday() -> None:
    """Counting from Friday 25 August 2023, one working day on is Tuesday 29 August."""
    assert CAL.add_working_days(date(2023, 8, 25), 1) == date(2023, 8, 29)
    assert CAL.add_working_days(date(2023, 8, 25), 0) == date(2023, 8, 25)
    with pytest.raises(ValueError):
        CAL.add_working_days(date(2023, 8, 25), -1)


def test_inspection_days_from_a_monday() -> None:
    """Notified Monday 26 June 2023: day 1 is that Monday, day 6 the next Monday, day 15 Friday 14 July."""
    notified = date(2023, 6, 26)
    assert CAL.inspection_day(notified, 1) == notified
    assert CAL.inspection_day(notified, 2) == date(2023, 6, 27)
    assert CAL.inspection_day(notified, 6) == date(2023, 7, 3)
    assert CAL.inspection_day(notified, 15) == date(2023, 7, 14)
    with pytest.raises(ValueError):
        CAL.inspection_day(notified, 0)


def test_day_number_is_the_inverse_of_inspection_day() -> None:
    """day_number gives back the inspection day, and None for a weekend."""
    notified = date(2023, 6, 26)
    for n in range(1, 16):
        assert CAL.day_number(notified, CAL.inspection_day(notified, n)) == n
    assert CAL.day_number(notified, date(2023, 7, 1)) is None


def test_notification_on_saturday_starts_on_monday() -> None:
    """A notification on Saturday 24 June 2023 makes Monday 26 June day 1."""
    saturday = date(2023, 6, 24)
    assert CAL.inspection_day(saturday, 1) == date(2023, 6, 26)
    assert CAL.inspection_day(saturday, 2) == date(2023, 6, 27)
    assert CAL.day_number(saturday, saturday) is None
    assert CAL.day_number(saturday, date(2023, 6, 26)) == 1


def test_notification_on_bank_holiday_starts_next_working_day() -> None:
    """A notification on Easter Monday 2024 makes Tuesday 2 April day 1."""
    assert CAL.inspection_day(date(2024, 4, 1), 1) == date(2024, 4, 2)


def test_extra_and_removed_holidays() -> None:
    """A calendar can add a one-off bank holiday and drop a listed one."""
    cal = WorkingCalendar(extra_holidays=[date(2023, 6, 28)], not_holidays=[date(2023, 8, 28)])
    assert not cal.is_working_day(date(2023, 6, 28))
    assert cal.is_working_day(date(2023, 8, 28))
    assert cal.inspection_day(date(2023, 6, 26), 3) == date(2023, 6, 29)


def test_london_time_follows_summer_time() -> None:
    """Wall time 09:00 is +01:00 in June and +00:00 in December."""
    assert london_time(date(2023, 6, 26), time(9)).isoformat() == "2023-06-26T09:00:00+01:00"
    assert london_time(date(2023, 12, 4), time(9)).isoformat() == "2023-12-04T09:00:00+00:00"


def test_to_london_rejects_naive_datetimes() -> None:
    """A naive datetime has no zone, so converting it is refused; an aware one is converted."""
    with pytest.raises(ValueError):
        to_london(datetime(2023, 6, 26, 9))
    converted = to_london(datetime.fromisoformat("2023-06-26T08:00:00+00:00"))
    assert converted == datetime(2023, 6, 26, 9, tzinfo=LONDON)
    assert converted.utcoffset() is not None and converted.utcoffset().total_seconds() == 3600
