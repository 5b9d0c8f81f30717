"""Dead phase runs: which phases a run carries, a fresh run taking one over with the dead run's emails, giving up."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes

from aiosmtpd.controller import Controller

from send_inspection.db import models as m
from send_inspection.engine.annex_a import reconcile_annex_a
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import open_inspection
from send_inspection.engine.phase_rows import (
    begin_wait,
    carried_phases,
    ensure_phase,
    get_phase,
    give_up,
    record_flow_run,
    take_over,
)
from send_inspection.mail.ledger import MailLedger
from send_inspection.mail.message import KEY_HEADER
from send_inspection.mail.smtp import SmtpTransport
from tests.conftest import NOTIFIED
from tests.helpers import Collector, free_port

DEAD, FRESH = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"


def _live_phase(ctx: EngineContext, phase: str, flow_run_id: str | None) -> str:
    iid = open_inspection(ctx, NOTIFIED, mode="live")
    ensure_phase(ctx, iid, phase)
    if flow_run_id:
        record_flow_run(ctx, iid, phase, flow_run_id)
    return iid


def _claim(ctx: EngineContext, iid: str, key: str, *, minutes_ago: float, status: str = "claimed") -> None:
    with ctx.session() as session:
        session.add(m.EmailRecord(key=key, inspection_id=iid, template="action-ask", recipients=[], subject="",
                                  status=status, transport="smtp", attempts=1,
                                  claimed_at=ctx.clock.now() - timedelta(minutes=minutes_ago)))
        session.commit()


def _status(ctx: EngineContext, key: str) -> str:
    with ctx.session() as session:
        return session.query(m.EmailRecord).filter_by(key=key).one().status


def test_carried_phases_are_the_unfinished_live_ones_with_a_flow_run(ctx: EngineContext) -> None:
    """Launched, running and waiting phases with a run are listed; pending, done and rehearsal ones are not."""
    iid = _live_phase(ctx, "day2", DEAD)
    ensure_phase(ctx, iid, "day5")  # pending, no run yet
    rehearsal = open_inspection(ctx, NOTIFIED + timedelta(days=7), mode="rehearsal")
    ensure_phase(ctx, rehearsal, "day2")
    record_flow_run(ctx, rehearsal, "day2", FRESH)
    assert [(c.inspection_id, c.phase, c.flow_run_id, c.status) for c in carried_phases(ctx)] == [
        (iid, "day2", DEAD, "launched")]
    begin_wait(ctx, iid, "day2", reason="waiting", next_wake_at=None, flow_run_id=DEAD)
    assert [c.status for c in carried_phases(ctx)] == ["waiting"]


def test_a_fresh_run_takes_over_once_and_frees_only_the_dead_runs_claims(ctx: EngineContext) -> None:
    """The phase points at the fresh run; the dead run's old claims become failed (sent again), nothing else moves."""
    iid = _live_phase(ctx, "day2", DEAD)
    ctx.clock.advance(timedelta(minutes=10))  # type: ignore[attr-defined]
    _claim(ctx, iid, f"{iid}:day2:1.1:submit:r1:ask", minutes_ago=3)  # in flight when the run died
    _claim(ctx, iid, f"{iid}:day2:1.2:submit:r1:ask", minutes_ago=0)  # claimed after: another process's
    _claim(ctx, iid, f"{iid}:day5:1.1:submit:r1:ask", minutes_ago=3)  # another phase's
    _claim(ctx, iid, f"{iid}:day2:1.3:submit:r1:ask", minutes_ago=3, status="sent")
    dead = carried_phases(ctx)[0]

    taken = take_over(ctx, dead, FRESH, reason="started afresh: it died",
                      claimed_before=ctx.clock.now() - timedelta(minutes=1))
    assert taken is True
    row = get_phase(ctx, iid, "day2")
    assert row is not None
    assert (row.flow_run_id, row.status, row.recoveries, row.heartbeat_at) == (FRESH, "launched", 1, None)
    assert [_status(ctx, f"{iid}:{key}:submit:r1:ask") for key in ("day2:1.1", "day2:1.2", "day5:1.1", "day2:1.3")
            ] == ["failed", "claimed", "claimed", "sent"]
    assert take_over(ctx, dead, "33333333-3333-4333-8333-333333333333", reason="again",
                     claimed_before=ctx.clock.now()) is False  # a second ticker finds it taken over already
    assert get_phase(ctx, iid, "day2").flow_run_id == FRESH  # type: ignore[union-attr]


