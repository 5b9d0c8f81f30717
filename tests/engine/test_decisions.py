"""Tests for record_decision: the sign-off chain submit → approve → check → upload, returns, refusals."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from send_inspection.calendar import LONDON
from send_inspection.catalogue.steps import step_spec
from send_inspection.clock import VirtualClock
from send_inspection.db import models as m
from send_inspection.engine.annex_a import reconcile_annex_a
from send_inspection.engine.context import EngineContext
from send_inspection.engine.decisions import (
    DecisionRefused,
    SubmissionData,
    item_steps,
    latest_submission,
    record_decision,
)
from send_inspection.engine.inspection import open_inspection
from send_inspection.engine.phase_rows import ensure_phase
from send_inspection.mail.outbox import list_outbox, read_outbox_message
from send_inspection.tokens import check_token, mint_token
from tests.conftest import NOTIFIED

IID = "demo-county-2023-06-26"
DAY2_REFS = ["child-level-data", "providers-settings", "1.1", "1.2", "1.3", "1.4", "1.5", "health-template"]
LINK = SubmissionData(kind="link", checklist={"dated": True}, link_url="https://evidence.demo-county.example/1")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """Return a Europe/London time in June 2023."""
    return datetime(2023, 6, day, hour, minute, tzinfo=LONDON)


@pytest.fixture
def iid(ctx: EngineContext) -> str:
    """Open the demo inspection, create its day-2 phase and run one register pass at 09:00 on day 1."""
    inspection_id = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    ensure_phase(ctx, inspection_id, "day2")
    reconcile_annex_a(ctx, inspection_id, "day2")
    return inspection_id


def item_by_ref(ctx: EngineContext, ref: str) -> m.RegisterItem:
    """Return the register item with reference `ref`."""
    with ctx.session() as session:
        return session.scalars(select(m.RegisterItem).where(m.RegisterItem.ref == ref)).one()


def state(ctx: EngineContext, ref: str) -> tuple[str, int, str | None]:
    """Return the item's step, round and outcome."""
    item = item_by_ref(ctx, ref)
    return item.step, item.round, item.outcome


def changes(ctx: EngineContext, phase: str = "day2") -> int:
    """Return the PhaseRun.changes counter of a phase."""
    with ctx.session() as session:
        return session.scalars(select(m.PhaseRun.changes).where(m.PhaseRun.phase == phase)).one()


def count(ctx: EngineContext, model: type) -> int:
    """Count the rows of a table."""
    with ctx.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def decide(
    ctx: EngineContext,
    ref: str,
    step: str,
    round_no: int,
    outcome: str,
    *,
    person: str,
    comment: str | None = None,
    submission: SubmissionData | None = None,
) -> m.RegisterItem:
    """Mint a token for `person` on (step, round) of item `ref` and record `outcome` with it at the clock's time."""
    item = item_by_ref(ctx, ref)
    now = ctx.clock.now()
    with ctx.session() as session:
        raw = mint_token(session, item.inspection_id, person, item_id=item.id, step=step, round_no=round_no,
                         now=now, expires_at=now + timedelta(days=3))
        token = check_token(session, raw, now=now).token
        assert token is not None
        return record_decision(session, token, outcome, now=now, comment=comment, submission=submission,
                               remote_addr="192.0.2.1", user_agent="pytest")


def test_register_pass_leaves_day2_items_at_submit(ctx: EngineContext, iid: str) -> None:
    """After open_inspection and a pass, every day-2 item is at submit, round 1, open, with one ask token."""
    with ctx.session() as session:
        items = list(session.scalars(select(m.RegisterItem).where(m.RegisterItem.phase == "day2")
                                     .order_by(m.RegisterItem.id)))
        tokens = list(session.scalars(select(m.ActionToken).order_by(m.ActionToken.id)))
    assert [i.ref for i in items] == DAY2_REFS
    assert {(i.step, i.round, i.outcome, i.done_at) for i in items} == {("submit", 1, None, None)}
    assert [(t.item_id, t.person_key, t.step, t.round) for t in tokens] == [
        (i.id, i.evidence_lead, "submit", 1) for i in items
    ]
    assert all(t.used_at is None for t in tokens)
    assert changes(ctx) == 0


