"""The notification run's wait for the survey links: links given between its look and its wait are not lost."""

from __future__ import annotations

import pytest

from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import open_inspection
from send_inspection.engine.notification import SurveyLinks, record_survey_links
from send_inspection.engine.phase_rows import claim_pass, ensure_phase, get_phase
from send_inspection.live import waiting
from send_inspection.live.waiting import SuspendWaiter
from tests.conftest import NOTIFIED

LINKS = SurveyLinks(children_young_people="https://s.example/c", parents_carers="https://s.example/p",
                    practitioners="https://s.example/w")


def test_links_given_between_the_look_and_the_wait_are_taken(ctx: EngineContext,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The run looked (no links), the coordinator gave them, then the run came to wait: it takes them, never
    suspending for the form with our row not saying it waits."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    ensure_phase(ctx, iid, "notification")
    with ctx.session() as session:
        claim_pass(session, iid, "notification", now=ctx.clock.now())
    looks = []
    real_look = waiting.given_survey_links

    def look(ctx_: EngineContext, inspection_id: str) -> SurveyLinks | None:
        looks.append(inspection_id)
        if len(looks) == 1:  # the first look finds nothing; the links are given right after it
            record_survey_links(ctx_, inspection_id, LINKS)
            return None
        return real_look(ctx_, inspection_id)

    def suspend(**kwargs: object) -> None:
        raise AssertionError("suspended for the form while the links were recorded")

    monkeypatch.setattr(waiting, "given_survey_links", look)
    monkeypatch.setattr(waiting, "suspend_flow_run", suspend)
    given = SuspendWaiter(ctx).survey_links(iid)
    assert given is not None and str(given.practitioners) == "https://s.example/w"
    assert len(looks) == 2 and get_phase(ctx, iid, "notification").status == "running"
