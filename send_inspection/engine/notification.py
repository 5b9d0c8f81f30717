"""Day 1: tell the notification lists, call the core group, send the surveys, forward the health template.

The notification phase runs in passes like every other: `day_one_pass` sends the notification emails and the core
group meeting (an Outlook meeting request when mail goes through Exchange), and once the inspectors' links are given
`survey_pass` sends the surveys, each list in Bcc batches spread over the configured mailboxes within their sending
limits (`send_inspection.mail.distribution`). A pass that could not send everything says when to go on: when
a mail failure that may pass is tried again (`engine.mail_retry`), or when the next batch may go. Every email is
keyed in the ledger (the meeting in ews_meetings), so the passes, which run again from the top after every wait,
send nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, time, timedelta

from pydantic import BaseModel, Field, HttpUrl, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from send_inspection.calendar import LONDON, london_time, to_london
from send_inspection.catalogue.phases import NOTIFICATION
from send_inspection.config.models import CoreGroupMeeting, parse_clock_time
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.mail_retry import MailFailures
from send_inspection.engine.outgoing import compose, joined_names, when
from send_inspection.engine.passes import PassResult, pass_result
from send_inspection.engine.phase_rows import claim_pass, ensure_phase, note_news
from send_inspection.mail.distribution import (
    Batch,
    DistributionChangedError,
    DistributionLimits,
    DistributionPlan,
    DistributionProgress,
    plan_distribution,
    read_progress,
    send_distribution,
    started_at,
    wait_on,
)
from send_inspection.mail.invite import meeting_invite
from send_inspection.mail.ledger import STALE_CLAIM
from send_inspection.mail.meetings import Meeting, request_meeting
from send_inspection.mail.message import OutgoingMessage
from send_inspection.mail.transports import meetings_for

log = logging.getLogger(__name__)

PHASE = NOTIFICATION.key
SURVEY_AUDIENCES = ("children_young_people", "parents_carers", "practitioners")
CORE_MEETING_SUBJECT = "SEND inspection: core group meeting"
# The guidance: "Individuals involved in the inspection should cancel and send apologies to any meetings scheduled
# within the next 3 weeks"; the first meeting decides where managers are based and how often the KIT meetings are.
CORE_MEETING_TEXT = (
    "First meeting of the core group: which managers are based at which sites, roles, and how often the "
    "keeping-in-touch (KIT) meetings happen. Before it, please cancel, and send your apologies to, any meetings in "
    "the next three weeks that are not about the inspection, so that you have the time it needs.")
# A wait this short between two survey batches (a mailbox's 2 s between messages) is waited out in the pass;
# a longer one (a mailbox's day limit) ends the pass, and the phase waits without a process until then.
SLEEP_AT_MOST = timedelta(minutes=1)
# Another process holds the claim on the meeting or on a survey batch: look again once that claim would be stale.
LOOK_AGAIN_AFTER = STALE_CLAIM


class LinksNotTaken(RuntimeError):
    """The survey links are recorded, but the notification run did not take them (not yet suspended)."""


class SurveyLinks(BaseModel):
    """The three survey links the inspectors give on day 1, and the CQC health structure template."""

    children_young_people: HttpUrl = Field(description="Survey link for children and young people")
    parents_carers: HttpUrl | None = Field(
        default=None, description="Survey link for parents and carers (none in a monitoring inspection)")
    practitioners: HttpUrl = Field(description="Survey link for practitioners")
    health_template: HttpUrl | None = Field(
        default=None, description="Where the CQC health structure template is kept (a shared-drive link)"
    )
    closes_at: datetime | None = Field(
        default=None, description="When the surveys close, if the inspectors gave a time (London time); it replaces "
                                  "the default close in every deadline and email")

    @field_validator("closes_at")
    @classmethod
    def _london(cls, value: datetime | None) -> datetime | None:
        return value.replace(tzinfo=LONDON) if value is not None and value.tzinfo is None else value

    def given(self) -> dict[str, str]:
        """Return the links given, by audience (as the inspection keeps them)."""
        return {k: str(v) for k, v in self.model_dump(exclude={"closes_at"}).items() if v is not None}


def apply_survey_close(session: Session, inspection: m.Inspection, closes_at: datetime | None) -> None:
    """Make the inspectors' own close time the inspection's `surveys_close`, if they gave one after the call."""
    if closes_at is None:
        return
    if closes_at <= inspection.notified_at:
        raise ValueError("closes_at: the surveys cannot close before the inspectors' call")
    milestone = session.scalars(select(m.Milestone).where(m.Milestone.inspection_id == inspection.id,
                                                          m.Milestone.name == "surveys_close")).one()
    milestone.due_at = closes_at


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


def core_meeting_times(ctx: EngineContext, inspection_id: str) -> tuple[datetime, datetime]:
    """Return the start and end of the inspection's core group meeting."""
    with ctx.session() as session:
        inspection = session.get(m.Inspection, inspection_id)
        assert inspection is not None, inspection_id
        notified_at = inspection.notified_at
    rules = ctx.config.timeline.core_group_meeting
    start = core_meeting_slot(notified_at, rules, calendar=ctx.calendar)
    return start, start + timedelta(minutes=rules.duration_minutes)


