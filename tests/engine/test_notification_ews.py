"""Day 1 through Exchange: the core group's Outlook meeting and the surveys to county-scale lists, in Bcc batches.

The real exchangelib client talks EWS SOAP to the local endpoint of tests/mail/ews_server.py; time is virtual.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from send_inspection.clock import VirtualClock
from send_inspection.config.loader import calendar_for
from send_inspection.config.models import PartnershipConfig, SurveyDistribution
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import open_inspection
from send_inspection.engine.notification import (
    SurveyLinks,
    day_one_pass,
    survey_key,
    survey_overview,
    survey_pass,
)
from send_inspection.engine.passes import PassResult
from send_inspection.mail.distribution import DistributionProgress, distribution_rows
from send_inspection.mail.ews import EwsTransport
from tests.conftest import NOTIFIED, fresh_database
from tests.mail.ews_server import SOAP, EwsServer, M, T

LOGISTICS = "inspection-logistics@demo-county.example"
CORE_GROUP = ["samantha.cole-brierley@demo-county.example", "margaret.quinlan@demo-icb.nhs.example",
              "simon.oduya@demo-icb.nhs.example", "nadia.pemberton@demo-county.example",
              "owen.garside@demo-county.example", "leah.marchetti@demo-county.example",
              "hannah.merriweather@demo-icb.nhs.example", "tom.blakeley@demo-county.example"]
FAMILIES = [f"parent.carer.{i:04d}@demo-county.example" for i in range(1_000)]
LINKS = SurveyLinks(children_young_people="https://surveys.example/cyp", parents_carers="https://surveys.example/pc",
                    practitioners="https://surveys.example/pr")


def ews_context(tmp_path: Path, config: PartnershipConfig, clock: VirtualClock, server: EwsServer) -> EngineContext:
    """Return an engine context whose mail goes through EWS to the local endpoint."""
    transport = EwsTransport(server.url, "Exchange2016", auth="basic", username="svc-send", secret="demo-secret",
                             max_wait=1.0)
    return EngineContext(config=config, calendar=calendar_for(config), db_url=fresh_database(tmp_path), clock=clock,
                         transport=transport, base_url="http://testserver", uploads_dir=tmp_path / "up",
                         check_links=False)


@pytest.fixture
def ews_ctx(tmp_path: Path, demo_config: PartnershipConfig, clock: VirtualClock, server: EwsServer) -> EngineContext:
    """Return an engine context on the Demo County config with its mail through the local EWS endpoint."""
    return ews_context(tmp_path, demo_config, clock, server)


# ---- the core group meeting


def test_the_core_group_gets_an_outlook_meeting_request_once(ews_ctx: EngineContext, server: EwsServer) -> None:
    """The meeting is one CreateItem from the logistics calendar at 11:00 BST to the core group; a re-run sends none."""
    iid = open_inspection(ews_ctx, NOTIFIED, mode="rehearsal")
    first = day_one_pass(ews_ctx, iid)
    assert (first.done, first.sent, first.mail_failures) == (True, 6, [])  # five lists and the meeting
    [mail] = server.meeting_mail
    assert (mail.kind, mail.organizer, mail.to, mail.start, mail.subject) == (
        "request", LOGISTICS, CORE_GROUP, "2023-06-26T11:00:00+01:00", "SEND inspection: core group meeting")
    meetings = [body for body in server.requests("CreateItem") if "<t:CalendarItem>" in body]
    assert len(meetings) == 1
    item = ET.fromstring(meetings[0]).find(f"{{{SOAP}}}Body/{{{M}}}CreateItem/{{{M}}}Items/{{{T}}}CalendarItem")
    assert item is not None and item.findtext(f"{{{T}}}Subject") == "SEND inspection: core group meeting"
    assert item.find(f"{{{T}}}StartTimeZone").get("Id") == "GMT Standard Time"  # type: ignore[union-attr]
    attendees = item.findall(f"{{{T}}}RequiredAttendees/{{{T}}}Attendee/{{{T}}}Mailbox/{{{T}}}EmailAddress")
    assert [a.text for a in attendees] == CORE_GROUP
    assert all(not sent.attachments for sent in server.sent)  # no email with an .ics
    requests = len(server.operations())
    again = day_one_pass(ews_ctx, iid)
    assert (again.done, again.sent) == (True, 0)
    assert len(server.meeting_mail) == 1 and len(server.operations()) == requests


def test_exchange_down_leaves_the_meeting_to_the_next_pass(ews_ctx: EngineContext, server: EwsServer) -> None:
    """With Exchange busy nothing is marked done and the phase wakes in 5 minutes; then the meeting goes, once."""
    iid = open_inspection(ews_ctx, NOTIFIED, mode="rehearsal")
    server.script.item_error = "ErrorServerBusy"
    failed = day_one_pass(ews_ctx, iid)
    assert (failed.done, failed.sent, len(failed.mail_failures)) == (False, 0, 6)
    assert failed.reason.startswith("MAIL PROBLEM: 6 email(s) not sent; trying again at 09:05")
    assert failed.next_wake_at == NOTIFIED + timedelta(minutes=5)
    with ews_ctx.session() as session:
        assert [row.status for row in session.scalars(select(m.EwsMeeting))] == ["uncertain"]
    server.script.item_error = None
    ews_ctx.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    second = day_one_pass(ews_ctx, iid)
    assert (second.done, second.sent, second.mail_failures) == (True, 6, [])
    assert [mail.kind for mail in server.meeting_mail] == ["request"]
    assert day_one_pass(ews_ctx, iid).sent == 0


# ---- the surveys to county-scale lists


def county_config(demo_config: PartnershipConfig, *, per_day: int) -> PartnershipConfig:
    """Return the demo config with 1,000 families on the family survey list, one mailbox, 100 a message."""
    partnership = demo_config.partnership
    lists = partnership.survey_lists
    families = lists.parents_carers.model_copy(update={"addresses": FAMILIES})
    distribution = SurveyDistribution(mailboxes=[LOGISTICS], max_recipients_per_message=100, messages_per_minute=30,
                                      recipients_per_day=per_day)
    return demo_config.model_copy(update={"partnership": partnership.model_copy(update={
        "survey_lists": lists.model_copy(update={"parents_carers": families}), "survey_distribution": distribution})})


@pytest.fixture
def county(tmp_path: Path, demo_config: PartnershipConfig, clock: VirtualClock, server: EwsServer) -> EngineContext:
    """Return an EWS engine context whose family survey list holds 1,000 addresses, with tight sending limits.

    One mailbox, 100 recipients a message and 500 a day: the 12 messages (2 children's lists, 1,000 families,
    2 practitioners' lists) take three days, so the sending has to wait and resume like a county's 40,000 would.
    """
    ctx = ews_context(tmp_path, county_config(demo_config, per_day=500), clock, server)
    ctx.clock.set(NOTIFIED + timedelta(hours=1))  # type: ignore[attr-defined]
    return ctx


class Operators:
    """What the operators were shown: each plan text with the messages sent by then, and each progress."""

    def __init__(self, server: EwsServer) -> None:
        self.server = server
        self.plans: list[tuple[int, str]] = []
        self.progress: list[str] = []

    def show_plan(self, markdown: str) -> None:
        """Keep the plan text and how many messages the server had accepted when it was shown."""
        self.plans.append((len(self.server.sent), markdown))

    def show_progress(self, progress: DistributionProgress) -> None:
        """Keep the progress line."""
        self.progress.append(progress.line())


def surveys(ctx: EngineContext, iid: str, operators: Operators) -> PassResult:
    """Run one survey pass as the notification phase does, showing the operators what it shows."""
    return survey_pass(ctx, iid, LINKS, show_plan=operators.show_plan, show_progress=operators.show_progress)


def bcc_sent(server: EwsServer) -> list[str]:
    """Return every Bcc address of every message the server accepted, in order."""
    return [address for item in server.sent for address in item.bcc]


def test_a_county_list_goes_in_bcc_batches_waits_for_the_day_limit_and_resumes(
        county: EngineContext, server: EwsServer, caplog: pytest.LogCaptureFixture) -> None:
    """The plan is shown before any send; day 1 sends 6 of 12 batches and wakes at the next one; all go once."""
    caplog.set_level(logging.INFO, logger="send_inspection")
    iid = open_inspection(county, NOTIFIED, mode="rehearsal")
    operators = Operators(server)
    first = surveys(county, iid, operators)
    accepted, plan = operators.plans[0]
    assert accepted == 0  # shown before the first batch went
    assert "1,004 recipients → 12 messages of ≤100 recipients (all in Bcc, nobody in To) from 1 mailbox" in plan
    assert "- parents_carers: 1,000 recipients in 10 messages, the last Wed 28 Jun 10:00 (London)" in plan
    assert "survey closes Mon 03 Jul 09:00 (London): OK" in plan
    # The lists take turns: children, families, practitioners, then the families' next batches, until 404 of 500.
    assert [len(item.bcc) for item in server.sent] == [2, 100, 2, 100, 100, 100]
    assert all(item.to == [] and item.cc == [] and item.author == LOGISTICS for item in server.sent)
    assert (first.done, first.sent) == (False, 6)
    assert first.next_wake_at == NOTIFIED + timedelta(days=1, hours=1, seconds=2)
    assert first.reason == ("Surveys: 6 of 12 messages sent, 404 of 1,004 recipients reached; "
                            "next batch Tue 27 Jun 10:00 (London)")
    assert operators.progress[0] == "0 of 12 messages sent, 0 of 1,004 recipients reached"
    assert operators.progress[-1].startswith("6 of 12 messages sent")
    overview = survey_overview(county, iid)  # what `send-inspection status` prints
    assert overview[0].startswith("surveys: 1,004 recipients → 12 messages of ≤100 recipients")
    assert survey_overview(county, iid)[-1] == ("surveys sent: 6 of 12 messages sent, 404 of 1,004 recipients "
                                                "reached")

    county.clock.set(first.next_wake_at)  # type: ignore[attr-defined]
    passes = [first]
    while not passes[-1].done and len(passes) < 6:
        county.clock.set(passes[-1].next_wake_at)  # type: ignore[attr-defined]
        passes.append(surveys(county, iid, operators))
    assert [p.sent for p in passes] == [6, 5, 1] and passes[-1].reason.startswith("notified, core group invited")
    assert sorted(bcc_sent(server)) == sorted([*FAMILIES, *(a for lst in ("children_young_people", "practitioners")
                                                            for a in getattr(county.config.partnership.survey_lists,
                                                                             lst).addresses)])
    with county.session() as session:
        rows = distribution_rows(session, survey_key(iid))
    assert len(rows) == 12 and {row.status for row in rows.values()} == {"sent"}
    assert f"{iid}:notification:survey:parents_carers:batch:10" in rows
    assert surveys(county, iid, operators).sent == 0 and len(server.sent) == 12
    shown = [text for _, text in operators.plans] + operators.progress + [p.reason for p in passes]
    assert not any("parent.carer" in text for text in [*shown, caplog.text])  # counts only, never an address


def test_a_failure_mid_way_and_a_crash_both_resume_without_a_second_copy(
        county: EngineContext, server: EwsServer) -> None:
    """Exchange busy at batch 3 stops the pass (retry in 5 min); a process dying after batch 5 loses nothing."""
    iid = open_inspection(county, NOTIFIED, mode="rehearsal")
    operators = Operators(server)
    server.script.refuse[FAMILIES[100]] = "ErrorServerBusy"  # in the families' second batch, the plan's 4th
    stopped = surveys(county, iid, operators)
    assert (stopped.done, stopped.sent, len(server.sent)) == (False, 3, 3)
    assert stopped.reason.startswith("MAIL PROBLEM: 1 email(s) not sent; trying again at 10:05")
    [failure] = stopped.mail_failures
    assert failure.startswith(f"{iid}:notification:survey: batch 4: ews ") and "server busy" in failure
    assert stopped.next_wake_at == NOTIFIED + timedelta(hours=1, minutes=5)  # five minutes after the pass began
    server.script.refuse.clear()

    class Crash(BaseException):
        """The process dying right after a batch was recorded as sent."""

    def die_after_the_fifth(progress: DistributionProgress) -> None:
        if len(progress.sent) == 5:
            raise Crash

    county.clock.set(stopped.next_wake_at)  # type: ignore[attr-defined]
    with pytest.raises(Crash):
        survey_pass(county, iid, LINKS, show_progress=die_after_the_fifth)
    assert len(server.sent) == 5
    resumed = surveys(county, iid, operators)
    assert resumed.sent == 1 and len(server.sent) == 6  # batch 6, then the day limit
    assert len(bcc_sent(server)) == len(set(bcc_sent(server))) == 404


def test_a_plan_that_cannot_finish_before_the_close_is_shown_with_a_warning_first(
        tmp_path: Path, demo_config: PartnershipConfig, clock: VirtualClock, server: EwsServer) -> None:
    """At 100 recipients a day, none at night or at the weekend, 1,004 take past the Monday close: the plan says so."""
    ctx = ews_context(tmp_path, county_config(demo_config, per_day=100), clock, server)
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    operators = Operators(server)
    first = surveys(ctx, iid, operators)
    accepted, plan = operators.plans[0]
    assert accepted == 0
    warning = ("WARNING: the last batch goes Tue 11 Jul 07:30 (London), after the survey closes Mon 03 Jul 09:00 "
               "(London); 2 mailboxes would finish in time")
    assert warning in plan and first.reason.endswith(warning)
    assert (first.sent, first.done) == (1, False)  # the children's list; the families' first batch waits a day
