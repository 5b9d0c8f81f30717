"""When each kind of an inspection's data is deleted: the rules, what they count from, holds (facts in, plan out)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from send_inspection.calendar import WorkingCalendar, london_time, to_london
from send_inspection.config.models import ANCHOR_WORDS, RETENTION_KINDS, Retention, parse_clock_time

# Each kind of data as the coordinator reads it.
KIND_TITLES: dict[str, str] = {
    "child_data": "child-level data lists and returns",
    "tracked_cases": "tracked children's documents and case work",
    "restricted_draft": "the restricted draft report",
    "uploads": "evidence files and report documents handed in",
    "outbox": "the outbox's copies of the emails sent",
    "links": "the personal links",
    "named_people": "the people named during the inspection, outside partnership.yaml",
}
assert set(KIND_TITLES) == set(RETENTION_KINDS)
# What a rule without a date yet waits for, by what it counts from.
WAITS_FOR: dict[str, str] = {"report_published": "the final report to be published on every partner's website",
                             "inspection_finished": "every phase of the inspection to finish"}
assert set(WAITS_FOR) == set(ANCHOR_WORDS)

DELETED, HELD, DUE, SCHEDULED, WAITING = "deleted", "held", "due", "scheduled", "waiting"


@dataclass(frozen=True)
class Hold:
    """A hold in force on deleting an inspection's data: its number, kind, who placed it and when."""

    id: int
    kind: str
    placed_by: str
    placed_at: datetime


@dataclass(frozen=True)
class Facts:
    """What retention needs to know of one inspection, read from the database."""

    inspection_id: str
    # When the final report was confirmed on the last partner's website (None: not yet).
    report_published_at: datetime | None
    # When the last phase finished, every phase being done (None: some phase is still open).
    finished_at: datetime | None
    open_phases: tuple[str, ...]
    holds: tuple[Hold, ...]
    # Kind -> when it was deleted.
    deleted: Mapping[str, datetime]


@dataclass(frozen=True)
class Deletion:
    """When one kind of an inspection's data is (or was) deleted, under which rule, and what stops it now."""

    kind: str
    title: str
    rule: str
    reason: str
    due_at: datetime | None
    deleted_at: datetime | None
    held: bool
    # What the rule still waits for ("the final report to be published"), when it has no date yet.
    waits_for: str | None

    def state(self, now: datetime) -> str:
        """Return deleted, held, due (now), scheduled (a date to come) or waiting (no date yet)."""
        if self.deleted_at is not None:
            return DELETED
        if self.due_at is None:
            return WAITING
        if self.held:
            return HELD
        return DUE if now >= self.due_at else SCHEDULED

    def describe(self, now: datetime) -> str:
        """Say in one line when this kind goes, or went, and why not yet."""
        state = self.state(now)
        if state == DELETED:
            return f"{self.title}: deleted {to_london(self.deleted_at):%a %d %b %Y %H:%M}"  # type: ignore[arg-type]
        if state == WAITING:
            return f"{self.title}: {self.rule}; waiting for {self.waits_for}"
        when = f"{to_london(self.due_at):%a %d %b %Y %H:%M}"  # type: ignore[arg-type]
        if state == HELD:
            return f"{self.title}: due {when} ({self.rule}), held: nothing is deleted while a hold stands"
        return f"{self.title}: {'due since' if state == DUE else 'to be deleted on'} {when} ({self.rule})"


def _due(anchor: datetime, working_days: int, *, at: str, calendar: WorkingCalendar) -> datetime:
    """Return the time of day `at`, `working_days` working days after the anchor's day (never before the anchor)."""
    day = calendar.add_working_days(to_london(anchor).date(), working_days)
    due = london_time(day, parse_clock_time(at))
    if due < anchor:
        due = london_time(calendar.add_working_days(day, 1), parse_clock_time(at))
    return due


def plan_deletions(facts: Facts, retention: Retention, calendar: WorkingCalendar) -> list[Deletion]:
    """Return each kind's deletion for the inspection, in the order of RETENTION_KINDS."""
    anchors = {"report_published": facts.report_published_at, "inspection_finished": facts.finished_at}
    plan = []
    for kind, rule in retention.rules().items():
        anchor = anchors[rule.after]
        waits = None if anchor is not None else WAITS_FOR[rule.after]
        if rule.after == "inspection_finished" and facts.open_phases:
            waits += f" (open: {', '.join(facts.open_phases)})"
        plan.append(Deletion(
            kind=kind, title=KIND_TITLES[kind], rule=rule.words(), reason=" ".join(rule.reason.split()),
            due_at=_due(anchor, rule.working_days, at=retention.due_at, calendar=calendar) if anchor else None,
            deleted_at=facts.deleted.get(kind), held=bool(facts.holds), waits_for=waits))
    return plan
