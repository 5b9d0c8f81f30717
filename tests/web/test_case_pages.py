"""The tracked-case pages end to end: each step answered through its personal link, reconciled by the engine."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from send_inspection.calendar import to_london
from send_inspection.catalogue.phases import TRACKED_CASE
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.passes import PassResult
from send_inspection.engine.tracked_case import reconcile_case, start_tracked_cases
from send_inspection.mail.outbox import outbox_id_for, read_outbox_message
from send_inspection.web.app import create_app
from tests.cases.test_people_form import CASE, good_form, select_case
from tests.helpers import ALL_TICKED, assert_reads_as_reviewed
from tests.web.test_sign_off import count

TOKEN = re.compile(r"/a/([A-Za-z0-9_-]+)")
PRACTITIONER = "case-dc4033052-1"
PRACTITIONER_EMAIL = "priya.okonjo@demo-county.example"
QA, LANO, LOGISTICS, COORDINATOR = "send-qa-manager", "head-improvement", "business-delivery", "inspection-coordinator"
PDF = b"%PDF-1.7 Demo County chronology (fictional)"


def ref(name: str) -> str:
    """Return the register ref of one of the case's items."""
    return f"{CASE}:{name}"


def asked(ctx: EngineContext, iid: str, name: str, step: str, round_no: int = 1) -> tuple[str, list[str]]:
    """Return the token in the ask email for this item, step and round, and whom it went to."""
    key = f"{iid}:{TRACKED_CASE.phase(CASE)}:{ref(name)}:{step}:r{round_no}:ask"
    try:
        message = read_outbox_message(ctx.transport.folder, outbox_id_for(key))
    except KeyError:
        raise AssertionError(f"no ask was sent: {key}") from None
    return TOKEN.search(message.text).group(1), message.to


def fields(name: str, step: str, round_no: int = 1, **extra: object) -> dict[str, object]:
    """Return the hidden fields of the item's form for this step and round (a submission's checklist all ticked)."""
    ticked = {"check": ALL_TICKED} if step == "submit" else {}
    return {"item_ref": ref(name), "step": step, "round": str(round_no), **ticked, **extra}


def item(ctx: EngineContext, name: str) -> m.RegisterItem:
    """Return the case's item `name` as stored."""
    with ctx.session() as session:
        return session.scalars(select(m.RegisterItem).where(m.RegisterItem.ref == ref(name))).one()


def tracked(ctx: EngineContext) -> m.TrackedCase:
    """Return the case's row as stored."""
    with ctx.session() as session:
        return session.scalars(select(m.TrackedCase).where(m.TrackedCase.child_id == CASE)).one()


def sent(ctx: EngineContext, template: str) -> list[m.EmailRecord]:
    """Return the ledger's records of the emails sent with `template`, oldest first."""
    with ctx.session() as session:
        return list(session.scalars(select(m.EmailRecord).where(m.EmailRecord.template == template)
                                    .order_by(m.EmailRecord.id)))


def case_people(ctx: EngineContext) -> list[str]:
    """Return the keys of the people added for the case."""
    with ctx.session() as session:
        return sorted(session.scalars(select(m.Person.person_key).where(m.Person.person_key.startswith("case-"))))


def answer(client: TestClient, ctx: EngineContext, iid: str, name: str, step: str, outcome: str, *, round_no: int = 1,
           files: dict[str, tuple[str, bytes, str]] | None = None, **extra: object) -> httpx.Response:
    """Open the ask email for the item's step and press `outcome` on its page with the extra fields."""
    token, _ = asked(ctx, iid, name, step, round_no)
    return client.post(f"/a/{token}", data=fields(name, step, round_no, outcome=outcome, **extra), files=files)


def reconcile(ctx: EngineContext, iid: str) -> PassResult:
    """Run one pass of the case's flow."""
    return reconcile_case(ctx, iid, CASE)


@pytest.fixture
def case(ctx: EngineContext) -> str:
    """Select one case, start its phase and run its first pass (the identify ask goes out); return the inspection."""
    iid = select_case(ctx)
    assert start_tracked_cases(ctx, iid) == [TRACKED_CASE.phase(CASE)]
    first = reconcile(ctx, iid)
    assert (first.sent, first.done) == (1, False)
    return iid


