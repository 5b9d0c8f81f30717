"""Tests for the register reconcile pass: one ask per item, the ledger, the reason, the wake time, the late report."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from send_inspection.calendar import LONDON
from send_inspection.clock import VirtualClock
from send_inspection.db import models as m
from send_inspection.engine.annex_a import reconcile_annex_a
from send_inspection.engine.context import EngineContext
from send_inspection.engine.decisions import record_decision
from send_inspection.engine.inspection import open_inspection
from send_inspection.engine.phase_rows import ensure_phase, get_phase
from send_inspection.mail.outbox import list_outbox, read_outbox_message
from tests.conftest import NOTIFIED

IID = "demo-county-2023-06-26"
# Day-2 items in register order, with their evidence lead's email.
DAY2_LEADS = {
    "child-level-data": "ben.hollinshead@demo-county.example",
    "providers-settings": "graham.pocklington@demo-county.example",
    "1.1": "owen.garside@demo-county.example",
    "1.2": "ben.hollinshead@demo-county.example",
    "1.3": "nadia.pemberton@demo-county.example",
    "1.4": "nadia.pemberton@demo-county.example",
    "1.5": "chloe.trevethan@demo-county.example",
    "health-template": "lucy.penhaligon@demo-icb.nhs.example",
}
REASON_AT_START = (
    "Waiting for 8 of 8 items: "
    "child-level-data evidence lead (Ben Hollinshead) due Mon 26 Jun 17:00; "
    "providers-settings evidence lead (Graham Pocklington) due Mon 26 Jun 17:00; "
    "1.1 evidence lead (Owen Garside) due Mon 26 Jun 17:00; "
    "1.2 evidence lead (Ben Hollinshead) due Mon 26 Jun 17:00; "
    "1.3 evidence lead (Nadia Pemberton) due Mon 26 Jun 17:00; "
    "1.4 evidence lead (Nadia Pemberton) due Mon 26 Jun 17:00; "
    "and 2 more"
)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """Return a Europe/London time in June 2023."""
    return datetime(2023, 6, day, hour, minute, tzinfo=LONDON)


@pytest.fixture
def iid(ctx: EngineContext) -> str:
    """Open the demo inspection at 09:00 on Monday 26 June 2023 and create its day-2 phase."""
    inspection_id = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    assert ensure_phase(ctx, inspection_id, "day2") is True
    return inspection_id


def ledger(ctx: EngineContext) -> list[tuple[str, str, str, list[str]]]:
    """Return (key, template, status, recipients) of every ledger row, in order."""
    with ctx.session() as session:
        rows = session.scalars(select(m.EmailRecord).order_by(m.EmailRecord.id))
        return [(r.key, r.template, r.status, r.recipients) for r in rows]


def outbox_keys(ctx: EngineContext) -> set[str]:
    """Return the idempotency keys of the messages in the outbox folder."""
    return {entry.key for entry in list_outbox(ctx.transport.folder)}


def test_first_pass_sends_one_ask_per_day2_item(ctx: EngineContext, iid: str) -> None:
    """The first pass at 09:00 sends exactly one ask per day-2 item, to its evidence lead, and nothing else."""
    assert iid == IID
    result = reconcile_annex_a(ctx, iid, "day2")
    assert result.sent == 8
    assert result.done is False
    assert ledger(ctx) == [
        (f"{IID}:day2:{ref}:submit:r1:ask", "action-ask", "sent", [email]) for ref, email in DAY2_LEADS.items()
    ]
    assert outbox_keys(ctx) == {f"{IID}:day2:{ref}:submit:r1:ask" for ref in DAY2_LEADS}
    # No day-5 item is asked by the day-2 phase.
    assert not any(":day5:" in key for key, *_ in ledger(ctx))


def test_ask_email_carries_personal_link_and_deadline(ctx: EngineContext, iid: str) -> None:
    """The ask for 1.1 goes to Owen Garside from the evidence inbox with his link and the 17:00 deadline."""
    reconcile_annex_a(ctx, iid, "day2")
    key = f"{IID}:day2:1.1:submit:r1:ask"
    entry = next(e for e in list_outbox(ctx.transport.folder) if e.key == key)
    view = read_outbox_message(ctx.transport.folder, entry.id)
    assert view.to == ["owen.garside@demo-county.example"]
    assert "send.evidence@demo-county.example" in view.sender
    assert "Dear Owen Garside," in view.text
    # Each sentence ends its paragraph: the link's sentence is never glued to the one before.
    assert ("By Monday 26 June 2023, 17:00, please submit the evidence.\n\nAnnex A item 1.1 Local Area Partnership "
            "structure\n\nOpen your personal link to see what is asked and answer:\nhttp://testserver/a/") in view.text
    assert view.subject == ("1.1 Local Area Partnership structure – please submit the evidence "
                            "(due Monday 26 June 2023, 17:00)")
    assert len(view.links) == 1 and view.links[0].startswith("http://testserver/a/")


def test_second_pass_at_same_time_sends_nothing(ctx: EngineContext, iid: str) -> None:
    """A second pass at the same virtual time finds every key in the ledger and sends nothing more."""
    first = reconcile_annex_a(ctx, iid, "day2")
    rows = ledger(ctx)
    with ctx.session() as session:
        tokens = session.scalars(select(m.ActionToken.id)).all()
    second = reconcile_annex_a(ctx, iid, "day2")
    assert (first.sent, second.sent) == (8, 0)
    assert ledger(ctx) == rows
    assert len(list_outbox(ctx.transport.folder)) == 8
    with ctx.session() as session:
        # No token is minted for an email that is not sent.
        assert session.scalars(select(m.ActionToken.id)).all() == tokens
    assert second.reason == first.reason
    assert second.next_wake_at == first.next_wake_at


def test_reason_and_items_at_start(ctx: EngineContext, iid: str) -> None:
    """The reason reads 'Waiting for 8 of 8 items: …' naming the first six and counting the rest."""
    result = reconcile_annex_a(ctx, iid, "day2")
    assert result.reason == REASON_AT_START
    assert [(s.ref, s.step, s.round, s.owner, s.due_at, s.late) for s in result.items] == [
        ("child-level-data", "submit", 1, "hos-data", "Mon 26 Jun 17:00", False),
        ("providers-settings", "submit", 1, "hos-education", "Mon 26 Jun 17:00", False),
        ("1.1", "submit", 1, "sm-performance", "Mon 26 Jun 17:00", False),
        ("1.2", "submit", 1, "hos-data", "Mon 26 Jun 17:00", False),
        ("1.3", "submit", 1, "head-improvement", "Mon 26 Jun 17:00", False),
        ("1.4", "submit", 1, "head-improvement", "Mon 26 Jun 17:00", False),
        ("1.5", "submit", 1, "hos-participation", "Mon 26 Jun 17:00", False),
        # The health template's submit step has its own deadline (health_template_contacts_due).
        ("health-template", "submit", 1, "icb-commissioning", "Tue 27 Jun 08:00", False),
    ]


def test_next_wake_is_next_reminder(ctx: EngineContext, clock: VirtualClock, iid: str) -> None:
    """At 09:00 the phase next wakes at 14:00 (3 h before 17:00), then at 16:00 after sending those reminders."""
    first = reconcile_annex_a(ctx, iid, "day2")
    assert first.next_wake_at == at(26, 14)
    assert first.next_wake_at.astimezone(UTC) == datetime(2023, 6, 26, 13, 0, tzinfo=UTC)

    clock.set(at(26, 14))
    second = reconcile_annex_a(ctx, iid, "day2")
    # The seven items due at 17:00 get their 3-hour reminder; the health template's falls on Tuesday 07:30.
    assert second.sent == 7
    assert second.next_wake_at == at(26, 16)
    reminders = [key for key, template, *_ in ledger(ctx) if template == "action-remind-3h"]
    assert reminders == [f"{IID}:day2:{ref}:submit:r1:remind-3h" for ref in DAY2_LEADS if ref != "health-template"]


def test_next_wake_between_reminders_is_unchanged(ctx: EngineContext, clock: VirtualClock, iid: str) -> None:
    """A pass at 13:59 sends nothing and still wakes at 14:00."""
    reconcile_annex_a(ctx, iid, "day2")
    clock.set(at(26, 13, 59))
    result = reconcile_annex_a(ctx, iid, "day2")
    assert (result.sent, result.next_wake_at) == (0, at(26, 14))


def test_next_wake_before_deadline_is_phase_deadline(ctx: EngineContext, clock: VirtualClock, iid: str) -> None:
    """On Tuesday at 11:59, with every chase sent, the next wake is the day-2 deadline at 12:00."""
    reconcile_annex_a(ctx, iid, "day2")
    clock.set(at(27, 11, 59))
    result = reconcile_annex_a(ctx, iid, "day2")
    assert result.next_wake_at == at(27, 12)
    assert not any(key.endswith(":late_report") for key, *_ in ledger(ctx))


def test_late_report_at_phase_deadline_sent_once(ctx: EngineContext, clock: VirtualClock, iid: str) -> None:
    """At day 2 12:00 a late report naming every open item goes to coordinator, LANO and director, once."""
    reconcile_annex_a(ctx, iid, "day2")
    clock.set(at(27, 11, 59))
    reconcile_annex_a(ctx, iid, "day2")

    clock.set(at(27, 12))
    result = reconcile_annex_a(ctx, iid, "day2")
    assert result.sent == 1
    assert result.done is False
    assert result.next_wake_at is None
    assert result.reason.startswith("Waiting for 8 of 8 items: child-level-data evidence lead (Ben Hollinshead) "
                                    "due Mon 26 Jun 17:00 LATE; ")
    assert all(s.late for s in result.items)

    late = [row for row in ledger(ctx) if row[1] == "late_report"]
    assert late == [(f"{IID}:day2:late_report", "late_report", "sent", [
        "leah.marchetti@demo-county.example", "nadia.pemberton@demo-county.example",
        "marcus.fenwick@demo-county.example"])]
    entry = next(e for e in list_outbox(ctx.transport.folder) if e.key == f"{IID}:day2:late_report")
    view = read_outbox_message(ctx.transport.folder, entry.id)
    assert view.subject == "LATE: 8 items not uploaded by the Annex A day 2 deadline"
    assert "send-inspection.comms@demo-county.example" in view.sender
    for line in [
        "- Child-level data: waiting for the evidence lead (Ben Hollinshead), due Mon 26 Jun 17:00",
        "- 1.5 Representative and support groups: waiting for the evidence lead (Chloe Trevethan), "
        "due Mon 26 Jun 17:00",
        "- Health structures template (CQC): waiting for the evidence lead (Lucy Penhaligon), "
        "due Tue 27 Jun 08:00",
    ]:
        assert line in view.text.splitlines()
    assert "Uploaded or explained so far: 0 of 8." in view.text

    clock.set(at(27, 15))
    again = reconcile_annex_a(ctx, iid, "day2")
    assert again.sent == 0
    assert [row for row in ledger(ctx) if row[1] == "late_report"] == late


def test_late_report_names_only_late_items(ctx: EngineContext, clock: VirtualClock, iid: str) -> None:
    """An item already uploaded before the deadline is not listed in the late report and is counted as done."""
    reconcile_annex_a(ctx, iid, "day2")
    with ctx.session() as session:
        item = session.scalars(select(m.RegisterItem).where(m.RegisterItem.ref == "1.1")).one()
        item.outcome, item.done_at = "uploaded", ctx.clock.now()
        session.commit()
    clock.set(at(27, 12))
    result = reconcile_annex_a(ctx, iid, "day2")
    assert result.reason.startswith("Waiting for 7 of 8 items: ")
    assert "1.1 " not in result.reason
    entry = next(e for e in list_outbox(ctx.transport.folder) if e.key == f"{IID}:day2:late_report")
    view = read_outbox_message(ctx.transport.folder, entry.id)
    assert view.subject == "LATE: 7 items not uploaded by the Annex A day 2 deadline"
    assert not any(line.startswith("- 1.1 ") for line in view.text.splitlines())
    assert "Uploaded or explained so far: 1 of 8." in view.text


def test_pass_records_seen_changes(ctx: EngineContext, iid: str) -> None:
    """A pass marks the phase running and takes note of every decision counted so far."""
    reconcile_annex_a(ctx, iid, "day2")
    with ctx.session() as session:
        token = session.scalars(select(m.ActionToken).order_by(m.ActionToken.id)).first()
        assert token is not None
        record_decision(session, token, "explained", now=ctx.clock.now())
    run = get_phase(ctx, iid, "day2")
    assert run is not None and (run.changes, run.seen_changes) == (1, 0)
    result = reconcile_annex_a(ctx, iid, "day2")
    run = get_phase(ctx, iid, "day2")
    assert run is not None
    assert (run.status, run.changes, run.seen_changes) == ("running", 1, 1)
    # The item moved to approve: its accountable lead is asked now, once.
    assert result.sent == 1
    assert ledger(ctx)[-1][:3] == (f"{IID}:day2:child-level-data:approve:r1:ask", "action-ask", "sent")
    assert ledger(ctx)[-1][3] == ["samantha.cole-brierley@demo-county.example"]


def test_phase_complete_when_all_done(ctx: EngineContext, clock: VirtualClock, iid: str) -> None:
    """When every day-2 item is finished the pass says done, sends one completion notice and does not wake."""
    reconcile_annex_a(ctx, iid, "day2")
    with ctx.session() as session:
        for item in session.scalars(select(m.RegisterItem).where(m.RegisterItem.phase == "day2")):
            item.outcome, item.done_at = "uploaded", ctx.clock.now()
        session.commit()
    clock.set(at(26, 10))
    result = reconcile_annex_a(ctx, iid, "day2")
    assert (result.done, result.sent, result.next_wake_at) == (True, 1, None)
    assert result.reason == "Annex A day 2: all 8 items uploaded or explained"
    assert ledger(ctx)[-1][:3] == (f"{IID}:day2:phase_complete", "phase_complete", "sent")
    assert reconcile_annex_a(ctx, iid, "day2").sent == 0


def _asked_for(ctx: EngineContext, iid: str, phase: str, ref: str, step: str) -> list[str]:
    """Put item `ref` at `step`, run the phase's pass and return who was asked for that step."""
    with ctx.session() as session:
        item = session.scalars(select(m.RegisterItem).where(m.RegisterItem.ref == ref)).one()
        item.step, item.waits_for = step, None
        session.commit()
    ensure_phase(ctx, iid, phase)
    reconcile_annex_a(ctx, iid, phase)
    with ctx.session() as session:
        record = session.scalars(select(m.EmailRecord).where(
            m.EmailRecord.key == f"{iid}:{phase}:{ref}:{step}:r1:ask")).one()
    return record.recipients


