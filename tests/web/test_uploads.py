"""Uploads: what is kept, what is refused, and who can download a submitted file."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from send_inspection.db import models as m
from send_inspection.engine.annex_a import reconcile_annex_a
from send_inspection.engine.context import EngineContext
from send_inspection.files.storage import MAX_UPLOAD_BYTES, UploadRefused, safe_filename, store_upload
from send_inspection.web.app import create_app
from tests.web.test_sign_off import count, item_state, link_for, submit_form

PDF = b"%PDF-1.7 Demo County self-evaluation"


def test_safe_filename_keeps_the_name_and_drops_the_path() -> None:
    """A browser's path or traversal in a filename is dropped; the readable name is kept."""
    assert safe_filename("../../etc/Self evaluation 2023.pdf") == "Self evaluation 2023.pdf"
    assert safe_filename("C:\\Users\\demo\\Strategy.docx") == "Strategy.docx"


def test_store_upload_keeps_bytes_and_hash(tmp_path: Path) -> None:
    """A stored file keeps its exact bytes, size and SHA-256."""
    stored = store_upload(tmp_path, "Strategy.pdf", PDF)
    assert stored.path.read_bytes() == PDF
    assert (stored.size_bytes, stored.sha256) == (len(PDF), hashlib.sha256(PDF).hexdigest())


@pytest.mark.parametrize(("name", "data", "message"), [
    ("empty.pdf", b"", "'empty.pdf' is empty"),
    ("big.pdf", b"x" * (MAX_UPLOAD_BYTES + 1), "'big.pdf' is larger than the 25 MB limit"),
    ("run.exe", b"MZ", "'run.exe' is not a type we accept (.exe)"),
])
def test_store_upload_refuses_with_the_reason(tmp_path: Path, name: str, data: bytes, message: str) -> None:
    """An empty, oversized or disallowed file is refused with a reason naming it, and nothing is written."""
    with pytest.raises(UploadRefused, match=message.replace("(", r"\(").replace(")", r"\)")):
        store_upload(tmp_path, name, data)
    assert list(tmp_path.rglob("*.*")) == []


def test_a_submission_needs_a_file_or_a_link(ctx: EngineContext, started: tuple[str, m.RegisterItem]) -> None:
    """Pressing submit with neither a file nor a hyperlink is refused and records nothing."""
    _, item = started
    client = TestClient(create_app(ctx))
    token = link_for(ctx, item.evidence_lead, item.ref)
    response = client.post(f"/a/{token}", data=submit_form(item, outcome="submitted"))
    assert response.status_code == 422 and "choose a file to upload or give a hyperlink" in response.text
    assert count(ctx, m.Submission) == 0 and count(ctx, m.Decision) == 0
    assert item_state(ctx, item.id) == ("submit", 1, None)


def test_the_accountable_lead_downloads_the_submitted_file(ctx: EngineContext,
                                                          started: tuple[str, m.RegisterItem]) -> None:
    """After an upload the accountable lead's own link serves the exact file; the spent submit link does not."""
    iid, item = started
    client = TestClient(create_app(ctx))
    submit = link_for(ctx, item.evidence_lead, item.ref)
    response = client.post(f"/a/{submit}", data=submit_form(item, outcome="submitted"),
                           files={"file": ("Self evaluation.pdf", PDF, "application/pdf")})
    assert response.status_code == 200
    reconcile_annex_a(ctx, iid, "day2")  # asks the accountable lead
    approve = link_for(ctx, item.accountable_lead, item.ref)
    page = client.get(f"/a/{approve}")
    assert page.status_code == 200 and "Self evaluation.pdf" in page.text
    download = client.get(f"/a/{approve}/file")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-disposition"] == "attachment; filename*=utf-8''Self%20evaluation.pdf"
    assert client.get(f"/a/{submit}/file").status_code == 409
    with ctx.session() as session:
        stored = session.scalars(select(m.Submission)).one()
    assert stored.checklist["dated"] is True and stored.sha256 == hashlib.sha256(PDF).hexdigest()


def test_the_reviewer_sees_what_the_machine_noticed(ctx: EngineContext, started: tuple[str, m.RegisterItem],
                                                    tmp_path: Path) -> None:
    """A Word document with a comment, saved two years ago, is flagged on the accountable lead's page."""
    import docx

    iid, item = started
    document = docx.Document()
    paragraph = document.add_paragraph("Demo County SEND self-evaluation")
    document.add_comment(paragraph.runs, text="Update the figures", author="Reviewer")
    document.core_properties.modified = datetime(2021, 5, 4)
    path = tmp_path / "Self evaluation.docx"
    document.save(str(path))
    client = TestClient(create_app(ctx))
    response = client.post(f"/a/{link_for(ctx, item.evidence_lead, item.ref)}", data=submit_form(
        item, outcome="submitted"), files={"file": (path.name, path.read_bytes(), "application/octet-stream")})
    assert response.status_code == 200
    reconcile_annex_a(ctx, iid, "day2")
    page = client.get(f"/a/{link_for(ctx, item.accountable_lead, item.ref)}").text
    assert "What the machine noticed" in page
    assert "Last saved 2021-05-04: more than twelve months old." in page
    assert "It still holds 1 comment(s): remove them before it goes to inspectors." in page


def test_a_submitted_link_is_tried_after_the_answer(ctx: EngineContext, started: tuple[str, m.RegisterItem]) -> None:
    """With link checks on, a hyperlink nobody answers is recorded as unverifiable once the answer is sent."""
    _, item = started
    ctx.check_links = True
    dead = "https://evidence.demo-county.example/strategy"  # .example names never resolve
    client = TestClient(create_app(ctx))
    response = client.post(f"/a/{link_for(ctx, item.evidence_lead, item.ref)}",
                           data=submit_form(item, outcome="submitted", link_url=dead))
    assert response.status_code == 200
    with ctx.session() as session:
        stored = session.scalars(select(m.Submission)).one()
    assert stored.machine_checks == {"links": {dead: "unverifiable"}}
