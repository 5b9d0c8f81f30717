"""County-scale distribution: planning within Exchange's limits, and sending batches through EWS exactly once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from send_inspection.calendar import LONDON, WorkingCalendar
from send_inspection.clock import VirtualClock
from send_inspection.config.models import QuietHours
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import open_inspection
from send_inspection.engine.send_window import SendWindow
from send_inspection.mail.distribution import (
    EXCHANGE_ONLINE,
    Batch,
    DistributionChangedError,
    DistributionLimits,
    DistributionPlan,
    DistributionProgress,
    distribution_rows,
    plan_distribution,
    send_distribution,
    without_addresses,
)
from send_inspection.mail.ews import EwsTransport
from send_inspection.mail.message import OutgoingMessage
from tests.conftest import NOTIFIED
from tests.mail.ews_server import EwsServer

IID = "demo-county-2023-06-26"
KEY = f"{IID}:notification:survey:parents_carers"
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=LONDON)
BOXES = ("survey-1@demo-county.example", "survey-2@demo-county.example", "survey-3@demo-county.example")


def families(count: int) -> list[str]:
    """Return `count` distinct fictional family addresses."""
    return [f"family{i:05d}@demo-county.example" for i in range(count)]


def most_in_window(batches: tuple[Batch, ...], *, width: timedelta, weight: Callable[[Batch], int]) -> int:
    """Return the largest total weight of one mailbox's batches inside any window (t - width, t]."""
    worst = 0
    for batch in batches:
        same = [b for b in batches
                if b.mailbox == batch.mailbox and batch.earliest - width < b.earliest <= batch.earliest]
        worst = max(worst, sum(weight(b) for b in same))
    return worst


# ---- planning


@pytest.mark.parametrize(("per_message", "messages", "bcc"), [(500, 80, 500), (499, 81, 499)])
def test_forty_thousand_recipients_are_split_into_messages_of_at_most_the_limit(
    per_message: int, messages: int, bcc: int
) -> None:
    """40,000 addresses at 500 recipients a message, all in Bcc, make 80 messages; at 499, 81."""
    plan = plan_distribution(families(40_000), mailboxes=BOXES,
                             limits=DistributionLimits(max_recipients_per_message=per_message), start=MONDAY)
    assert plan.messages == messages
    assert max(len(b.recipients) for b in plan.batches) == bcc
    assert all(b.recipient_count <= per_message for b in plan.batches)
    assert [r for b in plan.batches for r in b.recipients] == families(40_000)
    assert [b.number for b in plan.batches] == list(range(1, messages + 1))


def test_repeated_addresses_are_removed_case_insensitively_in_a_stable_order() -> None:
    """A repeat in another case is sent once under its first spelling; unsendable addresses are left out, counted."""
    given = ["Kim@Demo-County.example", "sam@demo-county.example", " kim@demo-county.EXAMPLE ", "not an address",
             "ash@demo-county.example", "SAM@demo-county.example"]
    plan = plan_distribution(given, mailboxes=BOXES[:1], start=MONDAY)
    assert plan.batches[0].recipients == ("Kim@Demo-County.example", "sam@demo-county.example",
                                          "ash@demo-county.example")
    assert (plan.given, plan.repeats, plan.invalid, plan.recipients) == (6, 2, ("not an address",), 3)
    assert "(6 given: 2 repeated addresses sent once; 1 address that cannot be sent to left out)" in plan.describe()


def test_batches_go_round_robin_across_three_mailboxes() -> None:
    """Batch n goes from mailbox n mod 3, so 80 messages are 27, 27 and 26 from the three mailboxes."""
    plan = plan_distribution(families(40_000), mailboxes=BOXES, start=MONDAY)
    assert [b.mailbox for b in plan.batches[:6]] == [*BOXES, *BOXES]
    assert [sum(b.mailbox == box for b in plan.batches) for box in BOXES] == [27, 27, 26]
    assert plan.mailboxes_used == BOXES


def test_per_minute_limit_spaces_each_mailboxs_messages() -> None:
    """At 30 messages a minute one mailbox's messages go 2 s apart: never more than 30 in any minute."""
    limits = DistributionLimits(max_recipients_per_message=1, messages_per_minute=30, recipients_per_day=10_000)
    plan = plan_distribution(families(90), mailboxes=BOXES, limits=limits, start=MONDAY)
    first = [b.earliest - MONDAY for b in plan.batches if b.mailbox == BOXES[0]]
    assert first[:3] == [timedelta(0), timedelta(seconds=2), timedelta(seconds=4)]
    assert most_in_window(plan.batches, width=timedelta(minutes=1), weight=lambda b: 1) == 30
    # Three mailboxes send their first messages together; each gets 30 in its first minute.
    assert plan.finish == MONDAY + timedelta(seconds=58)


