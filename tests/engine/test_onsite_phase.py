"""Before the inspectors arrive: logistics tasks, the opening meeting's headlines and attendees, the forum's views."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from send_inspection.calendar import LONDON
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import open_inspection
from send_inspection.engine.onsite_phase import reconcile_onsite
from send_inspection.engine.phase_rows import ensure_phase
from send_inspection.mail.outbox import outbox_id_for, read_outbox_message, read_outbox_raw
from send_inspection.web.app import create_app
from tasks.onsite_tasks import onsite_rows
from tests.conftest import NOTIFIED
from tests.helpers import assert_reads_as_reviewed

TOKEN = re.compile(r"/a/([A-Za-z0-9_-]+)")
HEADS = ("hos-send", "hos-education", "hos-inclusion", "hos-disabled-children", "icb-commissioning", "cht-therapies")


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """Return a London wall time in 2023 (the demo inspection is notified on Monday 26 June)."""
    return datetime(2023, month, day, hour, minute, tzinfo=LONDON)


@pytest.fixture
def iid(ctx: EngineContext) -> str:
    """Open the demo inspection and run the phase's first pass on notification day."""
    inspection = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    ensure_phase(ctx, inspection, "onsite")
    reconcile_onsite(ctx, inspection)
    return inspection


@pytest.fixture
def client(ctx: EngineContext) -> TestClient:
    """Return the sign-off web app."""
    return TestClient(create_app(ctx))


def items(ctx: EngineContext, iid: str) -> dict[str, m.RegisterItem]:
    """Return the phase's items by reference."""
    with ctx.session() as session:
        return {i.ref: i for i in session.scalars(select(m.RegisterItem).where(
            m.RegisterItem.inspection_id == iid, m.RegisterItem.phase == "onsite"))}


def link(ctx: EngineContext, iid: str, ref: str, step: str, kind: str = "ask") -> str:
    """Return the personal link in an email about `ref`'s `step`."""
    message = read_outbox_message(ctx.transport.folder, outbox_id_for(f"{iid}:onsite:{ref}:{step}:r1:{kind}"))
    return "/a/" + TOKEN.search(message.text or "").group(1)


def answer(client: TestClient, url: str, ref: str, step: str, outcome: str, **fields: object) -> int:
    """Post an answer and return the status code."""
    files = fields.pop("files", None)
    return client.post(url, data={"item_ref": ref, "step": step, "round": "1", "outcome": outcome, **fields},
                       files=files).status_code  # type: ignore[arg-type]


def sent(ctx: EngineContext, template: str) -> list[email.message.EmailMessage]:
    """Return the outbox messages of one template (by the ledger), parsed."""
    with ctx.session() as session:
        keys = list(session.scalars(select(m.EmailRecord.key).where(m.EmailRecord.template == template)))
    return [email.message_from_bytes(read_outbox_raw(ctx.transport.folder, outbox_id_for(k)),
                                     policy=email.policy.default) for k in keys]


def test_each_logistics_task_headline_and_attendee_is_asked_on_day_one_with_its_deadline(
        ctx: EngineContext, iid: str) -> None:
    """Day 1 opens the eight logistics tasks, six heads of service's headlines and ten Appendix H attendees."""
    found = items(ctx, iid)
    logistics = {r: i.deadlines for r, i in found.items() if r.startswith("logistics-")}
    assert logistics["logistics-set-up-call"] == {"task": "setup_call_due"}
    assert logistics["logistics-welcome-pack"] == {"task": "welcome_pack_due"}
    assert len(logistics) == 8
    assert sorted(r for r in found if r.startswith("headlines-")) == sorted(f"headlines-{h}" for h in HEADS)
    assert len([r for r in found if r.startswith("attend-")]) == 10
    assert found["attend-parent-carer-forum"].evidence_lead == "parent-carer-forum"
    # The presentation, the list and the forum's views wait for what they are made from.
    assert not {"opening-presentation", "appendix-h", "forum-views"} & set(found)
    with ctx.session() as session:
        asks = list(session.scalars(select(m.EmailRecord.recipients).where(m.EmailRecord.template == "action-ask")))
    assert ["gareth.pennington@demo-county.example"] in asks  # the facilities officer, for the base room


