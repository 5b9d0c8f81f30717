"""One inspection on the real stack, through its faults: phases wait suspended without a process and are woken by
decisions and the ticker; the worker killed mid-batch and while phases wait, the mail server down for a while and
the Prefect server restarted lose nothing and send nothing twice. The tests run in order on one inspection."""

from __future__ import annotations

import contextvars
import threading
import time
from datetime import UTC, datetime

import pytest

from tests.live.stack import LEASE_SECONDS, LiveStack

pytestmark = pytest.mark.timeout(600)

INSPECTION = "demo-county-2030-06-24"
NOTIFIED = "2030-06-24T09:00"  # a Monday far enough ahead that no reminder falls due while the tests run
DAY2_ITEMS = ["child-level-data", "providers-settings", "1.1", "1.2", "1.3", "1.4", "1.5", "health-template"]
LISTS = ["boards", "chief-executive-and-members", "extended-board", "all-childrens-services", "schools-forum-chairs"]
SURVEYS = ["children_young_people", "parents_carers", "practitioners"]


def key(*parts: str) -> str:
    """Return a ledger key of the test inspection."""
    return ":".join((INSPECTION, *parts))


def ask(ref: str, step: str = "submit") -> str:
    """Return the ledger key of the first ask of a day-2 item's step."""
    return key("day2", ref, step, "r1", "ask")


def answer(stack: LiveStack, ref: str, step: str, outcome: str) -> None:
    """Answer a day-2 item's step through the link in its ask, as the person asked would."""
    token = stack.message(ask(ref, step)).token
    assert token
    response = stack.answer(token, outcome)
    assert response.status_code == 200, response.text[:500]


def day2_run(stack: LiveStack) -> str:
    """Return the flow run id carrying the day-2 phase."""
    flow_run_id = stack.phase(INSPECTION, "day2")[1]
    assert flow_run_id
    return flow_run_id


def waiting_again(stack: LiveStack) -> bool:
    """Say whether day 2 waits suspended under the key of its latest wait."""
    status, flow_run_id, wake_seq = stack.phase(INSPECTION, "day2")
    return status == "waiting" and flow_run_id is not None and stack.suspended_with(flow_run_id) == f"wake-{wake_seq}"


def sent_once(stack: LiveStack, wanted: set[str]) -> None:
    """Assert the test inspection's emails went once each, `wanted` among them (LiveStack.assert_sent_once)."""
    stack.assert_sent_once(INSPECTION, wanted)


def decisions(stack: LiveStack) -> list[tuple]:
    """Return the inspection's decisions in order: item, step, outcome."""
    return stack.query("select r.ref, d.step, d.outcome from decisions d join register_items r on r.id = d.item_id "
                       "where r.inspection_id = :i order by d.id", i=INSPECTION)


def prefect(stack: LiveStack, what: str, body: dict) -> list[dict]:
    """Return what the Prefect API's /<what>/filter gives for `body`."""
    return stack.api("POST", f"/{what}/filter", json=body)


