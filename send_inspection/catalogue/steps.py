"""The step catalogue: each kind of step staff answer through their personal link, declared once.

A step is declared here with who answers it, what they are asked, the part of the page that asks it (and the form
its answer comes on), its buttons and the outcomes they record, which outcome must come with a comment, and the
email that asks for it. The engine records answers, chases and builds emails from it; the web app builds each
step's page and buttons from it. The order of the entries is the order an item's steps are worked through.
How to add a step: docs/adding-a-phase-or-step.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

# Who answers a step: the item's own people, or a role of partnership.yaml (`roles`).
LEAD = "lead"          # the item's evidence lead: whoever provides or does the thing
REVIEWER = "reviewer"  # the item's accountable lead: whoever reviews it
# The outcome of a button that sends the item back to whoever submitted it, starting a new round.
RETURNED = "returned"


@dataclass(frozen=True)
class Button:
    """A button on a step's page: the outcome it records, its words, and what to say if a needed comment is missing."""

    outcome: str
    text: str
    comment_needed: str | None = None

    @property
    def returns(self) -> bool:
        """Say whether pressing it sends the item back to its submitter instead of moving it on."""
        return self.outcome == RETURNED


def _return_button(text: str = "Return with comment") -> Button:
    return Button(RETURNED, text, "say why you are returning it: the comment goes to the person who submitted it")


@dataclass(frozen=True)
class StepSpec:
    """One kind of step, declared once."""

    key: str
    # What the step is called where people read it (registers, waiting reasons, late reports).
    label: str
    # What the person is asked to do, as the email and the page say it: "Please <asks> for ...".
    asks: str
    # LEAD, REVIEWER, or a role of partnership.yaml (e.g. "lano").
    answered_by: str
    buttons: tuple[Button, ...]
    # The part of the sign-off page that asks it (templates/web/steps/), inside the form with the buttons.
    page: str
    # The form its answer comes on beyond the buttons and the comment (read by the web app), if any.
    form: str | None = None
    # The email that asks for it, reminds and escalates (templates/email/).
    email: str = "action_request"
    # What a finished item is marked after its last step is this one: the evidence's fate, not the button's word.
    finished_as: str | None = None
    # How long after its deadline the person's link still records an answer (else the timeline's token grace).
    late_answers_for: timedelta | None = None
    # Whether the person is reminded and escalated to; an answer nobody is chased for is only asked for once
    # (a member naming a representative for a meeting they cannot come to).
    chased: bool = True

    @property
    def moves_on(self) -> frozenset[str]:
        """Return the outcomes that complete the step (the item moves to its next step, or is done)."""
        return frozenset(b.outcome for b in self.buttons if not b.returns)

    @property
    def returnable(self) -> bool:
        """Say whether its reviewer may send the item back to the submitter."""
        return any(b.returns for b in self.buttons)

    def button(self, outcome: str) -> Button | None:
        """Return the button recording `outcome`, if the step has one."""
        return next((b for b in self.buttons if b.outcome == outcome), None)


# A report the inspectorate sends late can still be recorded through the link asking for it this much later.
LATE_ARRIVAL_GRACE = timedelta(days=60)

