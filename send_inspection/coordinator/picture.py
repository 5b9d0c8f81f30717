"""The inspection as a picture: the weeks from the call to the report, the milestones, each phase's state and what is
late, laid out here (pure geometry) and drawn server-side as SVG by the dashboard's template, with its words beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from send_inspection.calendar import london_time, to_london
from send_inspection.coordinator.overview import PICTURED, Overview, PhaseView, milestone_label

WIDTH = 960
LEFT = 210  # the lane labels' column
RIGHT = WIDTH - 120  # the state words' column starts after the chart
TOP = 96  # below the week labels and the milestone markers
LANE = 34
BAR = 16

# Lanes: label, the phases they hold (a name, or a prefix ending in ':'), and the milestones that bound them.
LANES = (
    ("Day 1 and the surveys", ("notification",), ("", "surveys_close")),
    ("Annex A day 2", ("day2",), ("", "annex_a_initial_due")),
    ("Annex A day 5", ("day5",), ("", "annex_a_final_due")),
    ("Tracked cases", ("case:",), ("cases_selected_expected", "tracked_cases_info_due")),
    ("Fieldwork", ("fieldwork",), ("surveys_close", "feedback_meeting")),
    ("Additional requests", ("request:",), ("surveys_close", "feedback_meeting")),
    ("Staff bulletin", ("bulletin",), ("", "feedback_meeting")),
    ("Keeping in touch", ("kit",), ("", "feedback_meeting")),
    ("Before the inspectors arrive", ("onsite",), ("", "onsite_start")),
    ("After fieldwork: the report", ("report",), ("feedback_meeting", "final_report_expected_by")),
)
# What each state looks like: fill, and whether the bar is outlined only (not started yet).
STATES = {"done": "#00703c", "in progress": "#1d70b8", "late": "#d4351c", "not started": "#ffffff",
          "stuck": "#d4351c"}


@dataclass(frozen=True)
class Week:
    """A week's column: where it starts and its label."""

    x: float
    label: str


@dataclass(frozen=True)
class Lane:
    """One row of the picture: a group of phases, the span it covers, its state in words and colour."""

    y: float
    label: str
    x1: float
    x2: float
    start: datetime
    end: datetime
    state: str
    words: str
    fill: str


@dataclass(frozen=True)
class Mark:
    """A milestone on the picture: its number, place, name and time, and whether it has passed."""

    number: int
    x: float
    label: str
    at: datetime
    passed: bool


@dataclass(frozen=True)
class Picture:
    """Everything the SVG draws, and the sentence that sums it up."""

    width: int
    height: int
    weeks: list[Week]
    lanes: list[Lane]
    marks: list[Mark]
    today_x: float | None
    chart_left: float
    chart_right: float
    summary: str


def lay_out(overview: Overview) -> Picture:
    """Lay out the picture of an inspection as of `overview.now`."""
    due = overview.milestones
    start = london_time(to_london(overview.notified_at).date() - timedelta(days=to_london(
        overview.notified_at).weekday()), time(0, 0))
    last = max([due[n] for n in PICTURED if n in due] + [overview.now, overview.notified_at])
    weeks_count = max(1, -(-(last - start).days // 7) + (1 if (last - start).days % 7 == 0 else 0))
    end = start + timedelta(weeks=weeks_count)

    def x_of(moment: datetime) -> float:
        span = (end - start).total_seconds()
        share = min(max((moment - start).total_seconds() / span, 0.0), 1.0)
        return round(LEFT + share * (RIGHT - LEFT), 1)

    weeks = [Week(x=x_of(start + timedelta(weeks=n)), label=f"Week {n + 1}") for n in range(weeks_count)]
    marks = [Mark(number=i, x=x_of(due[name]), label=milestone_label(name), at=due[name],
                  passed=due[name] <= overview.now)
             for i, name in enumerate((n for n in PICTURED if n in due), start=1)]
    lanes = []
    for row, (label, phases, (begin, finish)) in enumerate(LANES):
        lane_start = due.get(begin, overview.notified_at) if begin else overview.notified_at
        lane_end = due.get(finish, lane_start)
        state, words = _state([p for p in overview.phases if _belongs(p.phase, phases)])
        lanes.append(Lane(y=TOP + row * LANE, label=label, x1=x_of(lane_start), x2=max(x_of(lane_end),
                          x_of(lane_start) + 4), start=lane_start, end=lane_end, state=state, words=words,
                          fill=STATES[state]))
    today = x_of(overview.now) if start <= overview.now <= end else None
    return Picture(width=WIDTH, height=TOP + len(LANES) * LANE + 16, weeks=weeks, lanes=lanes, marks=marks,
                   today_x=today, chart_left=LEFT, chart_right=RIGHT, summary=_summary(overview, lanes))


def _belongs(phase: str, names: tuple[str, ...]) -> bool:
    return any(phase.startswith(n) if n.endswith(":") else phase == n for n in names)


def _state(phases: list[PhaseView]) -> tuple[str, str]:
    """Return a lane's state and its words: not started, done, in progress, late (with how many), or stuck."""
    if not phases:
        return "not started", "not started"
    late = sum(p.late_items for p in phases)
    if any(p.reason.startswith("STUCK") for p in phases if p.status != "done"):
        return "stuck", "stuck: look at its run"
    if late:
        return "late", f"{late} late"
    if all(p.status == "done" for p in phases):
        return "done", "done"
    waiting = sum(p.open_items for p in phases)
    return "in progress", f"in progress, {waiting} open" if waiting else "in progress"


def _summary(overview: Overview, lanes: list[Lane]) -> str:
    """Sum the picture up in one sentence (its description for people who do not see it)."""
    final = overview.milestones.get("final_report_expected_by")
    until = f" to the final report expected {to_london(final):%a %d %b %Y}" if final else ""
    states = "; ".join(f"{lane.label}: {lane.words}" for lane in lanes)
    return (f"The inspection from the call on {to_london(overview.notified_at):%a %d %b %Y}{until}, as of "
            f"{to_london(overview.now):%a %d %b %H:%M}. {states}.")
