"""The fieldwork debrief (Appendix E) in a real browser: a missing field named, a red rating kept, axe on each page."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.fieldwork_phase import reconcile_fieldwork
from send_inspection.engine.inspection import open_inspection
from send_inspection.fieldwork.store import save_timetable
from send_inspection.mail.outbox import outbox_id_for, read_outbox_message
from tests.browser.axe_check import assert_accessible
from tests.browser.test_sign_off_in_browser import LINK
from tests.conftest import NOTIFIED
from tests.engine.test_fieldwork_phase import at, slot

pytestmark = pytest.mark.browser

ANSWERS = {
    "Name (or the focus group)": "Two SENCOs and an early help lead",
    "Job title": "SENCOs; Early Help Lead",
    "Contact details": "early.help@demo-county.example",
    "Service area": "Education and early help",
    "2. What key evidence and examples did you draw upon to support your arguments during the interview?":
        "The transition protocol",
    "Documents provided": "none",
    "Documents requested": "Annual review audit 2023",
    'The questions (or "none")': "How are parents told about the local offer?",
    "How they were answered": "Through the SENCO network",
    "5. Is there anything that others being interviewed during the inspection should be made aware of? (e.g. making "
    "information available to others, exploring areas of concern in more detail)": "Expect questions on annual reviews",
    "Overall Summary": "Concerns about transition: escalated",
}
FOCUS = ("1. What would you say was the main focus of your interview? In your opinion, what key topics or issues "
         "(e.g. 1 or 2) did the interview concentrate on?")


def test_a_debriefer_records_a_red_debrief_after_a_missing_field(ctx: EngineContext, web: str, page: Any) -> None:
    """Without the focus the form comes back naming it beside the field, typing kept; completed, red is recorded."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    ctx.clock.set(at(10, 9))  # type: ignore[attr-defined]
    save_timetable(ctx, iid, [slot("S1", at(10, 10))])
    ctx.clock.set(at(10, 11))  # type: ignore[attr-defined]  # the slot has ended: its debriefer is asked
    reconcile_fieldwork(ctx, iid)
    ask = read_outbox_message(ctx.transport.folder, outbox_id_for(f"{iid}:fieldwork:debrief-S1:debrief:r1:ask"))

    page.goto(LINK.search(ask.text or "").group(0))
    page.get_by_role("heading", name="Debriefing form (Appendix E)").wait_for()
    assert_accessible(page, "the debrief form")
    for label, value in ANSWERS.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_label("RED: Concerns raised over focus of interview", exact=False).check()
    page.get_by_role("button", name="Record the debrief").click()

    focus = page.get_by_label(FOCUS)
    focus.wait_for()
    assert focus.get_attribute("aria-invalid") == "true"
    assert "the main focus of the interview" in page.locator("#" + focus.get_attribute("aria-describedby")
                                                             ).inner_text()
    assert page.get_by_label("Name (or the focus group)").input_value() == ANSWERS["Name (or the focus group)"]
    assert page.get_by_label("RED: Concerns raised over focus of interview", exact=False).is_checked()
    assert_accessible(page, "the debrief form refused")
    with ctx.session() as session:
        assert session.scalars(select(m.Debrief)).first() is None

    focus.fill("Transition to secondary school")
    page.get_by_role("button", name="Record the debrief").click()
    page.get_by_role("heading", name="Thank you: your answer is recorded").wait_for()
    assert_accessible(page, "the debrief confirmation")
    with ctx.session() as session:
        debrief = session.scalars(select(m.Debrief)).one()
    assert (debrief.slot_id, debrief.rating, debrief.focus) == ("S1", "red", "Transition to secondary school")
    assert debrief.documents_requested == ["Annual review audit 2023"]
