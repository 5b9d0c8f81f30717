"""Poll the watched shared inboxes once through Exchange (EWS or Graph) and hand each new message to its intake.

comms     an inspector's request forwarded by staff becomes an additional evidence request (comms_requests)
evidence  files sent about request N are kept with it and may answer its submit step (evidence_replies)

Each inbox is watched by the watcher of the mail transport (EWS: InboxWatcher; Graph: GraphInboxWatcher), which
hands a message over once even across restarts and then marks it in the mailbox as partnership.yaml says
(inboxes.handled); what the intake did is kept in inbox_messages as its outcome. Messages are looked at from the
inspection's notification on. Only ids and counts are logged or returned: never a message's text, subject or
attachment names.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.intake.comms_requests import record_forwarded
from send_inspection.intake.evidence_replies import take_evidence_reply
from send_inspection.intake.handled import Handled
from send_inspection.mail.received import ReceivedMessage
from send_inspection.mail.transport import MailTransport, MailTransportError
from send_inspection.mail.transports import inbox_watcher_for
from send_inspection.settings import WATCHABLE_INBOXES

log = logging.getLogger(__name__)

Handler = Callable[[EngineContext, str, ReceivedMessage], Handled]
HANDLERS: dict[str, Handler] = {"comms": record_forwarded, "evidence": take_evidence_reply}


class IntakeFailed(RuntimeError):
    """Taking a message failed; the message says only what kind of failure it was, never the message's text."""


@dataclass
class IntakeResult:
    """What one poll of the inboxes did, in ids and counts: by inbox, by outcome, requests recorded, phases to wake."""

    inspection_id: str | None
    handed_over: dict[str, int] = field(default_factory=dict)
    outcomes: Counter[str] = field(default_factory=Counter)
    recorded: list[int] = field(default_factory=list)
    to_wake: list[str] = field(default_factory=list)
    failed: int = 0
    gave_up: int = 0
    note: str = ""

    def summary(self) -> str:
        """Say what the poll did in one line (ids and counts only)."""
        if self.note:
            return self.note
        inboxes = ", ".join(f"{name} {count}" for name, count in self.handed_over.items()) or "none"
        kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(self.outcomes.items())) or "nothing new"
        failed = f"; {self.failed} failed, to try again" if self.failed else ""
        gave_up = f"; {self.gave_up} given up on (see inbox_messages)" if self.gave_up else ""
        return f"{self.inspection_id}: new messages by inbox: {inboxes}; {kinds}{failed}{gave_up}"


def current_inspection(ctx: EngineContext) -> str | None:
    """Return the live inspection notified most recently, or None."""
    with ctx.session() as session:
        return session.scalar(select(m.Inspection.id).where(m.Inspection.mode == "live")
                              .order_by(m.Inspection.notified_at.desc()).limit(1))


def poll_inboxes(
    ctx: EngineContext,
    transport: MailTransport,
    *,
    inboxes: Sequence[str] = WATCHABLE_INBOXES,
    inspection_id: str | None = None,
) -> IntakeResult:
    """Poll each inbox once for the inspection (the latest live one by default); raise the first mail failure."""
    unknown = [name for name in inboxes if name not in HANDLERS]
    if unknown:
        raise ValueError(f"inboxes: {', '.join(map(repr, unknown))} cannot be watched; expected "
                         f"{', '.join(HANDLERS)}")
    inspection_id = inspection_id or current_inspection(ctx)
    if inspection_id is None:
        return IntakeResult(None, note="No live inspection: no inbox polled.")
    with ctx.session() as session:
        inspection = session.get(m.Inspection, inspection_id)
        if inspection is None:
            raise ValueError(f"inspection_id: no inspection {inspection_id!r}")
        notified_at = inspection.notified_at
    result = IntakeResult(inspection_id)
    problems: list[MailTransportError] = []
    for name in inboxes:
        try:
            _poll_one(ctx, transport, name, inspection_id=inspection_id, not_before=notified_at, result=result)
        except MailTransportError as exc:
            log.error("inbox %s not polled: %s", name, exc.for_operators())
            problems.append(exc)
    log.info("intake %s", result.summary())
    if problems:
        # Prefect keeps a failure's message: the product's words only (the server's answer may quote a message).
        raise MailTransportError(f"inbox not polled: {problems[0].for_operators()}",
                                 retryable=problems[0].retryable) from None
    return result


def _poll_one(ctx: EngineContext, transport: MailTransport, name: str, *, inspection_id: str, not_before: datetime,
              result: IntakeResult) -> None:
    """Poll one inbox and add what its messages came to to `result`."""
    handler = HANDLERS[name]
    done: list[Handled] = []

    def handle(message: ReceivedMessage) -> str:
        try:
            handled = handler(ctx, inspection_id, message)
        except MailTransportError:
            raise
        except Exception as exc:
            # The watcher logs and keeps a failure's text, and that can quote the message (a database error quotes
            # the values it could not write): pass on only what kind of failure it was.
            raise IntakeFailed(f"{type(exc).__name__} while taking the message") from exc
        done.append(handled)
        return handled.outcome

    address = getattr(ctx.config.partnership.inboxes, name).address
    watcher = inbox_watcher_for(transport, ctx.session, mailbox=address, handle=handle, not_before=not_before,
                                mark=ctx.config.partnership.inboxes.handled)
    poll = watcher.poll(now=ctx.clock.now())
    result.handed_over[name] = len(poll.handled)
    result.failed += len(poll.failed)
    result.gave_up += len(poll.gave_up)
    for handled in done:
        result.outcomes[handled.kind] += 1
        if handled.kind == "recorded" and handled.request is not None:
            result.recorded.append(handled.request)
        if handled.wake_phase and handled.wake_phase not in result.to_wake:
            result.to_wake.append(handled.wake_phase)
