"""Record an inspector's request forwarded to the comms inbox as an additional evidence request, once per message.

A message counts as a forwarded request when its subject starts with "FW:"/"Fwd:" or its note has a
"Head of service:" or "Inspector:" line (see `forwarded`), it was sent by a member of staff in partnership.yaml,
and it is not the engine's own mail (sent from, or forwarding a message from, one of the shared inboxes). Replies
and everything else the comms inbox receives are left alone.

The head of service is the person the note's "Head of service: <person id>" (or "Service: <person id>") line
names, by id, email address or name; without one, or naming nobody known, the request goes to the LANO, and the
request's run tells the LANO and the forwarder (the comms inbox copied) which line was missing. The inspector is
the note's "Inspector: <name>" line, else the name on the forwarded message's From line.

The request keeps the message's internet message id in `recorded_by`: the same message handed over again (a
restart before the inbox table noted it) finds its request instead of recording a second one.
"""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy import select

from send_inspection.db import models as m
from send_inspection.engine.additional_requests import RequestRefused, due_time, record_request
from send_inspection.engine.context import EngineContext
from send_inspection.intake.forwarded import is_forward_subject, read_forwarded
from send_inspection.intake.handled import Handled, Kind, find_person, ignored, own_addresses, person_with_address
from send_inspection.mail.received import ReceivedMessage

log = logging.getLogger(__name__)

SOURCE = "email"
# The length of EvidenceRequest.recorded_by.
MARKER_LENGTH = 80
UNNAMED_INSPECTOR = "the inspector (not named in the forwarded email)"


def message_marker(internet_message_id: str) -> str:
    """Return what a request keeps of its message's id: the id, or if longer than 80 characters its start and digest."""
    if len(internet_message_id) <= MARKER_LENGTH:
        return internet_message_id
    digest = hashlib.sha256(internet_message_id.encode()).hexdigest()[:16]
    return f"{internet_message_id[:MARKER_LENGTH - len(digest) - 1]}~{digest}"


def recorded_from(ctx: EngineContext, inspection_id: str, marker: str) -> int | None:
    """Return the number of the request already recorded from the message with this marker, if any."""
    with ctx.session() as session:
        return session.scalar(select(m.EvidenceRequest.number).where(
            m.EvidenceRequest.inspection_id == inspection_id, m.EvidenceRequest.source == SOURCE,
            m.EvidenceRequest.recorded_by == marker))


def record_forwarded(ctx: EngineContext, inspection_id: str, message: ReceivedMessage) -> Handled:
    """Record the forwarded request in `message` once (with the LANO standing in if no head of service was named)."""
    partnership = ctx.config.partnership
    own = own_addresses(partnership)
    if message.sender.casefold() in own:
        return ignored("sent from one of the shared inboxes")
    forwarded = read_forwarded(message.body_text)
    if not (is_forward_subject(message.subject) or forwarded.explicit):
        return ignored("not a forwarded request")
    if forwarded.original_address.casefold() in own:
        return ignored("a forward of the engine's own email")
    forwarder = person_with_address(partnership, message.sender)
    if forwarder is None:
        return ignored("forwarded from an address not in partnership.yaml")
    named = find_person(partnership, forwarded.head_of_service) if forwarded.head_of_service else None
    marker = message_marker(message.internet_message_id)
    number = recorded_from(ctx, inspection_id, marker)
    kind: Kind = "duplicate"
    if number is None:
        inspector = (forwarded.inspector or forwarded.original_name or forwarded.original_address
                     or UNNAMED_INSPECTOR)
        try:
            number = record_request(ctx, inspection_id, forwarded.asked, inspector=inspector,
                                    head_of_service=named.id if named else partnership.roles.lano,
                                    source=SOURCE, recorded_by=marker,
                                    # Due by when the forward arrived, not when it was polled (16:00 may lie between).
                                    due_at=due_time(ctx, message.received_at), forwarded_by=forwarder.id,
                                    head_of_service_line=(forwarded.head_of_service or "")[:200] or None,
                                    lano_stands_in=named is None)
        except RequestRefused as exc:  # the text is empty, or the config names nobody to sign it off
            return ignored(f"not recorded: {exc}")
        kind = "recorded"
        log.info("inbox %s: request %d recorded from %s", message.mailbox, number, message.internet_message_id)
    detail = f"request {number}"
    if named is None:
        missing = "unknown head of service" if forwarded.head_of_service else "no head of service line"
        detail += f" ({missing}: given to the LANO, who is told by the request's run)"
    return Handled(kind, detail, request=number)