def test_rolling_day_limit_pushes_one_mailbox_to_the_next_days() -> None:
    """One mailbox reaches 10,000 recipients after 20 messages of 500: 40,000 families take three days more."""
    plan = plan_distribution(families(40_000), mailboxes=BOXES[:1], start=MONDAY)
    offsets = [b.earliest - MONDAY for b in plan.batches]
    assert offsets[19] == timedelta(seconds=38)
    assert offsets[20] == timedelta(days=1)  # the first message leaves the rolling 24 hours
    assert offsets[40] == timedelta(days=2)
    assert plan.finish == MONDAY + timedelta(days=3, seconds=38)
    assert most_in_window(plan.batches, width=timedelta(hours=24), weight=lambda b: b.recipient_count) <= 10_000


def test_no_batch_is_timed_in_the_quiet_hours() -> None:
    """Started at 18:00 on a Friday, 40,000 families from one mailbox: 20 messages then, the rest from Monday 07:30."""
    window = SendWindow(QuietHours(), WorkingCalendar())
    friday = datetime(2026, 11, 27, 18, 0, tzinfo=LONDON)
    plan = plan_distribution(families(40_000), mailboxes=BOXES[:1], start=friday,
                             allowed=lambda due: window.may_send_at("survey", due))
    monday = datetime(2026, 11, 30, 7, 30, tzinfo=LONDON)
    assert [b.earliest for b in plan.batches[19:21]] == [friday + timedelta(seconds=38), monday]
    assert all(window.may_send_at("survey", b.earliest) == b.earliest for b in plan.batches)
    assert plan.finish == monday + timedelta(days=2, seconds=38)  # 20 a day from 07:30: Monday, Tuesday, Wednesday
    assert most_in_window(plan.batches, width=timedelta(hours=24), weight=lambda b: b.recipient_count) <= 10_000


def test_plan_text_says_ok_before_the_survey_closes() -> None:
    """With three mailboxes 40,000 families are reached on Tuesday, before a Wednesday close: the line ends OK."""
    closes = datetime(2026, 11, 25, 17, 0, tzinfo=LONDON)
    plan = plan_distribution(families(40_000), mailboxes=BOXES, start=MONDAY, deadline=closes)
    assert plan.fits and plan.warning is None
    assert plan.describe() == (
        "40,000 recipients → 80 messages of ≤500 recipients (all in Bcc, nobody in To) from 3 mailboxes; "
        "finishes Tue 24 Nov 09:00 (London); survey closes Wed 25 Nov 17:00 (London): OK"
    )


def test_plan_that_cannot_finish_in_time_warns_and_says_how_many_mailboxes_would() -> None:
    """One mailbox needs until Thursday: the plan does not fit a Wednesday close and names 2 mailboxes as enough."""
    closes = datetime(2026, 11, 25, 17, 0, tzinfo=LONDON)
    plan = plan_distribution(families(40_000), mailboxes=BOXES[:1], start=MONDAY, deadline=closes)
    assert not plan.fits
    assert plan.mailboxes_needed == 2
    assert plan.warning == ("WARNING: the last batch goes Thu 26 Nov 09:00 (London), after the survey closes "
                            "Wed 25 Nov 17:00 (London); 2 mailboxes would finish in time")
    assert plan.describe().splitlines()[1] == plan.warning


def test_limits_and_inputs_are_checked() -> None:
    """A day limit below one message, no mailbox, or a naive start time is refused at once."""
    with pytest.raises(ValueError, match="recipients_per_day"):
        DistributionLimits(max_recipients_per_message=500, recipients_per_day=499)
    with pytest.raises(ValueError, match="mailboxes"):
        plan_distribution(families(3), mailboxes=[], start=MONDAY)
    with pytest.raises(ValueError, match="timezone"):
        plan_distribution(families(3), mailboxes=BOXES, start=datetime(2026, 11, 23, 9, 0))


def test_empty_list_plans_nothing() -> None:
    """No recipients make no messages, finish at the start and fit any deadline after it."""
    plan = plan_distribution([], mailboxes=BOXES, start=MONDAY, deadline=MONDAY + timedelta(hours=1))
    assert (plan.messages, plan.finish, plan.fits, plan.mailboxes_used) == (0, MONDAY, True, ())


