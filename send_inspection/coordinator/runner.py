"""What the coordinator's actions need from the orchestrator: start the call's run, give it the links, nudge phases."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from send_inspection.engine.notification import SurveyLinks


class InspectionRunner(Protocol):
    """The orchestrator's side of the coordinator's actions (Prefect when live; a recording fake in tests)."""

    def start_notification(self, inspection_id: str, notified_at: datetime, *, kind: str,
                           deliberate: bool = False) -> str:
        """Start the inspection's notification run once, however often this is called; return its run's id."""
        ...

    def give_survey_links(self, inspection_id: str, links: SurveyLinks) -> None:
        """Hand the recorded survey links to the notification run if it waits for them (else it reads them)."""
        ...

    def nudge(self, inspection_id: str) -> None:
        """Launch the inspection's phases not yet started and wake those with news, now rather than at the tick."""
        ...