def send_notifications(ctx: EngineContext, inspection_id: str, *, mail: MailFailures) -> tuple[int, bool]:
    """Email every notification list and invite the core group, noting failures in `mail`.

    Return how many went now, and False while another process is creating the meeting (look again later).
    With mail through Exchange (EWS) the invitation is a real Outlook meeting request from the logistics inbox's
    calendar, found again by its key however often this runs; otherwise an email with an .ics invitation.
    """
    cfg = ctx.config.partnership
    now = ctx.clock.now()
    with ctx.session() as session:
        notified_at = session.get(m.Inspection, inspection_id).notified_at  # type: ignore[union-attr]
    sent = 0
    for lst in cfg.notification_lists:
        key = f"{inspection_id}:{PHASE}:list:{lst.id}"
        addresses = [cfg.person(pid).email for pid in lst.members] + list(lst.addresses)

        def build(key: str = key, lst=lst, addresses=addresses):  # noqa: ANN001, ANN202
            return compose(
                ctx, "notification", key=key, sender_inbox="comms",
                to=[cfg.inboxes.comms.address], bcc=list(dict.fromkeys(addresses)),
                list_name=lst.name, notified=when(notified_at), cascade=lst.cascade,
            )

        with mail.guard(key):
            sent += ctx.ledger.send_once(key, build, inspection_id=inspection_id, template="notification", now=now)
    key = f"{inspection_id}:{PHASE}:core-group-meeting"
    went: bool | None = False
    with mail.guard(key):
        went = _invite_core_group(ctx, inspection_id, key, now=now)
        sent += int(bool(went))
    return sent, went is not None


def _invite_core_group(ctx: EngineContext, inspection_id: str, key: str, *, now: datetime) -> bool | None:
    """Invite the core group once; return whether it went now, None while another process is creating it."""
    cfg = ctx.config.partnership
    rules = ctx.config.timeline.core_group_meeting
    start, end = core_meeting_times(ctx, inspection_id)
    attendees = tuple(cfg.person(pid).email for pid in cfg.core_group)
    meetings = meetings_for(ctx.transport, ctx.session,
                            allowed=lambda due: ctx.send_window.may_send_at("core_meeting", due))
    if meetings is not None and not ctx.ledger.already_sent(key):  # an Outlook meeting, unless invited by email
        meeting = Meeting(key=key, organiser=cfg.inboxes.logistics.address, subject=CORE_MEETING_SUBJECT,
                          body=CORE_MEETING_TEXT, location=rules.location, start=start, end=end, attendees=attendees)
        return request_meeting(meetings, meeting, now=now)

    def build_invite():  # noqa: ANN202
        invite = meeting_invite(
            key, start, end, summary=CORE_MEETING_SUBJECT, location=rules.location, description=CORE_MEETING_TEXT,
            organizer=cfg.inboxes.logistics.address, attendees=attendees, stamp=now,
        )
        return compose(
            ctx, "core_meeting", key=key, sender_inbox="logistics", to=attendees,
            attachments=(invite,), start=when(start), location=rules.location,
        )

    return ctx.ledger.send_once(key, build_invite, inspection_id=inspection_id, template="core_meeting", now=now)


