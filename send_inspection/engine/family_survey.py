"""The family survey beyond its lists: the forum's email to cascade, and the reminder before the surveys close.

Once the inspectors' links are given, the parent carer forum is sent the family survey written for it to forward
to its members. If the partnership turned the reminder on (partnership.yaml survey_reminder), the family and
children's survey lists get a reminder `before` the surveys close (the inspectors' own close time when they gave
one), in Bcc batches like the surveys, and the forum a reminder to cascade. A reminder due in quiet hours goes at
the last working time before them; one that could only go after the close is not sent.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from send_inspection.calendar import WorkingCalendar, london_time, to_london
from send_inspection.catalogue.phases import NOTIFICATION
from send_inspection.config.models import QuietHours, parse_clock_time
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import milestone_at
from send_inspection.engine.mail_retry import MailFailures
from send_inspection.engine.notification import SLEEP_AT_MOST, SurveyLinks, _survey_lists
from send_inspection.engine.outgoing import compose, send_notice, when
from send_inspection.engine.passes import PassResult, pass_result
from send_inspection.engine.phase_rows import claim_pass
from send_inspection.mail.distribution import (
    Batch,
    DistributionChangedError,
    DistributionLimits,
    plan_distribution,
    send_distribution,
    started_at,
    wait_on,
)
from send_inspection.mail.message import OutgoingMessage

PHASE = NOTIFICATION.key
# The surveys families answer: the reminder goes to these lists (the practitioners' survey is the staff's).
FAMILY_AUDIENCES = ("parents_carers", "children_young_people")


def last_allowed(moment: datetime, *, quiet: QuietHours, calendar: WorkingCalendar) -> datetime:
    """Return `moment`, or the last time before it out of quiet hours (a weekend: the working day before)."""
    start, end = parse_clock_time(quiet.start), parse_clock_time(quiet.end)
    local = to_london(moment)
    day, clock = local.date(), local.time()
    last = (datetime.combine(day, start) - timedelta(minutes=1)).time()
    if clock < end:
        day, clock = day - timedelta(days=1), last
    elif clock >= start:
        clock = last
    while quiet.non_working_days and not calendar.is_working_day(day):
        day -= timedelta(days=1)
    return london_time(day, clock)


def reminder_at(ctx: EngineContext, inspection_id: str) -> datetime | None:
    """Return when families are reminded of the surveys (None: the partnership has not turned it on)."""
    rules = ctx.config.partnership.survey_reminder
    if not rules.send:
        return None
    closes = milestone_at(ctx, inspection_id, "surveys_close")
    return last_allowed(closes - rules.before, quiet=ctx.config.timeline.chasing.quiet_hours,
                        calendar=ctx.calendar)


def _forum_email(ctx: EngineContext, inspection_id: str, links: SurveyLinks, *, reminder: bool, now: datetime,
                 mail: MailFailures) -> int:
    """Send the forum the family survey written for it to cascade (or the reminder to cascade), once."""
    forum = ctx.config.partnership.parent_carer_forum
    if forum is None or links.parents_carers is None:
        return 0
    key = f"{inspection_id}:{PHASE}:survey-forum" + (":reminder" if reminder else "")
    closes = milestone_at(ctx, inspection_id, "surveys_close")
    with mail.guard(key):
        return send_notice(ctx, inspection_id, key, "survey_forum", to=[forum.address], now=now,
                           sender_inbox="logistics", forum=forum.name, reminder=reminder,
                           parents_link=str(links.parents_carers),
                           young_people_link=str(links.children_young_people), closes=when(closes))
    return 0


def _send_reminders(ctx: EngineContext, inspection_id: str, links: SurveyLinks, *, mail: MailFailures
                    ) -> tuple[int, datetime | None, bool]:
    """Send the reminder batches now due; return how many went, when the next may go, and whether all went."""
    audiences = [a for a in FAMILY_AUDIENCES if getattr(links, a) is not None]
    rules = ctx.config.partnership.survey_distribution
    limits = DistributionLimits(max_recipients_per_message=rules.max_recipients_per_message,
                                messages_per_minute=rules.messages_per_minute,
                                recipients_per_day=rules.recipients_per_day)
    key = f"{inspection_id}:{PHASE}:survey-reminder"
    closes = milestone_at(ctx, inspection_id, "surveys_close")
    plan = plan_distribution(_survey_lists(ctx, audiences),
                             mailboxes=rules.mailboxes or [ctx.config.partnership.inboxes.logistics.address],
                             limits=limits, start=started_at(ctx.session, key) or ctx.clock.now(), deadline=closes,
                             allowed=lambda due: ctx.send_window.may_send_at("survey_reminder", due))
    lists = ctx.config.partnership.survey_lists

    def message(batch: Batch, batch_key: str) -> OutgoingMessage:
        built = compose(ctx, "survey_reminder", key=batch_key, sender_inbox="logistics", to=(),
                        bcc=batch.recipients, list_name=getattr(lists, batch.part).name, audience=batch.part,
                        link=str(getattr(links, batch.part)), closes=when(closes))
        return replace(built, sender=batch.mailbox)

    try:
        progress = send_distribution(plan, key=key, inspection_id=inspection_id, template="survey_reminder",
                                     message_for_batch=message, transport_for_mailbox=lambda _mailbox: ctx.transport,
                                     sessions=ctx.session, clock=ctx.clock, sleep=wait_on(ctx.clock),
                                     wait_at_most=SLEEP_AT_MOST)
    except DistributionChangedError as exc:
        mail.failures.append(f"{key}: {exc}")
        return 0, None, True  # the lists changed after the reminder began: reported, not tried again
    if progress.failed:
        mail.failures.append(f"{key}: {progress.stopped or 'stopped'}")
        mail.retry = True
    return len(progress.sent_now), progress.next_at, progress.finished


def family_survey_pass(ctx: EngineContext, inspection_id: str) -> PassResult:
    """Send the forum its survey email, and the reminder when it is due; say when to go on."""
    now = ctx.clock.now()
    with ctx.session() as session:
        claim_pass(session, inspection_id, PHASE, now=now)
        inspection = session.get(m.Inspection, inspection_id)
        assert inspection is not None and inspection.survey_links, inspection_id
        links = SurveyLinks.model_validate(inspection.survey_links)
    mail = MailFailures(ctx.mail_retry)
    sent = _forum_email(ctx, inspection_id, links, reminder=False, now=now, mail=mail)
    remind = reminder_at(ctx, inspection_id)
    closes = milestone_at(ctx, inspection_id, "surveys_close")
    wake_times: list[datetime] = []
    if remind is None or remind >= closes or now >= closes:
        finished, reason = True, "surveys sent; no reminder to families" + (
            "" if remind is None else " (it could only have gone after the surveys close)")
    elif now < remind:
        wake_times.append(remind)
        finished, reason = False, f"Surveys sent; reminding families at {to_london(remind):%a %d %b %H:%M}"
    else:
        sent += _forum_email(ctx, inspection_id, links, reminder=True, now=now, mail=mail)
        went, next_at, finished = _send_reminders(ctx, inspection_id, links, mail=mail)
        sent += went
        if next_at is not None:
            wake_times.append(next_at)
        reason = "surveys sent and families reminded" if finished else "Reminding families of the surveys"
    return pass_result(inspection_id, PHASE, finished=finished, sent=sent, reason=reason, statuses=[], mail=mail,
                       wake_times=wake_times, now=now)
