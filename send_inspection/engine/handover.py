"""Hand an item to a new owner for this inspection, or give someone a fresh link: the old link stops working."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from send_inspection.calendar import to_london
from send_inspection.catalogue.steps import step_label
from send_inspection.config.models import parse_duration
from send_inspection.db import models as m
from send_inspection.engine.chasing import Chase
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import milestones, people
from send_inspection.engine.outgoing import action_message
from send_inspection.engine.owners import owner_field, step_owner
from send_inspection.mail.ledger import MailDeferred
from send_inspection.mail.transport import MailTransportError
from send_inspection.tokens import hash_token, mint_token, revoke_tokens

# The owners of an item a coordinator can change, as the form names them.
OWNER_FIELDS = {"evidence_lead": "evidence lead", "accountable_lead": "accountable lead"}


class HandoverRefused(ValueError):
    """The change cannot be made; the message names the field at fault. Nothing was changed or sent."""


@dataclass(frozen=True)
class Handover:
    """What changed: the item, which owner, from whom to whom, and whether the open step moved to them now."""

    ref: str
    field: str
    before: str
    after: str
    asked_now: bool


@dataclass(frozen=True)
class FreshLink:
    """A fresh link sent: to whom, for which item and step, under which ledger key, and how many links it replaced."""

    ref: str
    step: str
    person_key: str
    key: str
    replaced: int


def open_item(session: Session, inspection_id: str, ref: str) -> m.RegisterItem:
    """Return the item `ref` of the inspection if it is still open; refuse otherwise."""
    item = session.scalars(select(m.RegisterItem).where(m.RegisterItem.inspection_id == inspection_id,
                                                        m.RegisterItem.ref == ref)).first()
    if item is None:
        raise HandoverRefused(f"item: {ref!r} is not an item of this inspection")
    if item.outcome is not None:
        raise HandoverRefused(f"item: {ref} is finished ({item.outcome}); nothing is asked of anyone")
    return item


def change_owner(ctx: EngineContext, inspection_id: str, ref: str, field: str, new_owner: str) -> Handover:
    """Make `new_owner` the item's evidence lead or accountable lead for this inspection.

    If that owner answers the open step, the step starts again with the new owner: their ask goes at the phase's
    next pass, and the links of the one before stop working.
    """
    if field not in OWNER_FIELDS:
        raise HandoverRefused(f"owner: choose one of {', '.join(OWNER_FIELDS.values())}")
    now = ctx.clock.now()
    with ctx.session() as session:
        item = open_item(session, inspection_id, ref)
        staff = people(session, inspection_id)
        if new_owner not in staff:
            raise HandoverRefused(f"person: {new_owner!r} is not one of this inspection's people")
        before = str(getattr(item, field))
        if before == new_owner:
            raise HandoverRefused(f"person: {staff[new_owner].name} is already the {OWNER_FIELDS[field]} of {ref}")
        setattr(item, field, new_owner)
        asked_now = owner_field(item.step) == field
        if asked_now:
            revoke_tokens(session, item.id, step=item.step, round_no=item.round, now=now)
            item.handovers += 1
            item.step_started_at = now
            _flag_phase(session, item, now=now)
        session.commit()
    return Handover(ref=ref, field=field, before=before, after=new_owner, asked_now=asked_now)


def send_fresh_link(ctx: EngineContext, inspection_id: str, ref: str, person_key: str) -> FreshLink:
    """Email a person a new link to the item's open step; their earlier links to it stop working once it went."""
    now = ctx.clock.now()
    with ctx.session() as session:
        item = open_item(session, inspection_id, ref)
        staff = people(session, inspection_id)
        if person_key not in staff:
            raise HandoverRefused(f"person: {person_key!r} is not one of this inspection's people")
        issued = session.scalar(select(func.count()).select_from(m.ActionToken).where(
            m.ActionToken.item_id == item.id, m.ActionToken.step == item.step, m.ActionToken.round == item.round,
            m.ActionToken.person_key == person_key)) or 0
        if not issued and person_key != step_owner(ctx, item):
            raise HandoverRefused(f"person: {staff[person_key].name} has not been asked for the "
                                  f"{step_label(item.step)} step of {ref}")
        deadline = milestones(session, inspection_id)[item.deadlines[item.step]]
    key = f"{inspection_id}:{item.phase}:{ref}:{item.step}:r{item.round}:fresh-{issued + 1}:{person_key}"
    grace = parse_duration(ctx.config.timeline.token_valid_after_deadline)
    minted: list[str] = []

    def build():  # noqa: ANN202 - called once the ledger claimed the key
        with ctx.session() as session:
            raw = mint_token(session, inspection_id, person_key, item_id=item.id, step=item.step,
                             round_no=item.round, now=now, expires_at=max(deadline, now) + grace)
            session.commit()
        minted.append(raw)
        return action_message(ctx, item, chase=Chase("fresh-link", now, person_key), person=staff[person_key],
                              staff=staff, key=key, token=raw, deadline=deadline, returned_comment=None)

    try:
        # An ask like any other: in the quiet hours it goes only if its deadline falls before they end.
        ctx.ledger.send_once(key, build, inspection_id=inspection_id, template="action-fresh-link", now=now,
                             deadline=deadline)
    except MailDeferred as held:
        raise HandoverRefused(f"it is the quiet hours: nothing was sent, and the earlier link still works; a fresh "
                              f"link may go from {to_london(held.until):%a %d %b %H:%M}") from held
    except MailTransportError as exc:
        with ctx.session() as session:  # the new link never reached them: it must not work; the old one still does
            for token in session.scalars(select(m.ActionToken).where(
                    m.ActionToken.token_hash.in_([hash_token(raw) for raw in minted]))):
                token.revoked_at = now
            session.commit()
        raise HandoverRefused(f"the email could not be sent ({exc}); the earlier link still works") from exc
    if not minted:
        raise HandoverRefused("a fresh link to this person is being sent already; look again in a minute")
    with ctx.session() as session:
        replaced = revoke_tokens(session, item.id, step=item.step, round_no=item.round, now=now,
                                 person_key=person_key, keep=tuple(minted))
        session.commit()
    return FreshLink(ref=ref, step=item.step, person_key=person_key, key=key, replaced=replaced)


def _flag_phase(session: Session, item: m.RegisterItem, *, now) -> None:  # noqa: ANN001
    run = session.scalars(select(m.PhaseRun).where(m.PhaseRun.inspection_id == item.inspection_id,
                                                   m.PhaseRun.phase == item.phase)).first()
    if run is not None:
        run.changes += 1
        run.updated_at = now
