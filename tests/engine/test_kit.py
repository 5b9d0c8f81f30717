"""Keeping in touch: the day-1 agreement recorded, the KIT meetings invited, representatives, chased actions, and
the summary after each meeting with tomorrow's meetings and their times."""

from __future__ import annotations

import re
from datetime import datetime

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from send_inspection.calendar import LONDON
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import open_inspection
from send_inspection.engine.kit import reconcile_kit
from send_inspection.engine.passes import PassResult
from send_inspection.engine.phase_rows import ensure_phase
from send_inspection.fieldwork.store import save_timetable
from send_inspection.fieldwork.timetable import Slot
from send_inspection.mail.outbox import outbox_id_for, read_outbox_message
from send_inspection.web.app import create_app
from tests.conftest import NOTIFIED

TOKEN = re.compile(r"/a/([A-Za-z0-9_-]+)")
CORE = ["dir-inclusion", "icb-dir-nursing", "cht-ddo-cyp", "head-improvement", "sm-performance",
        "inspection-coordinator", "icb-send-lead", "lead-evidence-officer"]
DAYS = ["2023-06-27", "2023-06-28", "2023-06-29"]
JASMINE = "Jasmine Fairweather <jasmine.fairweather@demo-icb.nhs.example>"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """Return a London time in June or July 2023 (the demo inspection is notified Monday 26 June)."""
    return datetime(2023, 6, day, hour, minute, tzinfo=LONDON) if day > 20 else datetime(2023, 7, day, hour, minute,
                                                                                         tzinfo=LONDON)


def go(ctx: EngineContext, moment: datetime) -> None:
    """Move the virtual clock."""
    ctx.clock.set(moment)  # type: ignore[attr-defined]


def sent(ctx: EngineContext, like: str) -> list[m.EmailRecord]:
    """Return the ledger's emails whose key matches the SQL pattern `like`, oldest first."""
    with ctx.session() as session:
        return list(session.scalars(select(m.EmailRecord).where(m.EmailRecord.key.like(like))
                                    .order_by(m.EmailRecord.id)))


def link(ctx: EngineContext, key: str) -> str:
    """Return the personal link in the email with ledger key `key`."""
    return "/a/" + TOKEN.search(read_outbox_message(ctx.transport.folder, outbox_id_for(key)).text or "").group(1)


def text_of(ctx: EngineContext, key: str) -> str:
    """Return the plain text of the email with ledger key `key`, its spacing tidied."""
    return " ".join((read_outbox_message(ctx.transport.folder, outbox_id_for(key)).text or "").split())


def post(client: TestClient, url: str, ref: str, step: str, **fields: object) -> httpx.Response:
    """Answer the step of item `ref` through the personal link `url`."""
    return client.post(url, data={"item_ref": ref, "step": step, "round": "1", **fields})


@pytest.fixture
def kit(ctx: EngineContext) -> str:
    """Open the demo inspection and its keeping-in-touch phase at the call (Monday 26 June, 09:00)."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    ensure_phase(ctx, iid, "kit")
    return iid


@pytest.fixture
def client(ctx: EngineContext) -> TestClient:
    """Return a client of the sign-off app on the test's database."""
    return TestClient(create_app(ctx))


def agree(ctx: EngineContext, iid: str, client: TestClient, days: list[str] = DAYS) -> PassResult:
    """Record the core group's agreement at 11:45 on day 1 and run the pass that arranges the meetings."""
    go(ctx, at(26, 11))
    reconcile_kit(ctx, iid)
    go(ctx, at(26, 11, 45))
    url = link(ctx, f"{iid}:kit:core-group-agreement:settle:r1:ask")
    bases = {f"base_{k}": "Demo House" for k in CORE} | {"base_lead-evidence-officer": "County Hall, Room 12"}
    assert post(client, url, "core-group-agreement", "settle", outcome="settled", kit_day=days, **bases).status_code \
        == 200
    return reconcile_kit(ctx, iid)


