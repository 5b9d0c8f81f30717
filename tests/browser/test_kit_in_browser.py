"""The keeping-in-touch pages in a real browser: the day-1 agreement (refused, then recorded), a member's
representatives and a meeting's record with an issue raised, axe on each page."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import open_inspection
from send_inspection.engine.kit import reconcile_kit
from send_inspection.engine.phase_rows import ensure_phase
from send_inspection.mail.outbox import outbox_id_for, read_outbox_message
from tests.browser.axe_check import assert_accessible
from tests.browser.test_sign_off_in_browser import LINK
from tests.conftest import NOTIFIED
from tests.engine.test_kit import at, go

pytestmark = pytest.mark.browser


def open_link(ctx: EngineContext, page: Any, key: str) -> None:
    """Open the personal link of the email with ledger key `key`."""
    page.goto(LINK.search(read_outbox_message(ctx.transport.folder, outbox_id_for(key)).text or "").group(0))


def test_the_core_groups_agreement_and_a_kit_meeting_are_recorded_in_the_browser(ctx: EngineContext, web: str,
                                                                                 page: Any) -> None:
    """A base left empty is named and the days ticked are kept; the agreement recorded arranges the meetings; a
    member's representatives page and the organiser's record of a meeting raise what they should."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    ensure_phase(ctx, iid, "kit")
    go(ctx, at(26, 11))
    reconcile_kit(ctx, iid)
    open_link(ctx, page, f"{iid}:kit:core-group-agreement:settle:r1:ask")
    page.get_by_role("heading", name="Where each manager will be based").wait_for()
    assert_accessible(page, "the day-1 agreement")
    for day in ("Mon 26 Jun", "Wed 28 Jun", "Fri 30 Jun"):
        page.get_by_label(day, exact=True).uncheck()
    page.get_by_label("Margaret Quinlan, Director of Nursing and Quality").fill("")
    page.get_by_role("button", name="Record the agreement and arrange the KIT meetings").click()
    page.get_by_text("where Margaret Quinlan will be based: missing").wait_for()
    assert page.get_by_label("Tue 27 Jun", exact=True).is_checked()
    assert not page.get_by_label("Wed 28 Jun", exact=True).is_checked()
    assert_accessible(page, "the day-1 agreement refused")
    page.get_by_label("Margaret Quinlan, Director of Nursing and Quality").fill("Demo ICB, Quay House")
    page.get_by_role("button", name="Record the agreement and arrange the KIT meetings").click()
    page.get_by_role("heading", name="Thank you: your answer is recorded").wait_for()
    with ctx.session() as session:
        details = session.scalars(select(m.Decision.details)).one()
    assert details["days"][:3] == ["2023-06-27", "2023-06-29", "2023-07-03"] and len(details["days"]) == 12
    assert details["bases"]["icb-dir-nursing"] == "Demo ICB, Quay House"

    go(ctx, at(26, 12))
    reconcile_kit(ctx, iid)
    open_link(ctx, page, f"{iid}:kit:kit-attendance-cht-ddo-cyp:represent:r1:ask")
    page.get_by_label("Tue 27 Jun 17:30: your representative").wait_for()
    assert_accessible(page, "a member's representatives")

    go(ctx, at(27, 18, 30))
    reconcile_kit(ctx, iid)
    open_link(ctx, page, f"{iid}:kit:kit-2023-06-27:minute:r1:ask")
    issues = page.get_by_label("Issues raised, one a line: issue; owner; deadline")
    issues.fill("Book the base room; business-delivery; 28/06/2023 12:00")
    assert_accessible(page, "a KIT meeting's record")
    page.get_by_role("button", name="Record the meeting and send the summary").click()
    page.get_by_role("heading", name="Thank you: your answer is recorded").wait_for()
    assert reconcile_kit(ctx, iid).summaries_sent == ["2023-06-27"]
    open_link(ctx, page, f"{iid}:kit:kit-2023-06-27-1:act:r1:ask")
    page.get_by_label("What was done").wait_for()
    assert_accessible(page, "a KIT action")
