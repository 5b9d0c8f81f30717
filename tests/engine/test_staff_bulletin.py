"""The staff bulletin: sent on the coordinator's weekdays until the feedback meeting, figures only, once each."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from send_inspection.calendar import LONDON, to_london
from send_inspection.db import models as m
from send_inspection.engine.additional_requests import record_request
from send_inspection.engine.annex_a import reconcile_annex_a
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import open_inspection
from send_inspection.engine.phase_rows import ensure_phase
from send_inspection.engine.staff_bulletin import bulletin_markdown, bulletin_times, reconcile_bulletin
from send_inspection.fieldwork.store import save_timetable
from send_inspection.fieldwork.timetable import Slot
from send_inspection.mail.outbox import outbox_id_for, read_outbox_message
from tests.conftest import NOTIFIED

ASKED = "The minutes of the SEND partnership board, March to June"
FOCUS = "Waiting times for speech and language therapy"
STAFF_LISTS = ["all-council-staff@demo-county.example", "all-icb-staff@demo-icb.nhs.example",
               "all-community-health-staff@demo-icb.nhs.example"]


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """Return a London wall time in 2023 (the demo inspection was notified on Monday 26 June)."""
    return datetime(2023, month, day, hour, minute, tzinfo=LONDON)


def bulletins(ctx: EngineContext) -> list[m.EmailRecord]:
    """Return the ledger rows of the staff bulletins sent, oldest first."""
    with ctx.session() as session:
        return list(session.scalars(select(m.EmailRecord).where(m.EmailRecord.template == "staff_bulletin")
                                    .order_by(m.EmailRecord.id)))


def bulletin_text(ctx: EngineContext, iid: str, day: str) -> str:
    """Return the plain text of the bulletin of `day` (YYYY-MM-DD) from the outbox."""
    return read_outbox_message(ctx.transport.folder, outbox_id_for(f"{iid}:bulletin:{day}")).text or ""


def test_bulletins_go_on_the_configured_weekdays_until_the_feedback_meeting(ctx: EngineContext) -> None:
    """Monday, Wednesday and Friday at 08:30 from the day after notification to the feedback meeting's day."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    times = [to_london(t) for t in bulletin_times(ctx, iid)]
    assert [t.strftime("%a %d %b %H:%M") for t in times] == [
        "Wed 28 Jun 08:30", "Fri 30 Jun 08:30", "Mon 03 Jul 08:30", "Wed 05 Jul 08:30", "Fri 07 Jul 08:30",
        "Mon 10 Jul 08:30", "Wed 12 Jul 08:30", "Fri 14 Jul 08:30"]


def test_a_bank_holiday_gets_no_bulletin(ctx: EngineContext) -> None:
    """An inspection notified the Monday before the August bank holiday skips Monday 31 August 2026."""
    ctx.clock.set(datetime(2026, 8, 24, 9, 0, tzinfo=LONDON))  # type: ignore[attr-defined]
    iid = open_inspection(ctx, datetime(2026, 8, 24, 9, 0, tzinfo=LONDON), mode="rehearsal")
    days = [to_london(t).strftime("%a %d %b") for t in bulletin_times(ctx, iid)]
    assert days[:3] == ["Wed 26 Aug", "Fri 28 Aug", "Wed 02 Sep"]
    assert "Mon 31 Aug" not in days


def test_each_bulletin_goes_once_to_every_staff_list_and_the_phase_waits_for_the_next(ctx: EngineContext) -> None:
    """Before 08:30 nothing goes; at 08:30 one email from the comms inbox to the staff lists; never twice."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    ensure_phase(ctx, iid, "bulletin")
    first = reconcile_bulletin(ctx, iid)
    assert first.sent == 0 and not first.done and first.next_wake_at == at(6, 28, 8, 30)
    ctx.clock.set(at(6, 28, 8, 30))  # type: ignore[attr-defined]
    result = reconcile_bulletin(ctx, iid)
    assert result.sent == 1 and result.summaries_sent == ["2023-06-28"] and result.next_wake_at == at(6, 30, 8, 30)
    assert reconcile_bulletin(ctx, iid).sent == 0
    [row] = bulletins(ctx)
    assert row.recipients == STAFF_LISTS
    message = read_outbox_message(ctx.transport.folder, outbox_id_for(f"{iid}:bulletin:2023-06-28"))
    assert message.subject == "Inspection bulletin for all staff: Wednesday 28 June"
    assert ctx.config.partnership.inboxes.comms.address in message.sender


def test_after_an_outage_only_todays_bulletin_goes(ctx: EngineContext) -> None:
    """Woken late on Monday 3 July the engine sends Monday's bulletin, not the two it missed; a day late, none."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    ensure_phase(ctx, iid, "bulletin")
    ctx.clock.set(at(7, 3, 11))  # type: ignore[attr-defined]
    assert reconcile_bulletin(ctx, iid).summaries_sent == ["2023-07-03"]
    ctx.clock.set(at(7, 6, 9))  # type: ignore[attr-defined]
    late = reconcile_bulletin(ctx, iid)
    assert late.sent == 0 and late.next_wake_at == at(7, 7, 8, 30)
    assert len(bulletins(ctx)) == 1
    # The status says what went, not what fell due: 4 were due by Thursday, 1 went.
    assert late.reason == "Staff bulletin: 1 of 8 sent; next Fri 07 Jul 08:30"


