"""Fieldwork: debriefs asked after each slot, red ones escalated at once, requested documents."""

from __future__ import annotations

import email
import email.policy
import io
import re
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from send_inspection.calendar import LONDON
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.fieldwork_phase import reconcile_fieldwork
from send_inspection.engine.inspection import open_inspection
from send_inspection.fieldwork.store import InspectionNotFound, save_timetable
from send_inspection.fieldwork.timetable import Slot
from send_inspection.mail.outbox import outbox_id_for, read_outbox_message
from send_inspection.web.app import create_app
from tests.conftest import NOTIFIED

TOKEN = re.compile(r"/a/([A-Za-z0-9_-]+)")
GOOD = {"interviewees": "Two SENCOs and an early help lead", "job_title": "SENCOs; Early Help Lead",
        "contact": "early.help@demo-county.example", "service_area": "Education and early help",
        "focus": "Transition to secondary school", "evidence_used": "The transition protocol",
        "documents_provided": "The transition protocol", "documents_requested": "none",
        "unexpected_questions": "How are parents told about the local offer?",
        "how_answered": "Through the SENCO network and the local offer website",
        "points_for_others": "Expect questions on annual reviews", "rating": "green",
        "overall_summary": "A positive meeting; annual reviews will come up again"}


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """Return a London time in week 3 (Monday 10 to Friday 14 July 2023)."""
    return datetime(2023, 7, day, hour, minute, tzinfo=LONDON)


def slot(slot_id: str, start: datetime, *, debriefer: str = "hos-send", minutes: int = 60,
         location: str = "Demo House, Room 2") -> Slot:
    """Return a meeting slot with two attendees and a debriefer."""
    return Slot(slot_id=slot_id, kind="leaders-meeting", title=f"Meeting {slot_id} with SEND leaders", start=start,
                end=start + timedelta(minutes=minutes), location=location, attendees=("hos-send", "dir-inclusion"),
                debriefer=debriefer, focus="Joint commissioning")


@pytest.fixture
def inspection(ctx: EngineContext) -> str:
    """Open the demo inspection, import two Monday slots and move to 09:00 on Monday of week 3."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    ctx.clock.set(at(10, 9))  # type: ignore[attr-defined]
    save_timetable(ctx, iid, [slot("S1", at(10, 10)), slot("S2", at(10, 14), debriefer="hos-education")])
    return iid


def sent(ctx: EngineContext, template: str) -> list[m.EmailRecord]:
    """Return the ledger rows of emails sent with `template`."""
    with ctx.session() as session:
        return list(session.scalars(select(m.EmailRecord).where(m.EmailRecord.template == template)
                                    .order_by(m.EmailRecord.id)))


def debrief_link(ctx: EngineContext, iid: str, slot_id: str) -> str:
    """Return the link in the debrief ask for the slot."""
    key = f"{iid}:fieldwork:debrief-{slot_id}:debrief:r1:ask"
    return "/a/" + TOKEN.search(read_outbox_message(ctx.transport.folder, outbox_id_for(key)).text or "").group(1)


def post(client: TestClient, link: str, slot_id: str, **fields: str) -> int:
    """Send the debrief form and return the status code."""
    data = {"item_ref": f"debrief-{slot_id}", "step": "debrief", "round": "1", "outcome": "debriefed", **fields}
    return client.post(link, data=data).status_code


def test_the_debrief_is_asked_when_the_slot_ends_not_before(ctx: EngineContext, inspection: str) -> None:
    """Before the slot ends nobody is asked; at its end the debriefer gets the form, due two hours later."""
    first = reconcile_fieldwork(ctx, inspection)
    assert first.sent == 2 and first.next_wake_at == at(10, 11)  # the two slots' invitations, no debrief yet
    ctx.clock.set(at(10, 11))  # type: ignore[attr-defined]
    assert reconcile_fieldwork(ctx, inspection).sent == 1
    asks = sent(ctx, "action-ask")
    assert [a.recipients for a in asks] == [["catherine.lowther@demo-county.example"]]
    assert reconcile_fieldwork(ctx, inspection).items[0].due_at == "Mon 10 Jul 13:00"


def test_a_debrief_with_missing_fields_is_refused_naming_them(ctx: EngineContext, inspection: str) -> None:
    """A debrief without focus or rating is refused with both named, and nothing is kept."""
    ctx.clock.set(at(10, 11))  # type: ignore[attr-defined]
    reconcile_fieldwork(ctx, inspection)
    client = TestClient(create_app(ctx))
    link = debrief_link(ctx, inspection, "S1")
    page = client.post(link, data={"item_ref": "debrief-S1", "step": "debrief", "round": "1",
                                   "outcome": "debriefed", **{**GOOD, "focus": " ", "rating": ""}})
    assert page.status_code == 422
    assert "the main focus of the interview: the key topics or issues it concentrated on: missing" in page.text
    assert "rating: choose green, amber or red" in page.text
    assert "Two SENCOs and an early help lead" in page.text  # what was typed comes back
    with ctx.session() as session:
        assert session.scalars(select(m.Debrief)).first() is None
    assert post(client, link, "S1", **GOOD) == 200


def test_a_red_debrief_goes_at_once_to_the_director_and_comms_and_documents_become_requests(
        ctx: EngineContext, inspection: str) -> None:
    """Red reaches the debriefer's director and the comms inbox once; each document requested starts one request."""
    ctx.clock.set(at(10, 11))  # type: ignore[attr-defined]
    reconcile_fieldwork(ctx, inspection)
    red = {**GOOD, "rating": "red", "documents_requested": "Annual review audit 2023\nnone\nAP quality framework"}
    assert post(TestClient(create_app(ctx)), debrief_link(ctx, inspection, "S1"), "S1", **red) == 200
    reconcile_fieldwork(ctx, inspection)
    reconcile_fieldwork(ctx, inspection)
    alerts = sent(ctx, "debrief_red")
    assert [a.recipients for a in alerts] == [["samantha.cole-brierley@demo-county.example",
                                               "send-inspection.comms@demo-county.example"]]
    with ctx.session() as session:
        requests = list(session.scalars(select(m.EvidenceRequest).order_by(m.EvidenceRequest.number)))
    assert [(r.number, r.source, r.head_of_service) for r in requests] == [(1, "debrief", "hos-send"),
                                                                           (2, "debrief", "hos-send")]
    assert requests[0].asked.startswith("Annual review audit 2023 (asked for in: Meeting S1")