# ---- sending through the real EWS client against the local endpoint


@pytest.fixture
def opened(ctx: EngineContext) -> EngineContext:
    """Open the demo inspection, which the ledger's rows belong to."""
    open_inspection(ctx, NOTIFIED)
    return ctx


def survey_message(batch: Batch, key: str) -> OutgoingMessage:
    """Return the survey email for one batch: from its mailbox, nobody in To, Bcc the batch."""
    return OutgoingMessage(key=key, sender=batch.mailbox, to=(), bcc=batch.recipients,
                           subject="Have your say: the SEND inspection survey for parents and carers",
                           text="Please fill in the survey: https://survey.demo-county.example/parents\n")


class Run:
    """Send a plan through EWS on a virtual clock, recording every requested sleep instead of sleeping."""

    def __init__(self, ctx: EngineContext, server: EwsServer, clock: VirtualClock) -> None:
        self.ctx, self.clock = ctx, clock
        self.transport = EwsTransport(server.url, "Exchange2016", auth="basic", username="svc-send",
                                      secret="demo-secret", max_wait=0.5)
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        """Move the virtual clock on instead of waiting."""
        self.slept.append(seconds)
        self.clock.advance(timedelta(seconds=seconds))

    def __call__(self, plan: DistributionPlan, *, build: Callable[[Batch, str], OutgoingMessage] = survey_message,
                 wait_at_most: timedelta | None = None) -> DistributionProgress:
        """Send `plan` once, as a flow run would."""
        return send_distribution(plan, key=KEY, inspection_id=IID, template="survey", message_for_batch=build,
                                 transport_for_mailbox=lambda _mailbox: self.transport, sessions=self.ctx.session,
                                 clock=self.clock, sleep=self.sleep, wait_at_most=wait_at_most)


@pytest.fixture
def run(opened: EngineContext, server: EwsServer, clock: VirtualClock) -> Run:
    """Return a sender through the local EWS endpoint on the virtual clock."""
    return Run(opened, server, clock)


def ledger(ctx: EngineContext) -> dict[str, m.EmailRecord]:
    """Return the distribution's ledger rows by key (batch 1 under the list's own key)."""
    with ctx.session() as session:
        return distribution_rows(session, KEY)


def assert_each_recipient_once(server: EwsServer, expected: list[str]) -> None:
    """Assert every request had the families in Bcc and nobody in To or Cc, and nobody was in two batches."""
    bcc = [address for item in server.sent for address in item.bcc]
    assert sorted(bcc) == sorted(expected)
    assert len(set(bcc)) == len(bcc)
    for item in server.sent:
        assert item.to == [] and item.author in BOXES and item.cc == []
        assert item.anchor_mailbox == item.author and item.disposition == "SendOnly"


def test_sends_each_batch_once_through_ews_in_bcc_from_its_mailbox(
    run: Run, server: EwsServer, clock: VirtualClock
) -> None:
    """2,100 families go in 5 CreateItem requests of ≤500 Bcc and no To, round-robin over the sending mailboxes."""
    start = clock.now()
    plan = plan_distribution(families(2_100), mailboxes=BOXES, start=start)
    progress = run(plan)
    assert server.operations() == ["CreateItem"] * 5
    assert [item.author for item in server.sent] == [*BOXES, *BOXES[:2]]
    assert [len(item.bcc) for item in server.sent] == [500, 500, 500, 500, 100]
    assert_each_recipient_once(server, families(2_100))
    assert (progress.sent_now, progress.left, progress.refused, progress.finished) == ([1, 2, 3, 4, 5], [], {}, True)
    assert (progress.sent_recipients, progress.stopped) == (2_100, None)
    # Batch 4 is the first mailbox's second message: it waited the 2 s spacing, on the virtual clock only.
    assert run.slept == [2.0]
    rows = ledger(run.ctx)
    assert {row.status for row in rows.values()} == {"sent"}
    assert sorted(rows) == sorted([KEY, *(f"{KEY}:batch:{n}" for n in range(2, 6))])  # batch 1: the list's key
    assert rows[f"{KEY}:batch:4"].sent_at == start + timedelta(seconds=2)
    assert rows[f"{KEY}:batch:5"].recipients == families(2_100)[-100:]


