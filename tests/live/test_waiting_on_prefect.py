"""Phases on a real Prefect server: suspended without a process, woken by decisions, surviving a killed worker."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live.stack import LiveStack, start_stack, stop_stack

pytestmark = pytest.mark.timeout(600)

INSPECTION = "demo-county-2030-06-24"
NOTIFIED = "2030-06-24T09:00"  # a Monday far enough ahead that no reminder falls due while the test runs
DAY2_ITEMS = ["child-level-data", "providers-settings", "1.1", "1.2", "1.3", "1.4", "1.5", "health-template"]
LISTS = ["boards", "chief-executive-and-members", "extended-board", "all-childrens-services", "schools-forum-chairs"]


def key(*parts: str) -> str:
    """Return a ledger key of the test inspection."""
    return ":".join((INSPECTION, *parts))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """Start the whole local stack once for this module."""
    live = start_stack(Path(tmp_path_factory.mktemp("live")))
    try:
        yield live
    finally:
        stop_stack(live)


def day2_run(stack: LiveStack) -> str:
    """Return the flow run id carrying the day-2 phase."""
    flow_run_id = stack.phase(INSPECTION, "day2")[1]
    assert flow_run_id
    return flow_run_id


def test_notification_started_from_the_cli_sends_and_both_phases_suspend(stack: LiveStack) -> None:
    """Starting an inspection sends day 1's emails once, and both phases wait suspended under readable names."""
    stack.cli("start", "--notified-at", NOTIFIED)
    stack.wait_for(lambda: stack.phase(INSPECTION, "notification")[0] == "waiting"
                   and stack.phase(INSPECTION, "day2")[0] == "waiting"
                   and stack.suspended_with(day2_run(stack)) == "wake-1", seconds=120, what="both phases waiting")

    expected = {key("notification", "list", name) for name in LISTS}
    expected |= {key("notification", "core-group-meeting")}
    expected |= {key("day2", ref, "submit", "r1", "ask") for ref in DAY2_ITEMS}
    assert stack.received_keys() == dict.fromkeys(expected, 1)
    assert stack.message(key("day2", "1.1", "submit", "r1", "ask")).to == ("owen.garside@demo-county.example",)

    notification_run = stack.flow_run(stack.phase(INSPECTION, "notification")[1])
    assert notification_run["name"] == f"{INSPECTION} · notification (day 1)"
    assert notification_run["state"]["state_details"]["pause_key"] == "survey-links"
    day2 = stack.flow_run(day2_run(stack))
    assert day2["name"] == f"{INSPECTION} · Annex A day 2"
    assert day2["state"]["name"] == "Suspended"

    artifacts = httpx.post(f"{stack.api_url}/artifacts/filter", json={}, timeout=10).json()
    by_key = {a["key"]: a for a in artifacts if a.get("key")}
    assert f"{INSPECTION}-day2-register" in by_key
    assert by_key[f"{INSPECTION}-day2-status"]["data"].startswith("**Waiting for 8 of 8 items:")


def test_survey_links_from_the_cli_resume_the_notification_run(stack: LiveStack) -> None:
    """The coordinator's survey links resume the notification run, which sends the surveys and completes."""
    stack.cli("survey-links", "--inspection", INSPECTION,
              "--children-young-people", "https://surveys.example/cyp",
              "--parents-carers", "https://surveys.example/parents",
              "--practitioners", "https://surveys.example/practitioners",
              "--health-template", "https://share.demo-county.example/health-template")
    flow_run_id = stack.phase(INSPECTION, "notification")[1]
    stack.wait_for(lambda: stack.flow_run(flow_run_id)["state"]["type"] == "COMPLETED", seconds=90,
                   what="the notification run to complete")
    assert stack.phase(INSPECTION, "notification")[0] == "done"
    keys = stack.received_keys()
    for audience in ("children_young_people", "parents_carers", "practitioners"):
        assert keys[key("notification", "survey", audience)] == 1
    assert keys[key("notification", "health-template")] == 1


