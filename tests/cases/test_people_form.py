"""The identify form of a tracked case: staff named line by line, every problem listed, people added once."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from sqlalchemy import select

from send_inspection.cases.people_form import (
    CasePeople,
    NamedPerson,
    PeopleFormRefused,
    parse_case_people,
    record_case_people,
)
from send_inspection.cases.selection import record_selection
from send_inspection.childdata.importer import ChildData, ImportedList
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.decisions import DecisionRefused
from send_inspection.engine.inspection import open_inspection
from tests.conftest import NOTIFIED

CASE = "DC4033052"
COLUMNS = ["child_id", "broad_area", "setting_type"]
# A configured member of staff (partnership.yaml): named on the form, they must be reused, not added again.
KNOWN_KEY, KNOWN_EMAIL = "hos-inclusion", "joanna.kettering@demo-county.example"


def good_form(**changes: str) -> dict[str, str]:
    """Return a correct identify form (fictional Demo County staff), with `changes` applied."""
    form = {
        "practitioner_name": "Priya Okonjo",
        "practitioner_email": "Priya.Okonjo@Demo-County.example",
        "practitioner_role": "Social worker, Children with Disabilities Team",
        "settings": "Oakfield Primary School; Tom Barraclough; T.Barraclough@demo-county.example\n"
                    "\n"
                    "Riverside Short Breaks; Anita Desai-Frost; anita.desai-frost@demo-county.example\n",
        "others": "\n  \nMarcus Webb; marcus.webb@demo-county.example; Educational psychologist\n",
    }
    return {**form, **changes}


def refused(form: dict[str, str]) -> list[str]:
    """Return the problem lines of a form that must be refused."""
    with pytest.raises(PeopleFormRefused) as caught:
        parse_case_people(form)
    return caught.value.lines


def test_a_good_form_is_read_with_emails_lower_cased() -> None:
    """The practitioner, two settings with their leads and one other practitioner are read; blank lines are skipped."""
    people = parse_case_people(good_form())
    assert people.practitioner == NamedPerson("Priya Okonjo", "priya.okonjo@demo-county.example",
                                              "Social worker, Children with Disabilities Team")
    assert people.settings == [
        ("Oakfield Primary School",
         NamedPerson("Tom Barraclough", "t.barraclough@demo-county.example", "Lead, Oakfield Primary School")),
        ("Riverside Short Breaks",
         NamedPerson("Anita Desai-Frost", "anita.desai-frost@demo-county.example", "Lead, Riverside Short Breaks")),
    ]
    assert people.others == [NamedPerson("Marcus Webb", "marcus.webb@demo-county.example", "Educational psychologist")]


def test_other_practitioners_are_optional() -> None:
    """A form with no other practitioners is accepted with an empty list."""
    assert parse_case_people(good_form(others="")).others == []


def test_the_refusal_is_a_decision_refusal_saying_nothing_was_recorded() -> None:
    """The web app shows the refusal like any other: it is a DecisionRefused whose message says nothing was kept."""
    with pytest.raises(DecisionRefused, match="nothing was recorded"):
        parse_case_people(good_form(practitioner_name=""))


@pytest.mark.parametrize(("changes", "problem"), [
    ({"practitioner_name": "  "}, "practitioner who knows the child best: the name is missing"),
    ({"practitioner_email": "priya.okonjo"},
     "practitioner who knows the child best: 'priya.okonjo' is not an email address"),
    ({"practitioner_email": ""}, "practitioner who knows the child best: the email is missing"),
    ({"settings": "Oakfield Primary School; Tom Barraclough; t.barraclough@demo-county.example\n"
                  "Riverside Short Breaks; anita.desai-frost@demo-county.example"},
     "settings, line 2: expected 3 parts separated by ';', found 2"),
    ({"settings": "Oakfield Primary School; Tom Barraclough; tom at demo-county"},
     "settings, line 1: 'tom at demo-county' is not an email address"),
    ({"settings": "; Tom Barraclough; t.barraclough@demo-county.example"},
     "settings, line 1: the setting's name is missing"),
    ({"settings": "\n \n"}, "settings: name at least one setting the child attends, with its lead"),
    ({"settings": ""}, "settings: name at least one setting the child attends, with its lead"),
    ({"others": "Marcus Webb; marcus.webb@demo-county.example; Educational psychologist\n"
                "; jade.ellery@demo-county.example; School nurse"},
     "other practitioners, line 2: the name is missing"),
])
def test_each_problem_is_refused_with_its_field_and_line(changes: dict[str, str], problem: str) -> None:
    """A single problem is refused with one message naming the field and, for a list, the line."""
    assert refused(good_form(**changes)) == [problem]


def test_line_numbers_count_the_blank_lines_a_person_sees() -> None:
    """A line after a blank one is numbered as it appears in the box, not by how many lines were read."""
    form = good_form(settings="\nOakfield Primary School; Tom Barraclough\n")
    assert refused(form) == ["settings, line 2: expected 3 parts separated by ';', found 2"]


def test_every_problem_is_listed_at_once() -> None:
    """A form wrong in several places is refused with every problem listed once, each naming its field and line."""
    form = good_form(
        practitioner_name="",
        practitioner_email="not-an-email",
        settings="Oakfield Primary School; Tom Barraclough\n"
                 "Riverside Short Breaks; Anita Desai-Frost; anita@@demo-county\n"
                 "Hillcrest Academy; Sam Noor; sam.noor@demo-county.example",
        others="; marcus.webb@demo-county.example; Educational psychologist\nJade Ellery; jade.ellery",
    )
    lines = refused(form)
    assert len(lines) == len(set(lines)) == 6
    assert set(lines) == {
        "practitioner who knows the child best: the name is missing",
        "practitioner who knows the child best: 'not-an-email' is not an email address",
        "settings, line 1: expected 3 parts separated by ';', found 2",
        "settings, line 2: 'anita@@demo-county' is not an email address",
        "other practitioners, line 1: the name is missing",
        "other practitioners, line 2: expected 3 parts separated by ';', found 2",
    }


def test_overlong_names_are_refused() -> None:
    """A name or role longer than the database keeps is refused rather than cut short."""
    assert refused(good_form(practitioner_role="x" * 201)) == [
        "practitioner who knows the child best: keep the name and role under 200 characters"]


def select_case(ctx: EngineContext) -> str:
    """Open the demo inspection, record the selection of case CASE (by id only) and return the inspection id."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    lists = {
        "ehc_plans": [(CASE, "cognition and learning", "mainstream school")],
        "sen_support": [("DC4033060", "communication and interaction", "mainstream school")],
    }
    data = ChildData(date(2023, 6, 26), {  # type: ignore[arg-type]
        kind: ImportedList(kind, f"{kind}.csv", pd.DataFrame(rows, columns=COLUMNS), [])  # type: ignore[arg-type]
        for kind, rows in lists.items()})
    record_selection(ctx, iid, data, [CASE], selected_by="inspection-coordinator")
    return iid