def test_the_meetings_the_dead_run_was_creating_are_made_uncertain_to_be_looked_up_at_once(
        ctx: EngineContext) -> None:
    """EWS and Graph meeting creations claimed by the dead run become uncertain; later, other phases', sent: kept."""
    iid = _live_phase(ctx, "fieldwork", DEAD)
    ctx.clock.advance(timedelta(minutes=10))  # type: ignore[attr-defined]
    now = ctx.clock.now()
    with ctx.session() as session:
        for table, key, status, minutes_ago in [
            (m.GraphEvent, f"{iid}:fieldwork:S1", "creating", 3),
            (m.EwsMeeting, f"{iid}:fieldwork:S2", "creating", 3),
            (m.GraphEvent, f"{iid}:fieldwork:S3", "creating", 0),
            (m.GraphEvent, f"{iid}:notification:core", "creating", 3),
            (m.GraphEvent, f"{iid}:fieldwork:S4", "sent", 3),
        ]:
            extra = {"transaction_id": "t"} if table is m.GraphEvent else {}
            session.add(table(key=key, mailbox="inspection-logistics@demo-county.example", status=status, attempts=1,
                              claimed_at=now - timedelta(minutes=minutes_ago), attendees=[], sent_digests={},
                              sequence=0, **extra))
        session.commit()
    assert take_over(ctx, carried_phases(ctx)[0], FRESH, reason="started afresh: it died",
                     claimed_before=now - timedelta(minutes=1))
    with ctx.session() as session:
        statuses = {r.key.split(":", 1)[1]: r.status for table in (m.GraphEvent, m.EwsMeeting)
                    for r in session.query(table)}
    assert statuses == {"fieldwork:S1": "uncertain", "fieldwork:S2": "uncertain", "fieldwork:S3": "creating",
                        "notification:core": "creating", "fieldwork:S4": "sent"}


def test_a_phase_that_keeps_dying_is_left_stuck_for_an_operator(ctx: EngineContext) -> None:
    """Giving up marks the phase stuck with the reason, and it is no longer carried (so not started again)."""
    iid = _live_phase(ctx, "day2", DEAD)
    give_up(ctx, carried_phases(ctx)[0], reason="STUCK: died 4 times")
    row = get_phase(ctx, iid, "day2")
    assert row is not None and (row.status, row.reason) == ("stuck", "STUCK: died 4 times")
    assert carried_phases(ctx) == []


def test_an_email_the_server_took_just_before_the_run_died_goes_again_with_the_same_message_id(
    ctx: EngineContext,
) -> None:
    """SMTP's own window: accepted (250) but not yet marked sent when the process died, it is sent again on
    take-over, and both copies carry one Message-ID so the receiving side can tell them apart."""
    collector, port = Collector(), free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        ctx.transport = SmtpTransport("127.0.0.1", port, timeout=5)
        ctx.ledger = MailLedger(ctx._factory, ctx.transport)  # type: ignore[attr-defined]
        iid = _live_phase(ctx, "day2", DEAD)
        reconcile_annex_a(ctx, iid, "day2")
        key = f"{iid}:day2:1.1:submit:r1:ask"
        with ctx.session() as session:  # the process died between the server's 250 and the ledger's mark
            session.query(m.EmailRecord).filter_by(key=key).update({"status": "claimed", "sent_at": None})
            session.commit()
        ctx.clock.advance(timedelta(minutes=2))  # type: ignore[attr-defined]
        assert take_over(ctx, carried_phases(ctx)[0], FRESH, reason="started afresh", claimed_before=ctx.clock.now())
        reconcile_annex_a(ctx, iid, "day2")
    finally:
        controller.stop()
    copies = [message_from_bytes(e.content) for e in collector.envelopes]
    again = [c for c in copies if c[KEY_HEADER] == key]
    assert len(copies) == 9 and len(again) == 2
    assert again[0]["Message-ID"] == again[1]["Message-ID"]
    assert _status(ctx, key) == "sent"
