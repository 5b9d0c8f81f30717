"""Day 1: tell the notification lists, call the core group, send the surveys, forward the health template."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from pydantic import BaseModel, Field, HttpUrl

from send_inspection.calendar import london_time, to_london
from send_inspection.config.models import CoreGroupMeeting, parse_clock_time
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.outgoing import compose, when
from send_inspection.mail.invite import meeting_invite


class SurveyLinks(BaseModel):
    """The three survey links the inspectors give on day 1, and the CQC health structure template."""

    children_young_people: HttpUrl = Field(description="Survey link for children and young people")
    parents_carers: HttpUrl | None = Field(
        default=None, description="Survey link for parents and carers (none in a monitoring inspection)")
    practitioners: HttpUrl = Field(description="Survey link for practitioners")
    health_template: HttpUrl | None = Field(
        default=None, description="Where the CQC health structure template is kept (a shared-drive link)"
    )


def core_meeting_slot(notified_at: datetime, rules: CoreGroupMeeting, *, calendar) -> datetime:  # noqa: ANN001
    """Return the start of the core group meeting: the preferred time on day 1, else the next sensible slot."""
    local = to_london(notified_at)
    day = calendar.next_working_day(local.date())
    earliest = max(local, london_time(day, time(0, 0))) + timedelta(minutes=rules.min_notice_minutes)
    preferred = london_time(day, parse_clock_time(rules.preferred))
    if earliest <= preferred:
        return preferred
    step = rules.slot_minutes
    minutes = earliest.hour * 60 + earliest.minute + (1 if earliest.second or earliest.microsecond else 0)
    rounded = -(-minutes // step) * step
    if earliest.date() == day and rounded < 24 * 60:
        candidate = london_time(day, time(rounded // 60, rounded % 60))
        if candidate <= london_time(day, parse_clock_time(rules.latest_start)):
            return candidate
    return london_time(calendar.add_working_days(day, 1), parse_clock_time(rules.next_day_start))


def send_notifications(ctx: EngineContext, inspection_id: str) -> int:
    """Email every notification list and invite the core group; return how many emails went now."""
    cfg = ctx.config.partnership
    now = ctx.clock.now()
    with ctx.session() as session:
        inspection = session.get(m.Inspection, inspection_id)
        assert inspection is not None, inspection_id
        notified_at = inspection.notified_at
    sent = 0
    slot = core_meeting_slot(notified_at, ctx.config.timeline.core_group_meeting, calendar=ctx.calendar)
    for lst in cfg.notification_lists:
        key = f"{inspection_id}:notification:list:{lst.id}"
        addresses = [cfg.person(pid).email for pid in lst.members] + list(lst.addresses)

        def build(key: str = key, lst=lst, addresses=addresses):  # noqa: ANN001, ANN202
            return compose(
                ctx, "notification", key=key, sender_inbox="comms",
                to=[cfg.inboxes.comms.address], bcc=list(dict.fromkeys(addresses)),
                list_name=lst.name, notified=when(notified_at),
            )

        sent += ctx.ledger.send_once(key, build, inspection_id=inspection_id, template="notification", now=now)
    rules = ctx.config.timeline.core_group_meeting
    core = [cfg.person(pid) for pid in cfg.core_group]
    key = f"{inspection_id}:notification:core-group-meeting"

    def build_invite():  # noqa: ANN202
        end = slot + timedelta(minutes=rules.duration_minutes)
        invite = meeting_invite(
            key, slot, end,
            summary="SEND inspection: core group meeting", location=rules.location,
            description="First meeting of the core group: sites, roles and the frequency of KIT meetings.",
            organizer=cfg.inboxes.logistics.address, attendees=[p.email for p in core], stamp=now,
        )
        return compose(
            ctx, "core_meeting", key=key, sender_inbox="logistics", to=[p.email for p in core],
            attachments=(invite,), start=when(slot), location=rules.location,
        )

    sent += ctx.ledger.send_once(key, build_invite, inspection_id=inspection_id, template="core_meeting", now=now)
    return sent


def send_surveys(ctx: EngineContext, inspection_id: str, links: SurveyLinks) -> int:
    """Send each survey link to its pre-prepared list and forward the health template; return emails sent."""
    cfg = ctx.config.partnership
    now = ctx.clock.now()
    with ctx.session() as session:
        inspection = session.get(m.Inspection, inspection_id)
        assert inspection is not None, inspection_id
        inspection.survey_links = {k: str(v) for k, v in links.model_dump().items() if v is not None}
        closes = session.query(m.Milestone).filter_by(inspection_id=inspection_id, name="surveys_close").one().due_at
        monitoring = inspection.kind == "monitoring"
        session.commit()
    sent = 0
    for audience, lst in (
        ("children_young_people", cfg.survey_lists.children_young_people),
        ("parents_carers", cfg.survey_lists.parents_carers),
        ("practitioners", cfg.survey_lists.practitioners),
    ):
        if monitoring and audience == "parents_carers":
            continue  # a monitoring inspection has no family survey
        if getattr(links, audience) is None:
            raise ValueError(f"survey links: {audience} is missing (a full inspection has all three surveys)")
        key = f"{inspection_id}:notification:survey:{audience}"
        addresses = [cfg.person(pid).email for pid in lst.members] + list(lst.addresses)

        def build(key: str = key, lst=lst, addresses=addresses, audience: str = audience):  # noqa: ANN001, ANN202
            return compose(
                ctx, "survey", key=key, sender_inbox="logistics", to=[cfg.inboxes.logistics.address],
                bcc=list(dict.fromkeys(addresses)), list_name=lst.name, audience=audience,
                link=str(getattr(links, audience)), closes=when(closes),
            )

        sent += ctx.ledger.send_once(key, build, inspection_id=inspection_id, template="survey", now=now)
    if links.health_template is not None:
        key = f"{inspection_id}:notification:health-template"
        contacts = [cfg.person(pid) for pid in cfg.health_template_contacts]
        with ctx.session() as session:
            due = session.query(m.Milestone).filter_by(inspection_id=inspection_id, name="health_template_due").one()
            due_at = due.due_at

        def build_health():  # noqa: ANN202
            return compose(
                ctx, "health_template", key=key, sender_inbox="evidence", to=[p.email for p in contacts],
                link=str(links.health_template), due=when(due_at),
                signer=cfg.person(cfg.roles.icb_exec_lead).name,
            )

        sent += ctx.ledger.send_once(key, build_health, inspection_id=inspection_id, template="health_template",
                                     now=now)
    return sent


def record_survey_links(ctx: EngineContext, inspection_id: str, links: SurveyLinks) -> None:
    """Store the survey links the coordinator gave and flag the notification phase to go on."""
    from sqlalchemy import select

    with ctx.session() as session:
        inspection = session.get(m.Inspection, inspection_id)
        if inspection is None:
            raise KeyError(f"no inspection {inspection_id!r}")
        inspection.survey_links = {k: str(v) for k, v in links.model_dump().items() if v is not None}
        run = session.scalars(
            select(m.PhaseRun).where(m.PhaseRun.inspection_id == inspection_id, m.PhaseRun.phase == "notification")
        ).first()
        if run is not None:
            run.changes += 1
        session.commit()
