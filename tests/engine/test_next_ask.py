"""Tests for send_next_ask: the web app's ask at the decision, sent once beside the phase's own pass."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select

from send_inspection.clock import VirtualClock
from send_inspection.db import models as m
from send_inspection.engine.annex_a import reconcile_annex_a
from send_inspection.engine.context import EngineContext
from send_inspection.engine.decisions import SubmissionData, record_decision
from send_inspection.engine.next_ask import send_next_ask
from send_inspection.mail.ledger import MailLedger
from send_inspection.mail.outbox import list_outbox
from send_inspection.tokens import check_token, mint_token
from tests.engine import test_decisions
from tests.engine.test_annex_a_mail_failures import FaultyTransport
from tests.engine.test_decisions import at

iid = test_decisions.iid  # the fixture: day 2 open, its first pass run at 09:00 on day 1
LINK = SubmissionData(kind="link", checklist={"dated": True}, link_url="https://evidence.demo-county.example/1")
APPROVE_ASK = "demo-county-2023-06-26:day2:1.2:approve:r1:ask"


def submit(ctx: EngineContext, ref: str = "1.2") -> int:
    """Record the evidence lead's submission of day-2 item `ref` at the clock's time; return the item's id."""
    now = ctx.clock.now()
    with ctx.session() as session:
        item = session.scalars(select(m.RegisterItem).where(m.RegisterItem.phase == "day2",
                                                            m.RegisterItem.ref == ref)).one()
        raw = mint_token(session, item.inspection_id, item.evidence_lead, item_id=item.id, step="submit",
                         round_no=1, now=now, expires_at=now + timedelta(days=3))
        token = check_token(session, raw, now=now).token
        assert token is not None
        return record_decision(session, token, "submitted", now=now, submission=LINK).id


def keys_sent(ctx: EngineContext) -> list[str]:
    """Return the ledger keys of every email in the outbox (behind a faulty transport too), one per message."""
    return [entry.key for entry in list_outbox(getattr(ctx.transport, "inner", ctx.transport).folder)]


def ledger_row(ctx: EngineContext, key: str) -> m.EmailRecord | None:
    """Return the ledger's row for `key`, if any."""
    with ctx.session() as session:
        return session.scalars(select(m.EmailRecord).where(m.EmailRecord.key == key)).first()


def test_the_approvers_ask_goes_at_the_decision_and_the_pass_does_not_repeat_it(
    ctx: EngineContext, clock: VirtualClock, iid: str
) -> None:
    """A submission's approval ask goes at once, with a link, and the phase's later pass sends nothing for it."""
    clock.set(at(26, 10))
    item_id = submit(ctx)
    assert send_next_ask(ctx, item_id) == 1
    assert keys_sent(ctx).count(APPROVE_ASK) == 1
    with ctx.session() as session:
        token = session.scalars(select(m.ActionToken).where(m.ActionToken.item_id == item_id,
                                                            m.ActionToken.step == "approve")).one()
    assert token.person_key == "dir-inclusion"
    assert send_next_ask(ctx, item_id) == 0
    result = reconcile_annex_a(ctx, iid, "day2")
    assert result.sent == 0
    assert keys_sent(ctx).count(APPROVE_ASK) == 1


def test_nothing_goes_for_an_item_that_is_done_or_a_phase_that_does_more(
    ctx: EngineContext, clock: VirtualClock, iid: str
) -> None:
    """An item with an outcome, or one of a phase not marked `asks_at_decision`, is left to the phase."""
    clock.set(at(26, 10))
    item_id = submit(ctx)
    before = keys_sent(ctx)
    with ctx.session() as session:
        item = session.get_one(m.RegisterItem, item_id)
        item.phase = "kit"
        session.commit()
    assert send_next_ask(ctx, item_id) == 0
    with ctx.session() as session:
        item = session.get_one(m.RegisterItem, item_id)
        item.phase, item.outcome = "day2", "uploaded"
        session.commit()
    assert send_next_ask(ctx, item_id) == 0
    assert send_next_ask(ctx, 999_999) == 0
    assert keys_sent(ctx) == before


def test_an_ask_in_the_quiet_hours_is_held_and_left_to_the_pass(
    ctx: EngineContext, clock: VirtualClock, iid: str
) -> None:
    """A decision at 21:00 sends nothing and claims nothing; the pass at 07:30 the next day sends the ask once."""
    clock.set(at(26, 21))
    item_id = submit(ctx)
    assert send_next_ask(ctx, item_id) == 0
    assert ledger_row(ctx, APPROVE_ASK) is None
    clock.set(at(27, 7, 30))
    reconcile_annex_a(ctx, iid, "day2")
    assert keys_sent(ctx).count(APPROVE_ASK) == 1


def test_a_mail_failure_at_the_decision_is_left_to_the_pass(
    ctx: EngineContext, clock: VirtualClock, iid: str
) -> None:
    """With the mail server down the decision's ask fails quietly, and the phase's pass sends it when it is back."""
    faulty = FaultyTransport(ctx.transport)  # type: ignore[arg-type]
    ctx.transport = faulty  # type: ignore[assignment]
    ctx.ledger = MailLedger(ctx._factory, faulty)  # type: ignore[attr-defined]
    clock.set(at(26, 10))
    item_id = submit(ctx)
    faulty.down = True
    assert send_next_ask(ctx, item_id) == 0
    assert ledger_row(ctx, APPROVE_ASK).status == "failed"
    faulty.down = False
    clock.set(at(26, 10, 5))
    reconcile_annex_a(ctx, iid, "day2")
    assert ledger_row(ctx, APPROVE_ASK).status == "sent"
    assert keys_sent(ctx).count(APPROVE_ASK) == 1


def test_the_decision_and_the_pass_at_the_same_moment_send_the_ask_once(
    ctx: EngineContext, clock: VirtualClock, iid: str
) -> None:
    """Run the web app's ask and the phase's pass together, many times: each ask goes exactly once."""
    clock.set(at(26, 10))
    refs = ["1.1", "1.2", "1.3", "1.4", "1.5"]
    item_ids = [submit(ctx, ref) for ref in refs]
    start = threading.Barrier(len(item_ids) + 1)
    errors: list[BaseException] = []

    def after(item_id: int) -> None:
        start.wait()
        try:
            send_next_ask(ctx, item_id)
        except BaseException as exc:  # noqa: BLE001 - shown by the assertion below
            errors.append(exc)

    def phase_pass() -> None:
        start.wait()
        try:
            reconcile_annex_a(ctx, iid, "day2")
        except BaseException as exc:  # noqa: BLE001 - shown by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=after, args=(i,)) for i in item_ids]
    threads.append(threading.Thread(target=phase_pass))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    sent = keys_sent(ctx)
    for ref in refs:
        assert sent.count(f"demo-county-2023-06-26:day2:{ref}:approve:r1:ask") == 1, ref
