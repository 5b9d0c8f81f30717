"""Fieldwork invitations as Outlook meeting requests when mail goes by EWS (real exchangelib, local endpoint)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from send_inspection.calendar import LONDON
from send_inspection.clock import VirtualClock
from send_inspection.config.loader import calendar_for
from send_inspection.config.models import PartnershipConfig
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.fieldwork_phase import reconcile_fieldwork
from send_inspection.engine.inspection import open_inspection
from send_inspection.fieldwork.store import save_timetable
from send_inspection.fieldwork.timetable import Slot
from send_inspection.mail.ews import EwsTransport
from tests.conftest import NOTIFIED, fresh_database
from tests.mail.ews_server import SOAP, EwsServer, M, T

LOGISTICS = "inspection-logistics@demo-county.example"
ATTENDEES = ["catherine.lowther@demo-county.example", "samantha.cole-brierley@demo-county.example"]


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """Return a London time in week 3 (Monday 10 to Friday 14 July 2023)."""
    return datetime(2023, 7, day, hour, minute, tzinfo=LONDON)


def slot(slot_id: str, start: datetime) -> Slot:
    """Return an hour's meeting slot with two attendees and a debriefer."""
    return Slot(slot_id=slot_id, kind="leaders-meeting", title=f"Meeting {slot_id} with SEND leaders", start=start,
                end=start + timedelta(hours=1), location="Demo House, Room 2", attendees=("hos-send", "dir-inclusion"),
                debriefer="hos-send", focus="Joint commissioning")


@pytest.fixture
def ews_ctx(tmp_path: Path, demo_config: PartnershipConfig, clock: VirtualClock, server: EwsServer) -> EngineContext:
    """Return an engine context whose mail goes through EWS to the local endpoint."""
    transport = EwsTransport(server.url, "Exchange2016", auth="basic", username="svc-send", secret="demo-secret",
                             max_wait=2.0)
    return EngineContext(config=demo_config, calendar=calendar_for(demo_config), db_url=fresh_database(tmp_path),
                         clock=clock, transport=transport, base_url="http://testserver", uploads_dir=tmp_path / "up",
                         check_links=False)


@pytest.fixture
def inspection(ews_ctx: EngineContext) -> str:
    """Open the demo inspection, import two Monday slots and move to 09:00 on Monday of week 3."""
    iid = open_inspection(ews_ctx, NOTIFIED, mode="rehearsal")
    ews_ctx.clock.set(at(10, 9))  # type: ignore[attr-defined]
    save_timetable(ews_ctx, iid, [slot("S1", at(10, 10)), slot("S2", at(10, 14))])
    return iid


def pending(ctx: EngineContext) -> dict[str, int]:
    """Return how many calendar messages each slot still has to send."""
    with ctx.session() as session:
        return {s.slot_id: len(s.pending_calendar) for s in session.scalars(select(m.FieldworkSlot))}


def test_each_slot_is_invited_with_an_outlook_meeting_request_at_its_london_time(
        ews_ctx: EngineContext, inspection: str, server: EwsServer) -> None:
    """Each slot becomes a meeting in the logistics calendar, sent to its attendees at 10:00 BST; no .ics email."""
    first = reconcile_fieldwork(ews_ctx, inspection)
    assert first.sent == 2 and first.mail_failures == []
    assert [(mail.kind, mail.organizer, mail.to, mail.start) for mail in server.meeting_mail] == [
        ("request", LOGISTICS, ATTENDEES, "2023-07-10T10:00:00+01:00"),
        ("request", LOGISTICS, ATTENDEES, "2023-07-10T14:00:00+01:00")]
    body = ET.fromstring(server.requests("CreateItem")[0]).find(f"{{{SOAP}}}Body")
    assert body is not None
    item = body[0].find(f"{{{M}}}Items/{{{T}}}CalendarItem")
    assert item is not None and item.findtext(f"{{{T}}}Subject") == "Meeting S1 with SEND leaders"
    assert item.find(f"{{{T}}}StartTimeZone").get("Id") == "GMT Standard Time"  # type: ignore[union-attr]
    assert "Timetable slot S1." in (item.findtext(f"{{{T}}}Body") or "")  # the .ics description's text
    assert server.sent == []  # no email with an .ics
    assert pending(ews_ctx) == {"S1": 0, "S2": 0}
    assert reconcile_fieldwork(ews_ctx, inspection).sent == 0 and len(server.meeting_mail) == 2


