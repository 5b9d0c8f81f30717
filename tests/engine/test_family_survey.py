"""The survey close as the inspectors give it, the forum's email to cascade, and the reminder to families."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime

import pytest
from sqlalchemy import select

from send_inspection.calendar import LONDON
from send_inspection.config.models import QuietHours
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.family_survey import family_survey_pass, last_allowed, reminder_at
from send_inspection.engine.inspection import milestone_at, open_inspection
from send_inspection.engine.notification import SurveyLinks, record_survey_links, survey_pass
from send_inspection.mail.outbox import outbox_id_for, read_outbox_raw
from tests.conftest import NOTIFIED

# The forum's notice of the 2023 inspection: notified Monday 26 June, the survey "only open until 9am on 4 July".
HERTS_CLOSE = datetime(2023, 7, 4, 9, 0, tzinfo=LONDON)
LINKS = {"children_young_people": "https://surveys.example/cyp", "parents_carers": "https://surveys.example/pc",
         "practitioners": "https://surveys.example/pr"}


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """Return a London wall time in 2023."""
    return datetime(2023, month, day, hour, minute, tzinfo=LONDON)


def messages(ctx: EngineContext, template: str) -> list[email.message.EmailMessage]:
    """Return the messages of one template, parsed, in the order they went."""
    with ctx.session() as session:
        keys = list(session.scalars(select(m.EmailRecord.key).where(m.EmailRecord.template == template)
                                    .order_by(m.EmailRecord.id)))
    return [email.message_from_bytes(read_outbox_raw(ctx.transport.folder, outbox_id_for(k)),
                                     policy=email.policy.default) for k in keys]


@pytest.fixture
def iid(ctx: EngineContext) -> str:
    """Open the demo inspection, notified on Monday 26 June 2023 at 09:00."""
    return open_inspection(ctx, NOTIFIED, mode="rehearsal")


def test_the_inspectors_close_time_replaces_the_default_in_the_deadline_and_the_emails(ctx: EngineContext,
                                                                                       iid: str) -> None:
    """The default is day 6 at 09:00 (Mon 3 July); given 9am on 4 July with the links, that is the close everywhere."""
    assert milestone_at(ctx, iid, "surveys_close") == at(7, 3, 9)
    record_survey_links(ctx, iid, SurveyLinks(**LINKS, closes_at=datetime(2023, 7, 4, 9, 0)))  # London wall time
    assert milestone_at(ctx, iid, "surveys_close") == HERTS_CLOSE
    survey_pass(ctx, iid, SurveyLinks(**LINKS))
    families = next(x for x in messages(ctx, "survey") if "pc" in x.get_body(("plain",)).get_content())
    assert "closes Tuesday 4 July 2023, 09:00" in families["Subject"]


def test_a_close_time_given_in_the_prefect_form_is_applied_by_the_survey_pass(ctx: EngineContext, iid: str) -> None:
    """Links given through the Resume form reach the survey pass with their close time, which it applies."""
    survey_pass(ctx, iid, SurveyLinks(**LINKS, closes_at=HERTS_CLOSE))
    assert milestone_at(ctx, iid, "surveys_close") == HERTS_CLOSE
    with ctx.session() as session:
        assert "closes_at" not in session.get(m.Inspection, iid).survey_links  # the links only, as before


def test_a_close_time_before_the_call_is_refused_and_nothing_changes(ctx: EngineContext, iid: str) -> None:
    """The surveys cannot close before the inspectors phoned: refused naming the field; the default stays."""
    with pytest.raises(ValueError, match="closes_at: the surveys cannot close before the inspectors' call"):
        record_survey_links(ctx, iid, SurveyLinks(**LINKS, closes_at=at(6, 26, 8)))
    assert milestone_at(ctx, iid, "surveys_close") == at(7, 3, 9)
    with ctx.session() as session:
        assert session.get(m.Inspection, iid).survey_links is None


def test_the_forum_is_sent_the_family_survey_written_to_forward(ctx: EngineContext, iid: str) -> None:
    """Once the links are given, the forum gets both family links and the close in words it can forward, once."""
    record_survey_links(ctx, iid, SurveyLinks(**LINKS, closes_at=HERTS_CLOSE))
    family_survey_pass(ctx, iid)
    family_survey_pass(ctx, iid)
    (forum,) = messages(ctx, "survey_forum")
    assert [a.addr_spec for a in forum["To"].addresses] == ["parent-carer-forum@demo-county.example"]
    text = forum.get_body(("plain",)).get_content()
    assert "Parents and carers: https://surveys.example/pc" in text and "open until Tuesday 4 July 2023" in text
    assert "do not forward" not in forum.get_body(("html",)).get_content()


def test_families_are_reminded_a_day_before_the_close_and_the_phase_waits_for_it(ctx: EngineContext,
                                                                                 iid: str) -> None:
    """With the reminder on, nothing goes before Monday 3 July 09:00; then the families' lists and the forum."""
    record_survey_links(ctx, iid, SurveyLinks(**LINKS, closes_at=HERTS_CLOSE))
    first = family_survey_pass(ctx, iid)
    assert not first.done and first.next_wake_at == at(7, 3, 9)
    ctx.clock.set(at(7, 3, 9))  # type: ignore[attr-defined]
    assert family_survey_pass(ctx, iid).done
    reminders = messages(ctx, "survey_reminder")
    with ctx.session() as session:  # the ledger keeps who each batch went to (Bcc is not in the message)
        bcc = sorted(a for r in session.scalars(select(m.EmailRecord.recipients).where(
            m.EmailRecord.template == "survey_reminder")) for a in r)
    assert bcc == sorted(
        ["parent-carer-forum-members@demo-county.example", "send-parents-newsletter@demo-county.example",
         "send-schools-and-colleges@demo-county.example", "youth-participation@demo-county.example"])
    assert all("closes Tuesday 4 July 2023, 09:00" in x["Subject"] for x in reminders)
    assert len(messages(ctx, "survey_forum")) == 2  # the survey to cascade, then the reminder to cascade