def day_one_pass(ctx: EngineContext, inspection_id: str) -> PassResult:
    """Send the day-1 emails and the core group meeting; say whether all went and, if not, when to try again."""
    now = ctx.clock.now()
    ensure_phase(ctx, inspection_id, PHASE)
    with ctx.session() as session:
        claim_pass(session, inspection_id, PHASE, now=now)
    mail = MailFailures(ctx.mail_retry)
    sent, settled = send_notifications(ctx, inspection_id, mail=mail)
    # Done unless something is to be tried again (an address refused for good is reported, not retried).
    finished = settled and not mail.retry
    wake_times = [] if settled else [now + LOOK_AGAIN_AFTER]  # another process is creating the meeting
    reason = ("Day 1: the notification lists told and the core group invited" if finished
              else "Day 1: waiting to send the notification emails and the core group meeting")
    return pass_result(inspection_id, PHASE, finished=finished, sent=sent, reason=reason, statuses=[],
                       mail=mail, wake_times=wake_times, now=now)


def survey_key(inspection_id: str) -> str:
    """Return the key of the survey distribution: each list's batches are keyed under it by audience."""
    return f"{inspection_id}:{PHASE}:survey"


def _survey_lists(ctx: EngineContext, audiences: list[str]) -> dict[str, list[str]]:
    """Return the addresses of each audience's survey list, staff members first."""
    cfg = ctx.config.partnership
    lists = {}
    for audience in audiences:
        lst = getattr(cfg.survey_lists, audience)
        lists[audience] = [cfg.person(pid).email for pid in lst.members] + list(lst.addresses)
    return lists


def survey_plan(ctx: EngineContext, inspection_id: str) -> DistributionPlan | None:
    """Plan the survey emails of an inspection whose links were given (None before): batches, mailboxes, times.

    The plan starts when its first batch was first tried (now, before that), so every pass plans the same batches
    at the same times, and a batch that waits for a mailbox's day limit is not pushed back by each new pass. No
    batch is timed in the quiet hours (unless the partnership marks the surveys urgent).
    """
    with ctx.session() as session:
        inspection = session.get(m.Inspection, inspection_id)
        links = (inspection.survey_links or {}) if inspection is not None else {}
        closes = session.scalar(select(m.Milestone.due_at).where(m.Milestone.inspection_id == inspection_id,
                                                                 m.Milestone.name == "surveys_close"))
    audiences = [audience for audience in SURVEY_AUDIENCES if links.get(audience)]
    if not audiences:
        return None
    rules = ctx.config.partnership.survey_distribution
    limits = DistributionLimits(max_recipients_per_message=rules.max_recipients_per_message,
                                messages_per_minute=rules.messages_per_minute,
                                recipients_per_day=rules.recipients_per_day)
    key = survey_key(inspection_id)
    start = started_at(ctx.session, key) or ctx.clock.now()
    mailboxes = rules.mailboxes or [ctx.config.partnership.inboxes.logistics.address]
    return plan_distribution(_survey_lists(ctx, audiences), mailboxes=mailboxes, limits=limits, start=start,
                             deadline=closes, allowed=lambda due: ctx.send_window.may_send_at("survey", due))


def survey_markdown(plan: DistributionPlan, progress: DistributionProgress | None = None) -> str:
    """Return the surveys' plan, and where the sending stands, as Markdown for operators (counts and mailboxes)."""
    text = "# Survey emails\n\n## Plan\n\n" + "\n".join(
        line if line.startswith("- ") else f"{line}  " for line in plan.describe().splitlines())
    text += f"\n\nMailboxes: {', '.join(plan.mailboxes_used) or 'none needed'}."
    if progress is not None:
        text += f"\n\n## Progress\n\n{progress.markdown(plan)}"
    return text + "\n"