def test_full_chain_to_uploaded(ctx: EngineContext, clock: VirtualClock, iid: str) -> None:
    """submitted → approved → approved → confirmed moves the item submit → approve → check → upload → uploaded."""
    ref = "1.2"
    item = item_by_ref(ctx, ref)
    assert (item.evidence_lead, item.accountable_lead) == ("hos-data", "dir-inclusion")

    clock.set(at(26, 10))
    moved = decide(ctx, ref, "submit", 1, "submitted", person="hos-data", submission=LINK)
    assert (moved.step, moved.round, moved.outcome) == ("approve", 1, None)
    assert moved.step_started_at == at(26, 10)
    assert changes(ctx) == 1

    clock.set(at(26, 11))
    decide(ctx, ref, "approve", 1, "approved", person="dir-inclusion")
    assert state(ctx, ref) == ("check", 1, None)
    assert changes(ctx) == 2

    clock.set(at(26, 12))
    decide(ctx, ref, "check", 1, "approved", person="deputy-dcs")
    assert state(ctx, ref) == ("upload", 1, None)
    assert changes(ctx) == 3

    clock.set(at(26, 13))
    done = decide(ctx, ref, "upload", 1, "confirmed", person="head-improvement")
    # The step stays at upload; the outcome says the chain is finished.
    assert (done.step, done.round, done.outcome) == ("upload", 1, "uploaded")
    assert done.done_at == at(26, 13)
    assert changes(ctx) == 4

    with ctx.session() as session:
        decisions = list(session.scalars(select(m.Decision).where(m.Decision.item_id == item.id)
                                         .order_by(m.Decision.id)))
        submission = latest_submission(session, item.id)
    assert [(d.step, d.round, d.outcome, d.decided_by, d.decided_at) for d in decisions] == [
        ("submit", 1, "submitted", "hos-data", at(26, 10)),
        ("approve", 1, "approved", "dir-inclusion", at(26, 11)),
        ("check", 1, "approved", "deputy-dcs", at(26, 12)),
        ("upload", 1, "confirmed", "head-improvement", at(26, 13)),
    ]
    assert all((d.remote_addr, d.user_agent, d.comment) == ("192.0.2.1", "pytest", None) for d in decisions)
    assert submission is not None
    assert (submission.kind, submission.link_url, submission.round, submission.submitted_by) == (
        "link", "https://evidence.demo-county.example/1", 1, "hos-data")
    # The other day-2 items did not move.
    assert state(ctx, "1.1") == ("submit", 1, None)


def test_decision_spends_its_token(ctx: EngineContext, clock: VirtualClock, iid: str) -> None:
    """The token used for a decision is marked used at the decision time and links the decision."""
    clock.set(at(26, 10, 30))
    decide(ctx, "1.1", "submit", 1, "submitted", person="sm-performance", submission=LINK)
    with ctx.session() as session:
        decision = session.scalars(select(m.Decision)).one()
        token = session.get(m.ActionToken, decision.token_id)
    assert token is not None
    assert (token.person_key, token.step, token.round, token.used_at) == ("sm-performance", "submit", 1,
                                                                         at(26, 10, 30))


def test_returned_at_approve_goes_back_to_submit_round_two(ctx: EngineContext, clock: VirtualClock, iid: str) -> None:
    """A 'returned' at approve sends the item back to submit in round 2, keeping the stripped comment."""
    ref = "1.3"
    decide(ctx, ref, "submit", 1, "submitted", person="head-improvement", submission=LINK)
    clock.set(at(26, 11))
    moved = decide(ctx, ref, "approve", 1, "returned", person="dir-inclusion", comment="  Add the 2022 data.  ")
    assert (moved.step, moved.round, moved.outcome) == ("submit", 2, None)
    assert moved.step_started_at == at(26, 11)
    assert changes(ctx) == 2
    with ctx.session() as session:
        returned = session.scalars(select(m.Decision).where(m.Decision.outcome == "returned")).one()
    assert (returned.step, returned.round, returned.comment) == ("approve", 1, "Add the 2022 data.")

    # Round 2 runs the chain again from submit.
    clock.set(at(26, 12))
    decide(ctx, ref, "submit", 2, "submitted", person="head-improvement", submission=LINK)
    assert state(ctx, ref) == ("approve", 2, None)


def test_returned_at_check_goes_back_to_submit(ctx: EngineContext, iid: str) -> None:
    """A 'returned' at the director check also restarts the chain at submit with the next round."""
    ref = "1.4"
    decide(ctx, ref, "submit", 1, "submitted", person="head-improvement", submission=LINK)
    decide(ctx, ref, "approve", 1, "approved", person="dir-inclusion")
    decide(ctx, ref, "check", 1, "returned", person="deputy-dcs", comment="Wrong year")
    assert state(ctx, ref) == ("submit", 2, None)
    assert changes(ctx) == 3


