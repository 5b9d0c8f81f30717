"""Tasks that send the family survey's extras: the forum's email to cascade and the reminder before the close."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from send_inspection.engine.family_survey import family_survey_pass
from send_inspection.engine.register_phase import PassResult
from send_inspection.runtime import current_runtime
from tasks.retry_policy import MAIL_RETRY_DELAYS, retry_if_transient


@task(name="family-survey", cache_policy=NO_CACHE, persist_result=False,
      retries=len(MAIL_RETRY_DELAYS), retry_delay_seconds=MAIL_RETRY_DELAYS, retry_condition_fn=retry_if_transient)
def family_survey_task(inspection_id: str) -> PassResult:
    """Send the forum the survey to cascade and, when due, remind families; return what is left and when."""
    return family_survey_pass(current_runtime().context, inspection_id)