def test_retryable_failure_stops_the_run_and_a_rerun_sends_exactly_the_rest(
    run: Run, server: EwsServer, clock: VirtualClock
) -> None:
    """A full sending quota at batch 3 stops the run after 2 batches; the next run sends 3, 4 and 5, then nothing."""
    plan = plan_distribution(families(2_100), mailboxes=BOXES, start=clock.now())
    server.script.refuse[plan.batches[2].recipients[0]] = "ErrorQuotaExceeded"
    first = run(plan)
    assert (first.sent_now, first.left, first.refused) == ([1, 2], [3, 4, 5], {})
    assert first.stopped is not None and first.stopped.startswith("batch 3:") and "ErrorQuotaExceeded" in first.stopped
    assert first.retry and "family" not in first.stopped  # the batch's addresses are counted, not quoted
    assert server.operations() == ["CreateItem"] * 3 and len(server.sent) == 2
    assert ledger(run.ctx)[f"{KEY}:batch:3"].status == "failed"

    server.script.refuse.clear()
    clock.advance(timedelta(minutes=10))
    second = run(plan)
    assert (second.sent_now, second.sent, second.left, second.finished) == ([3, 4, 5], [1, 2, 3, 4, 5], [], True)
    assert server.operations() == ["CreateItem"] * 6
    assert_each_recipient_once(server, families(2_100))

    third = run(plan)
    assert (third.sent_now, len(third.sent)) == ([], 5)
    assert server.operations() == ["CreateItem"] * 6


def test_permanently_refused_batch_is_recorded_and_the_rest_continue(run: Run, server: EwsServer,
                                                                     clock: VirtualClock) -> None:
    """An invalid-recipients refusal of batch 2 marks it refused; the others go, and a rerun does not retry it."""
    plan = plan_distribution(families(2_100), mailboxes=BOXES, start=clock.now())
    server.script.refuse[plan.batches[1].recipients[10]] = "ErrorInvalidRecipients"
    progress = run(plan)
    assert (progress.sent_now, list(progress.refused), progress.left, progress.finished) == ([1, 3, 4, 5], [2], [],
                                                                                            True)
    assert progress.refused_recipients == 500 and "ErrorInvalidRecipients" in progress.refused[2]
    assert "which of these: 500 addresses" in progress.refused[2]
    assert ledger(run.ctx)[f"{KEY}:batch:2"].status == "refused"
    again = run(plan)
    assert (again.sent_now, list(again.refused)) == ([], [2])
    assert server.operations().count("CreateItem") == 5
    assert "| refused | 1 | 500 |" in again.markdown() and "batch 2: ews" in again.markdown()
    assert "family" not in again.markdown()


def test_message_addressed_otherwise_than_planned_is_never_sent(run: Run, server: EwsServer,
                                                                clock: VirtualClock) -> None:
    """A builder putting the families in To (showing them each other) is refused before any request is made."""
    plan = plan_distribution(families(10), mailboxes=BOXES, start=clock.now())

    def in_to(batch: Batch, key: str) -> OutgoingMessage:
        return OutgoingMessage(key=key, sender=batch.mailbox, to=batch.recipients, subject="Survey", text="Hi\n")

    with pytest.raises(ValueError, match="To and Cc must be empty"):
        run(plan, build=in_to)
    assert server.seen == []


def test_a_list_changed_after_sending_started_is_refused_on_resume(run: Run, server: EwsServer,
                                                                   clock: VirtualClock) -> None:
    """Resuming with a batch that differs from the one already sent under its number stops before sending."""
    run(plan_distribution(families(600), mailboxes=BOXES, start=clock.now()))
    changed = plan_distribution(["new.family@demo-county.example", *families(600)], mailboxes=BOXES,
                                start=clock.now())
    with pytest.raises(DistributionChangedError, match="batch 1"):
        run(changed)
    assert server.operations().count("CreateItem") == 2


def test_a_late_run_keeps_the_day_limit_of_its_real_sends_and_a_long_wait_stops_it(
    run: Run, server: EwsServer, clock: VirtualClock
) -> None:
    """Sends 12 h late push the next batch past its planned time; a resumed run reads them back from the ledger."""
    limits = DistributionLimits(max_recipients_per_message=2, messages_per_minute=30, recipients_per_day=4)
    start = clock.now()
    plan = plan_distribution(families(8), mailboxes=BOXES[:1], limits=limits, start=start)
    assert [b.earliest - start for b in plan.batches] == [timedelta(0), timedelta(seconds=2), timedelta(days=1),
                                                          timedelta(days=1, seconds=2)]
    clock.advance(timedelta(hours=12))  # the run starts 12 hours after the plan was made
    first = run(plan, wait_at_most=timedelta(hours=1))
    late = start + timedelta(hours=12)
    assert (first.sent_now, first.left, first.next_at) == ([1, 2], [3, 4], late + timedelta(days=1))
    assert first.stopped == "batch 3 may not go before Tue 27 Jun 21:00 (London)"
    assert run.slept == [2.0]

    clock.set(plan.batches[2].earliest)  # woken at batch 3's planned time, which the real sends have overtaken
    second = run(plan)
    assert second.sent_now == [3, 4] and second.finished
    assert run.slept == [2.0, 12 * 3600.0, 2.0]
    assert clock.now() == late + timedelta(days=1, seconds=2)
    assert server.operations() == ["CreateItem"] * 4
    assert_each_recipient_once(server, families(8))


