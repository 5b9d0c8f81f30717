"""Tasks that send the day-1 emails (each keyed in the ledger, so a retry sends nothing twice)."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from send_inspection.engine.notification import SurveyLinks, send_notifications, send_surveys
from send_inspection.runtime import current_runtime
from tasks.retry_policy import MAIL_RETRY_DELAYS, retry_if_transient


@task(name="send-notifications", cache_policy=NO_CACHE, persist_result=False,
      retries=len(MAIL_RETRY_DELAYS), retry_delay_seconds=MAIL_RETRY_DELAYS, retry_condition_fn=retry_if_transient)
def send_notifications_task(inspection_id: str) -> int:
    """Email the notification lists and invite the core group; return how many emails went now."""
    return send_notifications(current_runtime().context, inspection_id)


@task(name="send-surveys", cache_policy=NO_CACHE, persist_result=False,
      retries=len(MAIL_RETRY_DELAYS), retry_delay_seconds=MAIL_RETRY_DELAYS, retry_condition_fn=retry_if_transient)
def send_surveys_task(inspection_id: str, links: SurveyLinks) -> int:
    """Send the survey links to their lists and forward the health template; return emails sent now."""
    return send_surveys(current_runtime().context, inspection_id, links)