def test_a_moved_slot_sends_an_update_and_a_removed_one_a_cancellation(
        ews_ctx: EngineContext, inspection: str, server: EwsServer) -> None:
    """Moving S1 to 11:00 updates its meeting for both attendees; taking S2 off cancels it; putting it back invites."""
    reconcile_fieldwork(ews_ctx, inspection)
    save_timetable(ews_ctx, inspection, [slot("S1", at(10, 11))])
    assert reconcile_fieldwork(ews_ctx, inspection).sent == 2
    update, cancellation = server.meeting_mail[2:]
    assert (update.kind, update.to, update.start, update.subject) == ("update", ATTENDEES,
                                                                     "2023-07-10T11:00:00+01:00",
                                                                     "Meeting S1 with SEND leaders")
    assert (cancellation.kind, cancellation.to, cancellation.subject) == ("cancellation", ATTENDEES,
                                                                         "Meeting S2 with SEND leaders")
    with ews_ctx.session() as session:
        meetings = {r.key.rsplit(":", 1)[1]: (r.status, r.sequence) for r in session.scalars(select(m.EwsMeeting))}
    assert meetings == {"S1": ("sent", 1), "S2": ("cancelled", 0)}
    save_timetable(ews_ctx, inspection, [slot("S1", at(10, 11)), slot("S2", at(10, 15))])
    assert reconcile_fieldwork(ews_ctx, inspection).sent == 1
    again = server.meeting_mail[-1]
    assert (again.kind, again.start) == ("request", "2023-07-10T15:00:00+01:00")  # a new meeting, key S2#1
    assert pending(ews_ctx) == {"S1": 0, "S2": 0}


def test_a_meeting_that_cannot_be_sent_stays_pending(ews_ctx: EngineContext, inspection: str,
                                                     server: EwsServer) -> None:
    """A server that is down for the slots leaves their messages pending and says so; the next pass sends them."""
    server.script.item_error = "ErrorServerBusy"
    failed = reconcile_fieldwork(ews_ctx, inspection)
    assert failed.sent == 0 and len(failed.mail_failures) == 2 and failed.reason.startswith("MAIL PROBLEM")
    assert pending(ews_ctx) == {"S1": 1, "S2": 1}
    server.script.item_error = None
    ews_ctx.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    assert reconcile_fieldwork(ews_ctx, inspection).sent == 2
    assert pending(ews_ctx) == {"S1": 0, "S2": 0}


def test_the_partnerships_own_meetings_go_as_outlook_meetings_by_their_own_phase(
        ews_ctx: EngineContext, inspection: str, server: EwsServer) -> None:
    """A KIT meeting is a meeting in the logistics calendar too, sent by the keeping-in-touch pass (never by the
    fieldwork one) and held in the quiet hours like any email; someone added to it from outside partnership.yaml gets
    the update, by their address."""
    from send_inspection.engine.inspection import people
    from send_inspection.engine.mail_retry import MailFailures
    from send_inspection.engine.named_people import NamedPerson, add_named_person
    from send_inspection.fieldwork.slot_invitations import send_slot_invitations
    from send_inspection.fieldwork.store import save_slots

    kit = Slot(slot_id="KIT-2023-07-10", kind="internal-kit", title="Keeping-in-touch (KIT) meeting, Mon 10 Jul",
               start=at(10, 17, 30), end=at(10, 18, 30), location="Demo House, Room 1", attendees=("dir-inclusion",))
    save_slots(ews_ctx, inspection, [kit], origin="kit")
    reconcile_fieldwork(ews_ctx, inspection)
    assert [mail.subject for mail in server.meeting_mail] == ["Meeting S1 with SEND leaders",
                                                             "Meeting S2 with SEND leaders"]

    def send_kit() -> int:
        with ews_ctx.session() as session:
            staff = people(session, inspection)
        return send_slot_invitations(ews_ctx, inspection, origin="kit", key_prefix=f"{inspection}:kit", staff=staff,
                                     now=ews_ctx.clock.now(), mail=MailFailures(ews_ctx.mail_retry), wake_times=[])

    ews_ctx.clock.set(at(10, 19, 30))  # type: ignore[attr-defined]  # the quiet hours: held, still pending
    assert send_kit() == 0 and pending(ews_ctx)["KIT-2023-07-10"] == 1 and len(server.meeting_mail) == 2
    ews_ctx.clock.set(at(11, 7, 30))  # type: ignore[attr-defined]
    assert send_kit() == 1
    with ews_ctx.session() as session:
        jasmine = add_named_person(session, inspection, NamedPerson("Jasmine Fairweather",
                                                                    "jasmine.fairweather@demo-icb.nhs.example"),
                                   origin="kit", key_prefix="kit", escalates_to="cht-ddo-cyp")
        session.commit()
    save_slots(ews_ctx, inspection, [replace(kit, attendees=("dir-inclusion", jasmine))], origin="kit")
    assert send_kit() == 1
    invited, added = server.meeting_mail[2:]
    assert (invited.kind, invited.organizer, invited.to, invited.start) == (
        "request", LOGISTICS, ["samantha.cole-brierley@demo-county.example"], "2023-07-10T17:30:00+01:00")
    assert (added.kind, added.to) == ("update", ["jasmine.fairweather@demo-icb.nhs.example"])
    assert server.sent == [] and pending(ews_ctx) == {"S1": 0, "S2": 0, "KIT-2023-07-10": 0}
