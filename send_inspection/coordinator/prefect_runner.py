"""The coordinator's actions on Prefect: the notification deployment, resuming its run, launching and waking phases."""

from __future__ import annotations

import json
import logging
from datetime import datetime

import httpx
from prefect.deployments import run_deployment

from send_inspection.catalogue.phases import NOTIFICATION
from send_inspection.engine.context import EngineContext
from send_inspection.engine.notification import LinksNotTaken, SurveyLinks
from send_inspection.engine.phase_rows import due_phases, needs_run
from send_inspection.live.launcher import DeploymentLauncher
from send_inspection.live.waiting import SURVEY_LINKS_PAUSE
from send_inspection.live.waker import PrefectWaker

log = logging.getLogger(__name__)


class PrefectRunner:
    """Start, resume and wake runs through the Prefect API (the web app's and the command line's runner)."""

    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx
        self.launcher = DeploymentLauncher(ctx)
        self.waker = PrefectWaker(ctx)

    def start_notification(self, inspection_id: str, notified_at: datetime, *, kind: str,
                           deliberate: bool = False) -> str:
        """Run the notification deployment once per inspection (Prefect's idempotency key); return the run's id."""
        run = run_deployment(NOTIFICATION.deployment.name, timeout=0,
                             parameters={"notified_at": notified_at.isoformat(), "inspection_id": inspection_id,
                                         "kind": kind, "deliberate": deliberate},
                             idempotency_key=f"{inspection_id}:{NOTIFICATION.key}")
        return str(run.id)

    def give_survey_links(self, inspection_id: str, links: SurveyLinks) -> None:
        """Resume the notification run with the links if it is suspended for them; else wake it to read them.

        Which one its pause asks for is read from the run (its pause key), not guessed from a refusal; it is tried
        as any wake is. A run not waiting at all reads the recorded links when it gets there.
        """
        given = json.loads(links.model_dump_json())

        def input_for(key: str) -> dict[str, object]:
            # Waiting to retry its day-1 mail, not for the form: a wake; it reads the links just recorded.
            return given if key == SURVEY_LINKS_PAUSE else {"reason": "survey links given"}

        if not self.waker.resume_with(inspection_id, NOTIFICATION.key, input_for=input_for):
            raise LinksNotTaken(f"the survey links are recorded, but the notification run of {inspection_id} did "
                                f"not take them (it is not suspended on the Prefect server): give them again in a "
                                f"minute")

    def nudge(self, inspection_id: str) -> None:
        """Do for one live inspection at once what the ticker would within a minute; a failure leaves it to the
        ticker (a rehearsal's phases are the rehearsal's to run)."""
        try:
            for run in due_phases(self.ctx, now=self.ctx.clock.now(), mode="live"):
                if run.inspection_id != inspection_id:
                    continue
                if run.flow_run_id is None:
                    if needs_run(run):  # not the coordinator's own run being opened from Prefect
                        self.launcher.start(inspection_id, run.phase)
                elif run.status == "waiting":
                    self.waker.wake(inspection_id, run.phase, reason="the coordinator changed something")
        except (httpx.HTTPError, OSError, RuntimeError) as exc:  # RuntimeError: Prefect found no server
            log.warning("could not reach Prefect to start %s's phases now (%s): the ticker does it", inspection_id, exc)