def test_a_late_task_goes_to_the_owners_deputy_and_is_reported_late_when_the_inspectors_arrive(
        ctx: EngineContext, iid: str) -> None:
    """Parking not confirmed by day 8 17:00: the deputy is asked at once; still open on day 11, reported late."""
    ctx.clock.set(at(7, 5, 17, 5))  # type: ignore[attr-defined]
    reconcile_onsite(ctx, iid)
    to_deputy = read_outbox_message(ctx.transport.folder,
                                    outbox_id_for(f"{iid}:onsite:logistics-parking:task:r1:escalate-deputy"))
    assert to_deputy.to == ["imran.qureshi@demo-county.example"]  # the facilities officer's deputy
    ctx.clock.set(at(7, 10, 9, 0))  # type: ignore[attr-defined]
    result = reconcile_onsite(ctx, iid)
    assert not result.done
    (late,) = sent(ctx, "tasks_late")
    assert late["Subject"] == "LATE: 26 tasks not done before the inspectors arrive"
    assert "Arrange parking permits for the inspectors" in " ".join(late.get_body(("plain",)).get_content().split())
    assert_reads_as_reviewed(ctx.transport.folder, f"{iid}:onsite:late_report", kind="tasks_late",  # type: ignore[attr-defined]
                             at="2023-07-10T09:00+01:00")


def test_the_presentation_opens_when_every_head_of_service_has_sent_headlines_and_goes_to_the_presenters(
        ctx: EngineContext, iid: str, client: TestClient) -> None:
    """Headlines are refused empty; the last one opens the presentation, whose file goes to the DCS and ICB CEO."""
    url = link(ctx, iid, "headlines-hos-send", "headlines")
    assert answer(client, url, "headlines-hos-send", "headlines", "sent", headlines="  ") == 422
    for head in HEADS:
        ref = f"headlines-{head}"
        assert answer(client, link(ctx, iid, ref, "headlines"), ref, "headlines", "sent",
                      headlines=f"{head}: plans reviewed on time rose to 81%.") == 200
        assert "opening-presentation" not in items(ctx, iid) or head == HEADS[-1]
        reconcile_onsite(ctx, iid)
    assert items(ctx, iid)["opening-presentation"].evidence_lead == "inspection-coordinator"
    url = link(ctx, iid, "opening-presentation", "presentation")
    page = client.get(url).text
    assert all(f"{head}: plans reviewed on time rose to 81%." in page for head in HEADS)
    assert answer(client, url, "opening-presentation", "presentation", "prepared") == 422  # no file
    deck = b"%PDF-1.4 opening presentation of the Demo County partnership"
    assert answer(client, url, "opening-presentation", "presentation", "prepared",
                  files={"file": ("opening.pdf", deck)}) == 200
    reconcile_onsite(ctx, iid)
    (notice,) = sent(ctx, "opening_presentation")
    assert set(notice["To"].addresses[i].addr_spec for i in range(2)) == {
        "helen.ashcombe@demo-county.example", "elaine.fairbrother@demo-icb.nhs.example"}
    (attached,) = list(notice.iter_attachments())
    assert attached.get_content() == deck


def test_the_presentation_opens_at_the_headlines_deadline_without_the_missing_ones(ctx: EngineContext,
                                                                                  iid: str) -> None:
    """With headlines still missing at their deadline, the presentation is opened all the same."""
    ctx.clock.set(at(7, 4, 11, 59))  # type: ignore[attr-defined]
    reconcile_onsite(ctx, iid)
    assert "opening-presentation" not in items(ctx, iid)
    ctx.clock.set(at(7, 4, 12, 0))  # type: ignore[attr-defined]
    reconcile_onsite(ctx, iid)
    assert items(ctx, iid)["opening-presentation"].deadlines == {"presentation": "opening_presentation_due"}


def test_an_attendee_who_cannot_come_names_a_representative_and_the_lano_sends_the_appendix_h_list(
        ctx: EngineContext, iid: str, client: TestClient) -> None:
    """Sending a representative needs a name; the LANO's page lists everyone's answer for the lead inspector."""
    attendees = [r for r in items(ctx, iid) if r.startswith("attend-")]
    url = link(ctx, iid, "attend-dir-family", "attend")
    assert answer(client, url, "attend-dir-family", "attend", "representative") == 422
    assert answer(client, url, "attend-dir-family", "attend", "representative",
                  comment="Pat Kemp, Head of Early Help") == 200
    for ref in attendees:
        if ref != "attend-dir-family":
            assert answer(client, link(ctx, iid, ref, "attend"), ref, "attend", "attending") == 200
    reconcile_onsite(ctx, iid)
    page = client.get(link(ctx, iid, "appendix-h", "send-list")).text
    assert "represented by Pat Kemp, Head of Early Help" in page
    assert page.count("<td>attending</td>") == 9 and "Demo County Parent Carer Forum" in page
    assert answer(client, link(ctx, iid, "appendix-h", "send-list"), "appendix-h", "send-list", "sent") == 200


