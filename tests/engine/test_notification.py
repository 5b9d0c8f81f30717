"""Day 1: the core group meeting slot, the notification emails and the survey links."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime

import pytest

from send_inspection.calendar import LONDON
from send_inspection.config.loader import calendar_for
from send_inspection.config.models import PartnershipConfig
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import open_inspection
from send_inspection.engine.notification import (
    SurveyLinks,
    core_meeting_slot,
    day_one_pass,
    record_survey_links,
    send_surveys,
)
from send_inspection.mail.outbox import list_outbox, outbox_id_for, read_outbox_message, read_outbox_raw
from tests.conftest import NOTIFIED

IID = "demo-county-2023-06-26"


def london(day: int, hour: int, minute: int = 0, *, month: int = 6) -> datetime:
    """Return a London wall time in 2023."""
    return datetime(2023, month, day, hour, minute, tzinfo=LONDON)


@pytest.mark.parametrize(
    ("called", "meeting"),
    [
        (london(26, 9, 0), london(26, 11, 0)),  # the preferred 11:00 on day 1
        (london(26, 10, 30), london(26, 11, 30)),  # 45 minutes' notice, rounded up to the half hour
        (london(26, 15, 0), london(26, 16, 0)),  # the latest start still fits
        (london(26, 15, 30), london(27, 9, 0)),  # too late today: next working day at 09:00
        (london(30, 16, 0), london(3, 9, 0, month=7)),  # Friday afternoon: Monday morning
        (london(24, 10, 0), london(26, 11, 0)),  # a Saturday call counts from Monday
        (london(28, 10, 0, month=8), london(29, 11, 0, month=8)),  # summer bank holiday: Tuesday
    ],
)
def test_core_meeting_slot(demo_config: PartnershipConfig, called: datetime, meeting: datetime) -> None:
    """The core group meets at 11:00 on day 1 or at the next sensible slot after a later call."""
    slot = core_meeting_slot(called, demo_config.timeline.core_group_meeting, calendar=calendar_for(demo_config))
    assert slot == meeting


def test_notifications_go_once_to_each_list_with_an_invitation(ctx: EngineContext) -> None:
    """Each notification list gets one email and the core group one invitation with a London-time .ics."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    first = day_one_pass(ctx, iid)
    assert (first.sent, first.done, first.mail_failures) == (6, True, [])
    assert day_one_pass(ctx, iid).sent == 0
    with ctx.session() as session:
        keys = sorted(r.key.removeprefix(f"{iid}:") for r in session.query(m.EmailRecord))
    assert keys == ["notification:core-group-meeting", "notification:list:all-childrens-services",
                    "notification:list:boards", "notification:list:chief-executive-and-members",
                    "notification:list:extended-board", "notification:list:schools-forum-chairs"]
    invite = read_outbox_message(ctx.transport.folder, outbox_id_for(f"{iid}:notification:core-group-meeting"))
    ics = [a for a in invite.attachments if a.filename.endswith(".ics")]
    assert len(ics) == 1


def test_the_day_one_meeting_asks_everyone_to_cancel_and_send_apologies(ctx: EngineContext) -> None:
    """The core group's invitation, in its email and its calendar entry, asks them to cancel and send apologies to
    their other meetings of the next three weeks, and says the meeting decides where managers are based."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    day_one_pass(ctx, iid)
    invite = read_outbox_message(ctx.transport.folder, outbox_id_for(f"{iid}:notification:core-group-meeting"))
    asked = "cancel, and send your apologies to, any meetings in the next three weeks"
    assert asked in " ".join((invite.text or "").split())
    raw = email.message_from_bytes(read_outbox_raw(ctx.transport.folder, outbox_id_for(
        f"{iid}:notification:core-group-meeting")), policy=email.policy.default)
    calendar = next(p for p in raw.walk() if p.get_content_type() == "text/calendar").get_content()
    description = "".join(line.removeprefix(" ") for line in calendar.split("\r\n"))  # unfolded (RFC 5545)
    assert asked.replace(",", "\\,") in description
    assert "which managers are based at which sites" in description


def test_survey_links_are_kept_and_sent_once(ctx: EngineContext) -> None:
    """Recorded survey links are stored, and each survey list and the health template contacts get one email."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    links = SurveyLinks(children_young_people="https://surveys.example/cyp", parents_carers="https://surveys.example/pc",
                        practitioners="https://surveys.example/pr",
                        health_template="https://share.demo-county.example/ht")
    record_survey_links(ctx, iid, links)
    with ctx.session() as session:
        assert session.get(m.Inspection, iid).survey_links["practitioners"] == "https://surveys.example/pr"
    assert send_surveys(ctx, iid, links) == 4
    assert send_surveys(ctx, iid, links) == 0
    texts = {e.key: read_outbox_message(ctx.transport.folder, e.id).text or "" for e in list_outbox(
        ctx.transport.folder)}
    assert "https://surveys.example/pc" in texts[f"{iid}:notification:survey:parents_carers"]
    assert "https://share.demo-county.example/ht" in texts[f"{iid}:notification:health-template"]
    survey = read_outbox_message(ctx.transport.folder, outbox_id_for(f"{iid}:notification:survey:parents_carers"))
    assert "please pass this email on" in (survey.text or "") and "not forward" not in (survey.html or "")


def test_a_list_that_cascades_is_asked_to_and_no_notification_calls_its_links_personal(ctx: EngineContext) -> None:
    """The boards (to cascade) are asked to pass it on; no list is told not to forward it for personal links."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    day_one_pass(ctx, iid)
    views = {lst.id: read_outbox_message(ctx.transport.folder, outbox_id_for(f"{iid}:notification:list:{lst.id}"))
             for lst in ctx.config.partnership.notification_lists}
    assert [i for i, v in views.items() if "Please cascade this email" in (v.text or "")] == ["boards"]
    assert all("not forward" not in (v.text or "") + (v.html or "") for v in views.values())


def test_survey_links_for_an_unknown_inspection_are_refused(ctx: EngineContext) -> None:
    """Links for an inspection that does not exist raise KeyError and store nothing."""
    links = SurveyLinks(children_young_people="https://s.example/a", parents_carers="https://s.example/b",
                        practitioners="https://s.example/c")
    with pytest.raises(KeyError, match="no inspection 'demo-county-2099-01-05'"):
        record_survey_links(ctx, "demo-county-2099-01-05", links)