@pytest.fixture
def agreed(ctx: EngineContext, kit: str, client: TestClient) -> str:
    """Record the agreement of three KIT meetings (Tuesday to Thursday of week 1) and arrange them."""
    agree(ctx, kit, client)
    return kit


def test_the_day_one_agreement_is_asked_at_the_meeting_and_nothing_is_arranged_before(
        ctx: EngineContext, kit: str, client: TestClient) -> None:
    """At the call nobody is asked; at the day-1 meeting the coordinator is asked what was agreed, on a page offering
    every working day to the feedback meeting (daily by default) and each member's base; no KIT meeting is arranged
    until it is recorded."""
    first = reconcile_kit(ctx, kit)
    assert (first.sent, first.next_wake_at) == (0, at(26, 11))
    assert first.reason == "Keeping in touch: waiting for the core group's agreement (the KIT days) to be recorded"
    go(ctx, at(26, 11))
    assert reconcile_kit(ctx, kit).sent == 1
    ask = sent(ctx, "%:kit:core-group-agreement:settle:r1:ask")
    assert [a.recipients for a in ask] == [["leah.marchetti@demo-county.example"]]
    page = client.get(link(ctx, ask[0].key)).text
    offered = re.findall(r'name="kit_day" value="([\d-]+)"( checked)?', page)
    assert len(offered) == 15 and offered[0] == ("2023-06-26", " checked") and offered[-1][0] == "2023-07-14"
    assert all(checked for _, checked in offered)  # timeline.yaml keeping_in_touch.days: every weekday
    assert page.count('value="Demo House"') == 8 and "Tom Blakeley, Lead Evidence Officer" in page
    with ctx.session() as session:
        assert session.scalars(select(m.FieldworkSlot)).first() is None


def test_a_refused_agreement_records_nothing_and_keeps_what_was_typed(ctx: EngineContext, kit: str,
                                                                     client: TestClient) -> None:
    """A missing base is named; nothing is recorded; the days ticked and the bases typed come back as they were."""
    go(ctx, at(26, 11))
    reconcile_kit(ctx, kit)
    url = link(ctx, f"{kit}:kit:core-group-agreement:settle:r1:ask")
    bases = {f"base_{k}": "Demo House" for k in CORE} | {"base_icb-dir-nursing": " "}
    response = post(client, url, "core-group-agreement", "settle", outcome="settled", kit_day=["2023-06-28"], **bases)
    assert response.status_code == 422 and "where Margaret Quinlan will be based: missing" in response.text
    assert 'value="2023-06-28" checked' in response.text and 'value="2023-06-27">' in response.text
    with ctx.session() as session:
        assert session.scalars(select(m.Decision)).first() is None


def test_the_agreed_meetings_are_invited_and_each_member_asked_once_about_a_representative(
        ctx: EngineContext, agreed: str) -> None:
    """Each agreed day gets a KIT meeting on the timetable, invited to the core group; each member is asked once
    (never reminded) whether someone should come in their place; each meeting's record is asked when it ends."""
    with ctx.session() as session:
        slots = list(session.scalars(select(m.FieldworkSlot).order_by(m.FieldworkSlot.start_at)))
        decision = session.scalars(select(m.Decision)).one()
    assert [(s.slot_id, s.origin, s.start_at, s.end_at, s.attendees) for s in slots] == [
        (f"KIT-{d}", "kit", at(int(d[-2:]), 17, 30), at(int(d[-2:]), 18, 30), CORE) for d in DAYS]
    assert decision.details["bases"]["lead-evidence-officer"] == "County Hall, Room 12"
    invitations = sent(ctx, "%:kit:calendar:%")
    assert len(invitations) == 3 and all(len(i.recipients) == 8 for i in invitations)
    assert [a.recipients[0] for a in sent(ctx, "%:kit-attendance-%:represent:r1:ask")] == [
        ctx.config.partnership.person(k).email for k in CORE]
    go(ctx, at(29, 18))
    reconcile_kit(ctx, agreed)
    assert sent(ctx, "%:kit-attendance-%:represent:r1:remind%") == []
    assert sent(ctx, "%:kit-attendance-%:represent:r1:escalate%") == []
    assert [r.key.split(":")[2] for r in sent(ctx, "%:minute:r1:ask")] == ["kit-2023-06-27", "kit-2023-06-28"]