def when(text: str) -> datetime:
    """Parse a timestamp the Prefect API gives."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def test_an_inspection_started_with_the_worker_killed_mid_batch_sends_every_email_once(stack: LiveStack) -> None:
    """Killed while the server takes day 2's fourth ask, the worker restarts; the dead run is found by its lease,
    marked Crashed and replaced; each email arrives once, the unanswered one included, and a decision given
    meanwhile is acted on; both phases then wait suspended under readable names."""
    day2_asks = {ask(ref) for ref in DAY2_ITEMS}
    stack.mail.delay = 0.25  # a slow server: day 2's asks go out one by one
    stack.mail.hold = lambda k: k in day2_asks and len(day2_asks & set(stack.keys_of(INSPECTION))) >= 3
    try:
        stack.cli("start", "--notified-at", NOTIFIED, "--deliberate")  # ahead of time, on purpose
        stack.wait_for(lambda: stack.mail.holding is not None, seconds=120, what="day 2 in the middle of its asks")
        stack.kill("worker")
        killed_at = time.monotonic()
        stack.wait_for(lambda: stack.mail.holding is None, seconds=10, what="the server to see the client gone")
    finally:
        stack.mail.hold, stack.mail.delay = None, 0.0
    dead_run = day2_run(stack)
    assert stack.flow_run(dead_run)["state"]["type"] == "RUNNING"  # a zombie: no process will finish it
    received = stack.keys_of(INSPECTION)
    assert len(day2_asks & set(received)) == 3
    # Day 2's, claimed but never answered 250 (another phase killed with the worker may have one of its own).
    in_flight = [k for k, status in stack.ledger(INSPECTION).items() if status == "claimed" and k in day2_asks]
    assert len(in_flight) == 1 and in_flight[0] not in received

    answer(stack, "1.1", "submit", "submitted")  # the evidence lead answers while the worker is dead
    stack.start_worker()
    time.sleep(max(0.0, killed_at + LEASE_SECONDS + 1 - time.monotonic()))  # the dead run's lease runs out
    assert stack.tick()["state"]["type"] == "COMPLETED"
    crashed = stack.flow_run(dead_run)["state"]
    assert crashed["type"] == "CRASHED"
    assert crashed["message"].startswith("Dead run: its run has been Running with no sign of life since")
    fresh_run = day2_run(stack)
    assert stack.flow_run(fresh_run)["idempotency_key"] == key("day2", "after", dead_run)

    expected = {key("notification", "list", name) for name in LISTS} | {key("notification", "core-group-meeting")}
    expected |= day2_asks | {ask("1.1", "approve")}
    stack.wait_for(lambda: expected <= set(stack.keys_of(INSPECTION)), seconds=90, what="every email after the kill")
    stack.wait_for(lambda: waiting_again(stack) and stack.phase(INSPECTION, "notification")[0] == "waiting",
                   seconds=90, what="both phases waiting")
    # Day 1 and day 2 sent exactly these, each once (the days before the inspectors arrive ask others meanwhile).
    phases = (key("notification"), key("day2"))
    assert {k: n for k, n in stack.keys_of(INSPECTION).items() if k.startswith(phases)} == dict.fromkeys(expected, 1)
    sent_once(stack, expected)
    assert decisions(stack) == [("1.1", "submit", "submitted")]
    assert stack.message(ask("1.1")).to == ("owen.garside@demo-county.example",)
    assert stack.message(ask("1.1", "approve")).to == ("samantha.cole-brierley@demo-county.example",)

    # Our row says waiting just before the run suspends itself on the server.
    stack.wait_for(lambda: stack.flow_run(stack.phase(INSPECTION, "notification")[1])["state"]["state_details"]
                   .get("pause_key") == "survey-links", seconds=60, what="day 1 suspended for the survey links")
    notification_run = stack.flow_run(stack.phase(INSPECTION, "notification")[1])
    assert notification_run["name"] == f"{INSPECTION} · notification (day 1)"
    day2 = stack.flow_run(fresh_run)
    assert day2["name"] == f"{INSPECTION} · Annex A day 2"
    assert day2["state"]["name"] == "Suspended"
    def run_logs() -> list[str]:
        return [line["message"] for line in prefect(stack, "logs", {"logs": {"flow_run_id": {"any_": [fresh_run]}}})]

    # A run's log lines reach the server in batches, the last ones as its process ends on suspending.
    stack.wait_for(lambda: any(m.startswith("waiting: ") for m in run_logs()), seconds=60, what="the run's last logs")
    logs = run_logs()
    assert any(m.startswith(f"sent {in_flight[0]} (") for m in logs), logs  # by key: INFO lines arrive
    # The approver's ask went from the web app as it recorded the decision (ADR 0009), not from the run.
    assert f"sent {ask('1.1', 'approve')} (" in stack.log("web")
    assert not any(m.startswith(f"sent {ask('1.1', 'approve')} (") for m in logs), logs
    assert any(m.startswith("day2: this pass sent") for m in logs)
    assert any(m.startswith("waiting: ") and "wakes " in m for m in logs), logs  # what it waits for, and until
    by_key = {a["key"]: a for a in prefect(stack, "artifacts", {}) if a.get("key")}
    assert f"{INSPECTION}-day2-register" in by_key
    assert by_key[f"{INSPECTION}-day2-status"]["data"].startswith("**Waiting for 8 of 8 items:")


def test_a_decision_wakes_the_suspended_day2_run_at_once(stack: LiveStack) -> None:
    """A submission through the emailed link: the web app asks the accountable lead itself (ADR 0009) and resumes the
    day-2 run (its own resume, not the ticker's), which makes its pass and waits again."""
    before = stack.phase(INSPECTION, "day2")[2]
    answer(stack, "1.2", "submit", "submitted")
    stack.wait_for(lambda: ask("1.2", "approve") in stack.keys_of(INSPECTION), seconds=120,
                   what="the accountable lead's ask")
    # How long each took is measured in bench/, not here.
    stack.wait_for(lambda: f"sent {ask('1.2', 'approve')} (" in stack.log("web")
                   and f"woke {INSPECTION} day2: decision on 1.2" in stack.log("web"), seconds=30,
                   what="the web app to send the ask, then resume the run")
    stack.wait_for(lambda: waiting_again(stack) and stack.phase(INSPECTION, "day2")[2] > before, seconds=60,
                   what="day 2 to wait again")


def test_wakes_racing_on_one_run_fail_none_and_send_nothing(stack: LiveStack, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three wakes that all found the day-2 run suspended (the web app's and the ticker's, racing) ask the server to
    resume it at the same moment: none fails (a 409 would count as resumed), the run passes and waits again, and
    nothing is sent twice."""
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from send_inspection.live.waker import resume

    stack.wait_for(lambda: waiting_again(stack), seconds=60, what="day 2 waiting")
    run_id, wakes_before = day2_run(stack), stack.phase(INSPECTION, "day2")[2]
    day2_sent = lambda: {k: n for k, n in stack.keys_of(INSPECTION).items() if k.startswith(key("day2"))}  # noqa: E731
    sent_before = day2_sent()
    racers = 3
    together = threading.Barrier(racers)
    real_resume = SyncPrefectClient.resume_flow_run

    def resume_together(client: SyncPrefectClient, *args: object, **kwargs: object) -> object:
        together.wait(timeout=30)  # every racer has read the run as suspended: now all ask at once
        return real_resume(client, *args, **kwargs)

    monkeypatch.setattr(SyncPrefectClient, "resume_flow_run", resume_together)
    outcomes: list[object] = []

    def wake() -> None:
        try:
            outcomes.append(resume(run_id, run_input={"reason": "a race"}))
        except Exception as exc:  # noqa: BLE001 - shown by the assertion below
            outcomes.append(exc)

    with temporary_settings(updates={PREFECT_API_URL: stack.api_url}):
        threads = [threading.Thread(target=contextvars.copy_context().run, args=(wake,)) for _ in range(racers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    # Prefect 3.9's server on SQLite accepts each of them; a 409 (the run's input stored already) returns False.
    assert len(outcomes) == racers and set(outcomes) <= {True, False} and True in outcomes, outcomes
    stack.wait_for(lambda: waiting_again(stack) and stack.phase(INSPECTION, "day2")[2] > wakes_before, seconds=120,
                   what="day 2 to pass and wait again")
    time.sleep(5)
    # Usually one pass. Two were seen once in a fresh-clone run (the cause not found: a resume tried again by
    # Prefect's client, or a tick); a pass is safe to repeat, and the second found nothing to send.
    assert stack.phase(INSPECTION, "day2")[2] <= wakes_before + racers
    stack.wait_for(lambda: waiting_again(stack), seconds=120, what="day 2 waiting at the end")
    assert stack.flow_run(run_id)["state"]["name"] == "Suspended"
    assert day2_sent() == sent_before


def test_a_worker_killed_while_phases_wait_loses_no_decision_and_sends_nothing_twice(stack: LiveStack) -> None:
    """Decisions given while the worker is dead get their next asks from the web app at once, and the phase runs
    after the worker's restart, each email exactly once."""
    stack.kill("worker")
    wake_before = stack.phase(INSPECTION, "day2")[2]
    answer(stack, "1.1", "approve", "approved")
    answer(stack, "1.3", "submit", "submitted")
    wanted = {ask("1.1", "check"), ask("1.3", "approve")}
    stack.wait_for(lambda: wanted <= set(stack.keys_of(INSPECTION)), seconds=30, what="the web app's asks")
    sent_before = sum(stack.keys_of(INSPECTION).values())
    time.sleep(3)
    assert sum(stack.keys_of(INSPECTION).values()) == sent_before  # nothing runs the phase while the worker is down
    assert stack.phase(INSPECTION, "day2")[2] == wake_before

    # The first decision resumed the suspended run on the server; the restarted worker picks it up. (A run the kill
    # caught in the middle of a pass would be found dead by its lease and started afresh by the ticker instead.)
    stack.start_worker()
    stack.wait_for(lambda: waiting_again(stack) and stack.phase(INSPECTION, "day2")[2] > wake_before, seconds=120,
                   what="day 2 to run and wait again after the restart")
    sent_once(stack, wanted)
    assert decisions(stack)[-3:] == [("1.2", "submit", "submitted"), ("1.1", "approve", "approved"),
                                     ("1.3", "submit", "submitted")]


def test_a_mail_server_down_for_a_while_is_retried_shown_to_operators_and_loses_nothing(stack: LiveStack) -> None:
    """With the SMTP server stopped the pass tries again after 1 s and 2 s, each failure a red "Mail problem" task
    with an ERROR log and an artifact, then waits to try again; once the server is back the email goes once."""
    approve = ask("1.4", "approve")
    stack.stop_smtp()
    try:
        answer(stack, "1.4", "submit", "submitted")
        stack.wait_for(lambda: stack.phase_row(INSPECTION, "day2")["reason"].startswith("MAIL PROBLEM")
                       and waiting_again(stack), seconds=90, what="day 2 to wait on its mail problem")
        run_id = day2_run(stack)
        tries = sorted(prefect(stack, "task_runs", {"flow_runs": {"id": {"any_": [run_id]}},
                                                     "task_runs": {"name": {"like_": "mail-problem"}}}),
                       key=lambda t: t["start_time"])
        assert [(t["state"]["type"], t["state"]["name"]) for t in tries] == [("FAILED", "Mail problem")] * 3
        assert all("connection refused" in t["state"]["message"] and "Trying again at" in t["state"]["message"]
                   for t in tries)
        starts = [when(t["start_time"]) for t in tries]
        assert (starts[1] - starts[0]).total_seconds() >= 1 and (starts[2] - starts[1]).total_seconds() >= 2
        errors = prefect(stack, "logs", {"logs": {"flow_run_id": {"any_": [run_id]}, "level": {"ge_": 40}}})
        assert any(log["message"].startswith("MAIL PROBLEM in Annex A day 2") for log in errors)
        artifacts = prefect(stack, "artifacts", {"artifacts": {"key": {"any_": [f"{INSPECTION}-day2-mail"]}}})
        assert artifacts and all(approve in a["data"] for a in artifacts)
        assert stack.ledger(INSPECTION)[approve] == "failed"
    finally:
        stack.start_smtp()

    stack.tick()  # its retry time has come: the ticker wakes day 2
    stack.wait_for(lambda: approve in stack.keys_of(INSPECTION), seconds=60, what="the email once the server is back")
    stack.wait_for(lambda: waiting_again(stack) and not stack.phase_row(INSPECTION, "day2")["reason"].startswith(
        "MAIL PROBLEM"), seconds=60, what="day 2 to wait without a mail problem")
    sent_once(stack, {approve})


def test_a_prefect_server_restarted_while_phases_wait_loses_no_decision_and_all_resume(stack: LiveStack) -> None:
    """A decision given while the Prefect server is down is kept; the worker waits for the server and serves again;
    the ticker then wakes day 2 for it, a later decision wakes day 2 at once, and the coordinator's run resumes."""
    worker_pid = stack.procs["worker"].pid
    seen = len(stack.log("worker"))
    stack.stop("prefect-server")
    try:
        answer(stack, "1.5", "submit", "submitted")
        assert decisions(stack)[-1] == ("1.5", "submit", "submitted")
        stack.wait_for(lambda: "stopped answering" in stack.log("worker")[seen:], seconds=90,
                       what="the worker to notice the server is gone")
    finally:
        stack.start_server()
    stack.wait_for(lambda: stack.runner_polling(since=seen), seconds=90, what="the worker to serve again")
    assert stack.procs["worker"].pid == worker_pid  # the same worker process, started afresh in place

    stack.tick()  # the decision given while the server was down: the ticker wakes day 2 for it
    stack.wait_for(lambda: ask("1.5", "approve") in stack.keys_of(INSPECTION), seconds=60,
                   what="the ask for the decision given while the server was down")
    stack.wait_for(lambda: waiting_again(stack), seconds=60, what="day 2 to wait again")
    decided_at = time.monotonic()
    answer(stack, "1.2", "approve", "approved")
    stack.cli("survey-links", "--inspection", INSPECTION,
              "--children-young-people", "https://surveys.example/cyp",
              "--parents-carers", "https://surveys.example/parents",
              "--practitioners", "https://surveys.example/practitioners",
              "--health-template", "https://share.demo-county.example/health-template")
    stack.wait_for(lambda: ask("1.2", "check") in stack.keys_of(INSPECTION), seconds=60,
                   what="the ask after a decision once the server is back")
    assert time.monotonic() - decided_at < 30
    # The coordinator's run resumes, sends the surveys and the forum's email, then waits (suspended, no process)
    # for the reminder to families a day before the surveys close.
    wake_seq = stack.phase(INSPECTION, "notification")[2]
    stack.wait_for(lambda: stack.phase(INSPECTION, "notification")[2] > wake_seq
                   and stack.phase(INSPECTION, "notification")[0] == "waiting", seconds=90,
                   what="the notification run, suspended before the restart, to send the surveys and wait again")
    assert "reminding families" in stack.phase_row(INSPECTION, "notification")["reason"]
    sent_once(stack, {key("notification", "survey", audience) for audience in SURVEYS}
              | {key("notification", "health-template"), key("notification", "survey-forum"), ask("1.5", "approve"),
                 ask("1.2", "check")})


def test_the_ticker_runs_on_its_schedule(stack: LiveStack) -> None:
    """The server schedules the every-minute ticker and the worker runs it to completion."""

    def completed_tickers() -> int:
        body = {"flows": {"name": {"any_": ["ticker"]}}, "flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}}
        return sum(1 for run in prefect(stack, "flow_runs", body) if run["auto_scheduled"])  # not the tests' ticks

    stack.wait_for(lambda: completed_tickers() >= 1, seconds=180, what="a completed ticker run", every=2)
    assert "Can't evaluate bulk DML statement" not in stack.log("prefect-server")  # the scheduler's own errors
