"""A hand-written fake of the orchestrator's side of the coordinator's actions: it records what it was asked."""

from __future__ import annotations

from datetime import datetime

from send_inspection.engine.notification import SurveyLinks


class RecordingRunner:
    """Record starts, hand-overs of survey links and nudges instead of doing them (the live stack test uses Prefect)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def start_notification(self, inspection_id: str, notified_at: datetime, *, kind: str,
                           deliberate: bool = False) -> str:
        """Record the start; return a made-up run id."""
        self.calls.append(("start", inspection_id))
        return f"run-of-{inspection_id}"

    def give_survey_links(self, inspection_id: str, links: SurveyLinks) -> None:
        """Record the hand-over of the links."""
        self.calls.append(("links", inspection_id))

    def nudge(self, inspection_id: str) -> None:
        """Record the nudge."""
        self.calls.append(("nudge", inspection_id))