@pytest.fixture
def client(ctx: EngineContext) -> TestClient:
    """Return a client of the sign-off app on the test's database."""
    return TestClient(create_app(ctx))


def identify(client: TestClient, ctx: EngineContext, iid: str) -> None:
    """Name the practitioner, two settings' leads and one other practitioner through the identify page."""
    response = answer(client, ctx, iid, "practitioners", "identify", "identified", **good_form())
    assert response.status_code == 200, response.text


@pytest.fixture
def agreed(ctx: EngineContext, case: str, client: TestClient) -> str:
    """Take the case to the point where the family agreed and its documents and meetings are asked for."""
    identify(client, ctx, case)
    reconcile(ctx, case)
    assert answer(client, ctx, case, "family", "agree", "agreed").status_code == 200
    assert reconcile(ctx, case).items[-1].ref == ref("practitioners-meeting")
    assert tracked(ctx).status == "agreed"
    return case


def test_the_identify_page_shows_the_fields_and_records_nothing(ctx: EngineContext, case: str,
                                                                client: TestClient) -> None:
    """Opening the identify link (many times, as a scanner would) shows the staff fields and changes nothing."""
    token, to = asked(ctx, case, "practitioners", "identify")
    assert to == ["fiona.hargreaves@demo-county.example"]
    people = count(ctx, m.Person)
    for _ in range(3):
        page = client.get(f"/a/{token}")
        assert page.status_code == 200
    for name in ("practitioner_name", "practitioner_email", "practitioner_role", "settings", "others"):
        assert f'name="{name}"' in page.text
    assert "Record the practitioners and settings" in page.text and "never the child or their family" in page.text
    assert count(ctx, m.Person) == people and count(ctx, m.Decision) == 0
    assert (item(ctx, "practitioners").step, item(ctx, "practitioners").outcome) == ("identify", None)
    assert tracked(ctx).practitioner_key is None


def test_a_bad_settings_line_is_refused_and_nothing_is_recorded(ctx: EngineContext, case: str,
                                                                client: TestClient) -> None:
    """A settings line with two parts gets 422 naming the line; no one is added and the link still works."""
    people = count(ctx, m.Person)
    bad = good_form(settings="Oakfield Primary School; Tom Barraclough; t.barraclough@demo-county.example\n"
                             "Riverside Short Breaks; anita.desai-frost@demo-county.example")
    response = answer(client, ctx, case, "practitioners", "identify", "identified", **bad)
    assert response.status_code == 422
    assert "Nothing was recorded" in response.text
    assert "settings, line 2: expected 3 parts separated by" in response.text
    assert count(ctx, m.Person) == people and case_people(ctx) == []
    assert count(ctx, m.Decision) == 0
    stored = item(ctx, "practitioners")
    assert (stored.step, stored.round, stored.outcome) == ("identify", 1, None)
    assert tracked(ctx).practitioner_key is None and tracked(ctx).settings == []
    identify(client, ctx, case)  # the same link, corrected
    assert item(ctx, "practitioners").outcome == "identified"


def test_identified_staff_are_asked_and_each_setting_lead_told_once(ctx: EngineContext, case: str,
                                                                     client: TestClient) -> None:
    """A good form finishes the identify item; the next pass asks the practitioner and tells each setting lead."""
    identify(client, ctx, case)
    stored = item(ctx, "practitioners")
    assert (stored.outcome, stored.done_at) == ("identified", ctx.clock.now())
    assert tracked(ctx).practitioner_key == PRACTITIONER
    with ctx.session() as session:
        decision = session.scalars(select(m.Decision)).one()
    assert (decision.decided_by, decision.comment) == (QA, "2 setting(s), 2 practitioner(s) named")

    second = reconcile(ctx, case)
    assert second.sent == 3 and not second.done
    assert tracked(ctx).status == "identified"
    assert item(ctx, "family").evidence_lead == PRACTITIONER
    token, to = asked(ctx, case, "family", "agree")
    assert to == [PRACTITIONER_EMAIL]
    page = client.get(f"/a/{token}")
    assert page.status_code == 200 and "Priya Okonjo" in page.text and "The family agrees to take part" in page.text
    notices = sent(ctx, "case_setting_lead")
    assert [n.recipients for n in notices] == [["t.barraclough@demo-county.example"],
                                               ["anita.desai-frost@demo-county.example"]]
    assert all(CASE in n.subject for n in notices)

    third = reconcile(ctx, case)
    assert third.sent == 0
    assert len(sent(ctx, "case_setting_lead")) == 2