def survey_overview(ctx: EngineContext, inspection_id: str) -> list[str]:
    """Return the surveys' plan and progress as lines for the status command (nothing before the links are given)."""
    plan = survey_plan(ctx, inspection_id)
    if plan is None:
        return []
    progress = read_progress(plan, key=survey_key(inspection_id), sessions=ctx.session)
    first, *more = plan.describe().splitlines()
    return [f"surveys: {first}", *(f"  {line}" for line in more), f"surveys sent: {progress.line()}"]


def _no_show(_value: object) -> None:
    """Show nothing (a pass run outside Prefect)."""


def survey_pass(
    ctx: EngineContext,
    inspection_id: str,
    links: SurveyLinks,
    *,
    show_plan: Callable[[str], None] = _no_show,
    show_progress: Callable[[DistributionProgress], None] = _no_show,
) -> PassResult:
    """Send the survey batches now due and the health template; say how far the sending is and when to go on.

    Before anything is sent the plan is handed to `show_plan` (Markdown) and logged in counts; `show_progress`
    gets the progress before the first batch and after each one. Waits of up to SLEEP_AT_MOST between batches
    are slept; a longer one (a mailbox's day limit) ends the pass, which says when the next batch may go.
    """
    now = ctx.clock.now()
    with ctx.session() as session:
        inspection = session.get(m.Inspection, inspection_id)
        assert inspection is not None, inspection_id
        monitoring = inspection.kind == "monitoring"
        for audience in SURVEY_AUDIENCES:
            if getattr(links, audience) is None and not (monitoring and audience == "parents_carers"):
                raise ValueError(f"survey links: {audience} is missing (a full inspection has all three surveys)")
        given = links.given()
        apply_survey_close(session, inspection, links.closes_at)
        if monitoring:
            given.pop("parents_carers", None)  # a monitoring inspection has no family survey
        inspection.survey_links = given
        session.commit()
    plan = survey_plan(ctx, inspection_id)
    assert plan is not None
    key = survey_key(inspection_id)
    show_plan(survey_markdown(plan))
    log.info("surveys %s: %d recipients in %d messages, sent from %d mailbox(es), the last %s; %s", inspection_id,
             plan.recipients, plan.messages, len(plan.mailboxes_used), to_london(plan.finish).isoformat(),
             "OK before the surveys close" if plan.fits else "NOT finished before the surveys close")
    show_progress(read_progress(plan, key=key, sessions=ctx.session))
    mail = MailFailures(ctx.mail_retry)
    wake_times: list[datetime] = []
    progress = _send_batches(ctx, inspection_id, plan, links, mail=mail, show_progress=show_progress)
    if progress is not None and progress.next_at is not None:
        wake_times.append(progress.next_at)
    if progress is not None and progress.retry and not progress.failed:
        wake_times.append(now + LOOK_AGAIN_AFTER)  # another run holds a batch
    template_sent = _send_health_template(ctx, inspection_id, links, mail=mail, now=ctx.clock.now())
    # Done when every batch was sent or refused, unless an email is to be tried again (pass_result sees to that).
    finished = progress is not None and progress.finished
    state = progress.line() if progress is not None else "stopped: the lists changed after sending started"
    if finished:
        reason = f"notified, core group invited, surveys sent ({state})"
    else:
        reason = f"Surveys: {state}" + ("" if plan.fits else f". {plan.warning}")
    if progress is not None:
        show_plan(survey_markdown(plan, progress))
        log.info("surveys %s: %s", inspection_id, state)
    sent = len(progress.sent_now) if progress is not None else 0
    return pass_result(inspection_id, PHASE, finished=finished, sent=sent + template_sent, reason=reason,
                       statuses=[], mail=mail, wake_times=wake_times, now=now)