def test_a_moved_slot_moves_its_debrief_and_a_cancelled_one_cancels_it(ctx: EngineContext, inspection: str) -> None:
    """Moving a slot moves its debrief's ask and deadline; removing it cancels the debrief."""
    save_timetable(ctx, inspection, [slot("S1", at(10, 15)), slot("S2", at(10, 14), debriefer="hos-education")])
    ctx.clock.set(at(10, 11))  # type: ignore[attr-defined]
    assert not [e for e in sent(ctx, "action-ask")]  # S1 now ends at 16:00
    reconcile_fieldwork(ctx, inspection)
    changes = save_timetable(ctx, inspection, [slot("S1", at(10, 15))])
    assert [s.slot_id for s in changes.removed] == ["S2"]
    result = reconcile_fieldwork(ctx, inspection)
    states = {s.ref: (s.outcome, s.due_at) for s in result.items}
    assert states == {"debrief-S1": (None, "Mon 10 Jul 18:00"), "debrief-S2": ("cancelled", "Mon 10 Jul 17:00")}


def test_invitations_go_to_each_slots_attendees_and_a_change_updates_exactly_them(ctx: EngineContext,
                                                                                  inspection: str) -> None:
    """Each slot's attendees get a REQUEST in London time; moving one slot sends SEQUENCE 1 to its attendees only."""
    import icalendar

    reconcile_fieldwork(ctx, inspection)
    moved = slot("S2", at(10, 15), debriefer="hos-education", location="Demo House, Room 5")
    save_timetable(ctx, inspection, [slot("S1", at(10, 10)), moved])
    reconcile_fieldwork(ctx, inspection)
    reconcile_fieldwork(ctx, inspection)
    rows = sent(ctx, "slot_invitation")
    assert [r.key.split(":fieldwork:calendar:")[1] for r in rows] == [
        "S1:s0:REQUEST:hos-send,dir-inclusion", "S2:s0:REQUEST:hos-send,dir-inclusion",
        "S2:s1:REQUEST:hos-send,dir-inclusion"]
    update = read_outbox_message(ctx.transport.folder, outbox_id_for(rows[-1].key))
    assert update.to == ["catherine.lowther@demo-county.example", "samantha.cole-brierley@demo-county.example"]
    assert update.subject.startswith("Updated: Meeting S2")
    eml = email.message_from_bytes((ctx.transport.folder / f"{outbox_id_for(rows[-1].key)}.eml").read_bytes(),
                                   policy=email.policy.default)
    ics = next(part.get_payload(decode=True) for part in eml.walk() if part.get_content_type() == "text/calendar")
    event = next(iter(icalendar.Calendar.from_ical(ics).walk("VEVENT")))
    assert event.decoded("dtstart") == at(10, 15) and str(event["dtstart"].params["TZID"]) == "Europe/London"
    assert int(event["sequence"]) == 1 and str(event["location"]) == "Demo House, Room 5"