def test_returned_item_gets_round_two_ask_with_comment(ctx: EngineContext, clock: VirtualClock, iid: str) -> None:
    """After a return, the next pass asks the evidence lead again (round 2 key) and quotes the comment."""
    ref = "1.5"
    decide(ctx, ref, "submit", 1, "submitted", person="hos-participation", submission=LINK)
    clock.set(at(26, 10))
    decide(ctx, ref, "approve", 1, "returned", person="dir-inclusion", comment="Please add the PCF contacts")
    result = reconcile_annex_a(ctx, iid, "day2")
    assert result.sent == 1
    key = f"{iid}:day2:{ref}:submit:r2:ask"
    assert ctx.ledger.already_sent(key)
    entry = next(e for e in list_outbox(ctx.transport.folder) if e.key == key)
    assert entry.to == ["chloe.trevethan@demo-county.example"]
    text = read_outbox_message(ctx.transport.folder, entry.id).text
    assert "It was returned to you with this comment:\n  Please add the PCF contacts" in text


def test_explanation_ends_as_explained(ctx: EngineContext, iid: str) -> None:
    """An item whose (latest) submission is an explanation ends as 'explained' when the upload is confirmed."""
    ref = "child-level-data"
    explanation = SubmissionData(kind="explanation", checklist={}, explanation="Data held by the trust")
    decide(ctx, ref, "submit", 1, "explained", person="hos-data", submission=explanation)
    assert state(ctx, ref) == ("approve", 1, None)
    decide(ctx, ref, "approve", 1, "approved", person="dir-inclusion")
    decide(ctx, ref, "check", 1, "approved", person="deputy-dcs")
    done = decide(ctx, ref, "upload", 1, "confirmed", person="head-improvement")
    assert (done.step, done.outcome) == ("upload", "explained")
    with ctx.session() as session:
        submission = latest_submission(session, done.id)
    assert submission is not None
    assert (submission.kind, submission.explanation, submission.link_url) == (
        "explanation", "Data held by the trust", None)


def test_latest_submission_decides_outcome(ctx: EngineContext, iid: str) -> None:
    """An explanation in round 1 replaced by a link in round 2 ends as 'uploaded' (the latest submission wins)."""
    ref = "1.1"
    explanation = SubmissionData(kind="explanation", checklist={}, explanation="Not ready")
    decide(ctx, ref, "submit", 1, "explained", person="sm-performance", submission=explanation)
    decide(ctx, ref, "approve", 1, "returned", person="dir-inclusion", comment="We have it: send the chart")
    decide(ctx, ref, "submit", 2, "submitted", person="sm-performance", submission=LINK)
    decide(ctx, ref, "approve", 2, "approved", person="dir-inclusion")
    decide(ctx, ref, "check", 2, "approved", person="deputy-dcs")
    assert decide(ctx, ref, "upload", 2, "confirmed", person="head-improvement").outcome == "uploaded"
    assert count(ctx, m.Submission) == 2
    assert changes(ctx) == 6


def test_register_chain_order() -> None:
    """A register item's steps run submit, approve, check, upload; the reviewers may return it."""
    item = m.RegisterItem(deadlines={"upload": "d", "check": "c", "submit": "a", "approve": "b"})
    assert item_steps(item) == ["submit", "approve", "check", "upload"]
    assert step_spec("submit").moves_on == {"submitted", "explained"}
    assert step_spec("upload").moves_on == {"confirmed"}
    assert step_spec("approve").returnable and step_spec("check").returnable
    assert not step_spec("submit").returnable and not step_spec("upload").returnable


def snapshot(ctx: EngineContext, ref: str) -> tuple[object, ...]:
    """Return everything a refused decision must leave unchanged."""
    item = item_by_ref(ctx, ref)
    return (item.step, item.round, item.outcome, item.step_started_at, item.done_at, changes(ctx),
            count(ctx, m.Decision), count(ctx, m.Submission), count(ctx, m.ActionToken))


@pytest.mark.parametrize(
    ("step", "round_no", "outcome", "comment", "message"),
    [
        ("approve", 1, "approved", None, "this request has already been answered and the item has moved on"),
        ("submit", 2, "submitted", None, "this request has already been answered and the item has moved on"),
        ("submit", 1, "approved", None, "'approved' is not an answer to this step"),
        ("submit", 1, "confirmed", None, "'confirmed' is not an answer to this step"),
    ],
)
def test_wrong_step_round_or_answer_refused_at_submit(
    ctx: EngineContext, iid: str, step: str, round_no: int, outcome: str, comment: str | None, message: str
) -> None:
    """A decision for another step or round, or an answer the step does not take, is refused and changes nothing."""
    before = snapshot(ctx, "1.2")
    with pytest.raises(DecisionRefused) as exc:
        decide(ctx, "1.2", step, round_no, outcome, person="hos-data", comment=comment, submission=LINK)
    assert str(exc.value) == message
    assert snapshot(ctx, "1.2") == before


