"""A file is kept only when its bytes are the type its name declares, whichever door it comes in by (issue 14, 13)."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import docx
import openpyxl
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.evidence.library import add_to_library, library_versions
from send_inspection.files.storage import UploadRefused, store_upload
from send_inspection.intake.evidence_replies import take_evidence_reply
from send_inspection.mail.inbox_watch import ReceivedAttachment
from send_inspection.report.documents import keep_document
from send_inspection.web.app import create_app
from tests.conftest import NOTIFIED
from tests.intake.conftest import HOS, received
from tests.web.test_sign_off import count, link_for, submit_form

# The start of a Windows program: what was stored as "Self evaluation.docx" in the uploads and the library.
PROGRAM = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"This program cannot be run"
PDF = b"%PDF-1.7\n1 0 obj << /Title (Demo County SEND strategy) >> endobj\n%%EOF\n"


def word() -> bytes:
    """Return a real Word document."""
    document = docx.Document()
    document.add_paragraph("Demo County SEND self-evaluation")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def excel() -> bytes:
    """Return a real Excel workbook."""
    buffer = io.BytesIO()
    openpyxl.Workbook().save(buffer)
    return buffer.getvalue()


def opendocument() -> bytes:
    """Return a real OpenDocument spreadsheet."""
    buffer = io.BytesIO()
    pd.DataFrame({"Setting": ["Demo Valley School"]}).to_excel(buffer, engine="odf", index=False)
    return buffer.getvalue()


def bare_zip() -> bytes:
    """Return a zip file holding one text file."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("notes.txt", "not a document")
    return buffer.getvalue()


