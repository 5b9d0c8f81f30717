"""Handing the survey links to the notification run: by what its pause asks for, tried again while it suspends."""

from __future__ import annotations

import pytest
from prefect.exceptions import NotPausedError

from send_inspection.coordinator.prefect_runner import PrefectRunner
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import open_inspection
from send_inspection.engine.notification import LinksNotTaken, SurveyLinks
from send_inspection.engine.phase_rows import begin_wait, ensure_phase, record_flow_run
from send_inspection.live import waker as waker_module
from send_inspection.live.waker import PrefectWaker
from tests.conftest import NOTIFIED

RUN_ID = "00000000-0000-0000-0000-000000000002"
LINKS = SurveyLinks(children_young_people="https://s.example/c", parents_carers="https://s.example/p",
                    practitioners="https://s.example/w")


@pytest.fixture
def waiting(ctx: EngineContext) -> str:
    """Open the demo inspection with its notification phase waiting in our row."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    ensure_phase(ctx, iid, "notification")
    record_flow_run(ctx, iid, "notification", RUN_ID)
    begin_wait(ctx, iid, "notification", reason="waiting for the links", next_wake_at=None, flow_run_id=RUN_ID)
    return iid


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> dict:
    """Stand in for the Prefect server: the pause keys it reports in turn, and each resume and pause made."""
    seen: dict = {"keys": [], "calls": [], "starting": False}  # "starting": the run was resumed and is starting

    def pause_key(flow_run_id: str) -> str | None:
        return seen["keys"].pop(0) if seen["keys"] else None

    def resume(flow_run_id: str, *, run_input: dict) -> bool:
        seen["calls"].append(sorted(run_input))
        return True

    monkeypatch.setattr(waker_module, "pause_key", pause_key)
    monkeypatch.setattr(waker_module, "resume", resume)
    monkeypatch.setattr(waker_module, "starting_again", lambda flow_run_id: seen["starting"])
    monkeypatch.setattr(waker_module.time, "sleep", lambda seconds: seen["calls"].append(f"pause {seconds}"))
    monkeypatch.setattr(PrefectRunner, "__init__", lambda self, ctx: setattr(self, "waker", PrefectWaker(ctx)))
    return seen


def test_a_run_paused_for_the_links_gets_them(ctx: EngineContext, waiting: str, server: dict) -> None:
    """The run's pause is the links form: it is resumed with the links themselves."""
    server["keys"] = ["survey-links"]
    PrefectRunner(ctx).give_survey_links(waiting, LINKS)
    assert server["calls"] == [sorted(["children_young_people", "parents_carers", "practitioners",
                                       "health_template", "closes_at"])]


def test_a_run_paused_for_something_else_is_woken_to_read_them(ctx: EngineContext, waiting: str,
                                                               server: dict) -> None:
    """A run waiting to retry its day-1 mail is woken with a reason; it reads the recorded links."""
    server["keys"] = ["wake-3"]
    PrefectRunner(ctx).give_survey_links(waiting, LINKS)
    assert server["calls"] == [["reason"]]


def test_a_run_not_yet_suspended_is_tried_again(ctx: EngineContext, waiting: str, server: dict) -> None:
    """Our row says waiting before the server has the run paused: the links go once it is."""
    server["keys"] = [None, "survey-links"]
    PrefectRunner(ctx).give_survey_links(waiting, LINKS)
    assert server["calls"][0] == "pause 0.25" and len(server["calls"]) == 2


def test_a_refused_resume_is_tried_again(ctx: EngineContext, waiting: str, server: dict,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A resume the server refuses while the pause is being made is tried again, by what the pause asks for."""
    server["keys"] = ["survey-links", "survey-links"]
    answers = [NotPausedError("not paused yet"), True]

    def resume(flow_run_id: str, *, run_input: dict) -> bool:
        server["calls"].append("resume")
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(waker_module, "resume", resume)
    PrefectRunner(ctx).give_survey_links(waiting, LINKS)
    assert server["calls"] == ["resume", "pause 0.25", "resume"]


def test_a_run_that_never_suspends_says_the_links_are_recorded(ctx: EngineContext, waiting: str,
                                                               server: dict) -> None:
    """After the last try the coordinator is told the links are kept and to give them again, not a traceback."""
    with pytest.raises(LinksNotTaken, match="the survey links are recorded.*give them again in a minute"):
        PrefectRunner(ctx).give_survey_links(waiting, LINKS)
    assert server["calls"] == ["pause 0.25", "pause 0.5", "pause 1.0", "pause 2.0", "pause 4.0"]


def test_a_run_resumed_already_reads_the_links_when_it_starts(ctx: EngineContext, waiting: str, server: dict) -> None:
    """Another wake resumed the run (Scheduled or Pending now): its pass reads the recorded links, nothing waits."""
    server["starting"] = True
    PrefectRunner(ctx).give_survey_links(waiting, LINKS)
    assert server["calls"] == []
