"""People named during an inspection, outside partnership.yaml: kept with the inspection, asked like staff.

Front-line practitioners and setting leads named on a tracked case, people the inspectors' timetable names by
address, a representative a member sends to a keeping-in-touch meeting, the owner of an action raised there: each
becomes a row of the inspection's people (never of the config, never passed to Prefect), found again by address,
so a person named twice is one person with one key. From then on they are invited and asked through their own
links like anyone in partnership.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr

from sqlalchemy import select
from sqlalchemy.orm import Session

from send_inspection.db import models as m
from send_inspection.mail.message import is_sendable_address

# The longest name and role kept (the columns of `people`).
MAX_TEXT = 200


@dataclass(frozen=True)
class NamedPerson:
    """Someone named by name and work address, with what they do."""

    name: str
    email: str
    role: str = ""


def parse_name_and_address(text: str) -> NamedPerson | None:
    """Return the person written as `Name <address>` (or a bare address, the name left empty); None if it is not."""
    text = text.strip()
    if "@" not in text:
        return None
    name, address = parseaddr(text)
    address = address.strip().lower()
    if not is_sendable_address(address) or (not name and text.lower() != address):
        return None
    return NamedPerson(name=" ".join(name.split())[:MAX_TEXT], email=address)


def find_by_address(session: Session, inspection_id: str, address: str) -> str | None:
    """Return the key of the inspection's person with this address, if there is one."""
    return session.scalars(select(m.Person.person_key).where(
        m.Person.inspection_id == inspection_id, m.Person.email == address.strip().lower())
        .order_by(m.Person.id).limit(1)).first()


def add_named_person(session: Session, inspection_id: str, person: NamedPerson, *, origin: str, key_prefix: str,
                     escalates_to: str | None = None) -> str:
    """Return the key of the person with `person`'s address, adding them to the inspection if new (caller commits).

    A new person's key is `<key_prefix>-<n>`, the first n not taken; they escalate to `escalates_to` (whoever named
    them, or answers for them), and have no deputy.
    """
    known = find_by_address(session, inspection_id, person.email)
    if known is not None:
        return known
    taken = set(session.scalars(select(m.Person.person_key).where(
        m.Person.inspection_id == inspection_id, m.Person.person_key.startswith(f"{key_prefix}-", autoescape=True))))
    number = len(taken) + 1
    while f"{key_prefix}-{number}" in taken:
        number += 1
    key = f"{key_prefix}-{number}"
    session.add(m.Person(inspection_id=inspection_id, person_key=key, name=person.name or person.email,
                         role=(person.role or "Named during the inspection")[:MAX_TEXT], email=person.email,
                         escalates_to_key=escalates_to, origin=origin))
    session.flush()
    return key
