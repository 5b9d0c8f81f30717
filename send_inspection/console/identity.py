"""Who may use the console, as what: partnership.yaml's console roles, and the identity provider's claims."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from send_inspection.config.models import CONSOLE_ROLES, Partnership, Person


@dataclass(frozen=True)
class Admitted:
    """A person the console lets in, and the role it gives them."""

    person: Person
    role: str


@dataclass(frozen=True)
class Refused:
    """Why the console does not let someone in: said politely, naming them when they are known."""

    reason: str


def lesser(*roles: str | None) -> str | None:
    """Return the role that allows least of those given (None if any is None)."""
    if any(r is None for r in roles):
        return None
    return min(roles, key=CONSOLE_ROLES.index)  # type: ignore[arg-type]


def person_by_email(partnership: Partnership, email: str) -> Person | None:
    """Return the person of partnership.yaml with this email address (any case), if any."""
    wanted = email.strip().lower()
    return next((p for p in partnership.people if p.email == wanted), None)


def admit(partnership: Partnership, person: Person | None) -> Admitted | Refused:
    """Let a known person in with the role partnership.yaml gives them; refuse anyone else."""
    if person is None:
        return Refused("The console is only for the people partnership.yaml names for it, and your account is not "
                       "one of them. If you should have access, ask the inspection coordinator to add you.")
    role = partnership.console.role_of(person.id)
    if role is None:
        return Refused(f"{person.name}, the console is only for the inspection's coordinators and viewers, and "
                       "partnership.yaml does not name you as either. If you should have access, ask the inspection "
                       "coordinator to add you.")
    return Admitted(person=person, role=role)


def admit_claims(partnership: Partnership, claims: Mapping[str, object]) -> Admitted | Refused:
    """Let in the person a validated id_token names: by object id, else by email; roles as both sides allow."""
    access = partnership.console
    tenant = claims.get("tid")
    if access.tenant_id and tenant != access.tenant_id:
        return Refused("You signed in from another organisation's directory. Sign in with your partnership account.")
    person = None
    oid = claims.get("oid")
    if isinstance(oid, str):
        person = next((partnership.person(pid) for pid, known in access.object_ids.items() if known == oid), None)
    if person is None and claims.get("email_verified") is not False:
        for claim in ("email", "preferred_username", "upn"):
            value = claims.get(claim)
            if isinstance(value, str) and "@" in value:
                person = person_by_email(partnership, value)
                if person is not None:
                    break
    admitted = admit(partnership, person)
    if isinstance(admitted, Refused) or not access.app_roles:
        return admitted
    granted = claims.get("roles")
    given = [role for role, value in access.app_roles.items() if isinstance(granted, list) and value in granted]
    provider_role = max(given, key=CONSOLE_ROLES.index) if given else None
    role = lesser(admitted.role, provider_role)
    if role is None:
        return Refused(f"{admitted.person.name}, your organisation has not given your account the console's app role. "
                       "Ask your IT service desk to assign it, or the inspection coordinator to check.")
    return Admitted(person=admitted.person, role=role)