def test_operators_read_a_named_practitioner_by_key_never_by_name(ctx: EngineContext, case: str,
                                                                   client: TestClient) -> None:
    """The waiting reason (shown in Prefect) names staff of partnership.yaml, and a practitioner named on the case
    by their key only: their name and address stay in our database."""
    identify(client, ctx, case)
    reason = reconcile(ctx, case).reason
    assert f"{ref('family')} family agreement ({PRACTITIONER}) due" in reason
    assert "Priya Okonjo" not in reason and PRACTITIONER_EMAIL not in reason


def test_a_declined_family_goes_to_the_lano_and_a_replaced_case_finishes(ctx: EngineContext, case: str,
                                                                         client: TestClient) -> None:
    """Declined: the LANO is asked; "replace" closes the case as replaced and tells the coordinator and QA once."""
    identify(client, ctx, case)
    reconcile(ctx, case)
    assert answer(client, ctx, case, "family", "agree", "declined").status_code == 200
    result = reconcile(ctx, case)
    assert tracked(ctx).status == "declined" and not result.done
    assert [i.ref for i in result.items] == [ref("practitioners"), ref("family"), ref("inspectors")]
    assert item(ctx, "inspectors").evidence_lead == ctx.config.partnership.roles.lano == LANO
    token, to = asked(ctx, case, "inspectors", "inform")
    assert to == [ctx.config.partnership.person(LANO).email]
    assert "The inspectors will choose another child" in client.get(f"/a/{token}").text

    assert answer(client, ctx, case, "inspectors", "inform", "replace").status_code == 200
    done = reconcile(ctx, case)
    assert tracked(ctx).status == "replaced"
    assert done.done and done.next_wake_at is None and done.sent == 1
    notices = sent(ctx, "case_replaced")
    staff = ctx.config.partnership
    assert len(notices) == 1
    assert notices[0].recipients == [staff.person(COORDINATOR).email, staff.person(QA).email]
    assert_reads_as_reviewed(ctx.transport.folder, notices[0].key, kind="case_replaced",  # type: ignore[attr-defined]
                             at=to_london(notices[0].sent_at).isoformat(timespec="minutes"))
    assert reconcile(ctx, case).sent == 0 and len(sent(ctx, "case_replaced")) == 1
    assert len(done.items) == 3  # no documents or meetings are asked for a replaced child


def test_a_meeting_booking_needs_a_time_to_come_and_a_place(ctx: EngineContext, agreed: str,
                                                          client: TestClient) -> None:
    """Booking a meeting without a time, with a bad or past one, or without a place is refused; a good one is kept."""
    token, to = asked(ctx, agreed, "briefing", "arrange")
    assert to == [ctx.config.partnership.person(LOGISTICS).email]
    page = client.get(f"/a/{token}").text
    assert 'name="slot"' in page and 'name="location"' in page

    def book(**extra: str) -> httpx.Response:
        return client.post(f"/a/{token}", data=fields("briefing", "arrange", outcome="requested", **extra))

    missing = book(slot="", location="Teams")
    assert missing.status_code == 422 and "give the date and time requested" in missing.text
    bad = book(slot="next Tuesday", location="Teams")
    assert bad.status_code == 422 and "is not a date and time" in bad.text
    past = book(slot="2023-06-26T08:00", location="Teams")
    assert past.status_code == 422 and "has passed: give a time still to come" in past.text
    after = book(slot="2023-07-14T15:00", location="Teams")
    assert after.status_code == 422 and "fieldwork ends Fri 14 Jul 2023 14:00: give a time before then" in after.text
    nowhere = book(slot="2023-07-04T10:00", location="  ")
    assert nowhere.status_code == 422 and "say where the meeting is" in nowhere.text
    assert 'value="2023-07-04T10:00"' in nowhere.text  # what was typed comes back
    assert count(ctx, m.Decision) == 2 and item(ctx, "briefing").outcome is None  # identify and agree only

    ok = book(slot="2023-07-04T10:00", location="Demo House,  Room 4", comment="Both settings'   leads invited")
    assert ok.status_code == 200
    assert item(ctx, "briefing").outcome == "requested"
    with ctx.session() as session:
        decision = session.scalars(select(m.Decision).where(m.Decision.item_id == item(ctx, "briefing").id)).one()
    assert decision.comment == ("booked for Tue 04 Jul 2023 10:00 (Europe/London) at Demo House, Room 4; "
                                "Both settings' leads invited")
    assert decision.details == {"start": "2023-07-04T10:00:00+01:00", "location": "Demo House, Room 4"}


