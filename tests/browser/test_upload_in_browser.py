"""Evidence upload in a real browser: the file chooser, refusals shown beside their field, axe on every page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from tests.browser.axe_check import assert_accessible
from tests.browser.test_sign_off_in_browser import emailed_link, item_state

pytestmark = pytest.mark.browser


def choose_file(page: Any, path: Path) -> None:
    """Pick `path` through the file chooser that the "Upload a file" input opens."""
    with page.expect_file_chooser() as chooser:
        page.get_by_label("Upload a file").click()
    chooser.value.set_files(str(path))


def test_an_evidence_lead_uploads_a_file_after_refusals(ctx: EngineContext, started: tuple[str, m.RegisterItem],
                                                       web: str, page: Any, tmp_path: Path) -> None:
    """A bad hyperlink, then a bad file type, are refused beside their field with the typing kept; a PDF is taken."""
    _, item = started
    page.goto(emailed_link(ctx, item.evidence_lead, item.ref))
    assert_accessible(page, "the submit page")

    # The checklist: one point left unticked and its note left empty is named beside it, the ticks kept.
    boxes = page.locator('input[name="check"]')
    for n in range(boxes.count()):
        if boxes.nth(n).get_attribute("value") != "signed":
            boxes.nth(n).check()
    page.get_by_label("or give a hyperlink").fill("https://evidence.demo-county.example/sef")
    page.get_by_role("button", name="Submit evidence").click()
    note = page.locator("#note-signed")
    note.wait_for()
    assert note.get_attribute("aria-invalid") == "true"
    assert "tick this point, or say in its note why not" in page.locator("#note-signed-error").inner_text()
    assert page.locator('input[value="dated"]').is_checked()
    assert_accessible(page, "the submit page refusing the checklist")
    note.fill("Not an agreement: nothing to sign")

    typed = "ftp://files.demo-county.example/self-evaluation.pdf"
    page.get_by_label("or give a hyperlink").fill(typed)
    page.get_by_role("button", name="Submit evidence").click()
    link_field = page.get_by_label("or give a hyperlink")
    link_field.wait_for()
    assert link_field.input_value() == typed  # what was typed comes back
    assert link_field.get_attribute("aria-invalid") == "true"
    described = page.locator("#" + link_field.get_attribute("aria-describedby"))
    assert "the hyperlink must start with https:// or http://" in described.inner_text()
    assert_accessible(page, "the submit page refusing a hyperlink")

    exe = tmp_path / "setup.exe"
    exe.write_bytes(b"MZ demo")
    link_field.fill("")
    choose_file(page, exe)
    page.get_by_role("button", name="Submit evidence").click()
    file_field = page.get_by_label("Upload a file")
    described = page.locator("#" + (file_field.get_attribute("aria-describedby") or "missing"))
    assert "'setup.exe' is not a type we accept" in described.inner_text()
    assert_accessible(page, "the submit page refusing a file")
    assert item_state(ctx, item.id) == ("submit", 1, None)

    pdf = tmp_path / "Self evaluation 2023.pdf"
    pdf.write_bytes(b"%PDF-1.7 Demo County self-evaluation")
    choose_file(page, pdf)
    page.get_by_label("The document is dated (generally no older than one year).").check()
    page.get_by_role("button", name="Submit evidence").click()
    page.get_by_role("heading", name="Thank you: your answer is recorded").wait_for()
    assert_accessible(page, "the confirmation page")

    assert item_state(ctx, item.id) == ("approve", 1, None)
    with ctx.session() as session:
        stored = session.scalars(select(m.Submission)).one()
    assert (stored.kind, stored.filename, stored.size_bytes) == ("file", pdf.name, pdf.stat().st_size)
    assert stored.checklist["dated"] is True
    assert stored.checklist_notes == {"signed": "Not an agreement: nothing to sign"}
