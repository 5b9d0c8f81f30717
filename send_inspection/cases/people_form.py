"""Read the staff the SEND QA and Audit Manager names for a tracked case, and add them to the inspection.

Only staff are named here (practitioners and setting leads), never the child or the family. Every problem
names the field and line, and nothing is recorded until the whole form is right.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from send_inspection.db import models as m
from send_inspection.engine.decisions import DecisionRefused
from send_inspection.engine.named_people import NamedPerson, add_named_person
from send_inspection.mail.message import is_sendable_address


@dataclass(frozen=True)
class CasePeople:
    """Who works with a tracked child: who knows them best, the settings' leads, and the others."""

    practitioner: NamedPerson
    settings: list[tuple[str, NamedPerson]]
    others: list[NamedPerson] = field(default_factory=list)


class PeopleFormRefused(DecisionRefused):
    """The form cannot be accepted; `lines` says what is wrong where."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("nothing was recorded: correct the fields below and send the form again")
        self.lines = lines


def _person(name: str, email: str, role: str, *, where: str, problems: list[str]) -> NamedPerson | None:
    name, email, role = name.strip(), email.strip(), role.strip()
    before = len(problems)
    if not name:
        problems.append(f"{where}: the name is missing")
    if not is_sendable_address(email):
        problems.append(f"{where}: {email!r} is not an email address" if email else f"{where}: the email is missing")
    if len(name) > 200 or len(role) > 200:
        problems.append(f"{where}: keep the name and role under 200 characters")
    return NamedPerson(name, email.lower(), role) if len(problems) == before else None


def _lines(text: str, field_label: str, parts: int, problems: list[str]) -> list[tuple[int, list[str]]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split(";")]
        if len(cells) != parts:
            problems.append(f"{field_label}, line {number}: expected {parts} parts separated by ';', "
                            f"found {len(cells)}")
            continue
        rows.append((number, cells))
    return rows


def parse_case_people(form: Mapping[str, str]) -> CasePeople:
    """Read the identify form; raise PeopleFormRefused listing every problem."""
    problems: list[str] = []
    practitioner = _person(form.get("practitioner_name", ""), form.get("practitioner_email", ""),
                           form.get("practitioner_role", ""), where="practitioner who knows the child best",
                           problems=problems)
    settings: list[tuple[str, NamedPerson]] = []
    for number, (setting, name, email) in _lines(form.get("settings", ""), "settings", 3, problems):
        lead = _person(name, email, f"Lead, {setting}", where=f"settings, line {number}", problems=problems)
        if not setting:
            problems.append(f"settings, line {number}: the setting's name is missing")
        elif lead is not None:
            settings.append((setting[:200], lead))
    if not settings and not any(p.startswith("settings") for p in problems):
        problems.append("settings: name at least one setting the child attends, with its lead")
    others = []
    for number, (name, email, role) in _lines(form.get("others", ""), "other practitioners", 3, problems):
        person = _person(name, email, role, where=f"other practitioners, line {number}", problems=problems)
        if person is not None:
            others.append(person)
    if problems or practitioner is None:
        raise PeopleFormRefused(problems)
    return CasePeople(practitioner=practitioner, settings=settings, others=others)


def record_case_people(session: Session, case: m.TrackedCase, people: CasePeople, *, identified_by: str) -> None:
    """Add the named staff to the inspection (reusing anyone already known by email) and to the case."""
    def key_for(person: NamedPerson) -> str:
        return add_named_person(session, case.inspection_id,
                                NamedPerson(person.name, person.email, person.role or "Practitioner"), origin="case",
                                key_prefix=f"case-{case.child_id.lower()}", escalates_to=identified_by)

    case.practitioner_key = key_for(people.practitioner)
    case.settings = [{"setting": setting, "lead": key_for(lead)} for setting, lead in people.settings]
    case.other_practitioner_keys = list(dict.fromkeys(key_for(p) for p in people.others))
