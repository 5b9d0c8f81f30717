"""Wait live: suspend the phase's flow run, holding no process, until a decision, the ticker or the coordinator."""

from __future__ import annotations

import logging
from datetime import datetime

from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput

from send_inspection.calendar import to_london
from send_inspection.catalogue.phases import NOTIFICATION
from send_inspection.engine.context import EngineContext
from send_inspection.engine.notification import SurveyLinks, given_survey_links
from send_inspection.engine.phase_rows import begin_wait, claim_pass
from send_inspection.live.flow_run import current_flow_run_id

log = logging.getLogger(__name__)

# The key of the notification run's pause for the survey links form; any other pause takes a `Wake`.
SURVEY_LINKS_PAUSE = "survey-links"


class Wake(RunInput):
    """Why a suspended phase run was resumed."""

    reason: str = "woken"


class SurveyLinksInput(RunInput, SurveyLinks):
    """The form the coordinator fills in the Prefect UI: the inspectors' three survey links."""


class SuspendWaiter:
    """Wait by suspending the flow run: no process is held; a decision or the ticker resumes it."""

    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx

    def wait(self, inspection_id: str, phase: str, *, reason: str, next_wake_at: datetime | None) -> bool:
        """Suspend with a fresh key; return True at once if news arrived while reconciling."""
        ticket = begin_wait(
            self.ctx, inspection_id, phase, reason=reason, next_wake_at=next_wake_at, flow_run_id=current_flow_run_id()
        )
        if ticket.superseded:
            # The ticker took this run for dead and a fresh run carries the phase now: leave it to that run.
            log.warning("%s %s is carried by another run now; this run stops here", inspection_id, phase)
            return False
        if ticket.go_again:
            return True
        log.info("waiting: %s; %s", reason, wakes_at(next_wake_at))
        # Never returns on first call: the process ends; on resume the flow runs again from the top.
        suspend_flow_run(wait_for_input=Wake, key=ticket.key, timeout=None)
        return True

    def survey_links(self, inspection_id: str) -> SurveyLinks | None:
        """Return links given by the CLI, else suspend until the coordinator gives them in the UI."""
        while True:
            if (given := given_survey_links(self.ctx, inspection_id)) is not None:
                return given
            ticket = begin_wait(self.ctx, inspection_id, NOTIFICATION.key, flow_run_id=current_flow_run_id(),
                                next_wake_at=None,
                                reason="Waiting for the coordinator to enter the three survey links (Resume this run)")
            if ticket.superseded:
                return None  # a fresh run carries the phase now
            if not ticket.go_again:
                break
            # News since this run looked (the links given just then, most likely): read it and look again. Waiting
            # for the form with our row not saying so would leave the links given meanwhile to nobody.
            with self.ctx.session() as session:
                claim_pass(session, inspection_id, NOTIFICATION.key, now=self.ctx.clock.now())
        log.info("waiting: the coordinator to enter the three survey links; %s", wakes_at(None))
        given = suspend_flow_run(wait_for_input=SurveyLinksInput, key=SURVEY_LINKS_PAUSE, timeout=None)
        return SurveyLinks.model_validate(given.model_dump(include=set(SurveyLinks.model_fields)))


def wakes_at(moment: datetime | None) -> str:
    """Say when a waiting phase wakes of itself, in London wall time, or that only news wakes it."""
    if moment is None:
        return "wakes on a decision or the coordinator's word"
    return f"wakes by itself at {to_london(moment):%a %d %b %Y %H:%M} (Europe/London) unless a decision comes first"