def test_a_timetable_for_an_unknown_inspection_is_refused_and_nothing_is_saved(ctx: EngineContext) -> None:
    """Importing before the inspection exists says so plainly and keeps nothing."""
    with pytest.raises(InspectionNotFound, match="no inspection 'demo-county-2099-01-05'"):
        save_timetable(ctx, "demo-county-2099-01-05", [slot("S1", at(10, 10))])
    with ctx.session() as session:
        assert session.scalars(select(m.FieldworkSlot)).first() is None


def test_a_debriefer_named_by_address_is_asked_and_shown_to_operators_by_key(ctx: EngineContext,
                                                                             inspection: str) -> None:
    """Someone the timetable names by address debriefs through their own link like staff; the day's KIT artifact
    names them by key, their name kept in our database only."""
    from send_inspection.engine.fieldwork_phase import kit_markdown, kit_summary

    save_timetable(ctx, inspection, [slot("S1", at(10, 10), debriefer="Tom Barraclough <tom.barraclough@demo-valley-"
                                                                      "school.example>")])
    ctx.clock.set(at(10, 11))  # type: ignore[attr-defined]
    reconcile_fieldwork(ctx, inspection)
    assert sent(ctx, "action-ask")[0].recipients == ["tom.barraclough@demo-valley-school.example"]
    assert post(TestClient(create_app(ctx)), debrief_link(ctx, inspection, "S1"), "S1", **GOOD) == 200
    markdown = kit_markdown(kit_summary(ctx, inspection, at(10, 10).date()))
    assert "debrief by timetable-1" in markdown and "Barraclough" not in markdown
def test_the_debrief_keeps_appendix_e_in_full_and_its_sheet_is_named_date_initials_summary(
        ctx: EngineContext, inspection: str) -> None:
    """Name, job title, contact, service area, documents both ways, how questions were answered and the summary
    are kept; the sheet is "10.07.23 CL Summary" with the RAG definitions in the guidance's words."""
    from docx import Document

    from send_inspection.fieldwork.debrief_form import RAG
    from send_inspection.fieldwork.debrief_sheet import debrief_sheets

    ctx.clock.set(at(10, 11))  # type: ignore[attr-defined]
    reconcile_fieldwork(ctx, inspection)
    client = TestClient(create_app(ctx))
    link = debrief_link(ctx, inspection, "S1")
    form = {"item_ref": "debrief-S1", "step": "debrief", "round": "1", "outcome": "debriefed"}
    refused = client.post(link, data={**form, **GOOD, "how_answered": "", "overall_summary": ""})
    assert refused.status_code == 422
    assert "how they were answered: missing" in refused.text and "overall summary: missing" in refused.text
    assert RAG["amber"] in client.get(link).text  # the definitions as the guidance words them
    no_questions = {**GOOD, "unexpected_questions": "none", "how_answered": ""}  # nothing unexpected: nothing to say
    assert post(client, link, "S1", **no_questions) == 200
    with ctx.session() as session:
        kept = session.scalars(select(m.Debrief)).one()
    assert (kept.job_title, kept.contact, kept.service_area) == ("SENCOs; Early Help Lead",
                                                                 "early.help@demo-county.example",
                                                                 "Education and early help")
    assert (kept.documents_provided, kept.documents_requested) == (["The transition protocol"], [])
    assert kept.overall_summary == GOOD["overall_summary"]
    ((name, data),) = debrief_sheets(ctx, inspection)
    assert name == "10.07.23 CL Summary.docx"  # Catherine Lowther debriefed on 10 July 2023
    text = "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)
    cells = [c.text for t in Document(io.BytesIO(data)).tables for row in t.rows for c in row.cells]
    assert "Overall Summary:" in text and GOOD["overall_summary"] in text
    assert f"GREEN: {RAG['green']}" in cells and "✓" in cells