def test_return_without_comment_refused(ctx: EngineContext, iid: str) -> None:
    """A 'returned' with no (or a blank) comment is refused and the item stays at approve."""
    decide(ctx, "1.2", "submit", 1, "submitted", person="hos-data", submission=LINK)
    before = snapshot(ctx, "1.2")
    for comment in (None, "   "):
        with pytest.raises(DecisionRefused, match="say why you are returning it"):
            decide(ctx, "1.2", "approve", 1, "returned", person="dir-inclusion", comment=comment)
    assert snapshot(ctx, "1.2") == before
    assert state(ctx, "1.2") == ("approve", 1, None)


def test_explained_is_not_an_upload_answer(ctx: EngineContext, iid: str) -> None:
    """At the upload step only 'confirmed' is accepted: 'explained' is refused and nothing changes."""
    ref = "1.2"
    decide(ctx, ref, "submit", 1, "submitted", person="hos-data", submission=LINK)
    decide(ctx, ref, "approve", 1, "approved", person="dir-inclusion")
    decide(ctx, ref, "check", 1, "approved", person="deputy-dcs")
    before = snapshot(ctx, ref)
    with pytest.raises(DecisionRefused, match="'explained' is not an answer to this step"):
        decide(ctx, ref, "upload", 1, "explained", person="head-improvement")
    assert snapshot(ctx, ref) == before


def test_old_round_token_refused_after_return(ctx: EngineContext, iid: str) -> None:
    """After a return, a round-1 submit token is refused: the item is in round 2."""
    ref = "1.3"
    decide(ctx, ref, "submit", 1, "submitted", person="head-improvement", submission=LINK)
    decide(ctx, ref, "approve", 1, "returned", person="dir-inclusion", comment="More please")
    before = snapshot(ctx, ref)
    with pytest.raises(DecisionRefused, match="moved on"):
        decide(ctx, ref, "submit", 1, "submitted", person="head-improvement", submission=LINK)
    assert snapshot(ctx, ref) == before


def test_finished_item_refuses_more_decisions(ctx: EngineContext, iid: str) -> None:
    """Once uploaded, a further upload decision for the same step and round is refused."""
    ref = "1.2"
    for step, outcome, person in [("submit", "submitted", "hos-data"), ("approve", "approved", "dir-inclusion"),
                                  ("check", "approved", "deputy-dcs"), ("upload", "confirmed", "head-improvement")]:
        decide(ctx, ref, step, 1, outcome, person=person, submission=LINK if step == "submit" else None)
    before = snapshot(ctx, ref)
    with pytest.raises(DecisionRefused, match="moved on"):
        decide(ctx, ref, "upload", 1, "confirmed", person="sm-performance")
    assert snapshot(ctx, ref) == before


def test_second_answer_with_ask_token_refused(ctx: EngineContext, iid: str) -> None:
    """Two people answering the same step: the second, using the emailed ask token, is refused."""
    ref = "providers-settings"
    item = item_by_ref(ctx, ref)
    decide(ctx, ref, "submit", 1, "submitted", person="hos-inclusion", submission=LINK)
    before = snapshot(ctx, ref)
    now = ctx.clock.now()
    with ctx.session() as session:
        ask_token = session.scalars(select(m.ActionToken).where(m.ActionToken.item_id == item.id,
                                                                m.ActionToken.person_key == "hos-education")).one()
        assert ask_token.used_at is None
        with pytest.raises(DecisionRefused, match="moved on"):
            record_decision(session, ask_token, "submitted", now=now, submission=LINK)
    assert snapshot(ctx, ref) == before


def test_decision_on_phase_without_run_still_records(ctx: EngineContext) -> None:
    """Without a PhaseRun for the item's phase the decision is recorded and no counter is bumped."""
    open_inspection(ctx, NOTIFIED, mode="rehearsal")
    moved = decide(ctx, "2.2", "submit", 1, "submitted", person="hos-send", submission=LINK)
    assert (moved.step, moved.round) == ("approve", 1)
    with ctx.session() as session:
        assert session.scalars(select(m.PhaseRun.phase)).all() == ["notification"]
        assert session.scalars(select(m.PhaseRun.changes)).all() == [0]


def test_day5_decision_bumps_only_day5(ctx: EngineContext, iid: str) -> None:
    """A decision on a day-5 item bumps the day-5 phase's counter and leaves day 2's alone."""
    ensure_phase(ctx, iid, "day5")
    decide(ctx, "2.2", "submit", 1, "submitted", person="hos-send", submission=LINK)
    assert changes(ctx, "day5") == 1
    assert changes(ctx, "day2") == 0
