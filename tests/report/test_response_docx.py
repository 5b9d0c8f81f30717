"""The Word response read back with python-docx: marking, particulars, and one table of every comment once."""

from __future__ import annotations

import io
from pathlib import Path

import docx

from send_inspection.report.comments import AccuracyComment
from send_inspection.report.response_docx import write_response_docx
from send_inspection.report.table import COLUMNS, MARKING, TITLE
from tests.report.conftest import COUNCIL, DRAFT_RECEIVED, DUE, SIGNED_OFF, assert_response_rows, at


def write(
    target: Path | io.BytesIO, comments: list[AccuracyComment], *, signed_off_by: list[tuple[str, str]] = SIGNED_OFF
) -> None:
    """Write Demo County's response to `target`."""
    write_response_docx(
        target,
        area_name="Demo County",
        inspection_ref="DEMO-SEND-2026-01",
        draft_received=DRAFT_RECEIVED,
        due=DUE,
        comments=comments,
        signed_off_by=signed_off_by,
    )


def test_table_holds_every_comment_once_in_paragraph_order(tmp_path: Path, submitted: list[AccuracyComment]) -> None:
    """The one table has the heading row, then each comment once in order with its evidence and partners."""
    path = tmp_path / "response.docx"
    write(path, submitted)
    [table] = docx.Document(str(path)).tables
    rows = [[cell.text for cell in row.cells] for row in table.rows]
    assert tuple(rows[0]) == COLUMNS
    assert [number for number, *_ in rows[1:]] == ["1", "2", "3", "4", "5"]
    assert_response_rows([(p, c, e, by) for _, p, c, e, by in rows[1:]], submitted)


def test_marking_title_and_particulars(submitted: list[AccuracyComment]) -> None:
    """The marking heads every page and the first line; the particulars name the area, dates and signatories."""
    stream = io.BytesIO()
    write(stream, submitted)
    document = docx.Document(io.BytesIO(stream.getvalue()))
    assert document.sections[0].header.paragraphs[0].text == MARKING
    lines = [p.text for p in document.paragraphs if p.text]
    assert lines == [
        MARKING,
        TITLE,
        "Local area: Demo County",
        "Inspection reference: DEMO-SEND-2026-01",
        "Draft report received: 1 December 2026",
        "Response due: 15 December 2026",
        "Signed off by: Sam Demo, Director of Children's Services",
        "Signed off by: Jo Sample, ICB Executive Lead for SEND",
    ]


def test_multi_line_comment_and_no_sign_off_yet(tmp_path: Path) -> None:
    """A comment's line breaks survive the round trip, and a response nobody has signed off says so."""
    comment = AccuracyComment(
        paragraph="3", comment="First point.\nSecond point.", evidence="", partner=COUNCIL, reviewer="r",
        submitted_at=at(3, 10),
    )  # fmt: skip
    path = tmp_path / "draft.docx"
    write(path, [comment], signed_off_by=[])
    document = docx.Document(str(path))
    assert document.tables[0].rows[1].cells[2].text == "First point.\nSecond point."
    assert "Signed off by: not yet signed off" in [p.text for p in document.paragraphs]
