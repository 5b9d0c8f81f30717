"""Working days in England: Monday to Friday, not an England and Wales bank holiday."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

LONDON = ZoneInfo("Europe/London")


@lru_cache(maxsize=64)
def _england_bank_holidays(year: int) -> frozenset[date]:
    # subdiv="ENG" matters: holidays.UK() alone omits Easter Monday and the summer bank holiday.
    return frozenset(holidays.UK(subdiv="ENG", years=year).keys())


class WorkingCalendar:
    """Count working days in England and place deadlines in Europe/London wall time."""

    def __init__(self, *, extra_holidays: Iterable[date] = (), not_holidays: Iterable[date] = ()) -> None:
        self.extra_holidays = frozenset(extra_holidays)
        self.not_holidays = frozenset(not_holidays)

    def is_bank_holiday(self, day: date) -> bool:
        """Say whether `day` is an England and Wales bank holiday."""
        if day in self.not_holidays:
            return False
        return day in self.extra_holidays or day in _england_bank_holidays(day.year)

    def is_working_day(self, day: date) -> bool:
        """Say whether `day` is Monday to Friday and not a bank holiday."""
        return day.weekday() < 5 and not self.is_bank_holiday(day)

    def next_working_day(self, day: date) -> date:
        """Return `day` if it is a working day, else the next one."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, day: date, n: int) -> date:
        """Return the working day `n` working days after `day` (n >= 0)."""
        if n < 0:
            raise ValueError("n must not be negative")
        current = day
        while n > 0:
            current += timedelta(days=1)
            if self.is_working_day(current):
                n -= 1
        return current

    def inspection_day(self, notified: date, n: int) -> date:
        """Return day `n` of an inspection, the notification day (a working day) being day 1."""
        if n < 1:
            raise ValueError("inspection days start at 1")
        return self.add_working_days(self.next_working_day(notified), n - 1)

    def day_number(self, notified: date, day: date) -> int | None:
        """Return which inspection day `day` is, or None if it is not a working day."""
        if not self.is_working_day(day):
            return None
        count, current = 1, self.next_working_day(notified)
        while current < day:
            current = self.add_working_days(current, 1)
            count += 1
        return count if current == day else None


def london_time(day: date, at: time) -> datetime:
    """Return the aware datetime for wall time `at` on `day` in Europe/London."""
    return datetime.combine(day, at, tzinfo=LONDON)


def to_london(moment: datetime) -> datetime:
    """Convert an aware datetime to Europe/London."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: say which zone it is in")
    return moment.astimezone(LONDON)