def test_booked_meetings_go_on_the_timetable_with_invitations_to_the_people_named(
        ctx: EngineContext, agreed: str, client: TestClient) -> None:
    """Each meeting booked becomes a slot of the case on the timetable, invited to those tracked_cases.yaml names:
    the briefing and the practitioners' meeting everyone named on the case, the family meeting the practitioner who
    knows the child best (who invites the family); each invitation goes once."""
    for name, when in (("briefing", "2023-07-03T09:30"), ("family-meeting", "2023-07-04T11:00"),
                       ("practitioners-meeting", "2023-07-05T14:00")):
        assert answer(client, ctx, agreed, name, "arrange", "requested", slot=when,
                      location="Demo House, Room 4").status_code == 200
    reconcile(ctx, agreed)
    named = {"practitioner": PRACTITIONER, "setting leads": ["case-dc4033052-2", "case-dc4033052-3"],
             "others": ["case-dc4033052-4"]}
    with ctx.session() as session:
        slots = {s.slot_id: s for s in session.scalars(select(m.FieldworkSlot))}
    assert {k: (s.origin, s.kind, s.start_at.isoformat(), s.end_at - s.start_at, s.attendees) for k, s in
            slots.items()} == {
        f"{CASE}-briefing": (f"case:{CASE}", "practitioners-briefing", "2023-07-03T08:30:00+00:00",
                             timedelta(minutes=45), [PRACTITIONER, *named["others"], *named["setting leads"], QA]),
        f"{CASE}-family-meeting": (f"case:{CASE}", "tracking-meeting", "2023-07-04T10:00:00+00:00",
                                   timedelta(hours=1), [PRACTITIONER]),
        f"{CASE}-practitioners-meeting": (f"case:{CASE}", "tracking-meeting", "2023-07-05T13:00:00+00:00",
                                          timedelta(hours=1), [PRACTITIONER, *named["others"],
                                                               *named["setting leads"]])}
    assert slots[f"{CASE}-family-meeting"].title == f"Tracking meeting with the child and their family (week 2): " \
        f"case {CASE}"
    invitations = sent(ctx, "slot_invitation")
    assert [(i.key.split(":")[4], len(i.recipients)) for i in invitations] == [
        (f"{CASE}-briefing", 5), (f"{CASE}-family-meeting", 1), (f"{CASE}-practitioners-meeting", 4)]
    assert invitations[1].recipients == [PRACTITIONER_EMAIL]
    assert "You are invited to a meeting of the inspection:" in read_outbox_message(
        ctx.transport.folder, outbox_id_for(invitations[1].key)).text
    assert reconcile(ctx, agreed).sent == 0 and len(sent(ctx, "slot_invitation")) == 3


def test_the_lano_returns_a_document_only_with_a_comment(ctx: EngineContext, agreed: str, client: TestClient) -> None:
    """The LANO's review may return a document only with a comment; it then goes back to its provider for round 2."""
    audit = item(ctx, "audit")
    assert (audit.evidence_lead, audit.accountable_lead) == (QA, LANO)
    submitted = answer(client, ctx, agreed, "audit", "submit", "submitted",
                       link_url="https://records.demo-county.example/audit/dc4033052")
    assert submitted.status_code == 200
    reconcile(ctx, agreed)
    token, to = asked(ctx, agreed, "audit", "review")
    assert to == [ctx.config.partnership.person(LANO).email]
    page = client.get(f"/a/{token}")
    assert "https://records.demo-county.example/audit/dc4033052" in page.text

    refused = client.post(f"/a/{token}", data=fields("audit", "review", outcome="returned", comment="  "))
    assert refused.status_code == 422 and "say why you are returning it" in refused.text
    assert (item(ctx, "audit").step, item(ctx, "audit").round) == ("review", 1)

    returned = client.post(f"/a/{token}", data=fields("audit", "review", outcome="returned",
                                                      comment="Add the impact of the plan's last review"))
    assert returned.status_code == 200
    stored = item(ctx, "audit")
    assert (stored.step, stored.round, stored.outcome) == ("submit", 2, None)
    reconcile(ctx, agreed)
    again, to = asked(ctx, agreed, "audit", "submit", 2)
    assert to == [ctx.config.partnership.person(QA).email]
    assert "Add the impact of the plan&#39;s last review" in client.get(f"/a/{again}").text