def _send_batches(ctx: EngineContext, inspection_id: str, plan: DistributionPlan, links: SurveyLinks, *,
                  mail: MailFailures, show_progress: Callable[[DistributionProgress], None]
                  ) -> DistributionProgress | None:
    """Send the survey batches now due, noting failures in `mail`; None if the lists changed after sending began."""
    cfg = ctx.config.partnership
    key = survey_key(inspection_id)
    with ctx.session() as session:
        closes = session.scalar(select(m.Milestone.due_at).where(m.Milestone.inspection_id == inspection_id,
                                                                 m.Milestone.name == "surveys_close"))

    def message(batch: Batch, batch_key: str) -> OutgoingMessage:
        lst = getattr(cfg.survey_lists, batch.part)
        built = compose(ctx, "survey", key=batch_key, sender_inbox="logistics", to=(), bcc=batch.recipients,
                        list_name=lst.name, audience=batch.part, link=str(getattr(links, batch.part)),
                        closes=when(closes))
        return replace(built, sender=batch.mailbox)

    try:
        progress = send_distribution(plan, key=key, inspection_id=inspection_id, template="survey",
                                     message_for_batch=message, transport_for_mailbox=lambda _mailbox: ctx.transport,
                                     sessions=ctx.session, clock=ctx.clock, sleep=wait_on(ctx.clock),
                                     wait_at_most=SLEEP_AT_MOST, on_batch=show_progress)
    except DistributionChangedError as exc:
        _note_failure(mail, key, str(exc), retryable=False)
        return None
    if progress.failed:
        _note_failure(mail, key, progress.stopped or "stopped", retryable=True)
    for number, error in sorted(progress.refused.items()):
        _note_failure(mail, f"{key} batch {number}", error, retryable=False)
    return progress


def _note_failure(mail: MailFailures, key: str, text: str, *, retryable: bool) -> None:
    """Note a survey failure whose text was already stripped of addresses (MailFailures.guard would log them)."""
    mail.failures.append(f"{key}: {text}")
    mail.retry = mail.retry or retryable
    log.error("survey email %s not sent (%s): %s", key, "will retry" if retryable else "refused", text)


def _send_health_template(ctx: EngineContext, inspection_id: str, links: SurveyLinks, *, mail: MailFailures,
                          now: datetime) -> int:
    """Send the CQC health template's link to its contacts once, noting a failure in `mail`; return 1 if it went now."""
    if links.health_template is None:
        return 0
    cfg = ctx.config.partnership
    key = f"{inspection_id}:{PHASE}:health-template"
    contacts = [cfg.person(pid) for pid in cfg.health_template_contacts]
    with ctx.session() as session:
        due_at = session.scalar(select(m.Milestone.due_at).where(m.Milestone.inspection_id == inspection_id,
                                                                 m.Milestone.name == "health_template_due"))

    def build_health():  # noqa: ANN202
        return compose(
            ctx, "health_template", key=key, sender_inbox="evidence", to=[p.email for p in contacts],
            link=str(links.health_template), due=when(due_at), names=joined_names(p.name for p in contacts),
            signer=cfg.person(cfg.roles.icb_exec_lead).name,
        )

    sent = 0
    with mail.guard(key):
        sent = int(ctx.ledger.send_once(key, build_health, inspection_id=inspection_id, template="health_template",
                                        now=now))
    return sent


def send_surveys(ctx: EngineContext, inspection_id: str, links: SurveyLinks) -> int:
    """Send each survey list's batches now due and forward the health template; return how many emails went now."""
    return survey_pass(ctx, inspection_id, links).sent


def given_survey_links(ctx: EngineContext, inspection_id: str) -> SurveyLinks | None:
    """Return the survey links the coordinator gave for the inspection, if any yet."""
    with ctx.session() as session:
        inspection = session.get(m.Inspection, inspection_id)
        stored = inspection.survey_links if inspection else None
    return SurveyLinks.model_validate(stored) if stored else None


def record_survey_links(ctx: EngineContext, inspection_id: str, links: SurveyLinks) -> None:
    """Store the survey links the coordinator gave and flag the notification phase to go on."""
    with ctx.session() as session:
        inspection = session.get(m.Inspection, inspection_id)
        if inspection is None:
            raise KeyError(f"no inspection {inspection_id!r}")
        apply_survey_close(session, inspection, links.closes_at)
        inspection.survey_links = links.given()
        note_news(session, inspection_id, PHASE)
        session.commit()
