"""The report pages in a real browser: the restricted draft received and opened, the factual-accuracy comment rows
refused and then sent, with axe on every page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import open_inspection
from send_inspection.engine.report_phase import reconcile_report
from send_inspection.report.feedback import PriorityAction, record_feedback
from tests.browser.axe_check import assert_accessible
from tests.conftest import NOTIFIED
from tests.engine.test_report_phase import at, link

pytestmark = pytest.mark.browser

DRAFT = b"%PDF-1.4\n1 0 obj << /Title (Demo County area SEND inspection: draft report) >> endobj\n%%EOF\n"
REVIEWER_REF = "comments-council-dir-inclusion"


@pytest.fixture
def draft_due(ctx: EngineContext) -> str:
    """Open the demo inspection, record the feedback and ask the LANO for the draft report; return its id."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    ctx.clock.set(at(7, 14, 16))  # type: ignore[attr-defined]
    record_feedback(ctx, iid, 2, effective="Leaders know the area well.", improve="Timeliness of EHC plans.",
                    priority_actions=[PriorityAction(area="EHC plan timeliness", partners=("council", "icb"))],
                    recorded_by="inspection-coordinator")
    ctx.clock.set(at(7, 17, 9))  # type: ignore[attr-defined]
    reconcile_report(ctx, iid)
    return iid


def test_the_lano_keeps_the_restricted_draft_and_a_reviewer_opens_it(ctx: EngineContext, draft_due: str, web: str,
                                                                    page: Any, tmp_path: Path) -> None:
    """The draft is uploaded through the file chooser, then a named reviewer opens it from their own page."""
    iid = draft_due
    page.goto(web + link(ctx, iid, "draft-report", "receive"))
    page.get_by_role("heading", name="The report as the inspectorate sent it").wait_for()
    assert_accessible(page, "the restricted draft's upload page")
    page.get_by_role("button", name="Record the report as received").click()  # no file chosen yet
    page.get_by_role("alert").wait_for()
    assert "choose the report's file to upload" in page.get_by_role("alert").inner_text()
    chooser_field = page.get_by_label("The report's file")
    assert chooser_field.get_attribute("aria-invalid") == "true"  # said beside the field too
    assert "choose the report's file" in page.locator("#" + chooser_field.get_attribute("aria-describedby")
                                                      ).inner_text()
    assert_accessible(page, "the restricted draft's upload page, refused")

    draft = tmp_path / "Draft report.pdf"
    draft.write_bytes(DRAFT)
    with page.expect_file_chooser() as chooser:
        page.get_by_label("The report's file").click()
    chooser.value.set_files(str(draft))
    page.get_by_role("button", name="Record the report as received").click()
    page.get_by_role("heading", name="Thank you: your answer is recorded").wait_for()
    assert_accessible(page, "the draft's confirmation")

    ctx.clock.set(at(7, 17, 10))  # type: ignore[attr-defined]
    reconcile_report(ctx, iid)
    page.goto(web + link(ctx, iid, REVIEWER_REF, "comment"))
    with page.expect_download() as opened:
        page.get_by_role("link", name="Open the restricted draft report").click()
    assert Path(opened.value.path()).read_bytes() == DRAFT
    with ctx.session() as session:
        access = session.scalars(select(m.DocumentAccess)).one()
    assert (access.person_key, access.kind, access.granted) == ("dir-inclusion", "draft", True)


def test_a_reviewer_sends_comment_rows_after_a_refused_row(ctx: EngineContext, draft_due: str, web: str,
                                                           page: Any) -> None:
    """A row without its paragraph is refused naming the row, with every row's typing kept; completed, it is sent."""
    iid = draft_due
    received = httpx.post(web + link(ctx, iid, "draft-report", "receive"), files={"file": ("Draft report.pdf", DRAFT)},
                          data={"item_ref": "draft-report", "step": "receive", "round": "1", "outcome": "received"})
    assert received.status_code == 200
    ctx.clock.set(at(7, 17, 10))  # type: ignore[attr-defined]
    reconcile_report(ctx, iid)  # the draft is held: the reviewers are asked for their comments
    page.goto(web + link(ctx, iid, REVIEWER_REF, "comment"))
    page.get_by_role("heading", name="Your factual-accuracy comments").wait_for()
    assert_accessible(page, "the comment rows page")

    page.locator("#paragraph_1").fill("12")
    page.locator("#comment_1").fill("The share of EHC plans issued within 20 weeks was 61%, not 51%.")
    page.locator("#evidence_1").fill("SEN2 return 2023, table 3")
    page.locator("#comment_2").fill("The service is named incorrectly.")
    page.get_by_role("button", name="Send my comments").click()
    page.get_by_role("alert").wait_for()
    assert "row 2: paragraph is missing" in page.get_by_role("alert").inner_text()
    paragraph = page.locator("#paragraph_2")
    assert paragraph.get_attribute("aria-invalid") == "true"  # said beside the field too
    assert page.locator("#" + paragraph.get_attribute("aria-describedby")).inner_text().endswith(
        "row 2: paragraph is missing")
    assert page.locator("#paragraph_1").get_attribute("aria-invalid") is None
    assert page.locator("#comment_1").input_value().startswith("The share of EHC plans")
    assert page.locator("#comment_2").input_value() == "The service is named incorrectly."
    assert_accessible(page, "the comment rows page, refused")

    page.locator("#paragraph_2").fill("3")
    page.get_by_role("button", name="Send my comments").click()
    page.get_by_role("heading", name="Thank you: your answer is recorded").wait_for()
    assert_accessible(page, "the comments' confirmation")
    with ctx.session() as session:
        rows = [(r.paragraph, r.reviewer) for r in session.scalars(select(m.AccuracyCommentRow))]
    assert sorted(rows) == [("12", "dir-inclusion"), ("3", "dir-inclusion")]