def test_a_representative_outside_partnership_yaml_is_invited_and_gets_the_summary(
        ctx: EngineContext, agreed: str, client: TestClient) -> None:
    """A member names someone not in partnership.yaml for one meeting: they are kept with the inspection, invited to
    that meeting alone (an update of its invitation to them only) and sent its summary."""
    url = link(ctx, f"{agreed}:kit:kit-attendance-cht-ddo-cyp:represent:r1:ask")
    page = client.get(url).text
    assert 'name="rep_KIT-2023-06-28"' in page
    assert post(client, url, "kit-attendance-cht-ddo-cyp", "represent", outcome="represented",
                **{"rep_KIT-2023-06-28": JASMINE}).status_code == 200
    reconcile_kit(ctx, agreed)
    with ctx.session() as session:
        jasmine = session.scalars(select(m.Person).where(m.Person.origin == "kit")).one()
        slot = session.scalars(select(m.FieldworkSlot).where(m.FieldworkSlot.slot_id == "KIT-2023-06-28")).one()
    assert (jasmine.person_key, jasmine.name, jasmine.escalates_to_key, jasmine.role) == (
        "kit-1", "Jasmine Fairweather", "cht-ddo-cyp", "Representative of Simon Oduya")
    assert slot.attendees == [*CORE, "kit-1"]
    update = sent(ctx, "%:kit:calendar:KIT-2023-06-28:s1:%")
    assert [(u.key.split(":")[-2], u.recipients) for u in update] == [
        ("REQUEST", ["jasmine.fairweather@demo-icb.nhs.example"])]
    go(ctx, at(28, 19))  # the meeting's record is due, in the quiet hours: its summary waits for them to end
    reconcile_kit(ctx, agreed)
    assert sent(ctx, "%:kit:summary:2023-06-28") == []
    go(ctx, at(29, 7, 30))  # then it goes to everyone invited
    reconcile_kit(ctx, agreed)
    summary = sent(ctx, "%:kit:summary:2023-06-28")
    assert len(summary) == 1 and "jasmine.fairweather@demo-icb.nhs.example" in summary[0].recipients


