"""Build the engine's emails from templates: which inbox sends them, to whom, with which link."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from send_inspection.calendar import to_london
from send_inspection.catalogue.phases import phase_catalogue, phase_label
from send_inspection.catalogue.steps import step_label, step_spec
from send_inspection.db import models as m
from send_inspection.engine.chasing import Chase
from send_inspection.engine.context import EngineContext
from send_inspection.engine.owners import step_owner
from send_inspection.mail.message import Attachment, OutgoingMessage

# An Annex A number ("1.3"): how staff know those items. Other refs (a slug, a case id the title already says) are
# the engine's own and are not shown to people.
_NUMBERED = re.compile(r"^\d+(\.\d+)*$")


def when(moment: datetime) -> str:
    """Format a moment as Europe/London wall time for people to read: "Friday 1 December 2023, 14:00"."""
    local = to_london(moment)
    return f"{local:%A} {local.day} {local:%B %Y, %H:%M}"


def joined_names(people: Iterable[str]) -> str:
    """Join names as people write them: "Ann", "Ann and Bo", "Ann, Bo and Cy" (each once, in order)."""
    unique = list(dict.fromkeys(people))
    return " and ".join(unique) if len(unique) < 3 else f"{', '.join(unique[:-1])} and {unique[-1]}"


def item_label(ref: str, title: str) -> str:
    """Return an item as people read it: "1.3 Self-evaluation" for an Annex A number, else its title alone."""
    return f"{ref} {title}" if _NUMBERED.match(ref) else title


def _common(ctx: EngineContext) -> dict[str, Any]:
    p = ctx.config.partnership
    return {"partnership_name": p.partnership.name, "comms_inbox": p.inboxes.comms.address}


def compose(
    ctx: EngineContext,
    template: str,
    *,
    key: str,
    sender_inbox: str,
    to: Iterable[str],
    cc: Iterable[str] = (),
    bcc: Iterable[str] = (),
    attachments: tuple[Attachment, ...] = (),
    reply_inbox: str = "comms",
    **context: Any,
) -> OutgoingMessage:
    """Render `template` with the partnership's common context into a message from one of its inboxes.

    Replies go to the comms inbox, or to `reply_inbox` (the evidence inbox for asks whose answer may be a file).
    """
    inboxes = ctx.config.partnership.inboxes
    rendered = ctx.renderer.render(template, **_common(ctx), **context)
    return OutgoingMessage(
        key=key,
        sender=getattr(inboxes, sender_inbox).address,
        sender_name=ctx.config.partnership.roles.sender_name,
        to=tuple(to),
        cc=tuple(cc),
        bcc=tuple(bcc),
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        reply_to=getattr(inboxes, reply_inbox).address,
        attachments=attachments,
    )


def send_notice(
    ctx: EngineContext,
    inspection_id: str,
    key: str,
    template: str,
    *,
    to: Iterable[str],
    now: datetime,
    sender_inbox: str,
    cc: Iterable[str] = (),
    reply_inbox: str = "comms",
    **context: Any,
) -> int:
    """Send a notice (an email with no link to answer) once, however often this runs; return 1 if it went now."""
    return int(ctx.ledger.send_once(
        key, lambda: compose(ctx, template, key=key, sender_inbox=sender_inbox, to=list(dict.fromkeys(to)), cc=cc,
                             reply_inbox=reply_inbox, **context),
        inspection_id=inspection_id, template=template, now=now,
    ))


def action_message(
    ctx: EngineContext,
    item: m.RegisterItem,
    *,
    chase: Chase,
    person: m.Person,
    staff: dict[str, m.Person],
    key: str,
    token: str,
    deadline: datetime,
    returned_comment: str | None,
) -> OutgoingMessage:
    """Build an ask, reminder or escalation for one step, with the person's own link."""
    owner_key = step_owner(ctx, item)
    phase, step = phase_catalogue().spec(item.phase), step_spec(item.step)
    return compose(
        ctx,
        step.email,
        key=key,
        sender_inbox="evidence",
        # A reply to an additional request's ask, with the document attached, goes where the mailbox intake takes
        # it as the request's evidence (its subject names "request N").
        reply_inbox=phase.replies_to,
        to=[person.email],
        kind=chase.kind.split("-")[0],
        escalation_level=chase.kind,
        person_name=person.name,
        owner_name=staff[owner_key].name,
        is_owner=person.person_key == owner_key,
        item_name=item_label(item.ref, item.title),
        item_line=" ".join(filter(None, (phase.item_noun, item_label(item.ref, item.title)))),
        annex_a=phase.annex_a,
        step=item.step,
        action_words=step.asks,
        round=item.round,
        deadline=when(deadline),
        link=f"{ctx.base_url}/a/{token}",
        returned_comment=returned_comment,
    )


def phase_message(
    ctx: EngineContext, inspection_id: str, *, phase: str, kind: str, statuses: list[Any], key: str
) -> OutgoingMessage:
    """Build the late report or the completion notice of a phase for the coordinator, LANO and director."""
    p = ctx.config.partnership
    roles = p.roles
    recipients = dict.fromkeys(
        p.person(pid).email for pid in (roles.coordinator, roles.lano, roles.director_final_check)
    )
    return compose(
        ctx,
        kind,
        key=key,
        sender_inbox="comms",
        to=list(recipients),
        inspection_id=inspection_id,
        phase_label=phase_label(phase),
        items=statuses,
        open_items=[s for s in statuses if s.outcome is None],
        step_label=step_label,
        outbox_url=f"{ctx.base_url}/outbox",
    )
