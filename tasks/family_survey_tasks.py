"""Tasks that send the family survey's extras: the forum's email to cascade and the reminder before the close."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from send_inspection.engine.family_survey import family_survey_pass
from send_inspection.engine.passes import PassResult
from send_inspection.live.wiring import current_runtime


@task(name="family-survey", cache_policy=NO_CACHE, persist_result=False)
def family_survey_task(inspection_id: str) -> PassResult:
    """Send the forum the survey to cascade and, when due, remind families; return what is left and when."""
    return family_survey_pass(current_runtime().context, inspection_id)
