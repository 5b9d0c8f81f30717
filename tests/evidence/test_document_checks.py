"""The document checks on real .docx files made here with python-docx."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import docx
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

from send_inspection.evidence.document_checks import check_document, summary_lines

TODAY = date(2023, 6, 26)


def make_docx(path: Path, *, modified: datetime, text: str = "Demo County SEND strategy 2023-2026",
              title: str = "SEND strategy", links: tuple[str, ...] = (), tracked: bool = False,
              comment: bool = False) -> Path:
    """Write a real Word document with the given date, text, links, a tracked change and a comment."""
    document = docx.Document()
    paragraph = document.add_paragraph(text)
    for url in links:
        rel = document.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
        paragraph._p.append(parse_xml(f'<w:hyperlink {nsdecls("w", "r")} r:id="{rel}"><w:r><w:t>{url}</w:t></w:r>'
                                      "</w:hyperlink>"))
    if tracked:
        paragraph._p.append(parse_xml(f'<w:ins {nsdecls("w")} w:id="1" w:author="Evidence lead" '
                                      'w:date="2023-06-20T10:00:00Z"><w:r><w:t> (added)</w:t></w:r></w:ins>'))
    if comment:
        document.add_comment(paragraph.runs, text="Check these figures", author="Reviewer")
    document.core_properties.title = title
    document.core_properties.modified = modified
    document.save(str(path))
    return path


def test_a_clean_recent_document_raises_nothing(tmp_path: Path) -> None:
    """A recent document with no edits left, not a draft and no links reports only its date."""
    report = check_document(make_docx(tmp_path / "s.docx", modified=datetime(2023, 5, 1)), today=TODAY)
    assert (report.dated, report.stale, report.tracked_changes, report.comments, report.marked_draft) == (
        "2023-05-01", False, 0, 0, False)
    assert summary_lines(report.as_dict()) == ["Last saved 2023-05-01: within the last twelve months."]


def test_an_old_document_is_flagged(tmp_path: Path) -> None:
    """A document last saved more than twelve months ago is stale."""
    report = check_document(make_docx(tmp_path / "old.docx", modified=datetime(2022, 6, 1)), today=TODAY)
    assert report.stale is True
    assert summary_lines(report.as_dict())[0] == "Last saved 2022-06-01: more than twelve months old."


def test_tracked_changes_comments_and_draft_are_found(tmp_path: Path) -> None:
    """Leftover tracked changes and comments are counted, and 'DRAFT' in the text or title is noticed."""
    path = make_docx(tmp_path / "d.docx", modified=datetime(2023, 6, 1), text="DRAFT self-evaluation",
                     tracked=True, comment=True)
    report = check_document(path, today=TODAY)
    assert (report.tracked_changes, report.comments, report.marked_draft) == (1, 1, True)
    lines = summary_lines(report.as_dict())
    assert "It still holds 1 tracked change(s): accept or reject them." in lines
    assert "It still holds 1 comment(s): remove them before it goes to inspectors." in lines
    assert "It is marked draft." in lines
    titled = check_document(make_docx(tmp_path / "t.docx", modified=datetime(2023, 6, 1), title="Strategy (Draft)"),
                            today=TODAY)
    assert titled.marked_draft is True


def test_links_are_listed_for_trying_later(tmp_path: Path) -> None:
    """Each http(s) hyperlink of the document is listed once, not yet checked (they are tried after the answer)."""
    links = ("https://www.demo-county.example/local-offer", "http://policies.demo-county.example/send",
             "https://www.demo-county.example/local-offer")
    report = check_document(make_docx(tmp_path / "l.docx", modified=datetime(2023, 6, 1), links=links), today=TODAY)
    assert report.links == {links[0]: "not checked", links[1]: "not checked"}


def test_a_file_that_is_not_what_it_says_is_reported_not_raised(tmp_path: Path) -> None:
    """A .docx that is not a zip gives a note, and other types say no checks apply."""
    bad = tmp_path / "bad.docx"
    bad.write_bytes(b"not a zip")
    assert check_document(bad, today=TODAY).notes == ["the file could not be read as .docx: BadZipFile"]
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert check_document(text, today=TODAY).notes == ["no automatic checks for .txt files"]


def test_pdf_date_title_and_links(tmp_path: Path) -> None:
    """A PDF's modification date, a draft title and its URI links are read from the file."""
    pdf = tmp_path / "s.pdf"
    pdf.write_bytes(b"%PDF-1.7\n1 0 obj << /Title (Draft strategy) /ModDate (D:20210301120000Z) >> endobj\n"
                    b"2 0 obj << /A << /S /URI /URI (https://intranet.demo-county.example/x) >> >> endobj\n%%EOF")
    report = check_document(pdf, today=TODAY)
    assert (report.dated, report.stale, report.marked_draft) == ("2021-03-01", True, True)
    assert report.links == {"https://intranet.demo-county.example/x": "not checked"}


def with_core(path: Path, core: str) -> Path:
    """Rewrite a .docx with `core` as its docProps/core.xml, every other part as it was."""
    import zipfile

    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    parts["docProps/core.xml"] = core.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)
    return path


CORE = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:terms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        '<dc:title>SEND strategy</dc:title>'
        '<dcterms:created xsi:type="dcterms:W3CDTF">2019-02-11T09:00:00Z</dcterms:created>{modified}'
        '</cp:coreProperties>')


def test_the_date_is_when_the_document_was_last_saved_not_its_template(tmp_path: Path) -> None:
    """dcterms:modified is the date, whatever prefix the writer gave it; a template's created date never is."""
    saved = with_core(make_docx(tmp_path / "s.docx", modified=datetime(2023, 6, 1)), CORE.format(
        modified='<terms:modified xsi:type="terms:W3CDTF">2023-05-30T16:12:00Z</terms:modified>'))
    report = check_document(saved, today=TODAY)
    assert (report.dated, report.stale) == ("2023-05-30", False)
    unsaved = with_core(make_docx(tmp_path / "t.docx", modified=datetime(2023, 6, 1)), CORE.format(modified=""))
    assert check_document(unsaved, today=TODAY).dated is None
