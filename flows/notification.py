"""Phase 1, notification day: open the inspection, tell everyone, start day 2, send the surveys."""

from __future__ import annotations

from datetime import datetime

from prefect.states import Failed, State

from flows.phase_flow import phase_flow
from flows.phase_loop import reconcile_trying_mail_again
from send_inspection.calendar import LONDON
from send_inspection.catalogue.phases import NOTIFICATION, phase_catalogue
from send_inspection.live.wiring import current_runtime
from tasks.family_survey_tasks import family_survey_task
from tasks.inspection_tasks import (
    check_start_time_task,
    claim_phase_task,
    finish_phase_task,
    open_inspection_task,
    start_phase_task,
)
from tasks.mail_tasks import send_notifications_task, send_surveys_task


@phase_flow(NOTIFICATION)
def notification(notified_at: datetime, inspection_id: str | None = None, kind: str = "full",
                 deliberate: bool = False) -> str | State:
    """Open the inspection from the time of the call, notify the lists, start day 2 and send the surveys.

    Args:
        notified_at: When the lead inspector phoned (Europe/London wall time when no zone is given).
        inspection_id: Leave empty: the engine names the inspection after the partnership and the date.
        kind: "full" (Annex A, three surveys) or "monitoring" (the focused areas, no family survey).
        deliberate: Tick only to start from a call more than a day ago (every overdue ask goes at once) or ahead.
    """
    rt = current_runtime()
    if notified_at.tzinfo is None:
        notified_at = notified_at.replace(tzinfo=LONDON)  # a time typed without a zone is London wall time
    refused = check_start_time_task(notified_at, inspection_id, deliberate)
    if refused:
        return Failed(message=refused)  # before anything is opened or sent
    inspection_id = open_inspection_task(notified_at, inspection_id, kind)
    claim_phase_task(inspection_id, NOTIFICATION.key)
    while True:
        # Mail that fails in a way that may pass is tried again and shown to operators, as in every phase.
        result = reconcile_trying_mail_again(inspection_id, NOTIFICATION.key,
                                             reconcile=lambda: send_notifications_task(inspection_id))
        # Day 2, day 5 (launched when day 2 is done, at its deadline at the latest) and the bulletin.
        for spec in phase_catalogue().started_with(NOTIFICATION.key):
            start_phase_task(inspection_id, spec.key, spec.starts.not_before)
        if result.done:
            links = rt.waiter.survey_links(inspection_id)
            if links is None:
                return "waiting for the survey links"
            # A large list goes in batches over hours or days: the pass sends what is due and says when to go on.
            result = reconcile_trying_mail_again(
                inspection_id, NOTIFICATION.key, reconcile=lambda links=links: send_surveys_task(inspection_id, links))
            if result.done:  # the forum's email to cascade, and the reminder to families when it is due
                result = reconcile_trying_mail_again(
                    inspection_id, NOTIFICATION.key, reconcile=lambda: family_survey_task(inspection_id))
            if result.done:
                finish_phase_task(inspection_id, NOTIFICATION.key, result.reason)
                return "done"
        # Mail that could not go yet, or survey batches still to come: wait without a process, then go again.
        if not rt.waiter.wait(inspection_id, NOTIFICATION.key, reason=result.reason, next_wake_at=result.next_wake_at):
            return result.reason
