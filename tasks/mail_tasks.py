"""Tasks that send the day-1 emails and the surveys (each keyed in the ledger, so a retry sends nothing twice)."""

from __future__ import annotations

from uuid import UUID

from prefect import task
from prefect.cache_policies import NO_CACHE

from send_inspection.catalogue.phases import artifact_key
from send_inspection.engine.notification import SurveyLinks, day_one_pass, survey_pass
from send_inspection.engine.passes import PassResult
from send_inspection.live.wiring import current_runtime
from send_inspection.mail.distribution import DistributionProgress
from tasks.artifacts import publish_markdown, publish_progress


@task(name="send-notifications", cache_policy=NO_CACHE, persist_result=False)
def send_notifications_task(inspection_id: str) -> PassResult:
    """Email the notification lists and invite the core group; return what is left to send and when to try."""
    return day_one_pass(current_runtime().context, inspection_id)


@task(name="send-surveys", cache_policy=NO_CACHE, persist_result=False)
def send_surveys_task(inspection_id: str, links: SurveyLinks) -> PassResult:
    """Show the surveys' plan, send the batches now due and the health template; return what is left and when."""
    progress_id: list[UUID] = []

    def show_plan(markdown: str) -> None:
        publish_markdown(artifact_key(inspection_id, "surveys"), markdown,
                         description="The survey emails: plan, mailboxes and progress (counts only)", every_time=True)

    def show_progress(progress: DistributionProgress) -> None:
        done = 100.0 * progress.sent_recipients / progress.recipients if progress.recipients else 100.0
        made = publish_progress(artifact_key(inspection_id, "survey-progress"), done, description=progress.line(),
                                progress_id=progress_id[0] if progress_id else None)
        progress_id[:] = [made]

    return survey_pass(current_runtime().context, inspection_id, links, show_plan=show_plan,
                       show_progress=show_progress)
