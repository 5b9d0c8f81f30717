"""Milestones of an inspection: rules (day N at HH:MM, or N working days after another) and their dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from send_inspection.calendar import WorkingCalendar, london_time, to_london


@dataclass(frozen=True)
class DayRule:
    """Inspection day `day` (notification day = 1) at wall time `at` in Europe/London."""

    day: int
    at: time


@dataclass(frozen=True)
class AfterRule:
    """`working_days` working days after milestone `after`, at `at` (default: the same wall time)."""

    after: str
    working_days: int
    at: time | None = None


MilestoneRule = DayRule | AfterRule


class TimelineError(ValueError):
    """A timeline rule refers to a milestone that does not exist, or to itself."""


def compute_timeline(
    notified_at: datetime,
    rules: dict[str, MilestoneRule],
    calendar: WorkingCalendar,
) -> dict[str, datetime]:
    """Return every milestone as an aware Europe/London datetime, in the order of `rules`."""
    notified_day = to_london(notified_at).date()
    resolved: dict[str, datetime] = {}

    def resolve(name: str, trail: tuple[str, ...]) -> datetime:
        if name in resolved:
            return resolved[name]
        if name in trail:
            raise TimelineError(f"milestone {name!r} depends on itself: {' -> '.join((*trail, name))}")
        rule = rules.get(name)
        if rule is None:
            raise TimelineError(f"milestone {trail[-1]!r} refers to unknown milestone {name!r}")
        if isinstance(rule, DayRule):
            value = london_time(calendar.inspection_day(notified_day, rule.day), rule.at)
        else:
            base = resolve(rule.after, (*trail, name))
            day = calendar.add_working_days(base.date(), rule.working_days)
            value = london_time(day, rule.at or base.timetz().replace(tzinfo=None))
        resolved[name] = value
        return value

    for milestone in rules:
        resolve(milestone, ())
    return {name: resolved[name] for name in rules}