@pytest.fixture
def case(ctx: EngineContext) -> m.TrackedCase:
    """Open the demo inspection, select one tracked case and return its row."""
    select_case(ctx)
    with ctx.session() as session:
        return session.scalars(select(m.TrackedCase).where(m.TrackedCase.child_id == CASE)).one()


def record(ctx: EngineContext, people: CasePeople, *, child_id: str = CASE) -> m.TrackedCase:
    """Record the people against the case in one session, commit, and return the case as stored."""
    with ctx.session() as session:
        row = session.scalars(select(m.TrackedCase).where(m.TrackedCase.child_id == child_id)).one()
        record_case_people(session, row, people, identified_by="send-qa-manager")
        session.commit()
    with ctx.session() as session:
        return session.scalars(select(m.TrackedCase).where(m.TrackedCase.child_id == child_id)).one()


def people_of(ctx: EngineContext, inspection_id: str) -> dict[str, m.Person]:
    """Return the inspection's people by key."""
    with ctx.session() as session:
        return {p.person_key: p for p in session.scalars(select(m.Person).where(
            m.Person.inspection_id == inspection_id))}


def test_record_adds_new_people_by_case_key_and_reuses_known_staff(ctx: EngineContext, case: m.TrackedCase) -> None:
    """New staff get keys "case-<id>-N" and escalate to whoever named them; a configured person is reused."""
    before = people_of(ctx, case.inspection_id)
    assert KNOWN_KEY in before and before[KNOWN_KEY].email == KNOWN_EMAIL
    form = good_form(settings="Oakfield Primary School; Tom Barraclough; t.barraclough@demo-county.example\n"
                              "Greenway Pupil Referral Unit; Joanna Kettering; Joanna.Kettering@Demo-County.example",
                     others="Marcus Webb; marcus.webb@demo-county.example; Educational psychologist\n"
                            "Priya Okonjo; priya.okonjo@demo-county.example; Social worker")
    stored = record(ctx, parse_case_people(form))

    after = people_of(ctx, case.inspection_id)
    added = {k: after[k] for k in after.keys() - before.keys()}
    assert sorted(added) == ["case-dc4033052-1", "case-dc4033052-2", "case-dc4033052-3"]
    assert [(p.name, p.email, p.role) for _, p in sorted(added.items())] == [
        ("Priya Okonjo", "priya.okonjo@demo-county.example", "Social worker, Children with Disabilities Team"),
        ("Tom Barraclough", "t.barraclough@demo-county.example", "Lead, Oakfield Primary School"),
        ("Marcus Webb", "marcus.webb@demo-county.example", "Educational psychologist"),
    ]
    assert {p.escalates_to_key for p in added.values()} == {"send-qa-manager"}
    assert after[KNOWN_KEY].name == before[KNOWN_KEY].name and after[KNOWN_KEY].role == before[KNOWN_KEY].role
    assert after[KNOWN_KEY].escalates_to_key == before[KNOWN_KEY].escalates_to_key

    assert stored.practitioner_key == "case-dc4033052-1"
    assert stored.settings == [{"setting": "Oakfield Primary School", "lead": "case-dc4033052-2"},
                               {"setting": "Greenway Pupil Referral Unit", "lead": KNOWN_KEY}]
    # The practitioner named again among the others is the same person, not a second row.
    assert stored.other_practitioner_keys == ["case-dc4033052-3", "case-dc4033052-1"]


def test_a_role_left_blank_is_stored_as_practitioner(ctx: EngineContext, case: m.TrackedCase) -> None:
    """A practitioner named without a role is kept as "Practitioner" (the column cannot be empty)."""
    record(ctx, parse_case_people(good_form(practitioner_role="", others="")))
    assert people_of(ctx, case.inspection_id)["case-dc4033052-1"].role == "Practitioner"


def test_keys_continue_after_people_already_added_for_the_case(ctx: EngineContext, case: m.TrackedCase) -> None:
    """Naming people for the case again numbers new staff after the ones it already has and reuses them by email."""
    record(ctx, parse_case_people(good_form(others="")))
    again = good_form(practitioner_name="Grace Adeyemi", practitioner_email="grace.adeyemi@demo-county.example",
                      others="")
    stored = record(ctx, parse_case_people(again))
    assert stored.practitioner_key == "case-dc4033052-4"
    assert [s["lead"] for s in stored.settings] == ["case-dc4033052-2", "case-dc4033052-3"]
    assert len([k for k in people_of(ctx, case.inspection_id) if k.startswith("case-")]) == 4
