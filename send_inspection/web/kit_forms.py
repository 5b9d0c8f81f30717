"""Read the keeping-in-touch steps' forms, and give their pages what they show (the days, the members, the meetings).

The readers only check what was typed (send_inspection/kit/forms.py) and return it as the answer's details; the kit
phase acts on it (arranges the meetings, adds new people, opens the actions) on its next pass.
"""

from __future__ import annotations

from datetime import datetime
from itertools import groupby
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from send_inspection.calendar import to_london
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.decisions import FormAnswer
from send_inspection.engine.kit import offered_meetings
from send_inspection.engine.named_people import find_by_address
from send_inspection.kit.forms import OfferedMeeting, read_agreement, read_record, read_representatives

# Typed fields of these pages shown again when an answer is refused (besides those named by a prefix).
KIT_FIELDS = ("issues", "notes")
KIT_LISTS = ("kit_day",)
KIT_PREFIXES = ("base_", "rep_")


def _resolver(session: Session, inspection_id: str):  # noqa: ANN202 - a Resolve
    """Return a function finding the inspection's person by id or address."""
    keys = set(session.scalars(select(m.Person.person_key).where(m.Person.inspection_id == inspection_id)))

    def resolve(ref: str) -> str | None:
        if "@" in ref:
            return find_by_address(session, inspection_id, ref)
        return ref if ref in keys else None

    return resolve


def _members(ctx: EngineContext, session: Session, inspection_id: str) -> dict[str, m.Person]:
    rows = {p.person_key: p for p in session.scalars(select(m.Person).where(m.Person.inspection_id == inspection_id))}
    return {k: rows[k] for k in ctx.config.partnership.core_group if k in rows}


def _upcoming(ctx: EngineContext, session: Session, inspection_id: str, *, now: datetime) -> list[OfferedMeeting]:
    """Return the KIT meetings on the timetable still to start."""
    rows = session.scalars(select(m.FieldworkSlot).where(
        m.FieldworkSlot.inspection_id == inspection_id, m.FieldworkSlot.origin == "kit", ~m.FieldworkSlot.cancelled,
        m.FieldworkSlot.start_at > now).order_by(m.FieldworkSlot.start_at))
    return [OfferedMeeting(day=to_london(row.start_at).date(), slot_id=row.slot_id, start=row.start_at) for row in rows]


async def agreement_form(ctx: EngineContext, session: Session, form: FormData, item: m.RegisterItem,
                         token: m.ActionToken, *, now: datetime) -> FormAnswer:
    """Read the day-1 agreement: the KIT days ticked and each member's base."""
    members = _members(ctx, session, item.inspection_id)
    details = read_agreement([str(d) for d in form.getlist("kit_day")],
                             {k: str(form.get(f"base_{k}") or "") for k in members},
                             offered=offered_meetings(ctx, item.inspection_id),
                             members={k: p.name for k, p in members.items()}, now=now)
    days = details["days"]
    return FormAnswer(comment=f"{len(days)} KIT meeting(s) agreed; where {len(members)} managers are based",
                      details=details)


async def representatives_form(ctx: EngineContext, session: Session, form: FormData, item: m.RegisterItem,
                               token: m.ActionToken, *, now: datetime) -> FormAnswer:
    """Read the representatives a member names for the KIT meetings they cannot come to."""
    offered = _upcoming(ctx, session, item.inspection_id, now=now)
    details = read_representatives({o.slot_id: str(form.get(f"rep_{o.slot_id}") or "") for o in offered},
                                   offered=offered, member=token.person_key,
                                   resolve=_resolver(session, item.inspection_id))
    return FormAnswer(comment=f"representatives named for {len(details['representatives'])} meeting(s)",
                      details=details)


async def record_form(ctx: EngineContext, session: Session, form: FormData, item: m.RegisterItem,
                      token: m.ActionToken, *, now: datetime) -> FormAnswer:
    """Read a KIT meeting's record: the issues raised (each becomes an action) and the notes."""
    details = read_record(str(form.get("issues") or ""), str(form.get("notes") or ""), now=now,
                          resolve=_resolver(session, item.inspection_id))
    return FormAnswer(comment=f"{len(details['issues'])} issue(s) raised", details=details)


def agreement_page(ctx: EngineContext, session: Session, item: m.RegisterItem, *, now: datetime) -> dict[str, Any]:
    """Return what the agreement's page offers: the days by week, the defaults, the members and their base."""
    rules = ctx.config.timeline.keeping_in_touch
    offered = [o for o in offered_meetings(ctx, item.inspection_id) if o.start > now]
    weeks = []
    for _, group in groupby(offered, key=lambda o: o.day.isocalendar()[:2]):
        meetings = list(group)
        weeks.append((f"Week of {meetings[0].day:%d %B}", meetings))
    days = ("mon", "tue", "wed", "thu", "fri")
    return {"kit_weeks": weeks, "kit_default_days": {days.index(d) for d in rules.days}, "kit_time": rules.at,
            "kit_location": rules.location or "Teams", "default_base": rules.base,
            "members": [{"key": k, "name": p.name, "role": p.role}
                        for k, p in _members(ctx, session, item.inspection_id).items()]}


def representatives_page(ctx: EngineContext, session: Session, item: m.RegisterItem, *,
                         now: datetime) -> dict[str, Any]:
    """Return the KIT meetings still to come, for a member to name representatives."""
    return {"meetings": _upcoming(ctx, session, item.inspection_id, now=now),
            "comms_inbox": ctx.config.partnership.inboxes.comms.address}


# The page context of each form that needs one, by the name its step gives it.
PAGES = {"core-group-agreement": agreement_page, "kit-representatives": representatives_page}
# The readers of these forms, by name.
READERS = {"core-group-agreement": agreement_form, "kit-representatives": representatives_form,
           "kit-record": record_form}