def test_a_step_is_asked_of_the_role_register_yaml_names_for_it(ctx: EngineContext) -> None:
    """The Lead Evidence Officer gives the health template its final check; the director uploads on day 5; the
    LANO still uploads on day 2."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    assert _asked_for(ctx, iid, "day2", "health-template", "check") == ["tom.blakeley@demo-county.example"]
    assert _asked_for(ctx, iid, "day2", "1.1", "upload") == ["nadia.pemberton@demo-county.example"]
    assert _asked_for(ctx, iid, "day5", "2.1", "upload") == ["marcus.fenwick@demo-county.example"]


def test_without_answered_by_the_lano_uploads_on_day_5(ctx: EngineContext) -> None:
    """A partnership whose register names no role for the upload has the LANO confirm it, the product's default."""
    register = ctx.config.annex_a.model_copy(update={"answered_by": {}})
    ctx.config = ctx.config.model_copy(update={"annex_a": register})
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    assert _asked_for(ctx, iid, "day5", "2.1", "upload") == ["nadia.pemberton@demo-county.example"]


def test_asks_due_in_the_quiet_hours_wait_for_them_to_end_and_the_phase_wakes_then(ctx: EngineContext) -> None:
    """Day 5 reached at 19:55 sends nothing: its 21 asks are held (the tracked-cases row waits for its gate), the
    phase wakes at 07:30 and sends them then."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    ensure_phase(ctx, iid, "day5")
    ctx.clock.set(at(26, 19, 55))  # type: ignore[attr-defined]
    held = reconcile_annex_a(ctx, iid, "day5")
    assert (held.sent, ledger(ctx)) == (0, [])
    assert held.next_wake_at == at(27, 7, 30)
    assert held.reason.endswith("(21 email(s) held for the quiet hours until Tue 27 Jun 07:30)")
    ctx.clock.set(at(27, 7, 30))  # type: ignore[attr-defined]
    morning = reconcile_annex_a(ctx, iid, "day5")
    assert morning.sent == 21 and {key.rsplit(":", 1)[1] for key, *_ in ledger(ctx)} == {"ask"}
