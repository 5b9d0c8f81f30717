"""The Excel response read back with openpyxl: marking in A1, particulars, a bold heading row, every comment once."""

from __future__ import annotations

from pathlib import Path

import openpyxl

from send_inspection.report.comments import AccuracyComment
from send_inspection.report.response_xlsx import SHEET, write_response_xlsx
from send_inspection.report.table import COLUMNS, MARKING, TITLE
from tests.report.conftest import COUNCIL, DRAFT_RECEIVED, DUE, SIGNED_OFF, assert_response_rows, at


def written(tmp_path: Path, comments: list[AccuracyComment]) -> openpyxl.worksheet.worksheet.Worksheet:
    """Write Demo County's response and return its sheet as read back."""
    path = tmp_path / "response.xlsx"
    write_response_xlsx(
        path,
        area_name="Demo County",
        inspection_ref="DEMO-SEND-2026-01",
        draft_received=DRAFT_RECEIVED,
        due=DUE,
        comments=comments,
        signed_off_by=SIGNED_OFF,
    )
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == [SHEET]
    return workbook[SHEET]


def heading_row(sheet: openpyxl.worksheet.worksheet.Worksheet) -> int:
    """Return the number of the table's heading row."""
    [row] = [cells[0].row for cells in sheet.iter_rows() if tuple(c.value for c in cells) == COLUMNS]
    return row


def test_table_holds_every_comment_once_in_paragraph_order(tmp_path: Path, submitted: list[AccuracyComment]) -> None:
    """Below the heading row each comment appears once in order, numbered, with its evidence and partners."""
    sheet = written(tmp_path, submitted)
    rows = list(sheet.iter_rows(min_row=heading_row(sheet) + 1, values_only=True))
    assert [number for number, *_ in rows] == [1, 2, 3, 4, 5]
    assert_response_rows([(p, c, e or "", by) for _, p, c, e, by in rows], submitted)


def test_marking_particulars_and_layout(tmp_path: Path, submitted: list[AccuracyComment]) -> None:
    """A1 holds the marking; the particulars follow the title; the heading row is bold; columns wrap and are sized."""
    sheet = written(tmp_path, submitted)
    heading = heading_row(sheet)
    assert sheet["A1"].value == MARKING and sheet.oddHeader.center.text == MARKING
    assert [sheet.cell(row, 1).value for row in range(2, heading - 1)] == [
        TITLE,
        "Local area: Demo County",
        "Inspection reference: DEMO-SEND-2026-01",
        "Draft report received: 1 December 2026",
        "Response due: 15 December 2026",
        "Signed off by: Sam Demo, Director of Children's Services",
        "Signed off by: Jo Sample, ICB Executive Lead for SEND",
    ]
    assert all(cell.font.bold for cell in sheet[heading])
    assert all(cell.alignment.wrap_text for row in sheet.iter_rows(min_row=heading) for cell in row)
    assert [sheet.column_dimensions[letter].width for letter in "ABCDE"] == [6, 14, 70, 50, 30]


def test_text_that_looks_like_a_formula_stays_text(tmp_path: Path) -> None:
    """A comment typed starting with "=" is written as text, not run as a spreadsheet formula."""
    comment = AccuracyComment(
        paragraph="8", comment="=42% is the figure in the report", evidence="", partner=COUNCIL, reviewer="r",
        submitted_at=at(3, 10),
    )  # fmt: skip
    sheet = written(tmp_path, [comment])
    cell = sheet.cell(heading_row(sheet) + 1, 3)
    assert (cell.value, cell.data_type) == ("=42% is the figure in the report", "s")