def test_a_decision_wakes_the_suspended_day2_run_at_once(stack: LiveStack) -> None:
    """A submission through the emailed link resumes the day-2 run, which asks the accountable lead and waits again."""
    before = stack.phase(INSPECTION, "day2")[2]
    token = stack.message(key("day2", "1.1", "submit", "r1", "ask")).token
    assert token
    response = stack.answer(token, "submitted")
    assert response.status_code == 200, response.text[:500]
    asked = key("day2", "1.1", "approve", "r1", "ask")
    took = stack.wait_for(lambda: asked in stack.received_keys(), seconds=60, what="the accountable lead's ask")
    assert took < 30
    assert stack.message(asked).to == ("samantha.cole-brierley@demo-county.example",)
    stack.wait_for(lambda: stack.suspended_with(day2_run(stack)) == f"wake-{stack.phase(INSPECTION, 'day2')[2]}"
                   and stack.phase(INSPECTION, "day2")[2] > before, seconds=60, what="day 2 to wait again")
    assert stack.phase(INSPECTION, "day2")[0] == "waiting"


def test_a_killed_worker_loses_no_decision_and_sends_nothing_twice(stack: LiveStack) -> None:
    """Decisions given while the worker is dead are acted on after its restart, each email exactly once."""
    stack.kill("worker")
    approve = stack.message(key("day2", "1.1", "approve", "r1", "ask")).token
    submit = stack.message(key("day2", "1.3", "submit", "r1", "ask")).token
    assert approve and submit
    assert stack.answer(approve, "approved").status_code == 200
    assert stack.answer(submit, "submitted").status_code == 200
    sent_before = sum(stack.received_keys().values())
    time.sleep(4)
    assert sum(stack.received_keys().values()) == sent_before  # nothing runs the phase while the worker is down

    stack.start_worker()
    wanted = {key("day2", "1.1", "check", "r1", "ask"), key("day2", "1.3", "approve", "r1", "ask")}
    try:
        stack.wait_for(lambda: wanted <= set(stack.received_keys()), seconds=120, what="the asks after the restart")
    except AssertionError as exc:  # say where the day-2 run stands: the restart race is not yet understood
        state = stack.flow_run(day2_run(stack))["state"]
        raise AssertionError(f"{exc}\nday-2 run state: {state.get('type')} {state.get('name')} "
                             f"{state.get('timestamp')}; phase: {stack.phase(INSPECTION, 'day2')}") from None
    stack.wait_for(lambda: stack.suspended_with(day2_run(stack)) is not None, seconds=60,
                   what="day 2 to wait again after the restart")

    counts = stack.received_keys()
    assert [k for k, n in counts.items() if n > 1] == []
    ledger = stack.query("select key, status from email_ledger where inspection_id = :i", i=INSPECTION)
    assert {k for k, _ in ledger} == set(counts)
    assert {s for _, s in ledger} == {"sent"}
    decisions = stack.query(
        "select r.ref, d.step, d.outcome from decisions d join register_items r on r.id = d.item_id order by d.id")
    assert decisions == [("1.1", "submit", "submitted"), ("1.1", "approve", "approved"),
                         ("1.3", "submit", "submitted")]


def test_the_ticker_runs_on_its_schedule(stack: LiveStack) -> None:
    """The server schedules the every-minute ticker and the worker runs it to completion."""

    def completed_tickers() -> int:
        body = {"flows": {"name": {"any_": ["ticker"]}}, "flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}}
        return len(httpx.post(f"{stack.api_url}/flow_runs/filter", json=body, timeout=10).json())

    stack.wait_for(lambda: completed_tickers() >= 1, seconds=180, what="a completed ticker run", every=2)
    assert "Can't evaluate bulk DML statement" not in stack.log("prefect-server")  # the scheduler's own errors
