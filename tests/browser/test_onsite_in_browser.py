"""Before the inspectors arrive, in a real browser: a head of service's headlines, an attendee's representative and
the LANO's Appendix H list, each page checked with axe."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from send_inspection.calendar import LONDON
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import open_inspection
from send_inspection.engine.onsite_phase import reconcile_onsite
from send_inspection.engine.phase_rows import ensure_phase
from tests.browser.axe_check import assert_accessible
from tests.browser.test_sign_off_in_browser import emailed_link
from tests.conftest import NOTIFIED

pytestmark = pytest.mark.browser


def test_headlines_a_representative_and_the_attendee_list(ctx: EngineContext, web: str, page: Any) -> None:
    """Empty headlines are named beside the field; a representative is named; the LANO's page lists the answers."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    ensure_phase(ctx, iid, "onsite")
    reconcile_onsite(ctx, iid)

    page.goto(emailed_link(ctx, "hos-send", "headlines-hos-send"))
    assert_accessible(page, "the headlines page")
    page.get_by_role("button", name="Send my headlines").click()
    field = page.get_by_label("Your service's key headlines")
    field.wait_for()
    assert field.get_attribute("aria-invalid") == "true"
    assert_accessible(page, "the headlines page refused")
    field.fill("EHC plans issued in 20 weeks rose to 81%.")
    page.get_by_role("button", name="Send my headlines").click()
    page.get_by_role("heading", name="Thank you: your answer is recorded").wait_for()

    page.goto(emailed_link(ctx, "dir-family", "attend-dir-family"))
    assert_accessible(page, "the attendance page")
    page.get_by_role("button", name="I cannot attend: someone will come in my place").click()
    who = page.get_by_label("Who comes in your place, and their job title (if you cannot come)")
    who.wait_for()
    who.fill("Pat Kemp, Head of Early Help")
    page.get_by_role("button", name="I cannot attend: someone will come in my place").click()
    page.get_by_role("heading", name="Thank you: your answer is recorded").wait_for()

    ctx.clock.set(datetime(2023, 7, 4, 17, 0, tzinfo=LONDON))  # type: ignore[attr-defined]
    reconcile_onsite(ctx, iid)  # the attendees' deadline: the LANO is asked to send the list
    page.goto(emailed_link(ctx, "head-improvement", "appendix-h"))
    page.get_by_role("heading", name="Who attends the opening meeting (Appendix H)").wait_for()
    assert page.get_by_role("cell", name="represented by Pat Kemp, Head of Early Help").is_visible()
    assert_accessible(page, "the Appendix H list")
