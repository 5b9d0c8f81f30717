"""Additional evidence requests: same-day deadlines, the chain through the sign-off pages, lateness reported once."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from send_inspection.calendar import LONDON
from send_inspection.db import models as m
from send_inspection.engine.additional_requests import (
    RequestRefused,
    due_time,
    reconcile_request,
    record_request,
    requests_overview,
)
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import open_inspection
from send_inspection.mail.outbox import outbox_id_for, read_outbox_message
from send_inspection.web.app import create_app
from tests.conftest import NOTIFIED
from tests.helpers import ALL_TICKED

TOKEN = re.compile(r"/a/([A-Za-z0-9_-]+)")
ASKED = "The partnership's SEND sufficiency plan and its latest update to the schools forum."
LANO, HOS, ACCOUNTABLE = "head-improvement", "hos-send", "dir-inclusion"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """Return a London time in the week of 3 July 2023 (Monday 3 to Friday 7)."""
    return datetime(2023, 7, day, hour, minute, tzinfo=LONDON)


@pytest.mark.parametrize(("received", "due"), [
    (at(3, 10), at(3, 18)),             # Monday morning: the same day at 18:00
    (at(3, 16), at(3, 18)),             # on the hour it turns: still the same day
    (at(3, 16, 30), at(4, 10)),         # after 16:00: 10:00 the next working day
    (at(7, 16, 30), at(10, 10)),        # Friday afternoon: Monday
    (datetime(2023, 8, 25, 17, tzinfo=LONDON), datetime(2023, 8, 29, 10, tzinfo=LONDON)),  # bank holiday Monday
])
def test_a_request_is_due_the_same_day_unless_it_comes_late(ctx: EngineContext, received: datetime,
                                                            due: datetime) -> None:
    """A request is due at 18:00 the day it arrives, or at 10:00 the next working day after 16:00."""
    assert due_time(ctx, received) == due


@pytest.fixture
def inspection(ctx: EngineContext) -> str:
    """Open the demo inspection and move the clock to Monday of week 2, 10:00."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    ctx.clock.set(at(3, 10))  # type: ignore[attr-defined]
    return iid


def ask_link(ctx: EngineContext, iid: str, number: int, step: str, round_no: int = 1) -> str:
    """Return the personal link in the ask email for the request's step."""
    key = f"{iid}:request:{number}:request-{number}:{step}:r{round_no}:ask"
    text = read_outbox_message(ctx.transport.folder, outbox_id_for(key)).text or ""
    return f"/a/{TOKEN.search(text).group(1)}"


def answer(client: TestClient, link: str, number: int, step: str, outcome: str, round_no: int = 1,
           **extra: object) -> httpx.Response:
    """Press `outcome` on the page behind `link` with the extra fields."""
    data = {"item_ref": f"request-{number}", "step": step, "round": str(round_no), "outcome": outcome, **extra}
    return client.post(link, data=data)


def ledger(ctx: EngineContext, template: str) -> list[m.EmailRecord]:
    """Return the ledger rows of the emails sent with `template`."""
    with ctx.session() as session:
        return list(session.scalars(select(m.EmailRecord).where(m.EmailRecord.template == template)))


def test_recording_refuses_unknown_people_and_empty_text(ctx: EngineContext, inspection: str) -> None:
    """A request naming an unknown person or asking for nothing is refused and nothing is recorded."""
    with pytest.raises(RequestRefused, match="head of service: 'hos-nobody' is not a person id"):
        record_request(ctx, inspection, ASKED, inspector="HMI Demo", head_of_service="hos-nobody")
    with pytest.raises(RequestRefused, match="what the inspector asked for is missing"):
        record_request(ctx, inspection, "  ", inspector="HMI Demo", head_of_service=HOS)
    with ctx.session() as session:
        assert session.scalar(select(func.count()).select_from(m.EvidenceRequest)) == 0