def test_progress_markdown_shows_counts_and_no_addresses() -> None:
    """The artifact text gives messages and recipients sent, refused and left, and why the run stopped."""
    progress = DistributionProgress(messages=81, recipients=40_000, sent=list(range(1, 61)), sent_now=[60],
                                    left=list(range(61, 82)), sent_recipients=29_940, left_recipients=10_060,
                                    stopped="batch 61 may not go before Tue 24 Nov 09:00 (London)",
                                    next_at=MONDAY + timedelta(days=1))
    text = progress.markdown()
    assert "| sent | 60 | 29,940 |" in text and "| left | 21 | 10,060 |" in text
    assert "| **total** | 81 | 40,000 |" in text
    assert "Next batch may go Tue 24 Nov 09:00 (London)." in text
    assert "@" not in text
    assert EXCHANGE_ONLINE.spacing == timedelta(seconds=2)


def test_several_lists_take_turns_and_share_the_mailboxes_limits(run: Run, server: EwsServer,
                                                                 clock: VirtualClock) -> None:
    """Three lists from one mailbox go in turns, 2 s apart, each batch keyed by its list; a rerun sends nothing."""
    start = clock.now()
    lists = {"children": families(3), "parents": families(1_200)[3:], "staff": ["sam@demo-county.example"]}
    plan = plan_distribution(lists, mailboxes=BOXES[:1], start=start)
    assert [(b.part, b.part_number) for b in plan.batches] == [("children", 1), ("parents", 1), ("staff", 1),
                                                              ("parents", 2), ("parents", 3)]
    assert [b.earliest - start for b in plan.batches] == [timedelta(seconds=s) for s in (0, 2, 4, 6, 8)]
    assert plan.parts == ("children", "parents", "staff")
    assert "- parents: 1,197 recipients in 3 messages, the last Mon 26 Jun 09:00 (London)" in plan.describe()
    progress = send_distribution(plan, key="iid:survey", inspection_id=IID, template="survey",
                                 message_for_batch=survey_message, transport_for_mailbox=lambda _: run.transport,
                                 sessions=run.ctx.session, clock=clock, sleep=run.sleep)
    assert progress.finished and progress.sent_recipients == 1_201
    with run.ctx.session() as session:
        assert sorted(distribution_rows(session, "iid:survey")) == [
            "iid:survey:children", "iid:survey:parents", "iid:survey:parents:batch:2", "iid:survey:parents:batch:3",
            "iid:survey:staff"]
    assert [len(item.bcc) for item in server.sent] == [3, 500, 1, 500, 197]
    assert "| parents | 3 of 3 | 1,197 of 1,197 |" in progress.markdown(plan)


def test_each_batch_sent_is_reported_as_it_goes(run: Run, clock: VirtualClock) -> None:
    """The progress callback sees one more batch after each send, so operators can watch a long run."""
    seen: list[tuple[int, int]] = []
    plan = plan_distribution(families(1_100), mailboxes=BOXES, start=clock.now())
    send_distribution(plan, key=KEY, inspection_id=IID, template="survey", message_for_batch=survey_message,
                      transport_for_mailbox=lambda _: run.transport, sessions=run.ctx.session, clock=clock,
                      sleep=run.sleep, on_batch=lambda p: seen.append((len(p.sent), p.sent_recipients)))
    assert seen == [(1, 500), (2, 1_000), (3, 1_100)]


def test_addresses_in_an_error_are_replaced_by_their_number() -> None:
    """A refusal quoting a batch's addresses keeps its words, counts the addresses and keeps the sending mailbox."""
    text = ("ews https://mail.example/EWS: recipients refused; the server does not say which of these: "
            "a@demo-county.example, b.c@demo-county.example; check survey-1@demo-county.example")
    assert without_addresses(text, keep=BOXES) == (
        "ews https://mail.example/EWS: recipients refused; the server does not say which of these: 2 addresses; "
        "check survey-1@demo-county.example")
