"""The product's deployments, served from one process: the phase flows and the ticker."""

from __future__ import annotations

from prefect import serve
from prefect.schedules import Cron

from send_inspection.live import DEPLOYMENT_NAME


def serve_deployments() -> None:
    """Serve the phase flows, case selection, tracked cases and the every-minute ticker (Europe/London)."""
    from flows.additional_request import additional_request
    from flows.annex_a_day2 import annex_a_day2
    from flows.annex_a_day5 import annex_a_day5
    from flows.case_selection import case_selection
    from flows.fieldwork import fieldwork
    from flows.notification import notification
    from flows.ticker import ticker
    from flows.tracked_case import tracked_case

    serve(
        notification.to_deployment(
            name=DEPLOYMENT_NAME,
            description="Start an inspection: give the time of the inspectors' call (Europe/London).",
            tags=["send-inspection", "phase"],
        ),
        annex_a_day2.to_deployment(
            name=DEPLOYMENT_NAME, description="Annex A day 2: started by the notification phase.",
            tags=["send-inspection", "phase"],
        ),
        annex_a_day5.to_deployment(
            name=DEPLOYMENT_NAME, description="Annex A day 5: started when day 2 is done or at its deadline.",
            tags=["send-inspection", "phase"],
        ),
        case_selection.to_deployment(
            name=DEPLOYMENT_NAME, description="Day 2, 17:00: enter the case ids of the children to track.",
            tags=["send-inspection", "cases"],
        ),
        tracked_case.to_deployment(
            name=DEPLOYMENT_NAME, description="One tracked child's work (by case id): started by the case selection.",
            tags=["send-inspection", "cases"],
        ),
        additional_request.to_deployment(
            name=DEPLOYMENT_NAME, description="One additional evidence request: started when it is recorded.",
            tags=["send-inspection", "fieldwork"],
        ),
        fieldwork.to_deployment(
            name=DEPLOYMENT_NAME, description="Fieldwork (weeks 2-3): started when the timetable is imported.",
            tags=["send-inspection", "fieldwork"],
        ),
        ticker.to_deployment(
            name=DEPLOYMENT_NAME, schedule=Cron("* * * * *", timezone="Europe/London"),
            description="Wake phases whose reminders or deadlines are due.", tags=["send-inspection", "ticker"],
        ),
        limit=8,
    )