def test_the_phase_is_done_after_the_last_bulletin(ctx: EngineContext) -> None:
    """On the feedback meeting's day the last bulletin goes and the phase finishes."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    ensure_phase(ctx, iid, "bulletin")
    ctx.clock.set(at(7, 14, 8, 30))  # type: ignore[attr-defined]
    result = reconcile_bulletin(ctx, iid)
    assert result.done and result.sent == 1 and result.next_wake_at is None


def test_the_bulletin_holds_figures_and_never_what_staff_or_inspectors_typed(ctx: EngineContext) -> None:
    """Register, requests and debrief ratings appear as counts; the request's and debrief's words do not."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    ensure_phase(ctx, iid, "day2")
    reconcile_annex_a(ctx, iid, "day2")
    ctx.clock.set(at(7, 10, 9))  # type: ignore[attr-defined]
    start = at(7, 10, 10)
    save_timetable(ctx, iid, [Slot(slot_id="S1", kind="leaders-meeting", title="Meeting with SEND leaders",
                                   start=start, end=start + timedelta(hours=1), location="Demo House",
                                   attendees=("hos-send",), debriefer="hos-send", focus="Joint commissioning")])
    record_request(ctx, iid, ASKED, inspector="HMI Demo", head_of_service="hos-send")
    ctx.clock.set(at(7, 12, 8, 30))  # type: ignore[attr-defined]
    with ctx.session() as session:
        session.add(m.Debrief(inspection_id=iid, slot_id="S1", debriefer="hos-send", interviewees="Two SENCOs",
                              focus=FOCUS, evidence_used="The protocol", documents_requested=[],
                              unexpected_questions="none", points_for_others="none", rating="amber",
                              submitted_at=at(7, 10, 12)))
        session.commit()
    ensure_phase(ctx, iid, "bulletin")
    reconcile_bulletin(ctx, iid)
    text = bulletin_text(ctx, iid, "2023-07-12")
    day2_items = sum(item.phase == "day2" for item in ctx.config.annex_a.items)
    assert f"Annex A evidence due on day 2: 0 of {day2_items} done, {day2_items} overdue" in text
    assert "Additional requests from the inspectors: 1 (0 sent to the inspectors, 0 answered with an " \
           "explanation, 1 in hand, 1 past their deadline)" in text
    assert "Meetings with inspectors: 1 held, 0 today, 0 still to come. Debriefs so far: 0 green, 1 amber, 0 red." \
        in text
    assert "The inspectors' feedback meeting: Friday 14 July, 14:00" in text
    assert ASKED not in text and FOCUS not in text and "HMI Demo" not in text
    markdown = bulletin_markdown({"day": at(7, 12, 8).date(), "register": [], "ahead": [],
                                  "requests": {"total": 0, "sent": 0, "explained": 0, "open": 0, "late": 0},
                                  "meetings": {"held": 0, "today": 0, "ahead": 0},
                                  "ratings": {"green": 0, "amber": 0, "red": 0}, "comms": "x@example.org"})
    assert markdown.startswith("# Staff bulletin: Wednesday 12 July 2023")


def test_without_a_staff_list_the_phase_ends_at_once(ctx: EngineContext) -> None:
    """A partnership with no staff_bulletin_list sends nothing and the phase finishes."""
    ctx.config = ctx.config.model_copy(update={"partnership": ctx.config.partnership.model_copy(
        update={"staff_bulletin_list": None})})
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    ensure_phase(ctx, iid, "bulletin")
    result = reconcile_bulletin(ctx, iid)
    assert result.done and result.sent == 0 and "none configured" in result.reason
