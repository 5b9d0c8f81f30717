"""The phase catalogue: each phase of an inspection declared once, with everything that derives from it.

A phase is declared here with its key, the label operators read, its flow and deployment, what starts it, the
milestone that closes it, what follows it and whether the staff bulletin counts it. The deployments the worker
serves (and prefect.yaml lists: a test keeps the two equal), the flows a rehearsal runs, `send-inspection status`,
the staff bulletin, run names and artifact keys all read it from here. How to add a phase:
docs/adding-a-phase-or-step.md.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from send_inspection.settings import INTAKE_TRANSPORTS

# Every deployment of the product has this name; a flow's deployment is "<flow name>/send-inspection".
DEPLOYMENT_NAME = "send-inspection"
PRODUCT_TAG = "send-inspection"


@dataclass(frozen=True)
class Schedule:
    """When a deployment runs by itself: a cron line in a time zone, perhaps only with one way of sending mail."""

    cron: str
    timezone: str = "Europe/London"
    # Only when mail goes one of these ways (SEND_INSPECTION_MAIL): a work pool gets the schedule turned off until
    # an operator turns it on, and the worker's own `serve` schedules it only when the setting is one of them.
    needs_mail: tuple[str, ...] = ()

    def serves_with(self, mail_transport: str) -> bool:
        """Say whether the worker serving the deployments schedules it, given how mail goes."""
        return not self.needs_mail or mail_transport in self.needs_mail


@dataclass(frozen=True)
class WorkQueue:
    """A queue of the work pool: when a slot frees, runs of the lower priority number take it first."""

    name: str
    priority: int
    why: str


# The work pool's queues (scripts/pool.sh makes them so). A served worker (scripts/up.sh) has no queues.
TICKER_QUEUE = WorkQueue("ticker", 1, "the minute's reminders and deadlines take the first free slot; behind 40 "
                                      "inspections' phase runs on one queue a tick started minutes late")
DEFAULT_QUEUE = WorkQueue("default", 2, "every phase's start and resume, in the order they became due")
WORK_QUEUES = (TICKER_QUEUE, DEFAULT_QUEUE)


@dataclass(frozen=True)
class Deployment:
    """A Prefect deployment of one flow: the flow's name and entrypoint, what operators read, its schedule."""

    flow_name: str
    # "<file from the project root>:<function>", as prefect.yaml writes it.
    entrypoint: str
    description: str
    tags: tuple[str, ...]
    schedule: Schedule | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    work_queue: WorkQueue = DEFAULT_QUEUE

    @property
    def name(self) -> str:
        """Return the deployment's full name, as `run_deployment` takes it."""
        return f"{self.flow_name}/{DEPLOYMENT_NAME}"

    def load_flow(self) -> Any:  # noqa: ANN401 - a prefect Flow; this module does not import Prefect
        """Import the flow from its entrypoint (as a module, so it is the same object wherever it is imported)."""
        path, function = self.entrypoint.split(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        return getattr(module, function)


@dataclass(frozen=True)
class Start:
    """What starts a phase: the coordinator, another phase starting (perhaps not before a milestone), or an event."""

    # For people: who or what starts it, e.g. "when the inspectors' timetable is imported".
    says: str
    # The phase whose start starts this one too (its flow starts every phase declared `with_phase` it).
    with_phase: str | None = None
    # ...but its run is launched no earlier than this milestone (the ticker launches it then).
    not_before: str | None = None
    # The coordinator's own run carries it: the engine never launches it (it only starts it afresh if it died).
    by_coordinator: bool = False


@dataclass(frozen=True)
class PhaseSpec:
    """One phase of an inspection, declared once."""

    key: str
    label: str
    deployment: Deployment
    starts: Start
    # The milestone that closes the phase: at it, what is still open is reported late.
    closes_at: str | None = None
    # The phase started when this one is done (if not started already).
    then: str | None = None
    # What staff read for the phase's items in the bulletin; None: the bulletin does not count them.
    bulletin: str | None = None
    # Its items are Annex A rows (register.yaml, chained in timeline.yaml): the evidence library keeps what they submit.
    annex_a: bool = False
    # The stem of the keys of the phase's own artifacts (its key unless operators know it by another name).
    artifact: str = ""
    # A phase per value: "<key>:<value>" (e.g. "case:DC1001"), its flow run with this parameter set to the value.
    parameter: str | None = None
    parameter_type: type = str
    # What the emails asking for one of its items call it before the item's name ("Annex A item" 1.3 Self-evaluation;
    # nothing where the item's name says it all), and which inbox takes replies to them.
    item_noun: str = ""
    replies_to: str = "comms"
    # Its pass does nothing to an item between a decision and the next ask but chase it, so the web app sends that
    # ask itself when it records the decision; the phase's run still wakes for the rest (ADR 0009).
    asks_at_decision: bool = False

    @property
    def family(self) -> bool:
        """Say whether the phase runs once per value of its parameter (a tracked child, a request)."""
        return self.parameter is not None

    def phase(self, value: object = None) -> str:
        """Return the phase name of this phase (of one value of its parameter, for a family)."""
        if not self.family:
            return self.key
        if value is None:
            raise ValueError(f"the {self.label} phase needs its {self.parameter}")
        return f"{self.key}:{value}"

    def value_of(self, phase: str) -> Any:  # noqa: ANN401 - the parameter's own type
        """Return the parameter value of a phase of this family (None for a phase of another kind)."""
        if not self.family or not phase.startswith(f"{self.key}:"):
            return None
        return self.parameter_type(phase.removeprefix(f"{self.key}:"))

    def matches(self, phase: str) -> bool:
        """Say whether `phase` is this phase (or one of this family)."""
        return phase == self.key if not self.family else phase.startswith(f"{self.key}:")

    def label_of(self, phase: str) -> str:
        """Return the phase's name as operators read it: the label, and a family's value after it."""
        return f"{self.label} {self.value_of(phase)}" if self.family else self.label

    def run_parameters(self, inspection_id: str, phase: str) -> dict[str, Any]:
        """Return the parameters a run of the phase's flow takes (the coordinator's run adds its own)."""
        extra = {self.parameter: self.value_of(phase)} if self.parameter else {}
        return {"inspection_id": inspection_id, **extra}


class UnknownPhase(KeyError):
    """A phase name that no catalogue entry declares."""


def _artifact_part(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower())


def artifact_key(*parts: str) -> str:
    """Return a Prefect artifact key (lower-case letters, digits and dashes) made of `parts`."""
    return "-".join(_artifact_part(p) for p in parts)


@dataclass(frozen=True)
class PhaseCatalogue:
    """The phases of an inspection in the order they are started, and the deployments that are not phases."""

    phases: tuple[PhaseSpec, ...]
    # The deployments that carry no phase: the case selection, the mailbox intake, the ticker, retention.
    services: tuple[Deployment, ...] = ()

    def __post_init__(self) -> None:
        keys = [p.key for p in self.phases]
        flows = [d.flow_name for d in self.deployments()]
        problems = [f"phase {k!r} is declared twice" for k in set(keys) if keys.count(k) > 1]
        problems += [f"flow {f!r} has two deployments" for f in set(flows) if flows.count(f) > 1]
        for p in self.phases:
            for what, other in (("starts with", p.starts.with_phase), ("is followed by", p.then)):
                if other is not None and other not in keys:
                    problems.append(f"phase {p.key!r} {what} {other!r}, which is not declared")
        if problems:
            raise ValueError("phase catalogue: " + "; ".join(sorted(problems)))

    def spec(self, phase: str) -> PhaseSpec:
        """Return the entry of `phase` (a family's entry for one of its phases, e.g. "case:DC1001")."""
        for p in self.phases:
            if p.matches(phase):
                return p
        raise UnknownPhase(phase)

    def label(self, phase: str) -> str:
        """Return the phase's name as operators read it (the phase itself if no entry declares it)."""
        try:
            return self.spec(phase).label_of(phase)
        except UnknownPhase:
            return phase

    def deployments(self) -> tuple[Deployment, ...]:
        """Return every deployment of the product: one per phase, then the services."""
        return (*(p.deployment for p in self.phases), *self.services)

    def started_with(self, phase: str) -> list[PhaseSpec]:
        """Return the phases that start when `phase` starts, in catalogue order."""
        return [p for p in self.phases if p.starts.with_phase == phase]

    def in_bulletin(self) -> dict[str, str]:
        """Return the phases the staff bulletin counts, with what staff read for each."""
        return {p.key: p.bulletin for p in self.phases if p.bulletin is not None}

    def artifact_key(self, inspection_id: str, phase: str, *parts: str) -> str:
        """Return the key of one of a phase's artifacts: the inspection, the phase's stem (and value), `parts`."""
        spec = self.spec(phase)
        stem = [spec.artifact or spec.key, *([str(spec.value_of(phase))] if spec.family else [])]
        return artifact_key(inspection_id, *stem, *parts)

    def annex_a(self) -> list[str]:
        """Return the phases whose items are Annex A rows."""
        return [p.key for p in self.phases if p.annex_a]

    def with_phase(self, spec: PhaseSpec) -> PhaseCatalogue:
        """Return this catalogue with one more phase, last."""
        return PhaseCatalogue(phases=(*self.phases, spec), services=self.services)


def _phase_deployment(flow_name: str, module: str, function: str, tag: str, description: str) -> Deployment:
    return Deployment(flow_name=flow_name, entrypoint=f"flows/{module}.py:{function}", description=description,
                      tags=(PRODUCT_TAG, tag))


NOTIFICATION = PhaseSpec(
    key="notification", label="notification (day 1)",
    deployment=_phase_deployment(
        "notification", "notification", "notification", "phase",
        "Start an inspection: give the date and time of the lead inspector's call (Europe/London). Sends the "
        "notification emails, invites the core group, starts Annex A day 2, then waits for the three survey links "
        "(Resume the run and fill in the form)."),
    starts=Start(says="the coordinator, with the time of the inspectors' call", by_coordinator=True),
)
ANNEX_A_DAY2 = PhaseSpec(
    key="day2", label="Annex A day 2",
    deployment=_phase_deployment("annex-a-day-2", "annex_a_day2", "annex_a_day2", "phase",
                                 "Annex A day 2, started by the notification phase; waits suspended between passes."),
    starts=Start(says="the notification phase", with_phase="notification"),
    closes_at="annex_a_initial_due", then="day5", bulletin="Annex A evidence due on day 2", annex_a=True,
    item_noun="Annex A item",
    asks_at_decision=True,
)
ANNEX_A_DAY5 = PhaseSpec(
    key="day5", label="Annex A day 5",
    deployment=_phase_deployment(
        "annex-a-day-5", "annex_a_day5", "annex_a_day5", "phase",
        "Annex A day 5, started when day 2 is done (or by the ticker at the day-2 deadline)."),
    starts=Start(says="day 2 being done, or the day-2 deadline at the latest", with_phase="notification",
                 not_before="annex_a_initial_due"),
    closes_at="annex_a_final_due", bulletin="Annex A evidence due on day 5", annex_a=True,
    item_noun="Annex A item",
    asks_at_decision=True,
)
STAFF_BULLETIN = PhaseSpec(
    key="bulletin", label="staff bulletin",
    deployment=_phase_deployment(
        "staff-bulletin", "staff_bulletin", "staff_bulletin", "bulletin",
        "The staff bulletin, started on notification day: an update to all partnership staff on the weekdays set "
        "in timeline.yaml (staff_bulletin) until the feedback meeting; figures only."),
    starts=Start(says="the notification phase", with_phase="notification"),
)
ONSITE = PhaseSpec(
    key="onsite", label="before the inspectors arrive", artifact="before-the-inspectors-arrive",
    deployment=_phase_deployment(
        "onsite-preparation", "onsite_preparation", "onsite_preparation", "onsite",
        "Before the inspectors arrive on day 11, started on notification day: the set-up call and the logistics "
        "tasks of onsite.yaml, the opening meeting's headlines, presentation and Appendix H attendee list, and the "
        "parent carer forum's views on the self-evaluation; each owned, due, reminded and escalated."),
    starts=Start(says="the notification phase", with_phase="notification"),
    closes_at="onsite_start",
)
TRACKED_CASE = PhaseSpec(
    key="case", label="tracked case", parameter="child_id",
    deployment=_phase_deployment(
        "tracked-case", "tracked_case", "tracked_case", "cases",
        "One tracked child's work (by case id), started by the case selection: practitioners and settings, the "
        "family's agreement, the documents reviewed by the LANO, and the meetings."),
    starts=Start(says="the case selection (one phase per child)"),
    item_noun="Tracked case",
)
ADDITIONAL_REQUEST = PhaseSpec(
    key="request", label="additional evidence request", parameter="number", parameter_type=int,
    deployment=_phase_deployment(
        "additional-evidence-request", "additional_request", "additional_request", "fieldwork",
        "One additional evidence request from the inspectors (by number), started when it is recorded "
        "(send-inspection request add): the head of service confirms and sends it, the accountable lead signs it "
        "off, the LANO sends it to the inspector; same day by default."),
    starts=Start(says="a request being recorded (one phase per request)"),
    replies_to="evidence",
    asks_at_decision=True,
)
FIELDWORK = PhaseSpec(
    key="fieldwork", label="fieldwork",
    deployment=_phase_deployment(
        "fieldwork", "fieldwork", "fieldwork", "fieldwork",
        "Fieldwork, weeks 2 and 3, started when the inspectors' timetable is imported (send-inspection timetable "
        "import): debriefs after each meeting, red ones at once to the director, requested documents as additional "
        "evidence requests, the daily KIT summary."),
    starts=Start(says="the inspectors' timetable being imported"),
    closes_at="feedback_meeting", then="report",
    asks_at_decision=True,
)
KEEPING_IN_TOUCH = PhaseSpec(
    key="kit", label="keeping in touch",
    deployment=_phase_deployment(
        "keeping-in-touch", "keeping_in_touch", "keeping_in_touch", "kit",
        "The internal keeping-in-touch (KIT) meetings, weeks 1 to 3, started on notification day: the coordinator "
        "records what the core group agreed on day 1 (the KIT days, where each manager is based), the meetings are "
        "invited, members name representatives, each meeting's issues become actions with an owner and a deadline "
        "(chased like any other ask), and the summary goes after each meeting."),
    starts=Start(says="the notification phase", with_phase="notification"),
    closes_at="feedback_meeting",
)
AFTER_FIELDWORK = PhaseSpec(
    key="report", label="after fieldwork", artifact="after-fieldwork",
    deployment=_phase_deployment(
        "inspection-report", "inspection_report", "inspection_report", "report",
        "After fieldwork, started when fieldwork ends or the feedback is recorded: the LANO records the restricted "
        "draft report, the named reviewers comment, the accountable officers sign off the merged response, the "
        "LANO submits it within 10 working days; the final report is published by each partner."),
    starts=Start(says="fieldwork ending, or the feedback being recorded"),
)
PRIORITY_ACTION_PLAN = PhaseSpec(
    key="action-plan", label="priority action plan", artifact="priority-action-plan",
    deployment=_phase_deployment(
        "priority-action-plan", "priority_action_plan", "priority_action_plan", "report",
        "Outcome 3 only, started when the final report is published: for each area for priority action the "
        "improvement lead drafts the plan, the named partner's accountable officer signs it off, the LANO submits "
        "it to the inspectorate."),
    starts=Start(says="the final report being published, after outcome 3"),
    asks_at_decision=True,
)

CASE_SELECTION = Deployment(
    flow_name="case-selection", entrypoint="flows/case_selection.py:case_selection", tags=(PRODUCT_TAG, "cases"),
    description="Day 2, 17:00: enter the case ids of the children the inspectors chose to track.")
MAILBOX_INTAKE = Deployment(
    flow_name="mailbox-intake", entrypoint="flows/mailbox_intake.py:mailbox_intake", tags=(PRODUCT_TAG, "intake"),
    schedule=Schedule("*/2 * * * *", needs_mail=INTAKE_TRANSPORTS),
    description="Every two minutes, take what arrived in the comms and evidence inboxes through EWS or Graph: an "
                "inspector's request forwarded to comms becomes an additional evidence request, files sent to the "
                "evidence inbox about request N answer its submit step. Needs SEND_INSPECTION_MAIL=ews or graph: its "
                "schedule is off until you turn it on (prefect deployment schedule resume).")
TICKER = Deployment(
    flow_name="ticker", entrypoint="flows/ticker.py:ticker", tags=(PRODUCT_TAG, "ticker"),
    schedule=Schedule("* * * * *"), work_queue=TICKER_QUEUE,
    description="Every minute, wake the phases whose reminders or deadlines are due.")
RETENTION = Deployment(
    flow_name="retention", entrypoint="flows/retention.py:retention", tags=(PRODUCT_TAG, "retention"),
    schedule=Schedule("30 2 * * *"),
    description="Every night at 02:30, apply the retention rules of retention.yaml: export the record of each "
                "inspection with data due for deletion, then delete that data (files and rows) unless a hold stands, "
                "leaving a deletion record. send-inspection retention show says what goes when.")

PHASES = PhaseCatalogue(
    phases=(NOTIFICATION, ANNEX_A_DAY2, ANNEX_A_DAY5, STAFF_BULLETIN, KEEPING_IN_TOUCH, ONSITE, TRACKED_CASE,
            ADDITIONAL_REQUEST, FIELDWORK, AFTER_FIELDWORK, PRIORITY_ACTION_PLAN),
    services=(CASE_SELECTION, MAILBOX_INTAKE, TICKER, RETENTION),
)

_active: list[PhaseCatalogue] = [PHASES]


def phase_catalogue() -> PhaseCatalogue:
    """Return the phase catalogue this process runs with (the product's, unless a test put its own in place)."""
    return _active[-1]


@contextmanager
def using_phase_catalogue(catalogue: PhaseCatalogue) -> Iterator[PhaseCatalogue]:
    """Run with `catalogue` in place of the product's (a test declaring a phase of its own)."""
    _active.append(catalogue)
    try:
        yield catalogue
    finally:
        _active.remove(catalogue)


def phase_artifact_key(inspection_id: str, phase: str, *parts: str) -> str:
    """Return the key of one of a phase's own artifacts, e.g. "demo-county-2023-06-26-day2-register"."""
    return phase_catalogue().artifact_key(inspection_id, phase, *parts)


def phase_label(phase: str) -> str:
    """Return the phase's name as operators read it, e.g. "Annex A day 2" or "tracked case DC1001"."""
    return phase_catalogue().label(phase)