def test_the_forum_is_asked_for_its_views_once_the_self_evaluation_is_uploaded(
        ctx: EngineContext, iid: str, client: TestClient) -> None:
    """The forum's views are asked after 1.3 goes to the inspectors; they reach the LANO and the liaison officer."""
    with ctx.session() as session:
        sef = session.scalars(select(m.RegisterItem).where(m.RegisterItem.ref == "1.3")).one()
        sef.outcome, sef.step = "uploaded", "upload"
        session.commit()
    reconcile_onsite(ctx, iid)
    url = link(ctx, iid, "forum-views", "views")
    ask = read_outbox_message(ctx.transport.folder, outbox_id_for(f"{iid}:onsite:forum-views:views:r1:ask"))
    assert ask.to == ["parent-carer-forum@demo-county.example"]
    assert answer(client, url, "forum-views", "views", "sent", views="") == 422
    assert answer(client, url, "forum-views", "views", "sent",
                  views="Families know these waiting times.\nThe section on transport is too kind.") == 200
    reconcile_onsite(ctx, iid)
    (notice,) = sent(ctx, "forum_views")
    assert {a.addr_spec for a in notice["To"].addresses} == {"nadia.pemberton@demo-county.example",
                                                             "megan.ashdown@demo-county.example"}
    assert "The section on transport is too kind." in notice.get_body(("plain",)).get_content()


def test_the_forum_not_answering_is_escalated_to_its_liaison_officer(ctx: EngineContext, iid: str) -> None:
    """The forum is not staff: past its deadline, its liaison officer is told to follow it up."""
    with ctx.session() as session:
        sef = session.scalars(select(m.RegisterItem).where(m.RegisterItem.ref == "1.3")).one()
        sef.outcome = "uploaded"
        session.commit()
    reconcile_onsite(ctx, iid)
    ctx.clock.set(at(7, 4, 18, 0))  # type: ignore[attr-defined]
    reconcile_onsite(ctx, iid)
    escalation = read_outbox_message(ctx.transport.folder,
                                     outbox_id_for(f"{iid}:onsite:forum-views:views:r1:escalate-up-1"))
    assert escalation.to == ["megan.ashdown@demo-county.example"]


def test_operators_see_each_task_by_reference_owner_id_and_role_only(ctx: EngineContext, iid: str) -> None:
    """The artifact rows carry references, steps, owner ids and roles: no names, no typed text."""
    result = reconcile_onsite(ctx, iid)
    rows = onsite_rows(result, {p.id: p.role for p in ctx.config.partnership.parties()})
    assert {"task", "waiting for", "owner", "role", "due", "state"} == set(rows[0])
    parking = next(r for r in rows if r["task"] == "logistics-parking")
    assert (parking["owner"], parking["role"]) == ("facilities-officer", "Facilities Officer, Demo House")
    names = [p.name for p in ctx.config.partnership.parties()]
    assert not any(name in str(rows) or name in result.reason for name in names)


def test_the_phase_says_whose_tasks_it_waits_for_by_role(ctx: EngineContext, iid: str) -> None:
    """The reason operators read (in Prefect and `status`) gives each owner's role as partnership.yaml words it."""
    reason = reconcile_onsite(ctx, iid).reason
    assert "logistics-parking task done (Facilities Officer, Demo House) due Wed 05 Jul 17:00" in reason
    assert "(facilities-officer)" not in reason


def test_the_presentation_made_in_the_evening_goes_to_the_presenters_after_the_quiet_hours(
        ctx: EngineContext, iid: str, client: TestClient) -> None:
    """Uploaded at 19:15, the presentation reaches the presenters at 07:30 the next morning, not in quiet hours."""
    ctx.clock.set(at(7, 4, 12, 0))  # type: ignore[attr-defined]  # the headlines' deadline opens it
    reconcile_onsite(ctx, iid)
    ctx.clock.set(at(7, 4, 19, 15))  # type: ignore[attr-defined]
    assert answer(client, link(ctx, iid, "opening-presentation", "presentation"), "opening-presentation",
                  "presentation", "prepared", files={"file": ("opening.pdf", b"%PDF-1.4 deck")}) == 200
    assert reconcile_onsite(ctx, iid).next_wake_at <= at(7, 5, 7, 30)  # woken by then at the latest
    assert sent(ctx, "opening_presentation") == []
    ctx.clock.set(at(7, 5, 7, 30))  # type: ignore[attr-defined]
    reconcile_onsite(ctx, iid)
    assert len(sent(ctx, "opening_presentation")) == 1
