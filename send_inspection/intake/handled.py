"""What the mailbox intake did with one message, and who the addresses on it are."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from send_inspection.config.models import Partnership, Person

Kind = Literal["recorded", "duplicate", "answered", "kept", "ignored"]


@dataclass(frozen=True)
class Handled:
    """One message's outcome (kept in inbox_messages: ids and counts, never its text), and what to wake."""

    kind: Kind
    detail: str
    # The additional evidence request the message recorded or answered, if any.
    request: int | None = None
    # The phase whose waiting run should look again now (a step was answered), if any.
    wake_phase: str | None = None

    @property
    def outcome(self) -> str:
        """Return the outcome as the inbox table keeps it, e.g. "recorded: request 3"."""
        return f"{self.kind}: {self.detail}"


def ignored(reason: str) -> Handled:
    """Return the outcome of a message the intake leaves alone, saying why (never quoting the message)."""
    return Handled("ignored", reason)


def own_addresses(partnership: Partnership) -> set[str]:
    """Return the partnership's shared inbox addresses, folded: mail from them is the engine's own."""
    inboxes = partnership.inboxes
    return {inbox.address.casefold() for inbox in (inboxes.comms, inboxes.logistics, inboxes.evidence)}


def person_with_address(partnership: Partnership, address: str) -> Person | None:
    """Return the member of staff whose email address this is (any case), or None."""
    wanted = address.strip().casefold()
    if not wanted:
        return None
    return next((p for p in partnership.people if p.email.casefold() == wanted), None)


def find_person(partnership: Partnership, text: str) -> Person | None:
    """Return the person a line names by id, email address or full name (any case), or None."""
    wanted = " ".join(text.split()).strip("<>.;, ").casefold()
    if not wanted:
        return None
    for person in partnership.people:
        if wanted in (person.id.casefold(), person.email.casefold(), " ".join(person.name.split()).casefold()):
            return person
    return None
