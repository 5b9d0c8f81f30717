"""The product's deployments, served from one process: the phase flows and the ticker."""

from __future__ import annotations

from prefect import serve
from prefect.schedules import Cron

from send_inspection.live import DEPLOYMENT_NAME


def serve_deployments() -> None:
    """Serve the notification and day-2 phase flows and the every-minute ticker (Europe/London)."""
    from flows.annex_a_day2 import annex_a_day2
    from flows.notification import notification
    from flows.ticker import ticker

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
        ticker.to_deployment(
            name=DEPLOYMENT_NAME, schedule=Cron("* * * * *", timezone="Europe/London"),
            description="Wake phases whose reminders or deadlines are due.", tags=["send-inspection", "ticker"],
        ),
        limit=8,
    )
