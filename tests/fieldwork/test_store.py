"""The timetable in the database: the inspectors' import merges with the partnership's own meetings, cancelling
none of them, and someone the inspectors name by address is kept with the inspection and invited like staff."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from send_inspection.calendar import LONDON
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import open_inspection
from send_inspection.fieldwork.store import preview_timetable, save_slots, save_timetable, stored_slots
from send_inspection.fieldwork.timetable import Slot, Timetable, TimetableRefused
from tests.conftest import NOTIFIED

GRACE = "Grace Okafor <Grace.Okafor@demo-valley-school.example>"


def slot(slot_id: str, day: int, *attendees: str, hour: int = 10) -> Slot:
    """Return an hour's meeting in July 2023 for `attendees`."""
    start = datetime(2023, 7, day, hour, 0, tzinfo=LONDON)
    return Slot(slot_id=slot_id, kind="staff-meeting", title=f"Meeting {slot_id}", start=start,
                end=start + timedelta(hours=1), location="Teams", attendees=attendees)


@pytest.fixture
def iid(ctx: EngineContext) -> str:
    """Open the demo inspection (notified Monday 26 June 2023)."""
    return open_inspection(ctx, NOTIFIED, mode="rehearsal")


def pending(ctx: EngineContext) -> dict[str, list[tuple[str, list[str]]]]:
    """Return each slot's calendar messages still to send: (method, to)."""
    with ctx.session() as session:
        return {r.slot_id: [(x["method"], x["to"]) for x in r.pending_calendar]
                for r in session.scalars(select(m.FieldworkSlot).order_by(m.FieldworkSlot.id))}


def test_someone_named_by_address_is_added_once_and_invited(ctx: EngineContext, iid: str) -> None:
    """The inspectors' SENCo, named by address, becomes one of the inspection's people (escalating to the
    coordinator), is invited, and the same timetable imported again changes nothing and adds nobody."""
    first = [slot("W2-WED-1", 5, "hos-inclusion", GRACE, "grace.okafor@demo-valley-school.example")]
    preview = preview_timetable(ctx, iid, first)
    assert [(x.slot_id, x.method, x.to) for x in preview] == [
        ("W2-WED-1", "REQUEST", ("hos-inclusion", GRACE, "grace.okafor@demo-valley-school.example"))]
    assert "CN=Grace Okafor:mailto:grace.okafor@demo-valley-school.example" in preview[0].ics
    with ctx.session() as session:
        assert session.scalars(select(m.Person).where(m.Person.origin != "partnership")).first() is None

    save_timetable(ctx, iid, first)
    with ctx.session() as session:
        grace = session.scalars(select(m.Person).where(m.Person.origin == "timetable")).one()
    assert (grace.person_key, grace.name, grace.email, grace.escalates_to_key) == (
        "timetable-1", "Grace Okafor", "grace.okafor@demo-valley-school.example", "inspection-coordinator")
    assert pending(ctx) == {"W2-WED-1": [("REQUEST", ["hos-inclusion", "timetable-1"])]}
    again = save_timetable(ctx, iid, first)
    assert not again and preview_timetable(ctx, iid, first) == []
    with ctx.session() as session:
        assert len(list(session.scalars(select(m.Person).where(m.Person.origin == "timetable")))) == 1


def test_a_reimport_merges_with_the_partnerships_own_meetings_and_cancels_none(ctx: EngineContext,
                                                                              iid: str) -> None:
    """A tracked child's meeting and a KIT meeting stay on the timetable, untouched, when the inspectors send a new
    version without them; only the inspectors' own slot left out is cancelled."""
    save_slots(ctx, iid, [slot("DC4033052-practitioners-meeting", 4, "hos-send")], origin="case:DC4033052")
    save_slots(ctx, iid, [slot("KIT-2023-07-04", 4, "dir-inclusion", hour=17)], origin="kit")
    save_timetable(ctx, iid, [slot("W2-TUE-1", 4, "dir-inclusion", hour=9), slot("W2-TUE-2", 4, "hos-send", hour=12)])
    before = pending(ctx)
    changes = save_timetable(ctx, iid, [slot("W2-TUE-2", 4, "hos-send", hour=12)])
    assert [s.slot_id for s in changes.removed] == ["W2-TUE-1"] and not changes.added and not changes.changed
    after = pending(ctx)
    assert after["W2-TUE-1"][-1] == ("CANCEL", ["dir-inclusion"])
    for ours in ("DC4033052-practitioners-meeting", "KIT-2023-07-04"):
        assert after[ours] == before[ours] == [("REQUEST", [before[ours][0][1][0]])]
    assert [s.slot_id for s in stored_slots(ctx, iid)] == ["DC4033052-practitioners-meeting", "KIT-2023-07-04",
                                                           "W2-TUE-2"]


def test_an_inspectors_slot_with_the_id_of_our_meeting_is_refused_and_nothing_saved(ctx: EngineContext,
                                                                                   iid: str) -> None:
    """The import is refused naming the slot; the KIT meeting and the timetable are as they were."""
    save_slots(ctx, iid, [slot("KIT-2023-07-04", 4, "dir-inclusion", hour=17)], origin="kit")
    clash = Timetable("timetable.csv", (slot("W2-TUE-1", 4, "hos-send"), slot("KIT-2023-07-04", 4, "hos-send")))
    for attempt in (preview_timetable, save_timetable):
        with pytest.raises(TimetableRefused) as caught:
            attempt(ctx, iid, clash)
        assert [str(p) for p in caught.value.problems] == [
            "timetable.csv, column 'Slot', slot KIT-2023-07-04: this id is the partnership's own meeting on the "
            "timetable (kit): give the inspectors' slot another id"]
    assert [s.slot_id for s in stored_slots(ctx, iid)] == ["KIT-2023-07-04"]