def test_a_case_document_upload_stays_out_of_the_evidence_library(ctx: EngineContext, agreed: str,
                                                                  client: TestClient) -> None:
    """A file uploaded for a tracked child is kept with the case's submission, never in the partnership's library."""
    chronology = item(ctx, "chronology")
    assert chronology.evidence_lead == PRACTITIONER
    response = answer(client, ctx, agreed, "chronology", "submit", "submitted",
                      files={"file": ("Chronology.pdf", PDF, "application/pdf")})
    assert response.status_code == 200, response.text
    assert count(ctx, m.LibraryDocument) == 0
    with ctx.session() as session:
        submission = session.scalars(select(m.Submission)).one()
    assert (submission.item_id, submission.filename, submission.size_bytes) == (chronology.id, "Chronology.pdf",
                                                                               len(PDF))
    assert submission.submitted_by == PRACTITIONER
    assert Path(submission.stored_path).parent == ctx.uploads_dir / agreed / CASE / "chronology"
    assert item(ctx, "chronology").step == "review"



def test_a_refused_identify_form_comes_back_with_what_was_typed(ctx: EngineContext, case: str,
                                                                 client: TestClient) -> None:
    """When the identify form is refused, every field comes back filled in as typed, so nothing is lost."""
    settings = "Oakfield Primary School; Tom Barraclough\nDemo Unit; Owen Castell; owen.castell@demo-county.example"
    response = answer(client, ctx, case, "practitioners", "identify", "identified", **good_form(settings=settings))
    assert response.status_code == 422
    assert 'value="Priya Okonjo"' in response.text
    assert "Demo Unit; Owen Castell; owen.castell@demo-county.example</textarea>" in response.text


def test_a_lead_of_two_settings_gets_one_notice_naming_both(ctx: EngineContext, case: str, client: TestClient) -> None:
    """A lead named for two settings is told once, and the notice names both settings."""
    settings = ("Oakfield Primary School; Tom Barraclough; t.barraclough@demo-county.example\n"
                "Oakfield Nursery; Tom Barraclough; t.barraclough@demo-county.example")
    response = answer(client, ctx, case, "practitioners", "identify", "identified", **good_form(settings=settings))
    assert response.status_code == 200
    reconcile(ctx, case)
    notices = sent(ctx, "case_setting_lead")
    assert len(notices) == 1
    text = read_outbox_message(ctx.transport.folder, outbox_id_for(notices[0].key)).text
    assert "Oakfield Primary School and Oakfield Nursery" in " ".join(text.split())


def test_a_slot_without_a_time_is_refused(ctx: EngineContext, agreed: str, client: TestClient) -> None:
    """A meeting slot given as a date alone is refused rather than recorded as midnight."""
    response = answer(client, ctx, agreed, "briefing", "arrange", "requested", slot="2023-07-04")
    assert response.status_code == 422
    assert "has no time" in response.text


def test_a_documents_ask_names_the_case_once_and_reads_as_a_sentence(ctx: EngineContext, agreed: str) -> None:
    """The chronology's ask says the case id once in its subject and in its text, with no step id or group."""
    key = f"{agreed}:{TRACKED_CASE.phase(CASE)}:{ref('chronology')}:submit:r1:ask"
    message = read_outbox_message(ctx.transport.folder, outbox_id_for(key))
    title = item(ctx, "chronology").title.removeprefix(f"{CASE}: ")
    assert message.subject.startswith(f"{CASE}: {title} – please submit the evidence (due ")
    assert message.subject.count(CASE) == 1 and f"{CASE}:chronology" not in (message.text or "")
    assert f"please submit the evidence.\n\nTracked case {CASE}: {title}\n\nOpen your personal link" in (
        message.text or "")