def test_issues_raised_become_actions_chased_like_any_other_ask(ctx: EngineContext, agreed: str,
                                                                client: TestClient) -> None:
    """The organiser records the meeting: each issue becomes an action, its owner (staff or someone new) asked at
    once, reminded before its deadline and escalated after it; the summary goes then, with the actions, the notes
    and tomorrow's meetings with their times (the inspectors' and the partnership's, merged)."""
    go(ctx, at(27, 9))
    inspectors = Slot(slot_id="W1-WED-1", kind="leaders-meeting", title="Virtual meeting with SEND leaders",
                      start=at(28, 10), end=at(28, 11), location="Teams", attendees=("dir-inclusion",))
    save_timetable(ctx, agreed, [inspectors])
    go(ctx, at(27, 18, 30))
    reconcile_kit(ctx, agreed)
    assert sent(ctx, "%:kit:summary:%") == []  # not before the meeting is recorded (or its record due)
    url = link(ctx, f"{agreed}:kit:kit-2023-06-27:minute:r1:ask")
    go(ctx, at(27, 18, 45))
    issues = ("Check the waiting-times figures before they go; hos-send; 28/06/2023 12:00\n"
              "Call the school about the visit; Grace Okafor <grace.okafor@demo-valley-school.example>; "
              "28/06/2023 16:00")
    assert post(client, url, "kit-2023-06-27", "minute", outcome="minuted", issues=issues,
                notes="Everyone is well.").status_code == 200
    result = reconcile_kit(ctx, agreed)
    assert result.summaries_sent == ["2023-06-27"]
    asks = sent(ctx, "%:kit-2023-06-27-_:act:r1:ask")
    assert [a.recipients for a in asks] == [["catherine.lowther@demo-county.example"],
                                            ["grace.okafor@demo-valley-school.example"]]
    summary = text_of(ctx, sent(ctx, "%:kit:summary:2023-06-27")[0].key)
    assert ("Check the waiting-times figures before they go: Catherine Lowther, by Wednesday 28 June 2023, 12:00"
            in summary)
    assert "Everyone is well." in summary
    assert "Tomorrow, Wednesday 28 June - 10:00 to " in summary  # the next day's meetings with their times
    assert "(Teams) - 17:30 to 18:30 Keeping-in-touch (KIT) meeting, Wed 28 Jun" in summary
    for moment in (at(28, 9), at(28, 11), at(28, 12), at(28, 13)):
        go(ctx, moment)
        reconcile_kit(ctx, agreed)
    chased = [(r.key.split(":")[-1], r.recipients) for r in sent(ctx, "%:kit-2023-06-27-1:act:r1:%")]
    assert chased == [("ask", ["catherine.lowther@demo-county.example"]),
                      ("remind-3h", ["catherine.lowther@demo-county.example"]),
                      ("remind-1h", ["catherine.lowther@demo-county.example"]),
                      ("escalate-deputy", ["fiona.hargreaves@demo-county.example"]),
                      ("escalate-up-1", ["samantha.cole-brierley@demo-county.example"])]
    done = client.post(link(ctx, f"{agreed}:kit:kit-2023-06-27-1:act:r1:escalate-up-1"),
                       data={"item_ref": "kit-2023-06-27-1", "step": "act", "round": "1", "outcome": "done",
                             "comment": " "})
    assert done.status_code == 422 and "say what was done" in done.text


def test_an_unrecorded_meeting_still_gets_its_summary_and_the_phase_ends_after_the_feedback(
        ctx: EngineContext, agreed: str, client: TestClient) -> None:
    """A meeting nobody records gets its summary when the record is due (once the quiet hours end), saying so; the
    members' representatives items close when the last meeting starts; the phase ends after the feedback meeting
    with everything answered."""
    go(ctx, at(27, 19))  # the record is due in the quiet hours: the summary waits for them to end
    reconcile_kit(ctx, agreed)
    assert sent(ctx, "%:kit:summary:2023-06-27") == []
    go(ctx, at(28, 7, 30))
    reconcile_kit(ctx, agreed)
    summary = sent(ctx, "%:kit:summary:2023-06-27")
    assert len(summary) == 1 and "The meeting's record is not in yet." in text_of(ctx, summary[0].key)
    for day, recorded in ((27, at(28, 9)), (28, at(28, 18, 40)), (29, at(29, 18, 40))):  # the first one late
        go(ctx, recorded)
        reconcile_kit(ctx, agreed)
        url = link(ctx, f"{agreed}:kit:kit-2023-06-{day}:minute:r1:ask")
        assert post(client, url, f"kit-2023-06-{day}", "minute", outcome="minuted", issues="",
                    notes="").status_code == 200
        reconcile_kit(ctx, agreed)
    assert [r.key[-10:] for r in sent(ctx, "%:kit:summary:%")] == DAYS
    go(ctx, at(14, 13, 59))
    assert not reconcile_kit(ctx, agreed).done
    go(ctx, at(14, 14))  # the feedback meeting, Friday 14 July
    assert reconcile_kit(ctx, agreed).done
    with ctx.session() as session:
        outcomes = {i.ref: i.outcome for i in session.scalars(select(m.RegisterItem).where(m.RegisterItem.phase ==
                                                                                           "kit"))}
    assert {outcomes[f"kit-attendance-{k}"] for k in CORE} == {"attending"}
