"""Write the factual-accuracy response as an Excel workbook (.xlsx), one sheet like the Word document."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from datetime import date
from typing import IO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from send_inspection.report.comments import AccuracyComment, MergedComment
from send_inspection.report.table import COLUMNS, MARKING, TITLE, particulars, table_rows

SHEET = "Factual accuracy"
WIDTHS = (6, 14, 70, 50, 30)  # characters, one per column of the table
_WRAP = Alignment(wrap_text=True, vertical="top")


def write_response_xlsx(
    path_or_stream: str | os.PathLike[str] | IO[bytes],
    *,
    area_name: str,
    inspection_ref: str,
    draft_received: date,
    due: date,
    comments: Iterable[AccuracyComment | MergedComment],
    signed_off_by: Sequence[tuple[str, str]],
) -> None:
    """Write the response: the marking in A1, title, particulars, then the table with a bold heading row."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET
    sheet["A1"] = MARKING
    sheet["A1"].font = Font(bold=True, color="C00000")
    sheet["A2"] = TITLE
    sheet["A2"].font = Font(bold=True, size=14)
    lines = particulars(area_name, inspection_ref, draft_received=draft_received, due=due, signed_off_by=signed_off_by)
    for label, value in lines:  # one cell each: column A is the narrow "No." column, so the text runs on
        sheet.append([f"{label}: {value}"])
    sheet.append([])
    sheet.append(list(COLUMNS))
    heading = sheet.max_row
    for cell in sheet[heading]:
        cell.font = Font(bold=True)
        cell.alignment = _WRAP
    for values in table_rows(comments):
        sheet.append(list(values))
        for cell in sheet[sheet.max_row]:
            cell.alignment = _WRAP
            if cell.data_type == "f":  # typed text starting "=" is text, never a formula
                cell.data_type = "s"
    for index, width in enumerate(WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.print_title_rows = f"{heading}:{heading}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.oddHeader.center.text = MARKING
    workbook.properties.title = f"{TITLE}: {area_name}"
    workbook.properties.category = MARKING
    workbook.save(path_or_stream)