STEPS = (
    StepSpec("identify", "practitioners named", "name the child's practitioners and settings", LEAD,
             (Button("identified", "Record the practitioners and settings"),), page="identify", form="people"),
    StepSpec("agree", "family agreement", "record whether the family agrees to take part", LEAD,
             (Button("agreed", "The family agrees to take part"), Button("declined", "The family declines")),
             page="agree"),
    StepSpec("inform", "inspectors told", "tell the lead inspector the family declined, and record their answer", LEAD,
             (Button("records", "The inspectors will track this child from the records"),
              Button("replace", "The inspectors will choose another child")), page="inform"),
    StepSpec("confirm", "head of service confirms", "say whether this evidence exists, and by when it will be sent",
             LEAD, (Button("exists", "It exists: I will send it by the time given",
                           "say by when you will send it (for example: today 15:00)"),
                    Button("not-held", "It does not exist: I will explain why")), page="confirm"),
    StepSpec("receive", "report received", "record the report's arrival and keep it restricted", LEAD,
             (Button("received", "Record the report as received"),), page="receive", form="report-file",
             late_answers_for=LATE_ARRIVAL_GRACE),
    StepSpec("comment", "reviewer's comments", "send factual-accuracy comments on the restricted draft report",
             LEAD, (Button("commented", "Send my comments"), Button("no-comments", "No comments on the draft")),
             page="comment", form="accuracy-comments"),
    StepSpec("submit", "evidence lead", "submit the evidence", LEAD,
             (Button("submitted", "Submit evidence"), Button("explained", "Submit an explanation instead")),
             page="submit", form="evidence"),
    StepSpec("approve", "accountable lead", "review and sign off the evidence", REVIEWER,
             (Button("approved", "Approve"), _return_button()), page="approve"),
    StepSpec("check", "director check", "give the final director check", "director_final_check",
             (Button("approved", "Final check passed"), _return_button()), page="check"),
    StepSpec("review", "LANO review", "review the document before it goes to the inspectors", REVIEWER,
             (Button("approved", "Reviewed: it can go to the inspectors"), _return_button()), page="review",
             finished_as="reviewed"),
    StepSpec("upload", "LANO upload", "confirm the upload to the inspectorate", "lano",
             (Button("confirmed", "Confirm uploaded to the inspectorate"),), page="upload", finished_as="uploaded"),
    StepSpec("arrange", "meeting booked", "book the meeting on the timetable: say when and where", LEAD,
             (Button("requested", "Book it and send the invitations", "give the date and time requested"),),
             page="arrange", form="meeting-slot"),
    StepSpec("debrief", "debrief", "record the debrief", LEAD,
             (Button("debriefed", "Record the debrief"),), page="debrief", form="debrief"),
    StepSpec("publish", "published", "publish it on your organisation's website and confirm the link",
             LEAD, (Button("published", "Confirm it is published"),), page="publish", form="website"),
    StepSpec("settle", "core group agreement",
             "record what the core group agreed at its first meeting: the days of the keeping-in-touch (KIT) meetings "
             "and where each manager will be based", LEAD,
             (Button("settled", "Record the agreement and arrange the KIT meetings"),), page="settle",
             form="core-group-agreement"),
    StepSpec("represent", "representative named",
             "name a representative for any keeping-in-touch (KIT) meeting you cannot come to", LEAD,
             (Button("represented", "Record my representatives"),), page="represent", form="kit-representatives",
             chased=False),
    StepSpec("minute", "KIT meeting recorded",
             "record the keeping-in-touch (KIT) meeting: the issues raised, each with an owner and a deadline", LEAD,
             (Button("minuted", "Record the meeting and send the summary"),), page="minute", form="kit-record"),
    StepSpec("act", "KIT action", "do the action raised at the keeping-in-touch (KIT) meeting and say what was done",
             LEAD, (Button("done", "It is done", "say what was done"),), page="act"),
    # Before the inspectors arrive (the "onsite" phase, onsite.yaml).
    StepSpec("task", "task done", "do this and confirm it is done", LEAD,
             (Button("done", "Confirm it is done"),), page="task"),
    StepSpec("headlines", "headlines sent", "send your service's key headlines for the opening presentation", LEAD,
             (Button("sent", "Send my headlines"),), page="headlines", form="headlines"),
    StepSpec("presentation", "opening presentation",
             "make the opening presentation from the heads of service's headlines", LEAD,
             (Button("prepared", "Send the presentation to the presenters"),), page="presentation",
             form="presentation"),
    StepSpec("attend", "attendance confirmed", "say whether you will attend the opening meeting with the inspectors",
             LEAD, (Button("attending", "I will attend"),
                    Button("representative", "I cannot attend: someone will come in my place",
                           "name who will come in your place, and their job title")), page="attend"),
    StepSpec("send-list", "attendee list sent",
             "send the opening meeting's attendee list (Appendix H) to the lead inspector", LEAD,
             (Button("sent", "Confirm it is sent to the lead inspector"),), page="send-list"),
    StepSpec("views", "forum's views", "send the forum's views on the partnership's self-evaluation", LEAD,
             (Button("sent", "Send our views"),), page="views", form="views"),
)
_BY_KEY = {s.key: s for s in STEPS}

# The chains of steps items are worked through, as config and the phases build them.
ANNEX_A_CHAIN = ("submit", "approve", "check", "upload")
TRACKED_CASE_STEPS = ("identify", "agree", "inform", "submit", "review", "arrange")
# The keeping-in-touch phase's items: the day-1 agreement, each member's representatives, each meeting, its actions.
KIT_STEPS = ("settle", "represent", "minute", "act")


def step_spec(step: str) -> StepSpec:
    """Return the entry of step `step` (KeyError for a step no entry declares)."""
    return _BY_KEY[step]


def step_label(step: str) -> str:
    """Return what a step is called where people read it (the step itself if no entry declares it)."""
    spec = _BY_KEY.get(step)
    return spec.label if spec else step


def in_order(steps: set[str] | dict[str, object]) -> list[str]:
    """Return `steps` in the order items are worked through."""
    return [s.key for s in STEPS if s.key in steps]