def test_a_request_goes_confirm_submit_signoff_send_the_same_day(ctx: EngineContext, inspection: str) -> None:
    """The LANO and head of service are told (evidence inbox copied); each step asks the next person; done by 18:00."""
    number = record_request(ctx, inspection, ASKED, inspector="HMI Demo", head_of_service=HOS)
    assert number == 1
    first = reconcile_request(ctx, inspection, number)
    assert (first.sent, first.done) == (2, False)  # the notice and the head of service's ask
    notice = ledger(ctx, "request_received")
    assert len(notice) == 1
    message = read_outbox_message(ctx.transport.folder, outbox_id_for(notice[0].key))
    assert message.to == ["nadia.pemberton@demo-county.example", "catherine.lowther@demo-county.example"]
    assert message.cc == ["send.evidence@demo-county.example"]
    assert message.reply_to == "send.evidence@demo-county.example"  # where the request's own asks reply
    assert ASKED in " ".join((message.text or "").split())
    client = TestClient(create_app(ctx))
    link = ask_link(ctx, inspection, number, "confirm")
    assert ASKED in " ".join(html.unescape(client.get(link).text).split())
    assert answer(client, link, number, "confirm", "exists").status_code == 422  # by when is needed
    assert answer(client, link, number, "confirm", "exists", comment="Today 14:00").status_code == 200
    for step, person_outcome in (("submit", {"outcome": "submitted", "check": ALL_TICKED,
                                           "link_url": "https://evidence.demo-county.example/s"}),
                                 ("approve", {"outcome": "approved"}), ("upload", {"outcome": "confirmed"})):
        reconcile_request(ctx, inspection, number)
        ctx.clock.advance(timedelta(minutes=20))  # type: ignore[attr-defined]
        link = ask_link(ctx, inspection, number, step)
        response = answer(client, link, number, step, **person_outcome)  # type: ignore[arg-type]
        assert response.status_code == 200, response.text[:300]
    done = reconcile_request(ctx, inspection, number)
    assert done.done and done.items[0].outcome == "uploaded"
    row = requests_overview(ctx, inspection)[0]
    assert (row["request"], row["due"], row["state"], row["took"]) == (1, "Mon 03 Jul 18:00", "uploaded", "1h00")
    with ctx.session() as session:
        assert session.scalar(select(func.count()).select_from(m.LibraryDocument)) == 0


def test_evidence_that_does_not_exist_is_explained_instead(ctx: EngineContext, inspection: str) -> None:
    """'It does not exist' leads to an explanation, signed off and sent like evidence; the request ends explained."""
    number = record_request(ctx, inspection, ASKED, inspector="HMI Demo", head_of_service=HOS)
    client = TestClient(create_app(ctx))
    reconcile_request(ctx, inspection, number)
    confirm = ask_link(ctx, inspection, number, "confirm")
    assert answer(client, confirm, number, "confirm", "not-held").status_code == 200
    steps = (("submit", {"outcome": "explained", "explanation": "No such plan: sufficiency is in the strategy."}),
             ("approve", {"outcome": "approved"}), ("upload", {"outcome": "confirmed"}))
    for step, fields in steps:
        reconcile_request(ctx, inspection, number)
        assert answer(client, ask_link(ctx, inspection, number, step), number, step, **fields).status_code == 200
    assert reconcile_request(ctx, inspection, number).items[0].outcome == "explained"


def test_a_late_request_is_reported_once_and_still_chased(ctx: EngineContext, inspection: str) -> None:
    """At the due time an unanswered request is reported once to the LANO, coordinator and accountable lead."""
    ctx.clock.set(at(3, 16, 30))  # type: ignore[attr-defined]
    number = record_request(ctx, inspection, ASKED, inspector="HMI Demo", head_of_service=HOS)
    first = reconcile_request(ctx, inspection, number)
    assert first.next_wake_at is not None and first.next_wake_at <= at(4, 10)
    ctx.clock.set(at(4, 10))  # type: ignore[attr-defined]
    late = reconcile_request(ctx, inspection, number)
    assert not late.done
    reconcile_request(ctx, inspection, number)
    rows = ledger(ctx, "request_late")
    assert len(rows) == 1
    assert rows[0].recipients == ["nadia.pemberton@demo-county.example", "leah.marchetti@demo-county.example",
                                  "samantha.cole-brierley@demo-county.example"]
    assert read_outbox_message(ctx.transport.folder, outbox_id_for(rows[0].key)).reply_to == \
        "send.evidence@demo-county.example"
    assert requests_overview(ctx, inspection)[0]["state"] == "LATE"
    escalations = [r.key for r in ledger(ctx, "action-escalate-up-1")]
    assert escalations  # the head of service's chain is escalated to as well


def test_in_the_quiet_hours_the_notice_waits_and_an_ask_due_before_morning_goes(ctx: EngineContext,
                                                                                inspection: str) -> None:
    """Recorded at 20:00 and due at 21:00, the confirm ask cannot wait: it goes; the notice waits for 07:30."""
    ctx.clock.set(at(3, 20))  # type: ignore[attr-defined]
    number = record_request(ctx, inspection, ASKED, inspector="Lead inspector", head_of_service=HOS, due_at=at(3, 21))
    first = reconcile_request(ctx, inspection, number)
    assert [r.key.split(":")[-1] for r in ledger(ctx, "action-ask")] == ["ask"]
    assert ledger(ctx, "request_received") == []
    assert "1 email(s) held for the quiet hours until Tue 04 Jul 07:30" in first.reason
    assert first.next_wake_at == at(3, 21)  # the request's own deadline comes first
    ctx.clock.set(at(3, 21))  # type: ignore[attr-defined]
    late = reconcile_request(ctx, inspection, number)
    assert ledger(ctx, "request_late") == [] and late.next_wake_at == at(4, 7, 30)
    ctx.clock.set(at(4, 7, 30))  # type: ignore[attr-defined]
    reconcile_request(ctx, inspection, number)
    assert [r.sent_at for r in ledger(ctx, "request_received") + ledger(ctx, "request_late")] == [at(4, 7, 30)] * 2
