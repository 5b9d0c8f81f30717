"""People named outside partnership.yaml: written as Name <address>, kept with the inspection once by address."""

from __future__ import annotations

from sqlalchemy import select

from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import open_inspection
from send_inspection.engine.named_people import NamedPerson, add_named_person, parse_name_and_address
from tests.conftest import NOTIFIED


def test_a_name_and_address_is_read_as_people_write_it() -> None:
    """Name <address>, a quoted name and a bare address are read; the address is lower-cased; the rest is not one."""
    assert parse_name_and_address(" Grace  Okafor <Grace.Okafor@School.example> ") == NamedPerson(
        "Grace Okafor", "grace.okafor@school.example")
    assert parse_name_and_address('"Okafor, Grace" <g.okafor@school.example>') == NamedPerson(
        "Okafor, Grace", "g.okafor@school.example")
    assert parse_name_and_address("g.okafor@school.example") == NamedPerson("", "g.okafor@school.example")
    for text in ("hos-send", "Grace Okafor <not an address>", "Grace <g@x>", "Grace g.okafor@school.example"):
        assert parse_name_and_address(text) is None, text


def test_a_person_named_twice_is_one_person_and_keys_are_never_reused(ctx: EngineContext) -> None:
    """The same address (in any case) gives the same key; a new one takes the next free number; staff keep theirs."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    grace = NamedPerson("Grace Okafor", "grace.okafor@school.example", "SENCo")
    with ctx.session() as session:
        first = add_named_person(session, iid, grace, origin="timetable", key_prefix="timetable",
                                 escalates_to="inspection-coordinator")
        again = add_named_person(session, iid, NamedPerson("G Okafor", "GRACE.OKAFOR@school.example"),
                                 origin="kit", key_prefix="kit")
        staff = add_named_person(session, iid, NamedPerson("C Lowther", "catherine.lowther@demo-county.example"),
                                 origin="kit", key_prefix="kit")
        session.add(m.Person(inspection_id=iid, person_key="timetable-2", name="Taken", role="x", email="t@x.example",
                             origin="timetable"))
        session.flush()
        other = add_named_person(session, iid, NamedPerson("Tom Barraclough", "tom@school.example"),
                                 origin="timetable", key_prefix="timetable")
        session.commit()
        row = session.scalars(select(m.Person).where(m.Person.person_key == first)).one()
    assert (first, again, staff, other) == ("timetable-1", "timetable-1", "hos-send", "timetable-3")
    assert (row.name, row.role, row.origin, row.escalates_to_key, row.deputy_key) == (
        "Grace Okafor", "SENCo", "timetable", "inspection-coordinator", None)