@pytest.mark.parametrize(("name", "data"), [
    ("Self evaluation.docx", word()), ("Data.xlsx", excel()), ("Settings.ods", opendocument()), ("Plan.pdf", PDF),
    ("Chart.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 20),
    ("Photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF"),
    ("Old.doc", bytes.fromhex("D0CF11E0A1B11AE1") + b"\x00" * 512), ("Notes.txt", "Siân's notes".encode("cp1252")),
    ("List.csv", "child_id,setting\nDC1,Demo Valley\n".encode("utf-16")),
])
def test_files_that_are_what_they_say_are_kept(tmp_path: Path, name: str, data: bytes) -> None:
    """Real documents, workbooks, images and text (in any common encoding) are kept as they are."""
    assert store_upload(tmp_path, name, data).path.read_bytes() == data


@pytest.mark.parametrize(("name", "data", "message"), [
    ("Self evaluation.docx", PROGRAM,
     "'Self evaluation.docx' is named as a Word document, but it is a Windows program"),
    ("Plan.pdf", PROGRAM, "'Plan.pdf' is named as a PDF document, but it is a Windows program"),
    ("Photo.jpg", b"\x7fELF\x02\x01\x01" + b"\x00" * 60,
     "'Photo.jpg' is named as a JPEG image, but it is a Linux program"),
    ("List.csv", PROGRAM, "'List.csv' is named as a CSV text file, but it is a Windows program"),
    ("Chart.png", PDF, "'Chart.png' is named as a PNG image, but it looks like Adobe Portable Document Format"),
    ("Plan.pdf", word(), "'Plan.pdf' is named as a PDF document, but it is a zip file"),
    ("Self evaluation.docx", bare_zip(), "'Self evaluation.docx' is a zip file but not a Word document (it lacks "
                                         "[Content_Types].xml, word/document.xml)"),
    ("Data.xlsx", word(), "'Data.xlsx' is a zip file but not an Excel workbook (it lacks xl/workbook.xml)"),
    ("Settings.odt", opendocument(), "'Settings.odt' is a zip file but not an OpenDocument text"),
    ("Notes.txt", b"plain words\x00\x01\x02", "'Notes.txt' is named as a text file, but it is a kind of file we do"),
])
def test_a_file_that_is_not_what_it_says_is_refused(tmp_path: Path, name: str, data: bytes, message: str) -> None:
    """Executable bytes, a zip without a document's parts, or a type named as another is refused saying what it is."""
    with pytest.raises(UploadRefused, match=re.escape(message)):
        store_upload(tmp_path, name, data)
    assert list(tmp_path.rglob("*")) == []


def test_a_program_named_docx_is_refused_on_the_sign_off_page(ctx: EngineContext,
                                                             started: tuple[str, m.RegisterItem]) -> None:
    """The evidence lead is told why on the page; nothing is stored, recorded or added to the library."""
    _, item = started
    add_to_library(ctx, item.ref, "Self evaluation.pdf", PDF, loaded_by="lead-evidence-officer")
    client = TestClient(create_app(ctx))
    response = client.post(f"/a/{link_for(ctx, item.evidence_lead, item.ref)}",
                           data=submit_form(item, outcome="submitted", comment="Latest version"),
                           files={"file": ("Self evaluation.docx", PROGRAM, "application/octet-stream")})
    assert response.status_code == 422
    assert "is named as a Word document, but it is a Windows program" in response.text
    assert count(ctx, m.Submission) == 0 and count(ctx, m.Decision) == 0
    assert not (ctx.uploads_dir / started[0]).exists()
    assert [(v.version, v.filename) for v in library_versions(ctx, item.ref)] == [(1, "Self evaluation.pdf")]


def test_a_program_named_docx_never_joins_the_library(ctx: EngineContext) -> None:
    """Loading a program named .docx into the evidence library is refused; the version held is unchanged."""
    add_to_library(ctx, "1.4", "Strategy.docx", word(), loaded_by="lead-evidence-officer")
    with pytest.raises(UploadRefused, match="is named as a Word document, but it is a Windows program"):
        add_to_library(ctx, "1.4", "Strategy.docx", PROGRAM, loaded_by="lead-evidence-officer")
    versions = library_versions(ctx, "1.4")
    assert [v.version for v in versions] == [1] and Path(versions[0].stored_path).read_bytes().startswith(b"PK")
    assert not any(p.read_bytes().startswith(b"MZ") for p in (ctx.uploads_dir.parent / "library").rglob("*.docx"))


def test_a_program_named_docx_attached_to_an_email_is_not_kept(ctx: EngineContext) -> None:
    """An emailed program named .docx is refused and counted; the real document beside it is kept."""
    from send_inspection.engine.additional_requests import record_request
    from send_inspection.engine.inspection import open_inspection
    from tests.intake.conftest import MONDAY

    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    ctx.clock.set(MONDAY)  # type: ignore[attr-defined]
    record_request(ctx, iid, "The annual review audit", inspector="Jane Smith", head_of_service=HOS[0])
    files = (ReceivedAttachment("audit.pdf", "application/pdf", PDF),
             ReceivedAttachment("audit.docx", "application/vnd.openxmlformats", PROGRAM))
    handled = take_evidence_reply(ctx, iid, received("Here it is.", subject="[Request 1] audit", sender=HOS,
                                                     attachments=files))
    assert "1 file(s) kept, 1 refused (type, content or size)" in handled.outcome
    with ctx.session() as session:
        assert [s.filename for s in session.scalars(select(m.Submission))] == ["audit.pdf"]
    assert not any(p.read_bytes().startswith(b"MZ") for p in ctx.uploads_dir.rglob("*") if p.is_file())


def test_a_program_named_pdf_is_not_kept_as_the_draft_report(ctx: EngineContext) -> None:
    """The restricted report documents go through the same door and are refused the same way."""
    with ctx.session() as session, pytest.raises(UploadRefused, match="'draft.pdf' is named as a PDF document"):
        keep_document(session, ctx, "demo-county-2023-06-26", "draft", filename="draft.pdf", data=PROGRAM,
                      recorded_by="head-improvement", now=NOTIFIED)
    assert list(ctx.uploads_dir.rglob("*")) == []