def test_a_reminder_falling_at_the_weekend_goes_the_working_day_before(ctx: EngineContext, iid: str) -> None:
    """The default close (Mon 3 July 09:00) less a day is a Sunday: the reminder goes on Friday 30 June at 09:00."""
    record_survey_links(ctx, iid, SurveyLinks(**LINKS))
    assert reminder_at(ctx, iid) == at(6, 30, 9)


@pytest.mark.parametrize(("moment", "allowed"), [
    (at(7, 4, 10), at(7, 4, 10)),          # a working morning: as it is
    (at(7, 4, 20), at(7, 4, 18, 59)),      # after 19:00: the last minute before the quiet hours
    (at(7, 5, 6), at(7, 4, 18, 59)),       # before 07:30: the evening before
    (at(7, 2, 9), at(6, 30, 9)),           # a Sunday: the Friday before, same time
])
def test_the_last_time_out_of_quiet_hours(ctx: EngineContext, moment: datetime, allowed: datetime) -> None:
    """A reminder never goes in quiet hours or at a weekend: it goes at the last allowed time before."""
    assert last_allowed(moment, quiet=QuietHours(), calendar=ctx.calendar) == allowed


def test_without_the_reminder_the_phase_ends_when_the_forum_has_its_email(ctx: EngineContext, iid: str) -> None:
    """A partnership that has not turned the reminder on sends none; the pass is done at once."""
    config = ctx.config.model_copy(update={"partnership": ctx.config.partnership.model_copy(update={
        "survey_reminder": ctx.config.partnership.survey_reminder.model_copy(update={"send": False})})})
    ctx.config = config
    record_survey_links(ctx, iid, SurveyLinks(**LINKS))
    assert family_survey_pass(ctx, iid).done
    assert messages(ctx, "survey_reminder") == [] and len(messages(ctx, "survey_forum")) == 1
