"""How the waker reads the Prefect server's answers to a resume (a conflict is another wake's success), and which
phases it resumes at all."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from prefect.exceptions import NotPausedError

from send_inspection.engine.context import EngineContext
from send_inspection.engine.phase_rows import begin_wait, claim_pass, note_news, record_flow_run
from send_inspection.live import waker as waker_module
from send_inspection.live.waker import PrefectWaker, already_resumed

RUN_ID = "00000000-0000-0000-0000-000000000001"


def _answered(code: int) -> httpx.HTTPStatusError:
    request = httpx.Request("POST", "http://127.0.0.1:4200/api/flow_runs/0/resume")
    response = httpx.Response(code, request=request, json={"detail": "Data integrity conflict."})
    return httpx.HTTPStatusError(f"{code}", request=request, response=response)


@pytest.mark.parametrize(("error", "resumed"), [
    (_answered(409), True),  # another wake stored the run's input first: the run is resumed
    (_answered(500), False),
    (_answered(503), False),
    (httpx.ConnectError("connection refused"), False),
])
def test_only_a_conflict_means_the_run_was_resumed_by_another_wake(error: httpx.HTTPError, resumed: bool) -> None:
    """A 409 to a resume is the double resume of two wakes racing; a 5xx or a refused connection is trouble."""
    assert already_resumed(error) is resumed


@pytest.fixture
def resumes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record each resume the waker asks the Prefect server for, and each pause it makes between tries."""
    asked: list[str] = []
    monkeypatch.setattr(waker_module, "resume", lambda flow_run_id, *, run_input: asked.append(flow_run_id) or True)
    monkeypatch.setattr(waker_module.time, "sleep", lambda seconds: asked.append(f"pause {seconds}"))
    monkeypatch.setattr(waker_module, "starting_again", lambda flow_run_id: False)  # running, about to suspend
    return asked


@pytest.mark.parametrize("status", ["launched", "running"])
def test_a_phase_not_waiting_is_left_at_once(ctx: EngineContext, started: tuple, resumes: list[str],
                                             status: str) -> None:
    """A phase whose run is starting or in its pass is not resumed and the waker does not wait for it."""
    iid, _ = started
    record_flow_run(ctx, iid, "day2", RUN_ID)
    if status == "running":
        with ctx.session() as session:
            claim_pass(session, iid, "day2", now=ctx.clock.now())
    PrefectWaker(ctx, pauses=(5.0,) * 9).wake(iid, "day2", reason="decision on 1.1")
    assert resumes == []


def test_news_while_the_pass_runs_makes_it_go_again_instead_of_waiting(ctx: EngineContext, started: tuple) -> None:
    """The decision the waker leaves to a running pass is counted, and the pass goes again before it waits."""
    iid, _ = started
    record_flow_run(ctx, iid, "day2", RUN_ID)
    with ctx.session() as session:
        claim_pass(session, iid, "day2", now=ctx.clock.now())
        note_news(session, iid, "day2")
        session.commit()
    ticket = begin_wait(ctx, iid, "day2", reason="waiting for answers", next_wake_at=None, flow_run_id=RUN_ID)
    assert ticket.go_again


@pytest.fixture
def day2_waiting(ctx: EngineContext, started: tuple) -> str:
    """Return the inspection whose day-2 row says waiting on RUN_ID."""
    iid, _ = started
    record_flow_run(ctx, iid, "day2", RUN_ID)
    begin_wait(ctx, iid, "day2", reason="waiting for answers", next_wake_at=None, flow_run_id=RUN_ID)
    return iid


def _not_paused_then(answers: list[object], resumes: list[str]) -> Callable[..., bool]:
    """Return a stand-in for resume giving `answers` in turn (an exception is raised), recording each call."""
    def resume(flow_run_id: str, *, run_input: dict) -> bool:
        resumes.append(flow_run_id)
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        return bool(answer)
    return resume


def test_a_waiting_phase_is_resumed_and_retried_until_its_run_is_suspended(
        ctx: EngineContext, day2_waiting: str, resumes: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Our row says waiting a moment before the server has the run suspended: the waker tries again after a pause."""
    monkeypatch.setattr(waker_module, "resume", _not_paused_then([NotPausedError("not paused yet"), True], resumes))
    PrefectWaker(ctx).wake(day2_waiting, "day2", reason="decision on 1.1")
    assert resumes == [RUN_ID, "pause 0.25", RUN_ID]


def test_a_run_that_never_suspends_is_tried_less_and_less_often_then_left_to_the_ticker(
        ctx: EngineContext, day2_waiting: str, resumes: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Six tries over 7.75 s, each pause twice the last; then the waker leaves it to the ticker, which wakes what is
    still due."""
    monkeypatch.setattr(waker_module, "resume", _not_paused_then([NotPausedError("not paused yet")], resumes))
    PrefectWaker(ctx).wake(day2_waiting, "day2", reason="decision on 1.1")
    assert resumes == [RUN_ID, "pause 0.25", RUN_ID, "pause 0.5", RUN_ID, "pause 1.0", RUN_ID, "pause 2.0", RUN_ID,
                       "pause 4.0", RUN_ID]


def test_a_run_another_wake_resumed_is_left_to_start_without_pauses(
        ctx: EngineContext, day2_waiting: str, resumes: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Our row still says waiting but the server has the run Scheduled or Pending again: it reads the decision when
    its pass starts, so the waker stops at once instead of holding a web app thread for seconds."""
    monkeypatch.setattr(waker_module, "resume", _not_paused_then([NotPausedError("not paused")], resumes))
    monkeypatch.setattr(waker_module, "starting_again", lambda flow_run_id: True)
    PrefectWaker(ctx).wake(day2_waiting, "day2", reason="decision on 1.1")
    assert resumes == [RUN_ID]
